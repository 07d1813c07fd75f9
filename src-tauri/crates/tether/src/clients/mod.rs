//! The MCP clients whose config files Tether writes: Claude Desktop, Claude
//! Code, Cursor, VS Code, Windsurf, Zed and Cline.
//!
//! Owns which file each client reads ([`paths`]), the shape of a Tether
//! entry in it (a stdio entry: the absolute path of the `tether` binary and
//! `["run", "<name>"]`, never a secret; or, for a client that can run a
//! program for a server's headers, an HTTP entry: the server's URL and
//! `tether token <name> --header=json` as that program, so the client talks
//! to the server itself while Tether owns the sign-in and the refresh), and
//! adding, finding and removing that entry while every other key, entry,
//! comment and the formatting stay as they were ([`jsonc`]).
//!
//! Which clients have such a hook (landscape.md §2, their documentation,
//! December 2026): Claude Code's `headersHelper` (a command whose stdout is
//! a JSON object of headers, run before it connects). The others read
//! headers only as text in their config, with at most `${env:VAR}` (Cursor,
//! Windsurf, VS Code, which also prompts for `${input:…}`) or nothing
//! (Zed, Cline); Claude Desktop's file takes stdio servers only. A token
//! written there would be a secret in a file, and dead within the hour:
//! those clients keep the stdio entry. Also the import of existing `npx
//! mcp-remote` entries ([`import`]), deleting mcp-remote's token cache on
//! request ([`mcp_auth`]) and restarting Claude Desktop after a change
//! ([`restart`]). The CLI (`tether install|uninstall|import`) and the tray
//! app are thin layers over these functions.

pub mod import;
pub mod jsonc;
pub mod mcp_auth;
pub mod paths;
pub mod program;
pub mod restart;

use std::path::{Path, PathBuf};

use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use import::{Candidate, McpRemoteOptions, Scan, convert, find_mcp_remote, scan};
pub use jsonc::{BACKUP_MAX_AGE, BACKUP_SUFFIX, Dialect};
pub use paths::{Os, Platform};
pub use restart::restart_claude_desktop;

/// An MCP client Tether can configure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum McpClient {
    #[serde(rename = "claude-desktop")]
    ClaudeDesktop,
    #[serde(rename = "claude-code")]
    ClaudeCode,
    #[serde(rename = "cursor")]
    Cursor,
    #[serde(rename = "vscode")]
    VsCode,
    #[serde(rename = "windsurf")]
    Windsurf,
    #[serde(rename = "zed")]
    Zed,
    #[serde(rename = "cline")]
    Cline,
}

impl McpClient {
    /// Every client, Claude Desktop first.
    pub const ALL: &'static [McpClient] = &[
        McpClient::ClaudeDesktop,
        McpClient::ClaudeCode,
        McpClient::Cursor,
        McpClient::VsCode,
        McpClient::Windsurf,
        McpClient::Zed,
        McpClient::Cline,
    ];

    /// The id used on the command line and in the app: `claude-desktop`, ….
    pub fn id(self) -> &'static str {
        match self {
            McpClient::ClaudeDesktop => "claude-desktop",
            McpClient::ClaudeCode => "claude-code",
            McpClient::Cursor => "cursor",
            McpClient::VsCode => "vscode",
            McpClient::Windsurf => "windsurf",
            McpClient::Zed => "zed",
            McpClient::Cline => "cline",
        }
    }

    /// The name people know it by.
    pub fn name(self) -> &'static str {
        match self {
            McpClient::ClaudeDesktop => "Claude Desktop",
            McpClient::ClaudeCode => "Claude Code",
            McpClient::Cursor => "Cursor",
            McpClient::VsCode => "VS Code",
            McpClient::Windsurf => "Windsurf",
            McpClient::Zed => "Zed",
            McpClient::Cline => "Cline",
        }
    }

    /// The client with this id.
    pub fn from_id(id: &str) -> Option<McpClient> {
        McpClient::ALL.iter().copied().find(|c| c.id() == id)
    }

    /// The key of the object holding the servers.
    pub fn servers_key(self) -> &'static str {
        match self {
            McpClient::VsCode => "servers",
            McpClient::Zed => "context_servers",
            _ => "mcpServers",
        }
    }

    /// What the client's parser accepts.
    pub fn dialect(self) -> Dialect {
        match self {
            McpClient::Zed | McpClient::VsCode => Dialect::Jsonc,
            _ => Dialect::Json,
        }
    }

    /// Whether the client can run a program for a server's headers before
    /// it connects (Claude Code's `headersHelper`), so Tether can give it
    /// an HTTP entry whose token `tether token` supplies.
    pub fn headers_hook(self) -> bool {
        matches!(self, McpClient::ClaudeCode)
    }

    /// The `type` a stdio entry carries, for clients that want one.
    fn stdio_type(self) -> Option<&'static str> {
        match self {
            McpClient::ClaudeCode | McpClient::VsCode => Some("stdio"),
            _ => None,
        }
    }
}

impl std::fmt::Display for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a client's config could not be read or changed, in words a person
/// can act on.
#[derive(Debug, thiserror::Error)]
pub enum ClientsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}; it was left as it was")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(
        "{path} is not valid JSON (line {line}, column {column}: {message}); fix it, or remove it, and try again: Tether never overwrites a file it cannot read"
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path} is read-only, so Tether left it as it was; make it writable and try again")]
    ReadOnly { path: PathBuf },
    #[error("in {path}, {what} is not {expected}, so Tether left the file as it was")]
    Shape {
        path: PathBuf,
        what: String,
        expected: String,
    },
    #[error("{path} kept changing while Tether edited it (is the client rewriting it?); quit the client and try again")]
    Busy { path: PathBuf },
    #[error("in {path}, the entry {name:?} does not run Tether, so Tether left it as it is")]
    NotTether { path: PathBuf, name: String },
    #[error("no config file of {0} is known on this system")]
    NoConfigPath(McpClient),
    #[error("{0:?} is not a usable server name: use letters, digits, - and _ (at most 64)")]
    BadName(String),
    #[error("the path of the tether program must be absolute and readable as text, not {0:?}")]
    BadCommand(PathBuf),
    #[error(
        "{0} cannot run a program for a server's headers (it reads them as text only), so it cannot get a direct HTTP entry whose token Tether renews; give it the stdio entry (without --http)"
    )]
    NoHeadersHook(McpClient),
    #[error("Claude Desktop was not found: {0}")]
    ClaudeNotFound(String),
    #[error("could not restart Claude Desktop: {0}")]
    Restart(String),
}

/// The file `id` reads its MCP servers from on this platform.
pub fn config_path(id: McpClient, p: &Platform) -> Option<PathBuf> {
    Some(paths::config_file(id, p, &p.claude_msix_packages()))
}

/// Whether `id` looks installed: its config directory (or file) exists.
pub fn is_installed(id: McpClient, p: &Platform) -> bool {
    paths::install_markers(id, p, &p.claude_msix_packages())
        .iter()
        .any(|m| m.exists())
}

/// Whether `id`'s config has an entry `name` that runs `sidecar` with
/// `["run", name]`.
pub fn has_entry(id: McpClient, p: &Platform, name: &str, sidecar: &Path) -> bool {
    let Some(path) = config_path(id, p) else {
        return false;
    };
    let Ok(Some(doc)) = jsonc::read(&path, id.dialect()) else {
        return false;
    };
    doc.get(id.servers_key())
        .and_then(|s| s.get(name))
        .and_then(tether_entry)
        .is_some_and(|(command, server)| server == name && same_program(&command, sidecar))
}

/// Adds (or updates) the entry `name` running `sidecar` in `id`'s config,
/// creating the file and its directory when needed. Returns the file.
pub fn install(id: McpClient, p: &Platform, name: &str, sidecar: &Path) -> Result<PathBuf, ClientsError> {
    crate::servers::check_name(name).map_err(|_| ClientsError::BadName(name.to_owned()))?;
    let command = command_text(sidecar)?;
    let path = config_path(id, p).ok_or(ClientsError::NoConfigPath(id))?;
    jsonc::edit(&path, id.dialect(), &[], |root| {
        let servers = servers_object(root, id, &path)?;
        Ok(((), put_entry(&servers, id, name, name, &command, &[], &path)?))
    })?;
    expire_backups(p, BACKUP_MAX_AGE);
    Ok(path)
}

/// Adds (or updates) the HTTP entry `name` in `id`'s config: the server's
/// `url`, with `sidecar`'s `tether token <name> --header=json` as the
/// command that gives the client its headers. Only for a client with such a
/// hook ([`McpClient::headers_hook`]). Returns the file.
pub fn install_http(
    id: McpClient,
    p: &Platform,
    name: &str,
    url: &str,
    sidecar: &Path,
) -> Result<PathBuf, ClientsError> {
    crate::servers::check_name(name).map_err(|_| ClientsError::BadName(name.to_owned()))?;
    if !id.headers_hook() {
        return Err(ClientsError::NoHeadersHook(id));
    }
    let command = command_text(sidecar)?;
    let path = config_path(id, p).ok_or(ClientsError::NoConfigPath(id))?;
    let fields = vec![
        ("type", json!("http")),
        ("url", json!(url)),
        ("headersHelper", json!(headers_helper(p.os, &command, name))),
    ];
    jsonc::edit(&path, id.dialect(), &[], |root| {
        let servers = servers_object(root, id, &path)?;
        Ok(((), put_fields(&servers, id, name, &fields, STDIO_KEYS, &path)?))
    })?;
    Ok(path)
}

/// The headers helper of server `name`: `sidecar token <name>
/// --header=json`, the program quoted for the shell the client runs it
/// with (sh, or cmd on Windows).
pub fn headers_helper(os: Os, sidecar: &str, name: &str) -> String {
    // A backslash is a path separator to cmd, an escape to sh.
    let plain = sidecar
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:".contains(c) || (c == '\\' && os == Os::Windows));
    let program = if plain {
        sidecar.to_owned()
    } else if os == Os::Windows {
        format!("\"{sidecar}\"")
    } else {
        format!("'{}'", sidecar.replace('\'', "'\\''"))
    };
    format!("{program} token {name} --header=json")
}

/// The program and server of a Tether headers helper (`<program> token
/// <name> --header…`), quoted or not.
fn parse_headers_helper(helper: &str) -> Option<(String, String)> {
    let helper = helper.trim_start();
    let (program, rest) = if let Some(quoted) = helper.strip_prefix('"') {
        let end = quoted.find('"')?;
        (quoted[..end].to_owned(), &quoted[end + 1..])
    } else if helper.starts_with('\'') {
        // sh's single quotes, with '\'' for a quote inside.
        let mut program = String::new();
        let mut rest = helper;
        loop {
            let inner = rest.strip_prefix('\'')?;
            let end = inner.find('\'')?;
            program.push_str(&inner[..end]);
            rest = &inner[end + 1..];
            match rest.strip_prefix("\\'") {
                Some(r) => {
                    program.push('\'');
                    rest = r;
                }
                None => break,
            }
        }
        (program, rest)
    } else {
        let end = helper.find(char::is_whitespace)?;
        (helper[..end].to_owned(), &helper[end..])
    };
    let mut words = rest.split_whitespace();
    (words.next()? == "token").then_some(())?;
    let server = words.next()?.to_owned();
    words.next()?.starts_with("--header").then_some(())?;
    Some((program, server))
}

/// The kind of a Tether entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// `tether run <name>` over stdio.
    Stdio,
    /// The client talks HTTP to the server, with `tether token` as its
    /// headers helper.
    Http,
}

/// The entries in `id`'s config that run `sidecar`, by name, with their
/// kind (empty when it has none or cannot be read).
pub fn entry_kinds_running(
    id: McpClient,
    p: &Platform,
    sidecar: &Path,
) -> std::collections::BTreeMap<String, EntryKind> {
    own_entries(id, p)
        .into_iter()
        .filter(|e| same_program(&e.program, sidecar))
        .map(|e| (e.name, e.kind))
        .collect()
}

/// A Tether entry as found in a client's config.
struct OwnEntry {
    name: String,
    program: String,
    kind: EntryKind,
}

/// The Tether entries in `id`'s config, whatever program they run (empty
/// when it has none or cannot be read): those whose `tether run <server>`
/// or `tether token <server>` names the entry's own key.
fn own_entries(id: McpClient, p: &Platform) -> Vec<OwnEntry> {
    let Some(path) = config_path(id, p) else {
        return Vec::new();
    };
    let Ok(Some(doc)) = jsonc::read(&path, id.dialect()) else {
        return Vec::new();
    };
    let Some(servers) = doc.get(id.servers_key()).and_then(Value::as_object) else {
        return Vec::new();
    };
    servers
        .iter()
        .filter_map(|(k, v)| {
            let (program, server) = tether_entry(v)?;
            let kind = if v.get("headersHelper").is_some() {
                EntryKind::Http
            } else {
                EntryKind::Stdio
            };
            (&server == k).then(|| OwnEntry {
                name: k.clone(),
                program,
                kind,
            })
        })
        .collect()
}

/// Deletes the backups (`<config>.tether-backup`) of every client's config
/// that are older than `max_age`, and returns them: a backup is a way back
/// from Tether's last change, not an archive of keys the user has since
/// removed (see [`jsonc`]'s backup rules). Called by every command that
/// edits a client's config; failures are ignored (a backup left behind is
/// deleted next time).
pub fn expire_backups(p: &Platform, max_age: std::time::Duration) -> Vec<PathBuf> {
    let now = std::time::SystemTime::now();
    let mut deleted = Vec::new();
    for &id in McpClient::ALL {
        let Some(path) = config_path(id, p) else {
            continue;
        };
        // The backup sits beside the file written: a symlink's target.
        let target = std::fs::canonicalize(&path).unwrap_or(path);
        let Some(name) = target.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let backup = target.with_file_name(format!("{name}{BACKUP_SUFFIX}"));
        let old = std::fs::symlink_metadata(&backup).is_ok_and(|m| {
            m.is_file()
                && m.modified()
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|age| age > max_age)
        });
        if old && !deleted.contains(&backup) && std::fs::remove_file(&backup).is_ok() {
            tracing::debug!(backup = %backup.display(), "deleted a backup older than {} days", max_age.as_secs() / 86_400);
            deleted.push(backup);
        }
    }
    deleted
}

/// Removes Tether's entry `name` from `id`'s config. `Ok(false)` when there
/// is none; an entry of that name that does not run Tether is left alone
/// (an error).
pub fn uninstall(id: McpClient, p: &Platform, name: &str) -> Result<bool, ClientsError> {
    let path = config_path(id, p).ok_or(ClientsError::NoConfigPath(id))?;
    if !path.exists() {
        return Ok(false);
    }
    let (removed, _) = jsonc::edit(&path, id.dialect(), &[], |root| {
        if let Some(top) = root.object_value() {
            named_once(&top, &[id.servers_key()], "the file", &path)?;
        }
        let Some(servers) = root
            .object_value()
            .and_then(|o| o.get(id.servers_key()))
            .and_then(|p| p.object_value())
        else {
            return Ok((false, false));
        };
        named_once(&servers, &[name], &format!("{:?}", id.servers_key()), &path)?;
        let Some(prop) = servers.get(name) else {
            return Ok((false, false));
        };
        let ours = prop
            .value()
            .and_then(|v| v.to_serde_value())
            .as_ref()
            .and_then(tether_entry)
            .is_some_and(|(_, server)| server == name);
        if !ours {
            return Err(ClientsError::NotTether {
                path: path.clone(),
                name: name.to_owned(),
            });
        }
        prop.remove();
        Ok((true, true))
    })?;
    expire_backups(p, BACKUP_MAX_AGE);
    Ok(removed)
}

/// The names of the entries in `id`'s config that run `sidecar`, read
/// once (empty when it has none or cannot be read): [`has_entry`] for every
/// server at the cost of one read.
pub fn entries_running(id: McpClient, p: &Platform, sidecar: &Path) -> std::collections::BTreeSet<String> {
    entry_kinds_running(id, p, sidecar).into_keys().collect()
}

/// The names of the Tether entries in `id`'s config (empty when it has
/// none or cannot be read).
pub fn tether_entries(id: McpClient, p: &Platform) -> Vec<String> {
    own_entries(id, p).into_iter().map(|e| e.name).collect()
}

/// An entry's command and server name when it has the shape of a Tether
/// entry (`args` starting with `run <name>`; Zed's older
/// `{"command": {"path", "args"}}` too; or an HTTP entry whose
/// `headersHelper` is `tether token <name> --header…`).
fn tether_entry(entry: &Value) -> Option<(String, String)> {
    if let Some(helper) = entry.get("headersHelper").and_then(Value::as_str) {
        return parse_headers_helper(helper);
    }
    let (command, args) = match entry.get("command")? {
        Value::String(c) => (c.clone(), entry.get("args")?),
        Value::Object(o) => (o.get("path")?.as_str()?.to_owned(), o.get("args")?),
        _ => return None,
    };
    let args = args.as_array()?;
    match (args.first()?.as_str()?, args.get(1)?.as_str()?) {
        ("run", server) if !server.starts_with("http://") && !server.starts_with("https://") => {
            Some((command, server.to_owned()))
        }
        _ => None,
    }
}

/// Whether `command` (from a config) names the program at `sidecar`.
fn same_program(command: &str, sidecar: &Path) -> bool {
    let command = Path::new(command);
    command == sidecar
        || match (std::fs::canonicalize(command), std::fs::canonicalize(sidecar)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
}

/// The sidecar's path as the text of a `command`.
fn command_text(sidecar: &Path) -> Result<String, ClientsError> {
    match sidecar.to_str() {
        Some(s) if sidecar.is_absolute() || s.starts_with('/') => Ok(s.to_owned()),
        _ => Err(ClientsError::BadCommand(sidecar.to_owned())),
    }
}

/// The object of servers in `root`, created when missing (Claude Desktop
/// sometimes drops `mcpServers`) or `null`.
fn servers_object(root: &CstRootNode, id: McpClient, path: &Path) -> Result<CstObject, ClientsError> {
    let top = root.object_value_or_set();
    let key = id.servers_key();
    named_once(&top, &[key], "the file", path)?;
    match top.get(key) {
        None => Ok(top.append(key, CstInputValue::Object(Vec::new())).object_value_or_set()),
        Some(prop) => match prop.value() {
            Some(v) if v.as_object().is_some() => Ok(prop.object_value_or_set()),
            Some(v) if v.as_null_keyword().is_some() => Ok(prop.object_value_or_set()),
            _ => Err(ClientsError::Shape {
                path: path.to_owned(),
                what: format!("{key:?}"),
                expected: "an object".into(),
            }),
        },
    }
}

/// The fields of Tether's stdio entry for `server` in `id`'s config: the
/// `tether` program and `["run", "<server>"]`, never a secret, and the
/// `type` for the clients that want one.
fn entry_fields(id: McpClient, server: &str, command: &str) -> Vec<(&'static str, Value)> {
    let mut fields: Vec<(&'static str, Value)> = Vec::new();
    if let Some(t) = id.stdio_type() {
        fields.push(("type", json!(t)));
    }
    fields.push(("command", json!(command)));
    fields.push(("args", json!(["run", server])));
    fields
}

/// Claude Desktop's entry for `server` (`"<server>": {"command": …,
/// "args": ["run", "<server>"]}`), as text to paste into
/// `claude_desktop_config.json`'s `mcpServers`.
pub fn entry_json(server: &str, program: &Path) -> String {
    let fields: serde_json::Map<String, Value> =
        entry_fields(McpClient::ClaudeDesktop, server, &program.display().to_string())
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    let entry = json!({ server: fields });
    serde_json::to_string_pretty(&entry).unwrap_or_default()
}

/// Refuses an object that names one of `names` twice. Every client reads
/// the last of two equal names (`JSON.parse`, VS Code's and Zed's parsers)
/// while the tree's `get` finds the first, so an edit there would not be
/// what the client sees: an entry "installed" that never appears, a secret
/// "removed" that stays (found by the `jsonc_edit` fuzz target).
fn named_once(obj: &CstObject, names: &[&str], what: &str, path: &Path) -> Result<(), ClientsError> {
    for name in names {
        let count = obj
            .properties()
            .iter()
            .filter(|p| p.name().and_then(|n| n.decoded_value().ok()).as_deref() == Some(*name))
            .count();
        if count > 1 {
            return Err(ClientsError::Shape {
                path: path.to_owned(),
                what: what.to_owned(),
                expected: format!(
                    "an object that names {name:?} only once (it names it {count} times; programs differ on which counts)"
                ),
            });
        }
    }
    Ok(())
}

/// The keys of a remote entry that a stdio entry must not keep.
const REMOTE_KEYS: &[&str] = &["url", "serverUrl", "headers", "headersHelper", "oauth", "transportType"];
/// The keys of a stdio entry that an HTTP entry must not keep (and the
/// static headers and OAuth settings it must not have beside the helper).
const STDIO_KEYS: &[&str] = &[
    "command",
    "args",
    "env",
    "cwd",
    "headers",
    "oauth",
    "serverUrl",
    "transportType",
];

/// Writes `fields` into the entry `key` (created when missing), keeping its
/// other keys (`disabled`, `autoApprove`, …) but removing `drop`. Returns
/// whether anything changed.
fn put_fields(
    servers: &CstObject,
    id: McpClient,
    key: &str,
    fields: &[(&str, Value)],
    drop: &[&str],
    path: &Path,
) -> Result<bool, ClientsError> {
    let new_entry = || CstInputValue::Object(fields.iter().map(|(k, v)| ((*k).to_owned(), jsonc::input(v))).collect());
    named_once(servers, &[key], &format!("{:?}", id.servers_key()), path)?;
    let Some(prop) = servers.get(key) else {
        servers.append(key, new_entry());
        return Ok(true);
    };
    let Some(entry) = prop.value().and_then(|v| v.as_object()) else {
        prop.set_value(new_entry());
        return Ok(true);
    };
    let touched: Vec<&str> = fields.iter().map(|(k, _)| *k).chain(drop.iter().copied()).collect();
    named_once(&entry, &touched, &format!("the entry {key:?}"), path)?;
    let mut changed = set_fields(&entry, fields);
    for k in drop {
        if let Some(p) = entry.get(k) {
            p.remove();
            changed = true;
        }
    }
    Ok(changed)
}

/// Sets `fields` in `entry`, leaving equal values as they are (and their
/// formatting). Returns whether anything changed.
fn set_fields(entry: &CstObject, fields: &[(&str, Value)]) -> bool {
    let mut changed = false;
    for (k, v) in fields {
        match entry.get(k) {
            Some(p) if p.value().and_then(|n| n.to_serde_value()).as_ref() == Some(v) => {}
            Some(p) => {
                p.set_value(jsonc::input(v));
                changed = true;
            }
            None => {
                entry.append(k, jsonc::input(v));
                changed = true;
            }
        }
    }
    changed
}

/// Writes Tether's entry for `server` under `key` (renaming the entry found
/// under `old_key` when it differs), keeping the entry's other keys
/// (`disabled`, `autoApprove`, …) and removing the variables `drop_env`
/// from its `env`. Returns whether anything changed.
fn put_entry(
    servers: &CstObject,
    id: McpClient,
    old_key: &str,
    server: &str,
    command: &str,
    drop_env: &[String],
    path: &Path,
) -> Result<bool, ClientsError> {
    let key = server;
    let fields = entry_fields(id, server, command);
    named_once(servers, &[old_key, key], &format!("{:?}", id.servers_key()), path)?;
    let existing = servers.get(old_key);
    if old_key != key && servers.get(key).is_some() {
        return Err(ClientsError::Shape {
            path: path.to_owned(),
            what: format!("the entry {old_key:?}"),
            expected: format!("renamable to {key:?}, which is taken"),
        });
    }
    let Some(prop) = existing else {
        let entry = CstInputValue::Object(fields.iter().map(|(k, v)| ((*k).to_owned(), jsonc::input(v))).collect());
        servers.append(key, entry);
        return Ok(true);
    };
    let mut changed = false;
    if old_key != key
        && let Some(name) = prop.name().and_then(|n| n.as_string_lit())
    {
        name.set_raw_value(serde_json::to_string(key).unwrap_or_default());
        changed = true;
    }
    let Some(entry) = prop.value().and_then(|v| v.as_object()) else {
        let entry = CstInputValue::Object(fields.iter().map(|(k, v)| ((*k).to_owned(), jsonc::input(v))).collect());
        prop.set_value(entry);
        return Ok(true);
    };
    let touched: Vec<&str> = ["type", "command", "args", "env"]
        .iter()
        .chain(REMOTE_KEYS)
        .copied()
        .collect();
    named_once(&entry, &touched, &format!("the entry {old_key:?}"), path)?;
    changed |= set_fields(&entry, &fields);
    // A remote entry's "type" ("http", "sse", "streamableHttp") goes too.
    if id.stdio_type().is_none()
        && let Some(p) = entry.get("type")
        && p.value().and_then(|v| v.to_serde_value()) != Some(json!("stdio"))
    {
        p.remove();
        changed = true;
    }
    for k in REMOTE_KEYS {
        if let Some(p) = entry.get(k) {
            p.remove();
            changed = true;
        }
    }
    if !drop_env.is_empty()
        && let Some(env_prop) = entry.get("env")
        && let Some(env) = env_prop.object_value()
    {
        let vars: Vec<&str> = drop_env.iter().map(String::as_str).collect();
        named_once(&env, &vars, &format!("the \"env\" of {old_key:?}"), path)?;
        for var in drop_env {
            if let Some(p) = env.get(var) {
                p.remove();
                changed = true;
            }
        }
        if env.properties().is_empty() {
            env_prop.remove();
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests;
