//! Named servers as a person manages them: add one (or import one from an
//! `npx mcp-remote` entry), remove one, see each one's sign-in.
//!
//! Owns the library side of `tether add|import|remove|status`, so that the
//! CLI only reads arguments and prints, and the app (through the sidecar)
//! gets the same behaviour: secrets reach the keychain before anything
//! refers to them ([`register`]), and a status row is a typed
//! [`ServerStatus`] that prints itself for people and serializes for
//! scripts and the app ([`status`]). Nothing here prompts or prints.

pub mod register;
pub mod status;

pub use register::{Registration, TokenChange, import, register, remove};
pub use status::{ServerStatus, server_status, status_targets};

use crate::auth::AuthError;
use crate::clients::ClientsError;
use crate::config::ConfigError;
use crate::servers::ServersError;
use crate::store::files::FileError;
use crate::store::secrets::StoreError;

/// Why managing a server failed, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error(transparent)]
    Servers(#[from] ServersError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Keychain(#[from] StoreError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Clients(#[from] ClientsError),
    /// `--keep-token` for a server that has no token to keep.
    #[error("{0} has no token to keep: it is not a server with a token yet; give the token")]
    NoTokenToKeep(String),
    /// `--keep-token` for a server that moves to another origin.
    #[error(
        "the token of {name} was given for {from}; Tether does not send it to {to}: give the token again for the new address"
    )]
    OriginChanged { name: String, from: String, to: String },
    /// An import whose name is taken by a server with another URL.
    #[error(
        "a server named {name} already exists with another URL ({url}); rename the entry in {file} and import again"
    )]
    NameTaken { name: String, url: String, file: String },
    /// An mcp-remote entry that cannot be imported as it is.
    #[error("{0}")]
    NotImportable(String),
}
