//! Protected resource metadata (RFC 9728) and authorization server metadata
//! (RFC 8414, OpenID Connect Discovery) as an MCP server or an authorization
//! server may send them (`tether::auth::discovery`).
//!
//! The input is `[selector][JSON document…]`; the selector picks the MCP
//! URL the document is checked against and the issuer it was fetched for.
//! Checks, beyond "no panic":
//! - accepted authorization server metadata has the expected issuer
//!   (RFC 8414 §3.3, a trailing slash aside), advertises PKCE `S256`, and
//!   endpoints that are https or http to this computer; what is accepted
//!   without an expected issuer is accepted, the same, with its own;
//! - an accepted protected resource is on the MCP server's origin, without
//!   fragment, and its path is the MCP path or a parent of it (RFC 9728
//!   §3.3);
//! - every well-known URL derived from a document's URLs stays on the
//!   origin it was derived from (no metadata is fetched elsewhere).

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tether::auth::discovery::{as_well_known, check_resource, parse_as, parse_prm, prm_well_known};
use url::Url;

const MCP_URLS: &[&str] = &[
    "https://mcp.example.com/mcp",
    "https://mcp.example.com/",
    "https://mcp.example.com/public/mcp/",
    "http://127.0.0.1:8931/mcp",
    "https://mcp.example.com:8443/a/b/c?x=1",
    "http://localhost/sse",
];
const ISSUERS: &[&str] = &[
    "https://auth.example.com",
    "https://auth.example.com/",
    "https://auth.example.com/tenant1",
    "http://127.0.0.1:4444",
];

fn secure(u: &Url) -> bool {
    match u.scheme() {
        "https" => true,
        "http" => match u.host() {
            Some(url::Host::Domain(d)) => {
                let d = d.to_ascii_lowercase();
                d == "localhost" || d.ends_with(".localhost")
            }
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// An http(s) URL: the only kind with an origin to compare (every other
/// scheme's origin is opaque, unequal even to itself).
fn web(u: &Url) -> bool {
    matches!(u.scheme(), "http" | "https")
}

fuzz_target!(|data: &[u8]| {
    let Some((sel, doc)) = data.split_first() else {
        return;
    };
    let Ok(doc) = serde_json::from_slice::<Value>(doc) else {
        return;
    };
    let mcp = Url::parse(MCP_URLS[usize::from(sel % 8) % MCP_URLS.len()]).unwrap();
    let expected = ISSUERS[usize::from(sel / 8) % ISSUERS.len()];

    // Authorization server metadata.
    match parse_as(&doc, Some(expected)) {
        Ok(s) => {
            assert_eq!(s.issuer.trim_end_matches('/'), expected.trim_end_matches('/'));
            assert_eq!(doc.get("issuer").and_then(Value::as_str), Some(s.issuer.as_str()));
            let methods = doc.get("code_challenge_methods_supported");
            let s256 = match methods {
                Some(Value::Array(a)) => a.iter().any(|m| m == "S256"),
                Some(Value::String(s)) => s.split_ascii_whitespace().any(|m| m == "S256"),
                _ => false,
            };
            assert!(s256, "accepted without PKCE S256: {methods:?}");
            for e in [&s.authorization_endpoint, &s.token_endpoint] {
                let u = Url::parse(e).expect("an accepted endpoint is a URL");
                assert!(secure(&u), "accepted an endpoint that is not https: {e}");
            }
            assert!(!s.synthesized);
        }
        Err(_) => {
            let _ = parse_as(&doc, None);
        }
    }
    if let Ok(s) = parse_as(&doc, None) {
        let again = parse_as(&doc, Some(&s.issuer)).expect("metadata is accepted with its own issuer");
        assert_eq!(again, s);
    }

    // Protected resource metadata.
    if let Some(prm) = parse_prm(&doc) {
        assert_eq!(doc.get("resource").and_then(Value::as_str), Some(prm.resource.as_str()));
        if check_resource(&prm.resource, &mcp).is_ok() {
            let r = Url::parse(&prm.resource).expect("an accepted resource is a URL");
            assert_eq!(r.origin(), mcp.origin(), "accepted {} for {mcp}", prm.resource);
            assert!(r.fragment().is_none());
            let rp = r.path().trim_end_matches('/');
            let mp = mcp.path().trim_end_matches('/');
            assert!(
                mp == rp || mp.starts_with(&format!("{rp}/")),
                "accepted the resource path {rp:?} for the MCP path {mp:?}"
            );
        }
        for issuer in &prm.authorization_servers {
            if let Ok(u) = Url::parse(issuer)
                && web(&u)
            {
                for w in as_well_known(&u) {
                    assert_eq!(w.origin(), u.origin(), "{issuer} -> {w}");
                    assert!(w.query().is_none() && w.fragment().is_none());
                }
            }
        }
        if let Ok(u) = Url::parse(&prm.resource)
            && web(&u)
        {
            for w in prm_well_known(&u) {
                assert_eq!(w.origin(), u.origin(), "{} -> {w}", prm.resource);
            }
        }
    }
    if let Some(issuer) = doc.get("issuer").and_then(Value::as_str)
        && let Ok(u) = Url::parse(issuer)
        && web(&u)
    {
        for w in as_well_known(&u) {
            assert_eq!(w.origin(), u.origin(), "{issuer} -> {w}");
        }
    }
});
