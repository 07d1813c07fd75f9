//! The physical limit: the same session sent by the bench itself straight
//! over Streamable HTTP (MCP 2025-06-18 §"Transports"), no bridge, no pipes.
//!
//! It does the least a correct client must: POST each message with `Accept:
//! application/json, text/event-stream`, keep the `Mcp-Session-Id` from the
//! `initialize` response and send it with `MCP-Protocol-Version` afterwards,
//! read the answer from the JSON or SSE body, and end with DELETE. The clock
//! stops when the chunk completing the answer arrives; the rest of the body
//! is read afterwards (so the connection is reused) and parsing comes after.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Client, Response, Url};
use serde_json::Value;
use tokio::time::timeout;

use crate::Sample;
use crate::mcp::{self, INITIALIZE_ID, Messages, PROTOCOL_VERSION, TOOLS_LIST_ID};

const HANDSHAKE_LIMIT: Duration = Duration::from_secs(60);
const CALLS_LIMIT: Duration = Duration::from_secs(120);
const DELETE_LIMIT: Duration = Duration::from_secs(15);

/// Runs one session over HTTP, with a client of its own.
pub async fn run(url: &Url, msgs: &Messages) -> Result<Sample> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json, text/event-stream"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));

    // The counterpart of spawning a bridge is making a fresh client: its
    // connection pool is empty, so the first request connects.
    let start = Instant::now();
    // Like tether for an http:// URL: no TLS will happen, so no root
    // certificates are loaded. Both sides do the same work.
    let client = Client::builder()
        .user_agent(concat!("tether-bench/", env!("CARGO_PKG_VERSION")))
        .tls_certs_only([])
        .build()
        .context("cannot build the HTTP client")?;

    let handshake = async {
        let resp = post(&client, url, &headers, &msgs.initialize).await?;
        let session = resp
            .headers()
            .get("mcp-session-id")
            .cloned()
            .context("the initialize response carries no Mcp-Session-Id")?;
        let (_, init) = answer(resp, INITIALIZE_ID).await?;
        let mut headers = headers.clone();
        headers.insert("mcp-session-id", session);
        headers.insert("mcp-protocol-version", HeaderValue::from_static(PROTOCOL_VERSION));
        let resp = post(&client, url, &headers, &msgs.initialized).await?;
        let status = resp.status();
        let body = resp.bytes().await.context("cannot read the notification's response")?;
        if !status.is_success() {
            bail!("notifications/initialized was answered HTTP {status}: {}", text(&body));
        }
        let resp = post(&client, url, &headers, &msgs.tools_list).await?;
        let (listed_at, list) = answer(resp, TOOLS_LIST_ID).await?;
        anyhow::Ok((headers, init, listed_at, list))
    };
    let (headers, init, listed_at, list) = timeout(HANDSHAKE_LIMIT, handshake)
        .await
        .with_context(|| format!("no answer to tools/list within {} s", HANDSHAKE_LIMIT.as_secs()))??;
    let spawn_to_list = listed_at - start;
    mcp::result(&init, "initialize")?;
    mcp::check_tools(&list)?;

    let mut latencies = Vec::with_capacity(msgs.calls.len());
    let calls = async {
        for (id, call) in &msgs.calls {
            let sent = Instant::now();
            let resp = post(&client, url, &headers, call).await?;
            let (at, msg) = answer(resp, *id).await?;
            latencies.push(at - sent);
            mcp::check_echo(&msg)?;
        }
        anyhow::Ok(())
    };
    timeout(CALLS_LIMIT, calls)
        .await
        .with_context(|| format!("the echo calls took over {} s", CALLS_LIMIT.as_secs()))??;

    // What a bridge does at the end of its input: end the session.
    let delete = async {
        let sent = Instant::now();
        let resp = client
            .delete(url.clone())
            .headers(headers.clone())
            .send()
            .await
            .context("DELETE failed")?;
        let status = resp.status();
        let body = resp.bytes().await.context("cannot read the DELETE response")?;
        let took = sent.elapsed();
        if !status.is_success() {
            bail!("DELETE of the session was answered HTTP {status}: {}", text(&body));
        }
        anyhow::Ok(took)
    };
    let deleted = timeout(DELETE_LIMIT, delete)
        .await
        .with_context(|| format!("DELETE took over {} s", DELETE_LIMIT.as_secs()))??;
    Ok(Sample::new(spawn_to_list, latencies, None, deleted))
}

async fn post(client: &Client, url: &Url, headers: &HeaderMap, body: &str) -> Result<Response> {
    client
        .post(url.clone())
        .headers(headers.clone())
        .body(body.to_owned())
        .send()
        .await
        .context("POST failed")
}

/// Reads the whole response and returns the answer to request `id` with the
/// time the chunk that completed it arrived.
async fn answer(mut resp: Response, id: i64) -> Result<(Instant, Value)> {
    let status = resp.status();
    let sse = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
    let mut body = Vec::new();
    let mut events = SseLines::default();
    let mut found = None;
    let mut last = Instant::now();
    while let Some(chunk) = resp.chunk().await.context("cannot read the response body")? {
        last = Instant::now();
        if found.is_some() {
            continue; // the rest of the stream, read so the connection is reused
        }
        if sse && status.is_success() {
            found = events.push(&chunk, id, last)?;
        } else {
            body.extend_from_slice(&chunk);
        }
    }
    if !status.is_success() {
        bail!("request {id} was answered HTTP {status}: {}", text(&body));
    }
    if sse {
        return found.with_context(|| format!("the event stream ended without an answer to request {id}"));
    }
    let msg: Value = serde_json::from_slice(&body).with_context(|| format!("not JSON: {}", text(&body)))?;
    if !mcp::answers(&msg, id) {
        bail!("the response is not the answer to request {id}: {}", text(&body));
    }
    Ok((last, msg))
}

/// Just enough of an SSE parser (WHATWG "event stream interpretation") to
/// find the `data` of each event.
#[derive(Default)]
struct SseLines {
    pending: Vec<u8>,
    data: Vec<u8>,
}

impl SseLines {
    /// Feeds one chunk that arrived at `at`; returns the answer to `id` if
    /// an event in it completed one.
    fn push(&mut self, chunk: &[u8], id: i64, at: Instant) -> Result<Option<(Instant, Value)>> {
        self.pending.extend_from_slice(chunk);
        let mut found = None;
        let mut start = 0;
        while let Some(nl) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let line = &self.pending[start..start + nl];
            start += nl + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                if !self.data.is_empty() {
                    let msg: Value = serde_json::from_slice(&self.data)
                        .with_context(|| format!("an event that is not JSON: {}", text(&self.data)))?;
                    self.data.clear();
                    if found.is_none() && mcp::answers(&msg, id) {
                        found = Some((at, msg));
                    }
                }
            } else if let Some(value) = line.strip_prefix(b"data:") {
                if !self.data.is_empty() {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value.strip_prefix(b" ").unwrap_or(value));
            }
        }
        self.pending.drain(..start);
        Ok(found)
    }
}

fn text(body: &[u8]) -> String {
    mcp::clip(&String::from_utf8_lossy(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_split_across_chunks_is_found_when_its_event_ends() {
        let mut sse = SseLines::default();
        let at = Instant::now();
        let note = b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\n";
        assert!(sse.push(note, 7, at).unwrap().is_none());
        assert!(
            sse.push(b"id: 1\r\ndata: {\"jsonrpc\":\"2.0\",", 7, at)
                .unwrap()
                .is_none()
        );
        assert!(sse.push(b"\"id\":7,\"result\":{}}\r\n", 7, at).unwrap().is_none());
        let (_, msg) = sse.push(b"\r\n", 7, at).unwrap().expect("the answer");
        assert_eq!(msg["id"], 7);
    }

    #[test]
    fn data_lines_of_one_event_are_joined() {
        let mut sse = SseLines::default();
        let found = sse
            .push(b"data: {\"id\":3,\ndata: \"result\":1}\n\n", 3, Instant::now())
            .unwrap();
        assert!(found.is_some());
    }
}
