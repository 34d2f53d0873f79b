//! The read path: a [`Scan`] over a region's families, each family's memstores and SSTables
//! merged in key order ([`StoreScanner`]), its cells decided by HBase's matching rules
//! ([`RowMatcher`]) and rows assembled, filtered and cut by the [`RegionScanner`].

mod matcher;
mod region_scanner;
mod scan;
mod source;
mod store_scanner;

pub use matcher::{MatchCode, MatchSettings, RowMatcher};
pub use region_scanner::{FamilyRead, RegionScanner, ScanBounds};
pub use scan::{Scan, ScanFilter, row_after_prefix};
pub use store_scanner::StoreScanner;

#[cfg(test)]
mod tests;
