//! Where log lines go. Client commands print warnings to stderr; a role run on its own (`strata
//! master`, `worker`, `gateway`, ...) logs at info to stderr, as a service manager expects.
//! `strata local` runs every role in one terminal, so there each role's lines go to its own
//! file under `<data-dir>/logs/` and the terminal shows warnings and errors only. `RUST_LOG`
//! sets the level of what is logged (to the files, for `strata local`).

use std::fs::{File, OpenOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The log file of each role of `strata local`, by the crates whose lines it takes; lines of
/// any other crate (the binary, the client) go to `strata.log`.
const ROLE_FILES: &[(&str, &[&str])] = &[
    ("master.log", &["strata_master"]),
    ("worker.log", &["strata_worker"]),
    ("gateway.log", &["strata_gateway", "strata_web"]),
    ("table.log", &["strata_table"]),
];

/// Logging for a command run in the foreground: `info` for a server role, `warn` for a client.
pub fn init_terminal(server: bool) {
    let default = if server { "info" } else { "warn" };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter(default))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// Logging for `strata local`: each role's lines into its file under `dir` (created), warnings
/// and errors also to the terminal. Returns the directory.
pub fn init_local(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create the log directory {}: {e}", dir.display()))?;
    let mut file_layers = Vec::new();
    let mut claimed = Vec::new();
    for (name, crates) in ROLE_FILES {
        let targets = crates
            .iter()
            .fold(Targets::new(), |t, c| t.with_target(*c, LevelFilter::TRACE));
        claimed.extend(crates.iter().copied());
        file_layers.push(
            file_layer(&dir.join(name))?
                .with_filter(targets)
                .with_filter(env_filter("info"))
                .boxed(),
        );
    }
    let rest = claimed
        .into_iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, c| {
            t.with_target(c, LevelFilter::OFF)
        });
    file_layers.push(
        file_layer(&dir.join("strata.log"))?
            .with_filter(rest)
            .with_filter(env_filter("info"))
            .boxed(),
    );
    let terminal = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .with_filter(LevelFilter::WARN);
    tracing_subscriber::registry()
        .with(file_layers)
        .with(terminal)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))?;
    Ok(dir.to_path_buf())
}

/// A layer writing plain lines to `path`, appended to what earlier runs wrote.
fn file_layer<S>(path: &Path) -> anyhow::Result<impl Layer<S> + use<S>>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let file: File = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot open the log file {}: {e}", path.display()))?;
    Ok(tracing_subscriber::fmt::layer()
        .with_writer(Mutex::new(file))
        .with_ansi(false))
}

/// `RUST_LOG` when set, else `default`.
fn env_filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}
