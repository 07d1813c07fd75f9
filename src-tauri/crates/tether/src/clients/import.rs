//! Finding the `npx mcp-remote <url> …` entries in every client's config,
//! and turning one into a Tether entry.
//!
//! Owns reading an mcp-remote command line (through `npx`, `bunx`, `pnpm
//! dlx`, `yarn dlx`, `cmd /c …` on Windows, or `mcp-remote` itself): its URL,
//! its `--header`s with `${VAR}` expanded from the entry's `env`, which one
//! carries the token (`Authorization: Bearer …`, else a header named like a
//! key or token), and the flags Tether's `servers.json` can keep
//! (`--allow-http`, `--transport`, the callback port, the client id of
//! `--static-oauth-client-info`, `--resource`, the scope of
//! `--static-oauth-client-metadata`). A [`Candidate`] holds the token as a
//! [`Secret`] and prints no header value. [`convert`] rewrites the entry in
//! place as Tether's stdio entry and removes the `env` variables that held a
//! secret; registering the server and moving the secret into the keychain
//! is the caller's (the CLI's `tether import`, which shares `tether add`'s
//! code).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{ClientsError, McpClient, Platform, command_text, config_path, jsonc, put_entry, servers_object};
use crate::config::TransportMode;
use crate::store::secrets::Secret;

/// The mcp-remote flags that map onto a server's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct McpRemoteOptions {
    pub allow_http: bool,
    pub transport: Option<TransportMode>,
    pub callback_port: Option<u16>,
    /// From `--static-oauth-client-info`.
    pub client_id: Option<String>,
    /// From `--static-oauth-client-info` (moves to the keychain).
    pub client_secret: Option<Secret>,
    pub resource: Option<String>,
    /// The `scope` of `--static-oauth-client-metadata`.
    pub scopes: Option<String>,
    /// Flags Tether has no use for or no equivalent of, as written.
    pub ignored: Vec<String>,
}

/// One `mcp-remote` entry that can become a Tether entry.
#[derive(Clone)]
pub struct Candidate {
    pub client: McpClient,
    /// The client's config file.
    pub file: PathBuf,
    /// The entry's name in that file.
    pub name: String,
    /// The name the server gets in Tether (the entry's name, made a valid
    /// server name; the entry is renamed to it).
    pub server: String,
    pub url: String,
    /// Every `--header`, `${VAR}` expanded from the entry's `env`
    /// (an unknown variable stays as it is written).
    pub headers: Vec<(String, String)>,
    /// The header that carries the token, when one was found.
    pub token_header: Option<String>,
    /// The token (without `Bearer `), for the keychain.
    pub token: Option<Secret>,
    /// The other headers, as `Name: value` lines for `servers.json`
    /// (`${VAR}` kept, expanded by `tether run` from the entry's `env`).
    pub extra_headers: Vec<String>,
    /// The `env` variables that held a secret; removed from the entry.
    pub secret_env: Vec<String>,
    pub options: McpRemoteOptions,
    /// Why this entry cannot be imported as it is.
    pub problem: Option<String>,
}

impl fmt::Debug for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Candidate")
            .field("client", &self.client)
            .field("file", &self.file)
            .field("name", &self.name)
            .field("server", &self.server)
            .field("url", &self.url)
            .field("headers", &header_names)
            .field("token_header", &self.token_header)
            .field("token", &self.token)
            .field("secret_env", &self.secret_env)
            .field("options", &self.options)
            .field("problem", &self.problem)
            .finish_non_exhaustive()
    }
}

impl Candidate {
    /// Whether a secret (a token or a client secret) moves to the keychain.
    pub fn has_secret(&self) -> bool {
        self.token.is_some() || self.options.client_secret.is_some()
    }

    /// The secret values, which must not stay in any file.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if let Some(t) = &self.token {
            out.push(t.expose().to_owned());
        }
        if let Some(s) = &self.options.client_secret {
            out.push(s.expose().to_owned());
        }
        // The header values that carried them, as written in the file.
        for (name, value) in &self.headers {
            if self
                .token_header
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(name))
            {
                out.push(value.clone());
            }
        }
        out
    }
}

/// What a look through every client's config found.
#[derive(Debug, Default)]
pub struct Scan {
    pub candidates: Vec<Candidate>,
    /// Files that exist but could not be read (malformed, unreadable).
    pub problems: Vec<ClientsError>,
}

/// Every mcp-remote entry in every client's config.
pub fn find_mcp_remote(p: &Platform) -> Vec<Candidate> {
    scan(p).candidates
}

/// Every mcp-remote entry in every client's config, and the files that
/// could not be read.
pub fn scan(p: &Platform) -> Scan {
    let mut out = Scan::default();
    for &id in McpClient::ALL {
        let Some(path) = config_path(id, p) else {
            continue;
        };
        let doc = match jsonc::read(&path, id.dialect()) {
            Ok(Some(doc)) => doc,
            Ok(None) => continue,
            Err(e) => {
                out.problems.push(e);
                continue;
            }
        };
        let Some(servers) = doc.get(id.servers_key()).and_then(Value::as_object) else {
            continue;
        };
        for (name, entry) in servers {
            if let Some(args) = mcp_remote_args(entry) {
                out.candidates.push(candidate(id, &path, name, entry, &args));
            }
        }
    }
    out
}

/// Rewrites the candidate's entry as Tether's stdio entry running `sidecar`
/// (renamed to the server's name), keeping the entry's other keys and
/// removing the `env` variables that held a secret. Returns the file.
pub fn convert(c: &Candidate, sidecar: &Path) -> Result<PathBuf, ClientsError> {
    let command = command_text(sidecar)?;
    let secrets = c.secrets();
    jsonc::edit(&c.file, c.client.dialect(), &secrets, |root| {
        let servers = servers_object(root, c.client, &c.file)?;
        Ok((
            (),
            put_entry(&servers, c.client, &c.name, &c.server, &command, &c.secret_env, &c.file)?,
        ))
    })?;
    Ok(c.file.clone())
}

/// A name made usable as a server name: letters, digits, `-` and `_`.
pub fn server_name(entry_name: &str) -> String {
    let mut out = String::new();
    for ch in entry_name.trim().chars() {
        if ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' {
            out.push(ch);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(64).collect();
    if out.is_empty() { "server".into() } else { out }
}

/// The arguments after `mcp-remote` when `entry` runs it.
pub fn mcp_remote_args(entry: &Value) -> Option<Vec<String>> {
    let (command, args) = match entry.get("command")? {
        Value::String(c) => (c.clone(), entry.get("args")),
        // Zed's older shape: {"command": {"path", "args"}}.
        Value::Object(o) => (o.get("path")?.as_str()?.to_owned(), o.get("args")),
        _ => return None,
    };
    let args: Vec<String> = match args {
        Some(Value::Array(a)) => a.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<_>>()?,
        None => Vec::new(),
        _ => return None,
    };
    after_mcp_remote(&command, &args)
}

fn program_name(command: &str) -> String {
    let base = command
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(command)
        .to_ascii_lowercase();
    for ext in [".cmd", ".exe", ".bat", ".ps1"] {
        if let Some(stem) = base.strip_suffix(ext) {
            return stem.to_owned();
        }
    }
    base
}

fn is_mcp_remote(arg: &str) -> bool {
    arg == "mcp-remote" || arg.starts_with("mcp-remote@")
}

fn after_mcp_remote(command: &str, args: &[String]) -> Option<Vec<String>> {
    let program = program_name(command);
    let runner_args: &[String] = match program.as_str() {
        "mcp-remote" => return Some(args.to_vec()),
        "cmd" => {
            let (first, rest) = args.split_first()?;
            if !first.eq_ignore_ascii_case("/c") {
                return None;
            }
            let (cmd, rest) = rest.split_first()?;
            return after_mcp_remote(cmd, rest);
        }
        "npx" | "bunx" | "pnpx" => args,
        "pnpm" | "yarn" => match args.split_first() {
            Some((dlx, rest)) if dlx == "dlx" => rest,
            _ => return None,
        },
        "bun" => match args.split_first() {
            Some((x, rest)) if x == "x" => rest,
            _ => return None,
        },
        _ => return None,
    };
    // The runner's own flags (-y, --yes, --quiet) come before the package.
    let i = runner_args.iter().position(|a| !a.starts_with('-'))?;
    is_mcp_remote(&runner_args[i]).then(|| runner_args[i + 1..].to_vec())
}

/// `${VAR}` (and `${env:VAR}`) replaced from `env` (`config::expand_vars`);
/// returns the text, the variables used, and whether one was missing (then
/// left as written).
fn expand(text: &str, env: &BTreeMap<String, String>) -> (String, Vec<String>, bool) {
    let e = crate::config::expand_vars(text, |name| env.get(name).cloned());
    (e.text, e.used, !e.missing.is_empty())
}

/// Header names that carry a credential.
fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["key", "token", "secret", "auth", "password", "credential"]
        .iter()
        .any(|w| n.contains(w))
}

fn candidate(client: McpClient, file: &Path, name: &str, entry: &Value, args: &[String]) -> Candidate {
    let env: BTreeMap<String, String> = entry
        .get("env")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let mut c = Candidate {
        client,
        file: file.to_owned(),
        name: name.to_owned(),
        server: server_name(name),
        url: String::new(),
        headers: Vec::new(),
        token_header: None,
        token: None,
        extra_headers: Vec::new(),
        secret_env: Vec::new(),
        options: McpRemoteOptions::default(),
        problem: None,
    };
    let mut problems: Vec<String> = Vec::new();
    let mut raw_headers: Vec<String> = Vec::new();
    let mut positional = 0;
    let mut i = 0;
    let value_of = |i: &mut usize, flag: &str, problems: &mut Vec<String>| -> Option<String> {
        *i += 1;
        let v = args.get(*i).cloned();
        if v.is_none() {
            problems.push(format!("{flag} has no value"));
        }
        v
    };
    while i < args.len() {
        let arg = args[i].as_str();
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg, None),
        };
        let take = |i: &mut usize, problems: &mut Vec<String>| inline.clone().or_else(|| value_of(i, flag, problems));
        match flag {
            "--header" => raw_headers.extend(take(&mut i, &mut problems)),
            "--allow-http" => c.options.allow_http = true,
            "--transport" => {
                if let Some(v) = take(&mut i, &mut problems) {
                    match <TransportMode as clap::ValueEnum>::from_str(&v, true) {
                        Ok(t) => c.options.transport = Some(t),
                        Err(_) => problems.push(format!("--transport {v} is not a transport Tether knows")),
                    }
                }
            }
            "--resource" => c.options.resource = take(&mut i, &mut problems),
            "--static-oauth-client-info" => {
                if let Some(v) = take(&mut i, &mut problems) {
                    match json_arg(&v, &env) {
                        Ok((info, used)) => {
                            c.options.client_id = info.get("client_id").and_then(Value::as_str).map(str::to_owned);
                            if let Some(s) = info.get("client_secret").and_then(Value::as_str) {
                                c.options.client_secret = Some(Secret::new(s));
                                c.secret_env.extend(used);
                            }
                        }
                        Err(e) => problems.push(format!("--static-oauth-client-info: {e}")),
                    }
                }
            }
            "--static-oauth-client-metadata" => {
                if let Some(v) = take(&mut i, &mut problems) {
                    match json_arg(&v, &env) {
                        Ok((meta, _)) => {
                            c.options.scopes = meta.get("scope").and_then(Value::as_str).map(str::to_owned);
                            if meta.as_object().is_some_and(|m| m.keys().any(|k| k != "scope")) {
                                c.options.ignored.push(format!("{flag} (only its scope is kept)"));
                            }
                        }
                        Err(e) => problems.push(format!("--static-oauth-client-metadata: {e}")),
                    }
                }
            }
            // Tether does these by itself, or always.
            "--debug" | "--silent" | "--enable-proxy" => {}
            "--host" | "--auth-timeout" | "--ignore-tool" | "--auth-server-metadata" => {
                let v = take(&mut i, &mut problems).unwrap_or_default();
                c.options.ignored.push(format!("{flag} {v}"));
            }
            f if f.starts_with('-') => c.options.ignored.push(arg.to_owned()),
            _ => {
                match positional {
                    0 => c.url = arg.to_owned(),
                    1 => match arg.parse::<u16>() {
                        Ok(port) => c.options.callback_port = Some(port),
                        Err(_) => c.options.ignored.push(arg.to_owned()),
                    },
                    _ => c.options.ignored.push(arg.to_owned()),
                }
                positional += 1;
            }
        }
        i += 1;
    }
    if !(c.url.starts_with("https://") || c.url.starts_with("http://")) {
        problems.push(format!(
            "the entry runs mcp-remote without a server URL (found {:?})",
            c.url
        ));
    }
    read_headers(&mut c, &raw_headers, &env, &mut problems);
    c.secret_env.sort();
    c.secret_env.dedup();
    if !problems.is_empty() {
        c.problem = Some(problems.join("; "));
    }
    c
}

/// Splits the headers into the token (one at most) and the others.
fn read_headers(c: &mut Candidate, raw: &[String], env: &BTreeMap<String, String>, problems: &mut Vec<String>) {
    struct Header {
        name: String,
        written: String,
        value: String,
        used: Vec<String>,
        missing: bool,
    }
    let mut headers = Vec::new();
    for line in raw {
        let Some((name, value)) = line.split_once(':') else {
            problems.push(format!(
                "a --header without a colon ({})",
                line.split_whitespace().next().unwrap_or("")
            ));
            continue;
        };
        let (name, written) = (name.trim().to_owned(), value.trim().to_owned());
        let (value, used, missing) = expand(&written, env);
        c.headers.push((name.clone(), value.clone()));
        headers.push(Header {
            name,
            written,
            value,
            used,
            missing,
        });
    }
    // Authorization first, then headers named like a credential, then one
    // whose value comes from the entry's env.
    let rank = |h: &Header| {
        if h.name.eq_ignore_ascii_case("authorization") {
            0
        } else if looks_secret(&h.name) {
            1
        } else if !h.used.is_empty() {
            2
        } else {
            3
        }
    };
    headers.sort_by_key(|h| rank(h));
    for h in headers {
        let r = rank(&h);
        if h.missing || r == 3 || (r == 2 && c.token.is_some()) {
            // Not a secret Tether can hold, or one resolved at run time:
            // kept as written (its variables stay in the entry's env).
            c.extra_headers.push(format!("{}: {}", h.name, h.written));
            continue;
        }
        if let Some(first) = &c.token_header {
            problems.push(format!(
                "both {first} and {} carry credentials; Tether keeps one token per server",
                h.name
            ));
            continue;
        }
        let token = if r == 0 {
            let mut parts = h.value.splitn(2, ' ');
            match (parts.next(), parts.next()) {
                (Some(scheme), Some(t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
                    t.trim().to_owned()
                }
                (Some(scheme), _) => {
                    problems.push(format!(
                        "its Authorization header uses the {:?} scheme; Tether keeps Bearer tokens and API keys only",
                        scheme.chars().take(16).collect::<String>()
                    ));
                    continue;
                }
                _ => continue,
            }
        } else {
            h.value.clone()
        };
        c.token = Some(Secret::new(token));
        c.token_header = Some(h.name.clone());
        c.secret_env.extend(h.used);
    }
}

/// A JSON argument or `@file`, `${VAR}` expanded from `env`; returns the
/// value and the variables used.
fn json_arg(arg: &str, env: &BTreeMap<String, String>) -> Result<(Value, Vec<String>), String> {
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?,
        None => arg.to_owned(),
    };
    let (expanded, used, missing) = expand(&text, env);
    if missing {
        return Err("it refers to a variable that is not in the entry's env".into());
    }
    serde_json::from_str(&expanded)
        .map(|v| (v, used))
        .map_err(|_| "not valid JSON".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(entry: Value) -> Candidate {
        let args = mcp_remote_args(&entry).expect("an mcp-remote entry");
        candidate(
            McpClient::ClaudeDesktop,
            Path::new("/x.json"),
            "Linear MCP",
            &entry,
            &args,
        )
    }

    #[test]
    fn every_way_of_launching_mcp_remote_is_recognised() {
        let url = "https://mcp.example.com/mcp";
        for entry in [
            json!({"command": "npx", "args": ["-y", "mcp-remote", url]}),
            json!({"command": "npx", "args": ["mcp-remote@0.1.38", url]}),
            json!({"command": "/usr/local/bin/npx", "args": ["--yes", "mcp-remote@latest", url]}),
            json!({"command": "C:\\Program Files\\nodejs\\npx.cmd", "args": ["-y", "mcp-remote", url]}),
            json!({"command": "cmd", "args": ["/c", "npx", "-y", "mcp-remote", url]}),
            json!({"command": "bunx", "args": ["mcp-remote", url]}),
            json!({"command": "pnpm", "args": ["dlx", "mcp-remote", url]}),
            json!({"command": "mcp-remote", "args": [url]}),
            json!({"command": {"path": "npx", "args": ["-y", "mcp-remote", url]}}),
        ] {
            assert_eq!(
                mcp_remote_args(&entry).as_deref(),
                Some(&[url.to_owned()][..]),
                "{entry}"
            );
        }
        for other in [
            json!({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]}),
            json!({"command": "/opt/tether", "args": ["run", "linear"]}),
            json!({"url": url}),
            json!({"command": "pnpm", "args": ["install"]}),
        ] {
            assert_eq!(mcp_remote_args(&other), None, "{other}");
        }
    }

    #[test]
    fn a_bearer_token_in_the_env_is_found_and_its_variable_named() {
        let c = parse(json!({
            "command": "npx",
            "args": ["-y", "mcp-remote", "https://mcp.example.com/mcp", "--header", "Authorization:${AUTH}", "--header", "X-Team: core"],
            "env": {"AUTH": "Bearer tok-123", "OTHER": "keep"}
        }));
        assert_eq!(c.problem, None);
        assert_eq!(c.url, "https://mcp.example.com/mcp");
        assert_eq!(c.server, "Linear-MCP");
        assert_eq!(c.token_header.as_deref(), Some("Authorization"));
        assert_eq!(c.token.as_ref().map(Secret::expose), Some("tok-123"));
        assert_eq!(c.secret_env, ["AUTH"]);
        assert_eq!(c.extra_headers, ["X-Team: core"]);
        assert_eq!(c.headers[0], ("Authorization".into(), "Bearer tok-123".into()));
        let debug = format!("{c:?}");
        assert!(!debug.contains("tok-123"), "{debug}");
    }

    #[test]
    fn a_literal_api_key_header_becomes_the_token() {
        let c = parse(json!({
            "command": "npx",
            "args": ["mcp-remote", "https://mcp.example.com/sse", "--header", "X-Api-Key: k-1"]
        }));
        assert_eq!(c.token_header.as_deref(), Some("X-Api-Key"));
        assert_eq!(c.token.as_ref().map(Secret::expose), Some("k-1"));
        assert!(c.secret_env.is_empty());
    }

    #[test]
    fn mcp_remote_flags_map_onto_server_settings() {
        let c = parse(json!({
            "command": "npx",
            "args": ["-y", "mcp-remote", "http://10.0.0.2:8080/mcp", "3334", "--allow-http", "--transport", "sse-only",
                     "--static-oauth-client-info", "{\"client_id\":\"cid\",\"client_secret\":\"${CS}\"}",
                     "--static-oauth-client-metadata", "{\"scope\":\"read write\"}",
                     "--resource", "https://mcp.example.com/", "--debug", "--host", "127.0.0.1", "--weird"],
            "env": {"CS": "client-s3cret"}
        }));
        assert_eq!(c.problem, None);
        let o = &c.options;
        assert!(o.allow_http);
        assert_eq!(o.callback_port, Some(3334));
        assert_eq!(o.transport, Some(TransportMode::SseOnly));
        assert_eq!(o.client_id.as_deref(), Some("cid"));
        assert_eq!(o.client_secret.as_ref().map(Secret::expose), Some("client-s3cret"));
        assert_eq!(o.scopes.as_deref(), Some("read write"));
        assert_eq!(o.resource.as_deref(), Some("https://mcp.example.com/"));
        assert_eq!(o.ignored, ["--host 127.0.0.1", "--weird"]);
        assert_eq!(c.secret_env, ["CS"]);
        assert!(c.has_secret());
    }

    #[test]
    fn a_basic_authorization_header_is_not_imported() {
        let c = parse(json!({
            "command": "npx",
            "args": ["mcp-remote", "https://mcp.example.com/mcp", "--header", "Authorization: Basic dXNlcjpwYXNz"]
        }));
        let p = c.problem.unwrap();
        assert!(p.contains("\"Basic\" scheme"), "{p}");
        assert!(!p.contains("dXNlcjpwYXNz"));
    }

    #[test]
    fn a_variable_missing_from_the_env_is_kept_for_run_time() {
        let c = parse(json!({
            "command": "npx",
            "args": ["mcp-remote", "https://mcp.example.com/mcp", "--header", "Authorization: Bearer ${FROM_SHELL}"]
        }));
        assert_eq!(c.token, None);
        assert_eq!(c.extra_headers, ["Authorization: Bearer ${FROM_SHELL}"]);
        assert_eq!(c.problem, None);
    }

    #[test]
    fn entry_names_become_server_names() {
        assert_eq!(server_name("linear"), "linear");
        assert_eq!(server_name("Linear MCP (work)"), "Linear-MCP-work");
        assert_eq!(server_name("  "), "server");
        assert_eq!(server_name("a.b"), "a-b");
    }
}
