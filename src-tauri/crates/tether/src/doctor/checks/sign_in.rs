//! The sign-in probe (`--probe-sign-in`): a real authorization code flow with
//! PKCE in the person's browser, then one refresh, a second refresh with the
//! refresh token a client keeps, and revocation where offered, built on the
//! auth building blocks Tether signs in with: the loopback listener
//! (`auth::loopback::Listener`, RFC 8252 §7.3), the authorization request and
//! its callback checks (`auth::flow::Authorization`: PKCE S256, `state`,
//! `resource` per RFC 8707, `iss` per RFC 9207), the browser
//! (`auth::browser`, `$BROWSER` honoured), the registration request
//! (`auth::registration`) for a throwaway client, and revocation
//! (`auth::tokens::revoke`, RFC 7009).
//!
//! The token endpoint's answers are read as they come, not through the
//! adapter that makes Tether tolerant of them (`auth::http::normalize`):
//! the point is to see what a strict client sees. Each answer is reported
//! by its status, its content type and each field's type and kind of value
//! (a token is shown as "a JWT of 812 characters", never by its value), and
//! each quirk seed 001 lists is flagged with the clients it breaks: HTTP 201
//! (OAuth 2.1 and RFC 6749 §5.1 say 200), `expires_in` as a string or a
//! float, `token_type` in lower case, fields of the wrong type, no
//! `refresh_token` although `offline_access` was granted, and a refresh that
//! rotates the refresh token without handing over the new one.
//!
//! Nothing it obtains is stored: the client, its secret and the tokens live
//! in memory for the run, no keychain entry and no state file is written,
//! and the tokens are revoked at the end where the server offers revocation.

use std::collections::HashSet;

use serde_json::Value;
use url::Url;

use super::probes::{ClientAuth, ProbeClient, TokenAnswer, json_kind};
use super::{DOCTOR_UA, Doctor, Target, bearer};
use crate::auth::AccessToken;
use crate::auth::browser;
use crate::auth::discovery::AuthServer;
use crate::auth::flow::Authorization;
use crate::auth::http::{OAuthHttp, check_endpoint, server_text};
use crate::auth::loopback::Listener;
use crate::auth::registration::ClientCredentials;
use crate::auth::tokens::{self, TokenKind};
use crate::doctor::Affected::ClaudeConnectors;
use crate::doctor::catalogue::{
    Check, PROBE_REFRESH_GRANT, PROBE_REFRESH_ROTATION, PROBE_REVOCATION, PROBE_SIGN_IN, PROBE_TOKEN_ACCEPTED,
    PROBE_TOKEN_EXPIRES_IN, PROBE_TOKEN_FIELDS, PROBE_TOKEN_REFRESH_TOKEN, PROBE_TOKEN_STATUS, PROBE_TOKEN_TYPE,
};
use crate::doctor::{Finding, Level};
use crate::probe;
use crate::store::oauth::RegistrationKind;
use crate::store::secrets::Secret;

/// What the sign-in left, for the transport checks and revocation.
pub(super) struct Session {
    auth: ClientAuth,
    access: AccessToken,
    refresh: Option<Secret>,
    /// The `resource` the tokens are for (RFC 8707).
    resource: String,
    /// The MCP server took the access token.
    accepted: bool,
}

impl Session {
    /// The access token, when the MCP server takes it (for the transport
    /// checks).
    pub(super) fn usable_token(&self) -> Option<AccessToken> {
        self.accepted.then(|| self.access.clone())
    }
}

/// What the one refresh came to.
enum Refreshed {
    /// No refresh token to refresh with.
    NoToken,
    /// No answer.
    Failed(String),
    /// Refused, in words.
    Refused(String),
    /// New tokens (the answer is the second of the answers judged).
    Got,
}

/// One token endpoint answer, with its name in the report.
struct Answered {
    label: &'static str,
    answer: TokenAnswer,
}

/// A quirk's verdict on one answer.
struct Verdict {
    level: Level,
    saw: String,
    /// A narrower list of clients than the check's.
    breaks: Option<&'static [crate::doctor::Affected]>,
}

impl Verdict {
    fn ok(saw: impl Into<String>) -> Self {
        Self {
            level: Level::Ok,
            saw: saw.into(),
            breaks: None,
        }
    }
    fn warning(saw: impl Into<String>) -> Self {
        Self {
            level: Level::Warning,
            saw: saw.into(),
            breaks: None,
        }
    }
    fn error(saw: impl Into<String>) -> Self {
        Self {
            level: Level::Error,
            saw: saw.into(),
            breaks: None,
        }
    }
}

impl Doctor<'_> {
    pub(super) async fn probe_sign_in(
        &mut self,
        server: &AuthServer,
        target: &Target,
        probe_client: Option<&ProbeClient>,
    ) -> Option<Session> {
        if !self.opts.probe_sign_in {
            self.push(PROBE_SIGN_IN.skipped("not asked (--probe-sign-in signs in with your browser)"));
            return None;
        }
        let Some(endpoint) = server.registration_endpoint.as_deref().and_then(|u| Url::parse(u).ok()) else {
            self.push(PROBE_SIGN_IN.skipped(
                "the doctor signs in only as a client it registers (RFC 7591), and this server offers no registration endpoint",
            ));
            return None;
        };
        // Codes and tokens go over https only (or to this computer); an
        // endpoint that is not is an error of its own (as.token-https).
        if let Err(e) = Url::parse(&server.token_endpoint)
            .map_err(|_| format!("the token endpoint {:?} is not a URL", server.token_endpoint))
            .and_then(|u| check_endpoint(&u, "token endpoint").map_err(|e| e.to_string()))
        {
            self.push(PROBE_SIGN_IN.skipped(e));
            return None;
        }
        let listener = match Listener::bind(None).await {
            Ok(l) => l,
            Err(e) => {
                self.push(PROBE_SIGN_IN.skipped(format!("no loopback listener: {e}")));
                return None;
            }
        };
        // A client of its own, registered with this listener's exact
        // redirect URI, so that what the redirect probes find (ports,
        // localhost) does not decide this one.
        let client = match self
            .register_client(&endpoint, server, target, &listener.redirect_uri())
            .await
        {
            Ok(r) => r.client,
            Err(refusal) => {
                let registration_probed = self.opts.probe_registration || self.opts.probe_redirect;
                let f = if registration_probed && probe_client.is_none() {
                    // probe.registration already says why.
                    PROBE_SIGN_IN.skipped("no client could be registered (probe.registration)")
                } else {
                    PROBE_SIGN_IN.error(format!(
                        "no client could be registered for the sign-in: {}",
                        refusal.words()
                    ))
                };
                self.push(f);
                return None;
            }
        };
        let auth = ClientAuth::of(&client);
        let creds = ClientCredentials {
            client_id: client.id.clone(),
            secret: client.secret.clone(),
            method: client.method,
            kind: RegistrationKind::Registered,
        };
        let authz = match Authorization::new(server, &creds, &client.redirect_uri, &target.resource, &target.scopes) {
            Ok(a) => a,
            Err(e) => {
                // An endpoint that is not https, already an error of its own
                // (as.authorize-https, as.token-https).
                self.push(PROBE_SIGN_IN.skipped(format!("no authorization request can be made: {e}")));
                return None;
            }
        };
        let opened = browser::open(&authz.url);
        if let Some(show) = self.opts.on_sign_in {
            show(&authz.url, opened.as_ref().err().map(String::as_str));
        }
        let code = match listener
            .wait(self.opts.auth_timeout, "tether doctor", authz.checker())
            .await
        {
            Ok(code) => code,
            Err(e) => {
                self.push(PROBE_SIGN_IN.error(format!("the browser's sign-in did not come back: {e}")));
                return None;
            }
        };
        let redirect_uri = client.redirect_uri.clone();
        let verifier = authz.into_verifier();
        let form = [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.secret().clone()),
            ("resource", target.resource.clone()),
        ];
        let exchange = match self.token_request(server, &auth, &form).await {
            Ok(a) => a,
            Err(why) => {
                self.push(PROBE_SIGN_IN.error(format!("the token endpoint did not answer: {why}")));
                return None;
            }
        };
        let Some(access) = access_token(&exchange) else {
            self.push(PROBE_SIGN_IN.error(format!(
                "the token endpoint refused the authorization code: {}",
                exchange.refusal()
            )));
            return None;
        };
        self.push(PROBE_SIGN_IN.ok(format!(
            "signed in as a throwaway client ({}); the code exchange answered {}",
            client.id,
            describe(&exchange)
        )));
        let first_refresh = refresh_token(&exchange);
        let mut answers = vec![Answered {
            label: "code exchange",
            answer: exchange,
        }];
        let mut session = Session {
            auth,
            access: AccessToken::new(access),
            refresh: first_refresh.clone().map(Secret::new),
            resource: target.resource.clone(),
            accepted: false,
        };
        // One refresh, judged by the same checks as the code exchange.
        let refreshed = match &first_refresh {
            None => Refreshed::NoToken,
            Some(rt) => match self.refresh(server, &session.auth, rt, &session.resource).await {
                Err(why) => Refreshed::Failed(why),
                Ok(a) if access_token(&a).is_some() => {
                    answers.push(Answered {
                        label: "refresh",
                        answer: a,
                    });
                    Refreshed::Got
                }
                Ok(a) => Refreshed::Refused(a.refusal()),
            },
        };
        self.quirks(&answers, target);
        if let Some(at) = answers.get(1).and_then(|a| access_token(&a.answer)) {
            session.access = AccessToken::new(at);
        }
        session.accepted = self.token_accepted(&session.access).await;
        match refreshed {
            Refreshed::NoToken => {
                self.push(PROBE_REFRESH_GRANT.skipped("no refresh token was issued"));
                self.push(PROBE_REFRESH_ROTATION.skipped("no refresh token was issued"));
                return Some(session);
            }
            Refreshed::Failed(why) => {
                self.push(PROBE_REFRESH_GRANT.skipped(format!("the refresh request failed: {why}")));
                self.push(PROBE_REFRESH_ROTATION.skipped("no refresh"));
                return Some(session);
            }
            Refreshed::Refused(why) => {
                self.push(
                    PROBE_REFRESH_GRANT.error(format!("the refresh token issued a moment ago was refused: {why}")),
                );
                self.push(PROBE_REFRESH_ROTATION.skipped("no refresh"));
                return Some(session);
            }
            Refreshed::Got => {}
        }
        let refresh = &answers[1].answer;
        self.push(PROBE_REFRESH_GRANT.ok(format!("the refresh answered {}", describe(refresh))));
        // The refresh token a client keeps (OAuth 2.1 §4.3.3): the new one
        // when the answer has one, else the old one.
        let new_refresh = refresh_token(refresh);
        let rotated = new_refresh
            .as_deref()
            .is_some_and(|n| Some(n) != first_refresh.as_deref());
        let kept = new_refresh.or(first_refresh).unwrap_or_default();
        session.refresh = Some(Secret::new(kept.clone()));
        match self.refresh(server, &session.auth, &kept, &session.resource).await {
            Ok(a) if access_token(&a).is_some() => {
                if let Some(at) = access_token(&a) {
                    session.access = AccessToken::new(at);
                }
                if let Some(rt) = refresh_token(&a) {
                    session.refresh = Some(Secret::new(rt));
                }
                self.push(PROBE_REFRESH_ROTATION.ok(if rotated {
                    "the refresh rotated the refresh token, and the new one works"
                } else {
                    "the refresh kept the refresh token, and it works again"
                }));
            }
            Ok(a) => {
                let saw = if rotated {
                    format!(
                        "the new refresh token from the refresh was refused at the next refresh ({})",
                        a.refusal()
                    )
                } else {
                    format!(
                        "the refresh sent no new refresh token, and the old one was refused at the next refresh ({}): it was rotated away without a replacement",
                        a.refusal()
                    )
                };
                self.push(PROBE_REFRESH_ROTATION.error(saw));
                session.refresh = None;
            }
            Err(why) => self.push(PROBE_REFRESH_ROTATION.skipped(format!("the second refresh failed: {why}"))),
        }
        Some(session)
    }

    /// A refresh (OAuth 2.1 §4.3) with `resource` (RFC 8707 §2), without
    /// `scope` (the same scopes, RFC 6749 §6).
    async fn refresh(
        &self,
        server: &AuthServer,
        auth: &ClientAuth,
        refresh_token: &str,
        resource: &str,
    ) -> Result<TokenAnswer, String> {
        let form = [
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.to_owned()),
            ("resource", resource.to_owned()),
        ];
        self.token_request(server, auth, &form).await
    }

    /// Whether the MCP endpoint takes the new token.
    async fn token_accepted(&mut self, token: &AccessToken) -> bool {
        let resp = if self.legacy {
            self.http
                .get(self.url.clone())
                .header("accept", "text/event-stream")
                .header("user-agent", DOCTOR_UA)
                .header("authorization", bearer(token))
                .send()
                .await
        } else {
            probe::initialize_request(&self.http, self.url, "2025-11-25", "tether-doctor")
                .header("user-agent", DOCTOR_UA)
                .header("authorization", bearer(token))
                .send()
                .await
        };
        let mut accepted = false;
        let f = match resp {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let session = super::header(resp.headers(), "mcp-session-id");
                let challenge = super::header(resp.headers(), "www-authenticate");
                drop(resp);
                if !self.legacy {
                    let saved = self.token.replace(token.clone());
                    self.end_session(session).await;
                    self.token = saved;
                }
                match status {
                    401 | 403 => PROBE_TOKEN_ACCEPTED.error(format!(
                        "HTTP {status} with the new access token{}",
                        challenge.map(|c| format!(" ({})", server_text(&c))).unwrap_or_default()
                    )),
                    _ => {
                        accepted = true;
                        PROBE_TOKEN_ACCEPTED.ok(format!("HTTP {status} with the new access token"))
                    }
                }
            }
            Err(e) => PROBE_TOKEN_ACCEPTED.skipped(format!("the request failed: {}", crate::net::describe(&e))),
        };
        self.push(f);
        accepted
    }

    /// Each token answer quirk, judged over every answer (the code exchange
    /// and the refresh): one finding per check, at the worst level seen.
    fn quirks(&mut self, answers: &[Answered], target: &Target) {
        self.judge(&PROBE_TOKEN_STATUS, answers, |a| match a.status {
            200 => Verdict::ok("HTTP 200"),
            201 => Verdict::error("HTTP 201 Created"),
            s => Verdict::error(format!("HTTP {s}")),
        });
        self.judge(&PROBE_TOKEN_TYPE, answers, token_type);
        self.judge(&PROBE_TOKEN_EXPIRES_IN, answers, expires_in);
        self.judge(&PROBE_TOKEN_FIELDS, answers, fields);
        let first = &answers[..1];
        self.judge(&PROBE_TOKEN_REFRESH_TOKEN, first, |a| refresh_token_given(a, target));
    }

    fn judge(&mut self, check: &'static Check, answers: &[Answered], rule: impl Fn(&TokenAnswer) -> Verdict) {
        let verdicts: Vec<(&str, Verdict)> = answers.iter().map(|a| (a.label, rule(&a.answer))).collect();
        let worst = verdicts
            .iter()
            .max_by_key(|(_, v)| v.level)
            .map(|(_, v)| (v.level, v.breaks))
            .unwrap_or((Level::Ok, None));
        let saw = if verdicts.iter().all(|(_, v)| v.saw == verdicts[0].1.saw) {
            verdicts.first().map(|(_, v)| v.saw.clone()).unwrap_or_default()
        } else {
            verdicts
                .iter()
                .map(|(label, v)| format!("{label}: {}", v.saw))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let f: Finding = match worst {
            (Level::Ok | Level::Skipped, _) => check.ok(saw),
            (level, breaks) => {
                let f = check.failed(level, saw);
                match breaks {
                    Some(b) => f.breaking(b),
                    None => f,
                }
            }
        };
        self.push(f);
    }

    /// Revokes what the sign-in left (RFC 7009): the refresh token, then
    /// the access token; a refresh with the revoked refresh token must fail.
    pub(super) async fn probe_revocation(&mut self, server: &AuthServer, session: Session) {
        if server.revocation_endpoint.is_none() {
            self.push(PROBE_REVOCATION.skipped("the server offers no revocation endpoint (RFC 7009)"));
            return;
        }
        let http = match OAuthHttp::new() {
            Ok(h) => h,
            Err(e) => {
                self.push(PROBE_REVOCATION.skipped(format!("no HTTP client: {e}")));
                return;
            }
        };
        let creds = ClientCredentials {
            client_id: session.auth.id.clone(),
            secret: session.auth.secret.clone(),
            method: session.auth.method,
            kind: RegistrationKind::Registered,
        };
        let (token, kind) = match &session.refresh {
            Some(rt) => (rt.expose().to_owned(), TokenKind::Refresh),
            None => (session.access.secret().to_owned(), TokenKind::Access),
        };
        let revoked = tokens::revoke(&http, server, &creds, &token, kind).await;
        if kind == TokenKind::Refresh {
            // The access token too, as `tether logout` does; judged by the
            // refresh token alone.
            let _ = tokens::revoke(&http, server, &creds, session.access.secret(), TokenKind::Access).await;
        }
        let f = match revoked {
            Ok(_) if kind == TokenKind::Access => PROBE_REVOCATION.ok("the access token was revoked (HTTP 200)"),
            Ok(_) => match self.refresh(server, &session.auth, &token, &session.resource).await {
                Ok(a) if access_token(&a).is_some() => {
                    PROBE_REVOCATION.warning("the revocation answered 200, but the refresh token still gets new tokens")
                }
                Ok(a) => PROBE_REVOCATION.ok(format!(
                    "HTTP 200; the refresh token is refused from then on ({})",
                    a.refusal()
                )),
                Err(why) => PROBE_REVOCATION.ok(format!("HTTP 200 (the check afterwards failed: {why})")),
            },
            Err(e) => PROBE_REVOCATION.warning(e.to_string()),
        };
        self.push(f);
    }
}

/// The access token of a successful answer.
fn access_token(a: &TokenAnswer) -> Option<String> {
    if !(200..300).contains(&a.status) {
        return None;
    }
    a.json
        .as_ref()?
        .get("access_token")?
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn refresh_token(a: &TokenAnswer) -> Option<String> {
    a.json
        .as_ref()?
        .get("refresh_token")?
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// An answer in words: status, content type, each field by its type and
/// kind of value, secrets by kind and length only.
fn describe(a: &TokenAnswer) -> String {
    let ct = if a.content_type.is_empty() {
        "no content type".to_owned()
    } else {
        server_text(&a.content_type)
    };
    let Some(Value::Object(obj)) = &a.json else {
        return format!("HTTP {}, {ct}, not a JSON object", a.status);
    };
    let mut parts = Vec::new();
    for (k, v) in obj {
        let what = match k.as_str() {
            "access_token" | "refresh_token" | "id_token" => secret_class(v),
            "token_type" | "scope" | "expires_in" | "error" => plain_value(v),
            _ => json_kind(v).to_owned(),
        };
        parts.push(format!("{} {what}", server_text(k)));
    }
    format!("HTTP {}, {ct}: {}", a.status, parts.join(", "))
}

/// A secret's kind and length, never its value.
fn secret_class(v: &Value) -> String {
    match v {
        Value::String(s) if s.split('.').count() == 3 && s.starts_with("eyJ") => {
            format!("a string (a JWT, {} characters)", s.len())
        }
        Value::String(s) => format!("a string (opaque, {} characters)", s.len()),
        other => json_kind(other).to_owned(),
    }
}

/// A value that is not secret (a type, a number, scopes), shown safely.
fn plain_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("a string {:?}", server_text(s)),
        Value::Number(n) => format!("{} {n}", json_kind(v)),
        Value::Array(items) => format!(
            "a list {}",
            server_text(&serde_json::to_string(items).unwrap_or_default())
        ),
        other => json_kind(other).to_owned(),
    }
}

fn token_type(a: &TokenAnswer) -> Verdict {
    match a.json.as_ref().and_then(|j| j.get("token_type")) {
        Some(Value::String(t)) if t == "Bearer" => Verdict::ok("\"Bearer\""),
        Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => Verdict {
            breaks: Some(&[ClaudeConnectors]),
            ..Verdict::warning(format!("{:?}, not \"Bearer\"", server_text(t)))
        },
        Some(Value::String(t)) => Verdict::error(format!("{:?}: not a Bearer token (RFC 6750)", server_text(t))),
        Some(v) => Verdict::error(format!("token_type is {}", json_kind(v))),
        None => Verdict::error("no token_type (RFC 6749 §5.1: required)"),
    }
}

fn expires_in(a: &TokenAnswer) -> Verdict {
    match a.json.as_ref().and_then(|j| j.get("expires_in")) {
        None => Verdict::ok("absent (clients cannot tell when the token expires, and refresh after a 401)"),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Verdict::ok(format!("{n} s")),
        Some(v @ Value::Number(_)) => Verdict::warning(format!("{v}: a float")),
        Some(Value::String(s)) => Verdict::error(format!("{:?}: a string", server_text(s))),
        Some(v) => Verdict::error(format!("expires_in is {}", json_kind(v))),
    }
}

fn fields(a: &TokenAnswer) -> Verdict {
    let Some(Value::Object(obj)) = &a.json else {
        return Verdict::error("not a JSON object");
    };
    let wrong: Vec<String> = ["access_token", "refresh_token", "id_token", "scope"]
        .into_iter()
        .filter_map(|key| match obj.get(key) {
            None | Some(Value::String(_)) => None,
            Some(v) => Some(format!("{key} is {}", json_kind(v))),
        })
        .collect();
    if wrong.is_empty() {
        Verdict::ok("access_token, refresh_token, id_token and scope are strings where present")
    } else {
        Verdict::error(format!("{} (strings expected)", wrong.join(", ")))
    }
}

/// Whether `offline_access` was granted without a refresh token: the
/// answer's `scope`, or, when it has none, the scopes asked for (RFC 6749
/// §5.1: `scope` may be left out when it is what was asked).
fn refresh_token_given(a: &TokenAnswer, target: &Target) -> Verdict {
    let granted: HashSet<String> = match a.json.as_ref().and_then(|j| j.get("scope")) {
        Some(Value::String(s)) => s.split_ascii_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect(),
        _ => target.scopes.iter().cloned().collect(),
    };
    let offline = granted.contains("offline_access");
    let expires = a
        .json
        .as_ref()
        .and_then(|j| j.get("expires_in"))
        .and_then(crate::auth::http::integer_seconds)
        .map(|s| format!(" after {s} s"))
        .unwrap_or_default();
    match (refresh_token(a).is_some(), offline) {
        (true, _) => Verdict::ok("a refresh token came with the access token"),
        (false, true) => Verdict::warning(format!(
            "offline_access was granted, but no refresh token came: clients must sign in again{expires}"
        )),
        (false, false) => Verdict::ok(format!(
            "no refresh token, and offline_access was not granted: clients sign in again{expires}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: Value) -> TokenAnswer {
        TokenAnswer {
            status,
            content_type: "application/json".into(),
            json: Some(body),
        }
    }

    #[test]
    fn a_token_answer_is_described_without_its_tokens() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
        let text = describe(&answer(
            200,
            serde_json::json!({"access_token": jwt, "token_type": "Bearer", "expires_in": 3600, "refresh_token": "RT-SECRET-123", "scope": "mcp offline_access"}),
        ));
        assert!(!text.contains("SECRET") && !text.contains(jwt), "{text}");
        assert!(text.contains("access_token a string (a JWT, 41 characters)"), "{text}");
        assert!(
            text.contains("refresh_token a string (opaque, 13 characters)"),
            "{text}"
        );
        assert!(text.contains("expires_in an integer 3600"), "{text}");
        assert!(text.contains("token_type a string \"Bearer\""), "{text}");
        assert!(text.starts_with("HTTP 200, application/json: "), "{text}");
    }

    #[test]
    fn each_seed_001_quirk_gets_its_level() {
        let a = |body| answer(200, body);
        assert_eq!(
            token_type(&a(serde_json::json!({"token_type": "Bearer"}))).level,
            Level::Ok
        );
        let lower = token_type(&a(serde_json::json!({"token_type": "bearer"})));
        assert_eq!((lower.level, lower.breaks.map(<[_]>::len)), (Level::Warning, Some(1)));
        assert_eq!(token_type(&a(serde_json::json!({}))).level, Level::Error);
        assert_eq!(expires_in(&a(serde_json::json!({"expires_in": 3600}))).level, Level::Ok);
        assert_eq!(
            expires_in(&a(serde_json::json!({"expires_in": 3599.5}))).level,
            Level::Warning
        );
        assert_eq!(
            expires_in(&a(serde_json::json!({"expires_in": "3600"}))).level,
            Level::Error
        );
        assert_eq!(
            fields(&a(serde_json::json!({"access_token": "x", "scope": ["a"]}))).level,
            Level::Error
        );
        assert_eq!(
            fields(&a(serde_json::json!({"access_token": "x", "refresh_token": null}))).level,
            Level::Error
        );
        assert_eq!(
            fields(&a(serde_json::json!({"access_token": "x", "scope": "a b"}))).level,
            Level::Ok
        );
    }

    #[test]
    fn a_missing_refresh_token_matters_only_when_offline_access_was_granted() {
        let target = Target {
            resource: "r".into(),
            scopes: vec!["mcp".into(), "offline_access".into()],
        };
        let no_rt = |scope: Option<&str>| {
            let mut body = serde_json::json!({"access_token": "a", "expires_in": 60});
            if let Some(s) = scope {
                body["scope"] = s.into();
            }
            refresh_token_given(&answer(200, body), &target)
        };
        assert_eq!(no_rt(Some("mcp offline_access")).level, Level::Warning);
        assert_eq!(
            no_rt(None).level,
            Level::Warning,
            "no scope: what was asked was granted"
        );
        assert_eq!(no_rt(Some("mcp")).level, Level::Ok, "offline_access not granted");
        assert!(no_rt(Some("mcp offline_access")).saw.contains("after 60 s"));
        let with = refresh_token_given(
            &answer(200, serde_json::json!({"access_token": "a", "refresh_token": "r"})),
            &target,
        );
        assert_eq!(with.level, Level::Ok);
    }
}
