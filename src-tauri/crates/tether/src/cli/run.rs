//! `tether run`: the bridge Claude Desktop launches.
//!
//! Its flags are read once into a [`RunPlan`] (ripgrep's low-level
//! arguments turned into high-level ones): the server resolved, its
//! settings merged with the command line's (`Profile::run_config`), the
//! OAuth overrides, the log file and level. Then the plan runs.

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use tether::auth::source::{Broker, Interaction};
use tether::config::{self, ProtocolMode, RunConfig};
use tether::logging::{self, LogOptions};
use tether::profile::{OAuthOverrides, Profile, RunSettings};
use tether::store::secrets::Secret;

use super::{ConnectionArgs, SettingsArgs, env, paths, runtime};

#[derive(Args)]
pub(super) struct RunArgs {
    /// The remote MCP server's URL (https://, or http:// to this computer),
    /// or the name of a server added with `tether add`.
    server: String,

    /// The OAuth callback port (mcp-remote's optional second argument): the
    /// loopback redirect listens exactly there.
    pub(super) callback_port: Option<u16>,

    #[command(flatten)]
    pub(super) connection: ConnectionArgs,

    /// Which MCP era to speak: auto (the 2025 handshake first; a server of
    /// the stateless 2026-07-28 revision is translated for), 2025 or 2026.
    #[arg(long, value_enum, default_value = "auto")]
    protocol: ProtocolMode,

    /// Read headers from a file, one 'Name: value' per line (# comments).
    #[arg(long, value_name = "PATH")]
    header_file: Option<String>,

    /// Log more (to stderr and the log file).
    #[arg(long)]
    pub(super) debug: bool,

    /// Log nothing to stderr (the log file is still written).
    #[arg(long)]
    pub(super) silent: bool,

    /// The largest message accepted in either direction (e.g. 64MiB, 500KB).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    max_message_size: usize,

    /// Seconds a request may wait for any sign of life from the server.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout: u64,

    /// Seconds to wait for a connection to the server.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    connect_timeout: u64,

    /// Seconds a first sign-in may keep `initialize` waiting before Tether
    /// answers it itself and offers a sign-in tool until you are done
    /// (Claude Desktop gives up after about 60 s).
    #[arg(long, value_name = "SECS", default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..))]
    sign_in_wait: u64,

    /// Accepted for mcp-remote compatibility: Tether always honours
    /// HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
    #[arg(long, hide = true)]
    enable_proxy: bool,

    #[command(flatten)]
    pub(super) oauth: OAuthArgs,
}

/// OAuth settings for `run` and `login`.
#[derive(Args, Clone, Default)]
pub(super) struct OAuthArgs {
    #[command(flatten)]
    pub(super) settings: SettingsArgs,

    /// mcp-remote's pre-registered client: JSON or @file with "client_id"
    /// and "client_secret"; ${VAR} is expanded, and a secret written
    /// literally on the command line is refused.
    #[arg(long, value_name = "JSON|@FILE")]
    static_oauth_client_info: Option<String>,

    /// Extra client metadata for dynamic registration: JSON or @file.
    #[arg(long, value_name = "JSON|@FILE")]
    static_oauth_client_metadata: Option<String>,

    /// Seconds a browser sign-in may take.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(10..))]
    pub(super) auth_timeout: u64,
}

impl OAuthArgs {
    /// These flags as arguments again, for the sign-in broker a bridge
    /// starts (values that name secrets name them, never hold them: a
    /// literal client secret was refused already).
    pub(super) fn argv(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut flag = |name: &str, value: Option<&String>| {
            if let Some(v) = value {
                a.push(format!("--{name}={v}").into());
            }
        };
        let s = &self.settings;
        flag("client-id", s.client_id.as_ref());
        flag("client-secret-env", s.client_secret_env.as_ref());
        flag("client-metadata-url", s.client_metadata_url.as_ref());
        flag("resource", s.resource.as_ref());
        flag("scope", s.scope.as_ref());
        flag("static-oauth-client-info", self.static_oauth_client_info.as_ref());
        flag(
            "static-oauth-client-metadata",
            self.static_oauth_client_metadata.as_ref(),
        );
        a.push(format!("--auth-timeout={}", self.auth_timeout).into());
        a
    }

    /// The overrides these flags make, secrets read from the environment
    /// (or a file), never from the command line.
    pub(super) fn overrides(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<OAuthOverrides> {
        let s = &self.settings;
        let mut o = OAuthOverrides {
            client_id: s.client_id.clone(),
            client_secret_env: s.client_secret_env.clone(),
            client_metadata_url: s.client_metadata_url.clone(),
            resource: s.resource.clone(),
            scopes: s.scope.clone(),
            auth_timeout: Duration::from_secs(self.auth_timeout),
            ..Default::default()
        };
        if let Some(v) = &s.client_secret_env {
            o.client_secret = Some(Secret::new(
                env(v).with_context(|| format!("--client-secret-env: {v} is not set"))?,
            ));
        }
        if let Some(info) = &self.static_oauth_client_info {
            let (value, from_file) = json_arg(info, env)?;
            let id = value
                .get("client_id")
                .and_then(|v| v.as_str())
                .context("--static-oauth-client-info needs a \"client_id\"")?;
            o.client_id = Some(id.to_owned());
            if let Some(secret) = value.get("client_secret").and_then(|v| v.as_str()) {
                if !from_file && !info.contains("${") {
                    bail!(
                        "--static-oauth-client-info: the client secret is written on the command line, where every process listing shows it; \
                         write \"client_secret\": \"${{VAR}}\" and set VAR in the environment, or use @file"
                    );
                }
                o.client_secret = Some(Secret::new(secret));
            }
        }
        if let Some(meta) = &self.static_oauth_client_metadata {
            let (value, _) = json_arg(meta, env)?;
            o.client_metadata = Some(
                value
                    .as_object()
                    .cloned()
                    .context("--static-oauth-client-metadata must be a JSON object")?,
            );
        }
        Ok(o)
    }
}

/// Reads a JSON argument or `@file`, expanding `${VAR}` (as a JSON string's
/// contents). Returns whether it came from a file.
fn json_arg(arg: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<(serde_json::Value, bool)> {
    let (text, from_file) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?,
            true,
        ),
        None => (arg.to_owned(), false),
    };
    // The value goes inside a JSON string: escape it as one.
    let expanded = config::expand_vars(&text, |name| {
        let quoted = serde_json::to_string(&env(name)?).ok()?;
        Some(quoted[1..quoted.len() - 1].to_owned())
    });
    if let Some(var) = expanded.missing.first() {
        bail!("${{{var}}} is not set in the environment");
    }
    let value = serde_json::from_str(&expanded.text).context("not valid JSON")?;
    Ok((value, from_file))
}

/// Everything `tether run` will do, decided before it starts.
pub(super) struct RunPlan {
    profile: Profile,
    config: RunConfig,
    overrides: OAuthOverrides,
    log: LogOptions,
    /// The user sends their own `Authorization`: a static token, so no
    /// OAuth behind their back (mcp-remote #17).
    user_sends_authorization: bool,
}

impl RunPlan {
    /// Resolves the server and merges its settings with the flags.
    pub(super) fn new(args: RunArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let paths = paths()?;
        let profile = Profile::resolve(&args.server, &paths)?;
        let broker = broker_for(&args.server, args.callback_port, &args.oauth);
        let settings = RunSettings {
            headers: args.connection.headers,
            header_file: args.header_file,
            transport: args.connection.transport,
            protocol: args.protocol,
            allow_http: args.connection.allow_http,
            max_message_size: args.max_message_size,
            request_timeout: Duration::from_secs(args.request_timeout),
            connect_timeout: Duration::from_secs(args.connect_timeout),
            sign_in_wait: Duration::from_secs(args.sign_in_wait),
        };
        let config = profile.run_config(&settings, env)?;
        let user_sends_authorization = config.headers.iter().any(|(n, _)| n == reqwest::header::AUTHORIZATION);
        let mut overrides = args.oauth.overrides(env)?;
        overrides.callback_port = args.callback_port.or(overrides.callback_port);
        overrides.broker = broker;
        let level = profile.log_level(args.debug).filter();
        let log = LogOptions {
            stderr: (!args.silent).then_some(level),
            file: Some((profile.log_file(), level)),
        };
        Ok(Self {
            profile,
            config,
            overrides,
            log,
            user_sends_authorization,
        })
    }
}

pub(super) fn run(args: RunArgs) -> Result<ExitCode> {
    let plan = RunPlan::new(args, &env)?;
    if let Some(w) = logging::init(&plan.log) {
        tracing::warn!("{w}");
    }
    let url = &plan.config.url;
    if !url.scheme().eq_ignore_ascii_case("https") && !config::is_loopback(url) {
        tracing::warn!("plain http to another computer (--allow-http): traffic and tokens can be read on the network");
    }
    let names: Vec<&str> = plan.config.headers.iter().map(|(n, _)| n.as_str()).collect();
    if !names.is_empty() {
        tracing::debug!(headers = ?names, "sending headers (values hidden)");
    }
    let runtime = runtime()?;
    let span = tracing::info_span!("tether", pid = std::process::id());
    let _entered = span.enter();
    let stop = runtime.block_on(async {
        let auth = plan
            .profile
            .token_source(&plan.overrides, Interaction::Browser, plan.user_sends_authorization)
            .await?;
        let cache = auth.as_ref().map(|_| plan.profile.initialize_cache());
        let era = Some(plan.profile.era_memory());
        anyhow::Ok(tether::bridge::run(plan.config, auth, cache, era).await?)
    })?;
    tracing::debug!(?stop, "bridge stopped");
    // A blocking stdin read (on a terminal) may still be pending; exiting the process
    // ends it, where returning would wait on nothing useful.
    std::process::exit(0)
}

/// The sign-in broker a bridge starts: this program, `sign-in-broker`, the
/// server as the bridge was given it and its OAuth flags. A bridge that
/// cannot name its own program signs in itself.
fn broker_for(server: &str, callback_port: Option<u16>, oauth: &OAuthArgs) -> Broker {
    let Ok(program) = std::env::current_exe() else {
        return Broker::InProcess;
    };
    // `--server=`: one argument, so a name can never be read as a flag.
    let mut server_arg = OsString::from("--server=");
    server_arg.push(server);
    let mut args: Vec<OsString> = vec!["sign-in-broker".into(), server_arg];
    if let Some(p) = callback_port {
        args.push(format!("--callback-port={p}").into());
    }
    args.extend(oauth.argv());
    Broker::Detached { program, args }
}

/// Parses sizes such as `20MiB`, `500KB`, `1048576`.
fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("{text:?} is not a size (try 64MiB)"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use KiB, MiB, KB or MB)")),
    };
    n.checked_mul(mult)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("{text:?} is not a usable size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("500KB"), Ok(500_000));
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
    }

    #[test]
    fn a_literal_client_secret_on_the_command_line_is_refused() {
        let env = |n: &str| (n == "SECRET").then(|| "s3\"cr3t".to_owned());
        let args = OAuthArgs {
            static_oauth_client_info: Some(r#"{"client_id":"c","client_secret":"plain"}"#.into()),
            auth_timeout: 300,
            ..Default::default()
        };
        let e = args.overrides(&env).unwrap_err().to_string();
        assert!(e.contains("every process listing shows it"), "{e}");
        assert!(!e.contains("plain"));
        let args = OAuthArgs {
            static_oauth_client_info: Some(r#"{"client_id":"c","client_secret":"${SECRET}"}"#.into()),
            auth_timeout: 300,
            ..Default::default()
        };
        let o = args.overrides(&env).unwrap();
        assert_eq!(o.client_id.as_deref(), Some("c"));
        assert_eq!(o.client_secret.unwrap().expose(), "s3\"cr3t");
    }

    #[test]
    fn a_json_argument_naming_an_unset_variable_is_refused_by_name() {
        let env = |_: &str| None;
        let e = json_arg(r#"{"client_id":"${NOPE}"}"#, &env).unwrap_err().to_string();
        assert_eq!(e, "${NOPE} is not set in the environment");
    }
}
