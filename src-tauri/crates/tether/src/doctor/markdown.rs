//! The report a vendor can paste (`tether doctor --format markdown`, the
//! app's "Copy report"): the verdict, a table of MCP clients that work, break
//! or could not be judged, each warning and error with what was seen, the
//! clients it breaks and the fix with its example, then every check in one
//! table.
//!
//! It is made from the report alone (`DoctorReport`, what `--json` prints),
//! which holds nothing secret: no token, no client secret, URLs with their
//! query values and user info masked. Text a server sent is escaped so it
//! cannot become markup in the tracker it is pasted into.

use super::catalogue::{self, Probe, Stage};
use super::{Affected, DoctorReport, Finding, Level};

/// The clients of the table, in its order.
pub const CLIENTS: [Affected; 6] = [
    Affected::ClaudeConnectors,
    Affected::Tether,
    Affected::ClaudeCode,
    Affected::McpRemote,
    Affected::Cursor,
    Affected::VsCode,
];

/// Whether a client works with the server, as far as the report shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Works {
    /// Nothing that could break it failed, and everything that could was checked.
    Works,
    /// These findings break it.
    Breaks(Vec<String>),
    /// Nothing failed, but these checks that could break it did not run.
    Unknown(Vec<String>),
}

/// The verdict for `client`: broken by a warning or an error that names it;
/// else unknown when a check that could break it was skipped because it is
/// opt-in (a probe) or needs a token (the transport); else works.
pub fn verdict(report: &DoctorReport, client: Affected) -> Works {
    let breaking: Vec<String> = report
        .findings
        .iter()
        .filter(|f| matches!(f.level, Level::Warning | Level::Error) && f.breaks.contains(&client))
        .map(|f| f.id.to_string())
        .collect();
    if !breaking.is_empty() {
        return Works::Breaks(breaking);
    }
    let unchecked: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.level == Level::Skipped)
        .filter(|f| {
            catalogue::check(&f.id)
                .is_some_and(|c| (c.probe.is_some() || c.stage == Stage::Transport) && c.breaks.contains(&client))
        })
        .map(|f| f.id.to_string())
        .collect();
    if unchecked.is_empty() {
        Works::Works
    } else {
        Works::Unknown(unchecked)
    }
}

/// The report in Markdown.
pub fn render(report: &DoctorReport) -> String {
    let s = &report.summary;
    let headline = match (s.errors, s.warnings) {
        (0, 0) => "all checks passed".to_owned(),
        (0, w) => count(w, "warning"),
        (e, 0) => count(e, "error"),
        (e, w) => format!("{}, {}", count(e, "error"), count(w, "warning")),
    };
    let mut out = format!(
        "# `tether doctor` report for {}\n\n**{headline}** ({} ok, {} skipped) · Tether {} · probes: {}\n",
        inline(&report.url),
        s.ok,
        s.skipped,
        env!("CARGO_PKG_VERSION"),
        probes_run(report)
    );

    out.push_str("\n## MCP clients\n\n| Client | Works? | Why |\n|---|---|---|\n");
    let mut unknown_any = false;
    for client in CLIENTS {
        let (word, why) = match verdict(report, client) {
            Works::Works => ("✅ works", String::new()),
            Works::Breaks(ids) => ("❌ breaks", ids_list(&ids)),
            Works::Unknown(ids) => {
                unknown_any = true;
                ("❔ unknown", format!("not checked: {}", ids_list(&ids)))
            }
        };
        out.push_str(&format!("| {} | {word} | {why} |\n", client.label()));
    }
    if unknown_any {
        out.push_str(
            "\n*Unknown*: a check that could break the client did not run. The probes register a throwaway client, sign in and refresh (`tether doctor <url> --all-probes`); the transport is checked with a token (`--probe-sign-in`, or a signed-in server's name).\n",
        );
    }

    let problems: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| matches!(f.level, Level::Warning | Level::Error))
        .collect();
    if !problems.is_empty() {
        out.push_str("\n## Errors and warnings\n");
        for f in problems {
            out.push_str(&problem(f));
        }
    }

    out.push_str("\n## Every check\n\n| | Check | Seen |\n|---|---|---|\n");
    for f in &report.findings {
        out.push_str(&format!(
            "| {} | {} `{}` | {} |\n",
            mark(f.level),
            cell(&f.title),
            cell(&f.id),
            cell(&f.saw)
        ));
    }
    out.push_str(
        "\n<sub>Made by `tether doctor` (https://github.com/tether-mcp/tether). It holds no token or secret; URLs have their query values masked.</sub>\n",
    );
    out
}

fn problem(f: &Finding) -> String {
    let level = if f.level == Level::Error { "Error" } else { "Warning" };
    let mut out = format!("\n### {level}: {} (`{}`)\n\n", inline(&f.title), f.id);
    out.push_str(&format!("- **Seen:** {}\n", inline(&f.saw)));
    if !f.breaks.is_empty() {
        let names: Vec<&str> = f.breaks.iter().map(|c| c.label()).collect();
        out.push_str(&format!("- **Breaks:** {}\n", names.join(", ")));
    }
    if let Some(fix) = &f.fix {
        out.push_str(&format!("- **Fix:** {}\n", inline(fix)));
    }
    if let Some(example) = &f.example {
        out.push_str(&format!("\n{}\n", fenced(example)));
    }
    out
}

/// The probes that ran, from their findings.
fn probes_run(report: &DoctorReport) -> String {
    let mut ran: Vec<Probe> = Vec::new();
    for f in &report.findings {
        if f.level == Level::Skipped {
            continue;
        }
        if let Some(p) = catalogue::check(&f.id).and_then(|c| c.probe)
            && !ran.contains(&p)
        {
            ran.push(p);
        }
    }
    if ran.is_empty() {
        "none".into()
    } else {
        ran.iter()
            .map(|p| format!("`{}`", p.flag()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn ids_list(ids: &[String]) -> String {
    ids.iter()
        .map(|i| format!("`{}`", cell(i)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn mark(level: Level) -> &'static str {
    match level {
        Level::Ok => "✅ ok",
        Level::Skipped => "➖ skipped",
        Level::Warning => "⚠️ warning",
        Level::Error => "❌ error",
    }
}

fn count(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Text for a line of Markdown: one line, no HTML.
fn inline(s: &str) -> String {
    s.replace(['\r', '\n'], " ").replace('<', "&lt;").replace('>', "&gt;")
}

/// Text for a table cell: also no column separator.
fn cell(s: &str) -> String {
    inline(s).replace('|', "\\|")
}

/// A code block whose fence is longer than any run of backticks inside.
fn fenced(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}\n{s}\n{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::catalogue::{
        AUTH_WWW_AUTHENTICATE, MCP_INITIALIZE, NET_DNS, PROBE_REGISTRATION_EXPIRY, PROBE_SIGN_IN, TRANSPORT_VERSIONS,
    };
    use crate::doctor::{Report, Summary};

    fn report(findings: Vec<Finding>) -> DoctorReport {
        DoctorReport::from(Report {
            url: "https://mcp.example.com/mcp?key=***".into(),
            findings,
        })
    }

    #[test]
    fn a_client_breaks_on_a_finding_that_names_it_and_is_unknown_when_a_probe_did_not_run() {
        let r = report(vec![
            NET_DNS.ok("mcp.example.com → 192.0.2.1"),
            AUTH_WWW_AUTHENTICATE.error("HTTP 401 without a WWW-Authenticate header"),
            PROBE_SIGN_IN.skipped("not asked"),
        ]);
        assert_eq!(
            verdict(&r, Affected::ClaudeConnectors),
            Works::Breaks(vec!["auth.www-authenticate".into()])
        );
        assert_eq!(
            verdict(&r, Affected::Tether),
            Works::Unknown(vec!["probe.sign-in".into()]),
            "Tether copes with no challenge, and the sign-in was not tried"
        );
        let all_ran = report(vec![NET_DNS.ok("x"), PROBE_REGISTRATION_EXPIRY.ok("absent")]);
        assert_eq!(verdict(&all_ran, Affected::VsCode), Works::Works);
        // A skip that is not a probe (not applicable) leaves the client working.
        let open = report(vec![AUTH_WWW_AUTHENTICATE.skipped("the server needs no sign-in")]);
        assert_eq!(verdict(&open, Affected::ClaudeCode), Works::Works);
        let no_token = report(vec![TRANSPORT_VERSIONS.skipped("sign in first")]);
        assert_eq!(
            verdict(&no_token, Affected::McpRemote),
            Works::Unknown(vec!["transport.versions".into()])
        );
    }

    #[test]
    fn the_markdown_has_the_verdict_the_clients_table_each_problem_with_its_fix_and_every_check() {
        let r = report(vec![
            NET_DNS.ok("mcp.example.com → 192.0.2.1"),
            MCP_INITIALIZE.ok("HTTP 401: the server asks for sign-in"),
            AUTH_WWW_AUTHENTICATE.error("HTTP 401 without a WWW-Authenticate header"),
            PROBE_REGISTRATION_EXPIRY
                .warning("client_secret_expires_at is 1900000000.5 (a float)")
                .breaking(&[Affected::ClaudeConnectors]),
            PROBE_SIGN_IN.skipped("not asked"),
        ]);
        assert_eq!(
            r.summary,
            Summary {
                ok: 2,
                warnings: 1,
                errors: 1,
                skipped: 1
            }
        );
        let md = render(&r);
        assert!(
            md.starts_with(
                "# `tether doctor` report for https://mcp.example.com/mcp?key=***\n\n**1 error, 1 warning** (2 ok, 1 skipped)"
            ),
            "{md}"
        );
        assert!(md.contains("· probes: `--probe-registration`\n"), "{md}");
        assert!(md.contains("| Claude's connectors (Claude Desktop, claude.ai) | ❌ breaks | `auth.www-authenticate`, `probe.registration-expiry` |"), "{md}");
        assert!(
            md.contains("| Claude Desktop through Tether | ❔ unknown | not checked: `probe.sign-in` |"),
            "{md}"
        );
        assert!(
            md.contains("| Claude Code | ❌ breaks | `auth.www-authenticate` |"),
            "{md}"
        );
        assert!(
            md.contains("| VS Code | ❔ unknown | not checked: `probe.sign-in` |"),
            "{md}"
        );
        assert!(md.contains("\n### Error: 401 carries WWW-Authenticate (`auth.www-authenticate`)\n\n- **Seen:** HTTP 401 without a WWW-Authenticate header\n- **Breaks:** Claude's connectors (Claude Desktop, claude.ai), Claude Code, mcp-remote\n- **Fix:** send WWW-Authenticate"), "{md}");
        assert!(
            md.contains("\n```\nWWW-Authenticate: Bearer resource_metadata="),
            "{md}"
        );
        assert!(md.contains("### Warning: client_secret_expires_at is an integer (`probe.registration-expiry`)"));
        assert!(
            md.contains("- **Breaks:** Claude's connectors (Claude Desktop, claude.ai)\n"),
            "{md}"
        );
        assert!(
            md.contains("| ➖ skipped | A sign-in in the browser completes `probe.sign-in` | not asked |"),
            "{md}"
        );
        assert_eq!(
            md.matches("\n### ").count(),
            2,
            "only warnings and errors get a section"
        );
    }

    #[test]
    fn a_server_s_text_cannot_become_markup() {
        let r = report(vec![MCP_INITIALIZE.error("HTTP 500: <script>alert(1)</script> | a\nb")]);
        let md = render(&r);
        assert!(!md.contains("<script>"), "{md}");
        assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt; \\| a b |"), "{md}");
        assert_eq!(fenced("a ``` b"), "````\na ``` b\n````");
        assert_eq!(fenced("plain"), "```\nplain\n```");
    }

    #[test]
    fn a_clean_report_says_so_and_every_client_works() {
        let r = report(vec![
            NET_DNS.ok("x"),
            MCP_INITIALIZE.ok("HTTP 200: the server answers without sign-in"),
        ]);
        let md = render(&r);
        assert!(md.contains("**all checks passed** (2 ok, 0 skipped)"), "{md}");
        assert_eq!(md.matches("✅ works").count(), 6, "{md}");
        assert!(!md.contains("## Errors and warnings"));
        assert!(!md.contains("*Unknown*"));
    }
}
