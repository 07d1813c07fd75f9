//! JSON-RPC 2.0 framing without re-serialisation.
//!
//! Tether forwards every message byte for byte, so this module never builds a
//! typed model of MCP. It reads only the envelope (`jsonrpc`, `id`, `method`,
//! and whether `result` or `error` is present) to route a message, validates it
//! against JSON-RPC 2.0 §4–§5 and §6 (batches), and writes the few error replies
//! Tether itself originates (§5.1 codes). Everything else in a message, unknown
//! fields, `_meta`, key order, number formatting, passes through untouched.

use std::fmt;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Invalid JSON was received (JSON-RPC 2.0 §5.1).
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid Request object (JSON-RPC 2.0 §5.1).
pub const INVALID_REQUEST: i64 = -32600;
/// Tether could not get an answer from the remote server: it is unreachable,
/// too slow, failed, or needs sign-in. The range -32000..-32099 is reserved
/// for implementation-defined server errors (JSON-RPC 2.0 §5.1).
pub const REMOTE_ERROR: i64 = -32000;

/// A request id in canonical form: its JSON text, with numbers normalised so
/// that `1` and `1.0` (which a server may re-serialise) are the same key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Id(Box<str>);

impl Id {
    fn from_raw(raw: &RawValue) -> Option<Id> {
        let text = raw.get();
        match text.as_bytes().first()? {
            b'"' => Some(Id(text.into())),
            b'-' | b'0'..=b'9' => {
                // Integers keep their text; other numbers go through f64 so a
                // server's re-serialisation still matches.
                if text.bytes().all(|b| b == b'-' || b.is_ascii_digit()) {
                    Some(Id(text.into()))
                } else {
                    let n: f64 = text.parse().ok()?;
                    if n.fract() == 0.0 && n.abs() < 9.0e15 {
                        Some(Id(format!("{}", n as i64).into()))
                    } else {
                        Some(Id(text.into()))
                    }
                }
            }
            _ => None,
        }
    }

    /// A string id of Tether's own (for the requests it sends itself).
    pub fn string(s: &str) -> Id {
        Id(serde_json::Value::from(s).to_string().into())
    }

    /// The id as JSON text, ready to be embedded in a reply.
    pub fn as_json(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What one JSON-RPC object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A request: it has a method and an id, and expects exactly one response.
    Request { id: Id, method: String },
    /// A notification: a method without an id.
    Notification { method: String },
    /// A response (result or error) to the peer's request.
    Response { id: Id },
}

/// A validated message (or batch) with its original bytes.
#[derive(Debug, Clone)]
pub struct Message {
    /// The message on one line, exactly as received except for line breaks
    /// between tokens, which stdio framing forbids.
    pub bytes: Bytes,
    /// One entry for a single message, one per element for a batch.
    pub parts: Vec<Kind>,
    /// Whether the message was a JSON array (a JSON-RPC batch).
    pub batch: bool,
}

impl Message {
    /// The ids of the requests in this message: each expects a response.
    pub fn request_ids(&self) -> impl Iterator<Item = &Id> {
        self.parts.iter().filter_map(|k| match k {
            Kind::Request { id, .. } => Some(id),
            _ => None,
        })
    }

    /// The ids of the responses in this message.
    pub fn response_ids(&self) -> impl Iterator<Item = &Id> {
        self.parts.iter().filter_map(|k| match k {
            Kind::Response { id } => Some(id),
            _ => None,
        })
    }

    /// The single request or notification method, for logs and routing.
    pub fn method(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Kind::Request { method, .. }] | [Kind::Notification { method }] => Some(method),
            _ => None,
        }
    }

    /// Whether this is the client's `initialize` request.
    pub fn is_initialize(&self) -> bool {
        !self.batch && matches!(self.parts.as_slice(), [Kind::Request { method, .. }] if method == "initialize")
    }

    /// Whether this is the `notifications/initialized` notification.
    pub fn is_initialized_notification(&self) -> bool {
        !self.batch
            && matches!(self.parts.as_slice(), [Kind::Notification { method }] if method == "notifications/initialized")
    }

    /// Whether the message contains at least one request.
    pub fn has_requests(&self) -> bool {
        self.request_ids().next().is_some()
    }
}

/// Why a line could not be forwarded, with the reply the sender gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The JSON-RPC error reply (one line, no trailing newline).
    pub reply: Bytes,
    /// A short description for the log.
    pub reason: String,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    jsonrpc: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<Option<&'a RawValue>>,
    #[serde(borrow, default)]
    method: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<Option<&'a RawValue>>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Option<Option<&'a RawValue>>,
}

/// Distinguishes a member set to `null` from an absent one: `Some(None)` for
/// `"id": null`, `None` when the key is missing.
fn present<'de, D>(d: D) -> Result<Option<Option<&'de RawValue>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let raw: &'de RawValue = Deserialize::deserialize(d)?;
    Ok(Some(if raw.get() == "null" { None } else { Some(raw) }))
}

enum Classified {
    Ok(Kind),
    /// Invalid; carries the id to answer with when one could be read.
    Invalid(Option<Id>, &'static str),
}

fn classify(env: &Envelope<'_>, strict: bool) -> Classified {
    let id = match env.id {
        Some(Some(raw)) => match Id::from_raw(raw) {
            Some(id) => Some(id),
            None => return Classified::Invalid(None, "id must be a string or a number"),
        },
        _ => None,
    };
    if strict && env.jsonrpc.map(RawValue::get) != Some("\"2.0\"") {
        return Classified::Invalid(id, "\"jsonrpc\" must be exactly \"2.0\"");
    }
    if let Some(method) = env.method {
        let Ok(method) = serde_json::from_str::<String>(method.get()) else {
            return Classified::Invalid(id, "\"method\" must be a string");
        };
        if env.result.is_some() || env.error.is_some() {
            return Classified::Invalid(id, "a request cannot carry \"result\" or \"error\"");
        }
        return match (env.id, id) {
            (None, _) => Classified::Ok(Kind::Notification { method }),
            (Some(_), Some(id)) => Classified::Ok(Kind::Request { id, method }),
            // `"id": null` on a request: JSON-RPC discourages it and MCP
            // forbids it (ids "MUST NOT be null"); the sender could never
            // match a reply to it.
            (Some(None), None) | (Some(Some(_)), None) => Classified::Invalid(None, "a request id must not be null"),
        };
    }
    match (env.result.is_some(), env.error.is_some(), id) {
        (true, false, Some(id)) | (false, true, Some(id)) => Classified::Ok(Kind::Response { id }),
        (true, true, id) => Classified::Invalid(id, "a response cannot carry both \"result\" and \"error\""),
        // An error response to a request whose id could not be read has id
        // null (JSON-RPC 2.0 §5); it is valid but has nobody to route to.
        (false, true, None) => Classified::Invalid(None, "an error response with id null cannot be routed"),
        (_, _, id) => Classified::Invalid(id, "a message needs \"method\", \"result\" or \"error\""),
    }
}

/// Removes the line breaks that may sit between JSON tokens, so a message
/// fits one stdio line. JSON strings cannot contain raw CR or LF (RFC 8259
/// §7), so this never changes a value.
pub fn one_line(bytes: Bytes) -> Bytes {
    if memchr::memchr2(b'\n', b'\r', &bytes).is_none() {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend(bytes.iter().copied().filter(|b| *b != b'\n' && *b != b'\r'));
    Bytes::from(out)
}

/// Parses and validates one line from the client (a message or a batch).
///
/// On success the original bytes are kept (line breaks removed); on failure
/// the rejection carries the exact error reply to send back.
pub fn parse(bytes: Bytes) -> Result<Message, Rejection> {
    parse_with(bytes, true)
}

/// Parses a message from the server. A missing or wrong `"jsonrpc"` member
/// is tolerated, because a harmless quirk of a server must not cost the user
/// an answer; everything needed to route the message must still be there.
pub fn parse_from_server(bytes: Bytes) -> Result<Message, Rejection> {
    parse_with(bytes, false)
}

fn parse_with(bytes: Bytes, strict: bool) -> Result<Message, Rejection> {
    let bytes = one_line(bytes);
    // JSON between systems is UTF-8 (RFC 8259 §8.1), and so is every MCP
    // message. serde_json checks the strings it reads but skips the members
    // Tether does not read (`params`, `result`) without looking at their
    // bytes. A client's line that is not UTF-8 is invalid JSON; a server's
    // gets its invalid sequences replaced (U+FFFD), so that its answer still
    // arrives and stdout stays UTF-8.
    let bytes = match std::str::from_utf8(&bytes) {
        Ok(_) => bytes,
        Err(_) if strict => {
            return Err(Rejection {
                reply: error_reply(None, PARSE_ERROR, "Parse error: the line is not valid JSON", None),
                reason: "not JSON (not UTF-8)".into(),
            });
        }
        Err(_) => Bytes::from(String::from_utf8_lossy(&bytes).into_owned()),
    };
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    if first == Some(b'[') {
        return parse_batch(bytes, strict);
    }
    match serde_json::from_slice::<Envelope<'_>>(&bytes) {
        Ok(env) => match classify(&env, strict) {
            Classified::Ok(kind) => Ok(Message {
                bytes: bytes.clone(),
                parts: vec![kind],
                batch: false,
            }),
            Classified::Invalid(id, why) => Err(invalid(id.as_ref(), why)),
        },
        Err(e) => Err(syntax_or_shape(&bytes, &e)),
    }
}

fn parse_batch(bytes: Bytes, strict: bool) -> Result<Message, Rejection> {
    let elements: Vec<&RawValue> = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return Err(syntax_or_shape(&bytes, &e)),
    };
    if elements.is_empty() {
        return Err(invalid(None, "an empty batch"));
    }
    let mut parts = Vec::with_capacity(elements.len());
    let mut errors = Vec::new();
    for raw in &elements {
        match serde_json::from_str::<Envelope<'_>>(raw.get()) {
            Ok(env) => match classify(&env, strict) {
                Classified::Ok(kind) => parts.push(kind),
                Classified::Invalid(id, why) => errors.push(error_reply(
                    id.as_ref(),
                    INVALID_REQUEST,
                    &format!("Invalid Request: {why}"),
                    None,
                )),
            },
            Err(_) => errors.push(error_reply(
                None,
                INVALID_REQUEST,
                "Invalid Request: a batch element must be an object",
                None,
            )),
        }
    }
    if errors.is_empty() {
        return Ok(Message {
            bytes,
            parts,
            batch: true,
        });
    }
    // JSON-RPC 2.0 §6: the invalid elements are answered in one array; the
    // valid ones are not forwarded, because a batch is one unit to the sender.
    let mut reply = Vec::from(&b"["[..]);
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            reply.push(b',');
        }
        reply.extend_from_slice(e);
    }
    reply.push(b']');
    Err(Rejection {
        reply: Bytes::from(reply),
        reason: format!("{} invalid element(s) in a batch", errors.len()),
    })
}

fn syntax_or_shape(bytes: &[u8], e: &serde_json::Error) -> Rejection {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => Rejection {
            reply: error_reply(None, PARSE_ERROR, "Parse error: the line is not valid JSON", None),
            reason: format!("not JSON ({e})"),
        },
        // Valid JSON of the wrong shape: a string, a number, `"id": {}`…
        Category::Data => {
            let id = scan_id(bytes);
            invalid(id.as_ref(), "a JSON-RPC message must be an object")
        }
    }
}

fn invalid(id: Option<&Id>, why: &str) -> Rejection {
    Rejection {
        reply: error_reply(id, INVALID_REQUEST, &format!("Invalid Request: {why}"), None),
        reason: why.to_owned(),
    }
}

/// Builds a JSON-RPC error response on one line.
pub fn error_reply(id: Option<&Id>, code: i64, message: &str, data: Option<serde_json::Value>) -> Bytes {
    let mut error = serde_json::Map::new();
    error.insert("code".into(), code.into());
    error.insert("message".into(), message.into());
    if let Some(data) = data {
        error.insert("data".into(), data);
    }
    let error = serde_json::Value::Object(error).to_string();
    let id = id.map_or("null", Id::as_json);
    Bytes::from(format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{error}}}"#))
}

/// Finds the top-level `"id"` of a possibly truncated or malformed JSON
/// object, so that even a message too large to read whole gets an error
/// reply its sender can match. Returns `None` when the id is not within the
/// bytes given or is not a string or number.
pub fn scan_id(bytes: &[u8]) -> Option<Id> {
    let mut s = Scanner { b: bytes, i: 0 };
    s.ws();
    if s.next()? != b'{' {
        return None;
    }
    loop {
        s.ws();
        match s.peek()? {
            b'}' => return None,
            b',' => {
                s.i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_start = s.i;
        s.string()?;
        let key = &bytes[key_start..s.i];
        s.ws();
        if s.next()? != b':' {
            return None;
        }
        s.ws();
        let value_start = s.i;
        s.value()?;
        if key == b"\"id\"" {
            let text = std::str::from_utf8(&bytes[value_start..s.i]).ok()?;
            let raw: Box<RawValue> = serde_json::from_str(text).ok()?;
            return Id::from_raw(&raw);
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn string(&mut self) -> Option<()> {
        if self.next()? != b'"' {
            return None;
        }
        loop {
            let rest = self.b.get(self.i..)?;
            let j = memchr::memchr2(b'"', b'\\', rest)?;
            self.i += j + 1;
            if rest[j] == b'"' {
                return Some(());
            }
            self.i += 1; // skip the escaped byte
        }
    }
    /// Skips one value; nested containers are skipped by depth counting.
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while !matches!(self.peek()?, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    self.i += 1;
                }
                Some(())
            }
        }
    }
}

/// Reads `params.requestId` from a `notifications/cancelled` (MCP
/// 2025-11-25 §"Cancellation").
pub fn cancelled_request(notification: &[u8]) -> Option<Id> {
    #[derive(Deserialize)]
    struct N<'a> {
        #[serde(borrow)]
        params: Option<P<'a>>,
    }
    #[derive(Deserialize)]
    struct P<'a> {
        #[serde(borrow, rename = "requestId")]
        request_id: Option<&'a RawValue>,
    }
    Id::from_raw(serde_json::from_slice::<N<'_>>(notification).ok()?.params?.request_id?)
}

/// The `result` of a response.
pub fn result_of(response: &[u8]) -> Option<serde_json::Value> {
    #[derive(Deserialize)]
    struct R {
        result: Option<serde_json::Value>,
    }
    serde_json::from_slice::<R>(response).ok()?.result
}

/// Reads `result.protocolVersion` from an `initialize` response.
pub fn protocol_version(response: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct R {
        result: Option<V>,
    }
    #[derive(Deserialize)]
    struct V {
        #[serde(rename = "protocolVersion")]
        protocol_version: Option<String>,
    }
    serde_json::from_slice::<R>(response).ok()?.result?.protocol_version
}

/// The protocol version a request names in
/// `params._meta["io.modelcontextprotocol/protocolVersion"]` (the 2026-07-28
/// stateless wire, where every request carries it instead of a session).
pub fn meta_protocol_version(message: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct R {
        params: Option<P>,
    }
    #[derive(Deserialize)]
    struct P {
        #[serde(rename = "_meta")]
        meta: Option<M>,
    }
    #[derive(Deserialize)]
    struct M {
        #[serde(rename = "io.modelcontextprotocol/protocolVersion")]
        version: Option<String>,
    }
    serde_json::from_slice::<R>(message).ok()?.params?.meta?.version
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Message, Rejection> {
        parse(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn reply(s: &str) -> String {
        String::from_utf8(p(s).unwrap_err().reply.to_vec()).unwrap()
    }

    #[test]
    fn a_request_keeps_its_bytes_and_reads_its_id_and_method() {
        let line = r#"{"method":"tools/call","params":{"_meta":{"x":1},"zeta":true,"alpha":2},"id":7,"jsonrpc":"2.0","futureField":[1]}"#;
        let m = p(line).unwrap();
        assert_eq!(&m.bytes[..], line.as_bytes());
        assert_eq!(
            m.parts,
            vec![Kind::Request {
                id: Id("7".into()),
                method: "tools/call".into()
            }]
        );
    }

    #[test]
    fn a_string_id_and_a_notification_and_a_response_are_told_apart() {
        assert_eq!(
            p(r#"{"jsonrpc":"2.0","id":"a-1","method":"ping"}"#).unwrap().parts[0],
            Kind::Request {
                id: Id("\"a-1\"".into()),
                method: "ping".into()
            }
        );
        assert_eq!(
            p(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
                .unwrap()
                .parts[0],
            Kind::Notification {
                method: "notifications/initialized".into()
            }
        );
        assert_eq!(
            p(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#).unwrap().parts[0],
            Kind::Response { id: Id("3".into()) }
        );
        assert_eq!(
            p(r#"{"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"x"}}"#)
                .unwrap()
                .parts[0],
            Kind::Response { id: Id("3".into()) }
        );
    }

    #[test]
    fn pretty_printed_json_is_put_on_one_line_without_touching_strings() {
        let m = p("{\n  \"jsonrpc\": \"2.0\",\r\n  \"id\": 1,\n  \"result\": {\"text\": \"a\\nb\"}\n}").unwrap();
        assert_eq!(
            &m.bytes[..],
            br#"{  "jsonrpc": "2.0",  "id": 1,  "result": {"text": "a\nb"}}"#
        );
    }

    #[test]
    fn a_line_that_is_not_json_gets_a_parse_error_with_id_null() {
        assert_eq!(
            reply("this is not json"),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: the line is not valid JSON"}}"#
        );
        assert_eq!(
            reply(r#"{"jsonrpc":"2.0","id":1,"method":"x""#),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: the line is not valid JSON"}}"#
        );
    }

    #[test]
    fn json_that_is_not_a_request_gets_invalid_request_with_its_id_when_readable() {
        assert_eq!(
            reply(r#"{"jsonrpc":"1.0","id":5,"method":"x"}"#),
            r#"{"jsonrpc":"2.0","id":5,"error":{"code":-32600,"message":"Invalid Request: \"jsonrpc\" must be exactly \"2.0\""}}"#
        );
        assert_eq!(
            reply(r#"{"jsonrpc":"2.0","id":"q"}"#),
            r#"{"jsonrpc":"2.0","id":"q","error":{"code":-32600,"message":"Invalid Request: a message needs \"method\", \"result\" or \"error\""}}"#
        );
        assert_eq!(
            reply("42"),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: a JSON-RPC message must be an object"}}"#
        );
        assert_eq!(
            reply(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"x"}"#),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: id must be a string or a number"}}"#
        );
        assert_eq!(
            reply(r#"{"jsonrpc":"2.0","id":9,"method":42}"#),
            r#"{"jsonrpc":"2.0","id":9,"error":{"code":-32600,"message":"Invalid Request: \"method\" must be a string"}}"#
        );
        assert_eq!(
            reply("[]"),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: an empty batch"}}"#
        );
    }

    #[test]
    fn a_batch_is_forwarded_whole_or_its_invalid_elements_are_answered() {
        let ok = p(r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]"#).unwrap();
        assert!(ok.batch);
        assert_eq!(ok.request_ids().count(), 1);
        assert_eq!(
            reply(r#"[{"jsonrpc":"2.0","id":1,"method":"a"},1,{"jsonrpc":"2.0","id":2}]"#),
            r#"[{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: a batch element must be an object"}},{"jsonrpc":"2.0","id":2,"error":{"code":-32600,"message":"Invalid Request: a message needs \"method\", \"result\" or \"error\""}}]"#
        );
    }

    #[test]
    fn a_line_that_is_not_utf8_inside_an_unread_member_is_a_parse_error() {
        // Found by the `jsonrpc` fuzz target: serde_json skips `params`
        // without checking its bytes, so this line used to be forwarded.
        let line = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"a\":\"h\xe4llo\"}}";
        let r = parse(Bytes::from_static(line)).unwrap_err();
        assert_eq!(
            &r.reply[..],
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: the line is not valid JSON"}}"#
        );
        // From the server, the answer still arrives, as UTF-8.
        let m = parse_from_server(Bytes::from_static(b"{\"id\":1,\"result\":{\"t\":\"h\xe4llo\"}}")).unwrap();
        assert_eq!(m.response_ids().next(), Some(&Id("1".into())));
        assert_eq!(
            std::str::from_utf8(&m.bytes).unwrap(),
            "{\"id\":1,\"result\":{\"t\":\"h\u{fffd}llo\"}}"
        );
    }

    #[test]
    fn a_server_message_without_the_jsonrpc_member_is_tolerated() {
        let m = parse_from_server(Bytes::from_static(br#"{"id":4,"result":{"ok":true}}"#)).unwrap();
        assert_eq!(m.parts, vec![Kind::Response { id: Id("4".into()) }]);
        assert!(parse(Bytes::from_static(br#"{"id":4,"result":{"ok":true}}"#)).is_err());
    }

    #[test]
    fn numeric_ids_match_across_reserialisation() {
        let a = p(r#"{"jsonrpc":"2.0","id":1.0,"result":1}"#).unwrap();
        let b = p(r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#).unwrap();
        assert_eq!(a.response_ids().next(), b.request_ids().next());
    }

    #[test]
    fn the_id_is_found_in_a_truncated_message() {
        assert_eq!(
            scan_id(br#"{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"x":"aaaa"#),
            Some(Id("12".into()))
        );
        assert_eq!(
            scan_id(br#"{"params":{"id":1,"s":"}\"{"},"id":"late","method"#),
            Some(Id("\"late\"".into()))
        );
        assert_eq!(
            scan_id(br#"{"jsonrpc":"2.0","method":"x","params":{"data":"aaaa"#),
            None
        );
        assert_eq!(scan_id(b"garbage"), None);
    }

    #[test]
    fn the_request_id_of_a_cancellation_is_read() {
        assert_eq!(
            cancelled_request(
                br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"r7","reason":"x"}}"#
            ),
            Some(Id("\"r7\"".into()))
        );
        assert_eq!(
            cancelled_request(br#"{"jsonrpc":"2.0","method":"notifications/cancelled"}"#),
            None
        );
    }

    #[test]
    fn the_protocol_version_is_read_from_an_initialize_result() {
        assert_eq!(
            protocol_version(
                br#"{"jsonrpc":"2.0","id":0,"result":{"capabilities":{},"protocolVersion":"2025-06-18"}}"#
            )
            .as_deref(),
            Some("2025-06-18")
        );
        assert_eq!(
            protocol_version(br#"{"jsonrpc":"2.0","id":0,"error":{"code":1,"message":"no"}}"#),
            None
        );
    }

    #[test]
    fn a_request_on_the_stateless_wire_names_its_protocol_version_in_meta() {
        let m = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        assert_eq!(meta_protocol_version(m).as_deref(), Some("2026-07-28"));
        assert_eq!(
            meta_protocol_version(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
            None
        );
        assert_eq!(meta_protocol_version(b"[1,2]"), None);
    }
}
