//! Defines the command line and turns it into calls into the library.
//!
//! Flags follow mcp-remote where they overlap (`--header`, `--header-file`,
//! `--allow-http`, `--transport`, `--debug`, `--silent`, the optional
//! positional callback port), so a Claude Desktop entry moves from
//! `npx mcp-remote <url> …` to `tether run <url> …` by changing the command.
//! Exit codes: 0 for a clean stop, 1 for a problem with the settings or the
//! bridge, 2 for a usage error (from clap).

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use tracing::level_filters::LevelFilter;

use tether::config::{self, RunConfig, TransportMode};
use tether::logging::{self, LogOptions};
use tether::paths::Paths;

#[derive(Parser)]
#[command(
    name = "tether",
    version,
    about = "Puts remote MCP servers into Claude Desktop: a stdio bridge to Streamable HTTP",
    long_about = None,
    after_help = "Claude Desktop entry (claude_desktop_config.json):\n  \"linear\": { \"command\": \"/path/to/tether\", \"args\": [\"run\", \"https://mcp.example.com/mcp\", \"--header\", \"Authorization: Bearer ${LINEAR_TOKEN}\"], \"env\": { \"LINEAR_TOKEN\": \"...\" } }"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bridge stdio (as Claude Desktop launches it) to a remote MCP server.
    Run(RunArgs),
}

#[derive(Args)]
struct RunArgs {
    /// The remote MCP server's URL (https://, or http:// to this computer).
    url: String,

    /// The OAuth callback port (mcp-remote's optional second argument).
    /// Kept for drop-in compatibility; sign-in arrives with OAuth support.
    callback_port: Option<u16>,

    /// A header for every request to the server: 'Name: value'. Repeatable.
    /// ${VAR} is replaced from the environment, so secrets can live in the
    /// entry's "env" instead of its "args".
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,

    /// Read headers from a file, one 'Name: value' per line (# comments).
    #[arg(long, value_name = "PATH")]
    header_file: Option<String>,

    /// Allow plain http:// to hosts other than this computer.
    #[arg(long)]
    allow_http: bool,

    /// Which transport to use, and in which order.
    #[arg(long, value_enum, default_value_t = TransportMode::HttpFirst)]
    transport: TransportMode,

    /// Log more (to stderr and the log file).
    #[arg(long)]
    debug: bool,

    /// Log nothing to stderr (the log file is still written).
    #[arg(long)]
    silent: bool,

    /// The largest message accepted in either direction (e.g. 64MiB, 500KB).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    max_message_size: usize,

    /// Seconds a request may wait for any sign of life from the server.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout: u64,

    /// Seconds to wait for a connection to the server.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    connect_timeout: u64,

    /// Accepted for mcp-remote compatibility: Tether always honours
    /// HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
    #[arg(long, hide = true)]
    enable_proxy: bool,
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse_from(with_run_implied(std::env::args_os()));
    match cli.command {
        Command::Run(args) => match run(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("tether: error: {e:#}");
                ExitCode::from(1)
            }
        },
    }
}

/// `tether https://…` means `tether run https://…`, as `mcp-remote <url>` did.
fn with_run_implied(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.collect();
    if let Some(first) = args.get(1).and_then(|a| a.to_str())
        && (first.starts_with("https://") || first.starts_with("http://"))
    {
        args.insert(1, "run".into());
    }
    args
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let env = |name: &str| std::env::var(name).ok();
    let url = config::parse_url(&args.url, args.allow_http)?;
    let mut headers = Vec::new();
    if let Some(path) = &args.header_file {
        headers.extend(config::parse_header_file(path, &env)?);
    }
    for line in &args.headers {
        headers.push(config::parse_header(line, &env)?);
    }
    let run_config = RunConfig {
        url,
        headers,
        transport: args.transport,
        max_message_size: args.max_message_size,
        request_timeout: Duration::from_secs(args.request_timeout),
        connect_timeout: Duration::from_secs(args.connect_timeout),
    };

    let level = if args.debug {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let log_file = Paths::from_env().map(|p| (p.logs.join(logging::file_name_for(&run_config.url)), level));
    let warning = logging::init(&LogOptions {
        stderr: (!args.silent).then_some(level),
        file: log_file,
    });
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
    if !run_config.url.scheme().eq_ignore_ascii_case("https") && !config::is_loopback(&run_config.url) {
        tracing::warn!("plain http to another computer (--allow-http): traffic and tokens can be read on the network");
    }
    if let Some(port) = args.callback_port {
        tracing::debug!(port, "callback port given; it is used once OAuth sign-in is configured");
    }
    let names: Vec<&str> = run_config.headers.iter().map(|(n, _)| n.as_str()).collect();
    if !names.is_empty() {
        tracing::debug!(headers = ?names, "sending headers (values hidden)");
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let span = tracing::info_span!("tether", pid = std::process::id());
    let _entered = span.enter();
    let stop = runtime.block_on(tether::bridge::run(run_config, None))?;
    tracing::debug!(?stop, "bridge stopped");
    // A blocking stdin read (on a terminal) may still be pending; exiting the process
    // ends it, where returning would wait on nothing useful.
    std::process::exit(0)
}

/// Parses sizes such as `20MiB`, `500KB`, `1048576`.
fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("{text:?} is not a size (try 64MiB)"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => {
            return Err(format!("{text:?}: unknown unit {unit:?} (use KiB, MiB, KB or MB)"));
        }
    };
    n.checked_mul(mult)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("{text:?} is not a usable size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("500KB"), Ok(500_000));
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
    }

    #[test]
    fn a_url_as_first_argument_means_run() {
        let args = with_run_implied(
            ["tether", "https://x.example/mcp", "--debug"]
                .map(OsString::from)
                .into_iter(),
        );
        assert_eq!(
            args,
            ["tether", "run", "https://x.example/mcp", "--debug"].map(OsString::from)
        );
        let args = with_run_implied(["tether", "run", "https://x"].map(OsString::from).into_iter());
        assert_eq!(args.len(), 3);
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn mcp_remote_style_arguments_parse() {
        let cli = Cli::try_parse_from([
            "tether",
            "run",
            "https://x.example/sse",
            "3334",
            "--header",
            "A: b",
            "--header",
            "C:d",
            "--transport",
            "sse-only",
            "--debug",
            "--silent",
            "--allow-http",
            "--enable-proxy",
        ])
        .unwrap();
        let Command::Run(a) = cli.command;
        assert_eq!(a.callback_port, Some(3334));
        assert_eq!(a.headers, ["A: b", "C:d"]);
        assert_eq!(a.transport, TransportMode::SseOnly);
        assert!(a.debug && a.silent && a.allow_http);
    }
}
