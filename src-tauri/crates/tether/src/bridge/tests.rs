//! The bridge through its seam: [`run_on`] with in-memory pipes
//! (`tokio::io::duplex`) for the client's stdin and stdout, against the fake
//! Streamable HTTP server of `test_support`.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadBuf};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use super::{Stop, run_on};
use crate::config::{RunConfig, TransportMode};
use crate::jsonrpc;
use crate::test_support::mcp::FakeMcp;
use crate::test_support::within;
use crate::transport::http::TransportError;

const MAX_MESSAGE: usize = 4096;

/// The bridge's stdin, which says when the bridge has read its end.
struct WatchedInput {
    inner: DuplexStream,
    eof: Option<oneshot::Sender<()>>,
}

impl AsyncRead for WatchedInput {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(())))
            && buf.filled().len() == before
            && let Some(eof) = self.eof.take()
        {
            let _ = eof.send(());
        }
        polled
    }
}

/// A bridge running on pipes, as Claude Desktop runs it.
struct Bridge {
    stdin: Option<DuplexStream>,
    stdout: BufReader<DuplexStream>,
    eof_read: Option<oneshot::Receiver<()>>,
    task: JoinHandle<Result<Stop, TransportError>>,
}

impl Bridge {
    fn start(url: &str) -> Self {
        let config = RunConfig {
            url: Url::parse(url).unwrap(),
            headers: Vec::new(),
            transport: TransportMode::HttpOnly,
            protocol: crate::config::ProtocolMode::Auto,
            max_message_size: MAX_MESSAGE,
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            sign_in_wait: Duration::from_secs(5),
        };
        let (stdin, bridge_in) = tokio::io::duplex(64 * 1024);
        let (bridge_out, stdout) = tokio::io::duplex(64 * 1024);
        let (eof_tx, eof_read) = oneshot::channel();
        let input = WatchedInput {
            inner: bridge_in,
            eof: Some(eof_tx),
        };
        let task = tokio::spawn(run_on(config, None, None, None, Box::pin(input), Box::pin(bridge_out)));
        Self {
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            eof_read: Some(eof_read),
            task,
        }
    }

    async fn write(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
    }

    async fn send(&mut self, msg: Value) {
        self.write(&msg.to_string()).await;
    }

    /// The next line on stdout, exactly as written.
    async fn raw_line(&mut self) -> String {
        let mut line = String::new();
        within("a line on stdout", self.stdout.read_line(&mut line))
            .await
            .unwrap();
        line
    }

    async fn line(&mut self) -> Value {
        let line = self.raw_line().await;
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
    }

    /// Closes stdin and resolves once the bridge has read to its end.
    async fn close_stdin(&mut self) {
        drop(self.stdin.take());
        let eof = self.eof_read.take().expect("stdin closed once");
        within("the bridge to read the end of stdin", eof).await.unwrap();
    }

    /// Everything else on stdout, and why the bridge stopped.
    async fn finish(mut self) -> (String, Stop) {
        let mut rest = String::new();
        within("stdout to close", self.stdout.read_to_string(&mut rest))
            .await
            .unwrap();
        let stop = within("the bridge to stop", self.task).await.unwrap().unwrap();
        (rest, stop)
    }

    async fn handshake(&mut self) {
        self.send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}))
            .await;
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(self.line().await["id"], 0);
    }
}

#[tokio::test]
async fn a_malformed_line_gets_a_parse_error_and_the_bridge_keeps_serving() {
    let fake = FakeMcp::start().await;
    let mut bridge = Bridge::start(&fake.url());
    bridge.write("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ").await;
    let error = bridge.line().await;
    assert_eq!(error["error"]["code"], jsonrpc::PARSE_ERROR, "{error}");
    assert_eq!(error["id"], Value::Null);
    bridge.write(r#"{"jsonrpc": "2.0", "id": 2}"#).await;
    let error = bridge.line().await;
    assert_eq!(error["error"]["code"], jsonrpc::INVALID_REQUEST, "{error}");
    assert_eq!(error["id"], 2);

    bridge.handshake().await;
    bridge
        .send(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}))
        .await;
    assert_eq!(bridge.line().await["result"]["echo"], "tools/list");
    let posted: Vec<_> = fake
        .with_method(hyper::Method::POST)
        .iter()
        .map(|s| s.rpc_method())
        .collect();
    assert_eq!(
        posted,
        [
            Some("initialize".into()),
            Some("notifications/initialized".into()),
            Some("tools/list".into())
        ],
        "the malformed lines never reached the server"
    );
    bridge.close_stdin().await;
    let (rest, stop) = bridge.finish().await;
    assert_eq!(rest, "");
    assert_eq!(stop, Stop::EndOfInput);
}

#[tokio::test]
async fn end_of_input_waits_for_a_request_in_flight_then_exits_with_end_of_input() {
    let fake = FakeMcp::start().await;
    let mut bridge = Bridge::start(&fake.url());
    bridge.handshake().await;
    bridge.send(json!({"jsonrpc": "2.0", "id": 5, "method": "slow"})).await;
    fake.wait_for("the slow request", |s| s.rpc_method().as_deref() == Some("slow"))
        .await;
    bridge.close_stdin().await;
    // The bridge has seen the end of its input with the request in flight.
    // A bridge that did not wait would end the session and close stdout in
    // this time; one that waits (up to 2 s) is unaffected by it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        fake.with_method(hyper::Method::DELETE).is_empty(),
        "the session is not ended while a request is in flight"
    );
    fake.release_slow();
    let (rest, stop) = bridge.finish().await;
    let answer: Value = serde_json::from_str(&rest).unwrap_or_else(|e| panic!("{e}: {rest:?}"));
    assert_eq!(answer, json!({"jsonrpc": "2.0", "id": 5, "result": {"slow": true}}));
    assert!(rest.ends_with("}\n"), "one line: {rest:?}");
    assert_eq!(stop, Stop::EndOfInput);
    let deletes = fake.with_method(hyper::Method::DELETE);
    assert_eq!(deletes.len(), 1, "then the session is ended");
}

#[tokio::test]
async fn output_carries_only_json_rpc_lines() {
    let fake = FakeMcp::start().await;
    fake.answer_with_sse();
    let mut bridge = Bridge::start(&fake.url());
    let mut lines = Vec::new();
    bridge
        .send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}))
        .await;
    lines.push(bridge.raw_line().await);
    bridge.write("not json at all").await;
    lines.push(bridge.raw_line().await);
    let oversized = format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{{"x":"{}"}}}}"#,
        "y".repeat(MAX_MESSAGE)
    );
    bridge.write(&oversized).await;
    lines.push(bridge.raw_line().await);
    bridge
        .send(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call"}))
        .await;
    lines.push(bridge.raw_line().await); // progress
    lines.push(bridge.raw_line().await); // the answer
    bridge.close_stdin().await;
    let (rest, stop) = bridge.finish().await;
    assert_eq!(stop, Stop::EndOfInput);
    assert_eq!(rest, "", "nothing after the answers");

    let mut kinds = Vec::new();
    for line in &lines {
        assert!(
            line.ends_with('\n') && !line[..line.len() - 1].contains('\n'),
            "{line:?}"
        );
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
        assert_eq!(v["jsonrpc"], "2.0", "{line}");
        kinds.push(match (&v["id"], v.get("method"), v.get("error")) {
            (_, Some(m), _) => m.as_str().unwrap().to_owned(),
            (id, None, Some(e)) => format!("error {} for {id}", e["code"]),
            (id, None, None) => format!("result for {id}"),
        });
    }
    assert_eq!(
        kinds,
        [
            "result for 0",
            "error -32700 for null",
            "error -32600 for 9",
            "notifications/progress",
            "result for 1"
        ]
    );
}
