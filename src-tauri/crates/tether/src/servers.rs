//! The servers a user added by name (`tether add linear https://…`), so that
//! Claude Desktop's entry is just `tether run linear` with no secret in it.
//!
//! Owns `servers.json` in the config directory: per server its URL, how it
//! authenticates (OAuth discovered on the first 401, a static token in a
//! header, or nothing) and the OAuth settings a user may need (a
//! pre-registered client id, the variable holding its secret, a Client ID
//! Metadata Document URL, scopes, a fixed callback port). Secrets are never
//! in this file; a static token lives in the keychain under the server's
//! name. Names are what a user types and what files are named after, so they
//! are limited to letters, digits, `-` and `_`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::TransportMode;
use crate::logging::LogLevel;
use crate::store::files::{FileError, read_json, write_json};

/// How a server authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum AuthKind {
    /// OAuth 2.1, discovered when the server answers 401.
    #[default]
    Oauth,
    /// A static token in a header, kept in the keychain.
    Bearer,
    /// No authentication.
    None,
}

/// One named server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    pub url: String,
    pub auth: AuthKind,
    /// For `bearer`: the header carrying the token (`Authorization` sends
    /// `Bearer <token>`; any other header carries the token as it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_header: Option<String>,
    /// Extra `Name: value` headers (`${VAR}` expanded at run time).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// A pre-registered OAuth client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The environment variable holding that client's secret; without it,
    /// the secret (if any) is read from the keychain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// A Client ID Metadata Document URL for this server (overrides the
    /// global setting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_metadata_url: Option<String>,
    /// Scopes to ask for instead of the discovered ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    /// The `resource` to send instead of the discovered one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A fixed callback port (when the authorization server needs the exact
    /// registered redirect URI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<TransportMode>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_http: bool,
}

/// Settings for every server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The Client ID Metadata Document URL Tether uses as its client id
    /// where the authorization server supports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_metadata_url: Option<String>,
    /// The MCP clients (ids of `clients::McpClient`) the app adds new
    /// servers to; empty means "ask" (the app ticks Claude Desktop).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<String>,
    /// The log level of the app and the bridges.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LogLevel>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServersFile {
    pub servers: BTreeMap<String, ServerConfig>,
    pub settings: Settings,
}

/// Problems with the server list.
#[derive(Debug, thiserror::Error)]
pub enum ServersError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{0:?} is not a usable server name: use letters, digits, - and _ (at most 64)")]
    BadName(String),
    #[error("no server is named {0:?}; `tether status` lists them, `tether add {0} <url>` adds it")]
    Unknown(String),
    #[error("{0:?} is not a URL")]
    BadUrl(String),
}

/// The server list in `dir`.
#[derive(Debug, Clone)]
pub struct Servers {
    path: PathBuf,
}

impl Servers {
    /// The list kept in `config_dir/servers.json`.
    pub fn new(config_dir: &Path) -> Self {
        Self {
            path: config_dir.join("servers.json"),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file (empty when it does not exist).
    pub fn load(&self) -> Result<ServersFile, ServersError> {
        Ok(read_json(&self.path)?.unwrap_or_default())
    }

    /// Writes the file. A malformed existing file was refused by `load`, so
    /// it is never overwritten here.
    pub fn save(&self, file: &ServersFile) -> Result<(), ServersError> {
        Ok(write_json(&self.path, file)?)
    }

    /// One server by name.
    pub fn get(&self, name: &str) -> Result<ServerConfig, ServersError> {
        self.load()?
            .servers
            .remove(name)
            .ok_or_else(|| ServersError::Unknown(name.to_owned()))
    }
}

/// What a person named on the command line: a server by its URL
/// (`tether run https://…`, mcp-remote's way) or by the name `tether add`
/// gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerRef {
    Url(url::Url),
    Name(String),
}

impl ServerRef {
    /// Reads `arg`: an `http(s)://` URL, else a server name.
    pub fn parse(arg: &str) -> Result<Self, ServersError> {
        if is_url(arg) {
            let url = url::Url::parse(arg).map_err(|_| ServersError::BadUrl(arg.to_owned()))?;
            return Ok(Self::Url(url));
        }
        check_name(arg)?;
        Ok(Self::Name(arg.to_owned()))
    }
}

/// Whether `arg` is meant as a URL rather than a server name: it starts
/// with `http://` or `https://`.
pub fn is_url(arg: &str) -> bool {
    let lower = arg.get(..8).unwrap_or(arg).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// Checks a server name.
pub fn check_name(name: &str) -> Result<(), ServersError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(ServersError::BadName(name.to_owned()))
    }
}

/// The key under which an unnamed server (`tether run <url>`) keeps its
/// state and tokens: host, port and a short hash of the whole URL.
pub fn key_for_url(url: &url::Url) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(url.as_str().as_bytes());
    let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let host: String = url
        .host_str()
        .unwrap_or("server")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    match url.port() {
        Some(p) => format!("url-{host}-{p}-{short}"),
        None => format!("url-{host}-{short}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_plain() {
        assert!(check_name("linear").is_ok());
        assert!(check_name("my_server-2").is_ok());
        for bad in ["", "-x", "a b", "../etc", "é", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_argument_is_a_url_or_a_name() {
        assert!(matches!(
            ServerRef::parse("https://mcp.linear.app/mcp"),
            Ok(ServerRef::Url(_))
        ));
        assert!(matches!(
            ServerRef::parse("HTTP://127.0.0.1:3000/mcp"),
            Ok(ServerRef::Url(_))
        ));
        assert_eq!(ServerRef::parse("linear").unwrap(), ServerRef::Name("linear".into()));
        assert!(matches!(ServerRef::parse("https://"), Err(ServersError::BadUrl(_))));
        assert!(matches!(ServerRef::parse("ftp://x"), Err(ServersError::BadName(_))));
        assert!(!is_url("linear") && !is_url("h"));
    }

    #[test]
    fn unnamed_servers_get_a_stable_key_per_url() {
        let a = key_for_url(&"https://mcp.linear.app/mcp".parse().unwrap());
        assert!(a.starts_with("url-mcp.linear.app-"), "{a}");
        assert_eq!(a, key_for_url(&"https://mcp.linear.app/mcp".parse().unwrap()));
        assert_ne!(a, key_for_url(&"https://mcp.linear.app/sse".parse().unwrap()));
        assert!(key_for_url(&"http://127.0.0.1:3000/mcp".parse().unwrap()).starts_with("url-127.0.0.1-3000-"));
    }

    #[test]
    fn the_file_round_trips_and_names_missing_servers() {
        let dir = std::env::temp_dir().join(format!("tether-servers-{}", std::process::id()));
        let servers = Servers::new(&dir);
        let mut file = servers.load().unwrap();
        file.servers.insert(
            "linear".into(),
            ServerConfig {
                url: "https://mcp.linear.app/mcp".into(),
                ..Default::default()
            },
        );
        servers.save(&file).unwrap();
        assert_eq!(servers.get("linear").unwrap().auth, AuthKind::Oauth);
        let text = std::fs::read_to_string(servers.path()).unwrap();
        assert!(text.contains("\"auth\": \"oauth\""), "{text}");
        assert!(matches!(servers.get("github"), Err(ServersError::Unknown(_))));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
