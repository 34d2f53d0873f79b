//! A WebHDFS request's query parameters: names match whatever their case (as HDFS's), values
//! are typed where they are used, and a bad value is an `IllegalArgumentException` naming the
//! parameter.

use strata_core::{Error, Result};

/// The user a request without `user.name` acts as (HDFS's anonymous web user).
pub const ANONYMOUS_USER: &str = "dr.who";

/// The parameters of one request, in the order they came.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a URL's query string (`None`: no parameters).
    pub fn parse(query: Option<&str>) -> Params {
        let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        Params { pairs }
    }

    /// The value of `name`, if given (the last one given twice).
    pub fn get(&self, name: &str) -> Option<&str> {
        (self.pairs.iter().rev())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The operation, upper-cased (`op=liststatus` is `LISTSTATUS`).
    pub fn op(&self) -> Result<String> {
        match self.get("op") {
            Some(op) if !op.is_empty() => Ok(op.to_ascii_uppercase()),
            _ => Err(Error::InvalidArgument(
                "the webhdfs parameter \"op\" is missing".to_string(),
            )),
        }
    }

    /// The value of a parameter the operation cannot go without.
    pub fn required(&self, name: &str) -> Result<&str> {
        self.get(name).ok_or_else(|| {
            Error::InvalidArgument(format!("the webhdfs parameter {name:?} is missing"))
        })
    }

    /// A number, if given.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>> {
        self.get(name)
            .map(|v| v.trim().parse().map_err(|_| invalid(name, v)))
            .transpose()
    }

    /// A number the operation cannot go without.
    pub fn required_number<T: std::str::FromStr>(&self, name: &str) -> Result<T> {
        let value = self.required(name)?;
        value.trim().parse().map_err(|_| invalid(name, value))
    }

    /// A boolean (`true`/`false` in any case), if given.
    pub fn flag(&self, name: &str) -> Result<Option<bool>> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(invalid(name, v)),
            })
            .transpose()
    }

    /// Permission bits from `permission` in octal (`755`, `1777`), if given.
    pub fn permission(&self) -> Result<Option<u32>> {
        self.get("permission")
            .map(|v| match u32::from_str_radix(v.trim(), 8) {
                Ok(mode) if mode <= 0o1777 => Ok(mode),
                _ => Err(invalid("permission", v)),
            })
            .transpose()
    }

    /// The user the request acts as: `doas` (a proxy user), else `user.name`, else the
    /// anonymous web user.
    pub fn user(&self) -> &str {
        (self.get("doas").filter(|u| !u.is_empty()))
            .or_else(|| self.get("user.name").filter(|u| !u.is_empty()))
            .unwrap_or(ANONYMOUS_USER)
    }

    /// The query string again, without the parameters named in `dropped`.
    pub fn query_without(&self, dropped: &[&str]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.pairs {
            if !dropped.iter().any(|d| d.eq_ignore_ascii_case(name)) {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }
}

fn invalid(name: &str, value: &str) -> Error {
    Error::InvalidArgument(format!(
        "Invalid value for webhdfs parameter \"{name}\": {value:?}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_in_any_case_and_values_are_typed() {
        let params = Params::parse(Some(
            "OP=liststatus&Offset=10&overwrite=TRUE&permission=750&user.name=alice&x=%2Fa%20b",
        ));
        assert_eq!(params.op().unwrap(), "LISTSTATUS");
        assert_eq!(params.number::<u64>("offset").unwrap(), Some(10));
        assert_eq!(params.flag("overwrite").unwrap(), Some(true));
        assert_eq!(params.permission().unwrap(), Some(0o750));
        assert_eq!(params.user(), "alice");
        assert_eq!(params.get("x"), Some("/a b"));
        assert_eq!(params.number::<u64>("length").unwrap(), None);
        assert_eq!(params.required_number::<u64>("offset").unwrap(), 10);
        assert!(params.required_number::<u64>("length").is_err());
        assert!(params.required_number::<u64>("overwrite").is_err());
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let params = Params::parse(Some("offset=-1&overwrite=yes&permission=999&length=x"));
        for error in [
            params.number::<u64>("offset").unwrap_err(),
            params.flag("overwrite").unwrap_err(),
            params.permission().unwrap_err(),
            params.number::<u64>("length").unwrap_err(),
            Params::parse(None).op().unwrap_err(),
        ] {
            assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
        }
        assert!(
            params
                .permission()
                .unwrap_err()
                .to_string()
                .contains("\"permission\""),
            "the message names the parameter"
        );
    }

    #[test]
    fn the_user_is_doas_then_user_name_then_anonymous() {
        assert_eq!(Params::parse(Some("user.name=a&doas=b")).user(), "b");
        assert_eq!(Params::parse(Some("user.name=a")).user(), "a");
        assert_eq!(Params::parse(Some("op=OPEN")).user(), ANONYMOUS_USER);
    }

    #[test]
    fn the_query_is_written_again_without_dropped_names() {
        let params = Params::parse(Some("op=CREATE&noredirect=true&user.name=a%20b"));
        assert_eq!(
            params.query_without(&["NoRedirect"]),
            "op=CREATE&user.name=a+b"
        );
    }
}
