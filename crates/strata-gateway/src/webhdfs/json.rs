//! WebHDFS's JSON bodies as the Hadoop WebHDFS REST specification writes them: a file's
//! `FileStatus`, a listing's `FileStatuses` and `DirectoryListing`, `ContentSummary`,
//! `FileChecksum`, `BlockLocations`, and the one-value answers `{"boolean": ...}` and
//! `{"Path": ...}`. Field names are the specification's (camelCase), since Hadoop's own
//! client parses them by name.

use serde::Serialize;
use strata_client::{FileStatus, LocatedBlock, Md5Md5Crc32c, ServerDefaults, is_directory};

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

/// `{"FileChecksum": {...}}`, the answer to `GETFILECHECKSUM`: HDFS's default
/// MD5-of-MD5-of-CRC32C, the only form Hadoop's WebHDFS client parses.
#[derive(Debug, Serialize)]
pub struct FileChecksumBody {
    /// The checksum.
    #[serde(rename = "FileChecksum")]
    pub file_checksum: FileChecksum,
}

/// A file checksum: its algorithm, its bytes in hex and their count.
#[derive(Debug, Serialize)]
pub struct FileChecksum {
    /// E.g. `MD5-of-32768MD5-of-4096CRC32C`.
    pub algorithm: String,
    /// Bytes per CRC, CRCs per block and the MD5, in hex.
    pub bytes: String,
    /// Bytes of the checksum: 28.
    pub length: usize,
}

impl From<&Md5Md5Crc32c> for FileChecksumBody {
    fn from(checksum: &Md5Md5Crc32c) -> FileChecksumBody {
        let bytes = checksum.to_bytes();
        FileChecksumBody {
            file_checksum: FileChecksum {
                algorithm: checksum.algorithm(),
                bytes: bytes.iter().map(|b| format!("{b:02x}")).collect(),
                length: bytes.len(),
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

impl BlockLocation {
    /// The WebHDFS form of `block` (at its offset in the file).
    pub fn new(block: &LocatedBlock) -> BlockLocation {
        let workers = &block.locations;
        BlockLocation {
            cached_hosts: Vec::new(),
            corrupt: false,
            hosts: workers.iter().map(|w| w.host.clone()).collect(),
            length: block.block.as_ref().map_or(0, |b| b.length),
            names: workers.iter().map(|w| w.data_address.clone()).collect(),
            offset: block.offset,
            storage_types: workers.iter().map(|_| "DISK".to_string()).collect(),
            topology_paths: (workers.iter())
                .map(|w| format!("{}/{}", w.rack.trim_end_matches('/'), w.data_address))
                .collect(),
        }
    }
}

impl BlockLocationsBody {
    /// The body for `blocks`, in file order.
    pub fn new(blocks: &[LocatedBlock]) -> BlockLocationsBody {
        BlockLocationsBody {
            block_locations: BlockLocations {
                block_location: blocks.iter().map(BlockLocation::new).collect(),
            },
        }
    }
}

/// `{"FsServerDefaults": {...}}`, the answer to `GETSERVERDEFAULTS` (Hadoop's client asks for
/// it before deleting, to learn whether a trash is kept).
#[derive(Debug, Serialize)]
pub struct ServerDefaultsBody {
    /// The defaults.
    #[serde(rename = "FsServerDefaults")]
    pub server_defaults: HdfsServerDefaults,
}

/// The defaults new files get, in HDFS's names.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HdfsServerDefaults {
    /// Block size of new files.
    pub block_size: u64,
    /// Bytes covered by one checksum.
    pub bytes_per_checksum: u32,
    /// Bytes of one write packet.
    pub write_packet_size: u32,
    /// Replicas of new files.
    pub replication: u32,
    /// Buffer size of file streams.
    pub file_buffer_size: u32,
    /// Whether data transfer is encrypted.
    pub encrypt_data_transfer: bool,
    /// Minutes deleted files stay in the trash; 0: no trash, deletes are immediate.
    pub trash_interval: u64,
    /// HDFS's `DataChecksum.Type`: 2 is CRC32C.
    pub crc_type: u32,
}

impl From<&ServerDefaults> for ServerDefaultsBody {
    fn from(defaults: &ServerDefaults) -> ServerDefaultsBody {
        ServerDefaultsBody {
            server_defaults: HdfsServerDefaults {
                block_size: defaults.block_size,
                bytes_per_checksum: defaults.chunk_size,
                write_packet_size: 64 << 10,
                replication: defaults.replication,
                file_buffer_size: 4096,
                encrypt_data_transfer: false,
                trash_interval: 0,
                crc_type: 2,
            },
        }
    }
}

/// `{"Location": ...}`: where to send the data of OPEN, CREATE or APPEND, the answer given
/// instead of a redirect when the request says `noredirect=true`.
#[derive(Debug, Serialize)]
pub struct LocationBody {
    /// The worker's URL for the request.
    #[serde(rename = "Location")]
    pub location: String,
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
        let checksum = Md5Md5Crc32c {
            bytes_per_crc: 512,
            crcs_per_block: 262144,
            md5: *b"\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10",
        };
        // The specification's example.
        assert_eq!(
            serde_json::to_value(FileChecksumBody::from(&checksum)).unwrap(),
            serde_json::json!({"FileChecksum": {
                "algorithm": "MD5-of-262144MD5-of-512CRC32C",
                "bytes": "000002000000000000040000\
                          0123456789abcdeffedcba9876543210",
                "length": 28
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
