//! `tether doctor`: why a remote MCP server's sign-in fails, and how to fix it.
//!
//! Owns a diagnosis a server's owner or a user can read in a minute: a list
//! of findings in a fixed order, each ok, a warning or an error, with what
//! was seen, which clients it breaks (Claude's connectors, Claude Desktop
//! through Tether, Claude Code, mcp-remote, Cursor, VS Code) and the
//! concrete fix. The order follows a client's own path: reach the server
//! (DNS, TCP, TLS, time), ask it `initialize` without credentials (MCP
//! 2025-11-25 §"Lifecycle"), read its 401 challenge (RFC 6750 §3, RFC 9728
//! §5.1), find its protected resource metadata (RFC 9728 §3) and its
//! authorization server's metadata (RFC 8414 §3, OIDC Discovery §4, in MCP's
//! order), check what browser-based clients need (CORS on the well-known
//! endpoints), look for a firewall that treats user agents differently, and,
//! only when asked (they create state on the server), register a throwaway
//! client, try loopback redirects (RFC 8252 §7.3), send a bogus refresh
//! token, and sign in for real in the browser, refresh and revoke. Tether's
//! own tolerance is separate: a quirk Tether copes with is still reported,
//! because other clients do not.
//!
//! The checks are data (`catalogue`: stable ids, titles, the clients each can
//! break, fixes); `checks` runs them, one file per stage; the report prints
//! as text, JSON (`DoctorReport`) or Markdown (`markdown`).
//!
//! Nothing secret is printed: no token, no client secret. The sign-in probe's
//! tokens are shown by kind and length only and are never stored.

pub mod catalogue;
mod checks;
pub mod markdown;

use std::time::Duration;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use url::Url;

pub use checks::run;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// Not checked (an earlier step failed, or it was not asked for).
    Skipped,
    Warning,
    Error,
}

/// A client a finding can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Affected {
    /// Claude Desktop's and claude.ai's remote connectors (Anthropic's cloud).
    ClaudeConnectors,
    ClaudeCode,
    McpRemote,
    /// Claude Desktop through Tether.
    Tether,
    Cursor,
    #[serde(rename = "vscode")]
    VsCode,
}

impl Affected {
    /// The name shown to people.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClaudeConnectors => "Claude Desktop and claude.ai connectors",
            Self::ClaudeCode => "Claude Code",
            Self::McpRemote => "mcp-remote",
            Self::Tether => "Tether",
            Self::Cursor => "Cursor",
            Self::VsCode => "VS Code",
        }
    }

    /// The name in the report's table of clients.
    pub fn label(self) -> &'static str {
        match self {
            Self::ClaudeConnectors => "Claude's connectors (Claude Desktop, claude.ai)",
            Self::Tether => "Claude Desktop through Tether",
            other => other.name(),
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Finding {
    /// Stable: scripts and the app match on it.
    #[cfg_attr(test, ts(type = "string"))]
    pub id: Cow<'static, str>,
    pub level: Level,
    /// What was checked, in a few words.
    pub title: String,
    /// What was seen.
    pub saw: String,
    /// Which clients it breaks (empty when ok).
    pub breaks: Vec<Affected>,
    /// What to change.
    pub fix: Option<String>,
    /// An example of a correct response or configuration.
    pub example: Option<String>,
}

/// The whole diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub url: String,
    pub findings: Vec<Finding>,
}

/// The diagnosis as `tether doctor --json` prints it (and the app reads
/// it): the URL, the counts, the findings in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DoctorReport {
    pub url: String,
    pub summary: Summary,
    pub findings: Vec<Finding>,
}

impl From<Report> for DoctorReport {
    fn from(r: Report) -> Self {
        Self {
            summary: r.summary(),
            url: r.url,
            findings: r.findings,
        }
    }
}

/// Counts by level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Summary {
    pub ok: usize,
    pub warnings: usize,
    pub errors: usize,
    pub skipped: usize,
}

impl Report {
    /// Counts by level.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for f in &self.findings {
            match f.level {
                Level::Ok => s.ok += 1,
                Level::Warning => s.warnings += 1,
                Level::Error => s.errors += 1,
                Level::Skipped => s.skipped += 1,
            }
        }
        s
    }

    /// 0 all ok, 1 warnings, 2 errors.
    pub fn exit_code(&self) -> u8 {
        let s = self.summary();
        if s.errors > 0 {
            2
        } else if s.warnings > 0 {
            1
        } else {
            0
        }
    }

    /// The report as text: a summary line first, then each finding.
    pub fn to_text(&self) -> String {
        let s = self.summary();
        let verdict = match (s.errors, s.warnings) {
            (0, 0) => "all checks passed".to_owned(),
            (0, w) => format!("{w} warning{}", plural(w)),
            (e, 0) => format!("{e} error{}", plural(e)),
            (e, w) => format!("{e} error{}, {w} warning{}", plural(e), plural(w)),
        };
        let mut out = format!(
            "tether doctor {}: {verdict} ({} ok, {} skipped)\n",
            self.url, s.ok, s.skipped
        );
        for f in &self.findings {
            let mark = match f.level {
                Level::Ok => "ok     ",
                Level::Skipped => "skipped",
                Level::Warning => "WARNING",
                Level::Error => "ERROR  ",
            };
            out.push_str(&format!("\n{mark} {}  [{}]\n        {}\n", f.title, f.id, f.saw));
            if !f.breaks.is_empty() {
                let names: Vec<&str> = f.breaks.iter().map(|c| c.name()).collect();
                out.push_str(&format!("        breaks: {}\n", names.join(", ")));
            }
            if let Some(fix) = &f.fix {
                out.push_str(&format!("        fix: {fix}\n"));
            }
            if let Some(ex) = &f.example {
                for line in ex.lines() {
                    out.push_str(&format!("          {line}\n"));
                }
            }
        }
        out
    }
}

impl Report {
    /// The report in Markdown, to paste into a vendor's issue tracker.
    pub fn to_markdown(&self) -> String {
        markdown::render(&DoctorReport::from(self.clone()))
    }
}

impl DoctorReport {
    /// The report in Markdown (the app's "Copy report").
    pub fn to_markdown(&self) -> String {
        markdown::render(self)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// What to check.
#[derive(Debug, Clone)]
pub struct Options {
    pub url: Url,
    /// Register a throwaway client (creates a client on the server).
    pub probe_registration: bool,
    /// Try loopback redirects on another port and with `localhost`
    /// (registers a throwaway client first).
    pub probe_redirect: bool,
    /// Send a bogus refresh token to the token endpoint.
    pub probe_refresh: bool,
    /// Sign in for real in the browser (`$BROWSER` honoured), refresh, and
    /// revoke; nothing obtained is stored.
    pub probe_sign_in: bool,
    /// How long the browser's sign-in may take.
    pub auth_timeout: Duration,
    /// Called with the authorization URL when the sign-in probe opens the
    /// browser, and why the browser could not be opened, if so (the CLI
    /// prints the URL on stderr).
    pub on_sign_in: Option<fn(&Url, Option<&str>)>,
    /// A token for the transport checks of a server that needs sign-in
    /// (never printed).
    pub token: Option<crate::auth::AccessToken>,
    /// The wait for each request.
    pub timeout: Duration,
}

impl Options {
    /// The default checks for `url`: nothing that creates state on the server.
    pub fn new(url: Url) -> Self {
        Self {
            url,
            probe_registration: false,
            probe_redirect: false,
            probe_refresh: false,
            probe_sign_in: false,
            auth_timeout: Duration::from_secs(300),
            on_sign_in: None,
            token: None,
            timeout: Duration::from_secs(15),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: &'static str, level: Level) -> Finding {
        Finding {
            id: id.into(),
            level,
            title: id.into(),
            saw: "seen".into(),
            breaks: if level == Level::Ok {
                vec![]
            } else {
                vec![Affected::ClaudeConnectors]
            },
            fix: (level != Level::Ok).then(|| "do this".into()),
            example: None,
        }
    }

    #[test]
    fn the_exit_code_and_summary_follow_the_worst_finding() {
        let r = Report {
            url: "u".into(),
            findings: vec![f("a", Level::Ok), f("b", Level::Skipped)],
        };
        assert_eq!(r.exit_code(), 0);
        assert!(
            r.to_text()
                .starts_with("tether doctor u: all checks passed (1 ok, 1 skipped)")
        );
        let r = Report {
            url: "u".into(),
            findings: vec![f("a", Level::Ok), f("b", Level::Warning)],
        };
        assert_eq!(r.exit_code(), 1);
        let r = Report {
            url: "u".into(),
            findings: vec![f("a", Level::Error), f("b", Level::Warning), f("c", Level::Error)],
        };
        assert_eq!(r.exit_code(), 2);
        let text = r.to_text();
        assert!(
            text.starts_with("tether doctor u: 2 errors, 1 warning (0 ok, 0 skipped)\n"),
            "{text}"
        );
        assert!(text.contains("ERROR   a  [a]\n        seen\n        breaks: Claude Desktop and claude.ai connectors\n        fix: do this"));
    }

    #[test]
    fn the_json_has_stable_ids_and_lowercase_levels() {
        let r = Report {
            url: "u".into(),
            findings: vec![f("auth.www-authenticate", Level::Error)],
        };
        let v = serde_json::to_value(DoctorReport::from(r)).unwrap();
        assert_eq!(v["url"], "u");
        assert_eq!(v["summary"]["errors"], 1);
        assert_eq!(v["findings"][0]["id"], "auth.www-authenticate");
        assert_eq!(v["findings"][0]["level"], "error");
        assert_eq!(v["findings"][0]["breaks"][0], "claude-connectors");
    }
}
