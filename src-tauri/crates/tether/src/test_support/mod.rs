//! Fakes and helpers for the crate's unit tests (compiled only for tests).
//!
//! Owns the in-process peers the seams are tested against: a fake
//! [`TokenSource`](crate::auth::TokenSource) ([`token_source`]), a small HTTP
//! server that hands each request to a closure ([`http`]), and on top of it a
//! fake MCP Streamable HTTP server ([`mcp`], MCP 2025-11-25 §"Streamable
//! HTTP"), a fake HTTP+SSE server ([`legacy`], MCP 2024-11-05 §"HTTP with
//! SSE") and a fake OAuth token endpoint with single-use refresh tokens
//! ([`oauth`], OAuth 2.1 §4.3), and a route table of fixed answers for the
//! OAuth modules' tests ([`routes`]). Each is named a fake: it does what the tests
//! need and no more, and records what it saw so tests can assert on the wire.

pub mod http;
pub mod legacy;
pub mod mcp;
pub mod oauth;
pub mod routes;
pub mod token_source;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory of its own under the system's temporary directory, removed
/// when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("tether-{prefix}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("a temporary directory");
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits up to five seconds for `fut`: a test that would otherwise hang
/// fails with `what` instead.
pub async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(std::time::Duration::from_secs(5), fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}
