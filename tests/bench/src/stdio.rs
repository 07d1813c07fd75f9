//! Drives a bridge the way Claude Desktop does: one JSON-RPC message per line
//! on its stdin, answers read line by line from its stdout.
//!
//! Both bridges get exactly the same driver, and the driver does as little as
//! it can inside a timed span: each request is one `write` of the whole line
//! (a `BufWriter` flushed once per message), answers are read with a buffered
//! line reader, the clock stops as soon as the line is in, and parsing and
//! checking come after. [`floor`] measures what this driver and two pipe hops
//! cost on their own, with `cat` in the bridge's place.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

use crate::Sample;
use crate::mcp::{self, INITIALIZE_ID, Messages, TOOLS_LIST_ID};

/// Bounds on each phase, so a stuck subject fails the run instead of hanging
/// it. They are far above any sane figure and are never part of a result.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(60);
const CALLS_LIMIT: Duration = Duration::from_secs(120);
const EXIT_LIMIT: Duration = Duration::from_secs(15);

/// How to start one bridge.
#[derive(Clone)]
pub struct Bridge {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
}

/// Runs one session through the bridge: spawn, handshake, the calls, then
/// end of input. `stderr` receives the bridge's stderr (quoted on failure).
pub async fn run(bridge: &Bridge, msgs: &Messages, stderr: &Path) -> Result<Sample> {
    let mut cmd = command(bridge, stderr)?;
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", bridge.program.display()))?;
    match drive(&mut child, msgs, start).await {
        Ok(sample) => Ok(sample),
        Err(e) => {
            let exited = match child.try_wait() {
                Ok(Some(status)) => format!(" (it exited with {status})"),
                _ => String::new(),
            };
            let _ = child.start_kill();
            let _ = child.wait().await;
            Err(anyhow::anyhow!("{e:#}{exited}; {}", stderr_tail(stderr)))
        }
    }
}

/// The command that starts `bridge` with piped stdin and stdout and its
/// stderr in the file `stderr`.
fn command(bridge: &Bridge, stderr: &Path) -> Result<Command> {
    let log = std::fs::File::create(stderr).with_context(|| format!("cannot create {}", stderr.display()))?;
    let mut cmd = Command::new(&bridge.program);
    cmd.args(&bridge.args)
        .envs(bridge.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        // Whatever goes wrong, the bridge does not outlive its run.
        .kill_on_drop(true);
    Ok(cmd)
}

async fn drive(child: &mut Child, msgs: &Messages, start: Instant) -> Result<Sample> {
    let pid = child.id().context("the bridge has no process id")?;
    let mut input = BufWriter::new(child.stdin.take().context("no stdin pipe")?);
    let mut output = Lines::new(child.stdout.take().context("no stdout pipe")?);

    let handshake = async {
        send(&mut input, &msgs.initialize).await?;
        let (_, init) = output.answer(INITIALIZE_ID).await?;
        send(&mut input, &msgs.initialized).await?;
        send(&mut input, &msgs.tools_list).await?;
        let (listed_at, list) = output.answer(TOOLS_LIST_ID).await?;
        anyhow::Ok((init, listed_at, list))
    };
    let (init, listed_at, list) = timeout(HANDSHAKE_LIMIT, handshake)
        .await
        .with_context(|| format!("no answer to tools/list within {} s", HANDSHAKE_LIMIT.as_secs()))??;
    let spawn_to_list = listed_at - start;
    mcp::result(&init, "initialize")?;
    mcp::check_tools(&list)?;

    let mut latencies = Vec::with_capacity(msgs.calls.len());
    let calls = async {
        for (id, call) in &msgs.calls {
            let sent = Instant::now();
            send(&mut input, call).await?;
            let (at, answer) = output.answer(*id).await?;
            latencies.push(at - sent);
            mcp::check_echo(&answer)?;
        }
        anyhow::Ok(())
    };
    timeout(CALLS_LIMIT, calls)
        .await
        .with_context(|| format!("the echo calls took over {} s", CALLS_LIMIT.as_secs()))??;

    let peak_rss_mb = peak_rss_mb(pid)?;
    let eof = Instant::now();
    drop(input);
    let status = timeout(EXIT_LIMIT, child.wait())
        .await
        .with_context(|| format!("did not exit within {} s of the end of its input", EXIT_LIMIT.as_secs()))??;
    let eof_to_exit = eof.elapsed();
    // stdout stays open until the bridge has exited, so closing it is not
    // what makes it stop.
    drop(output);
    if !status.success() {
        bail!("exited with {status} at the end of its input");
    }
    Ok(Sample::new(spawn_to_list, latencies, Some(peak_rss_mb), eof_to_exit))
}

/// A bridge kept running after a session's first exchanges, for the memory
/// figures ([`crate::memory`]): the same spawn, the same messages and the
/// same line driver as [`run`], with no clock, and its input left open so
/// that it stays alive and idle until [`Open::close`].
pub struct Open {
    child: Child,
    pid: u32,
    input: BufWriter<ChildStdin>,
    output: Lines<ChildStdout>,
    stderr: PathBuf,
}

impl Open {
    /// Starts the bridge (it starts up while the caller starts others).
    pub fn start(bridge: &Bridge, stderr: &Path) -> Result<Self> {
        let mut child = command(bridge, stderr)?
            .spawn()
            .with_context(|| format!("cannot start {}", bridge.program.display()))?;
        let pid = child.id().context("the bridge has no process id")?;
        let input = BufWriter::new(child.stdin.take().context("no stdin pipe")?);
        let output = Lines::new(child.stdout.take().context("no stdout pipe")?);
        Ok(Self {
            child,
            pid,
            input,
            output,
            stderr: stderr.to_owned(),
        })
    }

    /// The bridge's process (for mcp-remote, node itself: no wrapper).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `initialize`, `notifications/initialized`, `tools/list`, then the
    /// first `calls` echo calls of `msgs`, each answer checked; the bridge
    /// stays up.
    pub async fn session(&mut self, msgs: &Messages, calls: usize) -> Result<()> {
        let result = async {
            timeout(HANDSHAKE_LIMIT, async {
                send(&mut self.input, &msgs.initialize).await?;
                let (_, init) = self.output.answer(INITIALIZE_ID).await?;
                mcp::result(&init, "initialize")?;
                send(&mut self.input, &msgs.initialized).await?;
                send(&mut self.input, &msgs.tools_list).await?;
                let (_, list) = self.output.answer(TOOLS_LIST_ID).await?;
                mcp::check_tools(&list)
            })
            .await
            .with_context(|| format!("no answer to tools/list within {} s", HANDSHAKE_LIMIT.as_secs()))??;
            timeout(CALLS_LIMIT, async {
                for (id, call) in msgs.calls.iter().take(calls) {
                    send(&mut self.input, call).await?;
                    let (_, answer) = self.output.answer(*id).await?;
                    mcp::check_echo(&answer)?;
                }
                anyhow::Ok(())
            })
            .await
            .with_context(|| format!("the echo calls took over {} s", CALLS_LIMIT.as_secs()))?
        }
        .await;
        result.map_err(|e| self.failure(&e))
    }

    /// Fails when the bridge has exited (a figure of a dead process would
    /// be no figure).
    pub fn check(&mut self) -> Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            bail!(
                "exited ({status}) while it should have been idle; {}",
                stderr_tail(&self.stderr)
            );
        }
        Ok(())
    }

    /// Closes the bridge's input at once, as Claude Desktop does at the end
    /// of a session; the future waits for a clean exit.
    pub fn close(self) -> impl Future<Output = Result<()>> {
        let Self {
            mut child,
            input,
            output,
            stderr,
            ..
        } = self;
        drop(input);
        async move {
            let status = match timeout(EXIT_LIMIT, child.wait()).await {
                Ok(status) => status?,
                Err(_) => bail!(
                    "did not exit within {} s of the end of its input; {}",
                    EXIT_LIMIT.as_secs(),
                    stderr_tail(&stderr)
                ),
            };
            // stdout stays open until the bridge has exited, as in `run`.
            drop(output);
            if !status.success() {
                bail!("exited with {status} at the end of its input; {}", stderr_tail(&stderr));
            }
            Ok(())
        }
    }

    fn failure(&mut self, e: &anyhow::Error) -> anyhow::Error {
        let exited = match self.child.try_wait() {
            Ok(Some(status)) => format!(" (it exited with {status})"),
            _ => String::new(),
        };
        anyhow::anyhow!("{e:#}{exited}; {}", stderr_tail(&self.stderr))
    }
}

/// What the stdio driver costs by itself: round trips of the same lines
/// through `cat` (two pipe hops, no JSON-RPC). Both bridges pay this in every
/// figure; direct does not. Returns the round trips.
pub async fn floor(msgs: &Messages) -> Result<Vec<Duration>> {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start cat")?;
    let mut input = BufWriter::new(child.stdin.take().context("no stdin pipe")?);
    let mut output = Lines::new(child.stdout.take().context("no stdout pipe")?);
    let mut trips = Vec::with_capacity(msgs.calls.len());
    let echo = async {
        for (_, call) in &msgs.calls {
            let sent = Instant::now();
            send(&mut input, call).await?;
            let at = output.line().await?;
            trips.push(at - sent);
        }
        anyhow::Ok(())
    };
    timeout(CALLS_LIMIT, echo).await.context("cat did not echo")??;
    drop(input);
    let _ = timeout(EXIT_LIMIT, child.wait()).await;
    Ok(trips)
}

/// Writes one message as one line: a single write, then flush.
async fn send<W: AsyncWrite + Unpin>(input: &mut BufWriter<W>, msg: &str) -> Result<()> {
    input.write_all(msg.as_bytes()).await?;
    input.write_all(b"\n").await?;
    input.flush().await.context("cannot write to the bridge's stdin")?;
    Ok(())
}

/// A buffered line reader on a subject's stdout.
struct Lines<R> {
    reader: BufReader<R>,
    buf: String,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    fn new(output: R) -> Self {
        Self {
            reader: BufReader::with_capacity(64 * 1024, output),
            buf: String::with_capacity(64 * 1024),
        }
    }

    /// Reads the next line into `self.buf`; returns when it came in.
    async fn line(&mut self) -> Result<Instant> {
        self.buf.clear();
        let n = self
            .reader
            .read_line(&mut self.buf)
            .await
            .context("cannot read stdout")?;
        let at = Instant::now();
        if n == 0 {
            bail!("stdout closed");
        }
        Ok(at)
    }

    /// Reads lines until the answer to request `id`; returns when its line
    /// came in. Other messages (notifications, the server's own requests)
    /// are skipped.
    async fn answer(&mut self, id: i64) -> Result<(Instant, Value)> {
        loop {
            let at = self
                .line()
                .await
                .with_context(|| format!("no answer to request {id}"))?;
            let msg: Value = serde_json::from_str(&self.buf)
                .with_context(|| format!("not JSON on stdout: {}", mcp::clip(&self.buf)))?;
            if mcp::answers(&msg, id) {
                return Ok((at, msg));
            }
        }
    }
}

/// The process's peak resident set (`VmHWM`), in MB of 2^20 bytes.
fn peak_rss_mb(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no VmHWM in {path}"))?;
    Ok(kb / 1024.0)
}

/// The end of a subject's stderr, for an error message.
pub fn stderr_tail(path: &Path) -> String {
    const KEEP: usize = 2000;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        return "(nothing on stderr)".to_owned();
    }
    let cut = text
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| text.len() - i <= KEEP)
        .unwrap_or(0);
    format!("stderr: {}", &text[cut..])
}
