//! `tether status`: each server's sign-in, tokens masked.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use tether::contract::StatusReport;
use tether::manage;
use tether::profile::Profile;

use super::messages::{print, print_json};
use super::{paths, runtime};

#[derive(Args)]
pub(super) struct StatusArgs {
    /// Only this server.
    server: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub(super) json: bool,
}

pub(super) fn status(args: StatusArgs) -> Result<ExitCode> {
    let paths = paths()?;
    let runtime = runtime()?;
    let mut servers = Vec::new();
    for name in manage::status_targets(&paths, args.server.as_deref())? {
        let profile = Profile::resolve(&name, &paths)?;
        servers.push(runtime.block_on(manage::server_status(&profile))?);
    }
    if args.json {
        print_json(&StatusReport { servers })?;
        return Ok(ExitCode::SUCCESS);
    }
    if servers.is_empty() {
        print("No servers yet. Add one with `tether add <name> <url>`.");
    }
    for s in &servers {
        print(s.to_string().trim_end());
    }
    Ok(ExitCode::SUCCESS)
}
