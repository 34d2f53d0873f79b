//! WebHDFS's JSON bodies as the Hadoop WebHDFS REST specification writes them: a file's
//! `FileStatus`, a listing's `FileStatuses` and `DirectoryListing`, `ContentSummary`,
//! `FileChecksum`, `BlockLocations`, and the one-value answers `{"boolean": ...}` and
//! `{"Path": ...}`. Field names are the specification's (camelCase), since Hadoop's own
//! client parses them by name.

use serde::Serialize;
use strata_client::{FileStatus, is_directory};

/// The group files report: Strata records none, and HDFS's default is this.
pub const DEFAULT_GROUP: &str = "supergroup";

/// One file or directory, as `GETFILESTATUS` and `LISTSTATUS` give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HdfsFileStatus {
    /// Last access, ms since the epoch.
    pub access_time: i64,
    /// Block size of a file; 0 for a directory.
    pub block_size: u64,
    /// Entries of a directory; 0 for a file.
    pub children_num: u64,
    /// The inode id.
    pub file_id: u64,
    /// Owning group.
    pub group: String,
    /// Bytes of a file; 0 for a directory.
    pub length: u64,
    /// Last modification, ms since the epoch.
    pub modification_time: i64,
    /// Owning user.
    pub owner: String,
    /// The name within the listed directory; empty for `GETFILESTATUS`.
    pub path_suffix: String,
    /// Permission bits in octal, e.g. `"644"`.
    pub permission: String,
    /// Replicas per block of a file; 0 for a directory.
    pub replication: u32,
    /// HDFS's storage policy id (0: unspecified).
    pub storage_policy: u8,
    /// `FILE` or `DIRECTORY`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl HdfsFileStatus {
    /// The WebHDFS form of `status`, named `path_suffix` within its listing.
    pub fn new(status: &FileStatus, path_suffix: &str) -> HdfsFileStatus {
        let directory = is_directory(status);
        HdfsFileStatus {
            access_time: status.access_time,
            block_size: if directory { 0 } else { status.block_size },
            children_num: status.children,
            file_id: status.inode_id,
            group: if status.group.is_empty() {
                DEFAULT_GROUP.to_string()
            } else {
                status.group.clone()
            },
            length: if directory { 0 } else { status.length },
            modification_time: status.modification_time,
            owner: status.owner.clone(),
            path_suffix: path_suffix.to_string(),
            permission: format!("{:o}", status.mode & 0o7777),
            replication: if directory { 0 } else { status.replication },
            storage_policy: 0,
            kind: if directory { "DIRECTORY" } else { "FILE" },
        }
    }
}

/// `{"FileStatus": {...}}`, the answer to `GETFILESTATUS`.
#[derive(Debug, Serialize)]
pub struct FileStatusBody {
    /// The file or directory.
    #[serde(rename = "FileStatus")]
    pub file_status: HdfsFileStatus,
}

/// `{"FileStatuses": {"FileStatus": [...]}}`, the answer to `LISTSTATUS`.
#[derive(Debug, Serialize)]
pub struct FileStatusesBody {
    /// The listing.
    #[serde(rename = "FileStatuses")]
    pub file_statuses: FileStatuses,
}

/// A list of statuses.
#[derive(Debug, Serialize)]
pub struct FileStatuses {
    /// The entries, in name order.
    #[serde(rename = "FileStatus")]
    pub file_status: Vec<HdfsFileStatus>,
}

/// `{"DirectoryListing": {...}}`, one page of `LISTSTATUS_BATCH`.
#[derive(Debug, Serialize)]
pub struct DirectoryListingBody {
    /// The page.
    #[serde(rename = "DirectoryListing")]
    pub directory_listing: DirectoryListing,
}

/// One page of a listing and how many entries follow it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryListing {
    /// The entries of this page.
    pub partial_listing: FileStatusesBody,
    /// Entries after this page (0 on the last one).
    pub remaining_entries: u64,
}

/// `{"ContentSummary": {...}}`, the answer to `GETCONTENTSUMMARY`. Quotas are not kept, so
/// they read -1 (none), as in HDFS.
#[derive(Debug, Serialize)]
pub struct ContentSummaryBody {
    /// The totals.
    #[serde(rename = "ContentSummary")]
    pub content_summary: ContentSummary,
}

/// Totals beneath a path.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentSummary {
    /// Directories, the path itself included when it is one.
    pub directory_count: u64,
    /// Files.
    pub file_count: u64,
    /// Bytes of the files.
    pub length: u64,
    /// Namespace quota (-1: none).
    pub quota: i64,
    /// Bytes stored, replicas or parity included.
    pub space_consumed: u64,
    /// Space quota (-1: none).
    pub space_quota: i64,
}

impl From<&strata_client::ContentSummary> for ContentSummaryBody {
    fn from(summary: &strata_client::ContentSummary) -> ContentSummaryBody {
        ContentSummaryBody {
            content_summary: ContentSummary {
                directory_count: summary.directory_count,
                file_count: summary.file_count,
                length: summary.length,
                quota: -1,
                space_consumed: summary.space_consumed,
                space_quota: -1,
            },
        }
    }
}

/// `{"FileChecksum": {...}}`, the answer to `GETFILECHECKSUM`: the file's CRC32C as HDFS's
/// composite CRC (`dfs.checksum.combine.mode=COMPOSITE_CRC`), which, unlike HDFS's default
/// MD5-of-MD5s, does not depend on block or chunk sizes.
#[derive(Debug, Serialize)]
pub struct FileChecksumBody {
    /// The checksum.
    #[serde(rename = "FileChecksum")]
    pub file_checksum: FileChecksum,
}

/// A file checksum: its algorithm, its bytes in hex and their count.
#[derive(Debug, Serialize)]
pub struct FileChecksum {
    /// `COMPOSITE-CRC32C`.
    pub algorithm: &'static str,
    /// The CRC, big-endian, in hex.
    pub bytes: String,
    /// Bytes of the checksum: 4.
    pub length: u32,
}

impl FileChecksumBody {
    /// The body for a file whose CRC32C is `crc32c`.
    pub fn composite_crc32c(crc32c: u32) -> FileChecksumBody {
        FileChecksumBody {
            file_checksum: FileChecksum {
                algorithm: "COMPOSITE-CRC32C",
                bytes: format!("{crc32c:08x}"),
                length: 4,
            },
        }
    }
}

/// `{"BlockLocations": {"BlockLocation": [...]}}`, the answer to `GETFILEBLOCKLOCATIONS`.
#[derive(Debug, Serialize)]
pub struct BlockLocationsBody {
    /// The blocks.
    #[serde(rename = "BlockLocations")]
    pub block_locations: BlockLocations,
}

/// A list of block locations.
#[derive(Debug, Serialize)]
pub struct BlockLocations {
    /// One per block, in file order.
    #[serde(rename = "BlockLocation")]
    pub block_location: Vec<BlockLocation>,
}

/// Where one block's replicas are: host names for schedulers (Spark places tasks by them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockLocation {
    /// Hosts holding the block in memory (Strata reports none here).
    pub cached_hosts: Vec<String>,
    /// Whether every replica is corrupt.
    pub corrupt: bool,
    /// Host names holding a replica, nearest first.
    pub hosts: Vec<String>,
    /// Bytes of the block.
    pub length: u64,
    /// `host:port` of each replica's worker.
    pub names: Vec<String>,
    /// The block's offset in the file.
    pub offset: u64,
    /// The storage medium of each replica (`DISK`).
    pub storage_types: Vec<String>,
    /// `rack/host:port` of each replica.
    pub topology_paths: Vec<String>,
}

/// `{"boolean": ...}`: the answer to MKDIRS, RENAME, DELETE, SETREPLICATION, TRUNCATE.
#[derive(Debug, Serialize)]
pub struct BooleanBody {
    /// Whether it happened.
    pub boolean: bool,
}

/// `{"Path": ...}`: the answer to GETHOMEDIRECTORY.
#[derive(Debug, Serialize)]
pub struct PathBody {
    /// The path.
    #[serde(rename = "Path")]
    pub path: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_client::FileType;

    #[test]
    fn a_file_status_has_the_specification_s_fields_and_names() {
        let status = FileStatus {
            path: "/data/part-0".to_string(),
            file_type: FileType::File as i32,
            length: 24930,
            replication: 3,
            block_size: 134217728,
            owner: "webuser".to_string(),
            mode: 0o644,
            modification_time: 1320173277227,
            access_time: 1320171722771,
            inode_id: 16386,
            ..Default::default()
        };
        let body = FileStatusBody {
            file_status: HdfsFileStatus::new(&status, ""),
        };
        let json: serde_json::Value = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"FileStatus": {
                "accessTime": 1320171722771u64,
                "blockSize": 134217728,
                "childrenNum": 0,
                "fileId": 16386,
                "group": "supergroup",
                "length": 24930,
                "modificationTime": 1320173277227u64,
                "owner": "webuser",
                "pathSuffix": "",
                "permission": "644",
                "replication": 3,
                "storagePolicy": 0,
                "type": "FILE"
            }})
        );
    }

    #[test]
    fn a_directory_reports_no_length_block_size_or_replication() {
        let status = FileStatus {
            file_type: FileType::Directory as i32,
            length: 99,
            replication: 3,
            block_size: 1 << 20,
            children: 4,
            mode: 0o1777,
            group: "staff".to_string(),
            ..Default::default()
        };
        let listed = HdfsFileStatus::new(&status, "tmp");
        assert_eq!(
            (
                listed.kind,
                listed.length,
                listed.block_size,
                listed.replication
            ),
            ("DIRECTORY", 0, 0, 0)
        );
        assert_eq!(
            (listed.children_num, listed.permission.as_str()),
            (4, "1777")
        );
        assert_eq!(listed.group, "staff");
        let page = DirectoryListingBody {
            directory_listing: DirectoryListing {
                partial_listing: FileStatusesBody {
                    file_statuses: FileStatuses {
                        file_status: vec![listed],
                    },
                },
                remaining_entries: 7,
            },
        };
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(json["DirectoryListing"]["remainingEntries"], 7);
        assert_eq!(
            json["DirectoryListing"]["partialListing"]["FileStatuses"]["FileStatus"][0]["pathSuffix"],
            "tmp"
        );
    }

    #[test]
    fn checksums_summaries_and_one_value_answers_read_as_hadoop_writes_them() {
        let checksum =
            serde_json::to_value(FileChecksumBody::composite_crc32c(0xE3069283)).unwrap();
        assert_eq!(
            checksum,
            serde_json::json!({"FileChecksum": {
                "algorithm": "COMPOSITE-CRC32C", "bytes": "e3069283", "length": 4
            }})
        );
        let summary = strata_client::ContentSummary {
            length: 10,
            file_count: 2,
            directory_count: 1,
            space_consumed: 30,
        };
        let json = serde_json::to_value(ContentSummaryBody::from(&summary)).unwrap();
        assert_eq!(json["ContentSummary"]["spaceConsumed"], 30);
        assert_eq!(json["ContentSummary"]["quota"], -1);
        assert_eq!(
            serde_json::to_string(&BooleanBody { boolean: true }).unwrap(),
            r#"{"boolean":true}"#
        );
        assert_eq!(
            serde_json::to_string(&PathBody {
                path: "/user/alice".to_string()
            })
            .unwrap(),
            r#"{"Path":"/user/alice"}"#
        );
    }
}
