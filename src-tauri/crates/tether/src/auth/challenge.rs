//! Reading `WWW-Authenticate` challenges.
//!
//! Owns the parsing of the header a resource server sends with 401 and 403
//! (RFC 9110 §11.6.1 syntax, RFC 6750 §3 Bearer parameters): several
//! challenges may share one header, parameters are `token` or
//! `quoted-string` with backslash escapes, and scheme and parameter names are
//! case-insensitive. MCP reads `resource_metadata` (RFC 9728 §5.1), `scope`,
//! `error` and `error_description` from the Bearer challenge (MCP
//! Authorization 2025-11-25 §"Protected Resource Metadata Discovery
//! Requirements", §"Scope Challenge Handling").

use std::collections::HashMap;

/// The Bearer challenge of a response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    /// The protected resource metadata URL (RFC 9728 §5.1).
    pub resource_metadata: Option<String>,
    /// The scopes the request needs, space-separated.
    pub scope: Option<String>,
    /// `invalid_token`, `insufficient_scope`, …
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl Challenge {
    /// Whether this is a step-up request (RFC 6750 §3.1 `insufficient_scope`).
    pub fn insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }

    /// The scopes of the challenge.
    pub fn scopes(&self) -> Vec<String> {
        self.scope.as_deref().map(split_scopes).unwrap_or_default()
    }
}

/// Splits a space-separated scope string.
pub fn split_scopes(s: &str) -> Vec<String> {
    s.split_ascii_whitespace().map(str::to_owned).collect()
}

/// Finds the Bearer challenge among the values of `WWW-Authenticate`.
/// Returns `None` when no value has a Bearer challenge.
pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    for value in values {
        for (scheme, params) in challenges(value) {
            if scheme.eq_ignore_ascii_case("bearer") {
                let get = |k: &str| params.get(k).cloned();
                return Some(Challenge {
                    resource_metadata: get("resource_metadata"),
                    scope: get("scope"),
                    error: get("error"),
                    error_description: get("error_description"),
                });
            }
        }
    }
    None
}

/// Splits a header value into its challenges: scheme and parameters
/// (lower-cased names).
fn challenges(value: &str) -> Vec<(String, HashMap<String, String>)> {
    let mut out: Vec<(String, HashMap<String, String>)> = Vec::new();
    let mut p = Parser {
        s: value.as_bytes(),
        i: 0,
    };
    loop {
        p.skip(|c| c == b' ' || c == b'\t' || c == b',');
        if p.done() {
            return out;
        }
        let token = p.token();
        if token.is_empty() {
            p.i += 1; // a stray character: skip it rather than give up
            continue;
        }
        p.skip(|c| c == b' ' || c == b'\t');
        if p.peek() == Some(b'=') && !out.is_empty() {
            // `name=value`: a parameter of the current challenge.
            p.i += 1;
            p.skip(|c| c == b' ' || c == b'\t');
            let v = if p.peek() == Some(b'"') { p.quoted() } else { p.token() };
            if let Some((_, params)) = out.last_mut() {
                params.insert(token.to_ascii_lowercase(), v);
            }
        } else {
            // A new scheme; it may be followed by a token68 (`Basic abc==`).
            out.push((token, HashMap::new()));
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
    }
    /// RFC 9110 `token` characters (plus `/` and `=`-free token68 bits).
    fn token(&mut self) -> String {
        let start = self.i;
        self.skip(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:".contains(&c));
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn quoted(&mut self) -> String {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.i += 1;
                    }
                }
                _ => out.push(c),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mcp_bearer_challenge_is_read() {
        let c = parse([r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:basic mcp:read""#]).unwrap();
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("https://mcp.example.com/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(c.scopes(), ["mcp:basic", "mcp:read"]);
        assert!(!c.insufficient_scope());
    }

    #[test]
    fn a_step_up_challenge_is_recognised() {
        let c = parse([r#"Bearer error="insufficient_scope", scope="mcp:write", error_description="needs \"write\"""#])
            .unwrap();
        assert!(c.insufficient_scope());
        assert_eq!(c.error_description.as_deref(), Some(r#"needs "write""#));
    }

    #[test]
    fn the_bearer_challenge_is_found_among_others_in_any_case() {
        let c =
            parse([r#"Basic realm="x", Newauth realm="apps", type=1, BEARER realm="y", ERROR=invalid_token"#]).unwrap();
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
        let c = parse(["Negotiate abc==", "bearer scope=read"]).unwrap();
        assert_eq!(c.scope.as_deref(), Some("read"));
        assert!(parse(["Basic realm=\"x\""]).is_none());
    }

    #[test]
    fn a_bare_bearer_has_no_parameters() {
        assert_eq!(parse(["Bearer"]), Some(Challenge::default()));
    }
}
