//! The settings of one bridge, checked before anything touches the network.
//!
//! Owns the rules a user meets first: which URLs are allowed (https, or plain
//! http only to a loopback host unless `--allow-http`), how `--header 'Name:
//! value'` lines are read and `${VAR}` expanded from the environment (so a
//! token never has to sit in Claude Desktop's `args`), and which headers the
//! transport owns and a user may not set. Header values are marked sensitive
//! at once, so no `Debug` print or log line can show them.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use url::{Host, Url};

/// Which transport to try, and in which order (the values of mcp-remote's
/// `--transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportMode {
    /// Streamable HTTP; fall back to HTTP+SSE when `initialize` is refused.
    #[default]
    HttpFirst,
    /// HTTP+SSE (2024-11-05); fall back to Streamable HTTP when the stream is refused.
    SseFirst,
    /// Streamable HTTP only.
    HttpOnly,
    /// HTTP+SSE (2024-11-05) only.
    SseOnly,
}

/// Which MCP era to speak to the server (mcp-remote's `--protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProtocolMode {
    /// `initialize` first, as a 2025-era client; a modern server's refusal
    /// of it switches to the 2026-07-28 translation within the same call.
    #[default]
    Auto,
    /// Only the `initialize` handshake (2024-11-05 to 2025-11-25), every
    /// message as the client wrote it.
    #[value(name = "2025")]
    Legacy,
    /// Only the stateless 2026-07-28 wire: no `initialize` is sent.
    #[value(name = "2026")]
    Modern,
}

/// Everything `tether run` needs to serve one remote server.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The MCP endpoint.
    pub url: Url,
    /// Headers sent with every request to the MCP server's origin, and
    /// nowhere else. Values are marked sensitive.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Transport order.
    pub transport: TransportMode,
    /// Which era to speak (`--protocol`).
    pub protocol: ProtocolMode,
    /// The largest message accepted in either direction, in bytes.
    pub max_message_size: usize,
    /// How long a request may wait for its response, measured from the last
    /// sign of life (a progress notification or any other event on its stream).
    pub request_timeout: Duration,
    /// How long to wait for a TCP and TLS connection.
    pub connect_timeout: Duration,
    /// How long a message waits for a sign-in before the bridge answers
    /// `initialize` itself (Claude Desktop gives a server about 60 s).
    pub sign_in_wait: Duration,
}

/// A problem with the settings, in words a user can act on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0:?} is not a URL: {1}")]
    BadUrl(String, String),
    #[error("{0} uses {1}:// but only https:// (or http:// to this computer) can carry MCP traffic")]
    BadScheme(String, String),
    #[error(
        "{0} is plain http to another computer, so anyone on the network could read its traffic and tokens; use https://, or pass --allow-http if you trust the network"
    )]
    PlainHttp(String),
    #[error("--header {0:?} is not of the form 'Name: value'")]
    HeaderSyntax(String),
    #[error("--header {0}: {1:?} is not a valid header name")]
    HeaderName(String, String),
    #[error("--header {0}: the value contains characters a header cannot carry (a line break?)")]
    HeaderValue(String),
    #[error("--header {0} refers to ${{{1}}}, which is not set in the environment")]
    MissingVariable(String, String),
    #[error("--header {0} is set by Tether itself (it belongs to the MCP transport) and cannot be overridden")]
    ReservedHeader(String),
    #[error("cannot read --header-file {0}: {1}")]
    HeaderFile(String, String),
}

/// Headers the transport owns (MCP Streamable HTTP, 2025-11-25 §Transports).
const RESERVED: &[&str] = &[
    "accept",
    "content-type",
    "content-length",
    "host",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
    "mcp-method",
    "mcp-name",
    "transfer-encoding",
    "connection",
];

/// Parses and checks the endpoint URL.
pub fn parse_url(text: &str, allow_http: bool) -> Result<Url, ConfigError> {
    let url = Url::parse(text).map_err(|e| ConfigError::BadUrl(text.to_owned(), e.to_string()))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) || allow_http => Ok(url),
        "http" => Err(ConfigError::PlainHttp(redact_url(&url))),
        other => Err(ConfigError::BadScheme(redact_url(&url), other.to_owned())),
    }
}

/// Whether the URL points at this computer: the IP literals 127.0.0.0/8 and
/// `::1`, or the name `localhost` itself. Nothing else is taken on trust
/// without resolving it: a name under `.localhost` (RFC 6761 §6.3 asks
/// resolvers to keep it on this computer, but a hosts file, a DNS search
/// domain or a resolver that ignores the RFC can send it anywhere) would
/// carry plain http, and tokens, off the machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The URL for logs and error messages: query values and userinfo replaced,
/// because some servers take an API key in the query string.
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    if !shown.username().is_empty() {
        let _ = shown.set_username("***");
    }
    if shown.query().is_some() {
        let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        let mut q = shown.query_pairs_mut();
        q.clear();
        for k in keys {
            q.append_pair(&k, "***");
        }
    }
    shown.set_fragment(None);
    shown.to_string()
}

/// Parses one `Name: value` header line, expanding `${VAR}` from `env`.
///
/// The space after the colon is optional, because Claude Desktop and Cursor
/// on Windows split arguments at spaces and users work around it with
/// `Authorization:${AUTH_HEADER}` (see mcp-remote's README).
pub fn parse_header(
    line: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(HeaderName, HeaderValue), ConfigError> {
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| ConfigError::HeaderSyntax(first_word(line)))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(ConfigError::HeaderSyntax(first_word(line)));
    }
    let header = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ConfigError::HeaderName(name.to_owned(), name.to_owned()))?;
    if RESERVED.contains(&header.as_str()) {
        return Err(ConfigError::ReservedHeader(name.to_owned()));
    }
    let expanded = expand_vars(value.trim(), env);
    if let Some(var) = expanded.missing.into_iter().next() {
        return Err(ConfigError::MissingVariable(name.to_owned(), var));
    }
    let mut value = HeaderValue::from_str(&expanded.text).map_err(|_| ConfigError::HeaderValue(name.to_owned()))?;
    value.set_sensitive(true);
    Ok((header, value))
}

/// Reads mcp-remote's `--header-file`: one `Name: value` per line, `#`
/// comments and blank lines ignored. Keeps secrets out of the process
/// arguments entirely.
pub fn parse_header_file(
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::HeaderFile(path.to_owned(), e.to_string()))?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| parse_header(l, env))
        .collect()
}

/// Shows only what precedes the first separator, so an error message about a
/// malformed header can never echo a token.
fn first_word(line: &str) -> String {
    let word: String = line
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect();
    if word.is_empty() { "(unnamed)".to_owned() } else { word }
}

/// Text with its `${VAR}` references expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub text: String,
    /// The variables found and used, in order.
    pub used: Vec<String>,
    /// The variables that were not set, in order; each is left as written.
    pub missing: Vec<String>,
}

/// Expands `${VAR}` (and `${env:VAR}`, Cursor's and Windsurf's spelling)
/// with `lookup`: the one rule for every place a user writes a variable
/// (`--header`, mcp-remote's JSON arguments, imported client entries). A `$`
/// not followed by `{`, and a `${` that is never closed, stay as they are; a
/// variable that is not set is left as written and named in `missing`, for
/// the caller to refuse or keep.
pub fn expand_vars(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Expanded {
    let mut out = Expanded {
        text: String::with_capacity(text.len()),
        used: Vec::new(),
        missing: Vec::new(),
    };
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.text.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.text.push_str(&rest[start..]);
            return out;
        };
        let var = &after[..end];
        let name = var.strip_prefix("env:").unwrap_or(var);
        match lookup(name) {
            Some(v) => {
                out.text.push_str(&v);
                out.used.push(name.to_owned());
            }
            None => {
                out.text.push_str(&rest[start..start + 2 + end + 1]);
                out.missing.push(name.to_owned());
            }
        }
        rest = &after[end + 1..];
    }
    out.text.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr3t".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn https_and_loopback_http_are_allowed_and_other_http_is_refused() {
        assert!(parse_url("https://mcp.example.com/mcp", false).is_ok());
        assert!(parse_url("http://127.0.0.1:3000/mcp", false).is_ok());
        assert!(parse_url("http://127.9.9.9/mcp", false).is_ok());
        assert!(parse_url("http://localhost:8080/mcp", false).is_ok());
        assert!(parse_url("http://[::1]:8080/mcp", false).is_ok());
        assert!(parse_url("http://LOCALHOST:8080/mcp", false).is_ok());
        assert_eq!(
            parse_url("http://10.0.0.5/mcp?key=abc", false),
            Err(ConfigError::PlainHttp("http://10.0.0.5/mcp?key=***".into()))
        );
        assert!(parse_url("http://10.0.0.5/mcp", true).is_ok());
        assert!(matches!(parse_url("ftp://x/", true), Err(ConfigError::BadScheme(_, s)) if s == "ftp"));
        assert!(matches!(parse_url("not a url", true), Err(ConfigError::BadUrl(..))));
    }

    #[test]
    fn a_name_under_localhost_is_not_taken_for_this_computer() {
        for url in [
            "http://evil.localhost/mcp",
            "http://mcp.localhost:8080/mcp",
            "http://localhost.example.com/mcp",
            "http://127.0.0.1.nip.io/mcp",
            "http://0.0.0.0/mcp",
            "http://[::]:8080/mcp",
            "http://10.0.0.1/mcp",
        ] {
            let u = Url::parse(url).unwrap();
            assert!(!is_loopback(&u), "{url} counted as loopback");
            assert!(
                matches!(parse_url(url, false), Err(ConfigError::PlainHttp(_))),
                "{url} allowed as plain http"
            );
        }
        for url in [
            "http://127.0.0.1/",
            "http://127.255.0.9:1/",
            "http://localhost/",
            "http://[::1]/",
        ] {
            assert!(is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
    }

    #[test]
    fn urls_in_messages_hide_query_values_and_credentials() {
        let url = Url::parse("https://user:pw@example.com/mcp?api_key=SECRET&x=1#frag").unwrap();
        assert_eq!(redact_url(&url), "https://***@example.com/mcp?api_key=***&x=***");
    }

    #[test]
    fn a_header_expands_environment_variables_and_is_marked_sensitive() {
        let (n, v) = parse_header("Authorization: Bearer ${TOKEN}", &env).unwrap();
        assert_eq!(n.as_str(), "authorization");
        assert_eq!(v.to_str().unwrap(), "Bearer s3cr3t");
        assert!(v.is_sensitive());
        assert_eq!(format!("{v:?}"), "Sensitive");
    }

    #[test]
    fn a_header_without_a_space_after_the_colon_is_accepted() {
        let (n, v) = parse_header("Authorization:${TOKEN}", &env).unwrap();
        assert_eq!((n.as_str(), v.to_str().unwrap()), ("authorization", "s3cr3t"));
    }

    #[test]
    fn a_missing_variable_is_an_error_that_names_it() {
        assert_eq!(
            parse_header("X-Api-Key: ${NOPE}", &env),
            Err(ConfigError::MissingVariable("X-Api-Key".into(), "NOPE".into()))
        );
        assert_eq!(
            ConfigError::MissingVariable("X-Api-Key".into(), "NOPE".into()).to_string(),
            "--header X-Api-Key refers to ${NOPE}, which is not set in the environment"
        );
    }

    #[test]
    fn malformed_and_reserved_headers_are_refused_without_echoing_the_value() {
        let e = parse_header("Bearer s3cr3t-token-value", &env).unwrap_err();
        assert_eq!(e, ConfigError::HeaderSyntax("Bearer".into()));
        assert!(!e.to_string().contains("s3cr3t"));
        assert_eq!(
            parse_header("Mcp-Session-Id: x", &env),
            Err(ConfigError::ReservedHeader("Mcp-Session-Id".into()))
        );
        assert!(matches!(
            parse_header("Bad Name: x", &env),
            Err(ConfigError::HeaderName(..))
        ));
        assert!(matches!(
            parse_header("X: a\u{7f}", &env),
            Err(ConfigError::HeaderValue(_))
        ));
    }

    #[test]
    fn variables_expand_in_both_spellings_and_missing_ones_stay_as_written() {
        let e = expand_vars("a ${TOKEN} b ${env:TOKEN} c ${NOPE} d ${open", env);
        assert_eq!(e.text, "a s3cr3t b s3cr3t c ${NOPE} d ${open");
        assert_eq!(e.used, ["TOKEN", "TOKEN"]);
        assert_eq!(e.missing, ["NOPE"]);
    }

    #[test]
    fn a_dollar_without_braces_is_kept_literally() {
        let (_, v) = parse_header("X-Price: $5 and ${EMPTY}.", &env).unwrap();
        assert_eq!(v.to_str().unwrap(), "$5 and .");
    }
}
