//! Filters parsed from HBase's filter language and their answers, cell by cell.

use super::*;
use crate::error::Error;

fn cell(row: &str, family: &str, qualifier: &str, ts: i64, value: &str) -> Cell {
    Cell::put(
        row.as_bytes().to_vec(),
        family.as_bytes().to_vec(),
        qualifier.as_bytes().to_vec(),
        ts,
        value.as_bytes().to_vec(),
    )
}

fn parsed(text: &str) -> Filter {
    parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn every_filter_of_the_language_parses() {
    for text in [
        "PrefixFilter('row')",
        "ColumnPrefixFilter('c')",
        "MultipleColumnPrefixFilter('a', 'b')",
        "RowFilter(<=, 'binary:r5')",
        "FamilyFilter(=, 'binaryprefix:c')",
        "QualifierFilter(!=, 'substring:x')",
        "ValueFilter(=, 'regexstring:^v.*')",
        "SingleColumnValueFilter('cf', 'q', >, 'binary:5')",
        "SingleColumnValueFilter('cf', 'q', >=, 'binary:5', true, false)",
        "SingleColumnValueExcludeFilter('cf', 'q', =, 'binary:5')",
        "KeyOnlyFilter()",
        "KeyOnlyFilter(true)",
        "FirstKeyOnlyFilter()",
        "PageFilter(10)",
        "ColumnCountGetFilter(3)",
        "ColumnPaginationFilter(2, 1)",
        "InclusiveStopFilter('r9')",
        "TimestampsFilter(5, 7, 1)",
        "ColumnRangeFilter('a', true, 'c', false)",
        "WHILE RowFilter(<, 'binary:x')",
        "SKIP ValueFilter(!=, 'binary:0')",
        "(PrefixFilter('a') OR PrefixFilter('b')) AND KeyOnlyFilter()",
        "  PageFilter ( 1 )  ",
    ] {
        parsed(text);
    }
}

#[test]
fn and_binds_tighter_than_or_and_quotes_escape() {
    let Filter::List(or) = parsed("PrefixFilter('a') OR PrefixFilter('b') AND KeyOnlyFilter()")
    else {
        panic!("an OR list")
    };
    assert!(!or.all);
    assert!(matches!(&or.filters[1], Filter::List(and) if and.all && and.filters.len() == 2));
    let Filter::Prefix { prefix, .. } = parsed("PrefixFilter('it''s')") else {
        panic!("a prefix filter")
    };
    assert_eq!(prefix, "it's");
}

#[test]
fn malformed_filter_strings_say_where_and_why() {
    for (text, at, says) in [
        ("PrefixFilter('a'", 16, "',' or ')' expected"),
        ("PrefixFilter('a)", 13, "not closed"),
        ("NoSuchFilter()", 0, "unknown filter"),
        ("PageFilter(x)", 11, "not a number"),
        ("PageFilter(1, 2)", 0, "takes 1 arguments"),
        ("RowFilter(<, 'substring:x')", 10, "only = or !="),
        ("RowFilter(=, 'nonsense')", 13, "type:value"),
        ("ValueFilter(=, 'regexstring:(')", 15, "regular expression"),
        ("PrefixFilter('a') AND", 21, "a filter was expected"),
        ("PrefixFilter('a') PageFilter(1)", 18, "unexpected"),
        ("RowFilter(! 'x')", 10, "'!' must be followed"),
        ("PrefixFilter('a') # x", 18, "unexpected character"),
        ("", 0, "a filter was expected"),
    ] {
        match parse(text.as_bytes()) {
            Err(Error::FilterSyntax { position, reason }) => {
                assert!(reason.contains(says), "{text}: {reason}");
                assert_eq!(position, at, "{text}: {reason}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    let deep = format!("{}PageFilter(1){}", "(".repeat(200), ")".repeat(200));
    assert!(parse(deep.as_bytes()).is_err(), "nesting is bounded");
}

#[test]
fn row_filters_decide_before_cells_and_end_scans_early() {
    let mut prefix = parsed("PrefixFilter('b')");
    prefix.reset();
    assert!(prefix.filter_row_key(b"a1", false));
    assert!(!prefix.filter_all_remaining());
    prefix.reset();
    assert!(!prefix.filter_row_key(b"b1", false));
    assert_eq!(
        prefix.filter_cell(&cell("b1", "f", "q", 1, "v")),
        ReturnCode::Include
    );
    assert!(!prefix.filter_row());
    prefix.reset();
    assert!(prefix.filter_row_key(b"c", false));
    assert!(
        prefix.filter_all_remaining(),
        "past the prefix: the scan ends"
    );

    let mut stop = parsed("InclusiveStopFilter('m')");
    assert!(!stop.filter_row_key(b"m", false));
    assert!(stop.filter_row_key(b"n", false));
    assert!(stop.filter_all_remaining());
    let mut reversed = parsed("InclusiveStopFilter('m')");
    assert!(!reversed.filter_row_key(b"z", true));
    assert!(reversed.filter_row_key(b"a", true));

    let mut row = parsed("RowFilter(>, 'binary:k')");
    row.reset();
    assert!(row.filter_row_key(b"a", false));
    assert_eq!(
        row.filter_cell(&cell("a", "f", "q", 1, "")),
        ReturnCode::NextRow
    );
    row.reset();
    assert!(!row.filter_row_key(b"z", false));

    let mut page = parsed("PageFilter(2)");
    assert!(!page.filter_row() && !page.filter_row());
    assert!(page.filter_all_remaining());
    assert!(page.filter_row(), "a third row is over the page");
}

#[test]
fn cell_filters_answer_as_their_hbase_classes() {
    let c = |q: &str, ts: i64, v: &str| cell("r", "cf", q, ts, v);
    let mut qualifier = parsed("QualifierFilter(=, 'binary:b')");
    assert_eq!(qualifier.filter_cell(&c("a", 1, "")), ReturnCode::Skip);
    assert_eq!(qualifier.filter_cell(&c("b", 1, "")), ReturnCode::Include);
    let mut family = parsed("FamilyFilter(=, 'binary:other')");
    assert_eq!(family.filter_cell(&c("a", 1, "")), ReturnCode::NextRow);
    let mut value = parsed("ValueFilter(=, 'substring:HELLO')");
    assert_eq!(
        value.filter_cell(&c("a", 1, "say hello")),
        ReturnCode::Include
    );
    assert_eq!(value.filter_cell(&c("a", 1, "bye")), ReturnCode::Skip);

    let mut prefix = parsed("ColumnPrefixFilter('ca')");
    assert_eq!(
        prefix.filter_cell(&c("b", 1, "")),
        ReturnCode::SeekNextUsingHint
    );
    assert_eq!(prefix.filter_cell(&c("cat", 1, "")), ReturnCode::Include);
    assert_eq!(prefix.filter_cell(&c("d", 1, "")), ReturnCode::NextRow);
    let mut multiple = parsed("MultipleColumnPrefixFilter('b', 'd')");
    assert_eq!(
        multiple.filter_cell(&c("a", 1, "")),
        ReturnCode::SeekNextUsingHint
    );
    assert_eq!(multiple.filter_cell(&c("bx", 1, "")), ReturnCode::Include);
    assert_eq!(
        multiple.filter_cell(&c("c", 1, "")),
        ReturnCode::SeekNextUsingHint
    );
    assert_eq!(multiple.filter_cell(&c("d", 1, "")), ReturnCode::Include);
    assert_eq!(multiple.filter_cell(&c("e", 1, "")), ReturnCode::NextRow);

    let mut range = parsed("ColumnRangeFilter('b', false, 'd', true)");
    assert_eq!(
        range.filter_cell(&c("a", 1, "")),
        ReturnCode::SeekNextUsingHint
    );
    assert_eq!(range.filter_cell(&c("b", 1, "")), ReturnCode::NextCol);
    assert_eq!(range.filter_cell(&c("c", 1, "")), ReturnCode::Include);
    assert_eq!(range.filter_cell(&c("d", 1, "")), ReturnCode::Include);
    assert_eq!(range.filter_cell(&c("e", 1, "")), ReturnCode::NextRow);

    let mut stamps = parsed("TimestampsFilter(5, 9)");
    assert_eq!(stamps.filter_cell(&c("a", 9, "")), ReturnCode::Include);
    assert_eq!(stamps.filter_cell(&c("a", 7, "")), ReturnCode::Skip);
    assert_eq!(stamps.filter_cell(&c("a", 3, "")), ReturnCode::NextCol);

    let mut first = parsed("FirstKeyOnlyFilter()");
    assert_eq!(first.filter_cell(&c("a", 1, "")), ReturnCode::Include);
    assert_eq!(first.filter_cell(&c("b", 1, "")), ReturnCode::NextRow);
    first.reset();
    assert_eq!(first.filter_cell(&c("b", 1, "")), ReturnCode::Include);

    let mut count = parsed("ColumnCountGetFilter(2)");
    assert_eq!(
        count.filter_cell(&c("a", 1, "")),
        ReturnCode::IncludeAndNextCol
    );
    assert_eq!(
        count.filter_cell(&c("b", 1, "")),
        ReturnCode::IncludeAndNextCol
    );
    assert_eq!(count.filter_cell(&c("c", 1, "")), ReturnCode::NextCol);
    assert!(count.filter_all_remaining());

    let mut page = parsed("ColumnPaginationFilter(2, 1)");
    let codes: Vec<ReturnCode> = ["a", "b", "c", "d"]
        .iter()
        .map(|q| page.filter_cell(&c(q, 1, "")))
        .collect();
    assert_eq!(
        codes,
        vec![
            ReturnCode::NextCol,
            ReturnCode::IncludeAndNextCol,
            ReturnCode::IncludeAndNextCol,
            ReturnCode::NextRow
        ]
    );

    let key_only = parsed("KeyOnlyFilter(true)");
    assert_eq!(
        key_only.transform_cell(c("a", 1, "12345")).value,
        vec![0, 0, 0, 5]
    );
    assert!(
        parsed("KeyOnlyFilter()")
            .transform_cell(c("a", 1, "x"))
            .value
            .is_empty()
    );
}

#[test]
fn single_column_value_filters_test_the_newest_version_and_decide_the_row() {
    let c = |q: &str, ts: i64, v: &str| cell("r", "cf", q, ts, v);
    let mut f = parsed("SingleColumnValueFilter('cf', 'age', >=, 'binary:30')");
    assert_eq!(f.filter_cell(&c("a", 1, "x")), ReturnCode::Include);
    assert_eq!(f.filter_cell(&c("age", 2, "25")), ReturnCode::NextRow);
    assert!(f.filter_row(), "the newest age fails");
    f.reset();
    assert_eq!(f.filter_cell(&c("age", 2, "41")), ReturnCode::Include);
    assert_eq!(
        f.filter_cell(&c("age", 1, "25")),
        ReturnCode::Include,
        "matched: the rest passes"
    );
    assert!(!f.filter_row());
    f.reset();
    f.filter_cell(&c("name", 1, "x"));
    assert!(
        !f.filter_row(),
        "a row without the column passes by default"
    );
    let mut missing = parsed("SingleColumnValueFilter('cf', 'age', >=, 'binary:30', true, true)");
    missing.filter_cell(&c("name", 1, "x"));
    assert!(missing.filter_row(), "filterIfMissing drops it");
    let mut any_version =
        parsed("SingleColumnValueFilter('cf', 'age', >=, 'binary:30', false, false)");
    assert_eq!(
        any_version.filter_cell(&c("age", 2, "25")),
        ReturnCode::Include
    );
    assert_eq!(
        any_version.filter_cell(&c("age", 1, "33")),
        ReturnCode::Include
    );
    assert!(!any_version.filter_row(), "an older version matched");

    let mut exclude = parsed("SingleColumnValueExcludeFilter('cf', 'age', =, 'binary:41')");
    let mut row = vec![c("age", 2, "41"), c("name", 1, "x")];
    for cell in &row {
        exclude.filter_cell(cell);
    }
    exclude.filter_row_cells(&mut row);
    assert_eq!(row, vec![c("name", 1, "x")]);
    assert!(!exclude.filter_row());
}

#[test]
fn lists_skip_and_while_combine_answers() {
    let c = |q: &str, v: &str| cell("r", "cf", q, 1, v);
    let mut and = parsed("QualifierFilter(=, 'binary:a') AND ValueFilter(=, 'binary:1')");
    assert_eq!(and.filter_cell(&c("a", "1")), ReturnCode::Include);
    assert_eq!(and.filter_cell(&c("a", "2")), ReturnCode::Skip);
    assert_eq!(and.filter_cell(&c("b", "1")), ReturnCode::Skip);
    let mut or = parsed("QualifierFilter(=, 'binary:a') OR ValueFilter(=, 'binary:1')");
    assert_eq!(or.filter_cell(&c("a", "2")), ReturnCode::Include);
    assert_eq!(or.filter_cell(&c("b", "1")), ReturnCode::Include);
    assert_eq!(or.filter_cell(&c("b", "2")), ReturnCode::Skip);
    let mut next_row = parsed("FamilyFilter(=, 'binary:x') OR ColumnPrefixFilter('z')");
    assert_eq!(next_row.filter_cell(&c("b", "")), ReturnCode::Skip);
    let mut and_rows = parsed("PrefixFilter('r') AND PageFilter(1)");
    and_rows.reset();
    assert!(!and_rows.filter_row_key(b"r1", false));
    assert!(!and_rows.filter_row());
    assert!(and_rows.filter_all_remaining(), "the page is full");
    let transformed = parsed("KeyOnlyFilter() AND QualifierFilter(=, 'binary:a')");
    let mut transformed = transformed;
    assert_eq!(transformed.filter_cell(&c("a", "v")), ReturnCode::Include);
    assert!(transformed.transform_cell(c("a", "v")).value.is_empty());

    let mut skip = parsed("SKIP ValueFilter(!=, 'binary:0')");
    skip.reset();
    assert_eq!(skip.filter_cell(&c("a", "1")), ReturnCode::Include);
    assert_eq!(skip.filter_cell(&c("b", "0")), ReturnCode::Skip);
    assert!(skip.filter_row(), "one dropped cell drops the row");
    skip.reset();
    assert_eq!(skip.filter_cell(&c("a", "1")), ReturnCode::Include);
    assert!(!skip.filter_row());

    let mut while_match = parsed("WHILE ValueFilter(!=, 'binary:stop')");
    assert_eq!(while_match.filter_cell(&c("a", "go")), ReturnCode::Include);
    assert!(!while_match.filter_all_remaining());
    assert_eq!(while_match.filter_cell(&c("b", "stop")), ReturnCode::Skip);
    assert!(
        while_match.filter_all_remaining(),
        "the scan ends at the first miss"
    );
}
