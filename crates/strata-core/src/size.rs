//! Byte sizes written the way people write them (`128MiB`, `1g`, `4096`) and shown the same way.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A number of bytes that parses from and prints as a human size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

const UNITS: [(&str, u64); 6] = [
    ("", 1),
    ("K", 1 << 10),
    ("M", 1 << 20),
    ("G", 1 << 30),
    ("T", 1 << 40),
    ("P", 1 << 50),
];

impl ByteSize {
    /// Parses `4096`, `64k`, `64KiB`, `128MB`, `1.5G`: units are binary (K = 1024), case-insensitive,
    /// with an optional `B`, `iB` suffix.
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let unit = unit.trim().to_ascii_uppercase();
        let unit = unit
            .strip_suffix("IB")
            .or_else(|| unit.strip_suffix('B'))
            .unwrap_or(&unit);
        let multiplier = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, m)| *m)
            .ok_or_else(|| format!("unknown size unit in {text:?} (use K, M, G, T)"))?;
        if number.is_empty() {
            return Err(format!("no number in size {text:?}"));
        }
        let bytes = if number.contains('.') {
            let value: f64 = number
                .parse()
                .map_err(|_| format!("bad number in size {text:?}"))?;
            let bytes = value * multiplier as f64;
            if !bytes.is_finite() || bytes >= u64::MAX as f64 {
                return Err(format!("size {text:?} is too large"));
            }
            bytes.round() as u64
        } else {
            let value: u64 = number
                .parse()
                .map_err(|_| format!("bad number in size {text:?}"))?;
            value
                .checked_mul(multiplier)
                .ok_or_else(|| format!("size {text:?} is too large"))?
        };
        Ok(ByteSize(bytes))
    }

    /// The number of bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

/// Renders a byte count compactly with a binary unit: `0 B`, `1023 B`, `1.5 KiB`, `128 MiB`.
pub fn human(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let name = UNITS[unit].0;
    if value.fract() < 0.05 || value >= 100.0 {
        format!("{value:.0} {name}iB")
    } else {
        format!("{value:.1} {name}iB")
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exact = UNITS
            .iter()
            .rev()
            .find(|(_, m)| self.0 >= *m && self.0.is_multiple_of(*m));
        match exact {
            Some((name, m)) if !name.is_empty() => write!(f, "{}{}iB", self.0 / m, name),
            _ => write!(f, "{}", self.0),
        }
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ByteSize::parse(s)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(ByteSize(n)),
            Raw::Text(t) => ByteSize::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(ByteSize::parse("4096"), Ok(ByteSize(4096)));
        assert_eq!(ByteSize::parse("64k"), Ok(ByteSize(65536)));
        assert_eq!(ByteSize::parse("128MiB"), Ok(ByteSize(128 << 20)));
        assert_eq!(ByteSize::parse("1 GB"), Ok(ByteSize(1 << 30)));
        assert_eq!(ByteSize::parse("1.5K"), Ok(ByteSize(1536)));
        assert!(ByteSize::parse("12X").is_err());
        assert!(ByteSize::parse("MiB").is_err());
        assert!(ByteSize::parse("99999999999P").is_err());
    }

    #[test]
    fn human_rendering() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(128 << 20), "128 MiB");
    }

    proptest! {
        #[test]
        fn display_round_trips(n in 0u64..(1 << 50)) {
            let s = ByteSize(n).to_string();
            prop_assert_eq!(ByteSize::parse(&s), Ok(ByteSize(n)));
        }
    }
}
