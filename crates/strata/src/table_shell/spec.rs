//! What the table shell reads from its arguments: families with their settings
//! (`info:versions=3,ttl=7d,compression=zstd`), split points (given, or spread over a key
//! space as HBase's split algorithms do), columns (`family:qualifier`), and how bytes are
//! shown (printable as they are, others as `\xNN`, as HBase's shell shows them).

use anyhow::{Context, bail};
use bytes::Bytes;
use std::time::Duration;
use strata_table::schema::{BloomType, Compression, FamilyDescriptor};

/// A family from `NAME[:KEY=VALUE,...]` with keys `versions`, `min-versions`, `ttl` (seconds
/// or a duration such as `7d`), `compression` (none, lz4, zstd), `bloom` (none, row,
/// rowcol), `blocksize` (bytes, e.g. `64KiB`) and `in-memory` (true, false).
pub fn family(spec: &str) -> anyhow::Result<FamilyDescriptor> {
    let (name, options) = spec.split_once(':').unwrap_or((spec, ""));
    let mut family = FamilyDescriptor::new(Bytes::copy_from_slice(name.as_bytes()));
    for option in options.split(',').filter(|o| !o.is_empty()) {
        let (key, value) = option
            .split_once('=')
            .with_context(|| format!("family option {option:?} is not KEY=VALUE"))?;
        match key.to_ascii_lowercase().as_str() {
            "versions" => family.max_versions = value.parse().context("versions")?,
            "min-versions" | "min_versions" => {
                family.min_versions = value.parse().context("min-versions")?
            }
            "ttl" => family.ttl = ttl(value)?,
            "compression" => family.compression = Compression::parse(value)?,
            "bloom" | "bloomfilter" => family.bloom = BloomType::parse(value)?,
            "blocksize" | "block-size" => {
                family.block_size = u32::try_from(
                    value
                        .parse::<strata_core::ByteSize>()
                        .map_err(|e| anyhow::anyhow!("blocksize: {e}"))?
                        .bytes(),
                )
                .context("blocksize")?
            }
            "in-memory" | "in_memory" => family.in_memory = value.parse().context("in-memory")?,
            other => bail!(
                "unknown family option {other:?} (versions, min-versions, ttl, compression, bloom, blocksize, in-memory)"
            ),
        }
    }
    family.validate()?;
    Ok(family)
}

fn ttl(value: &str) -> anyhow::Result<Option<Duration>> {
    if value.eq_ignore_ascii_case("forever") {
        return Ok(None);
    }
    let duration = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => humantime::parse_duration(value).with_context(|| format!("ttl {value:?}"))?,
    };
    Ok((!duration.is_zero()).then_some(duration))
}

/// How split points are spread when only a count is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeySpace {
    /// Rows are 8 hex digits (HBase's `HexStringSplit`): even cuts of 00000000..ffffffff.
    Hex,
    /// Rows are any bytes (HBase's `UniformSplit`): even cuts of the first byte pairs.
    Uniform,
    /// Rows are decimal numbers of the same width (`DecimalStringSplit`): 0..10^width.
    Decimal,
}

/// The `regions - 1` split points of a key space, as HBase's split algorithms place them.
pub fn spread_splits(regions: u32, space: KeySpace) -> anyhow::Result<Vec<Bytes>> {
    if regions < 2 {
        bail!("--regions needs 2 or more");
    }
    let n = u128::from(regions);
    Ok((1..n)
        .map(|i| match space {
            KeySpace::Hex => Bytes::from(format!("{:08x}", (i << 32) / n)),
            KeySpace::Uniform => {
                let cut = ((i << 16) / n) as u16;
                Bytes::copy_from_slice(&cut.to_be_bytes())
            }
            KeySpace::Decimal => Bytes::from(format!("{:08}", i * 100_000_000 / n)),
        })
        .collect())
}

/// `family:qualifier` (a bare family means the whole family: no qualifier).
pub fn column(text: &str) -> (Bytes, Option<Bytes>) {
    match text.split_once(':') {
        Some((f, q)) if !q.is_empty() => (
            Bytes::copy_from_slice(f.as_bytes()),
            Some(Bytes::copy_from_slice(q.as_bytes())),
        ),
        Some((f, _)) => (Bytes::copy_from_slice(f.as_bytes()), None),
        None => (Bytes::copy_from_slice(text.as_bytes()), None),
    }
}

/// A row key or value as typed: `\xNN` escapes are bytes.
pub fn bytes_of(text: &str) -> anyhow::Result<Bytes> {
    let raw = text.as_bytes();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && raw.get(i + 1) == Some(&b'x') {
            let hex = text
                .get(i + 2..i + 4)
                .with_context(|| format!("a \\x escape needs two hex digits in {text:?}"))?;
            out.push(u8::from_str_radix(hex, 16).with_context(|| format!("\\x{hex}"))?);
            i += 4;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    Ok(Bytes::from(out))
}

/// Bytes as HBase's shell prints them: printable ASCII as it is, others as `\xNN`.
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for b in bytes {
        if (0x20..0x7f).contains(b) && *b != b'\\' {
            out.push(char::from(*b));
        } else {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_splits_columns_and_bytes() {
        let f =
            family("info:versions=3,ttl=7d,compression=zstd,bloom=rowcol,blocksize=32KiB").unwrap();
        assert_eq!(f.name, "info");
        assert_eq!(
            (f.max_versions, f.ttl),
            (3, Some(Duration::from_secs(7 * 86_400)))
        );
        assert_eq!(
            (f.compression, f.bloom, f.block_size),
            (Compression::Zstd, BloomType::RowCol, 32 << 10)
        );
        assert_eq!(family("plain").unwrap(), FamilyDescriptor::new("plain"));
        assert!(family("x:versions=0").is_err());
        assert!(family("x:color=red").is_err());
        let hex = spread_splits(4, KeySpace::Hex).unwrap();
        assert_eq!(hex, vec!["40000000", "80000000", "c0000000"]);
        let decimal = spread_splits(2, KeySpace::Decimal).unwrap();
        assert_eq!(decimal, vec!["50000000"]);
        assert_eq!(
            spread_splits(2, KeySpace::Uniform).unwrap(),
            vec![Bytes::from_static(&[0x80, 0])]
        );
        assert!(spread_splits(1, KeySpace::Hex).is_err());
        assert_eq!(
            column("cf:q"),
            (Bytes::from_static(b"cf"), Some(Bytes::from_static(b"q")))
        );
        assert_eq!(column("cf"), (Bytes::from_static(b"cf"), None));
        assert_eq!(bytes_of("a\\x00b").unwrap(), Bytes::from_static(b"a\0b"));
        assert!(bytes_of("\\xZZ").is_err());
        assert_eq!(printable(b"ok\x01\\"), "ok\\x01\\x5C");
    }
}
