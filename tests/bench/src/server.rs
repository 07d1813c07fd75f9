//! The remote end: the official `@modelcontextprotocol/server-everything` in
//! Streamable HTTP mode on a free loopback port, one process for the whole
//! benchmark, shared by every subject.

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
}

impl Everything {
    /// Starts the server and waits until it accepts connections.
    pub async fn start(node: &Path, script: &Path, log: PathBuf) -> Result<Self> {
        let port = free_port()?;
        let stderr = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(node)
            .arg(script)
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            // It logs a line per request on stdout; a file or pipe would
            // add that write to every request of every subject.
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {} {}", node.display(), script.display()))?;
        let mut server = Self { child, port, log };
        let deadline = Instant::now() + START_LIMIT;
        loop {
            server.check()?;
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!(
                    "server-everything did not listen on port {port} within {} s; {}",
                    START_LIMIT.as_secs(),
                    stderr_tail(&server.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// Fails when the server is no longer running.
    pub fn check(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait().context("cannot check on server-everything")? {
            bail!("server-everything exited ({status}); {}", stderr_tail(&self.log));
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
