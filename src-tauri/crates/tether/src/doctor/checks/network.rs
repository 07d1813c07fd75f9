//! Reaching the server: the URL's scheme, DNS, a TCP connection, and a
//! firewall that answers some user agents differently (seed 001: WAFs and bot
//! protection blocking Anthropic's connectors). TLS and the answer's time are
//! judged on the first `initialize` (`mcp`).

use std::net::SocketAddr;
use std::time::Instant;

use super::{BROWSER_UA, CLAUDE_UA, DOCTOR_UA, Doctor, header};
use crate::config::is_loopback;
use crate::doctor::Affected::{ClaudeCode, ClaudeConnectors, McpRemote, Tether};
use crate::doctor::catalogue::{NET_CONNECT, NET_DNS, URL_HTTPS, WAF_USER_AGENTS};
use crate::doctor::{Affected, Level};
use crate::net;

impl Doctor<'_> {
    /// Whether the URL can be an MCP endpoint at all.
    pub(super) fn scheme(&mut self) -> bool {
        match self.url.scheme() {
            "https" => self.push(URL_HTTPS.ok("https")),
            "http" if is_loopback(self.url) => {
                self.push(URL_HTTPS.ok("plain http to this computer (fine for local servers)"));
            }
            "http" => self.push(
                URL_HTTPS
                    .error("plain http to another computer: tokens would cross the network readable")
                    .breaking(&[ClaudeConnectors, McpRemote, Tether]),
            ),
            other => {
                self.push(
                    URL_HTTPS
                        .error(format!("a {other}: URL is not an MCP endpoint"))
                        .breaking(&[ClaudeConnectors, ClaudeCode, McpRemote, Tether])
                        .with_fix("use the server's https:// URL"),
                );
                return false;
            }
        }
        true
    }

    /// DNS, then a TCP connection to the first address.
    pub(super) async fn reachable(&mut self) -> bool {
        let Some(host) = self.url.host_str().map(str::to_owned) else {
            self.push(
                NET_DNS
                    .error("the URL has no host")
                    .with_fix("use a full URL such as https://mcp.example.com/mcp"),
            );
            return false;
        };
        let port = self.url.port_or_known_default().unwrap_or(443);
        let host_for_lookup = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let addrs: Vec<SocketAddr> = match tokio::time::timeout(
            self.opts.timeout,
            tokio::net::lookup_host((host_for_lookup.as_str(), port)),
        )
        .await
        {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(e)) => {
                self.push(NET_DNS.error(format!("{host} does not resolve: {e}")));
                return false;
            }
            Err(_) => {
                self.push(
                    NET_DNS
                        .error(format!(
                            "resolving {host} took longer than {} s",
                            self.opts.timeout.as_secs()
                        ))
                        .with_fix("check the DNS servers"),
                );
                return false;
            }
        };
        let Some(first) = addrs.first().copied() else {
            self.push(
                NET_DNS
                    .error(format!("{host} resolves to no address"))
                    .with_fix("add an A or AAAA record"),
            );
            return false;
        };
        let more = if addrs.len() > 1 {
            format!(" (and {} more)", addrs.len() - 1)
        } else {
            String::new()
        };
        self.push(NET_DNS.ok(format!("{host} → {}{more}", first.ip())));
        let started = Instant::now();
        match tokio::time::timeout(self.opts.timeout, tokio::net::TcpStream::connect(first)).await {
            Ok(Ok(_)) => {
                self.push(NET_CONNECT.ok(format!("connected to {first} in {} ms", started.elapsed().as_millis())));
                true
            }
            Ok(Err(e)) => {
                self.push(NET_CONNECT.error(format!("connecting to {first} failed: {e}")));
                false
            }
            Err(_) => {
                self.push(
                    NET_CONNECT
                        .error(format!(
                            "connecting to {first} timed out after {} s",
                            self.opts.timeout.as_secs()
                        ))
                        .with_fix("check firewalls between this computer and the server (a VPN?)"),
                );
                false
            }
        }
    }

    /// The same `initialize` as Tether, without a user agent, as a browser
    /// and as Claude's connectors: a firewall that tells them apart blocks
    /// some clients before the MCP server sees them.
    pub(super) async fn user_agents(&mut self) {
        let mut seen = Vec::new();
        for (label, ua) in [
            ("Tether", Some(DOCTOR_UA)),
            ("no User-Agent", None),
            ("a browser", Some(BROWSER_UA)),
            ("Claude", Some(CLAUDE_UA)),
        ] {
            let status = match self.post_initialize("2025-11-25", ua, None, false).await {
                Ok((resp, _)) => {
                    let s = resp.status().as_u16();
                    if let Some(session) = header(resp.headers(), "mcp-session-id") {
                        self.end_session(Some(session)).await;
                    }
                    s.to_string()
                }
                Err(e) => format!("failed ({})", net::describe(&e)),
            };
            seen.push((label, status));
        }
        let first = seen[0].1.clone();
        let different: Vec<String> = seen
            .iter()
            .filter(|(_, s)| *s != first)
            .map(|(l, s)| format!("{l}: {s}"))
            .collect();
        if different.is_empty() {
            self.push(WAF_USER_AGENTS.ok(format!("HTTP {first} for Tether, no User-Agent, a browser and Claude")));
            return;
        }
        let claude_blocked = seen.iter().any(|(l, s)| *l == "Claude" && *s != first);
        let (level, breaks): (Level, &[Affected]) = if claude_blocked {
            (Level::Error, &[ClaudeConnectors])
        } else {
            (Level::Warning, &[])
        };
        self.push(
            WAF_USER_AGENTS
                .failed(level, format!("Tether: {first}; {}", different.join(", ")))
                .breaking(breaks),
        );
    }
}
