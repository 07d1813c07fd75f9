//! The MCP messages every subject sends, built once before any clock starts,
//! and the checks on the answers, made after the clock has stopped.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The protocol version the bench's client speaks (and sends as
/// `MCP-Protocol-Version` on the direct subject's requests).
pub const PROTOCOL_VERSION: &str = "2025-06-18";
pub const INITIALIZE_ID: i64 = 0;
pub const TOOLS_LIST_ID: i64 = 1;
/// The first `tools/call` id; the calls count up from here.
const FIRST_CALL_ID: i64 = 2;
const ECHOED: &str = "Echo: hi";

/// The requests of one session, as compact JSON without a line ending.
pub struct Messages {
    pub initialize: String,
    pub initialized: String,
    pub tools_list: String,
    /// `(id, message)` of each `tools/call` of the echo tool.
    pub calls: Vec<(i64, String)>,
}

impl Messages {
    pub fn new(calls: u32) -> Self {
        let initialize = json!({
            "jsonrpc": "2.0",
            "id": INITIALIZE_ID,
            "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "tether-bench", "version": env!("CARGO_PKG_VERSION")},
            },
        });
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let tools_list = json!({"jsonrpc": "2.0", "id": TOOLS_LIST_ID, "method": "tools/list"});
        let calls = (FIRST_CALL_ID..FIRST_CALL_ID + i64::from(calls))
            .map(|id| {
                let call = json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"message": "hi"}},
                });
                (id, call.to_string())
            })
            .collect();
        Self {
            initialize: initialize.to_string(),
            initialized: initialized.to_string(),
            tools_list: tools_list.to_string(),
            calls,
        }
    }
}

/// Whether `msg` is the response to request `id` (and not a notification or
/// a request from the server, which a subject may send at any time).
pub fn answers(msg: &Value, id: i64) -> bool {
    msg.get("id").and_then(Value::as_i64) == Some(id) && (msg.get("result").is_some() || msg.get("error").is_some())
}

/// The `result` of a response, or the error the server (or bridge) sent.
pub fn result<'a>(msg: &'a Value, what: &str) -> Result<&'a Value> {
    if let Some(error) = msg.get("error") {
        bail!("{what} was answered with an error: {error}");
    }
    msg.get("result")
        .with_context(|| format!("{what} was answered without a result: {msg}"))
}

/// The `tools/list` answer names the echo tool.
pub fn check_tools(msg: &Value) -> Result<()> {
    let tools = result(msg, "tools/list")?
        .get("tools")
        .and_then(Value::as_array)
        .context("tools/list answered without a tools array")?;
    if !tools
        .iter()
        .any(|t| t.get("name").and_then(Value::as_str) == Some("echo"))
    {
        bail!("tools/list does not name the echo tool");
    }
    Ok(())
}

/// The echo tool answered with what it was given.
pub fn check_echo(msg: &Value) -> Result<()> {
    let text = result(msg, "tools/call echo")?
        .pointer("/content/0/text")
        .and_then(Value::as_str);
    if text != Some(ECHOED) {
        bail!("tools/call echo answered {msg}, not {ECHOED:?}");
    }
    Ok(())
}

/// A message cut to a length that fits in an error.
pub fn clip(text: &str) -> String {
    const MAX: usize = 300;
    let text = text.trim_end();
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}
