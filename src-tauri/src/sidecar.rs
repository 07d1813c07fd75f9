//! Running the `tether` sidecar for everything that touches the keychain.
//!
//! The app never opens the keychain itself: signing in, signing out,
//! storing a token, removing a server and importing mcp-remote entries
//! (which moves their tokens) are done by `tether`, the program Claude
//! Desktop launches, so that one executable owns every keychain item (on
//! macOS another program would raise an "allow access?" prompt). What to
//! run is a `SidecarCommand` (its arguments, its stdin, its time limit), and
//! the answer is read back as the type the command prints with `--json`;
//! a failure is its JSON `Failure`, never text scraped from stderr.

use std::process::Stdio;

use serde::de::DeserializeOwned;
use tether::contract::{Failure, SidecarCommand};
use tokio::io::AsyncWriteExt;

use crate::context::AppContext;
use crate::service::{Result, ServiceError};

/// Runs `command` and reads its answer as `T`.
pub async fn run<T: DeserializeOwned>(ctx: &AppContext, command: &SidecarCommand) -> Result<T> {
    let name = command.name();
    let mut cmd = tokio::process::Command::new(&ctx.sidecar);
    cmd.args(command.argv())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(home) = &ctx.tether_home {
        cmd.env("TETHER_HOME", home);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| ServiceError::Sidecar(format!("cannot run {}: {e}", ctx.sidecar.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        if let Some(secret) = command.stdin() {
            // A token typed in the window goes through a pipe, never an argument.
            let write = async {
                stdin.write_all(secret.expose().as_bytes()).await?;
                stdin.write_all(b"\n").await
            };
            write
                .await
                .map_err(|e| ServiceError::Sidecar(format!("cannot talk to `tether {name}`: {e}")))?;
        }
        drop(stdin);
    }
    let limit = command.timeout();
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| ServiceError::Sidecar(format!("`tether {name}` did not finish within {} s", limit.as_secs())))?
        .map_err(|e| ServiceError::Sidecar(format!("`tether {name}` failed: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code().is_some_and(|c| command.answers_with(c)) {
        return answer(name, &stdout);
    }
    Err(ServiceError::Sidecar(failure(
        &stdout,
        &String::from_utf8_lossy(&out.stderr),
    )))
}

/// The answer on stdout of a run whose exit code means one. A command that
/// answers with a non-zero code too (`install` exits 1 with its report)
/// prints a `Failure` instead when it could not start: that is the failure.
fn answer<T: DeserializeOwned>(name: &str, stdout: &str) -> Result<T> {
    serde_json::from_str(stdout).map_err(|e| match serde_json::from_str::<Failure>(stdout.trim()) {
        Ok(f) => ServiceError::Sidecar(f.error.message),
        Err(_) => ServiceError::Sidecar(format!("unreadable answer from `tether {name}`: {e}")),
    })
}

/// The sentence of a failed run: its JSON `Failure` on stdout, or (when it
/// could not even say that, e.g. a crash or a usage error) the last line it
/// wrote to stderr.
fn failure(stdout: &str, stderr: &str) -> String {
    if let Ok(f) = serde_json::from_str::<Failure>(stdout.trim()) {
        return f.error.message;
    }
    stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
        .unwrap_or_else(|| "tether failed without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_install_that_exits_1_is_its_report_or_else_its_failure() {
        use tether::contract::InstallReport;
        let report = r#"{"installed":[],"errors":[{"client":"cursor","message":"Cursor cannot run a program"}]}"#;
        let r: InstallReport = answer("install", report).unwrap();
        assert_eq!(r.errors[0].client, "cursor");
        let failed = r#"{"error":{"message":"no server is named \"x\"; an HTTP entry needs its URL"}}"#;
        let e = answer::<InstallReport>("install", failed).unwrap_err();
        assert_eq!(e.to_string(), "no server is named \"x\"; an HTTP entry needs its URL");
        let e = answer::<InstallReport>("install", "garbage").unwrap_err();
        assert!(
            e.to_string().starts_with("unreadable answer from `tether install`"),
            "{e}"
        );
    }

    #[test]
    fn a_failure_is_read_from_its_json_and_else_from_the_last_line() {
        let json = r#"{"error":{"message":"no server is named \"x\""}}"#;
        assert_eq!(failure(json, "tether: error: ignored\n"), "no server is named \"x\"");
        assert_eq!(failure("", "something broke\n\n"), "something broke");
        assert_eq!(failure("", ""), "tether failed without a message");
    }
}
