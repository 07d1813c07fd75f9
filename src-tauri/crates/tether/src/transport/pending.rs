//! What the client hears while the first sign-in is still in the browser.
//!
//! Claude Desktop gives a server about 60 seconds to answer `initialize`,
//! and a first sign-in (SSO, MFA, reading the consent page) often takes
//! longer. Rather than let the connection die, the bridge answers
//! `initialize` itself: with the server's own answer from the last
//! successful connection when there is one, else a minimal one that offers
//! tools. Until the sign-in completes, `tools/list` offers a single tool that
//! says what to do (and opens the browser again when called), listings are
//! empty and `ping` is answered. When the sign-in completes, the bridge
//! replays the client's own `initialize` to the server and sends
//! `notifications/tools/list_changed` (and the prompts and resources ones the
//! server supports), so the client lists the real tools (MCP 2025-11-25
//! §"Tools: List Changed Notification").

use bytes::Bytes;
use serde_json::{Value, json};

use crate::jsonrpc::{self, Id, Kind, Message};

/// The name of the tool offered while sign-in is pending.
pub const SIGN_IN_TOOL: &str = "tether_sign_in";

/// The pending state of one session.
pub struct Pending {
    label: String,
    /// The client's own `initialize`, replayed once signed in.
    pub initialize: Message,
    /// Its `notifications/initialized`, when it came.
    pub initialized: Option<Message>,
    /// The result the client was given.
    result: Value,
}

impl Pending {
    /// Starts answering for `label`, from the client's `initialize` and the
    /// server's last answer to it (`cached`), if any.
    pub fn new(label: &str, initialize: Message, cached: Option<&Value>) -> Self {
        let requested = requested_version(&initialize.bytes);
        let result = initialize_result(label, cached, requested.as_deref());
        Self {
            label: label.to_owned(),
            initialize,
            initialized: None,
            result,
        }
    }

    /// The answer to the client's `initialize`.
    pub fn initialize_answer(&self, id: &Id) -> Bytes {
        result_line(id, &self.result)
    }

    /// The capabilities the client was told about.
    pub fn capabilities(&self) -> &Value {
        &self.result["capabilities"]
    }

    /// The answer to a request while pending; `hint` is where the sign-in
    /// waits (the authorization server's host).
    pub fn answer(&self, msg: &Message, hint: Option<&str>) -> Option<Bytes> {
        let [Kind::Request { id, method }] = msg.parts.as_slice() else {
            return None;
        };
        let result = match method.as_str() {
            "ping" => json!({}),
            "tools/list" => json!({ "tools": [sign_in_tool(&self.label)] }),
            "prompts/list" => json!({ "prompts": [] }),
            "resources/list" => json!({ "resources": [] }),
            "resources/templates/list" => json!({ "resourceTemplates": [] }),
            "tools/call" => return Some(result_line(id, &sign_in_text(&self.label, hint))),
            "logging/setLevel" => json!({}),
            _ => {
                let text = format!("{} is not signed in yet; {}", self.label, what_to_do(hint));
                return Some(jsonrpc::error_reply(
                    Some(id),
                    jsonrpc::REMOTE_ERROR,
                    &text,
                    Some(json!({"reason": "sign-in-pending"})),
                ));
            }
        };
        Some(result_line(id, &result))
    }

    /// The notifications that tell the client to list again, for the
    /// capabilities it was told about.
    pub fn list_changed(&self) -> Vec<Bytes> {
        let caps = self.capabilities();
        ["tools", "prompts", "resources"]
            .into_iter()
            .filter(|k| caps.get(*k).is_some())
            .map(|k| {
                Bytes::from(format!(
                    r#"{{"jsonrpc":"2.0","method":"notifications/{k}/list_changed"}}"#
                ))
            })
            .collect()
    }
}

fn result_line(id: &Id, result: &Value) -> Bytes {
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{}}}"#,
        id.as_json(),
        result
    ))
}

fn requested_version(init: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(init).ok()?;
    v.pointer("/params/protocolVersion")?.as_str().map(str::to_owned)
}

/// The `initialize` result given while sign-in is pending: the cached one
/// (with `listChanged` set, so the client lists again), else a minimal one.
pub fn initialize_result(label: &str, cached: Option<&Value>, requested: Option<&str>) -> Value {
    let mut result = match cached {
        Some(c) if c.get("capabilities").is_some_and(Value::is_object) => c.clone(),
        _ => json!({
            "protocolVersion": requested.unwrap_or("2025-06-18"),
            "capabilities": { "tools": {} },
            "serverInfo": { "name": format!("{label} (via Tether)"), "version": env!("CARGO_PKG_VERSION") },
        }),
    };
    if let Some(caps) = result.get_mut("capabilities").and_then(Value::as_object_mut) {
        caps.entry("tools").or_insert_with(|| json!({}));
        for k in ["tools", "prompts", "resources"] {
            if let Some(Value::Object(c)) = caps.get_mut(k) {
                c.insert("listChanged".into(), true.into());
            }
        }
    }
    let note = format!("Sign-in to {label} is pending: its tools appear once you have signed in in your browser.");
    result["instructions"] = match result.get("instructions").and_then(Value::as_str) {
        Some(i) => format!("{note}\n\n{i}").into(),
        None => note.into(),
    };
    result
}

fn sign_in_tool(label: &str) -> Value {
    json!({
        "name": SIGN_IN_TOOL,
        "title": format!("Sign in to {label}"),
        "description": format!(
            "{label} needs you to sign in before its tools can be used. Calling this tool opens the sign-in page in your browser again and says where to go if it did not open. The tools appear by themselves once you are signed in."
        ),
        "inputSchema": { "type": "object", "properties": {} },
    })
}

fn sign_in_text(label: &str, hint: Option<&str>) -> Value {
    json!({
        "content": [{ "type": "text", "text": format!("Sign-in to {label} is waiting for you: {}", what_to_do(hint)) }],
    })
}

fn what_to_do(hint: Option<&str>) -> String {
    match hint {
        Some(host) => format!(
            "finish signing in in the browser window Tether opened (at {host}); if none opened, call this tool again or run `tether login` in a terminal"
        ),
        None => "a browser window is opening to sign in; its tools appear once you are done".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(s: &str) -> Message {
        jsonrpc::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
    }

    #[test]
    fn without_a_cache_initialize_is_answered_with_tools_that_can_change() {
        let init = msg(
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
        );
        let id = init.request_ids().next().unwrap().clone();
        let p = Pending::new("Linear", init, None);
        let answer: Value = serde_json::from_slice(&p.initialize_answer(&id)).unwrap();
        assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");
        assert_eq!(
            answer["result"]["capabilities"],
            json!({"tools": {"listChanged": true}})
        );
        assert!(
            answer["result"]["instructions"]
                .as_str()
                .unwrap()
                .contains("Sign-in to Linear is pending")
        );
        assert_eq!(
            p.list_changed(),
            vec![Bytes::from_static(
                br#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#
            )]
        );
    }

    #[test]
    fn a_cached_answer_keeps_the_server_identity_and_capabilities() {
        let cached = json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}, "prompts": {"listChanged": false}, "logging": {}}, "serverInfo": {"name": "linear", "version": "9"}});
        let r = initialize_result("Linear", Some(&cached), Some("2025-11-25"));
        assert_eq!(r["protocolVersion"], "2025-06-18");
        assert_eq!(r["serverInfo"]["name"], "linear");
        assert_eq!(r["capabilities"]["prompts"]["listChanged"], true);
        assert_eq!(r["capabilities"]["logging"], json!({}));
    }

    #[test]
    fn requests_while_pending_get_the_sign_in_tool_or_a_clear_error() {
        let init = msg(r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#);
        let p = Pending::new("Linear", init, None);
        let list: Value = serde_json::from_slice(
            &p.answer(&msg(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#), None)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(list["result"]["tools"][0]["name"], SIGN_IN_TOOL);
        let call: Value = serde_json::from_slice(
            &p.answer(
                &msg(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"tether_sign_in"}}"#),
                Some("https://as/authorize?x"),
            )
            .unwrap(),
        )
        .unwrap();
        assert!(
            call["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("https://as/authorize?x")
        );
        let other: Value = serde_json::from_slice(
            &p.answer(&msg(r#"{"jsonrpc":"2.0","id":3,"method":"completion/complete"}"#), None)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(other["error"]["data"]["reason"], "sign-in-pending");
        assert!(
            p.answer(&msg(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#), None)
                .is_none()
        );
    }
}
