//! What the `tether` command says, all through here.
//!
//! stdout carries a command's result (for `run`: JSON-RPC, and nothing from
//! here ever); stderr carries what a person reads. Errors and warnings get
//! the `tether:` prefix that Claude Desktop's log and a terminal both show;
//! with `--json`, an error is also printed on stdout as a `Failure`, for
//! the app and scripts.

use std::fmt::Display;

use serde::Serialize;
use tether::contract::Failure;

/// A line for the person (stderr).
pub fn say(text: impl Display) {
    eprintln!("{text}");
}

/// A warning for the person (stderr).
pub fn warn(text: impl Display) {
    eprintln!("tether: warning: {text}");
}

/// An error for the person (stderr).
pub fn error(text: impl Display) {
    eprintln!("tether: error: {text}");
}

/// A command's result (stdout). `run` never calls it: there, stdout is
/// the JSON-RPC channel.
#[allow(clippy::print_stdout)]
pub fn print(text: impl Display) {
    println!("{text}");
}

/// A command's result as JSON (stdout).
pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    print(serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A failed command: the error on stderr and, with `--json`, as a
/// `Failure` on stdout.
pub fn failed(e: &anyhow::Error, json: bool) {
    let message = format!("{e:#}");
    error(&message);
    if json && let Ok(text) = serde_json::to_string(&Failure::new(message)) {
        print(text);
    }
}
