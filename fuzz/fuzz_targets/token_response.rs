//! Token endpoint responses: the normaliser that makes a quirky response
//! readable (`tether::auth::http::normalize`), the `oauth2` crate's parse
//! as it runs on the normalised response, and the [`TokenSet`] kept in the
//! keychain (`tether::auth::tokens`).
//!
//! The input is `[status][content type][body…]`. Checks, beyond "no panic":
//! - a body that is not a JSON object passes untouched; one that is comes
//!   out as a JSON object labelled JSON;
//! - the tokens themselves (`access_token`, `refresh_token`, `id_token`)
//!   and every member the normaliser has no rule for come out unchanged;
//! - normalising twice changes nothing more;
//! - a success whose `access_token` is a string, with `token_type`,
//!   `refresh_token` and `scope` in any of the shapes the normaliser says it
//!   handles and any `expires_in` at all, parses as a token response (the
//!   quirks are harmless: the sign-in goes through);
//! - the token set built from it never expires before it was obtained, and
//!   survives the keychain's round trip; a token set read from any keychain
//!   value answers "when does it expire" without overflowing.

#![no_main]

use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use oauth2::basic::BasicTokenResponse;
use serde_json::{Map, Value};
use tether::auth::discovery::AuthServer;
use tether::auth::http::normalize;
use tether::auth::tokens::TokenSet;
use tether::store::secrets::Secret;

const STATUSES: &[u16] = &[200, 201, 400, 401, 500, 204];
const CONTENT_TYPES: &[Option<&str>] = &[
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("text/plain"),
    None,
    Some("text/html"),
    Some("Application/JSON"),
];
/// The members the normaliser may change or remove.
const RULED: &[&str] = &["expires_in", "token_type", "scope", "refresh_token", "id_token"];

fn object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Some(o),
        _ => None,
    }
}

/// Whether the body's top-level object names a member twice (RFC 8259 §4:
/// names SHOULD be unique); `oauth2` refuses that for the members it reads,
/// and no normaliser rule is about it.
fn repeats_a_name(body: &[u8]) -> bool {
    struct Names(bool);
    impl<'de> serde::Deserialize<'de> for Names {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Names;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Names, A::Error> {
                    let mut seen = std::collections::HashSet::new();
                    let mut repeated = false;
                    while let Some((k, _)) = m.next_entry::<String, serde::de::IgnoredAny>()? {
                        repeated |= !seen.insert(k);
                    }
                    Ok(Names(repeated))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_slice::<Names>(body).is_ok_and(|n| n.0)
}

/// The shapes the normaliser's module documentation promises to handle.
fn promised(input: &Map<String, Value>, status: u16) -> bool {
    let absent_null_or_string = |k: &str| matches!(input.get(k), None | Some(Value::Null | Value::String(_)));
    (status == 200 || status == 201)
        && input.get("access_token").is_some_and(Value::is_string)
        && matches!(input.get("token_type"), None | Some(Value::String(_)))
        && absent_null_or_string("refresh_token")
        && absent_null_or_string("id_token")
        && matches!(
            input.get("scope"),
            None | Some(Value::Null | Value::String(_) | Value::Array(_))
        )
}

/// Equal, numbers within a rounding step: a re-serialised body may write a
/// long float one unit in the last place off (serde_json's float parsing),
/// which no reader of a token response can tell.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x == y || (x - y).abs() <= x.abs().max(y.abs()) * 1e-15
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let [status_sel, ct_sel, body @ ..] = data else {
        return;
    };
    let status = STATUSES[usize::from(*status_sel) % STATUSES.len()];
    let ct = CONTENT_TYPES[usize::from(*ct_sel) % CONTENT_TYPES.len()].map(HeaderValue::from_static);

    // Any keychain value: reading it and asking about expiry never panics.
    if let Some(t) = TokenSet::from_secret(&Secret::new(String::from_utf8_lossy(body))) {
        let _ = (t.remaining(), t.expires_within(300), format!("{t:?}"));
    }

    let (status2, body2, json) = normalize(status, ct.as_ref(), body.to_vec());
    let Some(input) = object(body) else {
        assert_eq!(
            (status2, &body2[..], json),
            (status, body, false),
            "a non-object passes untouched"
        );
        return;
    };
    assert!(json, "a JSON object is labelled JSON");
    let output = object(&body2).expect("a normalised object is still a JSON object");

    for k in ["access_token", "refresh_token", "id_token"] {
        if let Some(Value::String(t)) = input.get(k) {
            assert_eq!(output.get(k), Some(&Value::String(t.clone())), "{k} was changed");
        }
    }
    for (k, v) in &input {
        if !RULED.contains(&k.as_str()) {
            let out = output.get(k).unwrap_or_else(|| panic!("{k} was removed"));
            assert!(same(out, v), "{k} was changed: {v} became {out}");
        }
    }
    if status2 != status {
        assert_eq!((status, status2), (201, 200));
        assert!(input.contains_key("access_token"));
    }

    let json_ct = HeaderValue::from_static("application/json");
    let again = normalize(status2, Some(&json_ct), body2.clone());
    assert_eq!(again, (status2, body2.clone(), true), "normalising twice changes more");

    // What `oauth2` does next with a success (its `endpoint_response`).
    let parsed = if status2 == 200 {
        serde_json::from_slice::<BasicTokenResponse>(&body2).ok()
    } else {
        None
    };
    if promised(&input, status) && !repeats_a_name(body) {
        assert!(
            parsed.is_some(),
            "a response the normaliser promises to handle does not parse: {}",
            String::from_utf8_lossy(&body2)
        );
    }
    if let Some(resp) = parsed {
        let server = AuthServer::minimal(
            "https://as.example",
            "https://as.example/authorize",
            "https://as.example/token",
        );
        let t = TokenSet::from_response(&resp, Some("old-refresh"), &server, "client", "https://mcp.example/mcp");
        assert_eq!(Some(&Value::String(t.access_token.clone())), input.get("access_token"));
        if let Some(at) = t.expires_at {
            assert!(
                at >= t.obtained_at,
                "expires at {at}, before it was obtained ({})",
                t.obtained_at
            );
        }
        assert!(t.refresh_token.is_some());
        let _ = (t.remaining(), t.expires_within(300));
        assert_eq!(
            TokenSet::from_secret(&t.to_secret()).as_ref(),
            Some(&t),
            "the keychain round trip"
        );
        let shown = format!("{t:?}");
        assert!(!shown.contains("old-refresh"), "Debug shows a token");
    }
});
