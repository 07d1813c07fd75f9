//! Diagnostics: to stderr (Claude Desktop copies a server's stderr into its
//! own log, `mcp-server-<name>.log`) and to a log file of Tether's own.
//!
//! stdout is the JSON-RPC channel and never carries a log line. Header values
//! and tokens are never logged: they are marked sensitive where they are
//! created, and no code formats a message body into a log line.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// A log file is started afresh (the old one kept as `.1`) beyond this size.
const ROTATE_AT: u64 = 5 * 1024 * 1024;

/// How much Tether logs: the level a person picks in the app's settings
/// (kept in `servers.json`) or with `--debug`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    #[default]
    Info,
    Debug,
}

impl LogLevel {
    /// The level, for the subscriber.
    pub fn filter(self) -> LevelFilter {
        match self {
            Self::Info => LevelFilter::INFO,
            Self::Debug => LevelFilter::DEBUG,
        }
    }
}

/// How much to log, and where.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// The stderr level; `None` for `--silent`.
    pub stderr: Option<LevelFilter>,
    /// The log file and its level.
    pub file: Option<(PathBuf, LevelFilter)>,
}

/// Installs the global subscriber. Returns a warning to show when the log
/// file could not be opened (logging goes on without it).
pub fn init(options: &LogOptions) -> Option<String> {
    let stderr = options.stderr.map(|level| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .with_filter(only_tether(level))
    });
    let mut warning = None;
    let file = options.file.as_ref().and_then(|(path, level)| match open_log(path) {
        Ok(f) => Some(
            tracing_subscriber::fmt::layer()
                .with_writer(Mutex::new(f))
                .with_ansi(false)
                .with_target(false)
                .with_filter(only_tether(*level)),
        ),
        Err(e) => {
            warning = Some(format!("cannot write the log file {}: {e}", path.display()));
            None
        }
    });
    let _ = tracing_subscriber::registry().with(stderr).with(file).try_init();
    warning
}

/// Tether's own events (the core's and the app's) at `level`; other crates'
/// only when they warn.
fn only_tether(level: LevelFilter) -> tracing_subscriber::filter::Targets {
    tracing_subscriber::filter::Targets::new()
        .with_target("tether", level)
        .with_target("tether_app", level)
        .with_default(LevelFilter::WARN.min(level))
}

fn open_log(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    if std::fs::metadata(path).is_ok_and(|m| m.len() > ROTATE_AT) {
        let _ = std::fs::rename(path, path.with_extension("log.1"));
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Creates a directory readable by its owner only.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The log file of a named server (`<name>.log`): the app's Logs view
/// reads it.
pub fn file_name_for_server(name: &str) -> String {
    format!("{name}.log")
}

/// The app's own log file.
pub const APP_LOG: &str = "app.log";

/// The log file name for a bridge to `url`: `run-<host>[_<port>].log`.
pub fn file_name_for(url: &url::Url) -> String {
    let host: String = url
        .host_str()
        .unwrap_or("unknown")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    match url.port() {
        Some(port) => format!("run-{host}_{port}.log"),
        None => format!("run-{host}.log"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_file_is_named_after_the_host_and_port() {
        assert_eq!(
            file_name_for(&"https://mcp.linear.app/sse".parse().unwrap()),
            "run-mcp.linear.app.log"
        );
        assert_eq!(
            file_name_for(&"http://127.0.0.1:3001/mcp".parse().unwrap()),
            "run-127.0.0.1_3001.log"
        );
        assert_eq!(
            file_name_for(&"http://[::1]:3001/mcp".parse().unwrap()),
            "run-___1__3001.log"
        );
    }
}
