//! A secret kept together with the one place it may be sent.
//!
//! `servers.json` and the state files can be edited by any process of the
//! user without a keychain prompt; the keychain cannot. So each secret is
//! stored with the place it was first used with, inside its keychain item:
//! a static token with the MCP server's origin, a client secret with its
//! authorization server's token endpoint. Before a secret is sent, that
//! place is compared with where the files now say to send it; a difference
//! is refused, so an edited file cannot send a secret elsewhere (RFC 6750
//! §5.2, MCP Authorization §"Token Audience Binding").
//!
//! Items written before this rule hold the bare secret: they are accepted
//! once and bound to the place of that first use.

use serde::{Deserialize, Serialize};

use super::secrets::Secret;

/// The JSON of a bound item.
#[derive(Serialize, Deserialize)]
struct Item {
    tether_bound: u8,
    to: String,
    secret: String,
}

/// A secret and where it may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub secret: Secret,
    /// The origin or endpoint it is bound to; `None` for an item written
    /// before binding (bind it at this first use).
    pub to: Option<String>,
}

impl Bound {
    /// Whether the secret may be sent to `place`: the place it is bound
    /// to, or any place for an item not bound yet.
    pub fn allows(&self, place: &str) -> bool {
        self.to.as_deref().is_none_or(|to| to == place)
    }
}

/// The keychain value of `secret` bound to `to`.
pub fn seal(secret: &Secret, to: &str) -> Secret {
    let item = Item {
        tether_bound: 1,
        to: to.to_owned(),
        secret: secret.expose().to_owned(),
    };
    Secret::new(serde_json::to_string(&item).unwrap_or_default())
}

/// Reads a keychain value: a bound item, or a bare secret from before.
pub fn open(value: Secret) -> Bound {
    match serde_json::from_str::<Item>(value.expose()) {
        Ok(item) if item.tether_bound == 1 => Bound {
            secret: Secret::new(item.secret),
            to: Some(item.to),
        },
        _ => Bound {
            secret: value,
            to: None,
        },
    }
}

/// The origin of `url` as a binding place (`https://host[:port]`).
pub fn origin_of(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_its_place_and_allows_only_that_place() {
        let b = open(seal(&Secret::new("tok-123"), "https://mcp.corp.example"));
        assert_eq!(b.secret.expose(), "tok-123");
        assert!(b.allows("https://mcp.corp.example"));
        assert!(!b.allows("https://evil.example"));
    }

    #[test]
    fn a_bare_secret_from_before_binding_is_read_as_it_is() {
        let b = open(Secret::new("tok-123"));
        assert_eq!(
            b,
            Bound {
                secret: Secret::new("tok-123"),
                to: None
            }
        );
        assert!(b.allows("https://anywhere.example"), "bound at its first use");
    }

    #[test]
    fn the_origin_of_a_url_is_its_scheme_host_and_port() {
        let u = url::Url::parse("https://mcp.corp.example:8443/mcp?x=1").unwrap();
        assert_eq!(origin_of(&u), "https://mcp.corp.example:8443");
        let u = url::Url::parse("https://mcp.corp.example/mcp").unwrap();
        assert_eq!(origin_of(&u), "https://mcp.corp.example");
    }
}
