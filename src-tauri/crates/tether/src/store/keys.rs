//! The names of Tether's keychain items, in one place.
//!
//! Every secret Tether keeps is one item in the service `Tether` (or
//! `Tether (<TETHER_HOME>)`, see `secrets::service_name`), under one of these
//! keys. A server's items are named after its key (its name, or
//! `url-<host>-<hash>` for `tether run <url>`); a dynamically registered
//! client's secret after its issuer, because registered clients are kept per
//! issuer (MCP Authorization 2026-07-28 §"Client Registration"). A value too
//! large for one item is split into parts named after the key.

/// A server's OAuth token set (access and refresh token).
pub fn tokens(server: &str) -> String {
    format!("tokens:{server}")
}

/// A server's static token (`tether add --bearer`).
pub fn static_token(server: &str) -> String {
    format!("bearer:{server}")
}

/// The secret of a server's pre-registered client (`tether add --client-secret`).
pub fn server_client_secret(server: &str) -> String {
    format!("client-secret:server:{server}")
}

/// The secret of the client registered with `issuer` for `resource`
/// (`None`: the one client per issuer of earlier versions).
pub fn issuer_client_secret(issuer: &str, resource: Option<&str>) -> String {
    format!("client-secret:{}", super::state::client_key(issuer, resource))
}

/// Part `i` of a value split over several items.
pub fn part(key: &str, i: usize) -> String {
    format!("{key}#{i}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_of_keychain_items_stay_as_they_were_written() {
        // Items already in users' keychains are found by these names:
        // changing one loses every user's sign-in.
        assert_eq!(tokens("linear"), "tokens:linear");
        assert_eq!(static_token("corp"), "bearer:corp");
        assert_eq!(server_client_secret("corp"), "client-secret:server:corp");
        assert_eq!(
            issuer_client_secret("https://as.example", None),
            "client-secret:https://as.example"
        );
        assert_eq!(
            issuer_client_secret("https://as.example", Some("https://mcp.example/mcp")),
            "client-secret:https://as.example https://mcp.example/mcp"
        );
        assert_eq!(part("tokens:linear", 2), "tokens:linear#2");
    }
}
