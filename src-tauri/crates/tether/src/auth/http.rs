//! The HTTP client of every OAuth request, and where quirky answers are
//! made harmless.
//!
//! Owns the rules for talking to authorization servers and metadata
//! endpoints: https only, except to this computer (OAuth 2.1 §1.5, MCP
//! Authorization 2025-11-25 §"Communication Security"); no redirects followed
//! (an OAuth endpoint that redirects is a misconfiguration, and following one
//! is how requests end up somewhere else); every wait bounded; bodies capped.
//! The user's MCP `--header`s are never sent here: they belong to the MCP
//! server's origin alone.
//!
//! It is also the `oauth2` crate's HTTP client ([`oauth2::AsyncHttpClient`]),
//! and normalises, before `oauth2` parses them, the harmless quirks that make
//! strict clients fail (seed 001): a 201 where 200 is expected, `expires_in`
//! as a float or a string, a missing or oddly cased `token_type`, `scope` as an
//! array, a JSON body labelled `text/plain`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use url::Url;

use super::AuthError;
use crate::config::{is_loopback, redact_url};
use crate::net::{self, ClientOptions};

/// The longest an authorization server may take to answer.
pub const OAUTH_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest metadata or token response accepted.
const BODY_LIMIT: usize = 1024 * 1024;

/// HTTP for OAuth.
#[derive(Clone)]
pub struct OAuthHttp {
    client: reqwest::Client,
}

impl OAuthHttp {
    /// A client that follows no redirects and times out (`net`'s OAuth
    /// client).
    pub fn new() -> Result<Self, AuthError> {
        let client = net::client(&ClientOptions::oauth(OAUTH_TIMEOUT))?;
        Ok(Self { client })
    }

    /// GETs a JSON document. `Ok(None)` for 404 and other "not here"
    /// answers, so discovery can try the next well-known URL.
    pub async fn get_json(&self, url: &Url, extra: &[(&'static str, &str)]) -> Result<Option<Value>, AuthError> {
        check_endpoint(url, "metadata URL")?;
        let mut req = self.client.get(url.clone()).header(ACCEPT, "application/json");
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.map_err(|e| unreachable(url, &e))?;
        let status = resp.status();
        if !status.is_success() {
            return Ok(None);
        }
        let body = read_limited(resp).await.map_err(|e| AuthError::Unreachable {
            url: redact_url(url),
            detail: e,
        })?;
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) if v.is_object() => Ok(Some(v)),
            // An HTML page (a login wall, a SPA's catch-all route) is "not here".
            _ => Ok(None),
        }
    }

    /// POSTs JSON (dynamic client registration), returning status and body.
    pub async fn post_json(&self, url: &Url, body: &Value) -> Result<(u16, Value), AuthError> {
        check_endpoint(url, "registration endpoint")?;
        let resp = self
            .client
            .post(url.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| unreachable(url, &e))?;
        let status = resp.status().as_u16();
        let bytes = read_limited(resp).await.map_err(|e| AuthError::Unreachable {
            url: redact_url(url),
            detail: e,
        })?;
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }

    /// POSTs a form (RFC 6749 §4.1.3 style), with HTTP Basic client
    /// authentication when given (RFC 6749 §2.3.1: both parts form-encoded
    /// first). Returns the status.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, String)],
        basic: Option<&(String, crate::store::secrets::Secret)>,
    ) -> Result<u16, AuthError> {
        check_endpoint(url, "OAuth endpoint")?;
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let mut req = self
            .client
            .post(url.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some((id, secret)) = basic {
            use base64::Engine;
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", enc(id), enc(secret.expose()));
            let mut value = HeaderValue::from_str(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ))
            .map_err(|_| AuthError::Registration("the client credentials cannot be put in a header".into()))?;
            value.set_sensitive(true);
            req = req.header(reqwest::header::AUTHORIZATION, value);
        }
        let resp = req.send().await.map_err(|e| unreachable(url, &e))?;
        Ok(resp.status().as_u16())
    }

    async fn execute(&self, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
        let url = Url::parse(&request.uri().to_string()).map_err(|e| HttpError(e.to_string()))?;
        check_endpoint(&url, "OAuth endpoint").map_err(|e| HttpError(e.to_string()))?;
        let (parts, body) = request.into_parts();
        let resp = self
            .client
            .request(parts.method, url.clone())
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|e| HttpError(format!("{}: {}", redact_url(&url), describe(&e))))?;
        let status = resp.status();
        if status.is_server_error() {
            // The server is down or overloaded: a transport failure, tried
            // again later, not an answer about the grant.
            return Err(HttpError(format!("{}: HTTP {}", redact_url(&url), status.as_u16())));
        }
        let content_type = resp.headers().get(CONTENT_TYPE).cloned();
        let body = read_limited(resp).await.map_err(HttpError)?;
        let (status, body, json) = normalize(status.as_u16(), content_type.as_ref(), body);
        // A refusal without an OAuth error body (RFC 6749 §5.2 asks for one)
        // is still a refusal: give it one, named after its status.
        let (body, json) = if (400..500).contains(&status) && !json {
            (format!(r#"{{"error":"http_{status}"}}"#).into_bytes(), true)
        } else {
            (body, json)
        };
        let mut out = ::http::Response::builder().status(status);
        if json {
            out = out.header(CONTENT_TYPE, "application/json");
        } else if let Some(ct) = content_type {
            out = out.header(CONTENT_TYPE, ct);
        }
        out.body(body).map_err(|e| HttpError(e.to_string()))
    }
}

/// A transport failure of an OAuth request.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.execute(request))
    }
}

/// Refuses an endpoint that is not https (http only to this computer) or
/// not http(s) at all.
pub fn check_endpoint(url: &Url, what: &str) -> Result<(), AuthError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(AuthError::Insecure(format!(
            "the {what} {} is not https; Tether sends credentials only over https (or to this computer)",
            redact_url(url)
        ))),
    }
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(format!("the response is larger than {BODY_LIMIT} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A request that got no answer, in words.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", OAUTH_TIMEOUT.as_secs());
    }
    net::describe(e)
}

fn unreachable(url: &Url, e: &reqwest::Error) -> AuthError {
    AuthError::Unreachable {
        url: redact_url(url),
        detail: describe(e),
    }
}

/// Words an authorization server sent (an `error`, an `error_description`,
/// a device `user_code`), made safe to show in a terminal, a log line, a
/// status file or the app: control characters (a terminal escape, a forged
/// log line) become spaces, and at most 200 characters are kept. The one
/// way a server's words reach a message: a server's *body* never does,
/// because a token endpoint's body holds tokens (RFC 6749 §5.1).
pub fn server_text(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() || is_bidi_control(c) { ' ' } else { c })
        .collect();
    crate::text::clip(clean.trim(), 200)
}

/// The bidirectional formatting characters (Unicode UAX #9): not control
/// characters to Rust, yet they can make a message read as something else
/// (CVE-2021-42574, "Trojan Source").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Why a token, registration or device response could not be read, without
/// any of its values: the field (a JSON path) and the kind of problem.
/// serde's own message quotes the offending value, which may be a token.
pub fn unreadable(path: &str, e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let kind = match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => "the body is not JSON",
        Category::Data if path.is_empty() || path == "." => "a required field is missing or of the wrong type",
        Category::Data => "this field is missing or of the wrong type",
    };
    if path.is_empty() || path == "." {
        kind.to_owned()
    } else {
        format!("{kind}: {path}")
    }
}

/// Makes a token or registration response parseable by a strict parser
/// without changing what it means. Returns the status, the body and whether
/// the body is JSON.
pub fn normalize(status: u16, content_type: Option<&HeaderValue>, body: Vec<u8>) -> (u16, Vec<u8>, bool) {
    let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(&body) else {
        return (status, body, false);
    };
    let labelled_json = content_type
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let mut changed = !labelled_json;
    // RFC 6749 §5.1 says 200; some servers answer 201 Created.
    let status = if status == 201 && obj.contains_key("access_token") {
        200
    } else {
        status
    };
    if let Some(v) = obj.get_mut("expires_in") {
        // A negative lifetime means nothing (RFC 6749 §5.1: seconds until
        // expiry); like an unreadable one it is dropped: expiry unknown.
        if let Some(n) = integer_seconds(v).filter(|n| *n >= 0) {
            if v.as_i64() != Some(n) {
                *v = Value::from(n);
                changed = true;
            }
        } else {
            obj.remove("expires_in");
            changed = true;
        }
    }
    if obj.contains_key("access_token") {
        match obj.get("token_type").and_then(Value::as_str) {
            Some("bearer") => {}
            Some(t) if t.eq_ignore_ascii_case("bearer") => {
                obj.insert("token_type".into(), "bearer".into());
                changed = true;
            }
            Some(_) => {}
            None => {
                // Tokens for MCP are Bearer tokens (MCP Authorization
                // §"Access Token Usage"); a missing type means Bearer.
                obj.insert("token_type".into(), "bearer".into());
                changed = true;
            }
        }
    }
    if let Some(Value::Array(scopes)) = obj.get("scope") {
        let joined = scopes.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ");
        obj.insert("scope".into(), joined.into());
        changed = true;
    }
    for key in ["refresh_token", "scope", "id_token"] {
        if obj.get(key).is_some_and(Value::is_null) {
            obj.remove(key);
            changed = true;
        }
    }
    let body = if changed {
        serde_json::to_vec(&Value::Object(obj)).unwrap_or(body)
    } else {
        body
    };
    (status, body, true)
}

/// Reads a number of seconds that may be an integer, a float or a string.
pub fn integer_seconds(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f.round() as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f.round() as i64)
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(status: u16, ct: &str, body: &str) -> (u16, Value) {
        let ct = HeaderValue::from_str(ct).unwrap();
        let (s, b, json) = normalize(status, Some(&ct), body.as_bytes().to_vec());
        assert!(json);
        (s, serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn quirky_token_responses_are_made_standard() {
        let (s, v) = norm(
            201,
            "application/json",
            r#"{"access_token":"a","token_type":"BEARER","expires_in":"3600.0","scope":["x","y"],"refresh_token":null}"#,
        );
        assert_eq!(s, 200);
        assert_eq!(
            v,
            serde_json::json!({"access_token":"a","token_type":"bearer","expires_in":3600,"scope":"x y"})
        );
        let (_, v) = norm(200, "text/plain", r#"{"access_token":"a","expires_in":59.6}"#);
        assert_eq!(
            v,
            serde_json::json!({"access_token":"a","token_type":"bearer","expires_in":60})
        );
    }

    #[test]
    fn a_negative_lifetime_is_dropped_so_the_response_still_parses() {
        // Found by the `token_response` fuzz target: -1 used to stay, and
        // `oauth2` refused the whole response (expires_in is unsigned).
        let (s, v) = norm(
            200,
            "application/json",
            r#"{"access_token":"a","token_type":"bearer","expires_in":-1}"#,
        );
        assert_eq!(v, serde_json::json!({"access_token":"a","token_type":"bearer"}));
        let (_, body, _) = normalize(s, None, serde_json::to_vec(&v).unwrap());
        assert!(serde_json::from_slice::<oauth2::basic::BasicTokenResponse>(&body).is_ok());
    }

    #[test]
    fn error_responses_and_non_json_pass_unchanged() {
        let (s, v) = norm(400, "application/json", r#"{"error":"invalid_grant"}"#);
        assert_eq!((s, v), (400, serde_json::json!({"error":"invalid_grant"})));
        let (s, b, json) = normalize(502, None, b"<html>bad gateway</html>".to_vec());
        assert_eq!((s, b.as_slice(), json), (502, &b"<html>bad gateway</html>"[..], false));
    }

    #[test]
    fn seconds_are_read_from_any_shape() {
        assert_eq!(integer_seconds(&serde_json::json!(10)), Some(10));
        assert_eq!(integer_seconds(&serde_json::json!(10.4)), Some(10));
        assert_eq!(integer_seconds(&serde_json::json!(" 1700000000 ")), Some(1_700_000_000));
        assert_eq!(integer_seconds(&serde_json::json!("soon")), None);
    }

    #[test]
    fn a_server_s_words_lose_bidirectional_overrides() {
        assert_eq!(server_text("ok\u{202E}txt.exe"), "ok txt.exe");
        assert_eq!(server_text("\u{2066}a\u{2069}"), "a");
    }

    #[test]
    fn a_server_s_words_lose_control_characters_and_length() {
        assert_eq!(server_text("bad\x1b[31m red\nforged line"), "bad [31m red forged line");
        assert_eq!(server_text(&"x".repeat(300)).chars().count(), 201);
    }

    #[test]
    fn an_unreadable_response_names_the_field_but_never_its_value() {
        let e = serde_json::from_str::<u64>("\"eyJhbGciOiJSUzI1NiJ9.secret\"").unwrap_err();
        let text = unreadable("expires_in", &e);
        assert_eq!(text, "this field is missing or of the wrong type: expires_in");
        assert!(!e.to_string().is_empty() && !text.contains("eyJ"));
        let e = serde_json::from_str::<u64>("<html>").unwrap_err();
        assert_eq!(unreadable("", &e), "the body is not JSON");
    }

    #[test]
    fn only_https_or_loopback_endpoints_are_used() {
        assert!(check_endpoint(&Url::parse("https://as.example/token").unwrap(), "x").is_ok());
        assert!(check_endpoint(&Url::parse("http://127.0.0.1:9/token").unwrap(), "x").is_ok());
        assert!(check_endpoint(&Url::parse("http://as.example/token").unwrap(), "x").is_err());
        // A name under .localhost is not resolved, so not trusted (RFC 6761 §6.3 is a request to resolvers).
        assert!(check_endpoint(&Url::parse("http://as.localhost/token").unwrap(), "x").is_err());
        assert!(check_endpoint(&Url::parse("javascript:alert(1)").unwrap(), "x").is_err());
        assert!(check_endpoint(&Url::parse("file:///etc/passwd").unwrap(), "x").is_err());
    }
}
