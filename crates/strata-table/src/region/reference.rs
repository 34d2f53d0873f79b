//! Reference files: how a region born of a split or a merge reads its parents' SSTables
//! without copying them. `<child>/<family>/<parent file name>.<parent region>.ref` holds a
//! `Reference` naming the parent's file; the child reads that file clipped to its own rows
//! (every read and compaction of a region is bounded by its range) until a compaction
//! rewrites what it holds into the child's own files and the reference goes.

use super::RegionDir;
use crate::error::{Error, Result};
use crate::proto::storage::Reference;
use prost::Message;
use strata_client::{CreateOptions, FileSystem};

/// How a reference file's name ends.
const SUFFIX: &str = ".ref";

/// The reference file through which the child region at `child` reads `file`, an SSTable of
/// `family` in the region named `parent`.
pub fn reference_path(child: &RegionDir, family: &[u8], parent: &str, file: &str) -> String {
    let name = file.rsplit('/').next().unwrap_or(file);
    format!("{}/{name}.{parent}{SUFFIX}", child.family(family))
}

/// Whether the file at `path` is a reference file.
pub fn is_reference(path: &str) -> bool {
    path.ends_with(SUFFIX)
}

/// Whether the reference file at `path` reads a file of the region named `parent`.
pub fn refers_to(path: &str, parent: &str) -> bool {
    path.strip_suffix(SUFFIX)
        .is_some_and(|p| p.ends_with(&format!(".{parent}")))
}

/// Writes the reference file at `path` naming `file`.
pub async fn write(fs: &FileSystem, path: &str, file: &str, replication: u32) -> Result<()> {
    let options = CreateOptions {
        replication,
        create_parents: true,
        ..Default::default()
    };
    let mut writer = fs.create(path, options).await?;
    let reference = Reference {
        file: file.to_string(),
    };
    writer.write(&reference.encode_to_vec()).await?;
    writer.close().await?;
    Ok(())
}

/// The SSTable the reference file at `path` names.
pub async fn read(fs: &FileSystem, path: &str) -> Result<String> {
    let bytes = fs.open(path).await?.read_to_end().await?;
    let reference = Reference::decode(&bytes[..])
        .map_err(|e| Error::corrupt(path, "reference file", e.to_string()))?;
    if reference.file.is_empty() {
        return Err(Error::corrupt(path, "reference file", "names no file"));
    }
    Ok(reference.file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_names_tell_their_parent() {
        let child = RegionDir::new("/t/data/default/t", "c1");
        let path = reference_path(&child, b"cf", "p1", "/t/data/default/t/p1/cf/0007-ab.sst");
        assert_eq!(path, "/t/data/default/t/c1/cf/0007-ab.sst.p1.ref");
        assert!(is_reference(&path));
        assert!(refers_to(&path, "p1"));
        assert!(!refers_to(&path, "1"));
        assert!(!is_reference("/t/data/default/t/c1/cf/0007-ab.sst"));
    }
}
