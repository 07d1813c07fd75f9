//! The JSON-RPC envelope reader (`tether::jsonrpc`): one line from the client
//! or the server, single messages and batches, and the id scanner that
//! answers lines too large or too broken to parse.
//!
//! Checks, beyond "no panic":
//! - what `parse` accepts is forwarded byte for byte: its bytes are the
//!   input minus CR and LF (nothing else is re-serialised), and UTF-8;
//!   what `parse_from_server` accepts too, with any bytes that are not
//!   UTF-8 replaced by U+FFFD;
//! - a batch is exactly a line whose first non-blank byte is `[`, with one
//!   part per element;
//! - every rejection's reply is one line of valid JSON-RPC 2.0 error
//!   response (a batch rejection an array of them), so Claude Desktop can
//!   read it, carrying an id only when one was readable;
//! - the scanner never invents an id: on any prefix of an accepted single
//!   message it finds the message's own id or nothing, and on the whole
//!   message it agrees with the parser when the key is spelled plainly.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tether::jsonrpc::{self, Kind, Message, Rejection};

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    let stripped: Vec<u8> = data.iter().copied().filter(|b| *b != b'\n' && *b != b'\r').collect();

    for strict in [true, false] {
        let parsed = if strict {
            jsonrpc::parse(input.clone())
        } else {
            jsonrpc::parse_from_server(input.clone())
        };
        // A server's bytes that are not UTF-8 are replaced (U+FFFD), so its
        // answer still arrives; a client's line must be UTF-8 as it is.
        let forwarded = if strict {
            stripped.clone()
        } else {
            String::from_utf8_lossy(&stripped).into_owned().into_bytes()
        };
        match parsed {
            Ok(m) => check_accepted(&m, &forwarded),
            Err(r) => check_rejected(&r),
        }
    }

    // The scanner on raw bytes, truncated anywhere: never a panic, and an
    // id it returns is valid JSON that can go into a reply.
    if let Some(id) = jsonrpc::scan_id(data)
        && let Some(v) = json(id.as_json().as_bytes(), "a scanned id")
    {
        assert!(
            v.is_string() || v.is_number(),
            "scanned id {id} is neither string nor number"
        );
    }

    let _ = jsonrpc::cancelled_request(data);
    let _ = jsonrpc::protocol_version(data);
    let _ = jsonrpc::meta_protocol_version(data);
    let _ = jsonrpc::result_of(data);
});

/// Parses JSON text that must be valid. `None` for what RFC 8259 allows
/// but serde_json's `Value` cannot hold, and Tether forwards as written: an
/// escaped lone surrogate (§8.2, "\ud800") or a number beyond f64 (§6 lets
/// implementations limit the range; JavaScript reads it as Infinity).
fn json(text: &[u8], what: &str) -> Option<Value> {
    match serde_json::from_slice(text) {
        Ok(v) => Some(v),
        Err(e) if e.to_string().contains("surrogate") || e.to_string().contains("number out of range") => None,
        Err(e) => panic!("{what} is not JSON: {e}: {}", String::from_utf8_lossy(text)),
    }
}

fn check_accepted(m: &Message, stripped: &[u8]) {
    assert_eq!(
        &m.bytes[..],
        stripped,
        "an accepted message is forwarded as received, minus line breaks"
    );
    let first = stripped.iter().copied().find(|b| !b.is_ascii_whitespace());
    assert_eq!(m.batch, first == Some(b'['), "a batch is a JSON array");
    assert!(
        std::str::from_utf8(&m.bytes).is_ok(),
        "an accepted message is UTF-8 (RFC 8259 §8.1)"
    );
    let Some(v) = json(&m.bytes, "an accepted message") else {
        return;
    };
    match &v {
        Value::Array(a) => {
            assert!(m.batch);
            assert_eq!(a.len(), m.parts.len(), "one part per batch element");
        }
        Value::Object(_) => assert_eq!(m.parts.len(), 1),
        other => panic!("accepted a non-object, non-array: {other}"),
    }
    for id in m.request_ids().chain(m.response_ids()) {
        if let Some(v) = json(id.as_json().as_bytes(), "an id") {
            assert!(v.is_string() || v.is_number());
        }
    }

    // The id scanner against the parser, on a single request or response.
    if m.batch {
        return;
    }
    let id = match &m.parts[0] {
        Kind::Request { id, .. } | Kind::Response { id } => Some(id),
        Kind::Notification { .. } => None,
    };
    let bytes = &m.bytes[..];
    // Every prefix: the scanner may find nothing, never another id. Checked
    // at every cut for short messages, at a spread of cuts for long ones.
    let step = (bytes.len() / 64).max(1);
    for cut in (0..=bytes.len()).step_by(step).chain([bytes.len()]) {
        if let Some(found) = jsonrpc::scan_id(&bytes[..cut]) {
            assert_eq!(
                Some(&found),
                id,
                "the scanner found id {found} in a prefix of {} bytes of a message whose id is {id:?}",
                cut
            );
        }
    }
    // On the whole message with a plainly spelled top-level key the scanner
    // must find it (a key written with escapes, "\u0069d", it may miss).
    if let Some(id) = id
        && !bytes.contains(&b'\\')
    {
        assert_eq!(jsonrpc::scan_id(bytes).as_ref(), Some(id), "the scanner missed the id");
    }
}

fn check_rejected(r: &Rejection) {
    assert!(
        !r.reply.contains(&b'\n') && !r.reply.contains(&b'\r'),
        "a reply is one line"
    );
    let Some(v) = json(&r.reply, "a rejection's reply") else {
        return;
    };
    let replies = match v {
        Value::Array(a) => {
            assert!(!a.is_empty(), "a batch rejection answers at least one element");
            a
        }
        one => vec![one],
    };
    for reply in replies {
        let o = reply.as_object().expect("each reply is an object");
        assert_eq!(o.get("jsonrpc"), Some(&Value::from("2.0")));
        let id = o.get("id").expect("a reply has an id member");
        assert!(id.is_null() || id.is_string() || id.is_number(), "reply id {id}");
        let error = o
            .get("error")
            .and_then(Value::as_object)
            .expect("a reply carries an error");
        let code = error.get("code").and_then(Value::as_i64).expect("an error code");
        assert!(
            code == jsonrpc::PARSE_ERROR || code == jsonrpc::INVALID_REQUEST,
            "code {code}"
        );
        assert!(error.get("message").is_some_and(Value::is_string));
        assert!(!o.contains_key("result"));
    }
}
