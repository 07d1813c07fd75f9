//! The interactive sign-in: authorization code with PKCE through the browser
//! and a loopback redirect, a pasted redirect for headless machines, or the
//! device authorization grant.
//!
//! Owns one sign-in from start to tokens: the authorization request carries
//! PKCE `S256` (OAuth 2.1 §4.1.1, MCP §"Authorization Code Protection"),
//! `state`, `resource` (RFC 8707) and the chosen scopes; the callback is
//! accepted only with the right `state` (§7.12 of OAuth 2.1: CSRF) and, per
//! RFC 9207, the right `iss` (compared as strings, not normalised: required
//! when the server advertises it, checked whenever present), and only then is
//! an `error` in it believed; the code is exchanged at once. The listener is
//! bound before the browser opens (RFC 8252 §7.3); the URL is also printed so
//! a user whose browser did not open can copy it.
//!
//! RFC 8628 (device authorization) serves machines with no browser at all.

use std::collections::HashMap;
use std::time::Duration;

use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier, Scope};
use url::Url;

use super::AuthError;
use super::discovery::AuthServer;
use super::http::{OAuthHttp, check_endpoint, server_text};
use super::loopback::Verdict;
use super::registration::ClientCredentials;
use super::tokens::{oauth_client, token_error};

/// An authorization request on its way to the browser.
pub struct Authorization {
    /// The URL to open.
    pub url: Url,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
    /// The redirect URI it names.
    pub redirect_uri: String,
    issuer: String,
    iss_required: bool,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL carries the PKCE challenge and state, not secrets, but the
        // verifier is one.
        f.debug_struct("Authorization")
            .field("redirect_uri", &self.redirect_uri)
            .field("issuer", &self.issuer)
            .finish()
    }
}

impl Authorization {
    /// Builds the request for `server` as `creds`.
    pub fn new(
        server: &AuthServer,
        creds: &ClientCredentials,
        redirect_uri: &str,
        resource: &str,
        scopes: &[String],
    ) -> Result<Self, AuthError> {
        let client = oauth_client(server, creds, Some(redirect_uri))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .add_extra_param("resource", resource);
        for s in scopes {
            req = req.add_scope(Scope::new(s.clone()));
        }
        let (url, state) = req.url();
        check_endpoint(&url, "authorization URL")?;
        Ok(Self {
            url,
            state,
            verifier,
            redirect_uri: redirect_uri.to_owned(),
            issuer: server.issuer.clone(),
            iss_required: server.authorization_response_iss_parameter_supported,
        })
    }

    /// A checker for the loopback listener.
    pub fn checker(&self) -> impl Fn(&HashMap<String, String>) -> Verdict + Send + Sync + 'static {
        let state = self.state.secret().clone();
        let issuer = self.issuer.clone();
        let iss_required = self.iss_required;
        move |params| check_callback(params, &state, &issuer, iss_required)
    }

    /// Checks a pasted redirect URL (headless sign-in).
    pub fn check_pasted(&self, pasted: &str) -> Result<String, AuthError> {
        let url = Url::parse(pasted.trim())
            .map_err(|_| AuthError::Interaction("that is not the URL of the page the browser ended on".into()))?;
        let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
        match check_callback(&params, self.state.secret(), &self.issuer, self.iss_required) {
            Verdict::Code(code) => Ok(code),
            Verdict::Ignore(why) => Err(AuthError::Refused(why)),
            Verdict::Fail(e) => Err(e),
        }
    }

    /// The PKCE verifier, consumed by the code exchange.
    pub fn into_verifier(self) -> PkceCodeVerifier {
        self.verifier
    }
}

/// Judges a callback: `state` first, then `iss` (RFC 9207 §2.4), and only
/// then the outcome.
pub fn check_callback(params: &HashMap<String, String>, state: &str, issuer: &str, iss_required: bool) -> Verdict {
    match params.get("state") {
        Some(s) if constant_time_eq(s.as_bytes(), state.as_bytes()) => {}
        Some(_) => {
            return Verdict::Ignore(
                "This sign-in is not the one Tether started (the state does not match). Close this tab.".into(),
            );
        }
        None => return Verdict::Ignore("The callback carries no state. Close this tab.".into()),
    }
    match params.get("iss") {
        Some(iss) if iss != issuer => {
            // The response comes from another server (a mix-up attack);
            // nothing in it, not even its error, is acted on.
            return Verdict::Fail(AuthError::Refused(format!(
                "the sign-in answer names the issuer {iss:?}, not {issuer:?}; it was discarded (RFC 9207)"
            )));
        }
        None if iss_required => {
            return Verdict::Fail(AuthError::Refused(format!(
                "{issuer} promises an `iss` in its sign-in answers and this one has none; it was discarded (RFC 9207)"
            )));
        }
        _ => {}
    }
    if let Some(error) = params.get("error") {
        let error = server_text(error);
        let detail = params
            .get("error_description")
            .map(|d| format!(": {}", server_text(d)))
            .unwrap_or_default();
        return Verdict::Fail(AuthError::Denied(format!(
            "{issuer} did not grant access ({error}{detail})"
        )));
    }
    match params.get("code") {
        Some(code) if !code.is_empty() => Verdict::Code(code.clone()),
        _ => Verdict::Fail(AuthError::Denied(format!("{issuer} sent no authorization code"))),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The device authorization grant (RFC 8628): the user opens a URL on any
/// device and types a code; Tether polls until they are done.
pub async fn device_sign_in(
    http: &OAuthHttp,
    server: &AuthServer,
    creds: &ClientCredentials,
    resource: &str,
    scopes: &[String],
    show: impl Fn(&str, &str, Option<&str>),
    timeout: Duration,
) -> Result<oauth2::basic::BasicTokenResponse, AuthError> {
    let endpoint = server
        .device_authorization_endpoint
        .as_ref()
        .ok_or_else(|| AuthError::Interaction(format!("{} offers no device sign-in", server.issuer)))?;
    let url = Url::parse(endpoint)
        .map_err(|_| AuthError::Discovery(format!("the device endpoint {endpoint:?} is not a URL")))?;
    check_endpoint(&url, "device authorization endpoint")?;
    let client =
        oauth_client(server, creds, None)?.set_device_authorization_url(oauth2::DeviceAuthorizationUrl::from_url(url));
    let mut req = client.exchange_device_code().add_extra_param("resource", resource);
    for s in scopes {
        req = req.add_scope(Scope::new(s.clone()));
    }
    let details: oauth2::StandardDeviceAuthorizationResponse = req
        .request_async(http)
        .await
        .map_err(|e| token_error(e, &server.issuer, "device sign-in"))?;
    // Shown to the person as they are: but a server's words, so without
    // control characters.
    show(
        &server_text(details.verification_uri().as_str()),
        &server_text(details.user_code().secret()),
        details
            .verification_uri_complete()
            .map(|u| server_text(u.secret()))
            .as_deref(),
    );
    client
        .exchange_device_access_token(&details)
        .add_extra_param("resource", resource)
        .request_async(http, tokio::time::sleep, Some(timeout))
        .await
        .map_err(|e| token_error(e, &server.issuer, "finishing device sign-in"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_callback_with_the_right_state_and_issuer_yields_the_code() {
        let v = check_callback(
            &params(&[("code", "c"), ("state", "s"), ("iss", "https://as")]),
            "s",
            "https://as",
            true,
        );
        assert!(matches!(v, Verdict::Code(c) if c == "c"));
        let v = check_callback(&params(&[("code", "c"), ("state", "s")]), "s", "https://as", false);
        assert!(matches!(v, Verdict::Code(_)), "iss may be absent when not advertised");
    }

    #[test]
    fn a_wrong_or_missing_state_is_ignored_not_believed() {
        assert!(matches!(
            check_callback(&params(&[("code", "c"), ("state", "x")]), "s", "i", false),
            Verdict::Ignore(_)
        ));
        assert!(matches!(
            check_callback(&params(&[("code", "c")]), "s", "i", false),
            Verdict::Ignore(_)
        ));
        assert!(matches!(
            check_callback(&params(&[("error", "access_denied"), ("state", "x")]), "s", "i", false),
            Verdict::Ignore(_)
        ));
    }

    #[test]
    fn a_wrong_or_missing_iss_is_refused_before_any_error_is_read() {
        let v = check_callback(
            &params(&[("code", "c"), ("state", "s"), ("iss", "https://evil")]),
            "s",
            "https://as",
            false,
        );
        assert!(matches!(v, Verdict::Fail(AuthError::Refused(m)) if m.contains("RFC 9207")));
        let v = check_callback(&params(&[("code", "c"), ("state", "s")]), "s", "https://as", true);
        assert!(matches!(v, Verdict::Fail(AuthError::Refused(_))));
        // No normalisation: a trailing slash is another issuer.
        let v = check_callback(
            &params(&[("code", "c"), ("state", "s"), ("iss", "https://as/")]),
            "s",
            "https://as",
            true,
        );
        assert!(matches!(v, Verdict::Fail(AuthError::Refused(_))));
        let v = check_callback(
            &params(&[("error", "access_denied"), ("state", "s"), ("iss", "https://evil")]),
            "s",
            "https://as",
            false,
        );
        assert!(
            matches!(v, Verdict::Fail(AuthError::Refused(_))),
            "the error of a foreign response is not shown"
        );
    }

    #[test]
    fn an_error_from_the_right_server_ends_the_sign_in() {
        let v = check_callback(
            &params(&[("error", "access_denied"), ("error_description", "no"), ("state", "s")]),
            "s",
            "https://as",
            false,
        );
        assert!(matches!(v, Verdict::Fail(AuthError::Denied(m)) if m.contains("access_denied: no")));
    }
}
