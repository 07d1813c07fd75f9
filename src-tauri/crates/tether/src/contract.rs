//! The typed contract between the Tether app, its window and the `tether`
//! sidecar.
//!
//! The app never opens the keychain: everything that touches a secret runs
//! the `tether` program it ships (ARCHITECTURE.md, "One keychain user"). This
//! module owns what crosses that seam, once:
//!
//! - [`SidecarCommand`]: every sidecar run the app makes, rendered to an
//!   argument list here and nowhere else (always `--json`, `--` before a
//!   server name or URL so a name can never be read as a flag, a token
//!   through stdin, never an argument);
//! - the answers `--json` prints ([`Done`], [`ImportCandidate`],
//!   [`ImportReport`], [`InstallReport`], `doctor::DoctorReport`,
//!   `manage::ServerStatus`) and the error it prints instead ([`Failure`]),
//!   read back by the app as the same types;
//! - the app's window types ([`ServerRow`], [`ClientRow`], [`AddRequest`],
//!   [`SettingsView`], …). The window's TypeScript types are generated from
//!   these (`ui/src/bindings.ts`, by ts-rs); a test fails when that file is
//!   not what the Rust types say.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clients::{Candidate, McpClient};
use crate::logging::LogLevel;
use crate::overview::ServerView;
use crate::servers::AuthKind;
use crate::store::secrets::Secret;

/// A run of the `tether` sidecar.
#[derive(Debug, Clone)]
pub enum SidecarCommand {
    /// `tether add`: a new server, or new settings for one.
    Add(AddServer),
    /// `tether remove`: sign out and forget.
    Remove { name: String },
    /// `tether login`: sign in with the browser.
    Login { name: String },
    /// `tether logout`: revoke and forget the tokens.
    Logout { name: String },
    /// `tether import --dry-run`: the `npx mcp-remote` entries of the MCP
    /// clients whose configs are under `home`.
    ImportCandidates { home: PathBuf },
    /// `tether import`: turn the `picks` into Tether entries.
    Import { home: PathBuf, picks: Vec<Pick> },
    /// `tether doctor`: a server (by name) or a URL.
    Doctor { target: String },
    /// `tether install --http`: `client`'s HTTP entry for server `name` (the
    /// client talks to the server itself, with `tether token` as its headers
    /// helper), in the configs under `home`. Only for a client with such a
    /// hook (`McpClient::headers_hook`: Claude Code).
    InstallHttp {
        name: String,
        client: McpClient,
        home: PathBuf,
    },
}

/// What `tether add` is given.
#[derive(Debug, Clone)]
pub struct AddServer {
    pub name: String,
    pub url: String,
    pub auth: AuthKind,
    /// For a token server: the header the token goes in, when not
    /// `Authorization`.
    pub token_header: Option<String>,
    /// For a token server: the new token (through stdin), or `None` to keep
    /// the stored one.
    pub token: Option<Secret>,
}

impl SidecarCommand {
    /// The arguments, after the program.
    pub fn argv(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |s: &str| a.push(s.into());
        match self {
            Self::Add(add) => {
                push("add");
                push("--json");
                match add.auth {
                    AuthKind::Bearer => {
                        push("--bearer");
                        if let Some(h) = add.token_header.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
                            push(&format!("--token-header={h}"));
                        }
                        if add.token.is_none() {
                            push("--keep-token");
                        }
                    }
                    AuthKind::None => push("--no-auth"),
                    AuthKind::Oauth => {}
                }
                push("--");
                push(&add.name);
                push(&add.url);
            }
            Self::Remove { name } => a.extend(["remove", "--json", "--", name].map(OsString::from)),
            Self::Login { name } => a.extend(["login", "--json", "--", name].map(OsString::from)),
            Self::Logout { name } => a.extend(["logout", "--json", "--", name].map(OsString::from)),
            Self::ImportCandidates { home } => {
                a.extend(["import", "--dry-run", "--json"].map(OsString::from));
                a.push(home_flag(home));
            }
            Self::Import { home, picks } => {
                a.extend(["import", "--json"].map(OsString::from));
                a.push(home_flag(home));
                for p in picks {
                    a.push(format!("--pick={}:{}", p.client, p.name).into());
                }
            }
            Self::Doctor { target } => a.extend(["doctor", "--json", "--", target].map(OsString::from)),
            Self::InstallHttp { name, client, home } => {
                a.extend(["install", "--json", "--http"].map(OsString::from));
                a.push(format!("--client={}", client.id()).into());
                a.push(home_flag(home));
                a.extend(["--", name].map(OsString::from));
            }
        }
        a
    }

    /// What goes to the sidecar's stdin: a token, never an argument.
    pub fn stdin(&self) -> Option<&Secret> {
        match self {
            Self::Add(add) if add.auth == AuthKind::Bearer => add.token.as_ref(),
            _ => None,
        }
    }

    /// How long the run may take: a sign-in waits for a person.
    pub fn timeout(&self) -> Duration {
        match self {
            Self::Login { .. } => Duration::from_secs(360),
            Self::Import { .. } | Self::Doctor { .. } => Duration::from_secs(120),
            _ => Duration::from_secs(60),
        }
    }

    /// Whether an exit code means an answer on stdout: `tether doctor`
    /// exits 1 for warnings and 2 for errors, with its report.
    pub fn answers_with(&self, code: i32) -> bool {
        match self {
            Self::Doctor { .. } => (0..=2).contains(&code),
            // `tether install` exits 1 with its report when an entry failed
            // (and with a `Failure` when it could not start: the runner
            // reads that as the failure it is).
            Self::InstallHttp { .. } => (0..=1).contains(&code),
            _ => code == 0,
        }
    }

    /// The command's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Add(_) => "add",
            Self::Remove { .. } => "remove",
            Self::Login { .. } => "login",
            Self::Logout { .. } => "logout",
            Self::ImportCandidates { .. } | Self::Import { .. } => "import",
            Self::Doctor { .. } => "doctor",
            Self::InstallHttp { .. } => "install",
        }
    }
}

/// `--home=<dir>`: one argument, so a path that starts with `-` stays a value.
fn home_flag(home: &std::path::Path) -> OsString {
    let mut f = OsString::from("--home=");
    f.push(home.as_os_str());
    f
}

/// What `--json` prints when a command fails, instead of its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Failure {
    pub error: FailureBody,
}

/// The error of a [`Failure`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FailureBody {
    /// A sentence a person can act on, with its causes.
    pub message: String,
}

impl Failure {
    /// The failure of `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            error: FailureBody {
                message: message.into(),
            },
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error.message)
    }
}

/// What the window's Diagnose view gets: `tether doctor --json`'s report
/// and the same report in Markdown, for "Copy report" (nothing secret in
/// either).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Diagnosis {
    pub report: crate::doctor::DoctorReport,
    pub markdown: String,
}

impl From<crate::doctor::DoctorReport> for Diagnosis {
    fn from(report: crate::doctor::DoctorReport) -> Self {
        Self {
            markdown: report.to_markdown(),
            report,
        }
    }
}

/// What `add`, `remove`, `login` and `logout` print with `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Done {
    pub server: String,
    /// What happened, as the command says it to a person.
    pub message: String,
}

/// An `npx mcp-remote` entry that can become Tether's (`import --dry-run`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ImportCandidate {
    /// The MCP client's id.
    pub client: String,
    /// Its config file.
    pub file: String,
    /// The entry's name there.
    pub name: String,
    /// The server name it gets in Tether.
    pub server: String,
    pub url: String,
    /// The header whose token moves to the keychain.
    pub token_header: Option<String>,
    /// Whether a token or client secret moves to the keychain.
    pub has_secret: bool,
    /// mcp-remote flags with no Tether equivalent (dropped).
    pub ignored: Vec<String>,
    /// Why it cannot be imported as it is.
    pub problem: Option<String>,
}

impl From<&Candidate> for ImportCandidate {
    fn from(c: &Candidate) -> Self {
        Self {
            client: c.client.id().to_owned(),
            file: c.file.display().to_string(),
            name: c.name.clone(),
            server: c.server.clone(),
            url: c.url.clone(),
            token_header: c.token_header.clone(),
            has_secret: c.has_secret(),
            ignored: c.options.ignored.clone(),
            problem: c.problem.clone(),
        }
    }
}

/// One candidate chosen for import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Pick {
    pub client: String,
    pub name: String,
}

/// What `import` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ImportReport {
    /// The servers imported.
    pub imported: Vec<String>,
    pub errors: Vec<NamedFailure>,
    /// mcp-remote's token cache (`~/.mcp-auth`, plain-text tokens), when it
    /// is still on disk after an import that imported something: the app
    /// offers to delete it (`tether import --delete-mcp-auth`, or
    /// `clients::mcp_auth::delete`, which needs no keychain). Absent when
    /// there is none or it was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub mcp_auth_cache: Option<String>,
}

/// A failure that belongs to one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct NamedFailure {
    pub name: String,
    pub message: String,
}

/// What `install` (and the app's "add to a client") did to each client's
/// config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct InstallReport {
    pub installed: Vec<ClientChange>,
    pub errors: Vec<ClientFailure>,
}

/// What `uninstall` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct UninstallReport {
    pub removed: Vec<ClientChange>,
    pub errors: Vec<ClientFailure>,
}

/// A client config that was changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ClientChange {
    /// The MCP client's id.
    pub client: String,
    pub path: String,
}

/// A client config that could not be changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ClientFailure {
    pub client: String,
    pub message: String,
}

/// What `status --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StatusReport {
    pub servers: Vec<crate::manage::ServerStatus>,
}

/// A server as the window lists it: the overview row and the MCP clients
/// whose config runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ServerRow {
    #[serde(flatten)]
    pub view: ServerView,
    /// Ids of the MCP clients whose config runs it.
    pub clients: Vec<String>,
}

/// An MCP client as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub installed: bool,
    pub path: Option<String>,
    /// The servers its config runs through this app's `tether`.
    pub configured: Vec<String>,
    /// Those of `configured` whose entry is an HTTP entry (the client talks
    /// to the server, `tether token` gives it the headers); the others run
    /// `tether run` over stdio.
    pub http: Vec<String>,
    /// Whether the client can run a program for a server's headers
    /// (`McpClient::headers_hook`), so it can be given the HTTP entry.
    pub headers_hook: bool,
}

/// What the window's "Add server" (and Edit) sends. Its `Debug` leaves the
/// token out, and it is never serialized back.
#[derive(Clone, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AddRequest {
    pub name: String,
    pub url: String,
    pub auth: AuthKind,
    #[cfg_attr(test, ts(type = "string | null"))]
    pub token: Option<Secret>,
    pub token_header: Option<String>,
    /// The MCP clients to add it to.
    pub clients: Vec<String>,
    /// Editing a token server: keep the stored token when none is given.
    #[serde(default)]
    pub keep_token: bool,
}

impl fmt::Debug for AddRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddRequest")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("auth", &self.auth)
            .field("token", &self.token)
            .field("token_header", &self.token_header)
            .field("clients", &self.clients)
            .field("keep_token", &self.keep_token)
            .finish()
    }
}

/// The settings the window edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SettingsView {
    /// The MCP clients new servers are added to.
    pub clients: Vec<String>,
    pub client_metadata_url: Option<String>,
    pub start_at_login: bool,
    pub log_level: LogLevel,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(c: &SidecarCommand) -> Vec<String> {
        c.argv().into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn a_server_name_always_follows_a_double_dash() {
        // A name that looks like a flag stays a name.
        let c = SidecarCommand::Login { name: "--help".into() };
        assert_eq!(args(&c), ["login", "--json", "--", "--help"]);
        let c = SidecarCommand::Doctor {
            target: "https://x.example/mcp".into(),
        };
        assert_eq!(args(&c), ["doctor", "--json", "--", "https://x.example/mcp"]);
        assert!(c.answers_with(2) && !c.answers_with(3));
    }

    #[test]
    fn an_http_entry_is_installed_with_its_client_and_home_as_single_arguments_and_the_name_after_a_double_dash() {
        let c = SidecarCommand::InstallHttp {
            name: "--linear".into(),
            client: McpClient::ClaudeCode,
            home: "/home/ann".into(),
        };
        assert_eq!(
            args(&c),
            [
                "install",
                "--json",
                "--http",
                "--client=claude-code",
                "--home=/home/ann",
                "--",
                "--linear"
            ]
        );
        assert!(c.stdin().is_none(), "nothing secret goes in");
        assert_eq!(c.name(), "install");
        assert!(
            c.answers_with(0) && c.answers_with(1) && !c.answers_with(2),
            "exit 1 still prints the report of the entries that failed"
        );
    }

    #[test]
    fn a_token_goes_through_stdin_and_never_into_the_arguments() {
        let c = SidecarCommand::Add(AddServer {
            name: "corp".into(),
            url: "https://corp.example/mcp".into(),
            auth: AuthKind::Bearer,
            token_header: Some(" X-Api-Key ".into()),
            token: Some(Secret::new("s3cret-token")),
        });
        let a = args(&c);
        assert_eq!(
            a,
            [
                "add",
                "--json",
                "--bearer",
                "--token-header=X-Api-Key",
                "--",
                "corp",
                "https://corp.example/mcp"
            ]
        );
        assert_eq!(c.stdin().map(Secret::expose), Some("s3cret-token"));
        let keep = SidecarCommand::Add(AddServer {
            token: None,
            ..match c {
                SidecarCommand::Add(a) => a,
                _ => unreachable!(),
            }
        });
        assert!(args(&keep).contains(&"--keep-token".to_owned()));
        assert!(keep.stdin().is_none());
    }

    #[test]
    fn import_picks_and_the_home_are_single_arguments() {
        let c = SidecarCommand::Import {
            home: "/home/ann".into(),
            picks: vec![Pick {
                client: "claude-desktop".into(),
                name: "-My Docs".into(),
            }],
        };
        assert_eq!(
            args(&c),
            ["import", "--json", "--home=/home/ann", "--pick=claude-desktop:-My Docs"]
        );
    }

    #[test]
    fn an_add_request_never_prints_its_token() {
        let r: AddRequest = serde_json::from_value(serde_json::json!({
            "name": "corp", "url": "https://corp.example/mcp", "auth": "bearer",
            "token": "s3cret-token-value", "token_header": null, "clients": []
        }))
        .unwrap();
        let shown = format!("{r:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(r.token.unwrap().expose(), "s3cret-token-value");
    }

    #[test]
    fn a_failure_reads_back_as_the_same_type() {
        let f = Failure::new("no server is named \"x\"");
        let text = serde_json::to_string(&f).unwrap();
        assert_eq!(text, r#"{"error":{"message":"no server is named \"x\""}}"#);
        assert_eq!(serde_json::from_str::<Failure>(&text).unwrap(), f);
    }

    /// The window's TypeScript types, as ts-rs renders the Rust ones.
    fn bindings() -> String {
        use ts_rs::{Config, TS};
        let cfg = Config::new().with_large_int("number");
        let mut out = String::from(
            "// The types the window exchanges with the app, generated from the Rust types by ts-rs\n\
             // (src-tauri/crates/tether/src/contract.rs). Do not edit: run\n\
             // `TETHER_BLESS=1 cargo test -p tether bindings` after changing a Rust type.\n",
        );
        macro_rules! decl {
            ($($t:ty),* $(,)?) => {$(
                out.push_str("\nexport ");
                out.push_str(&<$t as TS>::decl(&cfg));
                out.push('\n');
            )*};
        }
        decl!(
            AuthKind,
            crate::overview::ServerState,
            ServerView,
            ServerRow,
            ClientRow,
            crate::probe::ServerKind,
            crate::probe::Probe,
            AddRequest,
            InstallReport,
            UninstallReport,
            ClientChange,
            ClientFailure,
            ImportCandidate,
            Pick,
            ImportReport,
            NamedFailure,
            SettingsView,
            LogLevel,
            crate::doctor::Level,
            crate::doctor::Affected,
            crate::doctor::Finding,
            crate::doctor::Summary,
            crate::doctor::DoctorReport,
            Diagnosis,
            crate::store::state::Health,
            crate::store::state::Status,
            crate::manage::ServerStatus,
            StatusReport,
            Done,
            Failure,
            FailureBody,
        );
        out
    }

    #[test]
    fn the_typescript_bindings_are_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../ui/src/bindings.ts");
        let want = bindings();
        if std::env::var_os("TETHER_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "ui/src/bindings.ts is not what the Rust types say; run `TETHER_BLESS=1 cargo test -p tether bindings` and commit it"
        );
    }
}
