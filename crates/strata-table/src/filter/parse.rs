//! HBase's filter language (`ParseFilter`): `Name(arg, ...)` filters combined with `AND`
//! (binding tighter), `OR` and parentheses, and the unary `SKIP` and `WHILE`. Arguments are
//! quoted strings (`'it''s'`), numbers, `true`/`false`, comparison operators and quoted
//! comparators (`'binary:abc'`).

use super::{Comparator, CompareOp, Filter, FilterList};
use crate::error::{Error, Result};
use bytes::Bytes;
use std::collections::BTreeSet;

/// The longest filter string accepted.
const MAX_FILTER_STRING: usize = 64 << 10;
/// How deeply filters may nest.
const MAX_DEPTH: usize = 64;

/// Parses a filter string.
pub fn parse(text: &[u8]) -> Result<Filter> {
    if text.len() > MAX_FILTER_STRING {
        return Err(syntax(
            0,
            format!("a filter string is at most {MAX_FILTER_STRING} bytes"),
        ));
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        end: text.len(),
    };
    let filter = parser.or(0)?;
    match parser.tokens.get(parser.at) {
        None => Ok(filter),
        Some(t) => Err(syntax(
            t.position,
            format!("unexpected {}", t.kind.describe()),
        )),
    }
}

fn syntax(position: usize, reason: impl Into<String>) -> Error {
    Error::FilterSyntax {
        position,
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Open,
    Close,
    Comma,
    Quoted(Vec<u8>),
    Op(CompareOp),
    Word(String),
}

impl Kind {
    fn describe(&self) -> String {
        match self {
            Kind::Open => "'('".to_string(),
            Kind::Close => "')'".to_string(),
            Kind::Comma => "','".to_string(),
            Kind::Quoted(_) => "a quoted string".to_string(),
            Kind::Op(_) => "a comparison operator".to_string(),
            Kind::Word(w) => format!("{w:?}"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    position: usize,
}

fn tokenize(text: &[u8]) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let start = i;
        let kind = match text[i] {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => {
                i += 1;
                Kind::Open
            }
            b')' => {
                i += 1;
                Kind::Close
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            b'\'' => {
                let mut value = Vec::new();
                i += 1;
                loop {
                    match text.get(i) {
                        None => return Err(syntax(start, "a quoted string is not closed")),
                        Some(b'\'') if text.get(i + 1) == Some(&b'\'') => {
                            value.push(b'\'');
                            i += 2;
                        }
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(b) => {
                            value.push(*b);
                            i += 1;
                        }
                    }
                }
                Kind::Quoted(value)
            }
            b'<' | b'>' | b'=' | b'!' => {
                let two = text.get(i..i + 2).and_then(|s| std::str::from_utf8(s).ok());
                let (op, len) = match two.and_then(CompareOp::parse) {
                    Some(op) => (op, 2),
                    None => match std::str::from_utf8(&text[i..i + 1])
                        .ok()
                        .and_then(CompareOp::parse)
                    {
                        Some(op) => (op, 1),
                        None => return Err(syntax(start, "'!' must be followed by '='")),
                    },
                };
                i += len;
                Kind::Op(op)
            }
            b if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' => {
                while text
                    .get(i)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
                {
                    i += 1;
                }
                Kind::Word(String::from_utf8_lossy(&text[start..i]).into_owned())
            }
            other => {
                return Err(syntax(
                    start,
                    format!("unexpected character {:?}", char::from(other)),
                ));
            }
        };
        tokens.push(Token {
            kind,
            position: start,
        });
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    end: usize,
}

/// One argument of a filter, with where it began.
#[derive(Debug, Clone)]
struct Arg {
    kind: Kind,
    position: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token { kind: Kind::Word(w), .. }) if w == word)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |t| t.position)
    }

    fn or(&mut self, depth: usize) -> Result<Filter> {
        let first = self.and(depth)?;
        if !self.peek_word("OR") {
            return Ok(first);
        }
        let mut filters = vec![first];
        while self.peek_word("OR") {
            self.at += 1;
            filters.push(self.and(depth)?);
        }
        Ok(Filter::List(Box::new(FilterList::new(false, filters))))
    }

    fn and(&mut self, depth: usize) -> Result<Filter> {
        let first = self.unary(depth)?;
        if !self.peek_word("AND") {
            return Ok(first);
        }
        let mut filters = vec![first];
        while self.peek_word("AND") {
            self.at += 1;
            filters.push(self.unary(depth)?);
        }
        Ok(Filter::List(Box::new(FilterList::new(true, filters))))
    }

    fn unary(&mut self, depth: usize) -> Result<Filter> {
        if depth > MAX_DEPTH {
            return Err(syntax(self.position(), "filters nest too deeply"));
        }
        if self.peek_word("SKIP") {
            self.at += 1;
            let inner = self.unary(depth + 1)?;
            return Ok(Filter::Skip {
                inner: Box::new(inner),
                row_out: false,
            });
        }
        if self.peek_word("WHILE") {
            self.at += 1;
            let inner = self.unary(depth + 1)?;
            return Ok(Filter::WhileMatch {
                inner: Box::new(inner),
                ended: false,
            });
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Filter> {
        let position = self.position();
        let Some(token) = self.tokens.get(self.at).cloned() else {
            return Err(syntax(position, "a filter was expected"));
        };
        self.at += 1;
        match token.kind {
            Kind::Open => {
                let inner = self.or(depth + 1)?;
                self.expect_close()?;
                Ok(inner)
            }
            Kind::Word(name) => {
                if !matches!(
                    self.tokens.get(self.at),
                    Some(Token {
                        kind: Kind::Open,
                        ..
                    })
                ) {
                    return Err(syntax(
                        self.position(),
                        format!("'(' expected after {name}"),
                    ));
                }
                self.at += 1;
                let args = self.arguments()?;
                build(&name, position, &args)
            }
            other => Err(syntax(
                position,
                format!("a filter name was expected, not {}", other.describe()),
            )),
        }
    }

    fn expect_close(&mut self) -> Result<()> {
        match self.tokens.get(self.at) {
            Some(Token {
                kind: Kind::Close, ..
            }) => {
                self.at += 1;
                Ok(())
            }
            _ => Err(syntax(self.position(), "')' expected")),
        }
    }

    fn arguments(&mut self) -> Result<Vec<Arg>> {
        let mut args = Vec::new();
        if let Some(Token {
            kind: Kind::Close, ..
        }) = self.tokens.get(self.at)
        {
            self.at += 1;
            return Ok(args);
        }
        loop {
            let position = self.position();
            match self.tokens.get(self.at).cloned() {
                Some(Token {
                    kind: kind @ (Kind::Quoted(_) | Kind::Op(_) | Kind::Word(_)),
                    ..
                }) => {
                    args.push(Arg { kind, position });
                    self.at += 1;
                }
                _ => return Err(syntax(position, "a filter argument was expected")),
            }
            match self.tokens.get(self.at) {
                Some(Token {
                    kind: Kind::Comma, ..
                }) => self.at += 1,
                Some(Token {
                    kind: Kind::Close, ..
                }) => {
                    self.at += 1;
                    return Ok(args);
                }
                _ => return Err(syntax(self.position(), "',' or ')' expected")),
            }
        }
    }
}

fn quoted(arg: &Arg) -> Result<Bytes> {
    match &arg.kind {
        Kind::Quoted(v) => Ok(Bytes::copy_from_slice(v)),
        other => Err(syntax(
            arg.position,
            format!("a quoted string was expected, not {}", other.describe()),
        )),
    }
}

fn number(arg: &Arg) -> Result<i64> {
    match &arg.kind {
        Kind::Word(w) => w
            .parse::<i64>()
            .map_err(|_| syntax(arg.position, format!("{w:?} is not a number"))),
        other => Err(syntax(
            arg.position,
            format!("a number was expected, not {}", other.describe()),
        )),
    }
}

fn boolean(arg: &Arg) -> Result<bool> {
    match &arg.kind {
        Kind::Word(w) if w.eq_ignore_ascii_case("true") => Ok(true),
        Kind::Word(w) if w.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(syntax(
            arg.position,
            format!("true or false was expected, not {}", other.describe()),
        )),
    }
}

fn operator(arg: &Arg) -> Result<CompareOp> {
    match &arg.kind {
        Kind::Op(op) => Ok(*op),
        other => Err(syntax(
            arg.position,
            format!(
                "a comparison operator was expected, not {}",
                other.describe()
            ),
        )),
    }
}

/// The operator and comparator of a compare filter, checking that substring and regex
/// comparators come with `=` or `!=` only.
fn comparison(op: &Arg, comparator: &Arg) -> Result<(CompareOp, Comparator)> {
    let op_value = operator(op)?;
    let parsed = Comparator::parse(&quoted(comparator)?).map_err(|e| match e {
        Error::FilterSyntax { reason, .. } => syntax(comparator.position, reason),
        other => other,
    })?;
    if parsed.equality_only() && !matches!(op_value, CompareOp::Equal | CompareOp::NotEqual) {
        return Err(syntax(
            op.position,
            "substring and regexstring comparators take only = or !=",
        ));
    }
    Ok((op_value, parsed))
}

fn arity(name: &str, position: usize, args: &[Arg], counts: &[usize]) -> Result<()> {
    if counts.contains(&args.len()) {
        return Ok(());
    }
    let wanted: Vec<String> = counts.iter().map(|c| c.to_string()).collect();
    Err(syntax(
        position,
        format!(
            "{name} takes {} arguments, not {}",
            wanted.join(" or "),
            args.len()
        ),
    ))
}

fn build(name: &str, position: usize, args: &[Arg]) -> Result<Filter> {
    let n = |counts: &[usize]| arity(name, position, args, counts);
    Ok(match name {
        "PrefixFilter" => {
            n(&[1])?;
            Filter::prefix(quoted(&args[0])?)
        }
        "ColumnPrefixFilter" => {
            n(&[1])?;
            Filter::ColumnPrefix(quoted(&args[0])?)
        }
        "MultipleColumnPrefixFilter" => {
            if args.is_empty() {
                return Err(syntax(
                    position,
                    "MultipleColumnPrefixFilter takes at least one prefix",
                ));
            }
            let prefixes = args
                .iter()
                .map(quoted)
                .collect::<Result<BTreeSet<Bytes>>>()?;
            Filter::MultipleColumnPrefix(prefixes)
        }
        "RowFilter" => {
            n(&[2])?;
            let (op, comparator) = comparison(&args[0], &args[1])?;
            Filter::Row {
                op,
                comparator,
                row_out: false,
            }
        }
        "FamilyFilter" | "QualifierFilter" | "ValueFilter" => {
            n(&[2])?;
            let (op, comparator) = comparison(&args[0], &args[1])?;
            match name {
                "FamilyFilter" => Filter::Family(op, comparator),
                "QualifierFilter" => Filter::Qualifier(op, comparator),
                _ => Filter::Value(op, comparator),
            }
        }
        "SingleColumnValueFilter" | "SingleColumnValueExcludeFilter" => {
            n(&[4, 6])?;
            let (op, comparator) = comparison(&args[2], &args[3])?;
            let (if_missing, latest) = if args.len() == 6 {
                (boolean(&args[4])?, boolean(&args[5])?)
            } else {
                (false, true)
            };
            Filter::column_value(
                quoted(&args[0])?,
                quoted(&args[1])?,
                op,
                comparator,
                if_missing,
                latest,
                name == "SingleColumnValueExcludeFilter",
            )
        }
        "KeyOnlyFilter" => {
            n(&[0, 1])?;
            Filter::KeyOnly {
                length_as_value: match args.first() {
                    Some(arg) => boolean(arg)?,
                    None => false,
                },
            }
        }
        "FirstKeyOnlyFilter" => {
            n(&[0])?;
            Filter::FirstKeyOnly { found: false }
        }
        "PageFilter" => {
            n(&[1])?;
            let size = number(&args[0])?;
            if size < 0 {
                return Err(syntax(
                    args[0].position,
                    "the page size must be zero or more",
                ));
            }
            Filter::Page { size, accepted: 0 }
        }
        "ColumnCountGetFilter" => {
            n(&[1])?;
            let limit = number(&args[0])?;
            if limit < 0 {
                return Err(syntax(args[0].position, "the limit must be zero or more"));
            }
            Filter::ColumnCountGet { limit, count: 0 }
        }
        "ColumnPaginationFilter" => {
            n(&[2])?;
            let (limit, offset) = (number(&args[0])?, number(&args[1])?);
            if limit < 0 || offset < 0 {
                return Err(syntax(position, "limit and offset must be zero or more"));
            }
            Filter::ColumnPagination {
                limit,
                offset,
                count: 0,
            }
        }
        "InclusiveStopFilter" => {
            n(&[1])?;
            Filter::InclusiveStop {
                stop: quoted(&args[0])?,
                done: false,
            }
        }
        "TimestampsFilter" => {
            let mut stamps = BTreeSet::new();
            for arg in args {
                let ts = number(arg)?;
                if ts < 0 {
                    return Err(syntax(arg.position, "timestamps cannot be negative"));
                }
                stamps.insert(ts);
            }
            Filter::Timestamps(stamps)
        }
        "ColumnRangeFilter" => {
            n(&[4])?;
            let bound = |arg: &Arg| quoted(arg).map(|b| (!b.is_empty()).then_some(b));
            Filter::ColumnRange {
                min: bound(&args[0])?,
                min_inclusive: boolean(&args[1])?,
                max: bound(&args[2])?,
                max_inclusive: boolean(&args[3])?,
            }
        }
        other => return Err(syntax(position, format!("unknown filter {other:?}"))),
    })
}
