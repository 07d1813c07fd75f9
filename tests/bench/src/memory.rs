//! Memory per bridge as the standard defines it: the proportional set size
//! (PSS) of each of several bridges running at once, because Claude Desktop
//! starts one bridge per configured server and keeps them all alive. PSS
//! charges each shared page (the binary's text, shared libraries) to the
//! processes that map it in equal parts, so N bridges' PSS adds up to what
//! they cost the computer together, which one process's RSS does not say.
//!
//! Per subject (tether, mcp-remote, the `--baseline` tether when given):
//! start `--concurrent` bridges at once against the same server-everything,
//! drive each through the same stdio driver as the timed runs
//! ([`crate::stdio::Open`]): `initialize`, `notifications/initialized`,
//! `tools/list` and [`CALLS`] echo calls; then, with all of them alive and
//! idle, read `Pss`, `Private_Clean` + `Private_Dirty` and `Rss` from
//! `/proc/<pid>/smaps_rollup` (Linux 4.14 or later) of each bridge process
//! (for mcp-remote, node itself: the driver runs `node proxy.js`, no npx);
//! then close every bridge's input and require a clean exit of each.
//!
//! Measured once, after the timed rounds, not in every run: what idle
//! bridges hold is a steady state, not a race against machine noise, so
//! repeating it buys little, while N more mcp-remotes per run (each a node
//! process of some 100 MB and a few hundred ms of CPU to start) would add
//! seconds to every run. The spread over the N bridges is in the JSON.
//!
//! Caveat on fairness: server-everything runs on the same node binary as
//! mcp-remote, so the node's shared pages are divided by N + 1, not N; the
//! era echo server (node too) is stopped before this phase for that reason.
//! The tether binary is shared by the N tethers alone.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::mcp::Messages;
use crate::stdio::{Bridge, Open};

/// Echo calls per bridge before it is measured.
pub const CALLS: usize = 20;

/// A pause once every bridge has answered, so that what a bridge does right
/// after an answer (freeing buffers, a runtime's timers) is done.
const IDLE: Duration = Duration::from_millis(500);

/// One subject's figures, one value per bridge, in MB of 2^20 bytes.
#[derive(Clone, Debug, Default)]
pub struct Footprint {
    pub pss_mb: Vec<f64>,
    pub private_mb: Vec<f64>,
    pub rss_mb: Vec<f64>,
}

/// Runs `n` copies of `bridge` at once and measures each while all are idle.
/// `name` names the subject in the stderr files in `scratch` and in errors.
pub async fn concurrent(bridge: &Bridge, msgs: &Messages, n: usize, scratch: &Path, name: &str) -> Result<Footprint> {
    // All started before any is driven: they start up side by side, as
    // Claude Desktop's do.
    let mut open = Vec::with_capacity(n);
    for i in 0..n {
        let stderr = scratch.join(format!("{name}-concurrent-{i}.stderr"));
        open.push(Open::start(bridge, &stderr).with_context(|| format!("{name} bridge {}/{n}", i + 1))?);
    }
    for (i, bridge) in open.iter_mut().enumerate() {
        bridge
            .session(msgs, CALLS)
            .await
            .with_context(|| format!("{name} bridge {}/{n}", i + 1))?;
    }
    tokio::time::sleep(IDLE).await;
    let mut footprint = Footprint::default();
    for (i, bridge) in open.iter_mut().enumerate() {
        bridge.check().with_context(|| format!("{name} bridge {}/{n}", i + 1))?;
        let rollup = Rollup::of(bridge.pid())?;
        footprint.pss_mb.push(rollup.pss_mb);
        footprint.private_mb.push(rollup.private_mb);
        footprint.rss_mb.push(rollup.rss_mb);
    }
    // Every input closed first, so they wind down together; then each must
    // have exited cleanly.
    let mut exits = Vec::with_capacity(n);
    for bridge in open {
        exits.push(bridge.close());
    }
    for (i, exit) in exits.into_iter().enumerate() {
        exit.await.with_context(|| format!("{name} bridge {}/{n}", i + 1))?;
    }
    Ok(footprint)
}

/// The figures of one process's `smaps_rollup`, in MB.
#[derive(Debug, PartialEq)]
struct Rollup {
    pss_mb: f64,
    private_mb: f64,
    rss_mb: f64,
}

impl Rollup {
    fn of(pid: u32) -> Result<Self> {
        let path = format!("/proc/{pid}/smaps_rollup");
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        Self::parse(&text).with_context(|| format!("in {path}"))
    }

    fn parse(text: &str) -> Result<Self> {
        let kb = |field: &str| -> Result<f64> {
            text.lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    (name == field).then_some(value)
                })
                .and_then(|v| v.trim().strip_suffix("kB"))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .with_context(|| format!("no {field} line"))
        };
        Ok(Self {
            pss_mb: kb("Pss")? / 1024.0,
            private_mb: (kb("Private_Clean")? + kb("Private_Dirty")?) / 1024.0,
            rss_mb: kb("Rss")? / 1024.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollup_reads_pss_private_and_rss_and_not_their_namesakes() {
        let text = "\
55d0c0a00000-7ffd5b3f5000 ---p 00000000 00:00 0                          [rollup]
Rss:                8192 kB
Pss:                3072 kB
Pss_Dirty:           512 kB
Pss_Anon:           1024 kB
Pss_File:           2048 kB
Shared_Clean:       5120 kB
Shared_Dirty:          0 kB
Private_Clean:       512 kB
Private_Dirty:      1536 kB
";
        let r = Rollup::parse(text).unwrap();
        assert_eq!(
            r,
            Rollup {
                pss_mb: 3.0,
                private_mb: 2.0,
                rss_mb: 8.0
            }
        );
    }

    #[test]
    fn a_rollup_without_pss_is_an_error() {
        assert!(Rollup::parse("Rss: 8192 kB\nPrivate_Clean: 0 kB\nPrivate_Dirty: 0 kB\n").is_err());
    }

    #[test]
    fn this_process_has_a_rollup_with_pss_at_most_rss() {
        let r = Rollup::of(std::process::id()).unwrap();
        assert!(r.pss_mb > 0.0 && r.pss_mb <= r.rss_mb, "{r:?}");
        assert!(r.private_mb <= r.rss_mb, "{r:?}");
    }
}
