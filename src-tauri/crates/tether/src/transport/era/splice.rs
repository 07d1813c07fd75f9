//! Edits of a JSON-RPC message that keep every byte they do not change.
//!
//! The era translation has to add to the client's messages (`_meta` keys on
//! every request, MCP 2026-07-28 §"Basic: `_meta`"; `inputResponses` and
//! `requestState` on a retry, SEP-2322) and to change the id of an answer to
//! a retried request back to the id the client used (JSON-RPC 2.0 §5: the
//! response id is the request's). Re-serialising through `serde_json::Value`
//! would reorder keys and reformat numbers, which the bridge promises not to
//! do, so these functions splice: they find the member with `RawValue`
//! (which borrows the input, so its position is known) and insert or
//! replace bytes there. Everything else, unknown fields and the client's own
//! `_meta` included, stays as it was.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The top-level members a splice needs to find.
#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// The members of `params` a splice needs to find.
#[derive(Deserialize)]
struct Params<'a> {
    #[serde(borrow, default, rename = "_meta")]
    meta: Option<&'a RawValue>,
}

/// Where `raw` starts inside `base` (it was borrowed from it).
fn offset(base: &[u8], raw: &RawValue) -> usize {
    let start = raw.get().as_ptr() as usize - base.as_ptr() as usize;
    debug_assert!(
        start + raw.get().len() <= base.len(),
        "the raw value must come from base"
    );
    start
}

/// Whether the object starting at `base[open]` (its `{`) has no members.
fn is_empty_object(base: &[u8], open: usize) -> bool {
    base[open + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'}')
}

/// Inserts `members` (`"key":value` pairs, comma-separated, no braces) as
/// the first members of the object whose `{` is at `base[open]`.
fn insert_members(base: &[u8], open: usize, members: &str) -> Bytes {
    let empty = is_empty_object(base, open);
    let mut out = Vec::with_capacity(base.len() + members.len() + 1);
    out.extend_from_slice(&base[..=open]);
    out.extend_from_slice(members.as_bytes());
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(&base[open + 1..]);
    Bytes::from(out)
}

/// The keys an object has, read without allocating its values.
fn keys_of(object: &RawValue) -> Option<Vec<String>> {
    let map: std::collections::BTreeMap<String, &RawValue> = serde_json::from_str(object.get()).ok()?;
    Some(map.into_keys().collect())
}

/// `"key":value` for each entry whose key is not in `present`.
fn members(entries: &[(&str, &str)], present: &[String]) -> String {
    let mut out = String::new();
    for (key, value) in entries {
        if present.iter().any(|k| k == key) {
            continue;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(*key).to_string());
        out.push(':');
        out.push_str(value);
    }
    out
}

/// Adds `entries` (key, JSON text) to `params._meta` of a request, creating
/// `_meta` and `params` where they are missing. A key the message already
/// has keeps its value: the client's word wins. `None` when the message is
/// not a JSON object or its `params` or `_meta` is not an object.
pub fn with_meta(message: &[u8], entries: &[(&str, &str)]) -> Option<Bytes> {
    let top: Top<'_> = serde_json::from_slice(message).ok()?;
    let Some(params) = top.params else {
        let open = message.iter().position(|b| *b == b'{')?;
        let meta = members(entries, &[]);
        return Some(insert_members(
            message,
            open,
            &format!("\"params\":{{\"_meta\":{{{meta}}}}}"),
        ));
    };
    if !params.get().starts_with('{') {
        return None;
    }
    let parsed: Params<'_> = serde_json::from_str(params.get()).ok()?;
    match parsed.meta {
        Some(meta) if meta.get().starts_with('{') => {
            let present = keys_of(meta)?;
            let add = members(entries, &present);
            if add.is_empty() {
                return Some(Bytes::copy_from_slice(message));
            }
            Some(insert_members(message, offset(message, meta), &add))
        }
        Some(_) => None,
        None => {
            let meta = members(entries, &[]);
            Some(insert_members(
                message,
                offset(message, params),
                &format!("\"_meta\":{{{meta}}}"),
            ))
        }
    }
}

/// Adds `entries` (key, JSON text) as members of `params`, creating it when
/// missing; keys already present keep their value. `None` when `params` is
/// not an object.
pub fn with_params(message: &[u8], entries: &[(&str, &str)]) -> Option<Bytes> {
    let top: Top<'_> = serde_json::from_slice(message).ok()?;
    let Some(params) = top.params else {
        let open = message.iter().position(|b| *b == b'{')?;
        return Some(insert_members(
            message,
            open,
            &format!("\"params\":{{{}}}", members(entries, &[])),
        ));
    };
    if !params.get().starts_with('{') {
        return None;
    }
    let present = keys_of(params)?;
    let add = members(entries, &present);
    if add.is_empty() {
        return Some(Bytes::copy_from_slice(message));
    }
    Some(insert_members(message, offset(message, params), &add))
}

/// Replaces the top-level `id` with `id` (JSON text). `None` when the
/// message has no id.
pub fn with_id(message: &[u8], id: &str) -> Option<Bytes> {
    let top: Top<'_> = serde_json::from_slice(message).ok()?;
    let old = top.id?;
    let start = offset(message, old);
    let end = start + old.get().len();
    let mut out = Vec::with_capacity(message.len() + id.len());
    out.extend_from_slice(&message[..start]);
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(&message[end..]);
    Some(Bytes::from(out))
}

/// Takes out of the `tools` array of a `tools/list` answer the elements
/// `keep` refuses; the kept elements and the separators before them stay as
/// they were. `None` when there is no `result.tools` array.
pub fn retain_tools(message: &[u8], mut keep: impl FnMut(&RawValue) -> bool) -> Option<Bytes> {
    #[derive(Deserialize)]
    struct Answer<'a> {
        #[serde(borrow)]
        result: &'a RawValue,
    }
    #[derive(Deserialize)]
    struct Listing<'a> {
        #[serde(borrow)]
        tools: &'a RawValue,
    }
    let answer: Answer<'_> = serde_json::from_slice(message).ok()?;
    let listing: Listing<'_> = serde_json::from_str(answer.result.get()).ok()?;
    let tools: Vec<&RawValue> = serde_json::from_str(listing.tools.get()).ok()?;
    let open = offset(message, listing.tools);
    let close = open + listing.tools.get().len() - 1;
    let spans: Vec<(usize, usize)> = tools
        .iter()
        .map(|t| {
            let start = offset(message, t);
            (start, start + t.get().len())
        })
        .collect();
    let mut out = Vec::with_capacity(message.len());
    out.extend_from_slice(&message[..=open]);
    let mut first = true;
    for (i, tool) in tools.iter().enumerate() {
        if !keep(tool) {
            continue;
        }
        let (start, end) = spans[i];
        // The bytes before the element: after `[` for the first one kept,
        // else the separator (comma and spacing) the server put before it.
        let gap = if first {
            &message[open + 1..spans[0].0]
        } else {
            &message[spans[i - 1].1..start]
        };
        out.extend_from_slice(gap);
        out.extend_from_slice(&message[start..end]);
        first = false;
    }
    let trailing = spans.last().map_or(open + 1, |s| s.1);
    out.extend_from_slice(&message[trailing..close]);
    out.extend_from_slice(&message[close..]);
    Some(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: Option<Bytes>) -> String {
        String::from_utf8(b.expect("spliced").to_vec()).unwrap()
    }

    const V: (&str, &str) = ("io.modelcontextprotocol/protocolVersion", "\"2026-07-28\"");

    #[test]
    fn meta_is_added_where_params_has_none_and_every_other_byte_stays() {
        let m = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x", "arguments":{"a":1.50}},"extra":true}"#;
        assert_eq!(
            s(with_meta(m, &[V])),
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"x", "arguments":{"a":1.50}},"extra":true}"#
        );
    }

    #[test]
    fn meta_keys_join_the_clients_own_meta_without_overriding_it() {
        let m = br#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"_meta":{"progressToken":3,"io.modelcontextprotocol/protocolVersion":"mine"},"name":"x"}}"#;
        let caps = ("io.modelcontextprotocol/clientCapabilities", "{}");
        assert_eq!(
            s(with_meta(m, &[V, caps])),
            r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"progressToken":3,"io.modelcontextprotocol/protocolVersion":"mine"},"name":"x"}}"#
        );
    }

    #[test]
    fn params_and_meta_are_created_when_missing_or_empty() {
        assert_eq!(
            s(with_meta(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, &[V])),
            r#"{"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}},"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
        );
        assert_eq!(
            s(with_meta(br#"{"id":1,"method":"ping","params":{ }}"#, &[V])),
            r#"{"id":1,"method":"ping","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"} }}"#
        );
        assert_eq!(
            s(with_meta(br#"{"id":1,"method":"ping","params":{"_meta":{}}}"#, &[V])),
            r#"{"id":1,"method":"ping","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#
        );
    }

    #[test]
    fn params_that_are_not_an_object_are_not_stamped() {
        assert!(with_meta(br#"{"id":1,"method":"m","params":[1,2]}"#, &[V]).is_none());
        assert!(with_meta(br#"{"id":1,"method":"m","params":{"_meta":5}}"#, &[V]).is_none());
        assert!(with_meta(b"[1]", &[V]).is_none());
    }

    #[test]
    fn a_retry_carries_the_input_responses_and_the_exact_request_state() {
        let m = br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"t"}}"#;
        let out = with_params(
            m,
            &[
                ("inputResponses", r#"{"k":{"action":"accept"}}"#),
                ("requestState", r#""a\"b\u00e9""#),
            ],
        );
        assert_eq!(
            s(out),
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"inputResponses":{"k":{"action":"accept"}},"requestState":"a\"b\u00e9","name":"t"}}"#
        );
    }

    #[test]
    fn the_id_is_replaced_in_place() {
        assert_eq!(
            s(with_id(br#"{"jsonrpc":"2.0","id":"tether-3","result":{"id":5}}"#, "12")),
            r#"{"jsonrpc":"2.0","id":12,"result":{"id":5}}"#
        );
        assert!(with_id(br#"{"jsonrpc":"2.0","method":"n"}"#, "1").is_none());
    }

    #[test]
    fn tools_are_filtered_with_the_kept_ones_byte_for_byte() {
        let m = br#"{"jsonrpc":"2.0","id":2,"result":{"tools":[ {"name":"a"} , {"name":"bad"},{"name":"c","x":1.0} ],"nextCursor":"n"}}"#;
        assert_eq!(
            s(retain_tools(m, |t| !t.get().contains("bad"))),
            r#"{"jsonrpc":"2.0","id":2,"result":{"tools":[ {"name":"a"},{"name":"c","x":1.0} ],"nextCursor":"n"}}"#
        );
        assert_eq!(
            s(retain_tools(m, |t| !t.get().contains(r#""a""#))),
            r#"{"jsonrpc":"2.0","id":2,"result":{"tools":[ {"name":"bad"},{"name":"c","x":1.0} ],"nextCursor":"n"}}"#
        );
        assert_eq!(
            s(retain_tools(m, |_| false)),
            r#"{"jsonrpc":"2.0","id":2,"result":{"tools":[ ],"nextCursor":"n"}}"#
        );
    }
}
