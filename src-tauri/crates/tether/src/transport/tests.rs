//! The transport through its seams: [`Remote`] driven the way the bridge
//! drives it (register, dispatch, read the replies channel), against the
//! fake Streamable HTTP and HTTP+SSE servers of `test_support`, with a fake
//! [`TokenSource`](crate::auth::TokenSource) for authorization.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use url::Url;

use super::Remote;
use super::replies::Replies;
use crate::auth::TokenSource;
use crate::config::{RunConfig, TransportMode};
use crate::jsonrpc;
use crate::test_support::legacy::FakeLegacySse;
use crate::test_support::mcp::{CHALLENGE, FakeMcp, SERVER_VERSION};
use crate::test_support::token_source::FakeTokenSource;
use crate::test_support::within;
use crate::transport::http::Http;

/// What the client asks for: a version other than the fake's, so a test
/// can tell the negotiated version from the requested one.
const CLIENT_VERSION: &str = "2025-11-25";

fn config(url: &str, transport: TransportMode, request_timeout: Duration) -> RunConfig {
    RunConfig {
        url: Url::parse(url).unwrap(),
        headers: Vec::new(),
        transport,
        protocol: crate::config::ProtocolMode::Auto,
        max_message_size: 1024 * 1024,
        request_timeout,
        connect_timeout: Duration::from_secs(5),
        sign_in_wait: Duration::from_secs(5),
    }
}

/// A [`Remote`] with the bridge's wiring, minus stdio.
struct Client {
    remote: Arc<Remote>,
    replies: Arc<Replies>,
    out: mpsc::Receiver<Bytes>,
}

impl Client {
    fn new(config: RunConfig, auth: Option<Arc<dyn TokenSource>>) -> Self {
        let http = Arc::new(Http::new(&config, auth).unwrap());
        let (tx, out) = mpsc::channel(64);
        let replies = Arc::new(Replies::new(tx));
        let remote = Remote::new(http, replies.clone(), config.transport, None, config.sign_in_wait);
        Self { remote, replies, out }
    }

    fn send(&self, line: Value) {
        let msg = jsonrpc::parse(Bytes::from(line.to_string())).unwrap();
        let awaiting = self.replies.register(&msg);
        self.remote.dispatch(msg, awaiting);
    }

    /// The next line the client is given.
    async fn next(&mut self) -> Value {
        let line = within("a reply", self.out.recv())
            .await
            .expect("the replies channel is open");
        serde_json::from_slice(&line).unwrap()
    }

    /// Sends `initialize` and `notifications/initialized`; returns the answer.
    async fn handshake(&mut self) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": CLIENT_VERSION, "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}));
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        let answer = self.next().await;
        assert_eq!(answer["id"], 0, "{answer}");
        // Requests start after the notification is delivered: once a ping
        // is answered, the handshake is over on the wire too.
        self.request(99, "ping");
        loop {
            let line = self.next().await;
            if line["id"] == 99 {
                break;
            }
            assert!(line["id"].is_null(), "only notifications before it: {line}");
        }
        answer
    }

    fn request(&self, id: u64, method: &str) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method}));
    }
}

fn http_only(url: &str) -> RunConfig {
    config(url, TransportMode::HttpOnly, Duration::from_secs(5))
}

#[tokio::test]
async fn initialize_opens_a_session_and_later_requests_carry_its_id_and_the_negotiated_version() {
    let fake = FakeMcp::start().await;
    let mut client = Client::new(http_only(&fake.url()), None);
    let init = client.handshake().await;
    assert_eq!(init["result"]["protocolVersion"], SERVER_VERSION);
    client.request(1, "tools/list");
    let answer = client.next().await;
    assert_eq!(
        answer,
        json!({"jsonrpc": "2.0", "id": 1, "result": {"echo": "tools/list", "session": "s-1"}})
    );

    let init = &fake.rpc("initialize")[0];
    assert_eq!(init.header("mcp-session-id"), None, "initialize opens the session");
    for method in ["notifications/initialized", "tools/list"] {
        let seen = &fake.rpc(method)[0];
        assert_eq!(seen.header("mcp-session-id").as_deref(), Some("s-1"), "{method}");
        assert_eq!(
            seen.header("mcp-protocol-version").as_deref(),
            Some(SERVER_VERSION),
            "{method} carries the version the server chose, not the one asked for"
        );
        assert_eq!(
            seen.header("accept").as_deref(),
            Some("application/json, text/event-stream")
        );
    }
}

#[tokio::test]
async fn an_answer_on_an_sse_stream_is_forwarded_with_the_notifications_before_it() {
    let fake = FakeMcp::start().await;
    fake.answer_with_sse();
    let mut client = Client::new(http_only(&fake.url()), None);
    client.handshake().await;
    client.request(1, "tools/call");
    let progress = client.next().await;
    assert_eq!(progress["method"], "notifications/progress");
    let answer = client.next().await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["echo"], "tools/call");
}

#[tokio::test]
async fn a_404_on_a_live_session_replays_initialize_and_retries_the_request_once() {
    let fake = FakeMcp::start().await;
    let mut client = Client::new(http_only(&fake.url()), None);
    client.handshake().await;
    fake.expire_sessions();
    client.request(1, "tools/list");
    let answer = client.next().await;
    assert_eq!(
        answer,
        json!({"jsonrpc": "2.0", "id": 1, "result": {"echo": "tools/list", "session": "s-2"}}),
        "answered on a new session, and the replayed initialize's answer is not shown to the client"
    );
    assert_eq!(fake.rpc("initialize").len(), 2, "initialize was replayed");
    let initialized = fake.rpc("notifications/initialized");
    assert_eq!(initialized.len(), 2, "and notifications/initialized after it");
    assert_eq!(initialized[1].header("mcp-session-id").as_deref(), Some("s-2"));
    let lists = fake.rpc("tools/list");
    assert_eq!(lists.len(), 2, "one failed try, one retry");
    assert_eq!(lists[0].header("mcp-session-id").as_deref(), Some("s-1"));
    assert_eq!(lists[1].header("mcp-session-id").as_deref(), Some("s-2"));
    assert_eq!(lists[1].header("mcp-protocol-version").as_deref(), Some(SERVER_VERSION));
}

#[tokio::test]
async fn a_session_that_is_lost_again_after_renewal_fails_the_request_instead_of_looping() {
    let fake = FakeMcp::start().await;
    let mut client = Client::new(http_only(&fake.url()), None);
    client.handshake().await;
    fake.always_404();
    client.request(1, "tools/list");
    let answer = client.next().await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["error"]["code"], jsonrpc::REMOTE_ERROR);
    assert_eq!(answer["error"]["data"]["reason"], "http-status");
    assert!(
        answer["error"]["message"].as_str().unwrap().contains("HTTP 404"),
        "{answer}"
    );
    assert_eq!(fake.rpc("tools/list").len(), 2, "retried once, not again");
    assert_eq!(fake.rpc("initialize").len(), 2);
}

#[tokio::test]
async fn a_401_asks_the_token_source_and_retries_with_the_new_token() {
    let fake = FakeMcp::start().await;
    fake.require_token("tok-2");
    let auth = Arc::new(FakeTokenSource::new(&["tok-1", "tok-2"]));
    let mut client = Client::new(http_only(&fake.url()), Some(auth.clone()));
    let init = client.handshake().await;
    assert_eq!(init["result"]["protocolVersion"], SERVER_VERSION);

    let sent: Vec<_> = fake
        .rpc("initialize")
        .iter()
        .map(|s| s.header("authorization"))
        .collect();
    assert_eq!(
        sent,
        vec![Some("Bearer tok-1".into()), Some("Bearer tok-2".into())],
        "the refused token, then the new one"
    );
    let (_, unauthorized, sign_in) = auth.calls();
    assert_eq!((unauthorized, sign_in), (1, 0), "one 401, no sign-in needed");
    assert_eq!(
        auth.rejected(),
        vec![Some("tok-1".into())],
        "the source is told which token failed"
    );
    assert_eq!(auth.challenges(), vec![Some(CHALLENGE.into())], "and the challenge");

    client.request(1, "tools/list");
    assert_eq!(client.next().await["result"]["echo"], "tools/list");
    assert_eq!(
        fake.rpc("tools/list")[0].header("authorization").as_deref(),
        Some("Bearer tok-2")
    );
}

#[tokio::test]
async fn a_401_that_needs_a_sign_in_waits_for_it_and_sends_the_message_again() {
    let fake = FakeMcp::start().await;
    fake.require_token("tok-2");
    let auth = Arc::new(FakeTokenSource::new(&["tok-1", "tok-2"]).require_sign_in());
    let mut client = Client::new(http_only(&fake.url()), Some(auth.clone()));
    let init = client.handshake().await;
    assert_eq!(init["result"]["protocolVersion"], SERVER_VERSION);
    let (_, unauthorized, sign_in) = auth.calls();
    assert_eq!((unauthorized, sign_in), (1, 1));
    assert_eq!(
        fake.rpc("initialize")
            .last()
            .and_then(|s| s.header("authorization"))
            .as_deref(),
        Some("Bearer tok-2")
    );
}

#[tokio::test]
async fn a_sign_in_that_fails_answers_the_request_with_an_auth_error() {
    let fake = FakeMcp::start().await;
    fake.require_token("tok-2");
    let auth = Arc::new(
        FakeTokenSource::new(&["tok-1", "tok-2"])
            .require_sign_in()
            .failing_sign_in(),
    );
    let mut client = Client::new(http_only(&fake.url()), Some(auth.clone()));
    client.request(0, "initialize");
    let answer = client.next().await;
    assert_eq!(answer["id"], 0);
    assert_eq!(answer["error"]["data"]["reason"], "auth", "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the fake authorization server said no")
    );
    assert_eq!(fake.rpc("initialize").len(), 1, "no retry without a token");
}

#[tokio::test]
async fn http_sse_posts_to_the_endpoint_the_server_named() {
    let fake = FakeLegacySse::start("/messages?sessionId=abc").await;
    let mut client = Client::new(
        config(&fake.url(), TransportMode::SseOnly, Duration::from_secs(5)),
        None,
    );
    let init = client.handshake().await;
    assert_eq!(init["result"]["protocolVersion"], "2024-11-05");
    client.request(1, "tools/list");
    assert_eq!(
        client.next().await,
        json!({"jsonrpc": "2.0", "id": 1, "result": {"echo": "tools/list"}})
    );
    let posts = fake.posts();
    assert_eq!(posts.len(), 4, "initialize, initialized, ping, tools/list");
    for p in &posts {
        assert_eq!(p.target, "/messages?sessionId=abc");
    }
    assert_eq!(
        fake.requests().iter().filter(|s| s.method == Method::GET).count(),
        1,
        "one stream"
    );
}

#[tokio::test]
async fn http_first_falls_back_to_http_sse_when_the_server_refuses_the_post() {
    let fake = FakeLegacySse::start("/messages?sessionId=abc").await;
    let mut client = Client::new(
        config(&fake.url(), TransportMode::HttpFirst, Duration::from_secs(5)),
        None,
    );
    let init = client.handshake().await;
    assert_eq!(init["result"]["protocolVersion"], "2024-11-05");
    let targets: Vec<_> = fake
        .requests()
        .iter()
        .map(|s| format!("{} {}", s.method, s.target))
        .collect();
    assert_eq!(&targets[..3], ["POST /sse", "GET /sse", "POST /messages?sessionId=abc"]);
}

#[tokio::test]
async fn http_sse_refuses_an_endpoint_on_another_origin() {
    // `localhost` is another origin than `127.0.0.1`, though the same socket.
    let fake = FakeLegacySse::start("http://localhost:{port}/messages").await;
    let mut client = Client::new(
        config(&fake.url(), TransportMode::SseOnly, Duration::from_secs(5)),
        None,
    );
    client.request(0, "initialize");
    let answer = client.next().await;
    assert_eq!(answer["id"], 0);
    assert_eq!(answer["error"]["data"]["reason"], "protocol");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("named an endpoint on another origin"),
        "{answer}"
    );
    assert!(fake.posts().is_empty(), "nothing was sent to the foreign endpoint");
}

#[tokio::test]
async fn a_request_whose_answer_never_comes_gets_an_error_reply_after_the_request_timeout() {
    let fake = FakeMcp::start().await;
    let timeout = Duration::from_millis(300);
    let mut client = Client::new(config(&fake.url(), TransportMode::HttpOnly, timeout), None);
    client.handshake().await;
    let started = Instant::now();
    client.request(7, "hang");
    let answer = client.next().await;
    let waited = started.elapsed();
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["error"]["code"], jsonrpc::REMOTE_ERROR);
    assert_eq!(answer["error"]["data"]["reason"], "timeout", "{answer}");
    assert!(waited >= timeout, "not before the timeout: {waited:?}");
    assert!(waited < Duration::from_secs(3), "soon after it: {waited:?}");
    assert_eq!(client.replies.pending(), 0, "the request is no longer waited for");
}

#[tokio::test]
async fn close_ends_the_session_with_delete() {
    let fake = FakeMcp::start().await;
    let mut client = Client::new(http_only(&fake.url()), None);
    client.handshake().await;
    assert!(fake.with_method(Method::DELETE).is_empty());
    client.remote.close().await;
    let deletes = fake.with_method(Method::DELETE);
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].header("mcp-session-id").as_deref(), Some("s-1"));
}
