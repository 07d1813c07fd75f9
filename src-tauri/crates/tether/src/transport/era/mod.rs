//! The MCP 2026-07-28 wire: stateless Streamable HTTP, and the translation
//! that lets a 2025-era client use it.
//!
//! Owns everything the bridge does once it knows the server is *modern*
//! (2026-07-28 §"Versioning: Terminology"): every request is its own POST
//! with `MCP-Protocol-Version` and the SEP-2243 headers ([`headers`]), its
//! answer comes on that POST (JSON or an SSE stream scoped to it), there is
//! no session, no GET stream and no resumption (a broken stream "loses the
//! request and the client MUST re-issue it with a new id", so it is
//! re-issued once, §"Transports: Receiving Messages").
//!
//! [`Modern`] runs in one of two ways:
//!
//! - **Translating** for a legacy client (Claude Desktop: `initialize`,
//!   `notifications/initialized`, then requests). The client's `initialize`
//!   is answered from `server/discover` at the version the client asked
//!   for; each request gets `_meta` with the protocol version and the
//!   client's capabilities and identity from its `initialize` (§"Basic:
//!   `_meta`"); `ping` is answered here and `logging/setLevel` becomes the
//!   per-request `io.modelcontextprotocol/logLevel`; an `input_required`
//!   result (SEP-2322, §"Multi Round-Trip Requests") becomes real
//!   `sampling/createMessage`, `elicitation/create` and `roots/list`
//!   requests to the client, whose answers go back with the server's
//!   `requestState` on a retry with a fresh id, until the result is
//!   complete (the client sees one request and one answer); change
//!   notifications come from a `subscriptions/listen` stream opened for the
//!   client, which `resources/subscribe` and `unsubscribe` re-open with
//!   the new set of URIs (§"Subscriptions").
//! - **Passing through** for a modern client: its messages go out as they
//!   are, with the headers added.
//!
//! Answers go back byte for byte; only the id of an answer to a retried
//! request is put back to the client's ([`splice`]), and tools whose
//! `x-mcp-header` annotations are invalid are taken out of `tools/list`
//! answers, as the spec requires of an HTTP client.

pub mod detect;
pub mod headers;
pub mod splice;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::Response;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;
use tracing::{debug, info, warn};

use super::http::{Http, RequestHeaders, TransportError};
use super::replies::{Replies, answers};
use super::sse::{Events, StreamEnd};
use crate::jsonrpc::{self, Id, Kind, Message};
use crate::sync::lock;
use detect::Discovered;
use headers::ParamHeader;

/// Rounds of input one request may ask for before the bridge gives up
/// (SEP-2322 leaves the bound to the client; mcp-remote uses 10 too).
pub const MAX_INPUT_ROUNDS: u32 = 10;
/// Bound on an error body kept for the message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Pages of `tools/list` read to learn a tool's headers after a
/// `HeaderMismatch`.
const RELIST_PAGES: usize = 20;

const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// What the legacy client said about itself in `initialize`.
#[derive(Debug, Clone)]
struct Client {
    /// The protocol version it asked for (its `initialize` answer names it).
    requested: String,
    /// `params.capabilities`, as JSON text.
    capabilities: String,
    /// `params.clientInfo`, as JSON text.
    info: Option<String>,
    sampling: bool,
    elicitation: bool,
    roots: bool,
}

impl Client {
    fn read(initialize: &[u8]) -> Client {
        #[derive(Deserialize)]
        struct I<'a> {
            #[serde(borrow)]
            params: Option<P<'a>>,
        }
        #[derive(Deserialize)]
        struct P<'a> {
            #[serde(rename = "protocolVersion")]
            protocol_version: Option<String>,
            #[serde(borrow)]
            capabilities: Option<&'a RawValue>,
            #[serde(borrow, rename = "clientInfo")]
            client_info: Option<&'a RawValue>,
        }
        let p = serde_json::from_slice::<I<'_>>(initialize).ok().and_then(|i| i.params);
        let capabilities = p
            .as_ref()
            .and_then(|p| p.capabilities)
            .filter(|c| c.get().starts_with('{'))
            .map_or_else(|| "{}".to_owned(), |c| c.get().to_owned());
        let caps: Value = serde_json::from_str(&capabilities).unwrap_or_default();
        Client {
            requested: p
                .as_ref()
                .and_then(|p| p.protocol_version.clone())
                .unwrap_or_else(|| "2025-11-25".into()),
            info: p.as_ref().and_then(|p| p.client_info).map(|c| c.get().to_owned()),
            sampling: caps.get("sampling").is_some(),
            elicitation: caps.get("elicitation").is_some(),
            roots: caps.get("roots").is_some(),
            capabilities,
        }
    }

    /// Whether the client declared the capability an input request needs
    /// (SEP-2322: a server "MUST NOT send an inputRequests that the client
    /// has not declared support for").
    fn handles(&self, method: &str) -> bool {
        match method {
            "sampling/createMessage" => self.sampling,
            "elicitation/create" => self.elicitation,
            "roots/list" => self.roots,
            _ => false,
        }
    }
}

#[derive(Default)]
struct State {
    version: String,
    client: Option<Client>,
    server_capabilities: Value,
    /// `logging/setLevel`'s level, as JSON text, sent on every request.
    log_level: Option<String>,
    /// URIs of `resources/subscribe`.
    resources: Vec<String>,
    /// The `Mcp-Param-*` headers of each tool, from `tools/list`.
    tools: HashMap<String, Vec<ParamHeader>>,
    initialized: bool,
}

/// What came back on one POST.
enum Exchange {
    /// The answer to the request (its bytes, with the id it was sent with).
    Answer(Bytes),
    /// The stream or connection broke before the answer.
    Broken(TransportError),
}

/// A client's answer to one of the bridge's input requests.
enum ClientAnswer {
    Result(String),
    Error(String),
}

/// The stateless 2026-07-28 wire, for a legacy client (translating) or a
/// modern one (passing through).
pub struct Modern {
    http: Arc<Http>,
    replies: Arc<Replies>,
    translate: bool,
    label: String,
    state: Mutex<State>,
    /// The bridge's own requests to the client, waiting for its answers.
    asked: Mutex<HashMap<Id, oneshot::Sender<ClientAnswer>>>,
    /// The client's requests in flight, to stop when it cancels one.
    in_flight: Mutex<HashMap<Id, oneshot::Sender<()>>>,
    next: AtomicU64,
    listen: Mutex<Option<AbortHandle>>,
}

impl Modern {
    /// The wire to a modern server. `translate` when the client speaks the
    /// 2025 handshake; `label` names the server in a made-up `serverInfo`.
    pub fn new(http: Arc<Http>, replies: Arc<Replies>, translate: bool, label: &str) -> Arc<Self> {
        Arc::new(Self {
            http,
            replies,
            translate,
            label: label.to_owned(),
            state: Mutex::new(State {
                version: detect::LATEST.to_owned(),
                server_capabilities: Value::Object(Default::default()),
                ..Default::default()
            }),
            asked: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            listen: Mutex::new(None),
        })
    }

    /// Whether this translates for a legacy client.
    pub fn translates(&self) -> bool {
        self.translate
    }

    /// The modern version in use.
    pub fn version(&self) -> String {
        self.lock().version.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn fresh_id(&self, what: &str) -> Id {
        Id::string(&format!("tether-{what}-{}", self.next.fetch_add(1, Ordering::Relaxed)))
    }

    /// Remembers the legacy client's `initialize` (its capabilities and
    /// identity go on every request).
    pub fn adopt_client(&self, initialize: &Message) {
        self.lock().client = Some(Client::read(&initialize.bytes));
    }

    /// Asks `server/discover`, at the newest version both speak among
    /// `offered` (the server's own list, when it gave one). `Ok(None)` when
    /// the answer shows a legacy server.
    pub async fn discover(&self, offered: &[String]) -> Result<Option<Discovered>, TransportError> {
        let mut offered = offered.to_vec();
        for _ in 0..2 {
            let version = detect::choose_version(&offered).ok_or_else(|| {
                self.http.protocol(format!(
                    "speaks only MCP {}, none of which Tether speaks",
                    offered.join(", ")
                ))
            })?;
            self.lock().version = version.to_owned();
            let id = self.fresh_id("discover");
            let body = Bytes::from(format!(
                r#"{{"jsonrpc":"2.0","id":{},"method":"server/discover","params":{{"_meta":{{{}}}}}}}"#,
                id.as_json(),
                self.meta_members()
            ));
            let answer = match self.exchange_once(body, "server/discover", None, &id).await {
                Ok(Exchange::Answer(a)) => a,
                Ok(Exchange::Broken(e)) => return Err(e),
                Err(TransportError::Status {
                    status: 400 | 404 | 405,
                    ..
                }) => return Ok(None),
                Err(e) => return Err(e),
            };
            if let Some(e) = detect::rpc_error(&answer) {
                if e.code == detect::UNSUPPORTED_VERSION && !e.supported.is_empty() && e.supported != offered {
                    offered = e.supported;
                    continue;
                }
                debug!(code = e.code, message = %e.message, "server/discover was refused");
                return Ok(None);
            }
            let Some(d) = result_of(&answer).and_then(|r| detect::discovered(&r)) else {
                return Ok(None);
            };
            if !d.supported_versions.iter().any(|v| *v == version)
                && let Some(better) = detect::choose_version(&d.supported_versions)
            {
                self.lock().version = better.to_owned();
            }
            self.lock().server_capabilities = d.capabilities.clone();
            return Ok(Some(d));
        }
        Ok(None)
    }

    /// Answers the legacy client's `initialize` from `discovered`.
    pub async fn answer_initialize(&self, initialize: &Message, discovered: &Discovered) {
        let Some(id) = initialize.request_ids().next() else {
            return;
        };
        let requested = self
            .lock()
            .client
            .as_ref()
            .map_or_else(|| "2025-11-25".to_owned(), |c| c.requested.clone());
        let result = detect::initialize_result(discovered, &requested, &self.label);
        info!(
            server_version = %self.version(),
            client_version = %requested,
            "the server speaks the stateless MCP {}; translating for the client",
            self.version()
        );
        self.deliver_line(result_line(id, &result.to_string())).await;
    }

    /// Handles one message from the client.
    pub async fn send(self: &Arc<Self>, msg: &Message) -> Result<(), TransportError> {
        if msg.batch {
            // JSON-RPC batches left MCP in 2025-06-18; the stateless wire
            // has one message per POST.
            for id in msg.request_ids() {
                let line = jsonrpc::error_reply(
                    Some(id),
                    jsonrpc::INVALID_REQUEST,
                    "Invalid Request: the server speaks MCP 2026-07-28, which has no batches",
                    None,
                );
                self.deliver_line(line).await;
            }
            return Ok(());
        }
        match &msg.parts[0] {
            Kind::Response { id } => {
                self.client_answered(id, &msg.bytes);
                Ok(())
            }
            Kind::Notification { method } => {
                self.notification(method, msg).await;
                Ok(())
            }
            Kind::Request { id, method } => {
                if self.translate && self.answer_here(id, method, msg).await {
                    return Ok(());
                }
                self.request(msg, id, method).await
            }
        }
    }

    /// The requests of the 2025 handshake era that the stateless wire does
    /// not have, answered here. Returns whether `method` was one.
    async fn answer_here(self: &Arc<Self>, id: &Id, method: &str, msg: &Message) -> bool {
        match method {
            // 2026-07-28 removed `ping`; the bridge itself is alive.
            "ping" => {}
            // SEP-2577: the level is sent with every request instead.
            "logging/setLevel" => {
                let level = param(&msg.bytes, "level");
                self.lock().log_level = level;
            }
            // §"Subscriptions": `resourceSubscriptions` of the listen
            // stream replaces `resources/subscribe`.
            "resources/subscribe" | "resources/unsubscribe" => {
                let Some(uri) = param(&msg.bytes, "uri").and_then(|u| serde_json::from_str::<String>(&u).ok()) else {
                    return false;
                };
                {
                    let mut s = self.lock();
                    s.resources.retain(|u| *u != uri);
                    if method == "resources/subscribe" {
                        s.resources.push(uri);
                    }
                }
                self.open_listen();
            }
            _ => return false,
        }
        self.deliver_line(result_line(id, "{}")).await;
        true
    }

    async fn notification(self: &Arc<Self>, method: &str, msg: &Message) {
        match method {
            "notifications/cancelled" => {
                // On the stateless wire closing the response stream is the
                // cancellation (§"Cancellation"); nothing is sent.
                if let Some(id) = jsonrpc::cancelled_request(&msg.bytes)
                    && let Some(stop) = lock(&self.in_flight).remove(&id)
                {
                    let _ = stop.send(());
                }
            }
            "notifications/initialized" if self.translate => {
                self.lock().initialized = true;
                self.open_listen();
            }
            _ if self.translate => {
                // `notifications/roots/list_changed` and the like have no
                // counterpart: roots are asked for with each request.
                debug!(method, "a client notification the stateless wire has no use for");
            }
            _ => {
                let headers = self.headers_for(method, &msg.bytes, None);
                match self.http.post(&headers, msg.bytes.clone()).await {
                    Ok(resp) if !resp.status().is_success() => {
                        debug!(
                            method,
                            status = resp.status().as_u16(),
                            "the server refused a notification"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => debug!(method, error = %e, "a notification was not delivered"),
                }
            }
        }
    }

    /// The client answered one of the bridge's input requests.
    fn client_answered(&self, id: &Id, bytes: &[u8]) {
        #[derive(Deserialize)]
        struct R<'a> {
            #[serde(borrow)]
            result: Option<&'a RawValue>,
            #[serde(borrow)]
            error: Option<&'a RawValue>,
        }
        let Some(waiting) = lock(&self.asked).remove(id) else {
            debug!(%id, "an answer from the client to no request of the bridge");
            return;
        };
        let answer = match serde_json::from_slice::<R<'_>>(bytes) {
            Ok(R { result: Some(r), .. }) => ClientAnswer::Result(r.get().to_owned()),
            Ok(R { error: Some(e), .. }) => ClientAnswer::Error(e.get().to_owned()),
            _ => ClientAnswer::Error(r#"{"code":-32603,"message":"no result"}"#.into()),
        };
        let _ = waiting.send(answer);
    }

    /// One client request, to its final answer.
    async fn request(self: &Arc<Self>, msg: &Message, id: &Id, method: &str) -> Result<(), TransportError> {
        let (stop, mut stopped) = oneshot::channel();
        lock(&self.in_flight).insert(id.clone(), stop);
        let result = self.request_rounds(msg, id, method, &mut stopped).await;
        lock(&self.in_flight).remove(id);
        result
    }

    async fn request_rounds(
        self: &Arc<Self>,
        msg: &Message,
        client_id: &Id,
        method: &str,
        stopped: &mut oneshot::Receiver<()>,
    ) -> Result<(), TransportError> {
        let base = if self.translate {
            let entries = self.meta_entries();
            let entries: Vec<(&str, &str)> = entries.iter().map(|(k, v)| (*k, v.as_str())).collect();
            splice::with_meta(&msg.bytes, &entries).unwrap_or_else(|| msg.bytes.clone())
        } else {
            msg.bytes.clone()
        };
        let args = if method == "tools/call" {
            arguments(&msg.bytes)
        } else {
            None
        };
        let mut headers = self.headers_for(method, &msg.bytes, args.as_ref());
        // The listen stream stays open as long as the subscription: only a
        // request with an answer to wait for has a timeout.
        let idle = (method != "subscriptions/listen").then_some(self.http.request_timeout);
        let mut body = base.clone();
        let mut id = client_id.clone();
        let mut reissued = false;
        let mut relisted = false;
        let mut round = 0;
        loop {
            let exchange = tokio::select! {
                r = self.exchange(body.clone(), &headers, idle, &id) => r?,
                _ = &mut *stopped => {
                    debug!(%client_id, "the client cancelled the request; its stream is closed");
                    return Ok(());
                }
            };
            let answer = match exchange {
                Exchange::Answer(a) => a,
                Exchange::Broken(e) if !reissued => {
                    // §"Receiving Messages": a broken stream is not
                    // resumable; the request is sent again with a new id.
                    warn!(method, error = %e, "the response stream broke; sending the request again");
                    reissued = true;
                    id = self.fresh_id("retry");
                    body = splice::with_id(&body, id.as_json()).unwrap_or(body);
                    continue;
                }
                Exchange::Broken(e) => return Err(e),
            };
            if method == "tools/call"
                && !relisted
                && detect::rpc_error(&answer).is_some_and(|e| e.code == detect::HEADER_MISMATCH)
            {
                // §"Client Behavior": re-list the tools, then retry with the
                // headers their schemas call for.
                relisted = true;
                info!("the server refused a tool call's headers; listing its tools again");
                self.relist_tools().await;
                headers = self.headers_for(method, &msg.bytes, args.as_ref());
                id = self.fresh_id("retry");
                body = splice::with_id(&body, id.as_json()).unwrap_or(body);
                continue;
            }
            if self.translate {
                match result_kind(&answer) {
                    ResultKind::Complete => {}
                    ResultKind::InputRequired { requests, state } => {
                        round += 1;
                        if round > MAX_INPUT_ROUNDS {
                            return Err(self.http.protocol(format!(
                                "asked for more input {MAX_INPUT_ROUNDS} times in a row for one {method}; Tether stopped there"
                            )));
                        }
                        let Some(responses) = self.ask_client(method, requests, stopped).await? else {
                            return Ok(()); // cancelled
                        };
                        let mut members: Vec<(&str, &str)> = vec![("inputResponses", &responses)];
                        if let Some(s) = &state {
                            members.push(("requestState", s.get()));
                        }
                        id = self.fresh_id("input");
                        body = splice::with_params(&base, &members)
                            .and_then(|b| splice::with_id(&b, id.as_json()))
                            .ok_or_else(|| self.http.protocol("sent a request Tether could not retry"))?;
                        reissued = false;
                        continue;
                    }
                    ResultKind::Other(kind) => {
                        warn!(method, result_type = %kind, "a result type this client cannot be given");
                        return Err(self.http.protocol(format!(
                            "answered {method} with a result of type \"{kind}\", which a client of the 2025 handshake era cannot receive"
                        )));
                    }
                }
            }
            let answer = if method == "tools/list" {
                self.learn_tools(answer)
            } else {
                answer
            };
            let answer = if id == *client_id {
                answer
            } else {
                splice::with_id(&answer, client_id.as_json()).unwrap_or(answer)
            };
            self.deliver_line(answer).await;
            return Ok(());
        }
    }

    /// Asks the client for the input the server wants, as the requests the
    /// client knows (SEP-2322 `inputRequests`), and returns the
    /// `inputResponses` object. `None` when the client cancelled.
    async fn ask_client(
        &self,
        method: &str,
        requests: Vec<(String, Box<RawValue>)>,
        stopped: &mut oneshot::Receiver<()>,
    ) -> Result<Option<String>, TransportError> {
        #[derive(Deserialize)]
        struct InputRequest<'a> {
            method: String,
            #[serde(borrow)]
            params: Option<&'a RawValue>,
        }
        let client = self.lock().client.clone();
        let mut waiting = Vec::new();
        for (key, raw) in &requests {
            let r: InputRequest<'_> = serde_json::from_str(raw.get()).map_err(|_| {
                self.http
                    .protocol(format!("sent an input request \"{key}\" that is not a request"))
            })?;
            if !client.as_ref().is_some_and(|c| c.handles(&r.method)) {
                self.forget(&waiting);
                return Err(self.http.protocol(format!(
                    "needs {} to answer {method}, which the client did not declare it supports",
                    r.method
                )));
            }
            let id = self.fresh_id("input");
            let (tx, rx) = oneshot::channel();
            lock(&self.asked).insert(id.clone(), tx);
            let params = r
                .params
                .map(|p| format!(r#","params":{}"#, p.get()))
                .unwrap_or_default();
            let line = format!(
                r#"{{"jsonrpc":"2.0","id":{},"method":{}{params}}}"#,
                id.as_json(),
                Value::from(r.method.as_str())
            );
            self.replies.write(Bytes::from(line)).await;
            waiting.push((key.clone(), r.method, id, rx));
        }
        debug!(count = waiting.len(), "asked the client for the input the server needs");
        let ids: Vec<Id> = waiting.iter().map(|(_, _, id, _)| id.clone()).collect();
        let all = futures_util::future::join_all(
            waiting
                .into_iter()
                .map(|(key, m, _, rx)| async move { (key, m, rx.await) }),
        );
        let answers = tokio::select! {
            a = tokio::time::timeout(self.http.request_timeout, all) => match a {
                Ok(a) => a,
                Err(_) => {
                    self.cancel_asks(&ids, "timed out").await;
                    return Err(self.http.protocol(format!(
                        "asked the client questions it did not answer within {} s (--request-timeout)",
                        self.http.request_timeout.as_secs()
                    )));
                }
            },
            _ = &mut *stopped => {
                self.cancel_asks(&ids, "the request was cancelled").await;
                return Ok(None);
            }
        };
        let mut out = String::from("{");
        for (i, (key, m, answer)) in answers.into_iter().enumerate() {
            let value = match answer {
                Ok(ClientAnswer::Result(r)) => r,
                Ok(ClientAnswer::Error(e)) => {
                    let message = serde_json::from_str::<Value>(&e)
                        .ok()
                        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                        .unwrap_or(e);
                    return Err(self
                        .http
                        .protocol(format!("needed {m} from the client, which refused it: {message}")));
                }
                Err(_) => return Err(self.http.protocol("asked the client a question whose answer was lost")),
            };
            if i > 0 {
                out.push(',');
            }
            out.push_str(&Value::from(key).to_string());
            out.push(':');
            out.push_str(&value);
        }
        out.push('}');
        Ok(Some(out))
    }

    fn forget(&self, waiting: &[(String, String, Id, oneshot::Receiver<ClientAnswer>)]) {
        let mut asked = lock(&self.asked);
        for (_, _, id, _) in waiting {
            asked.remove(id);
        }
    }

    /// Withdraws the bridge's own requests to the client (MCP 2025-11-25
    /// §"Cancellation": either side may cancel its request).
    async fn cancel_asks(&self, ids: &[Id], reason: &str) {
        for id in ids {
            if lock(&self.asked).remove(id).is_some() {
                let line = format!(
                    r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{},"reason":{}}}}}"#,
                    id.as_json(),
                    Value::from(reason)
                );
                self.replies.write(Bytes::from(line)).await;
            }
        }
    }

    /// Records the headers each listed tool's arguments go into, and takes
    /// out the tools whose annotations are invalid (§"Schema Extension":
    /// "the client MUST exclude the invalid tool from the result of
    /// `tools/list`").
    fn learn_tools(&self, answer: Bytes) -> Bytes {
        #[derive(Deserialize)]
        struct A {
            result: Option<L>,
        }
        #[derive(Deserialize)]
        struct L {
            #[serde(default)]
            tools: Vec<T>,
        }
        #[derive(Deserialize)]
        struct T {
            name: String,
            #[serde(rename = "inputSchema", default)]
            input_schema: Value,
        }
        let Some(listing) = serde_json::from_slice::<A>(&answer).ok().and_then(|a| a.result) else {
            return answer;
        };
        let mut rejected = Vec::new();
        {
            let mut s = self.lock();
            for t in listing.tools {
                match headers::tool_headers(&t.input_schema) {
                    Ok(h) if h.is_empty() => {
                        s.tools.remove(&t.name);
                    }
                    Ok(h) => {
                        s.tools.insert(t.name, h);
                    }
                    Err(why) => {
                        warn!(tool = %t.name, "the server's tool is left out: {why} (MCP 2026-07-28 x-mcp-header rules)");
                        s.tools.remove(&t.name);
                        rejected.push(t.name);
                    }
                }
            }
        }
        if rejected.is_empty() {
            return answer;
        }
        #[derive(Deserialize)]
        struct Named {
            name: Option<String>,
        }
        splice::retain_tools(&answer, |raw| {
            serde_json::from_str::<Named>(raw.get())
                .ok()
                .and_then(|n| n.name)
                .is_none_or(|n| !rejected.contains(&n))
        })
        .unwrap_or(answer)
    }

    /// Lists the tools again (every page), for their headers.
    async fn relist_tools(&self) {
        let mut cursor: Option<String> = None;
        for _ in 0..RELIST_PAGES {
            let id = self.fresh_id("tools");
            let cursor_member = cursor
                .as_ref()
                .map(|c| format!(r#","cursor":{}"#, Value::from(c.as_str())))
                .unwrap_or_default();
            let body = Bytes::from(format!(
                r#"{{"jsonrpc":"2.0","id":{},"method":"tools/list","params":{{"_meta":{{{}}}{cursor_member}}}}}"#,
                id.as_json(),
                self.meta_members()
            ));
            let Ok(Exchange::Answer(answer)) = self.exchange_once(body, "tools/list", None, &id).await else {
                return;
            };
            self.learn_tools(answer.clone());
            cursor = result_of(&answer)
                .and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
                .and_then(|r| r.get("nextCursor").and_then(Value::as_str).map(str::to_owned));
            if cursor.is_none() {
                return;
            }
        }
    }

    /// The `_meta` entries a translated request carries.
    fn meta_entries(&self) -> Vec<(&'static str, String)> {
        let s = self.lock();
        let mut out = vec![(PROTOCOL_VERSION, Value::from(s.version.as_str()).to_string())];
        if let Some(c) = &s.client {
            out.push((CLIENT_CAPABILITIES, c.capabilities.clone()));
            if let Some(info) = &c.info {
                out.push((CLIENT_INFO, info.clone()));
            }
        } else {
            out.push((CLIENT_CAPABILITIES, "{}".into()));
        }
        if let Some(level) = &s.log_level {
            out.push((LOG_LEVEL, level.clone()));
        }
        out
    }

    fn meta_members(&self) -> String {
        self.meta_entries()
            .iter()
            .map(|(k, v)| format!("{}:{v}", Value::from(*k)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The headers of one POST: the protocol version (this translation's, or
    /// the one a modern client's `_meta` names), `Mcp-Method`, `Mcp-Name`
    /// and the tool's `Mcp-Param-*` headers.
    fn headers_for(&self, method: &str, body: &[u8], args: Option<&Value>) -> RequestHeaders {
        let mut h = RequestHeaders::default();
        let (name, meta_version) = name_and_version(body, headers::name_source(method));
        let version = if self.translate {
            Some(self.version())
        } else {
            meta_version.or_else(|| Some(self.version()))
        };
        h.protocol_version = version.and_then(|v| HeaderValue::from_str(&v).ok());
        if let Some(m) = headers::method(method) {
            h.mcp.push((headers::MCP_METHOD, m));
        }
        if let Some(n) = &name {
            h.mcp.push((headers::MCP_NAME, headers::encode(n)));
        }
        if method == "tools/call"
            && let Some(tool) = &name
        {
            let s = self.lock();
            if let Some(params) = s.tools.get(tool) {
                h.mcp.extend(headers::param_values(params, args));
            }
        }
        h
    }

    /// One POST with its method's headers, not cancellable.
    async fn exchange_once(
        &self,
        body: Bytes,
        method: &str,
        idle: Option<Duration>,
        id: &Id,
    ) -> Result<Exchange, TransportError> {
        let headers = self.headers_for(method, &body, None);
        self.exchange(body, &headers, idle.or(Some(self.http.request_timeout)), id)
            .await
    }

    /// POSTs one request and reads what comes back until its answer:
    /// notifications on the way are relayed to the client.
    async fn exchange(
        &self,
        body: Bytes,
        headers: &RequestHeaders,
        idle: Option<Duration>,
        id: &Id,
    ) -> Result<Exchange, TransportError> {
        let resp = self.http.post(headers, body).await?;
        let status = resp.status();
        if !status.is_success() {
            let body = self.http.read_body(resp, ERROR_BODY_LIMIT).await.unwrap_or_default();
            return match self.answer_in(&body, id) {
                Some(answer) => Ok(Exchange::Answer(answer)),
                None => Err(self.http.status_error(status, &body)),
            };
        }
        if !is_sse(&resp) {
            let body = match self.http.read_body(resp, self.http.max_message_size).await {
                Ok(b) => b,
                Err(e @ TransportError::Protocol { .. }) => return Ok(Exchange::Broken(e)),
                Err(e) => return Err(e),
            };
            if body.iter().all(u8::is_ascii_whitespace) {
                return Err(self.http.protocol(format!(
                    "answered a request with HTTP {} and no body; the 2026-07-28 wire answers on the same POST",
                    status.as_u16()
                )));
            }
            return match self.answer_in(&body, id) {
                Some(answer) => Ok(Exchange::Answer(answer)),
                None => Err(self.http.not_json_rpc(status, &body)),
            };
        }
        let mut events = Events::new(resp, self.http.max_message_size, &self.http.budget, idle);
        loop {
            match events.next().await {
                Ok(event) if event.is_message() => {
                    let Ok(m) = jsonrpc::parse_from_server(Bytes::from(event.data)) else {
                        warn!("dropped a message from the server that is not JSON-RPC");
                        continue;
                    };
                    if answers(&m, id) {
                        return Ok(Exchange::Answer(m.bytes));
                    }
                    self.relay(m).await;
                }
                Ok(_) => {}
                Err(StreamEnd::Closed) => {
                    return Ok(Exchange::Broken(
                        self.http.protocol("closed the response stream before answering"),
                    ));
                }
                Err(StreamEnd::Idle) => return Err(self.http.timeout()),
                Err(StreamEnd::TooLarge) => {
                    return Err(TransportError::TooLarge {
                        limit: self.http.max_message_size,
                    });
                }
            }
        }
    }

    /// The answer to `id` in a body, or an error answer for `id` made from a
    /// JSON-RPC error the server sent without an id.
    fn answer_in(&self, body: &[u8], id: &Id) -> Option<Bytes> {
        if let Ok(m) = jsonrpc::parse_from_server(Bytes::copy_from_slice(body))
            && answers(&m, id)
        {
            return Some(m.bytes);
        }
        let e = detect::rpc_error(body)?;
        Some(jsonrpc::error_reply(Some(id), e.code, &e.message, None))
    }

    /// A message the server sent on a response stream that is not the answer.
    async fn relay(&self, m: Message) {
        match m.parts.as_slice() {
            [Kind::Notification { method }]
                if self.translate && method == "notifications/subscriptions/acknowledged" =>
            {
                debug!("the server acknowledged the subscription");
            }
            [Kind::Request { method, .. }] => {
                // §"Receiving Messages": servers MUST NOT send requests on
                // this wire (input comes through MRTR); nobody could answer.
                warn!(method, "dropped a request the server sent on a response stream");
            }
            [Kind::Response { .. }] | [] => {}
            _ => self.replies.deliver(m).await,
        }
    }

    async fn deliver_line(&self, line: Bytes) {
        match jsonrpc::parse_from_server(line) {
            Ok(m) => self.replies.deliver(m).await,
            Err(r) => warn!(reason = %r.reason, "an answer could not be read back"),
        }
    }

    /// Opens (or re-opens with the current filter) the `subscriptions/listen`
    /// stream the legacy client's change notifications come on.
    fn open_listen(self: &Arc<Self>) {
        let filter = {
            let s = self.lock();
            if !s.initialized {
                return;
            }
            listen_filter(&s.server_capabilities, &s.resources)
        };
        let old = lock(&self.listen).take();
        if let Some(old) = old {
            old.abort();
        }
        let Some(filter) = filter else { return };
        let this = Arc::clone(self);
        let task = tokio::spawn(async move { this.listen_loop(filter).await });
        *lock(&self.listen) = Some(task.abort_handle());
    }

    async fn listen_loop(self: Arc<Self>, filter: String) {
        let mut failures: u32 = 0;
        loop {
            let id = self.fresh_id("listen");
            let body = Bytes::from(format!(
                r#"{{"jsonrpc":"2.0","id":{},"method":"subscriptions/listen","params":{{"notifications":{filter},"_meta":{{{}}}}}}}"#,
                id.as_json(),
                self.meta_members()
            ));
            let headers = self.headers_for("subscriptions/listen", &body, None);
            match self.exchange(body, &headers, None, &id).await {
                Ok(Exchange::Answer(a)) if detect::rpc_error(&a).is_some() => {
                    debug!(answer = %String::from_utf8_lossy(&a), "the server refused subscriptions/listen; no change notifications");
                    return;
                }
                Ok(Exchange::Answer(_)) => {
                    debug!("the server ended the subscription; listening again");
                    failures = 0;
                }
                Ok(Exchange::Broken(e)) => {
                    debug!(error = %e, "the subscription stream broke; listening again");
                    failures += 1;
                }
                Err(TransportError::Status { status, .. }) if (400..500).contains(&status) && status != 429 => {
                    debug!(
                        status,
                        "the server refused subscriptions/listen; no change notifications"
                    );
                    return;
                }
                Err(e) => {
                    debug!(error = %e, "subscriptions/listen failed");
                    failures += 1;
                }
            }
            let delay = Duration::from_secs(1u64 << failures.min(6)).min(Duration::from_secs(60));
            tokio::time::sleep(delay).await;
        }
    }

    /// Stops the listen stream.
    pub fn close(&self) {
        if let Some(task) = lock(&self.listen).take() {
            task.abort();
        }
    }
}

/// The `subscriptions/listen` filter for a legacy client: the list changes
/// the server announces, and the resources it subscribed to (§"Subscriptions":
/// each notification type is opt-in). `None` when there is nothing to hear.
fn listen_filter(capabilities: &Value, resources: &[String]) -> Option<String> {
    let on =
        |cap: &str, flag: &str| capabilities.get(cap).and_then(|c| c.get(flag)).and_then(Value::as_bool) == Some(true);
    let mut filter = serde_json::Map::new();
    for (cap, key) in [
        ("tools", "toolsListChanged"),
        ("prompts", "promptsListChanged"),
        ("resources", "resourcesListChanged"),
    ] {
        if on(cap, "listChanged") {
            filter.insert(key.into(), true.into());
        }
    }
    if !resources.is_empty() {
        filter.insert("resourceSubscriptions".into(), resources.to_vec().into());
    }
    (!filter.is_empty()).then(|| Value::Object(filter).to_string())
}

/// What a result asks of the client.
enum ResultKind {
    /// Final (`resultType` "complete", or absent: "the client MUST treat the
    /// absent field as complete").
    Complete,
    InputRequired {
        requests: Vec<(String, Box<RawValue>)>,
        state: Option<Box<RawValue>>,
    },
    Other(String),
}

fn result_kind(answer: &[u8]) -> ResultKind {
    #[derive(Deserialize)]
    struct A {
        result: Option<R>,
    }
    #[derive(Deserialize)]
    struct R {
        #[serde(rename = "resultType")]
        result_type: Option<String>,
        #[serde(rename = "inputRequests")]
        input_requests: Option<BTreeMap<String, Box<RawValue>>>,
        #[serde(rename = "requestState")]
        request_state: Option<Box<RawValue>>,
    }
    let Some(r) = serde_json::from_slice::<A>(answer).ok().and_then(|a| a.result) else {
        return ResultKind::Complete; // an error, or not a result at all
    };
    match r.result_type.as_deref() {
        None | Some("complete") => ResultKind::Complete,
        Some("input_required") => ResultKind::InputRequired {
            requests: r.input_requests.unwrap_or_default().into_iter().collect(),
            state: r.request_state,
        },
        Some(other) => ResultKind::Other(other.to_owned()),
    }
}

/// `result` of an answer, as raw JSON.
fn result_of(answer: &[u8]) -> Option<Box<RawValue>> {
    #[derive(Deserialize)]
    struct A {
        result: Option<Box<RawValue>>,
    }
    serde_json::from_slice::<A>(answer).ok()?.result
}

/// `params.<key>` of a request, as raw JSON text.
fn param(body: &[u8], key: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct R {
        params: Option<BTreeMap<String, Box<RawValue>>>,
    }
    let mut p = serde_json::from_slice::<R>(body).ok()?.params?;
    p.remove(key).map(|v| v.get().to_owned())
}

/// `params.arguments` of a `tools/call`.
fn arguments(body: &[u8]) -> Option<Value> {
    #[derive(Deserialize)]
    struct R {
        params: Option<P>,
    }
    #[derive(Deserialize)]
    struct P {
        arguments: Option<Value>,
    }
    serde_json::from_slice::<R>(body).ok()?.params?.arguments
}

/// The `Mcp-Name` source (`params.name` or `params.uri`) and the `_meta`
/// protocol version of a request, in one read.
fn name_and_version(body: &[u8], name_key: Option<&str>) -> (Option<String>, Option<String>) {
    #[derive(Deserialize)]
    struct R {
        params: Option<P>,
    }
    #[derive(Deserialize)]
    struct P {
        name: Option<Value>,
        uri: Option<Value>,
        #[serde(rename = "_meta")]
        meta: Option<M>,
    }
    #[derive(Deserialize)]
    struct M {
        #[serde(rename = "io.modelcontextprotocol/protocolVersion")]
        version: Option<Value>,
    }
    let Some(p) = serde_json::from_slice::<R>(body).ok().and_then(|r| r.params) else {
        return (None, None);
    };
    let name = match name_key {
        Some("name") => p.name,
        Some("uri") => p.uri,
        _ => None,
    }
    .and_then(|v| v.as_str().map(str::to_owned));
    let version = p
        .meta
        .and_then(|m| m.version)
        .and_then(|v| v.as_str().map(str::to_owned));
    (name, version)
}

fn result_line(id: &Id, result: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#,
        id.as_json()
    ))
}

fn is_sse(resp: &Response) -> bool {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/event-stream"))
}

/// Remembers which era a server speaks, so the next start goes straight to
/// it (2026-07-28 §"Versioning": clients "MAY persist it across restarts of
/// the same server configuration, re-probing if the cached assumption later
/// fails").
pub trait EraMemory: Send + Sync {
    /// Whether the server was last found to speak the modern wire.
    fn modern(&self) -> bool;
    /// Records what was learnt.
    fn remember(&self, modern: bool);
}

/// A legacy client's `initialize`, sent so that either era can answer it:
/// the body gains the modern `_meta` (its version, capabilities and
/// identity, mirrored from its own params), and the headers the version and
/// `Mcp-Method`. A 2025-era server reads an `initialize` with an extra
/// `_meta`, which every revision allows; a modern one refuses it with a
/// modern error that names the versions it speaks. Returns the body and the
/// version asked for; `None` when the message cannot be stamped.
pub fn probing_initialize(initialize: &[u8]) -> Option<(Bytes, String)> {
    let c = Client::read(initialize);
    let version = Value::from(c.requested.as_str()).to_string();
    let mut entries: Vec<(&str, &str)> = vec![(PROTOCOL_VERSION, &version), (CLIENT_CAPABILITIES, &c.capabilities)];
    if let Some(info) = &c.info {
        entries.push((CLIENT_INFO, info));
    }
    Some((splice::with_meta(initialize, &entries)?, c.requested))
}

/// Whether an answer to `initialize` is a legacy server's acceptance: a
/// result at a handshake-era version. An error, or a result naming a modern
/// version, is not. `version` is the answer's `protocolVersion`.
pub fn is_legacy_acceptance(answer: &[u8], version: Option<&str>) -> bool {
    match version {
        Some(v) => !detect::is_modern_version(v),
        None => detect::rpc_error(answer).is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_legacy_clients_initialize_supplies_meta_and_capabilities() {
        let c = Client::read(
            br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"sampling":{},"roots":{"listChanged":true}},"clientInfo":{"name":"claude-ai","version":"0.1.0"}}}"#,
        );
        assert_eq!(c.requested, "2025-06-18");
        assert_eq!(c.capabilities, r#"{"sampling":{},"roots":{"listChanged":true}}"#);
        assert_eq!(c.info.as_deref(), Some(r#"{"name":"claude-ai","version":"0.1.0"}"#));
        assert!(c.handles("sampling/createMessage") && c.handles("roots/list"));
        assert!(!c.handles("elicitation/create"), "elicitation was not declared");
        assert!(!c.handles("tools/call"));
    }

    #[test]
    fn a_probing_initialize_carries_the_modern_meta_mirrored_from_its_params() {
        let (body, version) = probing_initialize(
            br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
        )
        .unwrap();
        assert_eq!(version, "2025-11-25");
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"}},"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#
        );
        assert!(is_legacy_acceptance(b"{}", Some("2025-06-18")));
        assert!(!is_legacy_acceptance(b"{}", Some("2026-07-28")));
        assert!(!is_legacy_acceptance(
            br#"{"id":0,"error":{"code":-32601,"message":"no"}}"#,
            None
        ));
        assert!(is_legacy_acceptance(br#"{"id":0,"result":{}}"#, None));
    }

    #[test]
    fn the_listen_filter_asks_only_for_what_the_server_announces() {
        let caps = json!({"tools": {"listChanged": true}, "prompts": {}, "resources": {"subscribe": true, "listChanged": false}});
        assert_eq!(
            listen_filter(&caps, &[]).as_deref(),
            Some(r#"{"toolsListChanged":true}"#)
        );
        assert_eq!(
            listen_filter(&caps, &["file:///a".into()]).as_deref(),
            Some(r#"{"resourceSubscriptions":["file:///a"],"toolsListChanged":true}"#)
        );
        assert_eq!(listen_filter(&json!({"tools": {}}), &[]), None);
    }

    #[test]
    fn result_types_are_read_with_complete_as_the_default() {
        assert!(matches!(
            result_kind(br#"{"id":1,"result":{"content":[]}}"#),
            ResultKind::Complete
        ));
        assert!(matches!(
            result_kind(br#"{"id":1,"result":{"resultType":"complete"}}"#),
            ResultKind::Complete
        ));
        assert!(matches!(
            result_kind(br#"{"id":1,"error":{"code":1,"message":"x"}}"#),
            ResultKind::Complete
        ));
        let ResultKind::InputRequired { requests, state } = result_kind(
            br#"{"id":1,"result":{"resultType":"input_required","inputRequests":{"b":{"method":"roots/list"},"a":{"method":"elicitation/create","params":{"message":"?"}}},"requestState":"s\u0001"}}"#,
        ) else {
            panic!("input_required not recognised")
        };
        assert_eq!(requests.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            state.unwrap().get(),
            r#""s\u0001""#,
            "the state is kept exactly as sent"
        );
        assert!(
            matches!(result_kind(br#"{"id":1,"result":{"resultType":"task"}}"#), ResultKind::Other(k) if k == "task")
        );
    }

    #[test]
    fn the_name_header_source_and_meta_version_are_read_together() {
        let (name, version) = name_and_version(
            br#"{"id":1,"method":"resources/read","params":{"uri":"file:///x y","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
            Some("uri"),
        );
        assert_eq!(name.as_deref(), Some("file:///x y"));
        assert_eq!(version.as_deref(), Some("2026-07-28"));
        assert_eq!(
            name_and_version(br#"{"id":1,"method":"tools/list"}"#, None),
            (None, None)
        );
    }
}
