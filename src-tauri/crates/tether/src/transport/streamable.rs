//! The client side of MCP Streamable HTTP (2025-03-26, 2025-06-18, 2025-11-25).
//!
//! Owns one remote session: each message is POSTed with `Accept:
//! application/json, text/event-stream` and answered by a JSON body, an SSE
//! stream or 202 (§"Sending Messages to the Server"); the `Mcp-Session-Id`
//! from the `initialize` response is sent back on every request and the
//! negotiated `MCP-Protocol-Version` after it (§"Session Management",
//! §"Protocol Version Header"); a GET stream carries server-initiated messages,
//! and 405 means the server has none (§"Listening for Messages from the
//! Server"); a broken stream is resumed with GET and `Last-Event-ID` after the
//! server's `retry` delay (§"Resumability and Redelivery", SEP-1699); a 404 on
//! a live session starts a new one by replaying the client's `initialize` and
//! `notifications/initialized`, then retries the message, so the client never
//! notices; DELETE ends the session on shutdown.

use crate::sync::lock;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use tokio::sync::oneshot;
use tokio::task::AbortHandle;
use tracing::{debug, info, warn};

use super::era::{self, detect, headers::MCP_METHOD};
use super::http::{Http, JSON_OR_SSE, RequestHeaders, TransportError};
use super::replies::{Awaiting, Replies, answers};
use super::sse::{Events, StreamEnd};
use crate::jsonrpc::{self, Id, Message};

const SSE: &str = "text/event-stream";
/// How often one response stream may be resumed before the request fails.
const MAX_RESUMES: u32 = 5;
/// The reconnection delay when the server gave no `retry` field.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// The shortest reconnection delay, whatever `retry` the server sends: a
/// `retry: 0` must not make a closing stream a tight loop.
const MIN_RETRY: Duration = Duration::from_millis(250);
/// How long to keep reading a stream after its response, so a well-behaved
/// server's close is seen and the connection can be reused.
const LINGER: Duration = Duration::from_secs(5);
/// Bound on an error body kept for the message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// How long the messages after `initialize` wait for the GET stream to open.
const GET_STREAM_WAIT: Duration = Duration::from_secs(2);

/// What came of a POST of `initialize` that the caller allowed to fall back.
pub enum Sent {
    /// The message went through.
    Done,
    /// `initialize` was refused with 400, 404 or 405: the server may speak
    /// only HTTP+SSE (2025-03-26 §"Backwards Compatibility").
    Refused(TransportError),
    /// A probing `initialize` met a modern server (MCP 2026-07-28): its
    /// refusal was a modern error, or its answer named a modern version.
    /// Carries the versions it named.
    Modern(Vec<String>),
    /// A probing `initialize` was answered with a JSON-RPC error, held back
    /// (not yet given to the client) until the era is known.
    Declined(Message),
}

/// The answer to the client's `initialize`, watched for as it arrives.
struct InitAnswer {
    id: Id,
    /// Hold back an answer that is not a legacy acceptance (see
    /// [`Sent::Modern`] and [`Sent::Declined`]).
    probing: bool,
    held: Option<Message>,
}

#[derive(Default)]
struct Session {
    id: Option<HeaderValue>,
    protocol: Option<HeaderValue>,
    /// Bumped on every new session, so that concurrent 404s start one.
    generation: u64,
    /// The client's own messages, replayed to start a new session.
    initialize: Option<Message>,
    initialized: Option<Message>,
}

/// A Streamable HTTP session.
pub struct Streamable {
    http: Arc<Http>,
    replies: Arc<Replies>,
    session: Mutex<Session>,
    reinit: tokio::sync::Mutex<()>,
    get_stream: Mutex<Option<AbortHandle>>,
}

impl Streamable {
    /// A transport with no session yet.
    pub fn new(http: Arc<Http>, replies: Arc<Replies>) -> Arc<Self> {
        Arc::new(Self {
            http,
            replies,
            session: Mutex::new(Session::default()),
            reinit: tokio::sync::Mutex::new(()),
            get_stream: Mutex::new(None),
        })
    }

    /// Sends one message and forwards everything the server sends back on
    /// its response, until each request in it is answered.
    pub async fn send(
        self: &Arc<Self>,
        msg: &Message,
        awaiting: &mut Awaiting,
        may_fall_back: bool,
    ) -> Result<Sent, TransportError> {
        self.send_probing(msg, awaiting, may_fall_back, false).await
    }

    /// [`send`](Self::send), and for `initialize` with `probe`, in a form
    /// either era can answer ([`era::probing_initialize`]), reading the
    /// answer for the era: a 2025-era server's acceptance goes to the client
    /// as always; a modern server's refusal comes back as [`Sent::Modern`]
    /// or [`Sent::Declined`] (MCP 2026-07-28 §"Streamable HTTP: Backward
    /// Compatibility").
    pub async fn send_probing(
        self: &Arc<Self>,
        msg: &Message,
        awaiting: &mut Awaiting,
        may_fall_back: bool,
        probe: bool,
    ) -> Result<Sent, TransportError> {
        let probing = if probe && msg.is_initialize() {
            era::probing_initialize(&msg.bytes)
        } else {
            None
        };
        if let Some((stamped, _)) = &probing {
            // A new session after a 404 replays what the server saw.
            self.begin_session(&Message {
                bytes: stamped.clone(),
                ..msg.clone()
            });
        } else if msg.is_initialize() {
            self.begin_session(msg);
        } else if msg.is_initialized_notification() {
            self.lock().initialized = Some(msg.clone());
        }
        let mut renewed = false;
        loop {
            let (mut headers, generation) = self.headers();
            // The 2026-07-28 stateless wire has no `initialize`: each request
            // names its version in `_meta`, and the header must repeat it.
            // Mirroring it keeps the bridge faithful to a client that speaks
            // that wire without the bridge having to understand it.
            let mut body = msg.bytes.clone();
            if let Some((stamped, version)) = &probing {
                body = stamped.clone();
                headers.protocol_version = HeaderValue::from_str(version).ok();
                headers.mcp.push((MCP_METHOD, HeaderValue::from_static("initialize")));
            } else if headers.protocol_version.is_none() && msg.has_requests() {
                headers.protocol_version =
                    jsonrpc::meta_protocol_version(&msg.bytes).and_then(|v| HeaderValue::from_str(&v).ok());
            }
            let resp = self.http.post(&headers, body).await?;
            let status = resp.status();
            if probing.is_some() && status.is_client_error() {
                let body = self.http.read_body(resp, ERROR_BODY_LIMIT).await.unwrap_or_default();
                if let Some(e) = detect::rpc_error(&body)
                    && detect::is_modern_error(status.as_u16(), &e)
                {
                    debug!(
                        status = status.as_u16(),
                        code = e.code,
                        "initialize was refused the way a 2026-07-28 server refuses it"
                    );
                    return Ok(Sent::Modern(e.supported));
                }
                if may_fall_back && matches!(status.as_u16(), 400 | 404 | 405) {
                    return Ok(Sent::Refused(self.http.status_error(status, &body)));
                }
                return Err(self.refused_body(status, body).await);
            }
            if status == StatusCode::NOT_FOUND && headers.session_id.is_some() && !msg.is_initialize() && !renewed {
                self.reinitialize(generation).await?;
                renewed = true;
                if msg.is_initialized_notification() {
                    return Ok(Sent::Done); // the new session got it already
                }
                continue;
            }
            if msg.is_initialize() && may_fall_back && matches!(status.as_u16(), 400 | 404 | 405) {
                let body = self.http.read_body(resp, ERROR_BODY_LIMIT).await.unwrap_or_default();
                return Ok(Sent::Refused(self.http.status_error(status, &body)));
            }
            if !status.is_success() {
                return Err(self.refused(resp).await);
            }
            let mut init = if msg.is_initialize() {
                if let Some(id) = resp.headers().get("mcp-session-id") {
                    self.lock().id = Some(id.clone());
                }
                msg.request_ids().next().cloned().map(|id| InitAnswer {
                    id,
                    probing: probing.is_some(),
                    held: None,
                })
            } else {
                None
            };
            self.read_response(resp, awaiting, init.as_mut()).await?;
            if let Some(held) = init.and_then(|i| i.held) {
                let version = jsonrpc::protocol_version(&held.bytes);
                return Ok(match version {
                    Some(v) => {
                        // Whatever session it made is of no use on the
                        // stateless wire.
                        self.lock().id = None;
                        Sent::Modern(vec![v])
                    }
                    None => Sent::Declined(held),
                });
            }
            if msg.is_initialize() {
                // The GET stream opens as soon as the session exists, and
                // the client's next messages wait until it is open (or
                // refused): a server may send a request right after
                // `notifications/initialized`, and one sent before the stream
                // is there is lost.
                let opened = self.open_get_stream(generation);
                let _ = tokio::time::timeout(GET_STREAM_WAIT, opened).await;
            }
            return Ok(Sent::Done);
        }
    }

    /// Ends the session: stops the GET stream and sends DELETE (§"Session
    /// Management": clients SHOULD send DELETE when they no longer need it).
    pub async fn close(&self) {
        self.stop_get_stream();
        let (headers, _) = self.headers();
        if headers.session_id.is_none() {
            return;
        }
        let delete = self
            .http
            .send(Method::DELETE, self.http.url(), JSON_OR_SSE, &headers, None);
        match tokio::time::timeout(Duration::from_secs(2), delete).await {
            Ok(Ok(resp)) => debug!(status = resp.status().as_u16(), "session ended with DELETE"),
            Ok(Err(e)) => debug!(error = %e, "DELETE of the session failed"),
            Err(_) => debug!("DELETE of the session timed out"),
        }
    }

    fn begin_session(&self, msg: &Message) {
        let mut s = self.lock();
        // A second `initialize` from the client starts over: the old session
        // is simply abandoned (the server expires it).
        s.id = None;
        s.protocol = None;
        s.generation += 1;
        s.initialize = Some(msg.clone());
        s.initialized = None;
        drop(s);
        self.stop_get_stream();
    }

    fn headers(&self) -> (RequestHeaders, u64) {
        let s = self.lock();
        (
            RequestHeaders {
                session_id: s.id.clone(),
                protocol_version: s.protocol.clone(),
                ..Default::default()
            },
            s.generation,
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Session> {
        lock(&self.session)
    }

    /// Reads a successful response: a JSON body, an SSE stream, or nothing.
    async fn read_response(
        self: &Arc<Self>,
        resp: Response,
        awaiting: &mut Awaiting,
        mut init: Option<&mut InitAnswer>,
    ) -> Result<(), TransportError> {
        if is_sse(&resp) {
            self.read_post_stream(resp, awaiting, init.as_deref_mut()).await?;
        } else {
            let status = resp.status();
            let body = self.http.read_body(resp, self.http.max_message_size).await?;
            if !body.iter().all(u8::is_ascii_whitespace) && !self.forward(body.clone(), init.as_deref_mut()).await {
                // A login page or a proxy's answer where JSON-RPC belongs:
                // say so now rather than time out later.
                return Err(self.http.not_json_rpc(status, &body));
            }
        }
        // A request answered by 202 or an empty body gets its answer on the
        // GET stream, if at all: wait for it, within the timeout.
        let held = init.is_some_and(|i| i.held.is_some());
        if !held && !awaiting.all_answered() && !awaiting.wait(self.http.request_timeout).await {
            return Err(self.http.timeout());
        }
        Ok(())
    }

    /// Reads the SSE stream of a POST, resuming it with GET and
    /// `Last-Event-ID` when it ends before the answer.
    async fn read_post_stream(
        self: &Arc<Self>,
        resp: Response,
        awaiting: &mut Awaiting,
        mut init: Option<&mut InitAnswer>,
    ) -> Result<(), TransportError> {
        let limit = self.http.max_message_size;
        let mut events = Events::new(resp, limit, &self.http.budget, Some(self.http.request_timeout));
        let mut resumes = 0;
        let mut answered = false;
        loop {
            match events.next().await {
                Ok(event) => {
                    if event.is_message() {
                        self.forward(Bytes::from(event.data), init.as_deref_mut()).await;
                    }
                    if init.as_ref().is_some_and(|i| i.held.is_some()) {
                        // The answer is held back for the era decision;
                        // the rest of this stream is of no use.
                        return Ok(());
                    }
                    if !answered && awaiting.all_answered() {
                        answered = true;
                        events.set_idle(LINGER);
                    }
                }
                Err(_) if answered => return Ok(()),
                Err(StreamEnd::Idle) => return Err(self.http.timeout()),
                Err(StreamEnd::TooLarge) => return Err(TransportError::TooLarge { limit }),
                Err(StreamEnd::Closed) => {
                    if awaiting.all_answered() {
                        return Ok(());
                    }
                    let Some(last_id) = events.last_id.clone() else {
                        return Err(self.http.protocol(
                            "closed the response stream before answering, without an event id to resume from",
                        ));
                    };
                    events = self.resume(last_id, events.retry, &mut resumes).await?;
                }
            }
        }
    }

    /// Reconnects a response stream (§"Resumability and Redelivery").
    async fn resume(
        &self,
        last_id: String,
        retry: Option<Duration>,
        resumes: &mut u32,
    ) -> Result<Events, TransportError> {
        loop {
            if *resumes == MAX_RESUMES {
                return Err(self.http.protocol(format!(
                    "broke off the response stream {MAX_RESUMES} times before answering"
                )));
            }
            *resumes += 1;
            let delay = retry_delay(retry).min(self.http.request_timeout);
            debug!(last_event_id = %last_id, delay_ms = delay.as_millis() as u64, "resuming a response stream");
            tokio::time::sleep(delay).await;
            let (mut headers, _) = self.headers();
            headers.last_event_id = HeaderValue::from_str(&last_id).ok();
            let resp = match self.http.send(Method::GET, self.http.url(), SSE, &headers, None).await {
                Ok(resp) => resp,
                Err(e @ TransportError::Connect { .. }) => {
                    debug!(error = %e, "could not reconnect yet");
                    continue;
                }
                Err(e) => return Err(e),
            };
            if resp.status().is_success() && is_sse(&resp) {
                let mut events = Events::new(
                    resp,
                    self.http.max_message_size,
                    &self.http.budget,
                    Some(self.http.request_timeout),
                );
                events.last_id = Some(last_id);
                events.retry = retry;
                return Ok(events);
            }
            let status = resp.status();
            return Err(self.http.protocol(format!(
                "broke off the response stream before answering and refused to resume it (HTTP {status} on GET with Last-Event-ID)"
            )));
        }
    }

    /// Forwards one message from the server, learning the protocol version
    /// from the answer to `initialize` (and holding that answer back when it
    /// is probed and not a legacy acceptance). Returns false when it was not
    /// JSON-RPC.
    async fn forward(&self, bytes: Bytes, init: Option<&mut InitAnswer>) -> bool {
        match jsonrpc::parse_from_server(bytes) {
            Ok(msg) => {
                if let Some(init) = init
                    && answers(&msg, &init.id)
                {
                    let version = jsonrpc::protocol_version(&msg.bytes);
                    if init.probing && !era::is_legacy_acceptance(&msg.bytes, version.as_deref()) {
                        init.held = Some(msg);
                        return true;
                    }
                    self.adopt_protocol(version);
                }
                self.replies.deliver(msg).await;
                true
            }
            Err(rejection) => {
                warn!(reason = %rejection.reason, "dropped a message from the server that is not JSON-RPC");
                false
            }
        }
    }

    fn adopt_protocol(&self, version: Option<String>) {
        if let Some(version) = version {
            debug!(%version, "protocol version negotiated");
            self.lock().protocol = HeaderValue::from_str(&version).ok();
        }
    }

    /// The error for a non-success status. When the body is a JSON-RPC
    /// error for one of the requests, it is forwarded as it is: the
    /// server's own words explain best.
    async fn refused(&self, resp: Response) -> TransportError {
        let status = resp.status();
        let body = match self.http.read_body(resp, ERROR_BODY_LIMIT).await {
            Ok(body) => body,
            Err(_) => Bytes::new(),
        };
        self.refused_body(status, body).await
    }

    async fn refused_body(&self, status: StatusCode, body: Bytes) -> TransportError {
        if let Ok(msg) = jsonrpc::parse_from_server(body.clone())
            && msg.response_ids().next().is_some()
        {
            self.replies.deliver(msg).await;
        }
        self.http.status_error(status, &body)
    }

    /// Starts a new session after a 404, once for all the requests that saw it.
    async fn reinitialize(self: &Arc<Self>, failed_generation: u64) -> Result<(), TransportError> {
        let _one_at_a_time = self.reinit.lock().await;
        let (initialize, initialized) = {
            let s = self.lock();
            if s.generation != failed_generation {
                return Ok(()); // another request already did it
            }
            (s.initialize.clone(), s.initialized.clone())
        };
        let Some(initialize) = initialize else {
            return Err(self
                .http
                .protocol("ended the session (HTTP 404) before it was initialized"));
        };
        info!("the server ended the session (HTTP 404); starting a new one");
        self.stop_get_stream();
        let resp = self
            .http
            .post(&RequestHeaders::default(), initialize.bytes.clone())
            .await?;
        if !resp.status().is_success() {
            return Err(self.refused(resp).await);
        }
        let session_id = resp.headers().get("mcp-session-id").cloned();
        // The client has its answer to `initialize` already; the replayed
        // one is read only for the protocol version.
        let init_id = initialize.request_ids().next().cloned();
        let answer = match init_id {
            Some(id) => self.read_internal(resp, &id).await?,
            None => None,
        };
        let generation = {
            let mut s = self.lock();
            s.id = session_id;
            s.generation += 1;
            s.generation
        };
        if let Some(answer) = answer {
            self.adopt_protocol(jsonrpc::protocol_version(&answer));
        }
        if let Some(initialized) = initialized {
            let (headers, _) = self.headers();
            let resp = self.http.post(&headers, initialized.bytes).await?;
            if !resp.status().is_success() {
                warn!(
                    status = resp.status().as_u16(),
                    "the new session refused notifications/initialized"
                );
            }
        }
        let _ = tokio::time::timeout(GET_STREAM_WAIT, self.open_get_stream(generation)).await;
        Ok(())
    }

    /// Reads a response meant for Tether alone and returns the message that
    /// answers `id`.
    async fn read_internal(&self, resp: Response, id: &Id) -> Result<Option<Bytes>, TransportError> {
        if !is_sse(&resp) {
            let body = self.http.read_body(resp, self.http.max_message_size).await?;
            return Ok(jsonrpc::parse_from_server(body)
                .ok()
                .filter(|m| answers(m, id))
                .map(|m| m.bytes));
        }
        let mut events = Events::new(
            resp,
            self.http.max_message_size,
            &self.http.budget,
            Some(self.http.request_timeout),
        );
        while let Ok(event) = events.next().await {
            if event.is_message()
                && let Ok(m) = jsonrpc::parse_from_server(Bytes::from(event.data))
                && answers(&m, id)
            {
                return Ok(Some(m.bytes));
            }
        }
        Ok(None)
    }

    /// Opens the GET stream; the receiver fires once the server has
    /// answered the first GET (with a stream, 405, or an error).
    fn open_get_stream(self: &Arc<Self>, generation: u64) -> oneshot::Receiver<()> {
        let this = Arc::clone(self);
        let (opened, rx) = oneshot::channel();
        let task = tokio::spawn(async move { this.get_stream(generation, opened).await });
        if let Some(old) = lock(&self.get_stream).replace(task.abort_handle()) {
            old.abort();
        }
        rx
    }

    fn stop_get_stream(&self) {
        if let Some(task) = lock(&self.get_stream).take() {
            task.abort();
        }
    }

    /// The long-lived GET stream for server-initiated requests and
    /// notifications, reconnected with `Last-Event-ID` whenever it ends.
    async fn get_stream(self: Arc<Self>, generation: u64, opened: oneshot::Sender<()>) {
        let mut opened = Some(opened);
        let mut last_id: Option<String> = None;
        let mut retry: Option<Duration> = None;
        let mut failures: u32 = 0;
        loop {
            let (mut headers, current) = self.headers();
            if current != generation {
                return;
            }
            headers.last_event_id = last_id.as_deref().and_then(|id| HeaderValue::from_str(id).ok());
            let answer = self.http.send(Method::GET, self.http.url(), SSE, &headers, None).await;
            if let Some(opened) = opened.take() {
                let _ = opened.send(());
            }
            match answer {
                Ok(resp) if resp.status() == StatusCode::METHOD_NOT_ALLOWED => {
                    debug!("the server offers no stream for server-initiated messages (HTTP 405 on GET)");
                    return;
                }
                Ok(resp) if resp.status() == StatusCode::NOT_FOUND => {
                    if let Err(e) = self.reinitialize(generation).await {
                        warn!(error = %e, "could not start a new session");
                    }
                    return;
                }
                Ok(resp) if resp.status().is_success() && is_sse(&resp) => {
                    let opened = Instant::now();
                    let mut events = Events::new(resp, self.http.max_message_size, &self.http.budget, None);
                    events.last_id = last_id.take();
                    let mut got_any = false;
                    loop {
                        match events.next().await {
                            Ok(event) => {
                                got_any = true;
                                if event.is_message() {
                                    self.forward(Bytes::from(event.data), None).await;
                                }
                            }
                            Err(StreamEnd::TooLarge) => {
                                warn!(
                                    limit = self.http.max_message_size,
                                    "dropped a server message larger than --max-message-size"
                                );
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    last_id = events.last_id.take();
                    retry = events.retry.or(retry);
                    failures = if got_any || opened.elapsed() > Duration::from_secs(10) {
                        0
                    } else {
                        failures + 1
                    };
                    debug!("the GET stream ended; reconnecting");
                }
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_client_error()
                        && status != StatusCode::TOO_MANY_REQUESTS
                        && status != StatusCode::REQUEST_TIMEOUT
                    {
                        debug!(
                            status = status.as_u16(),
                            "the server refused the GET stream; server-initiated messages will come on responses only"
                        );
                        return;
                    }
                    failures += 1;
                }
                Err(e) => {
                    debug!(error = %e, "the GET stream failed");
                    failures += 1;
                }
            }
            let backoff = Duration::from_secs(1u64 << failures.min(6)).min(Duration::from_secs(60));
            let delay = if failures == 0 {
                retry_delay(retry)
            } else {
                backoff.max(retry_delay(retry))
            };
            tokio::time::sleep(delay).await;
        }
    }
}

/// The delay before reconnecting a stream: the server's `retry`, else the
/// default, never under the floor.
fn retry_delay(retry: Option<Duration>) -> Duration {
    retry.unwrap_or(DEFAULT_RETRY).max(MIN_RETRY)
}

fn is_sse(resp: &Response) -> bool {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/event-stream"))
}
