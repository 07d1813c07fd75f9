//! `tether doctor`: why a server's connection or sign-in fails.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use tether::auth::source::Interaction;
use tether::doctor::DoctorReport;
use tether::profile::{OAuthOverrides, Profile};
use tether::servers::ServerRef;

use super::messages::{print, print_json};
use super::{paths, runtime};

#[derive(Args)]
pub(super) struct DoctorArgs {
    /// The server's URL, or the name of a server added with `tether add`
    /// (then its token is used for the transport checks, never shown).
    server: String,
    /// Machine-readable output, with a stable id per check.
    #[arg(long)]
    pub(super) json: bool,
    /// Register a throwaway client (creates a client on the server).
    #[arg(long)]
    probe_registration: bool,
    /// Try loopback redirects on another port and with localhost (registers
    /// a throwaway client first).
    #[arg(long)]
    probe_redirect: bool,
    /// Send a bogus refresh token to the token endpoint.
    #[arg(long)]
    probe_refresh: bool,
    /// All of the probes above.
    #[arg(long)]
    all_probes: bool,
    /// Seconds to wait for each request.
    #[arg(long, value_name = "SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

pub(super) fn doctor(args: DoctorArgs) -> Result<ExitCode> {
    let paths = paths()?;
    let runtime = runtime()?;
    let (url, token) = match ServerRef::parse(&args.server).context("not a URL or a server name")? {
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
    opts.token = token;
    opts.timeout = Duration::from_secs(args.timeout);
    let report = runtime.block_on(tether::doctor::run(&opts));
    let code = report.exit_code();
    if args.json {
        print_json(&DoctorReport::from(report))?;
    } else {
        print(report.to_text().trim_end());
    }
    Ok(ExitCode::from(code))
}
