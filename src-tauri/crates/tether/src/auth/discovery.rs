//! Finding the authorization server of an MCP server.
//!
//! Owns discovery as MCP Authorization 2025-11-25 orders it: the protected
//! resource metadata (RFC 9728) from the `resource_metadata` URL of the 401
//! challenge, else the well-known URL with the MCP path inserted, else at the
//! root (§"Protected Resource Metadata Discovery Requirements"); then the
//! authorization server's metadata, RFC 8414 and OpenID Connect Discovery in
//! the spec's order (§"Authorization Server Metadata Discovery"); and, only
//! when there is no protected resource metadata at all, the 2025-03-26 rules
//! (metadata at the MCP origin, else `/authorize`, `/token`, `/register`
//! there).
//!
//! It refuses what is unsafe: a `resource` of another origin or outside the
//! MCP path (RFC 9728 §3.3), metadata whose `issuer` is not the issuer it was
//! fetched for (RFC 8414 §3.3), an authorization server without PKCE `S256`
//! (§"Authorization Code Protection": clients MUST refuse), endpoints that are
//! not https. The `resource` value is kept exactly as the server wrote it, so
//! the `resource` parameter (RFC 8707) matches it byte for byte.

use serde_json::Value;
use tracing::debug;
use url::Url;

use super::AuthError;
use super::challenge::Challenge;
use super::http::{OAuthHttp, check_endpoint};
use crate::config::redact_url;
pub use crate::store::oauth::AuthServer;

/// Protected resource metadata (RFC 9728 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResource {
    /// `resource`, verbatim.
    pub resource: String,
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Option<Vec<String>>,
}

/// What discovery found for one MCP server.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub protected_resource: Option<ProtectedResource>,
    pub server: AuthServer,
    /// The `resource` parameter to send (RFC 8707): the metadata's
    /// `resource` verbatim, or the MCP URL when there is no metadata.
    pub resource: String,
}

/// Runs discovery for `mcp_url`, starting from the 401 `challenge` if any.
/// `resource_override` (mcp-remote's `--resource`) replaces the `resource`
/// parameter.
pub async fn discover(
    http: &OAuthHttp,
    mcp_url: &Url,
    challenge: Option<&Challenge>,
    resource_override: Option<&str>,
) -> Result<Discovered, AuthError> {
    let prm = protected_resource(http, mcp_url, challenge).await?;
    let (server, resource) = match &prm {
        Some(prm) => {
            let issuer = prm
                .authorization_servers
                .iter()
                .find(|i| Url::parse(i).is_ok_and(|u| check_endpoint(&u, "issuer").is_ok()))
                .ok_or_else(|| {
                    AuthError::Discovery(format!(
                        "the protected resource metadata of {} names no usable authorization server (https) in \"authorization_servers\"",
                        redact_url(mcp_url)
                    ))
                })?;
            (authorization_server(http, issuer).await?, prm.resource.clone())
        }
        None => (legacy_server(http, mcp_url).await?, mcp_url_as_resource(mcp_url)),
    };
    let resource = resource_override.map_or(resource, str::to_owned);
    Ok(Discovered {
        protected_resource: prm,
        server,
        resource,
    })
}

/// The MCP URL as a `resource` value: without its fragment, as written.
fn mcp_url_as_resource(url: &Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    u.to_string()
}

/// Fetches and checks the protected resource metadata. `Ok(None)` when the
/// server has none (a 2025-03-26 server).
pub async fn protected_resource(
    http: &OAuthHttp,
    mcp_url: &Url,
    challenge: Option<&Challenge>,
) -> Result<Option<ProtectedResource>, AuthError> {
    let mut candidates = Vec::new();
    if let Some(u) = challenge.and_then(|c| c.resource_metadata.as_deref()) {
        let u = Url::parse(u).map_err(|_| {
            AuthError::Discovery(format!("the 401 names resource metadata at {u:?}, which is not a URL"))
        })?;
        candidates.push(u);
    } else {
        candidates.extend(prm_well_known(mcp_url));
    }
    for url in candidates {
        debug!(url = %redact_url(&url), "fetching protected resource metadata");
        let Some(doc) = http.get_json(&url, &[]).await? else {
            continue;
        };
        let prm = parse_prm(&doc).ok_or_else(|| {
            AuthError::Discovery(format!(
                "the protected resource metadata at {} has no \"resource\"",
                redact_url(&url)
            ))
        })?;
        check_resource(&prm.resource, mcp_url)?;
        if prm.authorization_servers.is_empty() {
            return Err(AuthError::Discovery(format!(
                "the protected resource metadata at {} lists no \"authorization_servers\"",
                redact_url(&url)
            )));
        }
        return Ok(Some(prm));
    }
    Ok(None)
}

/// The well-known URLs of RFC 9728 §3.1 in MCP's order: path inserted, then
/// the root.
pub fn prm_well_known(mcp_url: &Url) -> Vec<Url> {
    let path = mcp_url.path().trim_end_matches('/');
    let mut out = Vec::new();
    let mut at = |p: &str| {
        let mut u = mcp_url.clone();
        u.set_path(p);
        u.set_query(None);
        u.set_fragment(None);
        out.push(u);
    };
    if !path.is_empty() {
        at(&format!("/.well-known/oauth-protected-resource{path}"));
    }
    at("/.well-known/oauth-protected-resource");
    out
}

/// Reads protected resource metadata (RFC 9728 §2); `None` without a
/// `resource` string. [`check_resource`] says whether it is this server's.
pub fn parse_prm(doc: &Value) -> Option<ProtectedResource> {
    Some(ProtectedResource {
        resource: doc.get("resource")?.as_str()?.to_owned(),
        authorization_servers: strings(doc.get("authorization_servers")).unwrap_or_default(),
        scopes_supported: strings(doc.get("scopes_supported")),
    })
}

/// RFC 9728 §3.3: the metadata must be about this server. Same scheme, host
/// and port, and the `resource` path a prefix of the MCP path (a root
/// `resource` covers every path of the origin).
pub fn check_resource(resource: &str, mcp_url: &Url) -> Result<(), AuthError> {
    let refuse = || {
        AuthError::Refused(format!(
            "the server's metadata claims to protect {resource:?}, which is not {}; Tether will not sign in for another resource",
            redact_url(mcp_url)
        ))
    };
    let r = Url::parse(resource).map_err(|_| refuse())?;
    if r.origin() != mcp_url.origin() || r.fragment().is_some() {
        return Err(refuse());
    }
    let rp = r.path().trim_end_matches('/');
    let mp = mcp_url.path().trim_end_matches('/');
    if mp == rp || mp.starts_with(&format!("{rp}/")) || rp.is_empty() {
        Ok(())
    } else {
        Err(refuse())
    }
}

/// The metadata URLs for `issuer` in MCP 2025-11-25's order.
pub fn as_well_known(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut out = Vec::new();
    let mut at = |p: String| {
        let mut u = issuer.clone();
        u.set_path(&p);
        u.set_query(None);
        u.set_fragment(None);
        out.push(u);
    };
    if path.is_empty() {
        at("/.well-known/oauth-authorization-server".into());
        at("/.well-known/openid-configuration".into());
    } else {
        at(format!("/.well-known/oauth-authorization-server{path}"));
        at(format!("/.well-known/openid-configuration{path}"));
        at(format!("{path}/.well-known/openid-configuration"));
    }
    out
}

/// Fetches and checks the metadata of `issuer`.
pub async fn authorization_server(http: &OAuthHttp, issuer: &str) -> Result<AuthServer, AuthError> {
    let issuer_url =
        Url::parse(issuer).map_err(|_| AuthError::Discovery(format!("the issuer {issuer:?} is not a URL")))?;
    check_endpoint(&issuer_url, "authorization server")?;
    for url in as_well_known(&issuer_url) {
        debug!(url = %redact_url(&url), "fetching authorization server metadata");
        let Some(doc) = http.get_json(&url, &[]).await? else {
            continue;
        };
        return parse_as(&doc, Some(issuer));
    }
    Err(AuthError::Discovery(format!(
        "the authorization server {issuer} publishes no metadata (RFC 8414 or OpenID Connect Discovery)"
    )))
}

/// MCP 2025-03-26: no protected resource metadata. The authorization server
/// is the MCP server's origin, with its metadata at the root, or, failing
/// that, the default endpoints `/authorize`, `/token` and `/register`.
async fn legacy_server(http: &OAuthHttp, mcp_url: &Url) -> Result<AuthServer, AuthError> {
    let mut base = mcp_url.clone();
    base.set_path("");
    base.set_query(None);
    base.set_fragment(None);
    let mut meta = base.clone();
    meta.set_path("/.well-known/oauth-authorization-server");
    let origin = base.as_str().trim_end_matches('/').to_owned();
    // 2025-03-26 §2.3.2: clients SHOULD send MCP-Protocol-Version here.
    if let Some(doc) = http.get_json(&meta, &[("mcp-protocol-version", "2025-03-26")]).await? {
        // The metadata was fetched from the MCP server's origin, so its
        // issuer must be of that origin (2025-03-26 §2.3.2: the
        // authorization base URL is the MCP server's; RFC 8414 §3.3). A
        // server that claims another origin's issuer (a company's identity
        // provider, say) would be handed that issuer's registered client,
        // and its secret, at its own token endpoint: refused.
        let server = parse_as(&doc, None)?;
        let same_origin = Url::parse(&server.issuer).is_ok_and(|i| i.origin() == mcp_url.origin());
        if !same_origin {
            return Err(AuthError::Refused(format!(
                "{} publishes no protected resource metadata (RFC 9728), and its authorization server metadata names the issuer {} of another origin; \
                 without the resource's metadata, only an issuer of the server's own origin is trusted (MCP 2025-03-26)",
                redact_url(mcp_url),
                server.issuer
            )));
        }
        return Ok(server);
    }
    debug!("no authorization server metadata; using the 2025-03-26 default endpoints");
    Ok(AuthServer {
        registration_endpoint: Some(format!("{origin}/register")),
        synthesized: true,
        ..AuthServer::minimal(&origin, &format!("{origin}/authorize"), &format!("{origin}/token"))
    })
}

/// Parses and checks authorization server metadata. With `expected_issuer`,
/// the document's `issuer` must be that issuer (RFC 8414 §3.3); a trailing
/// slash is the only difference tolerated.
pub fn parse_as(doc: &Value, expected_issuer: Option<&str>) -> Result<AuthServer, AuthError> {
    let s = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
    let issuer = s("issuer")
        .ok_or_else(|| AuthError::Discovery("the authorization server metadata has no \"issuer\"".into()))?;
    if let Some(expected) = expected_issuer
        && issuer.trim_end_matches('/') != expected.trim_end_matches('/')
    {
        return Err(AuthError::Refused(format!(
            "the authorization server metadata for {expected} says its issuer is {issuer}; mismatched metadata is not used (RFC 8414 §3.3)"
        )));
    }
    let need = |k: &str| s(k).ok_or_else(|| AuthError::Discovery(format!("the metadata of {issuer} has no \"{k}\"")));
    let server = AuthServer {
        authorization_endpoint: need("authorization_endpoint")?,
        token_endpoint: need("token_endpoint")?,
        registration_endpoint: s("registration_endpoint"),
        revocation_endpoint: s("revocation_endpoint"),
        device_authorization_endpoint: s("device_authorization_endpoint"),
        scopes_supported: strings(doc.get("scopes_supported")),
        token_endpoint_auth_methods_supported: strings(doc.get("token_endpoint_auth_methods_supported")),
        client_id_metadata_document_supported: doc
            .get("client_id_metadata_document_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        authorization_response_iss_parameter_supported: doc
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        synthesized: false,
        issuer,
    };
    let methods = strings(doc.get("code_challenge_methods_supported")).unwrap_or_default();
    if !methods.iter().any(|m| m == "S256") {
        return Err(AuthError::Refused(format!(
            "the authorization server {} does not advertise PKCE with S256 (code_challenge_methods_supported: {methods:?}); MCP clients must refuse to sign in without it",
            server.issuer
        )));
    }
    for (what, url) in [
        ("authorization endpoint", &server.authorization_endpoint),
        ("token endpoint", &server.token_endpoint),
    ] {
        let u = Url::parse(url).map_err(|_| AuthError::Discovery(format!("the {what} {url:?} is not a URL")))?;
        check_endpoint(&u, what)?;
    }
    Ok(server)
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Array(a) => Some(a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()),
        Value::String(s) => Some(s.split_ascii_whitespace().map(str::to_owned).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::routes::{FakeRoutes as FakeHttp, Route};

    fn metadata(issuer: &str, base: &str) -> serde_json::Value {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "registration_endpoint": format!("{base}/register"),
            "code_challenge_methods_supported": ["S256"],
        })
    }

    #[tokio::test]
    async fn without_resource_metadata_the_authorization_server_must_be_the_mcp_server_s_origin() {
        // A 2025-03-26 server (no RFC 9728 document) whose metadata claims a
        // company's identity provider as its issuer: its clients (and their
        // secrets) are keyed by that issuer, so the claim is refused.
        let fake = FakeHttp::start(vec![Route::get(
            "/.well-known/oauth-authorization-server",
            metadata("https://idp.corp.example", "https://idp.corp.example"),
        )])
        .await;
        let http = OAuthHttp::new().unwrap();
        let mcp = Url::parse(&format!("{}/mcp", fake.base)).unwrap();
        let e = discover(&http, &mcp, None, None).await.unwrap_err();
        assert!(matches!(e, AuthError::Refused(_)), "{e}");
        assert!(e.to_string().contains("idp.corp.example"), "{e}");

        // An issuer of its own origin is what 2025-03-26 describes (with a
        // path, as the conformance suite's back-compat scenario has it).
        let own = FakeHttp::start_with(|base| {
            vec![Route::get(
                "/.well-known/oauth-authorization-server",
                metadata(&format!("{base}/oauth"), base),
            )]
        })
        .await;
        let mcp = Url::parse(&format!("{}/mcp", own.base)).unwrap();
        let found = discover(&http, &mcp, None, None).await.unwrap();
        assert_eq!(found.server.issuer, format!("{}/oauth", own.base));
        assert_eq!(found.server.token_endpoint, format!("{}/token", own.base));
    }

    use serde_json::json;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn protected_resource_metadata_is_looked_for_with_the_path_then_at_the_root() {
        let got: Vec<String> = prm_well_known(&u("https://x.example/public/mcp"))
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "https://x.example/.well-known/oauth-protected-resource/public/mcp",
                "https://x.example/.well-known/oauth-protected-resource"
            ]
        );
        let got: Vec<String> = prm_well_known(&u("https://x.example/"))
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(got, ["https://x.example/.well-known/oauth-protected-resource"]);
    }

    #[test]
    fn authorization_server_metadata_is_looked_for_in_the_spec_order() {
        let got: Vec<String> = as_well_known(&u("https://auth.example.com/tenant1"))
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example.com/.well-known/openid-configuration/tenant1",
                "https://auth.example.com/tenant1/.well-known/openid-configuration",
            ]
        );
        let got: Vec<String> = as_well_known(&u("https://auth.example.com"))
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn a_resource_of_the_same_origin_and_a_prefix_path_is_accepted() {
        let mcp = u("https://x.example/api/mcp");
        assert!(check_resource("https://x.example/api/mcp", &mcp).is_ok());
        assert!(check_resource("https://x.example/api", &mcp).is_ok());
        assert!(check_resource("https://x.example", &mcp).is_ok());
        assert!(check_resource("https://x.example/", &mcp).is_ok());
    }

    #[test]
    fn a_resource_of_another_origin_or_path_is_refused() {
        let mcp = u("https://x.example/api/mcp");
        assert!(matches!(
            check_resource("https://evil.example/api/mcp", &mcp),
            Err(AuthError::Refused(_))
        ));
        assert!(check_resource("http://x.example/api/mcp", &mcp).is_err());
        assert!(check_resource("https://x.example:444/api/mcp", &mcp).is_err());
        assert!(check_resource("https://x.example/apix", &mcp).is_err());
        assert!(check_resource("https://x.example/other", &mcp).is_err());
        assert!(check_resource("not a url", &mcp).is_err());
    }

    fn meta(extra: Value) -> Value {
        let mut m = json!({
            "issuer": "https://as.example",
            "authorization_endpoint": "https://as.example/authorize",
            "token_endpoint": "https://as.example/token",
            "code_challenge_methods_supported": ["S256"],
        });
        m.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        m
    }

    #[test]
    fn metadata_with_pkce_s256_and_the_right_issuer_is_accepted() {
        let s = parse_as(&meta(json!({"registration_endpoint": "https://as.example/register", "authorization_response_iss_parameter_supported": true})), Some("https://as.example/")).unwrap();
        assert_eq!(s.registration_endpoint.as_deref(), Some("https://as.example/register"));
        assert!(s.authorization_response_iss_parameter_supported);
        assert!(!s.client_id_metadata_document_supported);
    }

    #[test]
    fn metadata_of_another_issuer_is_refused() {
        let e = parse_as(
            &meta(json!({"issuer": "https://evil.example"})),
            Some("https://as.example"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("says its issuer is https://evil.example"), "{e}");
    }

    #[test]
    fn an_authorization_server_without_pkce_s256_is_refused() {
        for methods in [json!(["plain"]), json!([]), Value::Null] {
            let mut m = meta(json!({}));
            m["code_challenge_methods_supported"] = methods;
            let e = parse_as(&m, Some("https://as.example")).unwrap_err();
            assert!(e.to_string().contains("does not advertise PKCE with S256"), "{e}");
        }
    }

    #[test]
    fn an_authorization_endpoint_that_is_not_https_is_refused() {
        let e = parse_as(
            &meta(json!({"authorization_endpoint": "http://as.example/authorize"})),
            None,
        )
        .unwrap_err();
        assert!(matches!(e, AuthError::Insecure(_)));
        let e = parse_as(&meta(json!({"authorization_endpoint": "javascript:alert(1)"})), None).unwrap_err();
        assert!(matches!(e, AuthError::Insecure(_)));
        assert!(
            parse_as(
                &meta(json!({"authorization_endpoint": "http://127.0.0.1:4444/authorize"})),
                None
            )
            .is_ok()
        );
    }
}
