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
//! `initialize` is answered, because its answer carries the session. It opens
//! one remote session per stdio session and no probe sessions (MCP 2025-03-26
//! §"Backwards Compatibility": try POST of `initialize` first; on 400, 404 or
//! 405 fall back to GET for the SSE stream).
//!
//! Eras: a server may speak the 2025 handshake or the stateless 2026-07-28
//! revision ([`era`]). The client's `initialize` goes first either way, in a
//! form both can answer, so a 2025-era server costs nothing more; a modern
//! server's refusal of it switches to the translation within that same
//! `initialize` (2026-07-28 §"Streamable HTTP: Backward Compatibility").
//! What was learnt is remembered per server ([`EraMemory`]), and
//! `--protocol` pins it. A client that speaks the stateless wire itself is
//! passed through, with the headers that wire requires.
//!
//! Sign-in: when the server needs one, the message waits for the
//! [`TokenSource`](crate::auth::TokenSource)'s sign-in and is sent again. A
//! first sign-in that takes longer than a client waits for `initialize` puts
//! the session in the [`pending`] state until it completes.

pub mod era;
pub mod http;
mod legacy;
pub mod pending;
pub mod replies;
pub mod sse;
mod streamable;
#[cfg(test)]
mod tests;

use crate::sync::lock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::Shared;
use tokio::sync::{oneshot, watch};
use tracing::{debug, info, warn};

use crate::auth::AuthError;
use crate::config::{ProtocolMode, TransportMode};
use crate::jsonrpc::{self, Message};
pub use era::EraMemory;
use era::Modern;
use http::{Http, TransportError};
use legacy::{ConnectError, Legacy};
use pending::Pending;
use replies::{Awaiting, Replies};
use streamable::{Sent, Streamable};

#[derive(Clone)]
enum Active {
    Streamable(Arc<Streamable>),
    Legacy(Arc<Legacy>),
    Modern(Arc<Modern>),
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
    /// Answers given by the bridge while a first sign-in is pending.
    pending: Mutex<Option<Pending>>,
    finishing: AtomicBool,
    /// Where the server's answer to `initialize` is remembered, for the
    /// pending state of the next first sign-in.
    cache: Option<Arc<dyn InitializeCache>>,
    sign_in_wait: Duration,
    protocol: ProtocolMode,
    /// What era the server was found to speak, across starts.
    era: Option<Arc<dyn EraMemory>>,
    /// Whether the client has sent `initialize` (a client that has not, and
    /// names a version in `_meta`, speaks the stateless wire itself).
    handshake: AtomicBool,
    /// The write of what was learnt about the era, finished before exit.
    remembering: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Keeps the server's last answer to `initialize`.
pub trait InitializeCache: Send + Sync {
    /// The last answer (its `result`).
    fn load(&self) -> Option<serde_json::Value>;
    /// Remembers an answer's `result`.
    fn store(&self, result: serde_json::Value);
}

/// How long a message waits for a sign-in before the bridge answers for the
/// server, by default: under the 60 s Claude Desktop gives `initialize`.
pub const SIGN_IN_WAIT: Duration = Duration::from_secs(40);

impl Remote {
    /// A connection that is made when the first message arrives.
    pub fn new(
        http: Arc<Http>,
        replies: Arc<Replies>,
        mode: TransportMode,
        cache: Option<Arc<dyn InitializeCache>>,
        sign_in_wait: Duration,
    ) -> Arc<Self> {
        Self::with_era(http, replies, mode, cache, sign_in_wait, ProtocolMode::Auto, None)
    }

    /// [`new`](Self::new), speaking the era `protocol` says, with what was
    /// learnt about the server's era before.
    pub fn with_era(
        http: Arc<Http>,
        replies: Arc<Replies>,
        mode: TransportMode,
        cache: Option<Arc<dyn InitializeCache>>,
        sign_in_wait: Duration,
        protocol: ProtocolMode,
        era: Option<Arc<dyn EraMemory>>,
    ) -> Arc<Self> {
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
            pending: Mutex::new(None),
            finishing: AtomicBool::new(false),
            cache,
            sign_in_wait,
            protocol,
            era,
            handshake: AtomicBool::new(false),
            remembering: Mutex::new(None),
        })
    }

    /// Sends one message from the client, in the background, after the
    /// messages before it have started (see the module docs for the order).
    /// Every request in it gets exactly one reply: the server's, or an error
    /// saying what went wrong.
    pub fn dispatch(self: &Arc<Self>, msg: Message, awaiting: Awaiting) {
        let (release, previous) = self.enqueue();
        let this = Arc::clone(self);
        self.in_flight.send_modify(|n| *n += 1);
        tokio::spawn(async move {
            let _ = previous.await;
            this.send(msg, awaiting, release).await;
            this.in_flight.send_modify(|n| *n -= 1);
        });
    }

    /// A place in the order: the signal that lets the next message go, and
    /// the one to wait for.
    fn enqueue(&self) -> (oneshot::Sender<()>, Shared<oneshot::Receiver<()>>) {
        let (release, next) = oneshot::channel();
        let previous = std::mem::replace(&mut *lock(&self.last), next.shared());
        (release, previous)
    }

    /// Whether messages are still being sent or answered.
    pub fn busy(&self) -> bool {
        *self.in_flight.borrow() > 0
    }

    /// Resolves when every dispatched message is done.
    pub async fn idle(&self) {
        let _ = self.in_flight.subscribe().wait_for(|n| *n == 0).await;
    }

    async fn send(self: &Arc<Self>, msg: Message, mut awaiting: Awaiting, release: oneshot::Sender<()>) {
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
        let mut result = self.send_once(&msg, &mut awaiting).await;
        if matches!(result, Err(TransportError::SignInRequired { .. })) && self.http.auth().is_some() {
            result = self.sign_in_and_retry(&msg, &mut awaiting, result).await;
        }
        drop(release);
        if let Err(e) = result {
            tracing::warn!(method = msg.method().unwrap_or("-"), error = %e, "request failed");
            let ids: Vec<_> = awaiting.ids().cloned().collect();
            for id in ids {
                self.replies.fail(&id, &e).await;
            }
        }
    }

    async fn send_once(self: &Arc<Self>, msg: &Message, awaiting: &mut Awaiting) -> Result<(), TransportError> {
        if msg.is_initialize() {
            return self.initialize(msg, awaiting).await;
        }
        if self.answer_if_pending(msg).await {
            return Ok(());
        }
        if self.protocol != ProtocolMode::Legacy
            && !self.handshake.load(Ordering::Acquire)
            && msg.has_requests()
            && matches!(self.active(), Active::Streamable(_))
            && jsonrpc::meta_protocol_version(&msg.bytes).is_some()
        {
            info!("the client speaks the stateless MCP wire itself; passing its messages through");
            self.activate(Active::Modern(Modern::new(
                self.http.clone(),
                self.replies.clone(),
                false,
                &self.label(),
            )));
        }
        self.route(msg, awaiting).await
    }

    fn label(&self) -> String {
        self.http.url().host_str().unwrap_or("the MCP server").to_owned()
    }

    fn remember(&self, modern: bool) {
        if let Some(era) = self.era.clone() {
            // A durable write (fsync) has no place on the way to the
            // client's next message: it goes to the blocking pool.
            let write = tokio::task::spawn_blocking(move || {
                if era.modern() != modern {
                    era.remember(modern);
                }
            });
            *lock(&self.remembering) = Some(write);
        }
    }

    /// The server needs a sign-in: wait for it (it is shared by every
    /// message that needs it) and send the message again. When it takes
    /// longer than a client waits, `initialize` is answered by the bridge
    /// and the session is pending; other messages get a clear error.
    async fn sign_in_and_retry(
        self: &Arc<Self>,
        msg: &Message,
        awaiting: &mut Awaiting,
        first: Result<(), TransportError>,
    ) -> Result<(), TransportError> {
        let Some(auth) = self.http.auth().cloned() else {
            return first;
        };
        info!(server = %auth.label(), "sign-in needed; waiting for it");
        let shown_url = || self.http.shown_url().to_owned();
        match tokio::time::timeout(self.sign_in_wait, auth.sign_in()).await {
            Ok(Ok(())) => self.send_once(msg, awaiting).await,
            // No sign-in may start without a person (or the one open was not
            // completed): `initialize` is answered by the bridge, which waits
            // for a person to sign in; other requests hear what to do.
            Ok(Err(AuthError::SignInRequired(detail))) if msg.is_initialize() => {
                info!(server = %auth.label(), "{detail}");
                self.enter_pending(msg).await;
                Ok(())
            }
            Ok(Err(AuthError::SignInRequired(detail))) => Err(TransportError::SignInRequired {
                url: shown_url(),
                detail,
            }),
            Ok(Err(e)) => Err(TransportError::Auth {
                url: shown_url(),
                detail: e.to_string(),
            }),
            Err(_) if msg.is_initialize() => {
                self.enter_pending(msg).await;
                Ok(())
            }
            Err(_) => Err(TransportError::SignInRequired {
                url: shown_url(),
                detail: match auth.sign_in_hint() {
                    Some(host) => {
                        format!("finish signing in in the browser (at {host}), or run `tether login` in a terminal")
                    }
                    None => "a browser window is open to sign in".into(),
                },
            }),
        }
    }

    /// Answers `initialize` for the server and waits, in the background,
    /// for the sign-in to complete (see [`pending`]).
    async fn enter_pending(self: &Arc<Self>, init: &Message) {
        let label = self.http.auth().map_or_else(|| "the server".to_owned(), |a| a.label());
        let cached = self.cache.as_ref().and_then(|c| c.load());
        let p = Pending::new(&label, init.clone(), cached.as_ref());
        let answer = init.request_ids().next().map(|id| p.initialize_answer(id));
        *lock(&self.pending) = Some(p);
        warn!(server = %label, "the sign-in takes longer than the client waits; answering for the server until it is done");
        if let Some(answer) = answer.and_then(|a| jsonrpc::parse(a).ok()) {
            self.replies.deliver(answer).await;
        }
        self.finish_pending_later();
    }

    fn finish_pending_later(self: &Arc<Self>) {
        if self.finishing.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            // A token, whoever obtains it: the sign-in this bridge joined,
            // one the sign-in tool starts, `tether login`, the app.
            let signed_in = match this.http.auth() {
                Some(auth) => auth.wait_for_sign_in().await,
                None => Ok(()),
            };
            if let Err(e) = signed_in {
                warn!(error = %e, "cannot wait for the sign-in; the sign-in tool waits again");
                this.finishing.store(false, Ordering::Release);
                return;
            }
            // A place in the order: what the client sends from here on
            // goes to the real session.
            let (release, previous) = this.enqueue();
            let _ = previous.await;
            let taken = lock(&this.pending).take();
            if let Some(p) = taken {
                let mut nobody = Awaiting::none();
                match this.initialize(&p.initialize, &mut nobody).await {
                    Ok(()) => {
                        if let Some(n) = &p.initialized
                            && let Err(e) = this.route(n, &mut nobody).await
                        {
                            warn!(error = %e, "replaying notifications/initialized failed");
                        }
                        info!("signed in; the session is live");
                        for note in p.list_changed() {
                            this.replies.write(note).await;
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "the session could not start after sign-in");
                        *lock(&this.pending) = Some(p);
                    }
                }
            }
            drop(release);
            this.finishing.store(false, Ordering::Release);
        });
    }

    /// Answers `msg` from the pending state; false when not pending.
    async fn answer_if_pending(self: &Arc<Self>, msg: &Message) -> bool {
        {
            let mut guard = lock(&self.pending);
            let Some(p) = guard.as_mut() else { return false };
            if msg.is_initialized_notification() {
                p.initialized = Some(msg.clone());
                return true;
            }
        }
        // The sign-in tool: a person asks, through the model, for the page.
        let notice = match (pending::calls_sign_in_tool(msg), self.http.auth()) {
            (true, Some(auth)) => Some(auth.request_sign_in().await),
            _ => None,
        };
        let answer = {
            let guard = lock(&self.pending);
            match guard.as_ref() {
                Some(p) => {
                    let hint = self.http.auth().and_then(|a| a.sign_in_hint());
                    p.answer(msg, hint.as_deref(), notice.as_ref())
                }
                // Signed in while the tool asked: the session is being
                // started again; this answer says so.
                None if notice.is_some() => {
                    let label = self.http.auth().map_or_else(|| "the server".to_owned(), |a| a.label());
                    msg.request_ids().next().map(|id| pending::signed_in_answer(id, &label))
                }
                None => return false,
            }
        };
        // Waiting again, if the last wait ended.
        self.finish_pending_later();
        if let Some(a) = answer.and_then(|a| jsonrpc::parse(a).ok()) {
            self.replies.deliver(a).await;
        }
        true
    }

    /// Ends the session (DELETE for Streamable HTTP).
    pub async fn close(&self) {
        let write = lock(&self.remembering).take();
        if let Some(write) = write {
            let _ = tokio::time::timeout(Duration::from_secs(2), write).await;
        }
        match self.active() {
            Active::Streamable(s) => s.close().await,
            Active::Legacy(l) => l.close(),
            Active::Modern(m) => m.close(),
        }
    }

    fn active(&self) -> Active {
        lock(&self.active).clone()
    }

    fn activate(&self, next: Active) {
        *lock(&self.active) = next;
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
            Active::Modern(m) => m.send(msg).await,
        }
    }

    async fn initialize(&self, msg: &Message, awaiting: &mut Awaiting) -> Result<(), TransportError> {
        if let (Some(cache), Some(id)) = (&self.cache, msg.request_ids().next()) {
            let cache = cache.clone();
            self.replies.watch(id.clone(), move |answer| {
                if let Some(result) = jsonrpc::result_of(answer) {
                    cache.store(result);
                }
            });
        }
        self.handshake.store(true, Ordering::Release);
        match self.active() {
            // The client starts again (or its `initialize` is replayed after
            // a sign-in): the translation answers it again.
            Active::Modern(m) if m.translates() => return self.go_modern(msg, &[]).await,
            // A client of the stateless wire fell back to the handshake.
            Active::Modern(_) => self.activate(Active::Streamable(Streamable::new(
                self.http.clone(),
                self.replies.clone(),
            ))),
            _ => {}
        }
        let remembered = self.protocol == ProtocolMode::Auto && self.era.as_ref().is_some_and(|e| e.modern());
        if (self.protocol == ProtocolMode::Modern || remembered) && self.mode != TransportMode::SseOnly {
            let m = Modern::new(self.http.clone(), self.replies.clone(), true, &self.label());
            m.adopt_client(msg);
            match m.discover(&[]).await? {
                Some(d) => return self.adopt_modern(m, msg, &d).await,
                None if self.protocol == ProtocolMode::Modern => {
                    return Err(self.http.protocol(
                        "does not answer server/discover, so it does not speak MCP 2026-07-28 (--protocol 2026); try --protocol auto",
                    ));
                }
                None => {
                    info!("the server no longer speaks MCP 2026-07-28; starting with initialize");
                    self.remember(false);
                }
            }
        }
        match (self.mode, self.active()) {
            (TransportMode::HttpFirst | TransportMode::HttpOnly, Active::Streamable(s)) => {
                self.streamable_initialize(&s, msg, awaiting, self.mode == TransportMode::HttpFirst)
                    .await
            }
            (TransportMode::SseFirst, Active::Legacy(l)) if !l.is_connected() => match l.connect().await {
                Ok(()) => l.send(msg, awaiting).await,
                Err(ConnectError::Refused(sse_error)) => {
                    info!(error = %sse_error, "HTTP+SSE refused; trying Streamable HTTP");
                    let s = Streamable::new(self.http.clone(), self.replies.clone());
                    self.activate(Active::Streamable(s.clone()));
                    self.streamable_initialize(&s, msg, awaiting, false).await
                }
                Err(ConnectError::Failed(e)) => Err(e),
            },
            _ => self.route(msg, awaiting).await,
        }
    }

    /// Sends `initialize` on Streamable HTTP and follows what the answer
    /// says about the server's era: the legacy session, the HTTP+SSE
    /// fallback, or the translation to the stateless wire.
    async fn streamable_initialize(
        &self,
        s: &Arc<Streamable>,
        msg: &Message,
        awaiting: &mut Awaiting,
        may_fall_back: bool,
    ) -> Result<(), TransportError> {
        let probe = self.protocol == ProtocolMode::Auto;
        match s.send_probing(msg, awaiting, may_fall_back, probe).await? {
            Sent::Done => Ok(()),
            Sent::Modern(offered) => self.go_modern(msg, &offered).await,
            Sent::Declined(answer) => {
                // A JSON-RPC error to `initialize` may be a modern server
                // that does not know the method: `server/discover` tells.
                let m = Modern::new(self.http.clone(), self.replies.clone(), true, &self.label());
                m.adopt_client(msg);
                match m.discover(&[]).await {
                    Ok(Some(d)) => self.adopt_modern(m, msg, &d).await,
                    _ => {
                        self.replies.deliver(answer).await;
                        Ok(())
                    }
                }
            }
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
        }
    }

    /// Translates for the client from now on: `server/discover` (at one of
    /// the versions the server `offered`) answers its `initialize`.
    async fn go_modern(&self, msg: &Message, offered: &[String]) -> Result<(), TransportError> {
        let m = Modern::new(self.http.clone(), self.replies.clone(), true, &self.label());
        m.adopt_client(msg);
        match m.discover(offered).await? {
            Some(d) => self.adopt_modern(m, msg, &d).await,
            None => Err(self.http.protocol(
                "refused initialize the way an MCP 2026-07-28 server does, but did not answer server/discover",
            )),
        }
    }

    async fn adopt_modern(
        &self,
        m: Arc<Modern>,
        msg: &Message,
        d: &era::detect::Discovered,
    ) -> Result<(), TransportError> {
        if let Active::Modern(old) = self.active() {
            old.close();
        }
        self.activate(Active::Modern(m.clone()));
        self.remember(true);
        m.answer_initialize(msg, d).await;
        Ok(())
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
