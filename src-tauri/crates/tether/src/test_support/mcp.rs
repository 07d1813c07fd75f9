//! A fake MCP server speaking Streamable HTTP (MCP 2025-11-25 §"Streamable
//! HTTP"), for fault injection in unit tests.
//!
//! `initialize` opens a session (`Mcp-Session-Id: s-<n>`) and answers with
//! protocol version [`SERVER_VERSION`]; every later POST must carry the live
//! session id, else 404 (an expired session) or 400 (none). Requests are
//! answered with JSON, or with an SSE stream when asked; `hang` gets a stream
//! that never answers, `slow` waits until the test releases it. GET is 405
//! (no server-initiated stream), DELETE ends the session. With a required
//! token, a request without `Authorization: Bearer <token>` gets 401 and a
//! challenge. Every request is recorded.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::http::{Body, FakeServer, Seen, empty, event, json as json_response, sse};
use crate::sync::lock;

/// The protocol version the fake answers `initialize` with.
pub const SERVER_VERSION: &str = "2025-06-18";
/// The challenge of its 401.
pub const CHALLENGE: &str = r#"Bearer error="invalid_token", scope="mcp:tools""#;

#[derive(Default)]
struct Inner {
    seen: Vec<Seen>,
    sessions: u32,
    live: Option<String>,
    required_token: Option<String>,
    sse_answers: bool,
    always_404: bool,
    /// Streams that stay open without an answer (`hang`).
    held: Vec<tokio::sync::mpsc::UnboundedSender<Bytes>>,
}

struct Shared {
    inner: Mutex<Inner>,
    /// How many requests were seen: tests wait on it.
    count: watch::Sender<usize>,
    /// Set when the test lets `slow` requests be answered.
    release: watch::Sender<bool>,
}

/// The fake server.
pub struct FakeMcp {
    server: FakeServer,
    shared: Arc<Shared>,
}

impl FakeMcp {
    /// Starts the fake on a free port.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
            count: watch::Sender::new(0),
            release: watch::Sender::new(false),
        });
        let s = shared.clone();
        let server = FakeServer::start(move |seen| handle(s.clone(), seen)).await;
        Self { server, shared }
    }

    /// The MCP endpoint.
    pub fn url(&self) -> String {
        format!("{}/mcp", self.server.origin())
    }

    /// Refuses requests without `Authorization: Bearer <token>`.
    pub fn require_token(&self, token: &str) {
        lock(&self.shared.inner).required_token = Some(token.to_owned());
    }

    /// Answers requests on an SSE stream (a progress notification, then
    /// the answer) instead of a JSON body.
    pub fn answer_with_sse(&self) {
        lock(&self.shared.inner).sse_answers = true;
    }

    /// Forgets the live session: its next request gets 404.
    pub fn expire_sessions(&self) {
        lock(&self.shared.inner).live = None;
    }

    /// Answers 404 to every request on a session, even a new one.
    pub fn always_404(&self) {
        lock(&self.shared.inner).always_404 = true;
    }

    /// Lets `slow` requests be answered.
    pub fn release_slow(&self) {
        self.shared.release.send_replace(true);
    }

    /// Every request seen, in order.
    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.shared.inner).seen.clone()
    }

    /// The POSTs of JSON-RPC method `method`, in order.
    pub fn rpc(&self, method: &str) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|s| s.method == Method::POST && s.rpc_method().as_deref() == Some(method))
            .collect()
    }

    /// The requests of HTTP method `method`.
    pub fn with_method(&self, method: Method) -> Vec<Seen> {
        self.requests().into_iter().filter(|s| s.method == method).collect()
    }

    /// Waits until a request matching `pred` has been seen.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Seen) -> bool) -> Seen {
        let mut rx = self.shared.count.subscribe();
        super::within(what, async {
            loop {
                if let Some(s) = self.requests().into_iter().find(|s| pred(s)) {
                    return s;
                }
                rx.changed().await.expect("the fake is running");
            }
        })
        .await
    }
}

fn answer(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

async fn handle(shared: Arc<Shared>, seen: Seen) -> Response<Body> {
    let response = respond(&shared, &seen);
    {
        lock(&shared.inner).seen.push(seen.clone());
        shared.count.send_modify(|n| *n += 1);
    }
    match response {
        Reply::Now(r) => r,
        Reply::Slow(id) => {
            let mut rx = shared.release.subscribe();
            let _ = rx.wait_for(|released| *released).await;
            json_response(StatusCode::OK, &answer(&id, json!({"slow": true})))
        }
    }
}

enum Reply {
    Now(Response<Body>),
    Slow(Value),
}

fn respond(shared: &Shared, seen: &Seen) -> Reply {
    let mut inner = lock(&shared.inner);
    if let Some(token) = &inner.required_token
        && seen.header("authorization") != Some(format!("Bearer {token}"))
    {
        let mut r = json_response(StatusCode::UNAUTHORIZED, &json!({"error": "invalid_token"}));
        r.headers_mut()
            .insert("www-authenticate", HeaderValue::from_static(CHALLENGE));
        return Reply::Now(r);
    }
    let session = seen.header("mcp-session-id");
    match seen.method {
        Method::GET => return Reply::Now(empty(StatusCode::METHOD_NOT_ALLOWED)),
        Method::DELETE => {
            return Reply::Now(if session.is_some() && session == inner.live {
                inner.live = None;
                empty(StatusCode::OK)
            } else {
                empty(StatusCode::NOT_FOUND)
            });
        }
        Method::POST => {}
        _ => return Reply::Now(empty(StatusCode::METHOD_NOT_ALLOWED)),
    }
    let body = seen.json();
    let id = body.get("id").cloned();
    let method = seen.rpc_method();
    if method.as_deref() == Some("initialize") {
        inner.sessions += 1;
        let sid = format!("s-{}", inner.sessions);
        inner.live = Some(sid.clone());
        let result = json!({
            "protocolVersion": SERVER_VERSION,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "fake-mcp", "version": "1"},
        });
        let mut r = json_response(StatusCode::OK, &answer(&id.unwrap_or(Value::Null), result));
        r.headers_mut()
            .insert("mcp-session-id", HeaderValue::from_str(&sid).expect("a header value"));
        return Reply::Now(r);
    }
    let Some(session) = session else {
        return Reply::Now(json_response(
            StatusCode::BAD_REQUEST,
            &json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32000, "message": "no session id"}}),
        ));
    };
    if inner.always_404 || Some(&session) != inner.live.as_ref() {
        return Reply::Now(empty(StatusCode::NOT_FOUND));
    }
    // Notifications and the client's responses are accepted with 202.
    let (Some(id), Some(method)) = (id, method) else {
        return Reply::Now(empty(StatusCode::ACCEPTED));
    };
    match method.as_str() {
        "hang" => {
            let (tx, r) = sse();
            inner.held.push(tx);
            Reply::Now(r)
        }
        "slow" => Reply::Slow(id),
        _ => {
            let result = answer(&id, json!({"echo": method, "session": session}));
            if inner.sse_answers {
                let (tx, r) = sse();
                let progress = json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 1}});
                let _ = tx.send(event(None, &progress.to_string()));
                let _ = tx.send(event(Some("message"), &result.to_string()));
                Reply::Now(r) // the stream ends when `tx` is dropped
            } else {
                Reply::Now(json_response(StatusCode::OK, &result))
            }
        }
    }
}
