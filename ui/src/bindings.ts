// The types the window exchanges with the app, generated from the Rust types by ts-rs
// (src-tauri/crates/tether/src/contract.rs). Do not edit: run
// `TETHER_BLESS=1 cargo test -p tether bindings` after changing a Rust type.

export type AuthKind = "oauth" | "bearer" | "none";

export type ServerState = { "state": "ready" } | { "state": "signed-in", expires_at: number | null, } | { "state": "needs-sign-in" } | { "state": "signing-in" } | { "state": "error", message: string, };

export type ServerView = { name: string, url: string, auth: AuthKind, 
/**
 * The header a static token goes in, when not `Authorization`.
 */
token_header: string | null, issuer: string | null, scopes: string | null, signed_in_at: number | null, last_error: string | null, 
/**
 * The MCP revision the server was last found to speak when it is the
 * stateless one (2026-07-28) that bridges translate for a 2025-era
 * client; `None` for a server of the 2025 handshake era (or not met).
 */
modern_protocol: string | null, } & ({ "state": "ready" } | { "state": "signed-in", expires_at: number | null, } | { "state": "needs-sign-in" } | { "state": "signing-in" } | { "state": "error", message: string, });

export type ServerRow = { 
/**
 * Ids of the MCP clients whose config runs it.
 */
clients: Array<string>, name: string, url: string, auth: AuthKind, 
/**
 * The header a static token goes in, when not `Authorization`.
 */
token_header: string | null, issuer: string | null, scopes: string | null, signed_in_at: number | null, last_error: string | null, 
/**
 * The MCP revision the server was last found to speak when it is the
 * stateless one (2026-07-28) that bridges translate for a 2025-era
 * client; `None` for a server of the 2025 handshake era (or not met).
 */
modern_protocol: string | null, } & ({ "state": "ready" } | { "state": "signed-in", expires_at: number | null, } | { "state": "needs-sign-in" } | { "state": "signing-in" } | { "state": "error", message: string, });

export type ClientRow = { id: string, name: string, installed: boolean, path: string | null, 
/**
 * The servers its config runs through this app's `tether`.
 */
configured: Array<string>, 
/**
 * Those of `configured` whose entry is an HTTP entry (the client talks
 * to the server, `tether token` gives it the headers); the others run
 * `tether run` over stdio.
 */
http: Array<string>, 
/**
 * Whether the client can run a program for a server's headers
 * (`McpClient::headers_hook`), so it can be given the HTTP entry.
 */
headers_hook: boolean, };

export type ServerKind = "oauth" | "token" | "open";

export type Probe = { kind: ServerKind, 
/**
 * The server's own name, when it answered `initialize`.
 */
server_name: string | null, 
/**
 * The authorization server, for OAuth.
 */
issuer: string | null, 
/**
 * Whether it speaks only the old HTTP+SSE transport.
 */
legacy_sse: boolean, 
/**
 * A sentence for the user.
 */
summary: string, };

export type AddRequest = { name: string, url: string, auth: AuthKind, token: string | null, token_header: string | null, 
/**
 * The MCP clients to add it to.
 */
clients: Array<string>, 
/**
 * Editing a token server: keep the stored token when none is given.
 */
keep_token: boolean, };

export type InstallReport = { installed: Array<ClientChange>, errors: Array<ClientFailure>, };

export type UninstallReport = { removed: Array<ClientChange>, errors: Array<ClientFailure>, };

export type ClientChange = { 
/**
 * The MCP client's id.
 */
client: string, path: string, };

export type ClientFailure = { client: string, message: string, };

export type ImportCandidate = { 
/**
 * The MCP client's id.
 */
client: string, 
/**
 * Its config file.
 */
file: string, 
/**
 * The entry's name there.
 */
name: string, 
/**
 * The server name it gets in Tether.
 */
server: string, url: string, 
/**
 * The header whose token moves to the keychain.
 */
token_header: string | null, 
/**
 * Whether a token or client secret moves to the keychain.
 */
has_secret: boolean, 
/**
 * mcp-remote flags with no Tether equivalent (dropped).
 */
ignored: Array<string>, 
/**
 * Why it cannot be imported as it is.
 */
problem: string | null, };

export type Pick = { client: string, name: string, };

export type ImportReport = { 
/**
 * The servers imported.
 */
imported: Array<string>, errors: Array<NamedFailure>, 
/**
 * mcp-remote's token cache (`~/.mcp-auth`, plain-text tokens), when it
 * is still on disk after an import that imported something: the app
 * offers to delete it (`tether import --delete-mcp-auth`, or
 * `clients::mcp_auth::delete`, which needs no keychain). Absent when
 * there is none or it was deleted.
 */
mcp_auth_cache?: string, };

export type NamedFailure = { name: string, message: string, };

export type SettingsView = { 
/**
 * The MCP clients new servers are added to.
 */
clients: Array<string>, client_metadata_url: string | null, start_at_login: boolean, log_level: LogLevel, };

export type LogLevel = "info" | "debug";

export type Level = "ok" | "skipped" | "warning" | "error";

export type Affected = "claude-connectors" | "claude-code" | "mcp-remote" | "tether" | "cursor" | "vscode";

export type Finding = { 
/**
 * Stable: scripts and the app match on it.
 */
id: string, level: Level, 
/**
 * What was checked, in a few words.
 */
title: string, 
/**
 * What was seen.
 */
saw: string, 
/**
 * Which clients it breaks (empty when ok).
 */
breaks: Array<Affected>, 
/**
 * What to change.
 */
fix: string | null, 
/**
 * An example of a correct response or configuration.
 */
example: string | null, };

export type Summary = { ok: number, warnings: number, errors: number, skipped: number, };

export type DoctorReport = { url: string, summary: Summary, findings: Array<Finding>, };

export type Diagnosis = { report: DoctorReport, markdown: string, };

export type Health = "connected" | "signed-in" | "needs-sign-in" | "signing-in" | "error";

export type Status = { server: string, health: Health, expires_at: number | null, last_error: string | null, pid: number, updated_at: number, };

export type ServerStatus = { name: string, 
/**
 * Query values masked.
 */
url: string, auth: AuthKind, signed_in: boolean, issuer: string | null, client_id: string | null, scopes: string | null, 
/**
 * Unix seconds.
 */
expires_at: number | null, 
/**
 * Seconds left, when the token says.
 */
expires_in: number | null, has_refresh_token: boolean, 
/**
 * The token, masked (`eyJh…sig`); never whole.
 */
access_token: string | null, 
/**
 * The keychain that holds it.
 */
stored_in: string | null, 
/**
 * What the server's bridge last reported.
 */
bridge: Status | null, } & ({ "state": "ready" } | { "state": "signed-in", expires_at: number | null, } | { "state": "needs-sign-in" } | { "state": "signing-in" } | { "state": "error", message: string, });

export type StatusReport = { servers: Array<ServerStatus>, };

export type Done = { server: string, 
/**
 * What happened, as the command says it to a person.
 */
message: string, };

export type Failure = { error: FailureBody, };

export type FailureBody = { 
/**
 * A sentence a person can act on, with its causes.
 */
message: string, };
