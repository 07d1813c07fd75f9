//! A fake MCP server speaking the deprecated HTTP+SSE transport (MCP
//! 2024-11-05 §"HTTP with SSE"), for unit tests.
//!
//! GET `/sse` opens the stream; its first event, `endpoint`, names where to
//! POST (a path on this server, or whatever URL the test chose, to test a
//! foreign origin). POSTs to `/messages` are accepted with 202 and answered
//! as `message` events on the stream. POST to `/sse` is 405, as on a server
//! that does not speak Streamable HTTP. Every request is recorded.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hyper::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::http::{Body, FakeServer, Seen, empty, event, sse};
use crate::sync::lock;

#[derive(Default)]
struct Inner {
    seen: Vec<Seen>,
    /// What the `endpoint` event says; `{origin}` is replaced by the
    /// server's own origin.
    endpoint: String,
    stream: Option<mpsc::UnboundedSender<Bytes>>,
}

struct Shared {
    inner: Mutex<Inner>,
}

/// The fake server.
pub struct FakeLegacySse {
    server: FakeServer,
    shared: Arc<Shared>,
}

impl FakeLegacySse {
    /// Starts the fake; its `endpoint` event says `endpoint` (`{origin}`
    /// stands for its own origin, `{port}` for its port).
    pub async fn start(endpoint: &str) -> Self {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
        });
        let s = shared.clone();
        let server = FakeServer::start(move |seen| {
            let s = s.clone();
            async move { handle(&s, seen) }
        })
        .await;
        lock(&shared.inner).endpoint = endpoint
            .replace("{origin}", &server.origin())
            .replace("{port}", &server.port().to_string());
        Self { server, shared }
    }

    /// The SSE URL (the server's MCP URL).
    pub fn url(&self) -> String {
        format!("{}/sse", self.server.origin())
    }

    /// Every request seen, in order.
    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.shared.inner).seen.clone()
    }

    /// The POSTs, in order.
    pub fn posts(&self) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|s| s.method == Method::POST)
            .collect()
    }
}

fn handle(shared: &Shared, seen: Seen) -> Response<Body> {
    let mut inner = lock(&shared.inner);
    inner.seen.push(seen.clone());
    let path = seen.target.split('?').next().unwrap_or_default().to_owned();
    match (&seen.method, path.as_str()) {
        (&Method::GET, "/sse") => {
            let (tx, r) = sse();
            let _ = tx.send(event(Some("endpoint"), &inner.endpoint));
            inner.stream = Some(tx);
            r
        }
        (&Method::POST, "/messages") => {
            let body = seen.json();
            if let (Some(id), Some(method)) = (body.get("id"), body.get("method").and_then(Value::as_str)) {
                let result = if method == "initialize" {
                    json!({"protocolVersion": "2024-11-05", "capabilities": {"tools": {}}, "serverInfo": {"name": "fake-sse", "version": "1"}})
                } else {
                    json!({"echo": method})
                };
                let msg = json!({"jsonrpc": "2.0", "id": id, "result": result});
                if let Some(tx) = &inner.stream {
                    let _ = tx.send(event(Some("message"), &msg.to_string()));
                }
            }
            empty(StatusCode::ACCEPTED)
        }
        (&Method::POST, "/sse") => empty(StatusCode::METHOD_NOT_ALLOWED),
        _ => empty(StatusCode::NOT_FOUND),
    }
}
