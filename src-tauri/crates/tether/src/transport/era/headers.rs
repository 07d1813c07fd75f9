//! The request metadata headers of MCP 2026-07-28 Streamable HTTP (SEP-2243).
//!
//! Owns what a client mirrors from a request body into headers so that
//! gateways can route without reading the body (2026-07-28
//! §"Transports: Request Metadata"): `Mcp-Method` on every POST, `Mcp-Name`
//! (`params.name`, or `params.uri` for `resources/read`) on `tools/call`,
//! `resources/read` and `prompts/get`, and `Mcp-Param-{Name}` for each tool
//! argument whose schema carries an `x-mcp-header` annotation
//! (§"Custom Headers from Tool Parameters"). Values that are not plain
//! header-safe ASCII travel as `=?base64?…?=` (§"Value Encoding"). A tool
//! whose annotations break the rules (empty, not a token, duplicated, on a
//! non-primitive or `number` parameter, or not reachable through
//! `properties` alone) is rejected: the client "MUST exclude the invalid
//! tool from the result of `tools/list`" (§"Schema Extension").

use base64::Engine;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

pub const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
pub const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

const PARAM_PREFIX: &str = "mcp-param-";

/// The JSON type an annotated parameter has (§"Schema Extension": only
/// `integer`, `string` and `boolean` may carry `x-mcp-header`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Integer,
    Boolean,
}

/// One argument mirrored into a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamHeader {
    /// The chain of `properties` keys from the schema root.
    pub path: Vec<String>,
    /// `Mcp-Param-{x-mcp-header}`.
    pub header: HeaderName,
    pub kind: Kind,
}

/// The value of a header, encoded as §"Value Encoding" says: as it is when
/// it is printable ASCII without leading or trailing whitespace and does not
/// look like the sentinel, else Base64 of its UTF-8 bytes inside
/// `=?base64?…?=`.
pub fn encode(value: &str) -> HeaderValue {
    let plain = value.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && value.trim_matches(' ') == value
        && !(value.starts_with("=?base64?") && value.ends_with("?="));
    if plain && let Ok(v) = HeaderValue::from_str(value) {
        return v;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
    HeaderValue::from_str(&format!("=?base64?{encoded}?=")).expect("Base64 is header-safe")
}

/// `Mcp-Method`, when the method can be a header value at all.
pub fn method(method: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(method).ok().filter(|_| !method.is_empty())
}

/// Whether `Mcp-Name` applies to `method` and which member of `params` it
/// mirrors.
pub fn name_source(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The headers a tool's arguments are mirrored into, or why the tool must
/// be rejected.
pub fn tool_headers(input_schema: &Value) -> Result<Vec<ParamHeader>, String> {
    let mut found = Vec::new();
    walk(input_schema, Some(Vec::new()), &mut found)?;
    let mut seen: Vec<String> = Vec::new();
    for h in &found {
        let lower = h.header.as_str().to_owned();
        if seen.contains(&lower) {
            return Err(format!(
                "x-mcp-header \"{}\" is used twice (names must be unique regardless of case)",
                &lower[PARAM_PREFIX.len()..]
            ));
        }
        seen.push(lower);
    }
    Ok(found)
}

/// Keywords whose value is a subschema, an array of them, or a map of them
/// (JSON Schema 2020-12 and draft-07). Only `properties` keeps a property
/// statically reachable.
const ONE: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "items",
    "additionalItems",
    "contains",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "propertyNames",
];
const MANY: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems", "items"];
const MAP: &[&str] = &["$defs", "definitions", "patternProperties", "dependentSchemas"];

fn walk(node: &Value, path: Option<Vec<String>>, found: &mut Vec<ParamHeader>) -> Result<(), String> {
    let Some(object) = node.as_object() else { return Ok(()) };
    if let Some(annotation) = object.get("x-mcp-header") {
        let at = match &path {
            Some(p) if !p.is_empty() => p.clone(),
            Some(_) => return Err("x-mcp-header on the schema root".into()),
            None => {
                return Err(
                    "x-mcp-header on a parameter that is not reachable through \"properties\" alone (inside items, oneOf, $defs, …)"
                        .into(),
                );
            }
        };
        let name = annotation
            .as_str()
            .ok_or_else(|| format!("x-mcp-header of {} is not a string", at.join(".")))?;
        if name.is_empty() {
            return Err(format!("x-mcp-header of {} is empty", at.join(".")));
        }
        if !name.chars().all(is_tchar) {
            return Err(format!(
                "x-mcp-header \"{}\" is not an HTTP header name token",
                name.escape_debug()
            ));
        }
        let kind = primitive(object.get("type")).ok_or_else(|| {
            format!(
                "x-mcp-header \"{name}\" is on {}, which is not of type string, integer or boolean",
                at.join(".")
            )
        })?;
        let header = HeaderName::from_bytes(format!("{PARAM_PREFIX}{name}").as_bytes())
            .map_err(|_| format!("x-mcp-header \"{name}\" makes no valid header name"))?;
        found.push(ParamHeader { path: at, header, kind });
    }
    for (key, value) in object {
        if key == "properties" {
            if let Some(props) = value.as_object() {
                for (name, sub) in props {
                    let next = path.as_ref().map(|p| {
                        let mut p = p.clone();
                        p.push(name.clone());
                        p
                    });
                    walk(sub, next, found)?;
                }
            }
        } else if ONE.contains(&key.as_str()) && value.is_object() {
            walk(value, None, found)?;
        } else if MANY.contains(&key.as_str()) && value.is_array() {
            for sub in value.as_array().into_iter().flatten() {
                walk(sub, None, found)?;
            }
        } else if MAP.contains(&key.as_str()) {
            for sub in value.as_object().into_iter().flat_map(|m| m.values()) {
                walk(sub, None, found)?;
            }
        }
    }
    Ok(())
}

/// The primitive type of a schema's `type`: one of the three allowed, alone
/// or with `"null"` (a nullable parameter).
fn primitive(ty: Option<&Value>) -> Option<Kind> {
    let one = |s: &str| match s {
        "string" => Some(Kind::String),
        "integer" => Some(Kind::Integer),
        "boolean" => Some(Kind::Boolean),
        _ => None,
    };
    match ty? {
        Value::String(s) => one(s),
        Value::Array(types) => {
            let mut kinds = types.iter().filter(|t| t.as_str() != Some("null"));
            let first = one(kinds.next()?.as_str()?)?;
            kinds.next().is_none().then_some(first)
        }
        _ => None,
    }
}

/// The `Mcp-Param-*` headers for one call's `arguments`. A parameter that is
/// absent or `null` gets no header (§"Server Behavior for Custom Headers").
pub fn param_values(headers: &[ParamHeader], arguments: Option<&Value>) -> Vec<(HeaderName, HeaderValue)> {
    let Some(arguments) = arguments else { return Vec::new() };
    headers
        .iter()
        .filter_map(|h| {
            let mut v = arguments;
            for key in &h.path {
                v = v.get(key)?;
            }
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                    (Some(i), _, _) => i.to_string(),
                    (_, Some(u), _) => u.to_string(),
                    (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
                        format!("{}", f as i64)
                    }
                    _ => n.to_string(),
                },
                _ => return None,
            };
            Some((h.header.clone(), encode(&text)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_encoded_as_the_spec_table_shows() {
        assert_eq!(encode("us-west1"), "us-west1");
        assert_eq!(encode("us west 1"), "us west 1");
        assert_eq!(encode(""), "");
        assert_eq!(encode("Hello, 世界"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
        assert_eq!(encode(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(encode("line1\nline2"), "=?base64?bGluZTEKbGluZTI=?=");
        assert_eq!(encode("=?base64?literal?="), "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
        assert_eq!(encode("\tindented"), "=?base64?CWluZGVudGVk?=");
    }

    #[test]
    fn annotated_parameters_become_headers_with_their_path_and_type() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "n": {"type": "integer", "x-mcp-header": "Priority"},
            "opts": {"type": "object", "properties": {"v": {"type": ["boolean", "null"], "x-mcp-header": "Verbose"}}},
            "float": {"type": "number"},
        }});
        let mut h = tool_headers(&schema).unwrap();
        h.sort_by(|a, b| a.header.as_str().cmp(b.header.as_str()));
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].header, "mcp-param-priority");
        assert_eq!(h[2].path, vec!["opts".to_owned(), "v".to_owned()]);
        assert_eq!(h[2].kind, Kind::Boolean);
        let values = param_values(
            &h,
            Some(&json!({"region": "Zürich", "n": 42.0, "opts": {"v": false}, "float": 3.1})),
        );
        let shown: Vec<(String, String)> = values
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        assert!(shown.contains(&("mcp-param-priority".into(), "42".into())));
        assert!(shown.contains(&("mcp-param-region".into(), "=?base64?WsO8cmljaA==?=".into())));
        assert!(shown.contains(&("mcp-param-verbose".into(), "false".into())));
        assert_eq!(
            param_values(&h, Some(&json!({"region": null, "n": 1}))).len(),
            1,
            "null and absent values get no header"
        );
    }

    #[test]
    fn invalid_annotations_reject_the_tool() {
        let bad = [
            json!({"properties": {"v": {"type": "string", "x-mcp-header": ""}}}),
            json!({"properties": {"v": {"type": "object", "x-mcp-header": "Data"}}}),
            json!({"properties": {"v": {"type": "array", "items": {"type": "string"}, "x-mcp-header": "Items"}}}),
            json!({"properties": {"v": {"type": "null", "x-mcp-header": "Nil"}}}),
            json!({"properties": {"v": {"type": "number", "x-mcp-header": "Score"}}}),
            json!({"properties": {"a": {"type": "string", "x-mcp-header": "Region"}, "b": {"type": "string", "x-mcp-header": "Region"}}}),
            json!({"properties": {"a": {"type": "string", "x-mcp-header": "MyField"}, "b": {"type": "string", "x-mcp-header": "myfield"}}}),
            json!({"properties": {"v": {"type": "string", "x-mcp-header": "My Region"}}}),
            json!({"properties": {"v": {"type": "string", "x-mcp-header": "Region:Primary"}}}),
            json!({"properties": {"v": {"type": "string", "x-mcp-header": "Région"}}}),
            json!({"properties": {"v": {"type": "string", "x-mcp-header": "Region\t1"}}}),
            json!({"properties": {"v": {"type": "array", "items": {"type": "string", "x-mcp-header": "Deep"}}}}),
            json!({"oneOf": [{"properties": {"v": {"type": "string", "x-mcp-header": "Alt"}}}]}),
            json!({"$defs": {"id": {"type": "string", "x-mcp-header": "Id"}}, "properties": {"v": {"$ref": "#/$defs/id"}}}),
        ];
        for schema in bad {
            assert!(tool_headers(&schema).is_err(), "{schema} must be rejected");
        }
        assert_eq!(tool_headers(&json!({"type": "object"})).unwrap(), vec![]);
        assert!(
            tool_headers(
                &json!({"properties": {"v": {"type": "string", "default": {"x-mcp-header": "not a schema"}}}})
            )
            .is_ok(),
            "an annotation-looking value that is not a schema is not an annotation"
        );
    }

    #[test]
    fn mcp_name_mirrors_name_or_uri() {
        assert_eq!(name_source("tools/call"), Some("name"));
        assert_eq!(name_source("prompts/get"), Some("name"));
        assert_eq!(name_source("resources/read"), Some("uri"));
        assert_eq!(name_source("tools/list"), None);
        assert_eq!(method("tools/call").unwrap(), "tools/call");
    }
}
