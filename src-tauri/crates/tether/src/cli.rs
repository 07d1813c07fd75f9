//! Defines the command line and turns it into calls into the library.
//!
//! Flags follow mcp-remote where they overlap (`--header`, `--header-file`,
//! `--allow-http`, `--transport`, `--debug`, `--silent`, the optional
//! positional callback port, `--static-oauth-client-info`,
//! `--static-oauth-client-metadata`, `--client-metadata-url`, `--resource`,
//! `--auth-timeout`), so a Claude Desktop entry moves from
//! `npx mcp-remote <url> …` to `tether run <url> …` by changing the command.
//! The sign-in commands follow `gh auth`: `login` opens the browser and
//! prints the URL, `status` masks tokens, `logout` revokes.
//! `install`, `uninstall` and `import` edit MCP clients' config files
//! (`tether::clients`); `import` registers each `npx mcp-remote` entry's
//! server through the same code as `add`.
//!
//! Exit codes: 0 for success, 1 for a failure, 2 for a usage error (clap).
//! stdout carries JSON-RPC for `run`, and results for the other commands;
//! messages go to stderr.

use std::ffi::OsString;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use tracing::level_filters::LevelFilter;

use tether::auth::source::Interaction;
use tether::auth::static_token::static_key;
use tether::auth::tokens::TokenSet;
use tether::clients::{self, Candidate, ClientId, Platform};
use tether::config::{self, RunConfig, TransportMode};
use tether::logging::{self, LogOptions};
use tether::paths::Paths;
use tether::profile::{OAuthOverrides, Profile, client_secret_key, secrets_for};
use tether::servers::{self, AuthKind, ServerConfig, Servers};
use tether::store::secrets::Secret;
use tether::store::state::now;

/// The Client ID Metadata Document Tether ships, for self-hosting.
const CLIENT_METADATA: &str = include_str!("../client-metadata.json");

#[derive(Parser)]
#[command(
    name = "tether",
    version,
    about = "Puts remote MCP servers into Claude Desktop: a stdio bridge with OAuth sign-in and tokens in the OS keychain",
    after_help = "Claude Desktop entry (claude_desktop_config.json):\n  \"linear\": { \"command\": \"/path/to/tether\", \"args\": [\"run\", \"linear\"] }\nafter `tether add linear https://mcp.linear.app/mcp` (and `tether login linear`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bridge stdio (as Claude Desktop launches it) to a remote MCP server.
    Run(RunArgs),
    /// Add a server by name, so Claude's entry is just `tether run <name>`.
    Add(AddArgs),
    /// Remove a server: sign out and forget it.
    Remove(NameArg),
    /// Sign in to a server now (opens the browser).
    Login(LoginArgs),
    /// Sign out of a server: revoke its tokens and remove them from the keychain.
    Logout(NameArg),
    /// Show the servers, their sign-in and where tokens are kept (masked).
    Status(StatusArgs),
    /// Print the Client ID Metadata Document, to host it yourself.
    ClientMetadata(ClientMetadataArgs),
    /// Say why a server's connection or sign-in fails, and how to fix it.
    Doctor(DoctorArgs),
    /// Add a server's entry (`tether run <name>`) to MCP clients' configs.
    Install(InstallArgs),
    /// Remove a server's entry from MCP clients' configs.
    Uninstall(UninstallArgs),
    /// Turn the `npx mcp-remote <url>` entries of MCP clients into Tether
    /// entries, moving their tokens into the keychain.
    Import(ImportArgs),
}

/// Where MCP clients' configs are looked for, and the program they run.
#[derive(Args)]
struct ClientsArgs {
    /// The home directory whose client configs are edited (default: $HOME).
    #[arg(long, value_name = "DIR", hide = true)]
    home: Option<PathBuf>,
    /// The tether program the entries run (default: this one).
    #[arg(long, value_name = "PATH", hide = true)]
    command: Option<PathBuf>,
    /// Quit and restart Claude Desktop afterwards, so it loads the change.
    #[arg(long)]
    restart: bool,
}

#[derive(Args)]
struct InstallArgs {
    /// The server's name (as given to `tether add`).
    name: String,
    /// The client to configure: claude-desktop (default), claude-code,
    /// cursor, vscode, windsurf, zed, cline. Repeatable.
    #[arg(long = "client", value_name = "ID", value_parser = parse_client)]
    clients: Vec<ClientId>,
    /// Every client installed on this computer.
    #[arg(long, conflicts_with = "clients")]
    all: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: ClientsArgs,
}

#[derive(Args)]
struct UninstallArgs {
    /// The server's name.
    name: String,
    /// The client to change (default: every client that has the entry). Repeatable.
    #[arg(long = "client", value_name = "ID", value_parser = parse_client)]
    clients: Vec<ClientId>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: ClientsArgs,
}

#[derive(Args)]
struct ImportArgs {
    /// Only list what would be imported.
    #[arg(long)]
    dry_run: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// Import only this entry (`<client>:<name>`, e.g. claude-desktop:linear).
    /// Repeatable; without it, every entry found is imported.
    #[arg(long, value_name = "CLIENT:NAME")]
    pick: Vec<String>,
    #[command(flatten)]
    target: ClientsArgs,
}

fn parse_client(id: &str) -> Result<ClientId, String> {
    ClientId::from_id(id).ok_or_else(|| {
        let ids: Vec<&str> = ClientId::ALL.iter().map(|c| c.id()).collect();
        format!("{id:?} is not a client Tether knows; use one of {}", ids.join(", "))
    })
}

#[derive(Args)]
struct DoctorArgs {
    /// The server's URL, or the name of a server added with `tether add`
    /// (then its token is used for the transport checks, never shown).
    server: String,
    /// Machine-readable output, with a stable id per check.
    #[arg(long)]
    json: bool,
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

#[derive(Args)]
struct RunArgs {
    /// The remote MCP server's URL (https://, or http:// to this computer),
    /// or the name of a server added with `tether add`.
    server: String,

    /// The OAuth callback port (mcp-remote's optional second argument): the
    /// loopback redirect listens exactly there.
    callback_port: Option<u16>,

    /// A header for every request to the server: 'Name: value'. Repeatable.
    /// ${VAR} is replaced from the environment, so secrets can live in the
    /// entry's "env" instead of its "args".
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,

    /// Read headers from a file, one 'Name: value' per line (# comments).
    #[arg(long, value_name = "PATH")]
    header_file: Option<String>,

    /// Allow plain http:// to hosts other than this computer.
    #[arg(long)]
    allow_http: bool,

    /// Which transport to use, and in which order.
    #[arg(long, value_enum)]
    transport: Option<TransportMode>,

    /// Log more (to stderr and the log file).
    #[arg(long)]
    debug: bool,

    /// Log nothing to stderr (the log file is still written).
    #[arg(long)]
    silent: bool,

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
    oauth: OAuthArgs,
}

/// OAuth settings for `run` and `login`.
#[derive(Args, Clone, Default)]
struct OAuthArgs {
    /// A pre-registered OAuth client id.
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,

    /// The environment variable holding the pre-registered client's secret
    /// (secrets never go on the command line).
    #[arg(long, value_name = "VAR")]
    client_secret_env: Option<String>,

    /// mcp-remote's pre-registered client: JSON or @file with "client_id"
    /// and "client_secret"; ${VAR} is expanded, and a secret written
    /// literally on the command line is refused.
    #[arg(long, value_name = "JSON|@FILE")]
    static_oauth_client_info: Option<String>,

    /// Extra client metadata for dynamic registration: JSON or @file.
    #[arg(long, value_name = "JSON|@FILE")]
    static_oauth_client_metadata: Option<String>,

    /// The URL of a Client ID Metadata Document to use as the client id
    /// where the authorization server supports it (`tether client-metadata`
    /// prints one).
    #[arg(long, value_name = "URL")]
    client_metadata_url: Option<String>,

    /// The resource indicator (RFC 8707) to send instead of the discovered one.
    #[arg(long, value_name = "URI")]
    resource: Option<String>,

    /// The scopes to ask for, space-separated, instead of the discovered ones.
    #[arg(long, value_name = "SCOPES")]
    scope: Option<String>,

    /// Seconds a browser sign-in may take.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(10..))]
    auth_timeout: u64,
}

#[derive(Args)]
struct AddArgs {
    /// The name to give it (letters, digits, - and _).
    name: String,
    /// The server's URL.
    url: String,
    /// A static token (Bearer or API key) instead of OAuth: read from stdin,
    /// or typed at a prompt, and kept in the keychain.
    #[arg(long, conflicts_with = "no_auth")]
    bearer: bool,
    /// The header the static token goes in (default Authorization, as "Bearer <token>").
    #[arg(long, value_name = "NAME", requires = "bearer")]
    token_header: Option<String>,
    /// Changing a server that already has its token: keep that token
    /// instead of reading a new one.
    #[arg(long, requires = "bearer")]
    keep_token: bool,
    /// The server needs no authentication.
    #[arg(long)]
    no_auth: bool,
    /// A pre-registered OAuth client id.
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// Read the pre-registered client's secret from stdin or a prompt into the keychain.
    #[arg(long, requires = "client_id", conflicts_with = "client_secret_env")]
    client_secret: bool,
    /// The environment variable that will hold the client's secret at run time.
    #[arg(long, value_name = "VAR", requires = "client_id")]
    client_secret_env: Option<String>,
    /// A Client ID Metadata Document URL for this server.
    #[arg(long, value_name = "URL")]
    client_metadata_url: Option<String>,
    /// Scopes to ask for instead of the discovered ones.
    #[arg(long, value_name = "SCOPES")]
    scope: Option<String>,
    /// The resource indicator to send instead of the discovered one.
    #[arg(long, value_name = "URI")]
    resource: Option<String>,
    /// A fixed callback port for sign-in.
    #[arg(long, value_name = "PORT")]
    callback_port: Option<u16>,
    /// A header for every request ('Name: value', ${VAR} expanded at run time).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    #[arg(long, value_enum)]
    transport: Option<TransportMode>,
    #[arg(long)]
    allow_http: bool,
}

#[derive(Args)]
struct NameArg {
    /// A server name (or URL).
    server: String,
}

#[derive(Args)]
struct LoginArgs {
    /// A server name (or URL).
    server: String,
    /// Do not open a browser: print the URL, then paste the address the
    /// browser ends on (for a browser on another machine).
    #[arg(long, conflicts_with = "device_code")]
    no_browser: bool,
    /// Sign in with a code on another device (RFC 8628), when the server offers it.
    #[arg(long)]
    device_code: bool,
    #[command(flatten)]
    oauth: OAuthArgs,
}

#[derive(Args)]
struct StatusArgs {
    /// Only this server.
    server: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ClientMetadataArgs {
    /// The https URL the document will be served at (its client_id).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse_from(with_run_implied(std::env::args_os()));
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Add(args) => quiet(|| add(args)),
        Command::Remove(args) => quiet(|| remove(args)),
        Command::Login(args) => quiet(|| login(args)),
        Command::Logout(args) => quiet(|| logout(args)),
        Command::Status(args) => status(args),
        Command::ClientMetadata(args) => client_metadata(args),
        Command::Doctor(args) => doctor(args),
        Command::Install(args) => quiet(|| install(args)),
        Command::Uninstall(args) => quiet(|| uninstall(args)),
        Command::Import(args) => quiet(|| import(args)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tether: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Commands a person runs log only warnings, on stderr.
fn quiet(f: impl FnOnce() -> Result<ExitCode>) -> Result<ExitCode> {
    logging::init(&LogOptions {
        stderr: Some(LevelFilter::INFO),
        file: None,
    });
    f()
}

/// `tether https://…` means `tether run https://…`, as `mcp-remote <url>` did.
fn with_run_implied(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.collect();
    if let Some(first) = args.get(1).and_then(|a| a.to_str())
        && (first.starts_with("https://") || first.starts_with("http://"))
    {
        args.insert(1, "run".into());
    }
    args
}

fn paths() -> Result<Paths> {
    Paths::from_env().context("cannot find a home directory for Tether's files; set TETHER_HOME")
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let env = |name: &str| std::env::var(name).ok();
    let paths = paths()?;
    let profile = Profile::resolve(&args.server, &paths)?;
    let url = config::parse_url(profile.url.as_str(), args.allow_http || profile.config.allow_http)?;
    let mut headers = Vec::new();
    for line in &profile.config.headers {
        headers.push(config::parse_header(line, &env)?);
    }
    if let Some(path) = &args.header_file {
        headers.extend(config::parse_header_file(path, &env)?);
    }
    for line in &args.headers {
        headers.push(config::parse_header(line, &env)?);
    }
    let user_sends_authorization = headers.iter().any(|(n, _)| n == reqwest::header::AUTHORIZATION);
    let run_config = RunConfig {
        url,
        headers,
        transport: args.transport.or(profile.config.transport).unwrap_or_default(),
        max_message_size: args.max_message_size,
        request_timeout: Duration::from_secs(args.request_timeout),
        connect_timeout: Duration::from_secs(args.connect_timeout),
        sign_in_wait: Duration::from_secs(args.sign_in_wait),
    };

    // `--debug`, or the log level set in the app (servers.json settings).
    let level = if args.debug || profile.settings.log_level.as_deref() == Some("debug") {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let log_name = if profile.named {
        format!("{}.log", profile.key)
    } else {
        logging::file_name_for(&run_config.url)
    };
    let warning = logging::init(&LogOptions {
        stderr: (!args.silent).then_some(level),
        file: Some((paths.logs.join(log_name), level)),
    });
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
    if !run_config.url.scheme().eq_ignore_ascii_case("https") && !config::is_loopback(&run_config.url) {
        tracing::warn!("plain http to another computer (--allow-http): traffic and tokens can be read on the network");
    }
    let names: Vec<&str> = run_config.headers.iter().map(|(n, _)| n.as_str()).collect();
    if !names.is_empty() {
        tracing::debug!(headers = ?names, "sending headers (values hidden)");
    }
    let mut overrides = oauth_overrides(&args.oauth, &env)?;
    overrides.callback_port = args.callback_port.or(overrides.callback_port);

    let runtime = runtime()?;
    let span = tracing::info_span!("tether", pid = std::process::id());
    let _entered = span.enter();
    let stop = runtime.block_on(async {
        let auth = profile
            .token_source(&overrides, Interaction::Browser, user_sends_authorization)
            .await?;
        let cache = auth.as_ref().map(|_| profile.initialize_cache());
        anyhow::Ok(tether::bridge::run(run_config, auth, cache).await?)
    })?;
    tracing::debug!(?stop, "bridge stopped");
    // A blocking stdin read (on a terminal) may still be pending; exiting the process
    // ends it, where returning would wait on nothing useful.
    std::process::exit(0)
}

fn oauth_overrides(args: &OAuthArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<OAuthOverrides> {
    let mut o = OAuthOverrides {
        client_id: args.client_id.clone(),
        client_secret_env: args.client_secret_env.clone(),
        client_metadata_url: args.client_metadata_url.clone(),
        resource: args.resource.clone(),
        scopes: args.scope.clone(),
        auth_timeout: Duration::from_secs(args.auth_timeout),
        ..Default::default()
    };
    if let Some(v) = &args.client_secret_env {
        o.client_secret = Some(Secret::new(
            env(v).with_context(|| format!("--client-secret-env: {v} is not set"))?,
        ));
    }
    if let Some(info) = &args.static_oauth_client_info {
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
    if let Some(meta) = &args.static_oauth_client_metadata {
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

/// Reads a JSON argument or `@file`, expanding `${VAR}`. Returns whether it
/// came from a file.
fn json_arg(arg: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<(serde_json::Value, bool)> {
    let (text, from_file) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?,
            true,
        ),
        None => (arg.to_owned(), false),
    };
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('}').context("an unclosed ${ in a JSON argument")?;
        let var = &after[..end];
        let value = env(var).with_context(|| format!("${{{var}}} is not set in the environment"))?;
        // The value goes inside a JSON string: escape it as one.
        let quoted = serde_json::to_string(&value)?;
        out.push_str(&quoted[1..quoted.len() - 1]);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    let value = serde_json::from_str(&out).context("not valid JSON")?;
    Ok((value, from_file))
}

fn add(args: AddArgs) -> Result<ExitCode> {
    servers::check_name(&args.name)?;
    let url = config::parse_url(&args.url, args.allow_http)?;
    let paths = paths()?;
    let auth = if args.bearer {
        AuthKind::Bearer
    } else if args.no_auth {
        AuthKind::None
    } else {
        AuthKind::Oauth
    };
    // A malformed server list is refused before any secret is read or stored.
    let existing = Servers::new(&paths.config).load()?.servers.remove(&args.name);
    let token = match (args.bearer, args.keep_token) {
        (true, false) => Some(read_secret(&format!("Token for {}: ", args.name))?),
        (true, true) => {
            // Only a token Tether keeps can be kept.
            if existing.as_ref().is_none_or(|c| c.auth != AuthKind::Bearer) {
                bail!(
                    "{} has no token to keep: it is not a server with a token yet; give the token",
                    args.name
                );
            }
            None
        }
        (false, _) => None,
    };
    let client_secret = match args.client_secret {
        true => Some(read_secret(&format!("Client secret for {}: ", args.name))?),
        false => None,
    };
    let runtime = runtime()?;
    let config = ServerConfig {
        url: url.to_string(),
        auth,
        token_header: args.token_header,
        headers: args.headers,
        client_id: args.client_id,
        client_secret_env: args.client_secret_env,
        client_metadata_url: args.client_metadata_url,
        scopes: args.scope,
        resource: args.resource,
        callback_port: args.callback_port,
        transport: args.transport,
        allow_http: args.allow_http,
    };
    let existed = register(
        &paths,
        &runtime,
        &args.name,
        config,
        token.as_ref(),
        client_secret.as_ref(),
    )?;
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "tether".into());
    eprintln!(
        "{} {} ({})",
        if existed { "Updated" } else { "Added" },
        args.name,
        tether::config::redact_url(&url)
    );
    if args.bearer {
        eprintln!("The token is in the keychain ({}).", secrets_for(&paths).describe());
    }
    eprintln!(
        "Claude Desktop entry (claude_desktop_config.json, \"mcpServers\"), or `tether install {}`:",
        args.name
    );
    let entry = serde_json::json!({ &args.name: { "command": exe, "args": ["run", &args.name] } });
    print(&serde_json::to_string_pretty(&entry)?);
    if auth == AuthKind::Oauth {
        eprintln!(
            "Sign in now with `tether login {}` (or at first use from Claude).",
            args.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Registers a named server, as `tether add` and `tether import` do: its
/// static token and client secret go to the keychain first, then its
/// settings to `servers.json`. Returns whether it existed already.
fn register(
    paths: &Paths,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    config: ServerConfig,
    token: Option<&Secret>,
    client_secret: Option<&Secret>,
) -> Result<bool> {
    servers::check_name(name)?;
    let list = Servers::new(&paths.config);
    let mut file = list.load()?;
    let secrets = secrets_for(paths);
    if let Some(token) = token {
        runtime.block_on(secrets.set(&static_key(name), token))?;
        // The app shows "ready" from this, without reading the keychain.
        let state = tether::store::state::StateDir::new(&paths.state);
        let mut facts = state.server(name)?;
        facts.url = config.url.clone();
        facts.static_token = true;
        state.save_server(name, &facts)?;
    }
    if let Some(secret) = client_secret {
        runtime.block_on(secrets.set(&client_secret_key(name), secret))?;
    }
    let existed = file.servers.insert(name.to_owned(), config).is_some();
    list.save(&file)?;
    Ok(existed)
}

/// Reads a secret from stdin when it is not a terminal, else from a prompt
/// without echo.
fn read_secret(prompt: &str) -> Result<Secret> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).context("cannot read from the terminal")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read stdin")?;
        line
    };
    let value = value.trim().to_owned();
    if value.is_empty() {
        bail!("no secret was given");
    }
    Ok(Secret::new(value))
}

fn remove(args: NameArg) -> Result<ExitCode> {
    let paths = paths()?;
    let profile = Profile::resolve(&args.server, &paths)?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let source = profile.oauth(&OAuthOverrides::default(), Interaction::Never, false)?;
        if let Err(e) = source.logout().await {
            eprintln!("tether: warning: signing out failed ({e}); the server is removed anyway");
        }
        for key in [static_key(&profile.key), client_secret_key(&profile.key)] {
            profile.secrets.delete(&key).await?;
        }
        anyhow::Ok(())
    })?;
    profile.state().forget_server(&profile.key)?;
    if profile.named {
        let list = Servers::new(&paths.config);
        let mut file = list.load()?;
        file.servers.remove(&profile.key);
        list.save(&file)?;
    }
    eprintln!("Removed {}.", profile.label);
    Ok(ExitCode::SUCCESS)
}

fn login(args: LoginArgs) -> Result<ExitCode> {
    let env = |name: &str| std::env::var(name).ok();
    let paths = paths()?;
    let profile = Profile::resolve(&args.server, &paths)?;
    if profile.config.auth != AuthKind::Oauth {
        bail!(
            "{} does not use OAuth (its auth is {:?}); `tether add {} <url> --bearer` changes a static token",
            profile.label,
            profile.config.auth,
            profile.key
        );
    }
    let overrides = oauth_overrides(&args.oauth, &env)?;
    let interaction = if args.no_browser {
        Interaction::PrintUrl
    } else {
        Interaction::Browser
    };
    let runtime = runtime()?;
    runtime.block_on(async {
        let source = profile.oauth(&overrides, interaction, true)?;
        if args.device_code {
            if !source.offers_device_sign_in().await? {
                bail!("{} does not offer device sign-in; use `tether login {} --no-browser`", profile.label, profile.key);
            }
            source
                .device_sign_in(|uri, code, complete| {
                    eprintln!("To sign in to {}, open {uri} on any device and enter the code {code}", profile.label);
                    if let Some(c) = complete {
                        eprintln!("(or open {c})");
                    }
                })
                .await?;
        } else if args.no_browser {
            eprintln!(
                "Open the URL below in a browser. When it ends on a page that does not load (127.0.0.1), copy that page's address and paste it here."
            );
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            std::thread::spawn(move || {
                for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                    if tx.blocking_send(line).is_err() {
                        break;
                    }
                }
            });
            source.login(Some(rx)).await?;
        } else {
            eprintln!("Opening the browser to sign in to {}…", profile.label);
            source.login(None).await?;
        }
        anyhow::Ok(())
    })?;
    eprintln!("Signed in to {}.", profile.label);
    Ok(ExitCode::SUCCESS)
}

fn logout(args: NameArg) -> Result<ExitCode> {
    let paths = paths()?;
    let profile = Profile::resolve(&args.server, &paths)?;
    let runtime = runtime()?;
    let revoked = runtime.block_on(async {
        let source = profile.oauth(&OAuthOverrides::default(), Interaction::Never, true)?;
        anyhow::Ok(source.logout().await?)
    })?;
    if revoked {
        eprintln!(
            "Signed out of {}: the tokens were revoked and removed from the keychain.",
            profile.label
        );
    } else {
        eprintln!(
            "Signed out of {}: the tokens were removed from the keychain (the server offers no revocation).",
            profile.label
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn status(args: StatusArgs) -> Result<ExitCode> {
    let paths = paths()?;
    let file = Servers::new(&paths.config).load()?;
    let names: Vec<String> = match &args.server {
        Some(s) => vec![s.clone()],
        None => {
            // Named servers, then servers used by URL (`tether run https://…`).
            let state = tether::store::state::StateDir::new(&paths.state);
            let mut names: Vec<String> = file.servers.keys().cloned().collect();
            for key in state.server_keys() {
                if key.starts_with("url-")
                    && let Ok(s) = state.server(&key)
                    && !s.url.is_empty()
                {
                    names.push(s.url);
                }
            }
            names
        }
    };
    let runtime = runtime()?;
    let mut rows = Vec::new();
    for name in names {
        let profile = Profile::resolve(&name, &paths)?;
        let state = profile.state();
        let facts = state.server(&profile.key)?;
        let bridge = state.status(&profile.key)?;
        let stored: Option<TokenSet> = match profile.config.auth {
            AuthKind::Oauth if facts.token_serial > 0 || facts.expires_at.is_some() => {
                let source = profile.oauth(&OAuthOverrides::default(), Interaction::Never, false)?;
                runtime.block_on(source.describe_tokens()).unwrap_or_default()
            }
            _ => None,
        };
        let static_token = match profile.config.auth {
            AuthKind::Bearer => runtime
                .block_on(profile.secrets.get(&static_key(&profile.key)))
                .ok()
                .flatten(),
            _ => None,
        };
        let signed_in = match profile.config.auth {
            AuthKind::Oauth => stored
                .as_ref()
                .is_some_and(|t| !t.expires_within(0) || t.refresh_token.is_some()),
            AuthKind::Bearer => static_token.is_some(),
            AuthKind::None => true,
        };
        rows.push(serde_json::json!({
            "name": profile.key,
            "url": tether::config::redact_url(&profile.url),
            "auth": profile.config.auth,
            "signed_in": signed_in,
            "issuer": facts.issuer,
            "client_id": facts.client_id,
            "scopes": stored.as_ref().and_then(|t| t.scope.clone()).or(facts.granted_scopes),
            "expires_at": stored.as_ref().and_then(|t| t.expires_at).or(facts.expires_at),
            "expires_in": stored.as_ref().and_then(TokenSet::remaining),
            "has_refresh_token": stored.as_ref().is_some_and(|t| t.refresh_token.is_some()),
            "access_token": stored.as_ref().map(|t| mask(&t.access_token)).or(static_token.as_ref().map(|t| mask(t.expose()))),
            "stored_in": if stored.is_some() || static_token.is_some() { Some(profile.secrets.describe()) } else { None },
            "bridge": bridge,
        }));
    }
    if args.json {
        print(&serde_json::to_string_pretty(&serde_json::json!({ "servers": rows }))?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        print("No servers yet. Add one with `tether add <name> <url>`.");
    }
    for r in &rows {
        print(&format!(
            "{} ({})",
            r["name"].as_str().unwrap_or(""),
            r["url"].as_str().unwrap_or("")
        ));
        let line = match (r["auth"].as_str(), r["signed_in"].as_bool()) {
            (Some("none"), _) => "  no sign-in needed".to_owned(),
            (Some("bearer"), Some(true)) => format!("  static token {}", r["access_token"].as_str().unwrap_or("")),
            (Some("bearer"), _) => "  static token missing: `tether add <name> <url> --bearer`".to_owned(),
            (_, Some(true)) => {
                let expires = r["expires_in"].as_i64().map_or_else(
                    || "no expiry given".into(),
                    |s| {
                        if s > 0 {
                            format!("expires in {}", human(s))
                        } else {
                            "expired (refreshes on next use)".into()
                        }
                    },
                );
                format!(
                    "  signed in, token {} ({expires})",
                    r["access_token"].as_str().unwrap_or("")
                )
            }
            _ => format!("  not signed in: `tether login {}`", r["name"].as_str().unwrap_or("")),
        };
        print(&line);
        for (label, key) in [
            ("issuer", "issuer"),
            ("client", "client_id"),
            ("scopes", "scopes"),
            ("stored in", "stored_in"),
        ] {
            if let Some(v) = r[key].as_str() {
                print(&format!("  {label}: {v}"));
            }
        }
        if let Some(b) = r["bridge"].as_object() {
            let age = now() - b.get("updated_at").and_then(|v| v.as_i64()).unwrap_or(0);
            print(&format!(
                "  bridge: {} ({} ago)",
                b.get("health").and_then(|v| v.as_str()).unwrap_or("?"),
                human(age)
            ));
            if let Some(e) = b.get("last_error").and_then(|v| v.as_str()) {
                print(&format!("  last error: {e}"));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a command's result on stdout. `run` never calls it: there,
/// stdout is the JSON-RPC channel.
#[allow(clippy::print_stdout)]
fn print(text: &str) {
    println!("{text}");
}

/// Shows the first 4 and last 3 characters, as `gh auth status` does.
fn mask(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    if chars.len() < 12 {
        return "****".into();
    }
    format!(
        "{}…{}",
        chars[..4].iter().collect::<String>(),
        chars[chars.len() - 3..].iter().collect::<String>()
    )
}

fn human(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

fn doctor(args: DoctorArgs) -> Result<ExitCode> {
    let paths = paths()?;
    let runtime = runtime()?;
    let (url, token) = if args.server.starts_with("https://") || args.server.starts_with("http://") {
        (url::Url::parse(&args.server).context("not a URL")?, None)
    } else {
        let profile = Profile::resolve(&args.server, &paths)?;
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
    };
    let mut opts = tether::doctor::Options::new(url);
    opts.probe_registration = args.probe_registration || args.all_probes;
    opts.probe_redirect = args.probe_redirect || args.all_probes;
    opts.probe_refresh = args.probe_refresh || args.all_probes;
    opts.token = token;
    opts.timeout = Duration::from_secs(args.timeout);
    let report = runtime.block_on(tether::doctor::run(&opts));
    if args.json {
        let json = serde_json::json!({ "url": report.url, "summary": report.summary(), "findings": report.findings });
        print(&serde_json::to_string_pretty(&json)?);
    } else {
        print(report.to_text().trim_end());
    }
    Ok(ExitCode::from(report.exit_code()))
}

fn client_metadata(args: ClientMetadataArgs) -> Result<ExitCode> {
    let mut doc: serde_json::Value =
        serde_json::from_str(CLIENT_METADATA).context("the shipped client metadata is not JSON")?;
    if let Some(url) = args.url {
        let u = url::Url::parse(&url).context("--url is not a URL")?;
        if u.scheme() != "https" || u.path().trim_matches('/').is_empty() {
            bail!("the document must be served over https at a URL with a path; its client_id is that URL");
        }
        doc["client_id"] = url.into();
    }
    print(&serde_json::to_string_pretty(&doc)?);
    Ok(ExitCode::SUCCESS)
}

impl ClientsArgs {
    /// The platform whose client configs are edited: `--home`, else `$HOME`.
    fn platform(&self) -> Result<Platform> {
        let home = match &self.home {
            Some(h) => h.clone(),
            None => directories::BaseDirs::new()
                .map(|b| b.home_dir().to_path_buf())
                .context("cannot find the home directory; set HOME")?,
        };
        Ok(Platform::current(&home))
    }

    /// The program the entries run: `--command`, else this executable.
    fn sidecar(&self) -> Result<PathBuf> {
        let path = match &self.command {
            Some(p) => p.clone(),
            None => std::env::current_exe().context("cannot find the path of this tether program")?,
        };
        let path = std::fs::canonicalize(&path).with_context(|| format!("{} does not exist", path.display()))?;
        // Not a transient place (an AppImage mount, a disk image, a temporary folder).
        Ok(clients::program::for_entries(&path, &paths()?.state)?)
    }

    /// Restarts Claude Desktop when asked and when its config changed.
    fn after(&self, claude_changed: bool) -> Result<()> {
        if claude_changed {
            if self.restart {
                clients::restart_claude_desktop()?;
                eprintln!("Restarted Claude Desktop.");
            } else {
                eprintln!(
                    "Quit Claude Desktop (from its tray icon too) and start it again to load the change, or pass --restart."
                );
            }
        }
        Ok(())
    }
}

fn install(args: InstallArgs) -> Result<ExitCode> {
    servers::check_name(&args.name)?;
    let platform = args.target.platform()?;
    let sidecar = args.target.sidecar()?;
    let targets: Vec<ClientId> = if args.all {
        let found: Vec<ClientId> = ClientId::ALL
            .iter()
            .copied()
            .filter(|c| clients::is_installed(*c, &platform))
            .collect();
        if found.is_empty() {
            bail!("no MCP client was found on this computer; name one with --client");
        }
        found
    } else if args.clients.is_empty() {
        vec![ClientId::ClaudeDesktop]
    } else {
        args.clients.clone()
    };
    if let Ok(paths) = paths()
        && let Ok(file) = Servers::new(&paths.config).load()
        && !file.servers.contains_key(&args.name)
    {
        eprintln!(
            "tether: warning: no server is named {0:?} yet; add it with `tether add {0} <url>`",
            args.name
        );
    }
    let (mut installed, mut errors) = (Vec::new(), Vec::new());
    for id in &targets {
        match clients::install(*id, &platform, &args.name, &sidecar) {
            Ok(path) => {
                eprintln!("Added {} to {} ({}).", args.name, id.name(), path.display());
                installed.push(serde_json::json!({ "client": id.id(), "path": path }));
            }
            Err(e) => {
                eprintln!("tether: error: {}: {e}", id.name());
                errors.push(serde_json::json!({ "client": id.id(), "message": e.to_string() }));
            }
        }
    }
    finish_client_change(args.json, "installed", installed, errors, &args.target)
}

/// The end of `install` and `uninstall`: the JSON report, Claude Desktop's
/// restart when it was changed and asked for, the exit status.
fn finish_client_change(
    json: bool,
    key: &str,
    done: Vec<serde_json::Value>,
    errors: Vec<serde_json::Value>,
    target: &ClientsArgs,
) -> Result<ExitCode> {
    let claude = done.iter().any(|r| r["client"] == ClientId::ClaudeDesktop.id());
    if json {
        print(&serde_json::to_string_pretty(
            &serde_json::json!({ key: done, "errors": errors }),
        )?);
    }
    target.after(claude)?;
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn uninstall(args: UninstallArgs) -> Result<ExitCode> {
    let platform = args.target.platform()?;
    let targets: Vec<ClientId> = if args.clients.is_empty() {
        ClientId::ALL
            .iter()
            .copied()
            .filter(|c| clients::tether_entries(*c, &platform).contains(&args.name))
            .collect()
    } else {
        args.clients.clone()
    };
    let (mut removed, mut errors) = (Vec::new(), Vec::new());
    for id in &targets {
        match clients::uninstall(*id, &platform, &args.name) {
            Ok(true) => {
                let path = clients::config_path(*id, &platform).unwrap_or_default();
                eprintln!("Removed {} from {} ({}).", args.name, id.name(), path.display());
                removed.push(serde_json::json!({ "client": id.id(), "path": path }));
            }
            Ok(false) => eprintln!("{} has no entry {:?}.", id.name(), args.name),
            Err(e) => {
                eprintln!("tether: error: {}: {e}", id.name());
                errors.push(serde_json::json!({ "client": id.id(), "message": e.to_string() }));
            }
        }
    }
    if targets.is_empty() {
        eprintln!("No MCP client has an entry {:?}.", args.name);
    }
    finish_client_change(args.json, "removed", removed, errors, &args.target)
}

/// Whether `pick` (`<client>:<name>`) names this candidate (by its entry's
/// name or the server name it gets).
fn picked(pick: &str, c: &Candidate) -> bool {
    pick.split_once(':')
        .is_some_and(|(client, name)| client == c.client.id() && (name == c.name || name == c.server))
}

fn import(args: ImportArgs) -> Result<ExitCode> {
    let platform = args.target.platform()?;
    let found = clients::scan(&platform);
    for problem in &found.problems {
        eprintln!("tether: warning: skipped: {problem}");
    }
    for pick in &args.pick {
        if pick
            .split_once(':')
            .is_none_or(|(c, n)| ClientId::from_id(c).is_none() || n.is_empty())
        {
            bail!("--pick {pick:?} is not of the form <client>:<name>, e.g. claude-desktop:linear");
        }
    }
    let chosen: Vec<&Candidate> = found
        .candidates
        .iter()
        .filter(|c| args.pick.is_empty() || args.pick.iter().any(|p| picked(p, c)))
        .collect();
    if args.dry_run {
        let rows: Vec<serde_json::Value> = chosen
            .iter()
            .map(|c| {
                serde_json::json!({
                    "client": c.client.id(),
                    "file": c.file,
                    "name": c.name,
                    "server": c.server,
                    "url": c.url,
                    "token_header": c.token_header,
                    "has_secret": c.has_secret(),
                    "ignored": c.options.ignored,
                    "problem": c.problem,
                })
            })
            .collect();
        if args.json {
            print(&serde_json::to_string_pretty(&rows)?);
        } else if chosen.is_empty() {
            print("No `npx mcp-remote` entries found.");
        } else {
            for c in &chosen {
                let secret = match (&c.token_header, c.has_secret()) {
                    (Some(h), _) => format!(", its {h} token moves to the keychain"),
                    (None, true) => ", its client secret moves to the keychain".into(),
                    _ => String::new(),
                };
                print(&format!(
                    "{}: {} → tether server {} ({}{secret})",
                    c.client.name(),
                    c.name,
                    c.server,
                    c.url
                ));
                if let Some(p) = &c.problem {
                    print(&format!("  cannot be imported: {p}"));
                }
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let paths = paths()?;
    let sidecar = args.target.sidecar()?;
    let runtime = runtime()?;
    let (mut imported, mut errors): (Vec<String>, Vec<serde_json::Value>) = (Vec::new(), Vec::new());
    let mut claude = false;
    for c in &chosen {
        match import_one(c, &paths, &runtime, &sidecar) {
            Ok(path) => {
                eprintln!(
                    "Imported {} from {} ({}): it now runs `tether run {}`.",
                    c.name,
                    c.client.name(),
                    path.display(),
                    c.server
                );
                for flag in &c.options.ignored {
                    eprintln!(
                        "tether: warning: {}: mcp-remote's {flag} has no Tether equivalent and was dropped",
                        c.name
                    );
                }
                claude |= c.client == ClientId::ClaudeDesktop;
                if !imported.contains(&c.server) {
                    imported.push(c.server.clone());
                }
            }
            Err(e) => {
                eprintln!("tether: error: {} ({}): {e:#}", c.name, c.client.name());
                errors.push(serde_json::json!({ "name": c.name, "message": format!("{e:#}") }));
            }
        }
    }
    for pick in &args.pick {
        if !found.candidates.iter().any(|c| picked(pick, c)) {
            let name = pick.split_once(':').map_or(pick.as_str(), |(_, n)| n);
            let message = format!("no `npx mcp-remote` entry {pick} was found");
            eprintln!("tether: error: {message}");
            errors.push(serde_json::json!({ "name": name, "message": message }));
        }
    }
    if args.json {
        print(&serde_json::to_string_pretty(
            &serde_json::json!({ "imported": imported, "errors": errors }),
        )?);
    } else if chosen.is_empty() && args.pick.is_empty() {
        eprintln!("No `npx mcp-remote` entries found.");
    }
    args.target.after(claude)?;
    // With --json the errors are in the answer, for the app to show.
    Ok(if errors.is_empty() || args.json {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Registers one candidate's server like `tether add` (its secrets into the
/// keychain), then rewrites its entry as Tether's.
fn import_one(c: &Candidate, paths: &Paths, runtime: &tokio::runtime::Runtime, sidecar: &Path) -> Result<PathBuf> {
    if let Some(problem) = &c.problem {
        bail!("{problem}");
    }
    servers::check_name(&c.server)?;
    let url = config::parse_url(&c.url, c.options.allow_http)?;
    if let Some(existing) = Servers::new(&paths.config).load()?.servers.get(&c.server)
        && existing.url != url.as_str()
    {
        bail!(
            "a server named {} already exists with another URL ({}); rename the entry in {} and import again",
            c.server,
            existing.url,
            c.file.display()
        );
    }
    let config = ServerConfig {
        url: url.to_string(),
        auth: if c.token.is_some() {
            AuthKind::Bearer
        } else {
            AuthKind::Oauth
        },
        token_header: c
            .token_header
            .clone()
            .filter(|h| !h.eq_ignore_ascii_case("authorization")),
        headers: c.extra_headers.clone(),
        client_id: c.options.client_id.clone(),
        client_secret_env: None,
        client_metadata_url: None,
        scopes: c.options.scopes.clone(),
        resource: c.options.resource.clone(),
        callback_port: c.options.callback_port,
        transport: c.options.transport,
        allow_http: c.options.allow_http,
    };
    register(
        paths,
        runtime,
        &c.server,
        config,
        c.token.as_ref(),
        c.options.client_secret.as_ref(),
    )?;
    Ok(clients::convert(c, sidecar)?)
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
    fn a_url_as_first_argument_means_run() {
        let args = with_run_implied(
            ["tether", "https://x.example/mcp", "--debug"]
                .map(OsString::from)
                .into_iter(),
        );
        assert_eq!(
            args,
            ["tether", "run", "https://x.example/mcp", "--debug"].map(OsString::from)
        );
        let args = with_run_implied(["tether", "run", "https://x"].map(OsString::from).into_iter());
        assert_eq!(args.len(), 3);
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn mcp_remote_style_arguments_parse() {
        let cli = Cli::try_parse_from([
            "tether",
            "run",
            "https://x.example/sse",
            "3334",
            "--header",
            "A: b",
            "--header",
            "C:d",
            "--transport",
            "sse-only",
            "--debug",
            "--silent",
            "--allow-http",
            "--enable-proxy",
            "--static-oauth-client-metadata",
            "{\"scope\":\"x\"}",
            "--resource",
            "https://x.example/",
            "--auth-timeout",
            "60",
        ])
        .unwrap();
        let Command::Run(a) = cli.command else {
            panic!("run expected")
        };
        assert_eq!(a.callback_port, Some(3334));
        assert_eq!(a.headers, ["A: b", "C:d"]);
        assert_eq!(a.transport, Some(TransportMode::SseOnly));
        assert!(a.debug && a.silent && a.allow_http);
        assert_eq!(a.oauth.auth_timeout, 60);
    }

    #[test]
    fn a_literal_client_secret_on_the_command_line_is_refused() {
        let env = |n: &str| (n == "SECRET").then(|| "s3\"cr3t".to_owned());
        let args = OAuthArgs {
            static_oauth_client_info: Some(r#"{"client_id":"c","client_secret":"plain"}"#.into()),
            auth_timeout: 300,
            ..Default::default()
        };
        let e = oauth_overrides(&args, &env).unwrap_err().to_string();
        assert!(e.contains("every process listing shows it"), "{e}");
        assert!(!e.contains("plain"));
        let args = OAuthArgs {
            static_oauth_client_info: Some(r#"{"client_id":"c","client_secret":"${SECRET}"}"#.into()),
            auth_timeout: 300,
            ..Default::default()
        };
        let o = oauth_overrides(&args, &env).unwrap();
        assert_eq!(o.client_id.as_deref(), Some("c"));
        assert_eq!(o.client_secret.unwrap().expose(), "s3\"cr3t");
    }

    #[test]
    fn install_takes_clients_by_id_and_defaults_to_claude_desktop() {
        let cli =
            Cli::try_parse_from(["tether", "install", "linear", "--client", "zed", "--client", "vscode"]).unwrap();
        let Command::Install(a) = cli.command else {
            panic!("install expected")
        };
        assert_eq!(a.clients, [ClientId::Zed, ClientId::VsCode]);
        let e = Cli::try_parse_from(["tether", "install", "linear", "--client", "emacs"])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not a client Tether knows"), "{e}");
        assert!(Cli::try_parse_from(["tether", "install", "linear", "--all", "--client", "zed"]).is_err());
    }

    #[test]
    fn import_picks_read_client_and_name() {
        let cli = Cli::try_parse_from([
            "tether",
            "import",
            "--dry-run",
            "--json",
            "--pick",
            "claude-desktop:My Docs",
        ])
        .unwrap();
        let Command::Import(a) = cli.command else {
            panic!("import expected")
        };
        assert!(a.dry_run && a.json);
        let platform = Platform::new(clients::Os::Linux, "/nonexistent".into(), []);
        assert!(clients::find_mcp_remote(&platform).is_empty());
        let c = Candidate {
            client: ClientId::ClaudeDesktop,
            file: "/x.json".into(),
            name: "My Docs".into(),
            server: "My-Docs".into(),
            url: "https://d.example/mcp".into(),
            headers: Vec::new(),
            token_header: None,
            token: None,
            extra_headers: Vec::new(),
            secret_env: Vec::new(),
            options: Default::default(),
            problem: None,
        };
        assert!(picked("claude-desktop:My Docs", &c));
        assert!(picked("claude-desktop:My-Docs", &c));
        assert!(!picked("cursor:My Docs", &c));
        assert!(!picked("claude-desktop", &c));
    }

    #[test]
    fn tokens_are_masked() {
        assert_eq!(mask("eyJhbGciOiJSUzI1NiJ9.payload.sig"), "eyJh…sig");
        assert_eq!(mask("short"), "****");
    }
}
