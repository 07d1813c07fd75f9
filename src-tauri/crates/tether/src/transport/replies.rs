//! The way back to the client: one reply for every request, never two.
//!
//! Every message from the remote server and every error Tether originates
//! goes through [`Replies`] to the single stdout writer. It keeps the client's
//! pending requests, so that a response is forwarded once (a resumed SSE
//! stream may replay it, MCP 2025-11-25 §"Resumability and Redelivery"), an
//! error replaces a response that will never come, and a late response to a
//! request Tether already answered with an error is dropped rather than
//! confusing the client (JSON-RPC 2.0 §5: one response per request).

use crate::sync::lock;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use super::http::TransportError;
use crate::jsonrpc::{self, Id, Kind, Message};

/// Pending requests and the channel to stdout.
pub struct Replies {
    out: mpsc::Sender<Bytes>,
    pending: Mutex<HashMap<Id, oneshot::Sender<()>>>,
    /// Shown the answer to one request (the client's `initialize`), even
    /// when that answer is not forwarded.
    watch: Mutex<Option<Watch>>,
}

type Watch = (Id, Box<dyn FnOnce(&[u8]) + Send>);

/// The requests of one outgoing message, waiting for their answers.
pub struct Awaiting {
    waits: Vec<(Id, oneshot::Receiver<()>)>,
}

impl Awaiting {
    /// Nothing to wait for: a message sent by the bridge itself.
    pub fn none() -> Self {
        Self { waits: Vec::new() }
    }

    /// Whether every request has been answered (by the server or with an error).
    pub fn all_answered(&mut self) -> bool {
        self.waits
            .retain_mut(|(_, rx)| matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty)));
        self.waits.is_empty()
    }

    /// Waits up to `timeout` for every answer. Returns false on timeout.
    pub async fn wait(&mut self, timeout: Duration) -> bool {
        let all = futures_util::future::join_all(self.waits.iter_mut().map(|(_, rx)| rx));
        tokio::time::timeout(timeout, all).await.is_ok()
    }

    /// The ids still waiting.
    pub fn ids(&self) -> impl Iterator<Item = &Id> {
        self.waits.iter().map(|(id, _)| id)
    }
}

impl Replies {
    /// Replies written to `out`, one line each.
    pub fn new(out: mpsc::Sender<Bytes>) -> Self {
        Self {
            out,
            pending: Mutex::new(HashMap::new()),
            watch: Mutex::new(None),
        }
    }

    /// Calls `seen` with the answer to `id` when it arrives.
    pub fn watch(&self, id: Id, seen: impl FnOnce(&[u8]) + Send + 'static) {
        *lock(&self.watch) = Some((id, Box::new(seen)));
    }

    /// Records the requests in `msg` before it is sent, so an answer that
    /// comes back at once is matched.
    pub fn register(&self, msg: &Message) -> Awaiting {
        let mut pending = self.lock();
        let waits = msg
            .request_ids()
            .map(|id| {
                let (tx, rx) = oneshot::channel();
                // A client that reuses an id still in flight breaks JSON-RPC;
                // the newer request wins so its answer is not lost.
                pending.insert(id.clone(), tx);
                (id.clone(), rx)
            })
            .collect();
        Awaiting { waits }
    }

    /// Forwards a message from the server to the client. Responses to
    /// requests that are no longer pending are dropped.
    pub async fn deliver(&self, msg: Message) {
        let responses: Vec<&Id> = msg.response_ids().collect();
        let watched = {
            let mut w = lock(&self.watch);
            match w.take() {
                Some((id, f)) if responses.contains(&&id) => Some(f),
                other => {
                    *w = other;
                    None
                }
            }
        };
        if let Some(f) = watched {
            f(&msg.bytes);
        }
        if !responses.is_empty() {
            let mut pending = self.lock();
            let mut fresh = false;
            for id in &responses {
                if let Some(tx) = pending.remove(*id) {
                    let _ = tx.send(());
                    fresh = true;
                }
            }
            drop(pending);
            if !fresh {
                debug!(id = ?responses[0], "dropping a response to a request that was already answered");
                return;
            }
        }
        self.write(msg.bytes).await;
    }

    /// Answers the request `id` with Tether's own error, unless it has been
    /// answered already.
    pub async fn fail(&self, id: &Id, error: &TransportError) {
        if !self.take(id) {
            return;
        }
        let data = serde_json::json!({ "reason": error.reason() });
        let reply = jsonrpc::error_reply(Some(id), jsonrpc::REMOTE_ERROR, &error.to_string(), Some(data));
        self.write(reply).await;
    }

    /// Forgets a request the client cancelled: no answer is expected any
    /// more (MCP 2025-11-25 §"Cancellation": a response that arrives after
    /// the cancellation is ignored), so whatever waits for it stops.
    pub fn cancel(&self, id: &Id) {
        if self.take(id) {
            debug!(%id, "request cancelled by the client");
        }
    }

    /// Fails every pending request (the connection that carried them is gone).
    pub async fn fail_all(&self, error: &TransportError) {
        let ids: Vec<Id> = self.lock().keys().cloned().collect();
        for id in ids {
            self.fail(&id, error).await;
        }
    }

    /// Writes a line Tether produced (a parse error reply) straight out.
    pub async fn write(&self, line: Bytes) {
        // The writer is gone only when stdout is closed, and then the bridge
        // is shutting down: nothing is left to tell.
        let _ = self.out.send(line).await;
    }

    /// The number of requests waiting for an answer.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    fn take(&self, id: &Id) -> bool {
        let mut pending = self.lock();
        let found = pending.remove(id).map(|tx| tx.send(()));
        found.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Id, oneshot::Sender<()>>> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (every operation is a single insert or remove), so poisoning is
        // ignored rather than turned into a second panic.
        lock(&self.pending)
    }
}

/// Whether `msg` is the response to `id`.
pub fn answers(msg: &Message, id: &Id) -> bool {
    msg.parts
        .iter()
        .any(|k| matches!(k, Kind::Response { id: r } if r == id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(s: &str) -> Message {
        jsonrpc::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
    }

    #[tokio::test]
    async fn a_response_is_forwarded_once_and_a_replayed_duplicate_is_dropped() {
        let (tx, mut rx) = mpsc::channel(8);
        let replies = Replies::new(tx);
        let mut waiting = replies.register(&msg(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#));
        assert!(!waiting.all_answered());
        replies.deliver(msg(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#)).await;
        replies.deliver(msg(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#)).await;
        assert_eq!(
            &rx.recv().await.unwrap()[..],
            br#"{"jsonrpc":"2.0","id":1,"result":{}}"#
        );
        assert!(rx.try_recv().is_err());
        assert!(waiting.all_answered());
        assert_eq!(replies.pending(), 0);
    }

    #[tokio::test]
    async fn an_error_reply_replaces_a_missing_answer_and_a_late_answer_is_dropped() {
        let (tx, mut rx) = mpsc::channel(8);
        let replies = Replies::new(tx);
        let m = msg(r#"{"jsonrpc":"2.0","id":"a","method":"tools/call"}"#);
        let _w = replies.register(&m);
        let e = TransportError::Timeout {
            url: "http://127.0.0.1:1/mcp".into(),
            secs: 3,
        };
        replies.fail(m.request_ids().next().unwrap(), &e).await;
        replies.deliver(msg(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#)).await;
        let line = rx.recv().await.unwrap();
        assert_eq!(
            std::str::from_utf8(&line).unwrap(),
            r#"{"jsonrpc":"2.0","id":"a","error":{"code":-32000,"data":{"reason":"timeout"},"message":"the MCP server at http://127.0.0.1:1/mcp did not answer within 3 s (--request-timeout)"}}"#
        );
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn notifications_and_server_requests_always_pass() {
        let (tx, mut rx) = mpsc::channel(8);
        let replies = Replies::new(tx);
        replies
            .deliver(msg(
                r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#,
            ))
            .await;
        replies
            .deliver(msg(
                r#"{"jsonrpc":"2.0","id":9,"method":"sampling/createMessage","params":{}}"#,
            ))
            .await;
        assert!(
            rx.recv()
                .await
                .unwrap()
                .starts_with(br#"{"jsonrpc":"2.0","method":"notifications/progress""#)
        );
        assert!(rx.recv().await.unwrap().starts_with(br#"{"jsonrpc":"2.0","id":9"#));
    }
}
