//! The remote side of the bridge: one MCP session over HTTP.
//!
//! [`Remote`] picks the transport (Streamable HTTP, or HTTP+SSE for servers
//! of the 2024-11-05 era) the way mcp-remote's `--transport` does, keeps the
//! client's order where it matters, and turns each failure into an error
//! reply for exactly the requests it affected.
//!
//! Order: messages start in the order the client wrote them. Requests run
//! concurrently (a slow tool call must not hold up a quick one), but a
//! notification or a response is delivered before anything after it starts
//! (`notifications/initialized` must reach the server before the first
//! `tools/call`, MCP 2025-11-25 §"Lifecycle"), and nothing starts before
//! `initialize` is answered, because its answer carries the session. It opens one remote session per stdio session and
//! no probe sessions (MCP 2025-03-26 §"Backwards Compatibility": try POST of
//! `initialize` first; on 400, 404 or 405 fall back to GET for the SSE stream).

pub mod http;
mod legacy;
pub mod replies;
mod sse;
mod streamable;

use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::Shared;
use tokio::sync::{oneshot, watch};
use tracing::{debug, info};

use crate::config::TransportMode;
use crate::jsonrpc::Message;
use http::{Http, TransportError};
use legacy::{ConnectError, Legacy};
use replies::{Awaiting, Replies};
use streamable::{Sent, Streamable};

#[derive(Clone)]
enum Active {
    Streamable(Arc<Streamable>),
    Legacy(Arc<Legacy>),
}

/// The connection to one remote MCP server.
pub struct Remote {
    http: Arc<Http>,
    replies: Arc<Replies>,
    mode: TransportMode,
    active: Mutex<Active>,
    /// Fires when the last dispatched message lets the next one start.
    last: Mutex<Shared<oneshot::Receiver<()>>>,
    /// Messages dispatched and not yet done, for a graceful end of input.
    in_flight: watch::Sender<usize>,
}

impl Remote {
    /// A connection that is made when the first message arrives.
    pub fn new(http: Arc<Http>, replies: Arc<Replies>, mode: TransportMode) -> Arc<Self> {
        let active = match mode {
            TransportMode::HttpFirst | TransportMode::HttpOnly => {
                Active::Streamable(Streamable::new(http.clone(), replies.clone()))
            }
            TransportMode::SseFirst | TransportMode::SseOnly => {
                Active::Legacy(Legacy::new(http.clone(), replies.clone()))
            }
        };
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(());
        Arc::new(Self {
            http,
            replies,
            mode,
            active: Mutex::new(active),
            last: Mutex::new(rx.shared()),
            in_flight: watch::Sender::new(0),
        })
    }

    /// Sends one message from the client, in the background, after the
    /// messages before it have started (see the module docs for the order).
    /// Every request in it gets exactly one reply: the server's, or an error
    /// saying what went wrong.
    pub fn dispatch(self: &Arc<Self>, msg: Message, awaiting: Awaiting) {
        let (release, next) = oneshot::channel();
        let previous = std::mem::replace(
            &mut *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
            next.shared(),
        );
        let this = Arc::clone(self);
        self.in_flight.send_modify(|n| *n += 1);
        tokio::spawn(async move {
            let _ = previous.await;
            this.send(msg, awaiting, release).await;
            this.in_flight.send_modify(|n| *n -= 1);
        });
    }

    /// Whether messages are still being sent or answered.
    pub fn busy(&self) -> bool {
        *self.in_flight.borrow() > 0
    }

    /// Resolves when every dispatched message is done.
    pub async fn idle(&self) {
        let _ = self.in_flight.subscribe().wait_for(|n| *n == 0).await;
    }

    async fn send(&self, msg: Message, mut awaiting: Awaiting, release: oneshot::Sender<()>) {
        debug!(
            method = msg.method().unwrap_or("-"),
            requests = msg.request_ids().count(),
            "→ remote"
        );
        // A dropped `release` also lets the next message go.
        let mut release = Some(release);
        if !msg.is_initialize() && msg.has_requests() {
            release.take().map(|r| r.send(()));
        }
        let result = if msg.is_initialize() {
            self.initialize(&msg, &mut awaiting).await
        } else {
            self.route(&msg, &mut awaiting).await
        };
        drop(release);
        if let Err(e) = result {
            tracing::warn!(method = msg.method().unwrap_or("-"), error = %e, "request failed");
            let ids: Vec<_> = awaiting.ids().cloned().collect();
            for id in ids {
                self.replies.fail(&id, &e).await;
            }
        }
    }

    /// Ends the session (DELETE for Streamable HTTP).
    pub async fn close(&self) {
        match self.active() {
            Active::Streamable(s) => s.close().await,
            Active::Legacy(l) => l.close(),
        }
    }

    fn active(&self) -> Active {
        self.active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn activate(&self, next: Active) {
        *self.active.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = next;
    }

    async fn route(&self, msg: &Message, awaiting: &mut Awaiting) -> Result<(), TransportError> {
        match self.active() {
            Active::Streamable(s) => s.send(msg, awaiting, false).await.map(|_| ()),
            Active::Legacy(l) => {
                if !l.is_connected() {
                    connect(&l).await?;
                }
                l.send(msg, awaiting).await
            }
        }
    }

    async fn initialize(&self, msg: &Message, awaiting: &mut Awaiting) -> Result<(), TransportError> {
        match (self.mode, self.active()) {
            (TransportMode::HttpFirst, Active::Streamable(s)) => match s.send(msg, awaiting, true).await? {
                Sent::Done => Ok(()),
                Sent::Refused(http_error) => {
                    info!(error = %http_error, "Streamable HTTP refused initialize; trying HTTP+SSE");
                    let legacy = Legacy::new(self.http.clone(), self.replies.clone());
                    match legacy.connect().await {
                        Ok(()) => {
                            self.activate(Active::Legacy(legacy.clone()));
                            legacy.send(msg, awaiting).await
                        }
                        Err(ConnectError::Refused(e) | ConnectError::Failed(e)) => Err(self.http.protocol(format!(
                            "refused both transports: Streamable HTTP ({}) and HTTP+SSE ({})",
                            short(&http_error),
                            short(&e)
                        ))),
                    }
                }
            },
            (TransportMode::SseFirst, Active::Legacy(l)) if !l.is_connected() => match l.connect().await {
                Ok(()) => l.send(msg, awaiting).await,
                Err(ConnectError::Refused(sse_error)) => {
                    info!(error = %sse_error, "HTTP+SSE refused; trying Streamable HTTP");
                    let s = Streamable::new(self.http.clone(), self.replies.clone());
                    self.activate(Active::Streamable(s.clone()));
                    s.send(msg, awaiting, false).await.map(|_| ())
                }
                Err(ConnectError::Failed(e)) => Err(e),
            },
            _ => self.route(msg, awaiting).await,
        }
    }
}

async fn connect(l: &Arc<Legacy>) -> Result<(), TransportError> {
    l.connect()
        .await
        .map_err(|(ConnectError::Refused(e) | ConnectError::Failed(e))| e)
}

/// The status part of an error, for a message that names two of them.
fn short(e: &TransportError) -> String {
    match e {
        TransportError::Status { status, detail, .. } => format!("HTTP {status}{detail}"),
        other => other.to_string(),
    }
}
