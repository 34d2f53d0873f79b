//! How the CLI prints things: sizes, times, permissions, tables, JSON and progress bars, and
//! the `outln!`/`out!` macros every line of standard output goes through.

use comfy_table::{ContentArrangement, Table, presets};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::time::{Duration, UNIX_EPOCH};
use strata_client::FileStatus;
use strata_client::is_directory;
use strata_core::permission::Permission;

/// Prints a line on standard output like `println!`, except that a reader that went away
/// (`strata fs ls -R / | head`) ends the process quietly instead of panicking.
macro_rules! outln {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints on standard output like `print!`, with the closed-pipe handling of `outln!`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}

/// Writes to standard output. SIGPIPE stays ignored (as Rust sets it) so that a worker closing
/// a socket is an error the client handles, not the end of the process; a closed standard
/// output ends the process with success (its reader has all it wanted), any other failure to
/// write it with a message and exit code 1.
pub fn write_stdout(text: std::fmt::Arguments) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("strata: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// A byte count, exact or human (`-h`).
pub fn size(bytes: u64, human: bool) -> String {
    if human {
        strata_core::size::human(bytes)
    } else {
        bytes.to_string()
    }
}

/// A timestamp (ms since the epoch) as `YYYY-MM-DD HH:MM` in UTC.
pub fn time(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    let text = humantime::format_rfc3339_seconds(at).to_string();
    text.get(..16).map(|t| t.replace('T', " ")).unwrap_or(text)
}

/// `drwxr-xr-x` / `-rw-r--r--`.
pub fn permissions(status: &FileStatus) -> String {
    let kind = if is_directory(status) { 'd' } else { '-' };
    format!("{kind}{}", Permission(status.mode))
}

/// A status as JSON for `--json`.
pub fn status_json(status: &FileStatus) -> Value {
    json!({
        "path": status.path,
        "type": if is_directory(status) { "DIRECTORY" } else { "FILE" },
        "length": status.length,
        "replication": status.replication,
        "ec_policy": status.ec_policy,
        "persistence": status.persistence,
        "pinned": status.pinned,
        "ttl_ms": status.ttl_ms,
        "ttl_action": status.ttl_action,
        "creation_time": status.creation_time,
        "ufs_uri": status.ufs_uri,
        "block_size": status.block_size,
        "block_count": status.block_count,
        "owner": status.owner,
        "group": status.group,
        "permission": format!("{:o}", status.mode),
        "modification_time": status.modification_time,
        "access_time": status.access_time,
        "children": status.children,
        "under_construction": status.under_construction,
        "inode_id": status.inode_id,
    })
}

/// Prints JSON on stdout.
pub fn print_json(value: &Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => outln!("{text}"),
        Err(e) => eprintln!("strata: cannot render JSON: {e}"),
    }
}

/// A table with a header row, laid out for the terminal.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    table
}

/// A byte progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(total: Option<u64>, label: &str) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let template = if total.is_some() {
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{msg} {spinner} {bytes} {bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_sizes() {
        assert_eq!(time(0), "1970-01-01 00:00");
        assert_eq!(time(86_400_000 + 61_000), "1970-01-02 00:01");
        assert_eq!(size(2048, true), "2 KiB");
        assert_eq!(size(2048, false), "2048");
    }
}
