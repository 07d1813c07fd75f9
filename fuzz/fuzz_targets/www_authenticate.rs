//! `WWW-Authenticate` parsing (`tether::auth::challenge::parse`), the header a
//! resource server sends with 401 and 403.
//!
//! Two modes, by the first byte:
//! - raw: the rest, split on LF into header values, is parsed as it comes
//!   (no panic, no endless loop, whatever the bytes);
//! - structured: the rest describes challenges (schemes, parameters, values
//!   with quotes and backslashes, token or quoted-string form, odd spacing and
//!   commas), written out by RFC 9110 §11.2–§11.6.1 and parsed back: the
//!   first Bearer challenge's `resource_metadata`, `scope`, `error` and
//!   `error_description` must be exactly the values written (names match in
//!   any case; a repeated name keeps its last value), and no Bearer
//!   challenge means `None`.

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use tether::auth::challenge::{self, Challenge};

const SCHEMES: &[&str] = &[
    "Bearer",
    "bearer",
    "BEARER",
    "Basic",
    "DPoP",
    "Negotiate",
    "Newauth",
    "Digest",
];
const NAMES: &[&str] = &[
    "resource_metadata",
    "scope",
    "error",
    "error_description",
    "realm",
    "Scope",
    "ERROR",
    "type",
    "title",
];
const SEPARATORS: &[&str] = &[", ", ",", " , ", ",\t", " ,, ", "\t,"];
const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Reads the structured description from bytes.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn pick<'s>(&mut self, from: &[&'s str]) -> Option<&'s str> {
        Some(from[usize::from(self.byte()?) % from.len()])
    }
    /// A parameter value: printable ASCII, space and tab (RFC 9110 qdtext
    /// and quoted-pair), up to a length the next byte gives.
    fn value(&mut self) -> Option<String> {
        let len = usize::from(self.byte()? % 24);
        let mut s = String::new();
        for _ in 0..len {
            let b = self.byte()?;
            s.push(match b % 97 {
                95 => '\t',
                96 => '"',
                n => char::from(b' ' + n),
            });
        }
        Some(s)
    }
}

fn quote(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn is_token(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| TCHAR.contains(&b))
}

/// Writes challenges from the description; returns the header values and
/// the parameters of the first Bearer challenge, if any.
fn write(mut d: Bytes<'_>) -> (Vec<String>, Option<HashMap<String, String>>) {
    let mut values = Vec::new();
    let mut bearer: Option<HashMap<String, String>> = None;
    let n_values = d.byte().map_or(1, |b| usize::from(b % 3) + 1);
    for _ in 0..n_values {
        let mut header = String::new();
        let n_challenges = d.byte().map_or(1, |b| usize::from(b % 4) + 1);
        for c in 0..n_challenges {
            let Some(scheme) = d.pick(SCHEMES) else { break };
            if c > 0 {
                header.push_str(d.pick(SEPARATORS).unwrap_or(", "));
            }
            header.push_str(scheme);
            let first_bearer = bearer.is_none() && scheme.eq_ignore_ascii_case("bearer");
            let mut params = HashMap::new();
            let n_params = d.byte().map_or(0, |b| usize::from(b % 5));
            for p in 0..n_params {
                let (Some(name), Some(form), Some(v)) = (d.pick(NAMES), d.byte(), d.value()) else {
                    break;
                };
                header.push_str(if p == 0 {
                    " "
                } else {
                    d.pick(SEPARATORS).unwrap_or(", ")
                });
                header.push_str(name);
                // Optional whitespace around "=" is tolerated by the
                // parser (RFC 9110 §11.2 has BWS there).
                header.push_str(["=", " = ", "=\t"][usize::from(form % 3)]);
                if form & 0x80 != 0 && is_token(&v) {
                    header.push_str(&v);
                } else {
                    header.push_str(&quote(&v));
                }
                params.insert(name.to_ascii_lowercase(), v);
            }
            if first_bearer {
                bearer = Some(params);
            }
        }
        values.push(header);
    }
    (values, bearer)
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let text = String::from_utf8_lossy(rest);
        let c = challenge::parse(text.split('\n'));
        if let Some(c) = c {
            let _ = (c.scopes(), c.insufficient_scope());
        }
        return;
    }
    let (values, bearer) = write(Bytes(rest));
    let got = challenge::parse(values.iter().map(String::as_str));
    let want = bearer.map(|p| Challenge {
        resource_metadata: p.get("resource_metadata").cloned(),
        scope: p.get("scope").cloned(),
        error: p.get("error").cloned(),
        error_description: p.get("error_description").cloned(),
    });
    assert_eq!(got, want, "header values {values:?}");
});
