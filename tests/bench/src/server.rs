//! The remote end: the official `@modelcontextprotocol/server-everything` in
//! Streamable HTTP mode on a free loopback port, one process for the whole
//! benchmark, shared by every subject; and for the era figures, the bench's
//! own dual-era echo fake (`era-echo.mjs`), also on Node.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

use crate::stdio::stderr_tail;

const START_LIMIT: Duration = Duration::from_secs(30);

pub struct Everything {
    child: Child,
    port: u16,
    log: PathBuf,
    name: &'static str,
}

impl Everything {
    /// Starts the server and waits until it accepts connections.
    pub async fn start(node: &Path, script: &Path, log: PathBuf) -> Result<Self> {
        Self::start_script(node, script, "server-everything", log, |cmd, port| {
            cmd.arg("streamableHttp").env("PORT", port.to_string());
        })
        .await
    }

    /// Starts the bench's dual-era echo fake (its port as argument).
    pub async fn start_era_echo(node: &Path, script: &Path, log: PathBuf) -> Result<Self> {
        Self::start_script(node, script, "era-echo", log, |cmd, port| {
            cmd.arg(port.to_string());
        })
        .await
    }

    async fn start_script(
        node: &Path,
        script: &Path,
        name: &'static str,
        log: PathBuf,
        args: impl FnOnce(&mut Command, u16),
    ) -> Result<Self> {
        let port = free_port()?;
        let stderr = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut cmd = Command::new(node);
        cmd.arg(script);
        args(&mut cmd, port);
        let child = cmd
            .stdin(Stdio::null())
            // It logs a line per request on stdout; a file or pipe would
            // add that write to every request of every subject.
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {} {}", node.display(), script.display()))?;
        let mut server = Self { child, port, log, name };
        let deadline = Instant::now() + START_LIMIT;
        loop {
            server.check()?;
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not listen on port {port} within {} s; {}",
                    server.name,
                    START_LIMIT.as_secs(),
                    stderr_tail(&server.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self) -> String {
        self.url_at("/mcp")
    }

    /// The URL of `path` on the server.
    pub fn url_at(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Fails when the server is no longer running.
    pub fn check(&mut self) -> Result<()> {
        if let Some(status) = self
            .child
            .try_wait()
            .with_context(|| format!("cannot check on {}", self.name))?
        {
            bail!("{} exited ({status}); {}", self.name, stderr_tail(&self.log));
        }
        Ok(())
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// A port nothing listens on now (the OS's pick, released at once).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}
