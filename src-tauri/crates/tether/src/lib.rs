//! Tether's core: the stdio bridge that puts a remote MCP server into Claude
//! Desktop, and everything it needs. No Tauri, no GUI library: the tray app
//! and the `tether` binary are both thin layers over this crate.
//!
//! A message travels one way through the modules:
//!
//! ```text
//! stdin ─▶ bridge (framing, validation, lifecycle)
//!            ─▶ transport (Streamable HTTP or HTTP+SSE, sessions, streams)
//!                 ─▶ remote MCP server
//!                 ◀─ answers ─▶ transport::replies ─▶ stdout
//!          transport ─asks─▶ auth::TokenSource (a token for this request; that one got 401)
//! ```
//!
//! Nothing below the bridge knows about stdio; nothing below the transport
//! knows about HTTP sessions. See `ARCHITECTURE.md` for the map.

pub mod auth;
pub mod bridge;
pub mod clients;
pub mod config;
pub mod contract;
pub mod doctor;
pub mod jsonrpc;
pub mod logging;
pub mod manage;
pub mod net;
pub mod overview;
pub mod paths;
pub mod probe;
pub mod profile;
pub mod servers;
pub mod store;
pub mod sync;
#[cfg(test)]
pub(crate) mod test_support;
pub mod text;
pub mod transport;
