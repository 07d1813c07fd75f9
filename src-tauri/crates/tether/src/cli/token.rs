//! `tether token`: a fresh access token, for scripts and for MCP clients
//! that speak HTTP themselves (Claude Code's `headersHelper` runs `tether
//! token <name> --header=json` before it connects).
//!
//! The token comes from the keychain; one near its refresh time is
//! refreshed first, under the server's lock, so bridges, this command and
//! the app spend each refresh token once. The refresh token is never
//! printed, and no browser opens unless `--sign-in` is given: without it, a
//! server that needs a sign-in is an error that says how to sign in.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use tether::auth::TokenHeader;
use tether::auth::source::Interaction;
use tether::logging::{self, LogOptions};
use tether::profile::{OAuthOverrides, Profile};
use tether::servers::AuthKind;
use tracing::level_filters::LevelFilter;

use super::messages::{print, say};
use super::{env, paths, runtime};

#[derive(Args)]
pub(super) struct TokenArgs {
    /// A server name (or URL).
    server: String,
    /// Print the header that carries the token instead of the token alone:
    /// `line` (the default) prints `Authorization: Bearer <token>`; `json`
    /// prints the server's headers as a JSON object, as Claude Code's
    /// `headersHelper` wants them.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "line"
    )]
    header: Option<HeaderFormat>,
    /// Sign in with the browser when no token can be had without it.
    #[arg(long)]
    sign_in: bool,
}

/// How `--header` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum HeaderFormat {
    /// `Authorization: Bearer <token>`.
    Line,
    /// `{"Authorization": "Bearer <token>", …}`, with the server's other
    /// headers.
    Json,
}

pub(super) fn token(args: TokenArgs) -> Result<ExitCode> {
    // Warnings only: a headers helper's stderr is read by people when it fails.
    logging::init(&LogOptions {
        stderr: Some(LevelFilter::WARN),
        file: None,
    });
    let paths = paths()?;
    let profile = Profile::resolve(&args.server, &paths)?;
    let (token, header) = runtime()?.block_on(fetch(&profile, args.sign_in))?;
    let (name, value) = match header {
        TokenHeader::Bearer => ("Authorization".to_owned(), format!("Bearer {token}")),
        TokenHeader::Named(n) => (n.as_str().to_owned(), token),
    };
    match args.header {
        None => print(value.strip_prefix("Bearer ").unwrap_or(&value)),
        Some(HeaderFormat::Line) => print(format!("{name}: {value}")),
        Some(HeaderFormat::Json) => {
            let mut headers = serde_json::Map::new();
            // The server's own headers (`tether add --header`) go too: a
            // client that talks to it directly must send them.
            for line in &profile.config.headers {
                let (n, v) = tether::config::parse_header(line, &env)?;
                let v = v.to_str().context("a header value that is not text")?.to_owned();
                headers.insert(n.as_str().to_owned(), v.into());
            }
            headers.insert(name, value.into());
            print(serde_json::Value::Object(headers));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The token to print and the header it goes in.
async fn fetch(profile: &Profile, sign_in: bool) -> Result<(String, TokenHeader)> {
    match profile.config.auth {
        AuthKind::None => bail!("{} needs no token (it was added with --no-auth)", profile.label),
        AuthKind::Bearer => {
            let source = profile
                .token_source(&OAuthOverrides::default(), Interaction::Never, false)
                .await?
                .context("no token source")?;
            let token = source.token().await?.with_context(|| {
                format!(
                    "no token is stored for {0}; store it with `tether add {0} <url> --bearer`",
                    profile.key
                )
            })?;
            Ok((token.secret().to_owned(), source.header()))
        }
        AuthKind::Oauth => {
            let interaction = if sign_in {
                Interaction::Browser
            } else {
                Interaction::Never
            };
            let source = profile.oauth_source(&OAuthOverrides::default(), interaction).await?;
            if let Some(t) = source.fresh_token().await? {
                return Ok((t.secret().to_owned(), TokenHeader::Bearer));
            }
            if !sign_in {
                bail!(
                    "{0} needs sign-in: run `tether login {0}` (or `tether token {0} --sign-in`), or choose Sign in in the Tether menu",
                    profile.key
                );
            }
            say(format!("Opening the browser to sign in to {}…", profile.label));
            source.login(None).await?;
            let t = source
                .fresh_token()
                .await?
                .context("signed in, but no token could be read back from the keychain")?;
            Ok((t.secret().to_owned(), TokenHeader::Bearer))
        }
    }
}
