//! What Tether keeps about OAuth that is not secret: the authorization
//! server's metadata (so a refresh needs no discovery) and the clients
//! registered with each issuer.
//!
//! These are records, not behaviour: the `auth` modules fill and read them,
//! `state` writes them to disk. They live here, below `auth`, so the store
//! never imports from the layer above it. Client credentials are keyed by
//! issuer and never reused for another (MCP Authorization 2026-07-28
//! §"Client Registration", SEP-2352); secrets are in the keychain, never in
//! these records.

use serde::{Deserialize, Serialize};

/// Authorization server metadata (RFC 8414 §2), the parts Tether uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthServer {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub registration_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub device_authorization_endpoint: Option<String>,
    pub scopes_supported: Option<Vec<String>>,
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    pub client_id_metadata_document_supported: bool,
    /// RFC 9207: the server puts `iss` in its authorization responses.
    pub authorization_response_iss_parameter_supported: bool,
    /// Made up from the 2025-03-26 default endpoints: there was no metadata.
    pub synthesized: bool,
}

impl AuthServer {
    /// An authorization server known by its issuer and its two endpoints,
    /// offering nothing else (no registration, revocation or device
    /// endpoint, no PKCE or `iss` promises beyond what MCP requires).
    pub fn minimal(issuer: &str, authorization_endpoint: &str, token_endpoint: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            authorization_endpoint: authorization_endpoint.to_owned(),
            token_endpoint: token_endpoint.to_owned(),
            registration_endpoint: None,
            revocation_endpoint: None,
            device_authorization_endpoint: None,
            scopes_supported: None,
            token_endpoint_auth_methods_supported: None,
            client_id_metadata_document_supported: false,
            authorization_response_iss_parameter_supported: false,
            synthesized: false,
        }
    }
}

/// How Tether authenticates to the token endpoint (RFC 6749 §2.3,
/// RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A public client: `client_id` in the body, no secret.
    None,
    /// HTTP Basic with the client id and secret.
    ClientSecretBasic,
    /// The secret in the form body.
    ClientSecretPost,
}

impl AuthMethod {
    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    /// The method of an RFC 7591 name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            _ => None,
        }
    }
}

/// How an OAuth client came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegistrationKind {
    /// RFC 7591 dynamic registration.
    Registered,
    /// A Client ID Metadata Document URL used as the client id.
    MetadataDocument,
    /// Given by the user (flags or the server's settings).
    PreRegistered,
}

/// A client registered with one authorization server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredClient {
    pub client_id: String,
    pub kind: RegistrationKind,
    pub token_endpoint_auth_method: AuthMethod,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub registered_at: i64,
    /// Whether a client secret is in the keychain.
    #[serde(default)]
    pub has_secret: bool,
    /// When the secret expires (RFC 7591 §3.2.1; 0 or absent: never).
    #[serde(default)]
    pub client_secret_expires_at: Option<i64>,
    /// The token endpoint the client was registered for: its secret goes
    /// there and nowhere else (absent in records of earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The registration endpoint that issued it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
}
