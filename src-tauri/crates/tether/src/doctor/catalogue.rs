//! The catalogue of `tether doctor`'s checks: every check as data.
//!
//! Owns, once per check, what never changes between runs: the stable id
//! scripts and the app match on (`--json`), the stage of a client's path it
//! belongs to, its title, the levels it can raise, the clients it can break,
//! its usual fix with an example, and the probe flag that runs it when it
//! creates state on the server. A run builds its findings from these entries
//! ([`Check::ok`], [`Check::warning`], [`Check::error`], [`Check::skipped`]);
//! what a run adds is what it saw, and, where one failure differs from the
//! usual, a narrower list of clients or a more precise fix.
//! `tether doctor --list-checks` prints this catalogue.
//!
//! Which clients a quirk breaks comes from their code or their vendors' word:
//! the MCP TypeScript SDK (mcp-remote, and the clients built on it) parses
//! token and registration answers with zod schemas (`client_secret_expires_at`
//! a number, `scope` and `refresh_token` strings); Claude's connectors reject
//! a float `client_secret_expires_at` (Anthropic staff, seed 001) and the
//! token answers seed 001 lists; VS Code registers `http://127.0.0.1:33418`,
//! mcp-remote `http://localhost:<port>` (127.0.0.1 on Windows), Claude Code
//! `localhost` on any port, Tether `127.0.0.1` on any port (RFC 8252 §7.3).

use serde::Serialize;

use super::{Affected, Finding, Level};

use Affected::{ClaudeCode, ClaudeConnectors, Cursor, McpRemote, Tether, VsCode};

/// Where on a client's path a check sits; the report follows this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// DNS, TCP, TLS, time, firewalls.
    Network,
    /// The unauthenticated `initialize` (MCP §Lifecycle).
    Mcp,
    /// The 401 and its `WWW-Authenticate` (RFC 6750 §3, RFC 9728 §5.1).
    Challenge,
    /// Protected resource metadata (RFC 9728).
    ResourceMetadata,
    /// Authorization server metadata (RFC 8414, OIDC Discovery).
    AuthServerMetadata,
    /// Opt-in probes that create state on the server: registration,
    /// redirects, refresh, a real sign-in.
    Probes,
    /// Streamable HTTP or HTTP+SSE, protocol versions and eras.
    Transport,
}

impl Stage {
    /// The stage's name, for people.
    pub fn name(self) -> &'static str {
        match self {
            Self::Network => "Network",
            Self::Mcp => "MCP",
            Self::Challenge => "Challenge",
            Self::ResourceMetadata => "Resource metadata",
            Self::AuthServerMetadata => "Authorization server metadata",
            Self::Probes => "Probes",
            Self::Transport => "Transport",
        }
    }
}

/// The flag that runs an opt-in check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Probe {
    /// `--probe-registration`
    Registration,
    /// `--probe-redirect`
    Redirect,
    /// `--probe-refresh`
    Refresh,
    /// `--probe-sign-in`
    SignIn,
}

impl Probe {
    /// The command-line flag.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Registration => "--probe-registration",
            Self::Redirect => "--probe-redirect",
            Self::Refresh => "--probe-refresh",
            Self::SignIn => "--probe-sign-in",
        }
    }
}

/// One check.
#[derive(Debug, Serialize)]
pub struct Check {
    /// Stable: `--json` and the app match on it.
    pub id: &'static str,
    pub stage: Stage,
    pub title: &'static str,
    /// The levels it can raise besides ok and skipped.
    pub raises: &'static [Level],
    /// Every client a failure of this check can break (a finding may name
    /// fewer).
    pub breaks: &'static [Affected],
    /// The usual fix.
    pub fix: &'static str,
    /// A correct answer or configuration.
    pub example: Option<&'static str>,
    /// The flag that runs it, for checks that create state on the server.
    pub probe: Option<Probe>,
}

impl Check {
    fn finding(&'static self, level: Level, saw: String) -> Finding {
        let failed = matches!(level, Level::Warning | Level::Error);
        Finding {
            id: self.id.into(),
            level,
            title: self.title.to_owned(),
            saw,
            breaks: if failed { self.breaks.to_vec() } else { Vec::new() },
            fix: failed.then(|| self.fix.to_owned()),
            example: if failed { self.example.map(str::to_owned) } else { None },
        }
    }

    /// The check passed.
    pub fn ok(&'static self, saw: impl Into<String>) -> Finding {
        self.finding(Level::Ok, saw.into())
    }

    /// Not checked, and why.
    pub fn skipped(&'static self, why: impl Into<String>) -> Finding {
        self.finding(Level::Skipped, why.into())
    }

    /// A warning, with the catalogue's clients, fix and example.
    pub fn warning(&'static self, saw: impl Into<String>) -> Finding {
        self.finding(Level::Warning, saw.into())
    }

    /// An error, with the catalogue's clients, fix and example.
    pub fn error(&'static self, saw: impl Into<String>) -> Finding {
        self.finding(Level::Error, saw.into())
    }

    /// A warning or an error.
    pub fn failed(&'static self, level: Level, saw: impl Into<String>) -> Finding {
        self.finding(level, saw.into())
    }
}

impl Finding {
    /// Names only these of the check's clients.
    pub fn breaking(mut self, clients: &[Affected]) -> Self {
        if !self.breaks.is_empty() {
            self.breaks = clients.to_vec();
        }
        self
    }

    /// A fix for what was seen, instead of the usual one.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        if self.fix.is_some() {
            self.fix = Some(fix.into());
        }
        self
    }

    /// An example for what was seen, instead of the usual one.
    pub fn with_example(mut self, example: Option<&str>) -> Self {
        if self.fix.is_some() {
            self.example = example.map(str::to_owned);
        }
        self
    }

    /// Whether this finding may come from `check`: its id, a level the check
    /// raises, and only clients the check can break.
    pub fn fits(&self, check: &Check) -> bool {
        self.id == check.id
            && self.title == check.title
            && (matches!(self.level, Level::Ok | Level::Skipped) || check.raises.contains(&self.level))
            && self.breaks.iter().all(|c| check.breaks.contains(c))
    }
}

/// The check with this id.
pub fn check(id: &str) -> Option<&'static Check> {
    CATALOGUE.iter().copied().find(|c| c.id == id)
}

const ALL: &[Affected] = &[ClaudeConnectors, ClaudeCode, McpRemote, Tether, Cursor, VsCode];
const W: &[Level] = &[Level::Warning];
const E: &[Level] = &[Level::Error];
const WE: &[Level] = &[Level::Warning, Level::Error];

const CHALLENGE_EXAMPLE: &str =
    "WWW-Authenticate: Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\"";
const PRM_EXAMPLE: &str = "GET /.well-known/oauth-protected-resource/mcp\n{\n  \"resource\": \"https://mcp.example.com/mcp\",\n  \"authorization_servers\": [\"https://auth.example.com\"],\n  \"scopes_supported\": [\"mcp\"]\n}";
const TOKEN_EXAMPLE: &str = "HTTP/1.1 200 OK\nContent-Type: application/json\nCache-Control: no-store\n\n{\n  \"access_token\": \"…\",\n  \"token_type\": \"Bearer\",\n  \"expires_in\": 3600,\n  \"refresh_token\": \"…\",\n  \"scope\": \"mcp offline_access\"\n}";
const CORS_EXAMPLE: &str = "HTTP/1.1 204 No Content\nAccess-Control-Allow-Origin: *\nAccess-Control-Allow-Methods: GET, OPTIONS\nAccess-Control-Allow-Headers: Content-Type, Authorization, MCP-Protocol-Version";

// --- network ---------------------------------------------------------------------------

pub const URL_HTTPS: Check = Check {
    id: "url.https",
    stage: Stage::Network,
    title: "The URL is https",
    raises: E,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
    fix: "serve the MCP endpoint over https (a reverse proxy with a Let's Encrypt certificate is enough)",
    example: None,
    probe: None,
};

pub const NET_DNS: Check = Check {
    id: "net.dns",
    stage: Stage::Network,
    title: "The host name resolves",
    raises: E,
    breaks: ALL,
    fix: "check the host name and its DNS record",
    example: None,
    probe: None,
};

pub const NET_CONNECT: Check = Check {
    id: "net.connect",
    stage: Stage::Network,
    title: "A connection opens",
    raises: E,
    breaks: ALL,
    fix: "check that the server runs and that a firewall lets the port through",
    example: None,
    probe: None,
};

pub const NET_TLS: Check = Check {
    id: "net.tls",
    stage: Stage::Network,
    title: "The TLS certificate is valid",
    raises: E,
    breaks: ALL,
    fix: "install a certificate for the host from a public CA (Let's Encrypt); self-signed, expired or wrong-host certificates are refused",
    example: None,
    probe: None,
};

pub const NET_LATENCY: Check = Check {
    id: "net.latency",
    stage: Stage::Network,
    title: "The server answers quickly",
    raises: W,
    breaks: &[ClaudeConnectors],
    fix: "find what makes the first answer slow (a cold start? a slow auth check?); clients time out on slow starts",
    example: None,
    probe: None,
};

pub const WAF_USER_AGENTS: Check = Check {
    id: "waf.user-agents",
    stage: Stage::Network,
    title: "Every user agent gets the same answer",
    raises: WE,
    breaks: &[ClaudeConnectors],
    fix: "a firewall (WAF, bot protection) answers by user agent; let MCP clients through: allow the Claude user agent and Anthropic's IP ranges on the MCP and .well-known paths",
    example: None,
    probe: None,
};

// --- MCP -------------------------------------------------------------------------------

pub const MCP_INITIALIZE: Check = Check {
    id: "mcp.initialize",
    stage: Stage::Mcp,
    title: "initialize without credentials",
    raises: WE,
    breaks: ALL,
    fix: "check that the URL is the MCP endpoint and the server is up",
    example: None,
    probe: None,
};

pub const AUTH_HTML_LOGIN: Check = Check {
    id: "auth.html-login",
    stage: Stage::Mcp,
    title: "Unauthenticated requests get 401, not a login page",
    raises: E,
    breaks: ALL,
    fix: "answer unauthenticated requests to the MCP endpoint with HTTP 401 and a WWW-Authenticate header; keep the login page on the authorization server, where the browser goes",
    example: Some(
        "HTTP/1.1 401 Unauthorized\nWWW-Authenticate: Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\"",
    ),
    probe: None,
};

// --- the challenge ---------------------------------------------------------------------

pub const AUTH_WWW_AUTHENTICATE: Check = Check {
    id: "auth.www-authenticate",
    stage: Stage::Challenge,
    title: "401 carries WWW-Authenticate",
    raises: E,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote],
    fix: "send WWW-Authenticate with every 401 from the MCP endpoint (RFC 9110 §15.5.2); Claude Desktop does not start a sign-in without it. Tether copes by looking for the metadata anyway",
    example: Some(CHALLENGE_EXAMPLE),
    probe: None,
};

pub const AUTH_BEARER: Check = Check {
    id: "auth.bearer",
    stage: Stage::Challenge,
    title: "The challenge is Bearer",
    raises: E,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
    fix: "MCP uses OAuth Bearer tokens (RFC 6750): challenge with `Bearer`, not Basic or a custom scheme",
    example: Some(CHALLENGE_EXAMPLE),
    probe: None,
};

pub const AUTH_RESOURCE_METADATA: Check = Check {
    id: "auth.resource-metadata",
    stage: Stage::Challenge,
    title: "The challenge names the resource metadata",
    raises: W,
    breaks: &[ClaudeConnectors],
    fix: "add resource_metadata=\"<URL of the protected resource metadata>\" to the challenge (RFC 9728 §5.1; MCP 2025-06-18 required it)",
    example: Some(CHALLENGE_EXAMPLE),
    probe: None,
};

pub const AUTH_HTML_401: Check = Check {
    id: "auth.html-401",
    stage: Stage::Challenge,
    title: "The 401 is an API answer, not a web page",
    raises: W,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
    fix: "answer the MCP endpoint's 401 from the MCP server (or its OAuth middleware) with a JSON body, not a login page; if a web login layer (an SSO proxy, an identity-aware proxy) sits in front, exempt the MCP path from it: such a layer wants its own session cookie and refuses the Bearer token an MCP client gets from signing in (`--probe-sign-in` shows whether the token gets through)",
    example: Some(
        "HTTP/1.1 401 Unauthorized\nContent-Type: application/json\nWWW-Authenticate: Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\"\n\n{\"error\": \"invalid_token\", \"error_description\": \"sign in first\"}",
    ),
    probe: None,
};

pub const CORS_EXPOSE_WWW_AUTHENTICATE: Check = Check {
    id: "cors.expose-www-authenticate",
    stage: Stage::Challenge,
    title: "Browsers can read the 401 challenge",
    raises: W,
    breaks: &[ClaudeConnectors],
    fix: "add WWW-Authenticate (and Mcp-Session-Id) to Access-Control-Expose-Headers, so browser-based clients can read the challenge",
    example: Some("Access-Control-Expose-Headers: WWW-Authenticate, Mcp-Session-Id"),
    probe: None,
};

// --- protected resource metadata -------------------------------------------------------

pub const PRM_FOUND: Check = Check {
    id: "prm.found",
    stage: Stage::ResourceMetadata,
    title: "Protected resource metadata is published",
    raises: E,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
    fix: "serve the protected resource metadata at /.well-known/oauth-protected-resource/<path of the MCP endpoint> and name it in the 401's resource_metadata; mcp-remote and Tether fall back to the 2025-03-26 rules, 2025-06-18+ clients do not",
    example: Some(PRM_EXAMPLE),
    probe: None,
};

pub const PRM_RESOURCE: Check = Check {
    id: "prm.resource",
    stage: Stage::ResourceMetadata,
    title: "The metadata is about this server",
    raises: E,
    breaks: &[ClaudeCode, McpRemote, Tether],
    fix: "set \"resource\" to the MCP endpoint's own URL (RFC 9728 §3.3: clients must reject metadata for another resource)",
    example: Some(PRM_EXAMPLE),
    probe: None,
};

pub const PRM_AUTHORIZATION_SERVERS: Check = Check {
    id: "prm.authorization-servers",
    stage: Stage::ResourceMetadata,
    title: "The metadata names an authorization server",
    raises: E,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
    fix: "list the authorization server's issuer URL in \"authorization_servers\" (MCP requires it)",
    example: Some(PRM_EXAMPLE),
    probe: None,
};

pub const CACHE_PRM: Check = Check {
    id: "cache.prm",
    stage: Stage::ResourceMetadata,
    title: "The protected resource metadata is not cached for long",
    raises: W,
    breaks: &[ClaudeConnectors],
    fix: "serve auth metadata with a short cache (or no-store): a fix reaches clients and CDNs only when the cache expires",
    example: Some("Cache-Control: no-store"),
    probe: None,
};

pub const CORS_PRM: Check = Check {
    id: "cors.prm",
    stage: Stage::ResourceMetadata,
    title: "Browsers may fetch the protected resource metadata (CORS)",
    raises: W,
    breaks: &[ClaudeConnectors],
    fix: "answer OPTIONS on the .well-known endpoints with 204 and Access-Control-Allow-Origin: * (public metadata only, not the MCP endpoint), allowing the MCP-Protocol-Version header",
    example: Some(CORS_EXAMPLE),
    probe: None,
};

// --- authorization server metadata -----------------------------------------------------

pub const AS_METADATA: Check = Check {
    id: "as.metadata",
    stage: Stage::AuthServerMetadata,
    title: "The authorization server publishes metadata",
    raises: E,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
    fix: "serve RFC 8414 metadata at /.well-known/oauth-authorization-server (with the issuer's path appended) or OpenID Connect discovery",
    example: None,
    probe: None,
};

pub const AS_OAUTH_METADATA: Check = Check {
    id: "as.oauth-metadata",
    stage: Stage::AuthServerMetadata,
    title: "RFC 8414 metadata is published, not only OpenID Connect's",
    raises: W,
    breaks: &[ClaudeConnectors, ClaudeCode],
    fix: "also serve the same document at /.well-known/oauth-authorization-server (RFC 8414, with the issuer's path appended); clients built for MCP 2025-06-18 or earlier (and older MCP SDKs) look only there, while 2025-11-25 clients try both",
    example: Some(
        "GET /.well-known/oauth-authorization-server\n{\n  \"issuer\": \"https://auth.example.com\",\n  \"authorization_endpoint\": \"https://auth.example.com/authorize\",\n  \"token_endpoint\": \"https://auth.example.com/token\",\n  \"code_challenge_methods_supported\": [\"S256\"]\n}",
    ),
    probe: None,
};

pub const AS_ISSUER: Check = Check {
    id: "as.issuer",
    stage: Stage::AuthServerMetadata,
    title: "The metadata's issuer is the authorization server's",
    raises: E,
    breaks: &[ClaudeCode, Tether],
    fix: "make \"issuer\" exactly the URL listed in authorization_servers (RFC 8414 §3.3: clients must not use mismatched metadata)",
    example: None,
    probe: None,
};

pub const AS_PKCE: Check = Check {
    id: "as.pkce",
    stage: Stage::AuthServerMetadata,
    title: "PKCE S256 is advertised",
    raises: E,
    breaks: &[ClaudeCode, Tether],
    fix: "support PKCE with S256 and say so: \"code_challenge_methods_supported\": [\"S256\"] (MCP 2025-11-25: clients must refuse without it)",
    example: None,
    probe: None,
};

pub const AS_REGISTRATION: Check = Check {
    id: "as.registration",
    stage: Stage::AuthServerMetadata,
    title: "Clients can register",
    raises: E,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote, Cursor, VsCode],
    fix: "offer dynamic client registration (RFC 7591) or Client ID Metadata Documents; otherwise every user must pre-register a client (Tether: `tether add <name> <url> --client-id …`)",
    example: None,
    probe: None,
};

pub const AS_PUBLIC_CLIENTS: Check = Check {
    id: "as.public-clients",
    stage: Stage::AuthServerMetadata,
    title: "Public clients are allowed",
    raises: W,
    breaks: &[ClaudeConnectors, ClaudeCode],
    fix: "list \"none\" in token_endpoint_auth_methods_supported: desktop and CLI clients are public clients with PKCE and cannot keep a secret",
    example: None,
    probe: None,
};

pub const AS_AUTHORIZE_HTTPS: Check = Check {
    id: "as.authorize-https",
    stage: Stage::AuthServerMetadata,
    title: "The authorization endpoint is https (or on this computer)",
    raises: E,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
    fix: "serve every OAuth endpoint over https",
    example: None,
    probe: None,
};

pub const AS_TOKEN_HTTPS: Check = Check {
    id: "as.token-https",
    stage: Stage::AuthServerMetadata,
    title: "The token endpoint is https (or on this computer)",
    raises: E,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
    fix: "serve every OAuth endpoint over https",
    example: None,
    probe: None,
};

pub const CACHE_AS: Check = Check {
    id: "cache.as",
    stage: Stage::AuthServerMetadata,
    title: "The authorization server metadata is not cached for long",
    raises: W,
    breaks: &[ClaudeConnectors],
    fix: "serve auth metadata with a short cache (or no-store): a fix reaches clients and CDNs only when the cache expires",
    example: Some("Cache-Control: no-store"),
    probe: None,
};

pub const CORS_AS: Check = Check {
    id: "cors.as",
    stage: Stage::AuthServerMetadata,
    title: "Browsers may fetch the authorization server metadata (CORS)",
    raises: W,
    breaks: &[ClaudeConnectors],
    fix: "answer OPTIONS on the .well-known endpoints with 204 and Access-Control-Allow-Origin: * (public metadata only, not the MCP endpoint), allowing the MCP-Protocol-Version header",
    example: Some(CORS_EXAMPLE),
    probe: None,
};

// --- probes: registration, redirects, a dead refresh token -----------------------------

pub const PROBE_REGISTRATION: Check = Check {
    id: "probe.registration",
    stage: Stage::Probes,
    title: "A public client can register",
    raises: WE,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote, Tether, Cursor, VsCode],
    fix: "accept RFC 7591 registration requests from public native clients (token_endpoint_auth_method \"none\") with loopback redirect URIs",
    example: None,
    probe: Some(Probe::Registration),
};

pub const PROBE_REGISTRATION_LOOPBACK: Check = Check {
    id: "probe.registration-loopback",
    stage: Stage::Probes,
    title: "A 127.0.0.1 redirect URI can be registered",
    raises: W,
    breaks: &[VsCode, McpRemote],
    fix: "accept http://127.0.0.1:<port> redirect URIs at registration, as well as http://localhost (RFC 8252 §7.3 recommends the IP literal; §8.3 discourages localhost). VS Code registers http://127.0.0.1:33418, mcp-remote on Windows 127.0.0.1; Tether then registers localhost instead",
    example: Some(
        "POST /register\n{\"redirect_uris\": [\"http://127.0.0.1:33418/callback\"], \"token_endpoint_auth_method\": \"none\", \"application_type\": \"native\"}\n→ 201 Created",
    ),
    probe: Some(Probe::Registration),
};

pub const PROBE_REGISTRATION_EXPIRY: Check = Check {
    id: "probe.registration-expiry",
    stage: Stage::Probes,
    title: "client_secret_expires_at is an integer",
    raises: WE,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote],
    fix: "send whole seconds since the epoch as a JSON number (RFC 7591 §3.2.1), e.g. Math.floor(Date.now() / 1000), or 0 for never; Claude's connectors reject a float, and a string fails every client that parses the registration strictly (the MCP TypeScript SDK's schema wants a number). Tether copes",
    example: Some("\"client_secret_expires_at\": 1749600000"),
    probe: Some(Probe::Registration),
};

pub const PROBE_REGISTRATION_METHOD: Check = Check {
    id: "probe.registration-method",
    stage: Stage::Probes,
    title: "The public client stays public",
    raises: W,
    breaks: &[ClaudeConnectors],
    fix: "register a client that asks for token_endpoint_auth_method \"none\" as a public client; do not impose client_secret_post (some auth libraries, e.g. better-auth, do)",
    example: None,
    probe: Some(Probe::Registration),
};

pub const PROBE_REGISTRATION_CLAUDE: Check = Check {
    id: "probe.registration-claude",
    stage: Stage::Probes,
    title: "A registration like Claude's connectors' is accepted",
    raises: E,
    breaks: &[ClaudeConnectors],
    fix: "accept the registration Claude's connectors send: token_endpoint_auth_method \"client_secret_post\" from an unauthenticated request (issue the secret, or register the client as public with \"none\"; better-auth, for one, refuses it until patched) and the redirect URIs https://claude.ai/api/mcp/auth_callback and https://claude.com/api/mcp/auth_callback",
    example: Some(
        "POST /register\n{\"client_name\": \"Claude\", \"redirect_uris\": [\"https://claude.ai/api/mcp/auth_callback\"], \"token_endpoint_auth_method\": \"client_secret_post\", \"grant_types\": [\"authorization_code\", \"refresh_token\"], \"response_types\": [\"code\"]}\n→ 201 Created",
    ),
    probe: Some(Probe::Registration),
};

pub const PROBE_REDIRECT_UNREGISTERED: Check = Check {
    id: "probe.redirect-unregistered",
    stage: Stage::Probes,
    title: "A redirect URI nobody registered is refused",
    raises: E,
    breaks: &[],
    fix: "refuse an authorization request whose redirect_uri is not registered for the client, with an error page and no redirect (RFC 6749 §4.1.2.1; OAuth 2.1 §4.1.1: exact match, only a loopback IP's port may vary); otherwise anyone can have the server send authorization codes to a site of their own. It breaks no client: it endangers every user",
    example: Some(
        "GET /authorize?client_id=…&redirect_uri=https://attacker.example/cb&…\n→ HTTP/1.1 400 Bad Request (a page; no Location header)",
    ),
    probe: Some(Probe::Redirect),
};

pub const PROBE_REDIRECT_PORT: Check = Check {
    id: "probe.redirect-port",
    stage: Stage::Probes,
    title: "A loopback redirect on another port is accepted",
    raises: W,
    breaks: &[ClaudeCode, McpRemote, Tether],
    fix: "for native clients, accept any port on a loopback redirect URI (RFC 8252 §7.3): apps pick a free port at each sign-in",
    example: None,
    probe: Some(Probe::Redirect),
};

pub const PROBE_REDIRECT_LOCALHOST: Check = Check {
    id: "probe.redirect-localhost",
    stage: Stage::Probes,
    title: "A loopback redirect with localhost is accepted",
    raises: W,
    breaks: &[ClaudeCode, McpRemote],
    fix: "accept http://localhost redirect URIs for native clients, at registration and at the authorization endpoint, as well as http://127.0.0.1 (RFC 8252 §7.3 prefers the IP literal, but Claude Code and mcp-remote use localhost)",
    example: None,
    probe: Some(Probe::Redirect),
};

pub const PROBE_REFRESH: Check = Check {
    id: "probe.refresh",
    stage: Stage::Probes,
    title: "A dead refresh token gets invalid_grant",
    raises: W,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
    fix: "answer an expired, revoked or unknown refresh token with HTTP 400 and \"error\": \"invalid_grant\" (RFC 6749 §5.2): clients sign in again only then",
    example: Some("HTTP/1.1 400 Bad Request\n{\"error\": \"invalid_grant\"}"),
    probe: Some(Probe::Refresh),
};

// --- probes: a real sign-in ------------------------------------------------------------

pub const PROBE_SIGN_IN: Check = Check {
    id: "probe.sign-in",
    stage: Stage::Probes,
    title: "A sign-in in the browser completes",
    raises: E,
    breaks: ALL,
    fix: "make the authorization code flow with PKCE complete for a registered native client: the authorization endpoint redirects back to the loopback redirect URI with `code` and the same `state` (and the right `iss`, RFC 9207), and the token endpoint exchanges the code",
    example: None,
    probe: Some(Probe::SignIn),
};

pub const PROBE_TOKEN_STATUS: Check = Check {
    id: "probe.token-status",
    stage: Stage::Probes,
    title: "The token endpoint answers 200",
    raises: E,
    breaks: &[ClaudeConnectors],
    fix: "answer a successful token request with HTTP 200 OK (RFC 6749 §5.1), not 201 Created: clients that check for 200 (the MCP Python SDK, Rust's oauth2) fail the sign-in. Tether copes",
    example: Some(TOKEN_EXAMPLE),
    probe: Some(Probe::SignIn),
};

pub const PROBE_TOKEN_TYPE: Check = Check {
    id: "probe.token-type",
    stage: Stage::Probes,
    title: "token_type is \"Bearer\"",
    raises: WE,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote],
    fix: "send \"token_type\": \"Bearer\", spelled as RFC 6750 §4 registers it: the value is case-insensitive (RFC 6749 §5.1), but clients that compare it exactly reject \"bearer\". Tether copes",
    example: Some(TOKEN_EXAMPLE),
    probe: Some(Probe::SignIn),
};

pub const PROBE_TOKEN_EXPIRES_IN: Check = Check {
    id: "probe.token-expires-in",
    stage: Stage::Probes,
    title: "expires_in is a whole number of seconds",
    raises: WE,
    breaks: &[ClaudeConnectors],
    fix: "send expires_in as a JSON integer of seconds (RFC 6749 §5.1: numbers are JSON numbers), e.g. 3600, not \"3600\" or 3599.5. Tether copes",
    example: Some(TOKEN_EXAMPLE),
    probe: Some(Probe::SignIn),
};

pub const PROBE_TOKEN_FIELDS: Check = Check {
    id: "probe.token-fields",
    stage: Stage::Probes,
    title: "The token answer's fields have their standard types",
    raises: E,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote],
    fix: "send access_token, refresh_token and id_token as strings and scope as one space-separated string (RFC 6749 §5.1, §3.3); leave a field out rather than sending null: the MCP TypeScript SDK's schema refuses a list or a null. Tether copes",
    example: Some(TOKEN_EXAMPLE),
    probe: Some(Probe::SignIn),
};

pub const PROBE_TOKEN_REFRESH_TOKEN: Check = Check {
    id: "probe.token-refresh-token",
    stage: Stage::Probes,
    title: "A refresh token comes with offline_access",
    raises: W,
    breaks: ALL,
    fix: "issue a refresh token when offline_access is granted (OpenID Connect Core §11) and the client registered the refresh_token grant; without one, every client must send the person through the browser again each time the access token expires",
    example: Some(TOKEN_EXAMPLE),
    probe: Some(Probe::SignIn),
};

pub const PROBE_TOKEN_ACCEPTED: Check = Check {
    id: "probe.token-accepted",
    stage: Stage::Probes,
    title: "The MCP server accepts the new access token",
    raises: E,
    breaks: ALL,
    fix: "accept the authorization server's access tokens at the MCP endpoint: the audience is the MCP server's URL (the `resource` parameter, RFC 8707), the issuer and keys are the authorization server's, and no web login layer stands in front of the endpoint",
    example: None,
    probe: Some(Probe::SignIn),
};

pub const PROBE_REFRESH_GRANT: Check = Check {
    id: "probe.refresh-grant",
    stage: Stage::Probes,
    title: "The new refresh token gets new tokens",
    raises: E,
    breaks: ALL,
    fix: "accept the refresh token you issued (grant_type=refresh_token, with the client's authentication and `resource`, OAuth 2.1 §4.3) and answer with new tokens",
    example: Some(TOKEN_EXAMPLE),
    probe: Some(Probe::SignIn),
};

pub const PROBE_REFRESH_ROTATION: Check = Check {
    id: "probe.refresh-rotation",
    stage: Stage::Probes,
    title: "The refresh token a client keeps after a refresh still works",
    raises: E,
    breaks: ALL,
    fix: "when a refresh rotates the refresh token, send the new one in the same answer (OAuth 2.1 §4.3.3); when the answer has none, keep the old one valid: clients keep the old token when no new one comes, and are signed out at their next refresh otherwise",
    example: Some(TOKEN_EXAMPLE),
    probe: Some(Probe::SignIn),
};

pub const PROBE_REVOCATION: Check = Check {
    id: "probe.revocation",
    stage: Stage::Probes,
    title: "Revocation ends the sign-in",
    raises: W,
    breaks: &[Tether, VsCode],
    fix: "answer a revocation request (RFC 7009 §2.1) with 200 and make the refresh token unusable from then on; signing out relies on it",
    example: Some("POST /revoke\ntoken=…&token_type_hint=refresh_token&client_id=…\n→ HTTP/1.1 200 OK"),
    probe: Some(Probe::SignIn),
};

// --- transport -------------------------------------------------------------------------

pub const TRANSPORT_KIND: Check = Check {
    id: "transport.kind",
    stage: Stage::Transport,
    title: "The server speaks Streamable HTTP",
    raises: W,
    breaks: &[ClaudeConnectors],
    fix: "serve Streamable HTTP (MCP 2025-03-26 and later) at this URL; keep the SSE endpoint for old clients. Tether and mcp-remote fall back to SSE",
    example: None,
    probe: None,
};

pub const TRANSPORT_VERSIONS: Check = Check {
    id: "transport.versions",
    stage: Stage::Transport,
    title: "Protocol versions the server accepts",
    raises: E,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
    fix: "answer initialize for 2025-06-18 or later",
    example: None,
    probe: None,
};

pub const TRANSPORT_ERA: Check = Check {
    id: "transport.era",
    stage: Stage::Transport,
    title: "The MCP eras the server speaks",
    raises: W,
    breaks: &[ClaudeConnectors, ClaudeCode, McpRemote],
    fix: "until clients speak 2026-07-28, also answer initialize (a dual-era server, as the official SDKs 2.x do); users of such clients need a translating bridge (Tether, or mcp-remote --protocol auto)",
    example: None,
    probe: None,
};

/// Every check, in the order of a report.
pub static CATALOGUE: &[&Check] = &[
    &URL_HTTPS,
    &NET_DNS,
    &NET_CONNECT,
    &NET_TLS,
    &NET_LATENCY,
    &WAF_USER_AGENTS,
    &MCP_INITIALIZE,
    &AUTH_HTML_LOGIN,
    &AUTH_WWW_AUTHENTICATE,
    &AUTH_BEARER,
    &AUTH_RESOURCE_METADATA,
    &AUTH_HTML_401,
    &CORS_EXPOSE_WWW_AUTHENTICATE,
    &PRM_FOUND,
    &PRM_RESOURCE,
    &PRM_AUTHORIZATION_SERVERS,
    &CACHE_PRM,
    &CORS_PRM,
    &AS_METADATA,
    &AS_OAUTH_METADATA,
    &AS_ISSUER,
    &AS_PKCE,
    &AS_REGISTRATION,
    &AS_PUBLIC_CLIENTS,
    &AS_AUTHORIZE_HTTPS,
    &AS_TOKEN_HTTPS,
    &CACHE_AS,
    &CORS_AS,
    &PROBE_REGISTRATION,
    &PROBE_REGISTRATION_LOOPBACK,
    &PROBE_REGISTRATION_EXPIRY,
    &PROBE_REGISTRATION_METHOD,
    &PROBE_REGISTRATION_CLAUDE,
    &PROBE_REDIRECT_UNREGISTERED,
    &PROBE_REDIRECT_PORT,
    &PROBE_REDIRECT_LOCALHOST,
    &PROBE_REFRESH,
    &PROBE_SIGN_IN,
    &PROBE_TOKEN_STATUS,
    &PROBE_TOKEN_TYPE,
    &PROBE_TOKEN_EXPIRES_IN,
    &PROBE_TOKEN_FIELDS,
    &PROBE_TOKEN_REFRESH_TOKEN,
    &PROBE_TOKEN_ACCEPTED,
    &PROBE_REFRESH_GRANT,
    &PROBE_REFRESH_ROTATION,
    &PROBE_REVOCATION,
    &TRANSPORT_KIND,
    &TRANSPORT_VERSIONS,
    &TRANSPORT_ERA,
];

/// The catalogue as text (`tether doctor --list-checks`): each stage, then
/// each check with what it can raise, the clients it can break and the fix.
pub fn to_text() -> String {
    let mut out = format!(
        "tether doctor runs {} checks, in a client's order; ids are stable (`--json`).\n",
        CATALOGUE.len()
    );
    let mut stage = None;
    for c in CATALOGUE {
        if stage != Some(c.stage) {
            stage = Some(c.stage);
            out.push_str(&format!("\n{}\n", c.stage.name()));
        }
        let raises: Vec<&str> = c.raises.iter().map(|l| level_word(*l)).collect();
        let probe = c.probe.map(|p| format!(", only with {}", p.flag())).unwrap_or_default();
        out.push_str(&format!(
            "  {:<30} {} ({}{probe})\n",
            c.id,
            c.title,
            raises.join(" or ")
        ));
        if !c.breaks.is_empty() {
            let names: Vec<&str> = c.breaks.iter().map(|a| a.name()).collect();
            out.push_str(&format!("  {:<30} breaks: {}\n", "", names.join(", ")));
        }
        out.push_str(&format!("  {:<30} fix: {}\n", "", c.fix));
    }
    out
}

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Ok => "ok",
        Level::Skipped => "skipped",
        Level::Warning => "warning",
        Level::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_has_a_unique_well_formed_id_a_title_and_a_fix() {
        let mut seen = std::collections::HashSet::new();
        for c in CATALOGUE {
            assert!(seen.insert(c.id), "{} is listed twice", c.id);
            let (prefix, rest) = c.id.split_once('.').unwrap_or_else(|| panic!("{}: no dot", c.id));
            assert!(
                !prefix.is_empty()
                    && !rest.is_empty()
                    && c.id
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '.' || ch == '-'),
                "{} is not a lower-case dotted id",
                c.id
            );
            assert!(!c.title.is_empty() && !c.fix.is_empty(), "{}", c.id);
            assert!(!c.raises.is_empty(), "{} can never fail", c.id);
            assert!(
                c.raises.iter().all(|l| matches!(l, Level::Warning | Level::Error)),
                "{}",
                c.id
            );
            assert_eq!(check(c.id).map(|x| x.id), Some(c.id));
        }
        assert_eq!(check("no.such-check").map(|c| c.id), None);
    }

    #[test]
    fn the_catalogue_runs_in_a_client_s_order_and_keeps_the_published_ids() {
        let stages: Vec<Stage> = CATALOGUE.iter().map(|c| c.stage).collect();
        assert!(stages.is_sorted(), "checks are grouped by stage, in order");
        // The ids of the first `--json` release; scripts match on them.
        for id in [
            "url.https",
            "net.dns",
            "net.connect",
            "net.tls",
            "net.latency",
            "waf.user-agents",
            "mcp.initialize",
            "auth.html-login",
            "auth.www-authenticate",
            "auth.bearer",
            "auth.resource-metadata",
            "cors.expose-www-authenticate",
            "prm.found",
            "prm.resource",
            "prm.authorization-servers",
            "cache.prm",
            "cors.prm",
            "as.metadata",
            "as.issuer",
            "as.pkce",
            "as.registration",
            "as.public-clients",
            "as.authorize-https",
            "as.token-https",
            "cache.as",
            "cors.as",
            "probe.registration",
            "probe.registration-expiry",
            "probe.registration-method",
            "probe.redirect-port",
            "probe.redirect-localhost",
            "probe.refresh",
            "transport.kind",
            "transport.versions",
            "transport.era",
        ] {
            assert!(check(id).is_some(), "{id} is gone");
        }
        assert_eq!(CATALOGUE.len(), 50);
    }

    #[test]
    fn checks_that_create_state_are_probes_and_only_probes_create_state() {
        for c in CATALOGUE {
            assert_eq!(c.stage == Stage::Probes, c.probe.is_some(), "{}", c.id);
        }
        let sign_in: Vec<&str> = CATALOGUE
            .iter()
            .filter(|c| c.probe == Some(Probe::SignIn))
            .map(|c| c.id)
            .collect();
        assert_eq!(sign_in.len(), 10, "{sign_in:?}");
    }

    #[test]
    fn a_finding_takes_the_check_s_title_clients_and_fix_and_a_pass_takes_none() {
        let f = PROBE_TOKEN_STATUS.error("HTTP 201");
        assert_eq!(f.id, "probe.token-status");
        assert_eq!(f.title, PROBE_TOKEN_STATUS.title);
        assert_eq!(f.level, Level::Error);
        assert_eq!(f.breaks, vec![ClaudeConnectors]);
        assert!(f.fix.as_deref().is_some_and(|x| x.contains("200 OK")));
        assert!(f.example.as_deref().is_some_and(|x| x.contains("\"expires_in\": 3600")));
        assert!(f.fits(&PROBE_TOKEN_STATUS));

        let ok = PROBE_TOKEN_STATUS
            .ok("HTTP 200")
            .with_fix("ignored")
            .breaking(&[Tether]);
        assert_eq!(
            (ok.breaks.len(), ok.fix.is_none(), ok.example.is_none()),
            (0, true, true)
        );
        assert!(ok.fits(&PROBE_TOKEN_STATUS));

        let narrowed = WAF_USER_AGENTS
            .warning("browsers differ")
            .breaking(&[])
            .with_fix("this");
        assert!(narrowed.breaks.is_empty());
        assert_eq!(narrowed.fix.as_deref(), Some("this"));
        assert!(narrowed.fits(&WAF_USER_AGENTS));
    }

    #[test]
    fn a_finding_that_does_not_fit_its_check_is_told_apart() {
        // A level the check never raises, and a client it cannot break.
        assert!(!NET_LATENCY.ok("x").fits(&NET_DNS));
        let mut wrong_level = NET_LATENCY.warning("slow");
        wrong_level.level = Level::Error;
        assert!(!wrong_level.fits(&NET_LATENCY));
        assert!(!NET_LATENCY.warning("slow").breaking(&[Tether]).fits(&NET_LATENCY));
    }

    #[test]
    fn the_listing_names_every_check_with_its_stage_flag_and_fix() {
        let text = to_text();
        assert!(text.starts_with("tether doctor runs 50 checks"), "{text}");
        for c in CATALOGUE {
            assert!(text.contains(c.id) && text.contains(c.title), "{}", c.id);
        }
        assert!(text.contains("\nAuthorization server metadata\n"));
        assert!(text.contains("A sign-in in the browser completes (error, only with --probe-sign-in)"));
        assert!(text.contains("breaks: Claude Desktop and claude.ai connectors"));
    }
}
