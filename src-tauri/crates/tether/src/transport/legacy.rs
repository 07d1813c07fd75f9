//! The client side of the deprecated HTTP+SSE transport (MCP 2024-11-05).
//!
//! Owns the one long SSE stream of such a server: it is opened with GET, its
//! first `endpoint` event names the URL to POST messages to, and every
//! message from the server arrives on it as a `message` event (2024-11-05
//! §"HTTP with SSE"). The endpoint must be on the MCP server's origin, or
//! Tether would be sending the user's headers somewhere they did not choose.
//! When the stream breaks, requests in flight fail with a clear error (their
//! answers would come on the lost stream), and a new stream is opened with the
//! client's `initialize` replayed, so later requests work again.

use crate::sync::lock;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use tokio::sync::{oneshot, watch};
use tokio::task::AbortHandle;
use tracing::{debug, info, warn};
use url::Url;

use super::http::{Http, JSON_OR_SSE, RequestHeaders, TransportError};
use super::replies::{Awaiting, Replies};
use super::sse::{Events, StreamEnd};
use crate::auth::http::server_text;
use crate::config::redact_url;
use crate::jsonrpc::{self, Message};

const SSE: &str = "text/event-stream";
/// Reconnection attempts after the stream broke, before giving up.
const MAX_RECONNECTS: u32 = 8;

/// Why the SSE stream could not be opened.
pub enum ConnectError {
    /// The server answered, but not with an event stream: it may speak only
    /// Streamable HTTP.
    Refused(TransportError),
    /// Anything else: unreachable, no endpoint, a foreign endpoint.
    Failed(TransportError),
}

#[derive(Default)]
struct Replay {
    initialize: Option<Message>,
    initialized: Option<Message>,
}

/// An HTTP+SSE connection.
pub struct Legacy {
    http: Arc<Http>,
    replies: Arc<Replies>,
    endpoint: watch::Sender<Option<Url>>,
    replay: Mutex<Replay>,
    reader: Mutex<Option<AbortHandle>>,
}

impl Legacy {
    /// A transport that is not connected yet.
    pub fn new(http: Arc<Http>, replies: Arc<Replies>) -> Arc<Self> {
        Arc::new(Self {
            http,
            replies,
            endpoint: watch::Sender::new(None),
            replay: Mutex::new(Replay::default()),
            reader: Mutex::new(None),
        })
    }

    /// Whether the stream is open and its endpoint known.
    pub fn is_connected(&self) -> bool {
        self.endpoint.borrow().is_some()
    }

    /// Opens the SSE stream and waits for the `endpoint` event.
    pub async fn connect(self: &Arc<Self>) -> Result<(), ConnectError> {
        let resp = self
            .http
            .send(Method::GET, self.http.url(), SSE, &RequestHeaders::default(), None)
            .await
            .map_err(ConnectError::Failed)?;
        let status = resp.status();
        let sse = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with(SSE));
        if !status.is_success() || !sse {
            let body = self.http.read_body(resp, 64 * 1024).await.unwrap_or_default();
            return Err(ConnectError::Refused(self.http.status_error(status, &body)));
        }
        let (tx, rx) = oneshot::channel();
        let events = Events::new(resp, self.http.max_message_size, &self.http.budget, None);
        let this = Arc::clone(self);
        let task = tokio::spawn(async move { this.read(events, Some(tx)).await });
        if let Some(old) = self.lock_reader().replace(task.abort_handle()) {
            old.abort();
        }
        match tokio::time::timeout(self.http.request_timeout, rx).await {
            Ok(Ok(Ok(endpoint))) => {
                debug!(endpoint = %redact_url(&endpoint), "HTTP+SSE endpoint received");
                self.endpoint.send_replace(Some(endpoint));
                Ok(())
            }
            Ok(Ok(Err(e))) => Err(ConnectError::Failed(e)),
            Ok(Err(_)) => Err(ConnectError::Failed(
                self.http.protocol("closed the SSE stream before naming its endpoint"),
            )),
            Err(_) => Err(ConnectError::Failed(self.http.protocol(format!(
                "opened an SSE stream but named no endpoint within {} s",
                self.http.request_timeout.as_secs()
            )))),
        }
    }

    /// POSTs one message to the endpoint and waits for the answers to its
    /// requests on the stream.
    pub async fn send(&self, msg: &Message, awaiting: &mut Awaiting) -> Result<(), TransportError> {
        {
            let mut replay = lock(&self.replay);
            if msg.is_initialize() {
                replay.initialize = Some(msg.clone());
            } else if msg.is_initialized_notification() {
                replay.initialized = Some(msg.clone());
            }
        }
        let endpoint = self.endpoint().await?;
        self.post(&endpoint, msg.bytes.clone()).await?;
        if !awaiting.all_answered() && !awaiting.wait(self.http.request_timeout).await {
            return Err(self.http.timeout());
        }
        Ok(())
    }

    /// Stops reading the stream.
    pub fn close(&self) {
        if let Some(task) = self.lock_reader().take() {
            task.abort();
        }
    }

    async fn endpoint(&self) -> Result<Url, TransportError> {
        let mut rx = self.endpoint.subscribe();
        match tokio::time::timeout(self.http.request_timeout, rx.wait_for(Option::is_some)).await {
            Ok(Ok(url)) => Ok(url.clone().unwrap_or_else(|| self.http.url().clone())),
            _ => Err(self.http.protocol("has no open SSE stream to send the message on")),
        }
    }

    async fn post(&self, endpoint: &Url, body: Bytes) -> Result<(), TransportError> {
        let resp = self
            .http
            .send(
                Method::POST,
                endpoint,
                JSON_OR_SSE,
                &RequestHeaders::default(),
                Some(body),
            )
            .await?;
        let status = resp.status();
        let body = self.http.read_body(resp, self.http.max_message_size).await?;
        // Some servers answer in the POST body as well as (or instead of) on
        // the stream; a JSON-RPC message found there is forwarded.
        if let Ok(msg) = jsonrpc::parse_from_server(body.clone()) {
            self.replies.deliver(msg).await;
        }
        if status.is_success() {
            Ok(())
        } else {
            Err(self.http.status_error(status, &body))
        }
    }

    async fn read(
        self: Arc<Self>,
        mut events: Events,
        mut on_endpoint: Option<oneshot::Sender<Result<Url, TransportError>>>,
    ) {
        loop {
            match events.next().await {
                Ok(event) if event.kind.as_deref() == Some("endpoint") => {
                    let endpoint = self.resolve_endpoint(event.data.trim());
                    match (&endpoint, on_endpoint.take()) {
                        (_, Some(tx)) => {
                            let _ = tx.send(endpoint.clone());
                        }
                        (Ok(url), None) => {
                            self.endpoint.send_replace(Some(url.clone()));
                        }
                        (Err(e), None) => warn!(error = %e, "ignored a new endpoint"),
                    }
                    if endpoint.is_err() {
                        return;
                    }
                }
                Ok(event) if event.is_message() => match jsonrpc::parse_from_server(Bytes::from(event.data)) {
                    Ok(msg) => self.replies.deliver(msg).await,
                    Err(r) => {
                        warn!(reason = %r.reason, "dropped a message from the server that is not JSON-RPC")
                    }
                },
                Ok(_) => {}
                Err(StreamEnd::TooLarge) => {
                    warn!(
                        limit = self.http.max_message_size,
                        "a server message exceeded --max-message-size; reconnecting"
                    );
                    break;
                }
                Err(_) => break,
            }
        }
        if on_endpoint.is_some() {
            return; // connect() reports it
        }
        tokio::spawn(self.reconnect_boxed());
    }

    /// `read` spawns `reconnect`, which calls `connect`, which spawns `read`:
    /// a boxed future with a declared type breaks the cycle of opaque types.
    fn reconnect_boxed(self: Arc<Self>) -> futures_util::future::BoxFuture<'static, ()> {
        Box::pin(self.reconnect())
    }

    fn resolve_endpoint(&self, data: &str) -> Result<Url, TransportError> {
        let base = self.http.url();
        let url = base.join(data).map_err(|_| {
            self.http.protocol(format!(
                "named an endpoint that is not a URL: \"{}\"",
                server_text(data)
            ))
        })?;
        if url.origin() != base.origin() {
            return Err(self.http.protocol(format!(
                "named an endpoint on another origin ({}); Tether does not send your headers there",
                redact_url(&url)
            )));
        }
        Ok(url)
    }

    async fn reconnect(self: Arc<Self>) {
        self.endpoint.send_replace(None);
        let lost = self
            .http
            .protocol("lost the SSE connection before answering; the request can be retried");
        self.replies.fail_all(&lost).await;
        info!("the SSE stream ended; reconnecting");
        for attempt in 0..MAX_RECONNECTS {
            tokio::time::sleep(Duration::from_secs(1u64 << attempt.min(5))).await;
            match self.connect().await {
                Ok(()) => {
                    self.replay_handshake().await;
                    return;
                }
                Err(ConnectError::Refused(e) | ConnectError::Failed(e)) => {
                    debug!(error = %e, attempt, "reconnect failed")
                }
            }
        }
        warn!("could not reconnect the SSE stream; requests will fail until the client restarts the server");
    }

    /// Replays the client's handshake on a new stream. The answer to the
    /// replayed `initialize` is dropped by [`Replies`]: its request is no
    /// longer pending.
    async fn replay_handshake(&self) {
        let (initialize, initialized) = {
            let r = lock(&self.replay);
            (r.initialize.clone(), r.initialized.clone())
        };
        let Some(endpoint) = self.endpoint.borrow().clone() else {
            return;
        };
        for msg in [initialize, initialized].into_iter().flatten() {
            if let Err(e) = self.post(&endpoint, msg.bytes).await {
                warn!(error = %e, "replaying the handshake failed");
                return;
            }
        }
    }

    fn lock_reader(&self) -> std::sync::MutexGuard<'_, Option<AbortHandle>> {
        lock(&self.reader)
    }
}
