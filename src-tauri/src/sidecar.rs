//! Running the `tether` sidecar for everything that touches the keychain.
//!
//! The app never opens the keychain itself: signing in, signing out, storing
//! a token, removing a server and importing mcp-remote entries (which moves
//! their tokens) are done by `tether`, the program Claude Desktop launches,
//! so that one executable owns every keychain item (on macOS another program
//! would raise an "allow access?" prompt). Errors come back as the sidecar's
//! own sentence from stderr.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::context::AppContext;

/// What a sidecar run printed.
pub struct Output {
    pub stdout: String,
}

/// Runs `tether <args>`, writing `input` to its stdin, within `timeout`.
pub async fn run(ctx: &AppContext, args: &[&str], input: Option<&str>, timeout: Duration) -> Result<Output, String> {
    run_accepting(ctx, args, input, timeout, &[0]).await
}

/// Like [`run`], with the exit codes that still mean an answer (`tether
/// doctor` exits 1 for warnings and 2 for errors, with its report on stdout).
pub async fn run_accepting(
    ctx: &AppContext,
    args: &[&str],
    input: Option<&str>,
    timeout: Duration,
    ok_codes: &[i32],
) -> Result<Output, String> {
    let mut cmd = tokio::process::Command::new(&ctx.sidecar);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(home) = &ctx.tether_home {
        cmd.env("TETHER_HOME", home);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", ctx.sidecar.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        if let Some(text) = input {
            // A token typed in the window goes through a pipe, never an argument.
            stdin.write_all(text.as_bytes()).await.map_err(|e| e.to_string())?;
            stdin.write_all(b"\n").await.map_err(|e| e.to_string())?;
        }
        drop(stdin);
    }
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| {
            format!(
                "`tether {}` did not finish within {} s",
                args.first().unwrap_or(&""),
                timeout.as_secs()
            )
        })?
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.code().is_some_and(|c| ok_codes.contains(&c)) {
        Ok(Output { stdout })
    } else {
        Err(error_sentence(&String::from_utf8_lossy(&out.stderr)))
    }
}

/// The sidecar's error line, without its prefix.
fn error_sentence(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("tether: error: "))
        .map(str::to_owned)
        .or_else(|| {
            stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_owned())
        })
        .unwrap_or_else(|| "tether failed without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_sentence_is_the_last_error_line() {
        assert_eq!(
            error_sentence(" INFO x\ntether: error: no server is named \"x\"\n"),
            "no server is named \"x\""
        );
        assert_eq!(error_sentence("something broke\n\n"), "something broke");
        assert_eq!(error_sentence(""), "tether failed without a message");
    }
}
