//! What the client hears while the first sign-in is still in the browser.
//!
//! Claude Desktop gives a server about 60 seconds to answer `initialize`,
//! and a first sign-in (SSO, MFA, reading the consent page) often takes
//! longer. Rather than let the connection die, the bridge answers
//! `initialize` itself: with the server's own answer from the last
//! successful connection when there is one, else a minimal one that offers
//! tools. Until the sign-in completes, `tools/list` offers a single tool that
//! says what to do (calling it asks for the sign-in page: the one open is
//! named, else one is started, within the daily cap), listings are empty
//! and `ping` is answered. When a sign-in completes (whoever ran it: this
//! bridge's, another's, `tether login`, the app), the bridge
//! replays the client's own `initialize` to the server and sends
//! `notifications/tools/list_changed` (and the prompts and resources ones the
//! server supports), so the client lists the real tools (MCP 2025-11-25
//! §"Tools: List Changed Notification").

use bytes::Bytes;
use serde_json::{Value, json};

use crate::auth::SignInNotice;
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
    /// waits (the authorization server's host); `notice` what became of the
    /// sign-in tool's request, when it was called.
    pub fn answer(&self, msg: &Message, hint: Option<&str>, notice: Option<&SignInNotice>) -> Option<Bytes> {
        let [Kind::Request { id, method }] = msg.parts.as_slice() else {
            return None;
        };
        let result = match method.as_str() {
            "ping" => json!({}),
            "tools/list" => json!({ "tools": [sign_in_tool(&self.label)] }),
            "prompts/list" => json!({ "prompts": [] }),
            "resources/list" => json!({ "resources": [] }),
            "resources/templates/list" => json!({ "resourceTemplates": [] }),
            "tools/call" => return Some(result_line(id, &sign_in_text(&self.label, hint, notice))),
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

/// Whether `msg` calls the sign-in tool.
pub fn calls_sign_in_tool(msg: &Message) -> bool {
    matches!(msg.parts.as_slice(), [Kind::Request { method, .. }] if method == "tools/call")
        && serde_json::from_slice::<Value>(&msg.bytes)
            .ok()
            .and_then(|v| {
                v.pointer("/params/name")
                    .and_then(Value::as_str)
                    .map(|n| n == SIGN_IN_TOOL)
            })
            .unwrap_or(false)
}

/// The sign-in tool's answer when the sign-in completed while it asked.
pub fn signed_in_answer(id: &Id, label: &str) -> Bytes {
    result_line(
        id,
        &json!({
            "content": [{ "type": "text", "text": format!("Signed in to {label}: its tools are ready.") }],
        }),
    )
}

fn sign_in_tool(label: &str) -> Value {
    json!({
        "name": SIGN_IN_TOOL,
        "title": format!("Sign in to {label}"),
        "description": format!(
            "{label} needs you to sign in before its tools can be used. Call this tool only when the person asks to sign in: it opens the sign-in page in their browser (or says where the open one is). The tools appear by themselves once they are signed in."
        ),
        "inputSchema": { "type": "object", "properties": {} },
    })
}

fn sign_in_text(label: &str, hint: Option<&str>, notice: Option<&SignInNotice>) -> Value {
    let text = match notice {
        Some(SignInNotice::AlreadyOpen { host }) => format!(
            "Sign-in to {label} is waiting for you: {}",
            what_to_do(host.as_deref().or(hint))
        ),
        Some(SignInNotice::Started { host }) => format!(
            "Sign-in to {label}: Tether opened the sign-in page in your browser{}. Its tools appear here once you are signed in.",
            host.as_deref().map(|h| format!(" (at {h})")).unwrap_or_default()
        ),
        Some(SignInNotice::Refused(why)) => format!("Sign-in to {label}: Tether did not open the browser. {why}"),
        None => format!(
            "{label} is not signed in yet; call the {SIGN_IN_TOOL} tool when the person wants to sign in. {}",
            what_to_do(hint)
        ),
    };
    json!({ "content": [{ "type": "text", "text": text }] })
}

fn what_to_do(hint: Option<&str>) -> String {
    match hint {
        Some(host) => format!(
            "finish signing in in the browser window Tether opened (at {host}); if you closed it, run `tether login` in a terminal or choose Sign in in the Tether menu (it shows the same page again)"
        ),
        None => "its tools appear once you have signed in (from the Tether menu, or with `tether login` in a terminal)"
            .into(),
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
            &p.answer(&msg(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#), None, None)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(list["result"]["tools"][0]["name"], SIGN_IN_TOOL);
        let call_msg = msg(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"tether_sign_in"}}"#);
        assert!(calls_sign_in_tool(&call_msg));
        let text = |notice: SignInNotice| -> String {
            let v: Value = serde_json::from_slice(&p.answer(&call_msg, None, Some(&notice)).unwrap()).unwrap();
            v["result"]["content"][0]["text"].as_str().unwrap().to_owned()
        };
        let open = text(SignInNotice::AlreadyOpen {
            host: Some("as.example".into()),
        });
        assert!(
            open.contains("Sign-in to Linear is waiting for you") && open.contains("at as.example"),
            "{open}"
        );
        let started = text(SignInNotice::Started {
            host: Some("as.example".into()),
        });
        assert!(
            started.contains("opened the sign-in page in your browser (at as.example)"),
            "{started}"
        );
        let refused = text(SignInNotice::Refused("the browser was opened 3 times".into()));
        assert!(
            refused.contains("did not open the browser. the browser was opened 3 times"),
            "{refused}"
        );
        let other_tool = msg(r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo"}}"#);
        assert!(!calls_sign_in_tool(&other_tool));
        let v: Value = serde_json::from_slice(&p.answer(&other_tool, None, None).unwrap()).unwrap();
        assert!(
            v["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("call the tether_sign_in tool")
        );
        let other: Value = serde_json::from_slice(
            &p.answer(
                &msg(r#"{"jsonrpc":"2.0","id":3,"method":"completion/complete"}"#),
                None,
                None,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(other["error"]["data"]["reason"], "sign-in-pending");
        assert!(
            p.answer(
                &msg(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
                None,
                None
            )
            .is_none()
        );
    }
}
