//! `tether add`, `remove`, `login`, `logout` and `client-metadata`: a
//! server's identity and sign-in, as `gh auth` does it; and the hidden
//! `sign-in-broker`, the detached process a bridge starts to run a browser
//! sign-in that outlives it.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use tether::auth::source::Interaction;
use tether::contract::Done;
use tether::logging::{self, LogOptions};
use tether::manage::{self, Registration, TokenChange};
use tether::profile::{OAuthOverrides, Profile, secrets_for};
use tether::servers::{AuthKind, ServerConfig};
use tether::store::secrets::Secret;
use tether::store::sign_in::Starter;

use super::messages::{print, print_json, say, warn};
use super::run::OAuthArgs;
use super::{ConnectionArgs, SettingsArgs, env, paths, runtime};

/// The Client ID Metadata Document Tether ships, for self-hosting.
const CLIENT_METADATA: &str = include_str!("../../client-metadata.json");

#[derive(Args)]
pub(super) struct AddArgs {
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
    /// Read the pre-registered client's secret from stdin or a prompt into the keychain.
    #[arg(long, requires = "client_id", conflicts_with = "client_secret_env")]
    client_secret: bool,
    /// A fixed callback port for sign-in.
    #[arg(long, value_name = "PORT")]
    callback_port: Option<u16>,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Machine-readable output.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Args)]
pub(super) struct NameArgs {
    /// A server name (or URL).
    server: String,
    /// Machine-readable output.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Args)]
pub(super) struct LoginArgs {
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
    /// Machine-readable output.
    #[arg(long)]
    pub(super) json: bool,
}

/// `tether sign-in-broker`: not for people; a bridge starts it, detached.
#[derive(Args)]
pub(super) struct BrokerArgs {
    /// The server, as the bridge was given it (a name or a URL).
    #[arg(long)]
    server: String,
    /// Who asked: automatic (a client's request), tool (the sign-in tool).
    #[arg(long, value_parser = parse_starter)]
    by: Starter,
    /// The token serial the bridge saw: a newer token means another process
    /// signed in meanwhile, and nothing is done.
    #[arg(long, default_value_t = 0)]
    seen: u64,
    /// The server's WWW-Authenticate challenge the bridge met.
    #[arg(long)]
    challenge: Option<String>,
    /// Scopes a step-up asked for, space-separated.
    #[arg(long)]
    step_up: Option<String>,
    /// The bridge's fixed callback port.
    #[arg(long)]
    callback_port: Option<u16>,
    #[command(flatten)]
    oauth: OAuthArgs,
}

fn parse_starter(s: &str) -> Result<Starter, String> {
    Starter::parse(s).ok_or_else(|| format!("{s:?} is not automatic, tool or person"))
}

#[derive(Args)]
pub(super) struct ClientMetadataArgs {
    /// The https URL the document will be served at (its client_id).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
}

/// Prints what a `--json` command did.
fn done(json: bool, server: &str, message: String) -> Result<ExitCode> {
    if json {
        print_json(&Done {
            server: server.to_owned(),
            message: message.clone(),
        })?;
    }
    say(message);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn add(args: AddArgs) -> Result<ExitCode> {
    let url = tether::config::parse_url(&args.url, args.connection.allow_http)?;
    if args.settings.client_secret_env.is_some() && args.settings.client_id.is_none() {
        bail!("--client-secret-env goes with --client-id (the pre-registered client whose secret it holds)");
    }
    let paths = paths()?;
    // A malformed server list is refused before any secret is read or stored.
    let existing = manage::register::existing(&paths, &args.name)?;
    let auth = if args.bearer {
        AuthKind::Bearer
    } else if args.no_auth {
        AuthKind::None
    } else {
        AuthKind::Oauth
    };
    let token = match (args.bearer, args.keep_token) {
        (true, false) => Some(TokenChange::Replace(read_secret(&format!(
            "Token for {}: ",
            args.name
        ))?)),
        (true, true) => {
            // Only a token Tether keeps can be kept.
            manage::register::check_keep_token(&args.name, existing.as_ref())?;
            Some(TokenChange::Keep)
        }
        (false, _) => None,
    };
    let client_secret = match args.client_secret {
        true => Some(read_secret(&format!("Client secret for {}: ", args.name))?),
        false => None,
    };
    let registration = Registration {
        name: args.name.clone(),
        config: ServerConfig {
            url: url.to_string(),
            auth,
            token_header: args.token_header,
            headers: args.connection.headers,
            client_id: args.settings.client_id,
            client_secret_env: args.settings.client_secret_env,
            client_metadata_url: args.settings.client_metadata_url,
            scopes: args.settings.scope,
            resource: args.settings.resource,
            callback_port: args.callback_port,
            transport: args.connection.transport,
            allow_http: args.connection.allow_http,
        },
        token,
        client_secret,
    };
    let existed = runtime()?.block_on(manage::register(&paths, &registration))?;
    let message = format!(
        "{} {} ({})",
        if existed { "Updated" } else { "Added" },
        args.name,
        tether::config::redact_url(&url)
    );
    if args.json {
        return done(true, &args.name, message);
    }
    say(message);
    if args.bearer {
        say(format!(
            "The token is in the keychain ({}).",
            secrets_for(&paths).describe()
        ));
    }
    // The entry names this program, where it will stay (`clients::program`).
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .unwrap_or_else(|_| "tether".into());
    match tether::clients::program::for_entries(&exe, &paths.state) {
        Ok(program) => {
            say(format!(
                "Claude Desktop entry (claude_desktop_config.json, \"mcpServers\"), or `tether install {}`:",
                args.name
            ));
            print(tether::clients::entry_json(&args.name, &program));
        }
        Err(e) => warn(format!("no Claude Desktop entry is printed: {e}")),
    }
    if auth == AuthKind::Oauth {
        say(format!(
            "Sign in now with `tether login {}` (or at first use from Claude).",
            args.name
        ));
    }
    Ok(ExitCode::SUCCESS)
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

pub(super) fn remove(args: NameArgs) -> Result<ExitCode> {
    let paths = paths()?;
    let profile = Profile::resolve(&args.server, &paths)?;
    let warning = runtime()?.block_on(manage::remove(&paths, &profile))?;
    if let Some(w) = warning {
        warn(format!("signing out failed ({w}); the server is removed anyway"));
    }
    done(args.json, &profile.key, format!("Removed {}.", profile.label))
}

pub(super) fn login(args: LoginArgs) -> Result<ExitCode> {
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
    let overrides = args.oauth.overrides(&env)?;
    let interaction = if args.no_browser {
        Interaction::PrintUrl
    } else {
        Interaction::Browser
    };
    runtime()?.block_on(async {
        let source = profile.oauth(&overrides, interaction, true)?;
        // A sign-in a person starts: ask the server for its challenge, as a
        // 401 would have given it (its scopes and metadata URL).
        source.set_challenge(tether::probe::challenge(&profile.url).await);
        if args.device_code {
            if !source.offers_device_sign_in().await? {
                bail!("{} does not offer device sign-in; use `tether login {} --no-browser`", profile.label, profile.key);
            }
            source
                .device_sign_in(|uri, code, complete| {
                    say(format!(
                        "To sign in to {}, open {uri} on any device and enter the code {code}",
                        profile.label
                    ));
                    if let Some(c) = complete {
                        say(format!("(or open {c})"));
                    }
                })
                .await?;
        } else if args.no_browser {
            say("Open the URL below in a browser. When it ends on a page that does not load (127.0.0.1), copy that page's address and paste it here.");
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
            say(format!("Opening the browser to sign in to {}…", profile.label));
            source.login(None).await?;
        }
        anyhow::Ok(())
    })?;
    done(args.json, &profile.key, format!("Signed in to {}.", profile.label))
}

/// Runs one sign-in in the browser as its broker, logging to the server's
/// log file only (nobody reads its stderr), and exits when it ends.
pub(super) fn broker(args: BrokerArgs) -> Result<ExitCode> {
    let paths = paths()?;
    let profile = Profile::resolve(&args.server, &paths)?;
    let level = profile.log_level(false).filter();
    logging::init(&LogOptions {
        stderr: None,
        file: Some((profile.log_file(), level)),
    });
    let span = tracing::info_span!("sign-in", pid = std::process::id());
    let _entered = span.enter();
    let mut overrides = args.oauth.overrides(&env)?;
    overrides.callback_port = args.callback_port.or(overrides.callback_port);
    let result = runtime()?.block_on(async {
        let source = profile.oauth_source(&overrides, Interaction::Browser).await?;
        match args.challenge.as_deref() {
            Some(c) => source.set_challenge(tether::auth::challenge::parse([c])),
            None => source.set_challenge(tether::probe::challenge(&profile.url).await),
        }
        if let Some(scopes) = &args.step_up {
            let scopes: Vec<String> = scopes.split_ascii_whitespace().map(str::to_owned).collect();
            source.ask_for_scopes(&scopes);
        }
        anyhow::Ok(source.run_broker(args.by, args.seen, None).await?)
    });
    match result {
        Ok(end) => tracing::info!(?end, "the sign-in is over"),
        Err(e) => tracing::warn!("the sign-in ended without a token: {e:#}"),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn logout(args: NameArgs) -> Result<ExitCode> {
    let paths = paths()?;
    let profile = Profile::resolve(&args.server, &paths)?;
    let revoked = runtime()?.block_on(async {
        let source = profile.oauth(&OAuthOverrides::default(), Interaction::Never, true)?;
        anyhow::Ok(source.logout().await?)
    })?;
    let message = if revoked {
        format!(
            "Signed out of {}: the tokens were revoked and removed from the keychain.",
            profile.label
        )
    } else {
        format!(
            "Signed out of {}: the tokens were removed from the keychain (the server offers no revocation).",
            profile.label
        )
    };
    done(args.json, &profile.key, message)
}

pub(super) fn client_metadata(args: ClientMetadataArgs) -> Result<ExitCode> {
    let mut doc: serde_json::Value =
        serde_json::from_str(CLIENT_METADATA).context("the shipped client metadata is not JSON")?;
    if let Some(url) = args.url {
        tether::auth::registration::check_metadata_url(&url)?;
        doc["client_id"] = url.into();
    }
    print_json(&doc)?;
    Ok(ExitCode::SUCCESS)
}
