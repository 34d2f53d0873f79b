//! The audit log: one line per namespace operation (time, user, client address, operation,
//! path, destination, result), like HDFS's `hdfs-audit.log`.
//!
//! Requests only put their entry on a bounded queue; a thread of its own formats and writes
//! the lines and rotates the file by size (`audit.log`, then `audit.log.1` ... `audit.log.N`),
//! so no request waits on the disk. When the queue is full an entry is counted as dropped
//! rather than delaying a request.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::SystemTime;
use strata_core::{Error, Result};
use strata_proto::USER_METADATA;
use strata_proto::status::error_code;

/// Entries waiting to be written before further ones are dropped.
const QUEUE: usize = 65_536;

/// The file name of the current audit log.
pub const AUDIT_FILE: &str = "audit.log";

/// Where and how the audit log is written.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// The directory holding `audit.log` and its rotated predecessors.
    pub dir: PathBuf,
    /// Size past which the file is rotated.
    pub max_file_bytes: u64,
    /// Rotated files kept (`audit.log.1` is the newest).
    pub max_files: u32,
}

/// What one request did, recorded when it is answered.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    user: String,
    address: Option<IpAddr>,
    command: &'static str,
    source: String,
    destination: Option<String>,
}

impl AuditEntry {
    /// The entry of `request`, an operation named `command` on `source` (and `destination`,
    /// for a rename or concat).
    pub fn of<T>(
        request: &tonic::Request<T>,
        command: &'static str,
        source: &str,
        destination: Option<&str>,
    ) -> AuditEntry {
        let user = request
            .metadata()
            .get_bin(USER_METADATA)
            .and_then(|v| v.to_bytes().ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        AuditEntry {
            user,
            address: request.remote_addr().map(|a| a.ip()),
            command,
            source: source.to_string(),
            destination: destination.map(str::to_string),
        }
    }

    /// The operation's name.
    pub fn command(&self) -> &'static str {
        self.command
    }

    /// The path it was about.
    pub fn source(&self) -> &str {
        &self.source
    }
}

enum Message {
    Line(SystemTime, AuditEntry, &'static str),
    Flush(mpsc::SyncSender<()>),
}

/// The audit log's queue; cheap to share between requests.
#[derive(Debug)]
pub struct AuditLog {
    queue: Option<mpsc::SyncSender<Message>>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Line(..) => "Line",
            Message::Flush(_) => "Flush",
        })
    }
}

impl AuditLog {
    /// Opens (appending to) the log in `settings.dir` and starts its writer thread.
    pub fn open(settings: AuditSettings) -> Result<AuditLog> {
        std::fs::create_dir_all(&settings.dir)
            .map_err(|e| Error::io(format!("creating {}", settings.dir.display()), e))?;
        let file = RotatingFile::open(settings)?;
        let (queue, lines) = mpsc::sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("audit-log".to_string())
            .spawn(move || write_lines(file, lines))
            .map_err(|e| Error::io("starting the audit log writer", e))?;
        Ok(AuditLog {
            queue: Some(queue),
            dropped: AtomicU64::new(0),
        })
    }

    /// A log that records nothing (turned off in the configuration).
    pub fn disabled() -> AuditLog {
        AuditLog {
            queue: None,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues the line of a request answered with `result`.
    pub fn record<T>(&self, entry: AuditEntry, result: &Result<T>) {
        let Some(queue) = &self.queue else { return };
        let outcome = match result {
            Ok(_) => "ok",
            Err(e) => error_code(e).as_str_name(),
        };
        if queue
            .try_send(Message::Line(SystemTime::now(), entry, outcome))
            .is_err()
        {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped == 1 || dropped.is_multiple_of(10_000) {
                tracing::warn!(
                    dropped,
                    "the audit log cannot keep up; entries are being dropped"
                );
            }
        }
    }

    /// Entries dropped because the writer could not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes every queued line and waits until they are on disk.
    pub fn flush(&self) {
        let Some(queue) = &self.queue else { return };
        let (done, finished) = mpsc::sync_channel(1);
        if queue.send(Message::Flush(done)).is_ok() {
            let _ = finished.recv();
        }
    }
}

/// The writer thread: a line per entry, flushed whenever the queue runs empty.
fn write_lines(mut file: RotatingFile, lines: mpsc::Receiver<Message>) {
    let mut text = String::new();
    while let Ok(first) = lines.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Line(time, entry, outcome) => {
                    text.clear();
                    format_line(&mut text, time, &entry, outcome);
                    file.write(text.as_bytes());
                }
                Message::Flush(done) => {
                    file.flush();
                    let _ = done.send(());
                }
            }
            next = lines.try_recv().ok();
        }
        file.flush();
    }
}

/// `TIME\tuser=U\tip=A\tcmd=C\tsrc=P\tdst=D\tresult=R\n`, HDFS's key=value fields with tabs
/// between them; tabs, line breaks and backslashes inside values are escaped.
fn format_line(out: &mut String, time: SystemTime, entry: &AuditEntry, outcome: &str) {
    out.push_str(&humantime::format_rfc3339_millis(time).to_string());
    let address = entry.address.map_or("-".to_string(), |a| a.to_string());
    let fields = [
        ("user", entry.user.as_str()),
        ("ip", address.as_str()),
        ("cmd", entry.command),
        ("src", entry.source.as_str()),
        ("dst", entry.destination.as_deref().unwrap_or("null")),
        ("result", outcome),
    ];
    for (key, value) in fields {
        out.push('\t');
        out.push_str(key);
        out.push('=');
        for c in value.chars() {
            match c {
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\\' => out.push_str("\\\\"),
                c => out.push(c),
            }
        }
    }
    out.push('\n');
}

/// `audit.log`, rotated when it passes its size.
struct RotatingFile {
    settings: AuditSettings,
    file: Option<BufWriter<File>>,
    size: u64,
}

impl RotatingFile {
    fn open(settings: AuditSettings) -> Result<RotatingFile> {
        let path = settings.dir.join(AUDIT_FILE);
        let file = append_to(&path)?;
        let size = file
            .metadata()
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
            .len();
        Ok(RotatingFile {
            settings,
            file: Some(BufWriter::new(file)),
            size,
        })
    }

    fn write(&mut self, line: &[u8]) {
        if self.size > 0 && self.size + line.len() as u64 > self.settings.max_file_bytes {
            self.rotate();
        }
        let Some(file) = &mut self.file else { return };
        match file.write_all(line) {
            Ok(()) => self.size += line.len() as u64,
            Err(e) => {
                tracing::error!(dir = %self.settings.dir.display(), error = %e,
                    "writing the audit log failed; reopening it");
                self.file = None;
                self.reopen();
            }
        }
    }

    fn flush(&mut self) {
        if let Some(file) = &mut self.file
            && let Err(e) = file.flush()
        {
            tracing::error!(dir = %self.settings.dir.display(), error = %e,
                "flushing the audit log failed");
        }
    }

    /// `audit.log.N-1` becomes `audit.log.N` (the oldest goes), ..., `audit.log` becomes
    /// `audit.log.1`, and a new `audit.log` begins.
    fn rotate(&mut self) {
        self.flush();
        self.file = None;
        let dir = &self.settings.dir;
        let numbered = |n: u32| dir.join(format!("{AUDIT_FILE}.{n}"));
        let max = self.settings.max_files.max(1);
        let _ = std::fs::remove_file(numbered(max));
        for n in (1..max).rev() {
            let _ = std::fs::rename(numbered(n), numbered(n + 1));
        }
        if let Err(e) = std::fs::rename(dir.join(AUDIT_FILE), numbered(1)) {
            tracing::error!(dir = %dir.display(), error = %e, "rotating the audit log failed");
        }
        self.reopen();
    }

    fn reopen(&mut self) {
        let path = self.settings.dir.join(AUDIT_FILE);
        match append_to(&path) {
            Ok(file) => {
                self.size = file.metadata().map(|m| m.len()).unwrap_or(0);
                self.file = Some(BufWriter::new(file));
            }
            Err(e) => tracing::error!(error = %e, "the audit log cannot be opened"),
        }
    }
}

fn append_to(path: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(user: &str, command: &'static str, source: &str) -> AuditEntry {
        AuditEntry {
            user: user.to_string(),
            address: Some("127.0.0.1".parse().unwrap()),
            command,
            source: source.to_string(),
            destination: None,
        }
    }

    #[test]
    fn a_line_has_every_field_and_escapes_what_would_break_it() {
        let mut line = String::new();
        let mut e = entry("ann", "rename", "/a\tb");
        e.destination = Some("/c\nd".to_string());
        format_line(&mut line, SystemTime::UNIX_EPOCH, &e, "ok");
        assert_eq!(
            line,
            "1970-01-01T00:00:00.000Z\tuser=ann\tip=127.0.0.1\tcmd=rename\tsrc=/a\\tb\t\
             dst=/c\\nd\tresult=ok\n"
        );
    }

    #[test]
    fn entries_reach_the_file_and_it_rotates_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(AuditSettings {
            dir: dir.path().to_path_buf(),
            max_file_bytes: 300,
            max_files: 2,
        })
        .unwrap();
        for i in 0..20 {
            let failed: Result<()> = Err(Error::NotFound {
                path: format!("/f{i}"),
            });
            log.record(entry("bob", "delete", &format!("/f{i}")), &failed);
        }
        log.flush();
        let current = std::fs::read_to_string(dir.path().join(AUDIT_FILE)).unwrap();
        let first = std::fs::read_to_string(dir.path().join("audit.log.1")).unwrap();
        assert!(dir.path().join("audit.log.2").exists());
        assert!(!dir.path().join("audit.log.3").exists());
        for text in [&current, &first] {
            assert!(text.len() <= 300, "{text}");
        }
        assert!(current.ends_with("\tcmd=delete\tsrc=/f19\tdst=null\tresult=NOT_FOUND\n"));
        assert!(current.contains("\tuser=bob\tip=127.0.0.1\t"));
        assert_eq!(log.dropped(), 0);
    }
}
