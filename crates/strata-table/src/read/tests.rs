//! The read path against a plain model of HBase's semantics: random puts and delete markers
//! spread over memstores and SSTables, read back by random scans (versions, time ranges,
//! columns, row ranges, reversed, batches) and compared with what the model says; plus
//! filters over whole rows.

use super::*;
use crate::cell::{Cell, CellKey, CellKind};
use crate::filter;
use crate::memstore::MemStore;
use crate::schema::FamilyDescriptor;
use crate::sstable::{BlockCache, Source, SsTable, SsTableWriter};
use bytes::Bytes;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const NOW: i64 = 1_003;

#[derive(Debug, Clone)]
struct Edit {
    row: u8,
    family: usize,
    qualifier: u8,
    ts: i64,
    kind: CellKind,
    /// Where the cell is kept: 0, 1 memstores; 2, 3 files.
    place: usize,
}

fn families() -> Vec<FamilyDescriptor> {
    let mut a = FamilyDescriptor::new("a");
    a.max_versions = 3;
    let mut b = FamilyDescriptor::new("b");
    b.max_versions = 2;
    b.min_versions = 1;
    b.ttl = Some(Duration::from_millis(1_000));
    b.block_size = 1024;
    vec![a, b]
}

fn edit() -> impl Strategy<Value = Edit> {
    (
        0u8..6,
        0usize..2,
        0u8..3,
        0i64..7,
        prop_oneof![
            6 => Just(CellKind::Put),
            1 => Just(CellKind::Delete),
            1 => Just(CellKind::DeleteColumn),
            1 => Just(CellKind::DeleteFamily),
            1 => Just(CellKind::DeleteFamilyVersion),
        ],
        0usize..4,
    )
        .prop_map(|(row, family, qualifier, ts, kind, place)| Edit {
            row,
            family,
            qualifier,
            ts,
            kind,
            place,
        })
}

fn row_name(row: u8) -> Bytes {
    Bytes::from(format!("row{row}"))
}

fn qualifier_name(edit: &Edit) -> Bytes {
    if edit.kind.is_family_delete() {
        Bytes::new()
    } else {
        Bytes::from(format!("q{}", edit.qualifier))
    }
}

fn key_of(edit: &Edit, sequence: u64) -> CellKey {
    CellKey {
        row: row_name(edit.row),
        qualifier: qualifier_name(edit),
        timestamp: edit.ts,
        kind: edit.kind,
        sequence,
    }
}

fn value_of(sequence: u64, edit: &Edit) -> Bytes {
    if edit.kind == CellKind::Put {
        Bytes::from(format!("v{sequence}"))
    } else {
        Bytes::new()
    }
}

/// One family's memstores and files.
type FamilyStore = (Vec<Arc<MemStore>>, Vec<Arc<SsTable>>);

/// Every family's memstores and files holding the edits.
async fn stores(edits: &[Edit]) -> Vec<FamilyStore> {
    let cache = Arc::new(BlockCache::new(1 << 20));
    let mut out = Vec::new();
    for (f, family) in families().iter().enumerate() {
        let memstores = vec![Arc::new(MemStore::new()), Arc::new(MemStore::new())];
        let mut file_cells: Vec<Vec<(CellKey, Bytes)>> = vec![Vec::new(), Vec::new()];
        for (i, e) in edits.iter().enumerate().filter(|(_, e)| e.family == f) {
            let seq = i as u64 + 1;
            let (key, value) = (key_of(e, seq), value_of(seq, e));
            match e.place {
                0 | 1 => memstores[e.place].insert(key, value),
                p => file_cells[p - 2].push((key, value)),
            }
        }
        let mut files = Vec::new();
        for mut cells in file_cells {
            cells.sort_by(|a, b| a.0.cmp(&b.0));
            let mut w = SsTableWriter::new(family, Vec::new());
            for (k, v) in &cells {
                w.add(k, v).await.unwrap();
            }
            let (bytes, _) = w.finish().await.unwrap();
            let t = SsTable::open("mem", Source::Memory(bytes.into()), cache.clone(), false)
                .await
                .unwrap();
            files.push(Arc::new(t));
        }
        out.push((memstores, files));
    }
    out
}

/// What a read of the model returns: rows of (family, qualifier, timestamp, value).
type Rows = Vec<(Bytes, Vec<(Bytes, Bytes, i64, Bytes)>)>;

#[derive(Debug, Clone)]
struct Read {
    max_versions: u32,
    time_range: (i64, i64),
    /// Only qualifier q<n> of family a (and family b whole), when set.
    only_a_qualifier: Option<u8>,
    start: Option<u8>,
    stop: Option<u8>,
    reversed: bool,
    batch: usize,
}

fn read() -> impl Strategy<Value = Read> {
    (
        1u32..4,
        0i64..3,
        3i64..9,
        proptest::option::of(0u8..3),
        proptest::option::of(0u8..6),
        proptest::option::of(0u8..6),
        any::<bool>(),
        0usize..3,
    )
        .prop_map(
            |(max_versions, min, max, q, start, stop, reversed, batch)| Read {
                max_versions,
                time_range: (min, max),
                only_a_qualifier: q,
                start,
                stop,
                reversed,
                batch,
            },
        )
}

/// The model: for each column the puts no marker masks, newest first, a timestamp once,
/// within the time range, counted up to the versions asked (and the family keeps), expired
/// ones only among the family's minimum versions.
fn model(edits: &[Edit], read: &Read) -> Rows {
    let families = families();
    let (lo, hi) = read.time_range;
    let mut rows = Rows::new();
    let mut row_ids: Vec<u8> = (0..6).collect();
    if read.reversed {
        row_ids.reverse();
    }
    for row in row_ids {
        let in_range = if read.reversed {
            read.start.is_none_or(|s| row <= s) && read.stop.is_none_or(|s| row > s)
        } else {
            read.start.is_none_or(|s| row >= s) && read.stop.is_none_or(|s| row < s)
        };
        if !in_range {
            continue;
        }
        let mut cells = Vec::new();
        for (f, family) in families.iter().enumerate() {
            let of_row: Vec<(u64, &Edit)> = edits
                .iter()
                .enumerate()
                .map(|(i, e)| (i as u64 + 1, e))
                .filter(|(_, e)| e.row == row && e.family == f)
                .collect();
            let markers: Vec<&Edit> = of_row
                .iter()
                .map(|(_, e)| *e)
                .filter(|e| e.kind.is_delete() && e.ts >= lo)
                .collect();
            let max_versions = read.max_versions.min(family.max_versions) as usize;
            let oldest = if family.ttl.is_some() {
                NOW - 1_000
            } else {
                i64::MIN
            };
            for q in 0u8..3 {
                if f == 0 && read.only_a_qualifier.is_some_and(|only| only != q) {
                    continue;
                }
                let mut puts: Vec<(i64, u64)> = of_row
                    .iter()
                    .filter(|(_, e)| e.kind == CellKind::Put && e.qualifier == q)
                    .filter(|(_, e)| {
                        !markers.iter().any(|m| match m.kind {
                            CellKind::DeleteFamily => m.ts >= e.ts,
                            CellKind::DeleteFamilyVersion => m.ts == e.ts,
                            CellKind::DeleteColumn => m.qualifier == q && m.ts >= e.ts,
                            _ => m.qualifier == q && m.ts == e.ts,
                        })
                    })
                    .filter(|(_, e)| e.ts >= lo && e.ts < hi)
                    .map(|(seq, e)| (e.ts, *seq))
                    .collect();
                puts.sort_by(|a, b| b.cmp(a));
                puts.dedup_by_key(|p| p.0);
                for (n, (ts, seq)) in puts.into_iter().enumerate() {
                    let version = n + 1;
                    if version > max_versions {
                        break;
                    }
                    if ts < oldest && version > family.min_versions as usize {
                        break;
                    }
                    cells.push((
                        family.name.clone(),
                        Bytes::from(format!("q{q}")),
                        ts,
                        Bytes::from(format!("v{seq}")),
                    ));
                }
            }
        }
        if !cells.is_empty() {
            rows.push((row_name(row), cells));
        }
    }
    rows
}

fn scanner(stores: &[FamilyStore], read: &Read, filter: Option<filter::Filter>) -> RegionScanner {
    let families = families();
    let mut reads = Vec::new();
    for (f, family) in families.iter().enumerate() {
        let qualifiers = match (f, read.only_a_qualifier) {
            (0, Some(q)) => Some(BTreeSet::from([Bytes::from(format!("q{q}"))])),
            _ => None,
        };
        let (memstores, files) = &stores[f];
        reads.push(FamilyRead {
            name: family.name.clone(),
            settings: MatchSettings::new(
                family,
                read.time_range,
                read.max_versions,
                qualifiers,
                NOW,
            ),
            store: StoreScanner::new(memstores, files, u64::MAX, None, None),
        });
    }
    let bound = |r: Option<u8>| r.map(row_name).unwrap_or_default();
    RegionScanner::new(
        reads,
        filter,
        ScanBounds {
            start_row: bound(read.start),
            stop_row: bound(read.stop),
            reversed: read.reversed,
            batch: read.batch,
            limit: 0,
            region_start: Bytes::new(),
            region_end: Bytes::new(),
        },
    )
}

async fn all(mut scanner: RegionScanner) -> Vec<Vec<Cell>> {
    let mut out = Vec::new();
    while let Some(result) = scanner.next().await.unwrap() {
        out.push(result);
    }
    out
}

/// Results joined back into whole rows, as the model gives them.
fn as_rows(results: Vec<Vec<Cell>>) -> Rows {
    let mut rows = Rows::new();
    for result in results {
        for c in result {
            let cell = (
                c.family.clone(),
                c.qualifier.clone(),
                c.timestamp,
                c.value.clone(),
            );
            match rows.last_mut() {
                Some((row, cells)) if *row == c.row => cells.push(cell),
                _ => rows.push((c.row.clone(), vec![cell])),
            }
        }
    }
    rows
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn reads_match_the_model(edits in proptest::collection::vec(edit(), 0..80), read in read()) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (got, results) = runtime.block_on(async {
            let stores = stores(&edits).await;
            let results = all(scanner(&stores, &read, None)).await;
            (as_rows(results.clone()), results)
        });
        if read.batch > 0 {
            prop_assert!(results.iter().all(|r| !r.is_empty() && r.len() <= read.batch));
        }
        prop_assert_eq!(got, model(&edits, &read));
    }
}

/// Three rows with a few columns, all in one memstore of family `a`.
async fn three_rows() -> Vec<FamilyStore> {
    let puts = [
        ("r1", "name", 1, "ann"),
        ("r1", "age", 1, "41"),
        ("r1", "city", 1, "oslo"),
        ("r2", "name", 1, "bob"),
        ("r2", "age", 1, "25"),
        ("r3", "name", 1, "cy"),
        ("r3", "zip", 1, "0150"),
    ];
    let memstore = Arc::new(MemStore::new());
    for (i, (row, q, ts, v)) in puts.iter().enumerate() {
        memstore.insert(
            CellKey {
                row: Bytes::from(*row),
                qualifier: Bytes::from(*q),
                timestamp: *ts,
                kind: CellKind::Put,
                sequence: i as u64 + 1,
            },
            Bytes::from(*v),
        );
    }
    vec![(vec![memstore], Vec::new()), (Vec::new(), Vec::new())]
}

fn whole() -> Read {
    Read {
        max_versions: 1,
        time_range: (0, i64::MAX),
        only_a_qualifier: None,
        start: None,
        stop: None,
        reversed: false,
        batch: 0,
    }
}

async fn filtered(text: &str, read: &Read) -> Vec<Vec<(String, String, String)>> {
    let stores = three_rows().await;
    let f = filter::parse(text.as_bytes()).unwrap();
    all(scanner(&stores, read, Some(f)))
        .await
        .into_iter()
        .map(|cells| {
            cells
                .into_iter()
                .map(|c| {
                    let s = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
                    (s(&c.row), s(&c.qualifier), s(&c.value))
                })
                .collect()
        })
        .collect()
}

fn rows_of(results: &[Vec<(String, String, String)>]) -> Vec<String> {
    results.iter().map(|r| r[0].0.clone()).collect()
}

#[tokio::test]
async fn filters_shape_whole_rows() {
    let w = whole();
    let scvf = filtered("SingleColumnValueFilter('a', 'age', >=, 'binary:30')", &w).await;
    assert_eq!(rows_of(&scvf), ["r1", "r3"], "r3 has no age and passes");
    let missing = filtered(
        "SingleColumnValueFilter('a', 'age', >=, 'binary:30', true, true)",
        &w,
    )
    .await;
    assert_eq!(rows_of(&missing), ["r1"]);
    let exclude = filtered(
        "SingleColumnValueExcludeFilter('a', 'age', =, 'binary:41')",
        &w,
    )
    .await;
    assert_eq!(exclude.len(), 2);
    assert!(exclude[0].iter().all(|c| c.1 != "age"), "{exclude:?}");
    let page = filtered("PageFilter(2)", &w).await;
    assert_eq!(rows_of(&page), ["r1", "r2"]);
    let first = filtered("FirstKeyOnlyFilter() AND KeyOnlyFilter()", &w).await;
    assert_eq!(
        first,
        vec![
            vec![("r1".into(), "age".into(), String::new())],
            vec![("r2".into(), "age".into(), String::new())],
            vec![("r3".into(), "name".into(), String::new())],
        ]
    );
    let columns = filtered("ColumnPaginationFilter(1, 1)", &w).await;
    assert_eq!(
        columns[0],
        vec![("r1".into(), "city".into(), "oslo".into())]
    );
    let skip = filtered("SKIP ValueFilter(!=, 'binary:25')", &w).await;
    assert_eq!(rows_of(&skip), ["r1", "r3"], "r2 holds a 25");
    let while_match = filtered("WHILE RowFilter(<, 'binary:r2')", &w).await;
    assert_eq!(rows_of(&while_match), ["r1"]);
    let stop = filtered("InclusiveStopFilter('r2')", &w).await;
    assert_eq!(rows_of(&stop), ["r1", "r2"]);
    let reversed = Read {
        reversed: true,
        ..whole()
    };
    let down = filtered("PrefixFilter('r')", &reversed).await;
    assert_eq!(rows_of(&down), ["r3", "r2", "r1"]);
    let or = filtered(
        "PrefixFilter('r3') OR QualifierFilter(=, 'binary:city')",
        &w,
    )
    .await;
    assert_eq!(or.len(), 2);
    assert_eq!(or[0], vec![("r1".into(), "city".into(), "oslo".into())]);
    assert_eq!(or[1].len(), 2);
}
