//! The probes that create state on the server, run only when asked:
//! register a throwaway public native client (RFC 7591, as Tether registers:
//! `auth::registration::registration_request`), with a `127.0.0.1` loopback
//! redirect and, when that is refused, its `localhost` twin (RFC 8252 §8.3,
//! `auth::registration::localhost_twin`, as Tether retries); try loopback
//! redirects on another port and with `localhost` at the authorization
//! endpoint (RFC 8252 §7.3); send a refresh token that cannot be valid.
//!
//! A redirect is judged the way an authorization server must treat it: each
//! client is asked to authorize only with redirect URIs it registered or that
//! RFC 8252 §7.3 lets vary (the port of a loopback IP literal), and each
//! answer is compared with two references from the same server, the
//! registered URI itself and a URI no one registered. A server that
//! redirects back to the URI tried has accepted it (RFC 6749 §4.1.2.1 forbids
//! redirecting to an unchecked one); one that answers as it answers the
//! registered URI has accepted it; as it answers the unregistered one, has
//! refused it. When the two references look alike, the probe cannot tell and
//! says so rather than guess.
//!
//! Nothing a probe obtains is kept: the clients' ids and secrets live in
//! memory for the run.

use serde_json::Value;
use url::Url;

use super::{Doctor, Target, error_of, header};
use crate::auth::discovery::AuthServer;
use crate::auth::http::check_endpoint;
use crate::auth::http::server_text;
use crate::auth::registration::{AuthMethod, ClientPrefs, localhost_twin, registration_request};
use crate::doctor::Affected::{ClaudeCode, ClaudeConnectors, Tether};
use crate::doctor::catalogue::{
    PROBE_REDIRECT_LOCALHOST, PROBE_REDIRECT_PORT, PROBE_REDIRECT_UNREGISTERED, PROBE_REFRESH, PROBE_REGISTRATION,
    PROBE_REGISTRATION_CLAUDE, PROBE_REGISTRATION_EXPIRY, PROBE_REGISTRATION_LOOPBACK, PROBE_REGISTRATION_METHOD,
};
use crate::net;
use crate::store::secrets::Secret;

/// The port of the probes' loopback redirect URIs.
const PROBE_PORT: u16 = 53682;
/// Another port, for the port probe.
const OTHER_PORT: u16 = 53683;
/// A redirect URI nobody registered (`.invalid` never resolves, RFC 2606).
const UNREGISTERED: &str = "https://tether-doctor.invalid/callback";
/// The name the throwaway clients register with.
const CLIENT_NAME: &str = "tether-doctor (test client, safe to delete)";
/// The redirect URI of Claude's connectors.
const CLAUDE_CALLBACK: &str = "https://claude.ai/api/mcp/auth_callback";

/// A client the doctor registered for this run (kept in memory only).
#[derive(Debug, Clone)]
pub(super) struct ProbeClient {
    pub(super) id: String,
    pub(super) secret: Option<Secret>,
    pub(super) method: AuthMethod,
    pub(super) redirect_uri: String,
    /// What the server answered, for the registration checks.
    answer: Value,
    status: u16,
}

/// A registration that failed: the status (0: no answer) and the body.
pub(super) struct Refusal {
    pub(super) status: u16,
    pub(super) body: Value,
}

impl Refusal {
    /// RFC 7591 §3.2.2 `invalid_redirect_uri`, or a 400 that says so in words.
    fn about_redirect(&self) -> bool {
        let text = |k: &str| {
            self.body
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase()
        };
        self.status == 400
            && (text("error") == "invalid_redirect_uri" || text("error_description").contains("redirect"))
    }

    /// The refusal in words: the status and the server's error.
    pub(super) fn words(&self) -> String {
        if self.status == 0 {
            format!("the request failed: {}", error_of(&self.body))
        } else {
            format!("HTTP {}: {}", self.status, error_of(&self.body))
        }
    }
}

/// How a registration went, with the fallbacks Tether itself takes.
pub(super) struct Registered {
    pub(super) client: ProbeClient,
    /// `127.0.0.1` was refused and `localhost` taken instead.
    pub(super) localhost_instead: Option<Refusal>,
    /// A public client was refused and a confidential one taken instead.
    pub(super) secret_demanded: Option<Refusal>,
}

/// What an authorization request came to, for comparing answers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Redirected back to the redirect URI tried (with a code or an error).
    Back,
    /// Redirected on, to a login or consent page.
    Onward,
    /// A page, with its status.
    Page(u16),
    /// No answer.
    Failed(String),
}

impl Outcome {
    /// The refusal in words: the status and the server's error.
    pub(super) fn words(&self) -> String {
        match self {
            Self::Back => "redirected back to it".into(),
            Self::Onward => "redirected on to sign-in".into(),
            Self::Page(s) if (200..300).contains(s) => format!("HTTP {s}, a page"),
            Self::Page(s) => format!("HTTP {s}"),
            Self::Failed(why) => format!("no answer ({why})"),
        }
    }
}

/// The two references a tried redirect is compared with.
struct Calibration {
    registered: Outcome,
    unregistered: Outcome,
}

impl Calibration {
    /// Accepted (`Ok`) or refused (`Err`), with what was seen; `None` when
    /// the answer matches neither reference.
    fn judge(&self, tried: &Outcome) -> Option<Result<String, String>> {
        match tried {
            Outcome::Back => Some(Ok("redirected back to it".into())),
            t if *t == self.registered => Some(Ok(format!("{}, as for the registered URI", t.words()))),
            t if *t == self.unregistered => {
                Some(Err(format!("{}, as for a redirect URI nobody registered", t.words())))
            }
            Outcome::Onward => Some(Ok("redirected on to sign-in".into())),
            Outcome::Page(s) if *s >= 400 => Some(Err(format!("HTTP {s}"))),
            _ => None,
        }
    }
}

impl Doctor<'_> {
    /// Registers a throwaway client with `redirect` (and its `localhost`
    /// twin when the server refuses the loopback IP), as a public client, or
    /// as a confidential one when the server demands a secret.
    pub(super) async fn register_client(
        &self,
        endpoint: &Url,
        server: &AuthServer,
        target: &Target,
        redirect: &str,
    ) -> Result<Registered, Refusal> {
        let mut localhost_instead = None;
        let mut redirect = redirect.to_owned();
        let mut result = self
            .register_once(endpoint, server, target, &redirect, AuthMethod::None)
            .await;
        if let Err(refusal) = &result
            && refusal.about_redirect()
            && let Some(twin) = localhost_twin(&redirect)
        {
            let second = self
                .register_once(endpoint, server, target, &twin, AuthMethod::None)
                .await;
            if second.is_ok() {
                localhost_instead = result.err();
                redirect = twin;
            }
            result = second;
        }
        let mut secret_demanded = None;
        if let Err(refusal) = &result
            && !refusal.about_redirect()
            && refusal.status != 0
        {
            let second = self
                .register_once(endpoint, server, target, &redirect, AuthMethod::ClientSecretPost)
                .await;
            if second.is_ok() {
                secret_demanded = result.err();
            }
            result = second;
        }
        result.map(|client| Registered {
            client,
            localhost_instead,
            secret_demanded,
        })
    }

    async fn register_once(
        &self,
        endpoint: &Url,
        server: &AuthServer,
        target: &Target,
        redirect: &str,
        method: AuthMethod,
    ) -> Result<ProbeClient, Refusal> {
        let mut body = registration_request(
            redirect,
            method,
            &target.scopes,
            &ClientPrefs::default(),
            server.device_authorization_endpoint.is_some(),
        );
        body["client_name"] = CLIENT_NAME.into();
        // The answer may hold a client secret: https only (or this computer).
        if let Err(e) = check_endpoint(endpoint, "registration endpoint") {
            return Err(Refusal {
                status: 0,
                body: Value::String(e.to_string()),
            });
        }
        let (status, answer) = self.post_json(endpoint, &body).await;
        if !(200..300).contains(&status) {
            return Err(Refusal { status, body: answer });
        }
        let id = match answer.get("client_id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(Refusal {
                    status,
                    body: Value::String("no client_id in the answer".into()),
                });
            }
        };
        let secret = answer
            .get("client_secret")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(Secret::new);
        let method = match (
            &secret,
            answer.get("token_endpoint_auth_method").and_then(Value::as_str),
        ) {
            (None, _) => AuthMethod::None,
            (Some(_), Some(m)) => AuthMethod::parse(m).unwrap_or(AuthMethod::ClientSecretBasic),
            (Some(_), None) if method == AuthMethod::None => AuthMethod::ClientSecretBasic,
            (Some(_), None) => method,
        };
        Ok(ProbeClient {
            id,
            secret,
            method,
            redirect_uri: redirect.to_owned(),
            answer,
            status,
        })
    }

    pub(super) async fn probe_registration(&mut self, server: &AuthServer, target: &Target) -> Option<ProbeClient> {
        if !(self.opts.probe_registration || self.opts.probe_redirect) {
            self.push(PROBE_REGISTRATION.skipped("not asked (--probe-registration registers a throwaway client)"));
            return None;
        }
        let Some(endpoint) = server.registration_endpoint.as_deref().and_then(|u| Url::parse(u).ok()) else {
            self.push(PROBE_REGISTRATION.skipped("the server offers no registration endpoint"));
            return None;
        };
        let redirect = format!("http://127.0.0.1:{PROBE_PORT}/callback");
        let registered = match self.register_client(&endpoint, server, target, &redirect).await {
            Ok(r) => r,
            Err(refusal) => {
                let about = if refusal.about_redirect() {
                    " (both http://127.0.0.1 and http://localhost redirect URIs were refused)"
                } else {
                    ""
                };
                self.push(PROBE_REGISTRATION.error(format!("{}{about}", refusal.words())));
                return None;
            }
        };
        let client = registered.client;
        match &registered.secret_demanded {
            Some(refusal) => self.push(
                PROBE_REGISTRATION
                    .warning(format!(
                        "registering with token_endpoint_auth_method \"none\" got {}; with client_secret_post it worked",
                        refusal.words()
                    ))
                    .breaking(&[ClaudeCode, Tether])
                    .with_fix("accept public clients (token_endpoint_auth_method: none) in registration: a desktop app cannot keep a secret"),
            ),
            None => self.push(PROBE_REGISTRATION.ok(format!(
                "HTTP {}, client_id {}",
                client.status,
                server_text(&client.id)
            ))),
        }
        match &registered.localhost_instead {
            Some(refusal) => self.push(PROBE_REGISTRATION_LOOPBACK.warning(format!(
                "{redirect} was refused ({}); {} was accepted",
                refusal.words(),
                client.redirect_uri
            ))),
            None => self.push(PROBE_REGISTRATION_LOOPBACK.ok(format!("{redirect} was accepted"))),
        }
        self.registration_expiry(&client.answer);
        if registered.secret_demanded.is_some() {
            self.push(PROBE_REGISTRATION_METHOD.skipped("a public client was refused (probe.registration)"));
        } else {
            match client.answer.get("token_endpoint_auth_method").and_then(Value::as_str) {
                None | Some("none") => self.push(PROBE_REGISTRATION_METHOD.ok("token_endpoint_auth_method: none")),
                Some(m) => self.push(
                    PROBE_REGISTRATION_METHOD
                        .warning(format!("asked for \"none\", registered as {:?}", server_text(m))),
                ),
            }
        }
        self.registration_like_claude(&endpoint).await;
        Some(client)
    }

    /// The registration Claude's connectors send (seed 001): a confidential
    /// client (`client_secret_post`) with Claude's web callback.
    async fn registration_like_claude(&mut self, endpoint: &Url) {
        let body = serde_json::json!({
            "client_name": CLIENT_NAME,
            "redirect_uris": [CLAUDE_CALLBACK],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_post",
        });
        let (status, answer) = self.post_json(endpoint, &body).await;
        let f = if (200..300).contains(&status) && answer.get("client_id").is_some_and(|v| !v.is_null()) {
            let method = answer
                .get("token_endpoint_auth_method")
                .and_then(Value::as_str)
                .map(crate::auth::http::server_text)
                .unwrap_or_else(|| "unsaid".into());
            PROBE_REGISTRATION_CLAUDE.ok(format!(
                "HTTP {status} for client_secret_post with {CLAUDE_CALLBACK} (registered as {method})"
            ))
        } else {
            let refusal = Refusal { status, body: answer };
            PROBE_REGISTRATION_CLAUDE.error(format!(
                "client_secret_post with {CLAUDE_CALLBACK}: {}",
                refusal.words()
            ))
        };
        self.push(f);
    }

    /// `client_secret_expires_at` (RFC 7591 §3.2.1): a number of seconds.
    fn registration_expiry(&mut self, answer: &Value) {
        let f = match answer.get("client_secret_expires_at") {
            None | Some(Value::Null) => PROBE_REGISTRATION_EXPIRY.ok("absent"),
            Some(v) if v.is_i64() || v.is_u64() => PROBE_REGISTRATION_EXPIRY.ok(v.to_string()),
            Some(v @ Value::Number(_)) => PROBE_REGISTRATION_EXPIRY
                .warning(format!("client_secret_expires_at is {v} (a float)"))
                .breaking(&[ClaudeConnectors]),
            Some(Value::String(s)) => PROBE_REGISTRATION_EXPIRY.error(format!(
                "client_secret_expires_at is a string ({:?}), not a number",
                server_text(s)
            )),
            Some(v) => PROBE_REGISTRATION_EXPIRY.error(format!(
                "client_secret_expires_at is {} ({}), not a number",
                json_kind(v),
                server_text(&v.to_string())
            )),
        };
        self.push(f);
    }

    /// Sends the browser's authorization request, without following
    /// redirects: how the server answers `redirect` for `client_id`.
    async fn authorize(&self, server: &AuthServer, target: &Target, client_id: &str, redirect: &str) -> Outcome {
        let Ok(mut url) = Url::parse(&server.authorization_endpoint) else {
            return Outcome::Failed("the authorization endpoint is not a URL".into());
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", redirect)
                .append_pair("state", "tether-doctor")
                .append_pair("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
                .append_pair("code_challenge_method", "S256")
                .append_pair("resource", &target.resource);
            if !target.scopes.is_empty() {
                q.append_pair("scope", &target.scopes.join(" "));
            }
        }
        match self.http.get(url).send().await {
            Ok(resp) => {
                let status = resp.status();
                if status.is_redirection() {
                    let location = header(resp.headers(), "location").unwrap_or_default();
                    if location.starts_with(redirect) {
                        Outcome::Back
                    } else {
                        Outcome::Onward
                    }
                } else {
                    Outcome::Page(status.as_u16())
                }
            }
            Err(e) => Outcome::Failed(net::describe(&e)),
        }
    }

    pub(super) async fn probe_redirects(&mut self, server: &AuthServer, target: &Target, client: Option<&ProbeClient>) {
        if !self.opts.probe_redirect {
            self.push(PROBE_REDIRECT_UNREGISTERED.skipped("not asked (--probe-redirect)"));
            self.push(PROBE_REDIRECT_PORT.skipped("not asked (--probe-redirect)"));
            self.push(PROBE_REDIRECT_LOCALHOST.skipped("not asked (--probe-redirect)"));
            return;
        }
        let Some(client) = client else {
            self.push(PROBE_REDIRECT_UNREGISTERED.skipped("no test client could be registered"));
            self.push(PROBE_REDIRECT_PORT.skipped("no test client could be registered"));
            self.push(PROBE_REDIRECT_LOCALHOST.skipped("no test client could be registered"));
            return;
        };
        let calibration = Calibration {
            registered: self.authorize(server, target, &client.id, &client.redirect_uri).await,
            unregistered: self.authorize(server, target, &client.id, UNREGISTERED).await,
        };
        if calibration.unregistered == Outcome::Back {
            self.push(PROBE_REDIRECT_UNREGISTERED.error(format!(
                "the authorization endpoint redirected to {UNREGISTERED}, which no client registered: an open redirector"
            )));
            let why = "the server redirects to any redirect URI (probe.redirect-unregistered)";
            self.push(PROBE_REDIRECT_PORT.skipped(why));
            self.push(PROBE_REDIRECT_LOCALHOST.skipped(why));
            return;
        }
        if calibration.registered == calibration.unregistered
            || !matches!(
                calibration.registered,
                Outcome::Back | Outcome::Onward | Outcome::Page(200..=299)
            )
        {
            let why = format!(
                "the registered redirect URI got {} and an unregistered one {}: this probe cannot tell them apart",
                calibration.registered.words(),
                calibration.unregistered.words()
            );
            self.push(PROBE_REDIRECT_UNREGISTERED.skipped(why.clone()));
            self.push(PROBE_REDIRECT_PORT.skipped(why.clone()));
            self.push(PROBE_REDIRECT_LOCALHOST.skipped(why));
            return;
        }
        self.push(PROBE_REDIRECT_UNREGISTERED.ok(format!("{UNREGISTERED}: {}", calibration.unregistered.words())));
        // The same host on another port (RFC 8252 §7.3: any port).
        let other_port = Url::parse(&client.redirect_uri).ok().map(|mut u| {
            let _ = u.set_port(Some(OTHER_PORT));
            u.to_string()
        });
        let f = match other_port {
            Some(uri) => {
                let outcome = self.authorize(server, target, &client.id, &uri).await;
                match calibration.judge(&outcome) {
                    Some(Ok(saw)) => PROBE_REDIRECT_PORT.ok(format!("{uri}: {saw}")),
                    Some(Err(saw)) => {
                        PROBE_REDIRECT_PORT.warning(format!("{uri} (registered: {}): {saw}", client.redirect_uri))
                    }
                    None => PROBE_REDIRECT_PORT.skipped(format!("{uri}: {}; cannot tell", outcome.words())),
                }
            }
            None => PROBE_REDIRECT_PORT.skipped("the registered redirect URI is not a URL"),
        };
        self.push(f);
        self.probe_localhost(server, target, client, &calibration).await;
    }

    /// A client that registers `http://localhost:<port>` and uses it.
    async fn probe_localhost(
        &mut self,
        server: &AuthServer,
        target: &Target,
        client: &ProbeClient,
        calibration: &Calibration,
    ) {
        if Url::parse(&client.redirect_uri).is_ok_and(|u| u.host_str() == Some("localhost")) {
            self.push(PROBE_REDIRECT_LOCALHOST.ok(format!("{} was registered and is accepted", client.redirect_uri)));
            return;
        }
        let Some(uri) = localhost_twin(&client.redirect_uri) else {
            self.push(PROBE_REDIRECT_LOCALHOST.skipped("the registered redirect URI is not a loopback IP"));
            return;
        };
        let Some(endpoint) = server.registration_endpoint.as_deref().and_then(|u| Url::parse(u).ok()) else {
            self.push(PROBE_REDIRECT_LOCALHOST.skipped("the server offers no registration endpoint"));
            return;
        };
        let method = if client.secret.is_some() {
            AuthMethod::ClientSecretPost
        } else {
            AuthMethod::None
        };
        let local = match self.register_once(&endpoint, server, target, &uri, method).await {
            Ok(c) => c,
            Err(refusal) => {
                self.push(
                    PROBE_REDIRECT_LOCALHOST.warning(format!("registering {uri} was refused: {}", refusal.words())),
                );
                return;
            }
        };
        let outcome = self.authorize(server, target, &local.id, &uri).await;
        let f = match calibration.judge(&outcome) {
            Some(Ok(saw)) => PROBE_REDIRECT_LOCALHOST.ok(format!("{uri} registered and used: {saw}")),
            Some(Err(saw)) => PROBE_REDIRECT_LOCALHOST.warning(format!(
                "{uri} was registered, but the authorization endpoint refuses it: {saw}"
            )),
            None => PROBE_REDIRECT_LOCALHOST.skipped(format!("{uri}: {}; cannot tell", outcome.words())),
        };
        self.push(f);
    }

    pub(super) async fn probe_refresh(&mut self, server: &AuthServer, client: Option<&ProbeClient>) {
        if !self.opts.probe_refresh {
            self.push(PROBE_REFRESH.skipped("not asked (--probe-refresh)"));
            return;
        }
        let auth = client.map(ClientAuth::of).unwrap_or(ClientAuth {
            id: "tether-doctor".into(),
            secret: None,
            method: AuthMethod::None,
        });
        let form = [
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", "tether-doctor-not-a-real-token".to_owned()),
        ];
        let answer = match self.token_request(server, &auth, &form).await {
            Ok(a) => a,
            Err(why) => {
                self.push(PROBE_REFRESH.skipped(format!("the request failed: {why}")));
                return;
            }
        };
        let error = answer.error().unwrap_or_default();
        if answer.status == 400 && error == "invalid_grant" {
            self.push(PROBE_REFRESH.ok("HTTP 400 invalid_grant"));
        } else if client.is_none() && error == "invalid_client" {
            self.push(PROBE_REFRESH.skipped("the server wants a registered client first (add --probe-registration)"));
        } else {
            self.push(PROBE_REFRESH.warning(format!(
                "HTTP {} {}",
                answer.status,
                if error.is_empty() {
                    "without an OAuth error".to_owned()
                } else {
                    error
                }
            )));
        }
    }

    /// A token endpoint request (RFC 6749 §4.1.3, §6) with the client's
    /// authentication (§2.3.1: HTTP Basic with both parts form-encoded, or
    /// the secret in the body, or only `client_id` for a public client);
    /// the answer as it came, never normalised.
    pub(super) async fn token_request(
        &self,
        server: &AuthServer,
        auth: &ClientAuth,
        form: &[(&str, String)],
    ) -> Result<TokenAnswer, String> {
        let url = Url::parse(&server.token_endpoint).map_err(|_| "the token endpoint is not a URL".to_owned())?;
        // Codes, secrets and tokens go over https only (or to this computer).
        check_endpoint(&url, "token endpoint").map_err(|e| e.to_string())?;
        let mut pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut basic = None;
        match (auth.method, &auth.secret) {
            (AuthMethod::ClientSecretBasic, Some(secret)) => {
                use base64::Engine;
                let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let pair = format!("{}:{}", enc(&auth.id), enc(secret.expose()));
                let mut v = reqwest::header::HeaderValue::from_str(&format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
                .map_err(|_| "the client credentials cannot go in a header".to_owned())?;
                v.set_sensitive(true);
                basic = Some(v);
            }
            (AuthMethod::ClientSecretPost, Some(secret)) => {
                pairs.push(("client_id", &auth.id));
                pairs.push(("client_secret", secret.expose()));
            }
            _ => pairs.push(("client_id", &auth.id)),
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body);
        if let Some(v) = basic {
            req = req.header("authorization", v);
        }
        let resp = req.send().await.map_err(|e| net::describe(&e))?;
        let status = resp.status().as_u16();
        let content_type = header(resp.headers(), "content-type").unwrap_or_default();
        let text = resp.text().await.unwrap_or_default();
        Ok(TokenAnswer {
            status,
            content_type,
            json: serde_json::from_str(&text).ok(),
        })
    }
}

/// How the doctor authenticates as one of its clients.
pub(super) struct ClientAuth {
    pub(super) id: String,
    pub(super) secret: Option<Secret>,
    pub(super) method: AuthMethod,
}

impl ClientAuth {
    pub(super) fn of(c: &ProbeClient) -> Self {
        Self {
            id: c.id.clone(),
            secret: c.secret.clone(),
            method: c.method,
        }
    }
}

/// A token endpoint's answer, as it came. It holds tokens: only their kinds
/// and lengths are ever shown.
pub(super) struct TokenAnswer {
    pub(super) status: u16,
    pub(super) content_type: String,
    /// The body, when it is JSON.
    pub(super) json: Option<Value>,
}

impl TokenAnswer {
    /// The OAuth `error` code (RFC 6749 §5.2), made safe to show.
    pub(super) fn error(&self) -> Option<String> {
        self.json
            .as_ref()?
            .get("error")
            .and_then(Value::as_str)
            .map(crate::auth::http::server_text)
    }

    /// Why a request was refused, in words: the status, `error` and
    /// `error_description`, never the body.
    pub(super) fn refusal(&self) -> String {
        let mut text = format!("HTTP {}", self.status);
        if let Some(e) = self.error() {
            text.push_str(&format!(" {e}"));
        }
        if let Some(d) = self
            .json
            .as_ref()
            .and_then(|j| j.get("error_description"))
            .and_then(Value::as_str)
        {
            text.push_str(&format!(": {}", server_text(d)));
        }
        if self.json.is_none() {
            text.push_str(&format!(
                " (not JSON: {})",
                if self.content_type.is_empty() {
                    "no content type"
                } else {
                    &self.content_type
                }
            ));
        }
        text
    }
}

/// A JSON value's kind, in words.
pub(super) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a float",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_is_judged_against_the_registered_and_an_unregistered_uri() {
        let c = Calibration {
            registered: Outcome::Onward,
            unregistered: Outcome::Page(400),
        };
        assert!(
            matches!(c.judge(&Outcome::Back), Some(Ok(_))),
            "a redirect back means accepted"
        );
        assert!(matches!(c.judge(&Outcome::Onward), Some(Ok(_))));
        assert!(matches!(c.judge(&Outcome::Page(400)), Some(Err(_))));
        assert!(matches!(c.judge(&Outcome::Page(403)), Some(Err(_))));
        assert_eq!(
            c.judge(&Outcome::Page(200)),
            None,
            "a page neither reference got: cannot tell"
        );
        let pages = Calibration {
            registered: Outcome::Page(200),
            unregistered: Outcome::Page(400),
        };
        assert!(matches!(pages.judge(&Outcome::Page(200)), Some(Ok(_))));
        assert!(matches!(pages.judge(&Outcome::Page(400)), Some(Err(_))));
    }

    #[test]
    fn a_registration_refusal_about_the_redirect_uri_is_told_apart() {
        let r = |status, body| Refusal { status, body };
        assert!(r(400, serde_json::json!({"error": "invalid_redirect_uri"})).about_redirect());
        assert!(
            r(
                400,
                serde_json::json!({"error": "invalid_client_metadata", "error_description": "redirect_uris: loopback IP not allowed"})
            )
            .about_redirect()
        );
        assert!(!r(400, serde_json::json!({"error": "invalid_client_metadata"})).about_redirect());
        assert!(!r(500, serde_json::json!({"error": "invalid_redirect_uri"})).about_redirect());
    }

    #[test]
    fn a_token_answer_s_refusal_never_quotes_its_body() {
        let a = TokenAnswer {
            status: 400,
            content_type: "application/json".into(),
            json: Some(
                serde_json::json!({"error": "invalid_grant", "error_description": "used\u{1b}", "access_token": "SECRET"}),
            ),
        };
        assert_eq!(a.refusal(), "HTTP 400 invalid_grant: used");
        let html = TokenAnswer {
            status: 502,
            content_type: "text/html".into(),
            json: None,
        };
        assert_eq!(html.refusal(), "HTTP 502 (not JSON: text/html)");
    }
}
