//! `tether doctor`: why a server's connection or sign-in fails.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use tether::auth::source::Interaction;
use tether::doctor::DoctorReport;
use tether::doctor::catalogue;
use tether::profile::{OAuthOverrides, Profile};
use tether::servers::ServerRef;
use url::Url;

use super::messages::{print, print_json, say, warn};
use super::{paths, runtime};

/// How the report is printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Format {
    /// For people: the verdict, then each check.
    Text,
    /// For scripts and the app: stable ids per check.
    Json,
    /// For a vendor's issue tracker: the verdict, the MCP clients it
    /// breaks, each problem with its fix.
    Markdown,
}

#[derive(Args)]
pub(super) struct DoctorArgs {
    /// The server's URL, or the name of a server added with `tether add`
    /// (then its token is used for the transport checks, never shown).
    #[arg(required_unless_present = "list_checks")]
    server: Option<String>,
    /// Machine-readable output, with a stable id per check (`--format json`).
    #[arg(long, conflicts_with = "format")]
    pub(super) json: bool,
    /// How to print the report.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Print the catalogue of checks (id, title, the clients each can
    /// break, the fix) and exit.
    #[arg(long, conflicts_with_all = ["server", "all_probes", "probe_sign_in"])]
    list_checks: bool,
    /// Register a throwaway client (creates a client on the server).
    #[arg(long)]
    probe_registration: bool,
    /// Try loopback redirects on another port and with localhost (registers
    /// throwaway clients first).
    #[arg(long)]
    probe_redirect: bool,
    /// Send a bogus refresh token to the token endpoint.
    #[arg(long)]
    probe_refresh: bool,
    /// Sign in for real in your browser ($BROWSER honoured) as a throwaway
    /// client, refresh once, then revoke: checks the token endpoint's
    /// answers. Nothing obtained is stored.
    #[arg(long)]
    probe_sign_in: bool,
    /// All of the probes above.
    #[arg(long)]
    all_probes: bool,
    /// Seconds to wait for each request.
    #[arg(long, value_name = "SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Seconds the sign-in probe waits for the browser.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    auth_timeout: u64,
}

impl DoctorArgs {
    fn format(&self) -> Format {
        match (self.json, self.format) {
            (true, _) => Format::Json,
            (false, Some(f)) => f,
            (false, None) => Format::Text,
        }
    }

    /// Whether errors are printed as JSON too.
    pub(super) fn is_json(&self) -> bool {
        self.format() == Format::Json
    }
}

pub(super) fn doctor(args: DoctorArgs) -> Result<ExitCode> {
    if args.list_checks {
        match args.format() {
            Format::Json => print_json(&catalogue::CATALOGUE)?,
            _ => print(catalogue::to_text().trim_end()),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(server) = args.server.as_deref() else {
        bail!("name a server or a URL");
    };
    let paths = paths()?;
    let runtime = runtime()?;
    let (url, token) = match ServerRef::parse(server).context("not a URL or a server name")? {
        ServerRef::Url(url) => (url, None),
        ServerRef::Name(name) => {
            let profile = Profile::resolve(&name, &paths)?;
            // A signed-in server's token lets doctor check the transport too.
            let token = runtime.block_on(async {
                let source = profile
                    .oauth(&OAuthOverrides::default(), Interaction::Never, false)
                    .ok()?;
                source
                    .describe_tokens()
                    .await
                    .ok()
                    .flatten()
                    .map(|t| tether::auth::AccessToken::new(t.access_token))
            });
            (profile.url, token)
        }
    };
    let mut opts = tether::doctor::Options::new(url);
    opts.probe_registration = args.probe_registration || args.all_probes;
    opts.probe_redirect = args.probe_redirect || args.all_probes;
    opts.probe_refresh = args.probe_refresh || args.all_probes;
    opts.probe_sign_in = args.probe_sign_in || args.all_probes;
    opts.token = token;
    opts.timeout = Duration::from_secs(args.timeout);
    opts.auth_timeout = Duration::from_secs(args.auth_timeout);
    opts.on_sign_in = Some(show_sign_in);
    let report = runtime.block_on(tether::doctor::run(&opts));
    let code = report.exit_code();
    match args.format() {
        Format::Json => print_json(&DoctorReport::from(report))?,
        Format::Markdown => print(report.to_markdown().trim_end()),
        Format::Text => print(report.to_text().trim_end()),
    }
    Ok(ExitCode::from(code))
}

/// Where the sign-in probe waits, on stderr (stdout holds the report).
fn show_sign_in(url: &Url, failed: Option<&str>) {
    match failed {
        None => say(format!(
            "tether doctor: signing in with a throwaway client in your browser; if it did not open, visit:\n  {url}"
        )),
        Some(why) => warn(format!(
            "{why}; to sign in with a throwaway client, open this URL in a browser:\n  {url}"
        )),
    }
}
