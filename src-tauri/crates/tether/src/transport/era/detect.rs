//! Which era a server speaks, read from what it answered, and what a legacy
//! client is told about a modern server.
//!
//! MCP 2026-07-28 §"Versioning: Backward Compatibility" splits the revisions
//! into legacy ones (an `initialize` handshake: 2024-11-05 to 2025-11-25)
//! and modern ones (per-request `_meta`: 2026-07-28 and later). A client
//! tells them apart by the answer to its first request: a recognised modern
//! JSON-RPC error (`HeaderMismatch` -32020, `MissingRequiredClientCapability`
//! -32021, `UnsupportedProtocolVersion` -32022, or -32601 with HTTP 404,
//! §"Transports: Protocol Version Header") identifies a modern server;
//! anything else a legacy one (§"Streamable HTTP: Backward Compatibility").
//! Tether's first request is still `initialize`, so a 2025-era server pays
//! nothing; these functions read the modern server's refusal of it.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// The modern revisions Tether speaks, oldest first.
pub const MODERN_VERSIONS: &[&str] = &["2026-07-28"];

/// The revision Tether proposes on the modern wire.
pub const LATEST: &str = "2026-07-28";

/// `HeaderMismatch` (2026-07-28 schema).
pub const HEADER_MISMATCH: i64 = -32020;
/// `MissingRequiredClientCapability`.
pub const MISSING_CAPABILITY: i64 = -32021;
/// `UnsupportedProtocolVersion`.
pub const UNSUPPORTED_VERSION: i64 = -32022;
/// JSON-RPC "method not found".
pub const METHOD_NOT_FOUND: i64 = -32601;

/// Whether `version` names a modern revision: 2026-07-28 or later (versions
/// are dates, so they compare as strings).
pub fn is_modern_version(version: &str) -> bool {
    version.len() == 10 && version.as_bytes()[4] == b'-' && version >= "2026-07-28"
}

/// A JSON-RPC error as the server sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    /// `error.data.supported` of an `UnsupportedProtocolVersion` error.
    pub supported: Vec<String>,
}

/// The `error` of a JSON-RPC response, if the body is one.
pub fn rpc_error(body: &[u8]) -> Option<RpcError> {
    #[derive(Deserialize)]
    struct R {
        error: E,
    }
    #[derive(Deserialize)]
    struct E {
        code: i64,
        #[serde(default)]
        message: String,
        #[serde(default)]
        data: Option<Value>,
    }
    let e = serde_json::from_slice::<R>(body).ok()?.error;
    let supported = e
        .data
        .as_ref()
        .and_then(|d| d.get("supported"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    Some(RpcError {
        code: e.code,
        message: e.message,
        supported,
    })
}

/// Whether an error answer (with its HTTP status) comes from a modern
/// server (§"Streamable HTTP: Backward Compatibility": "a recognized modern
/// JSON-RPC error").
pub fn is_modern_error(status: u16, e: &RpcError) -> bool {
    matches!(e.code, HEADER_MISMATCH | MISSING_CAPABILITY | UNSUPPORTED_VERSION)
        || (status == 404 && e.code == METHOD_NOT_FOUND)
}

/// The modern revision to speak, from the versions a server names (its
/// `supported` list or `supportedVersions`): the newest Tether speaks too.
/// With no list, Tether's latest.
pub fn choose_version(offered: &[String]) -> Option<&'static str> {
    if offered.is_empty() {
        return Some(LATEST);
    }
    MODERN_VERSIONS
        .iter()
        .rev()
        .find(|v| offered.iter().any(|o| o == *v))
        .copied()
}

/// What a `server/discover` answer says, as far as the bridge uses it.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    pub supported_versions: Vec<String>,
    /// The server's capabilities, as a value.
    pub capabilities: Value,
    /// The result as a value, for building the `initialize` answer.
    pub result: Value,
}

/// Reads a `server/discover` result (2026-07-28 `DiscoverResult`). `None`
/// when the answer is not one (no `supportedVersions`).
pub fn discovered(result: &RawValue) -> Option<Discovered> {
    let value: Value = serde_json::from_str(result.get()).ok()?;
    let supported_versions = value
        .get("supportedVersions")?
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let capabilities = value.get("capabilities").cloned().unwrap_or_else(|| json!({}));
    Some(Discovered {
        supported_versions,
        capabilities,
        result: value,
    })
}

/// The `initialize` result a legacy client gets from a modern server's
/// `server/discover`: its capabilities, identity and instructions, at the
/// protocol version the client asked for (the client speaks only its own;
/// the translation makes the server speak it too). The identity is the
/// result's `_meta["io.modelcontextprotocol/serverInfo"]`, or a top-level
/// `serverInfo` some servers send, or a name of Tether's making.
pub fn initialize_result(d: &Discovered, requested: &str, label: &str) -> Value {
    let r = &d.result;
    let server_info = r
        .pointer("/_meta/io.modelcontextprotocol~1serverInfo")
        .or_else(|| r.get("serverInfo"))
        .filter(|v| v.get("name").is_some_and(Value::is_string))
        .cloned()
        .unwrap_or_else(|| json!({"name": label, "version": "unknown"}));
    let mut out = json!({
        "protocolVersion": requested,
        "capabilities": d.capabilities,
        "serverInfo": server_info,
    });
    if let Some(i) = r.get("instructions").filter(|i| i.is_string()) {
        out["instructions"] = i.clone();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modern_versions_are_dates_from_2026_07_28_on() {
        assert!(is_modern_version("2026-07-28"));
        assert!(is_modern_version("2027-01-01"));
        assert!(!is_modern_version("2025-11-25"));
        assert!(!is_modern_version("2024-11-05"));
        assert!(!is_modern_version("DRAFT-2026"));
    }

    #[test]
    fn a_modern_refusal_of_initialize_is_recognised_and_a_legacy_one_is_not() {
        let e = rpc_error(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"2025-11-25"}}}"#).unwrap();
        assert!(is_modern_error(400, &e));
        assert_eq!(e.supported, vec!["2026-07-28"]);
        let missing = rpc_error(
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32020,"message":"Missing MCP-Protocol-Version header"}}"#,
        )
        .unwrap();
        assert!(is_modern_error(400, &missing));
        let unknown =
            rpc_error(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}"#).unwrap();
        assert!(is_modern_error(404, &unknown));
        assert!(
            !is_modern_error(200, &unknown),
            "-32601 alone, without 404, is not a modern signal"
        );
        let session = rpc_error(
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: No valid session ID"}}"#,
        )
        .unwrap();
        assert!(!is_modern_error(400, &session));
        assert!(rpc_error(b"Bad Request").is_none());
    }

    #[test]
    fn the_version_is_the_newest_both_speak() {
        assert_eq!(
            choose_version(&["2026-07-28".into(), "2025-11-25".into()]),
            Some("2026-07-28")
        );
        assert_eq!(choose_version(&[]), Some(LATEST));
        assert_eq!(choose_version(&["2031-01-01".into()]), None);
    }

    #[test]
    fn a_discover_result_answers_a_legacy_initialize_at_the_clients_version() {
        let raw: Box<RawValue> = serde_json::from_str(
            r#"{"resultType":"complete","ttlMs":0,"cacheScope":"private","supportedVersions":["2026-07-28"],"capabilities":{"tools":{"listChanged":true}},"instructions":"Be kind","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"2"}}}"#,
        )
        .unwrap();
        let d = discovered(&raw).unwrap();
        let r = initialize_result(&d, "2025-06-18", "x");
        assert_eq!(
            r,
            json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {"listChanged": true}}, "serverInfo": {"name": "s", "version": "2"}, "instructions": "Be kind"})
        );
        let top: Box<RawValue> = serde_json::from_str(
            r#"{"supportedVersions":["2026-07-28"],"capabilities":{},"serverInfo":{"name":"t","version":"1"}}"#,
        )
        .unwrap();
        assert_eq!(
            initialize_result(&discovered(&top).unwrap(), "2025-11-25", "x")["serverInfo"]["name"],
            "t"
        );
        let bare: Box<RawValue> = serde_json::from_str(r#"{"supportedVersions":[],"capabilities":{}}"#).unwrap();
        assert_eq!(
            initialize_result(&discovered(&bare).unwrap(), "2025-11-25", "mcp.example")["serverInfo"]["name"],
            "mcp.example"
        );
        let not: Box<RawValue> = serde_json::from_str(r#"{"tools":[]}"#).unwrap();
        assert!(discovered(&not).is_none());
    }
}
