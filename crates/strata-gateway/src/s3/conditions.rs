//! Conditional requests: `If-Match`, `If-None-Match`, `If-Modified-Since` and
//! `If-Unmodified-Since` on GET and HEAD, and their `x-amz-copy-source-if-*` forms on copies.

use super::millis;
use s3s::dto::{ETag, ETagCondition, Timestamp};
use s3s::{S3Result, s3_error};

/// The conditional headers of a GET or HEAD.
pub(super) struct Conditions<'a> {
    pub(super) if_match: Option<&'a ETagCondition>,
    pub(super) if_none_match: Option<&'a ETagCondition>,
    pub(super) if_modified_since: Option<&'a Timestamp>,
    pub(super) if_unmodified_since: Option<&'a Timestamp>,
}

impl Conditions<'_> {
    /// `PreconditionFailed` or `NotModified` as RFC 9110 orders them.
    pub(super) fn check(&self, etag: &str, modified: i64) -> S3Result<()> {
        let current = ETag::Strong(etag.to_string());
        let matches = |c: &ETagCondition| match c {
            ETagCondition::Any => true,
            ETagCondition::ETag(tag) => tag.strong_cmp(&current),
        };
        // Times travel at second precision in HTTP dates.
        let modified = modified / 1000;
        match self.if_match {
            Some(c) if !matches(c) => return Err(s3_error!(PreconditionFailed)),
            None if self
                .if_unmodified_since
                .is_some_and(|t| modified > millis(t) / 1000) =>
            {
                return Err(s3_error!(PreconditionFailed));
            }
            _ => {}
        }
        match self.if_none_match {
            Some(c) if matches(c) => return Err(s3_error!(NotModified)),
            None if self
                .if_modified_since
                .is_some_and(|t| modified <= millis(t) / 1000) =>
            {
                return Err(s3_error!(NotModified));
            }
            _ => {}
        }
        Ok(())
    }
}

/// The [`Conditions`] of a GET or HEAD input.
macro_rules! request_conditions {
    ($input:expr) => {
        $crate::s3::conditions::Conditions {
            if_match: $input.if_match.as_ref(),
            if_none_match: $input.if_none_match.as_ref(),
            if_modified_since: $input.if_modified_since.as_ref(),
            if_unmodified_since: $input.if_unmodified_since.as_ref(),
        }
    };
}

/// The [`Conditions`] on the source of a CopyObject or UploadPartCopy input.
macro_rules! copy_source_conditions {
    ($input:expr) => {
        $crate::s3::conditions::Conditions {
            if_match: $input.copy_source_if_match.as_ref(),
            if_none_match: $input.copy_source_if_none_match.as_ref(),
            if_modified_since: $input.copy_source_if_modified_since.as_ref(),
            if_unmodified_since: $input.copy_source_if_unmodified_since.as_ref(),
        }
    };
}

pub(super) use {copy_source_conditions, request_conditions};
