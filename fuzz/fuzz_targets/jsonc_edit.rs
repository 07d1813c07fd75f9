//! The MCP client config editor (`tether::clients::install` and `uninstall`
//! over `clients::jsonc`): adding and removing Tether's entry in a config
//! file of any content, as `tether install` and the app do.
//!
//! The input is `[selector][file bytes…]`. The selector picks the client
//! (Claude Desktop: strict JSON, `mcpServers`; VS Code: JSONC, `servers`,
//! `"type": "stdio"`; Zed: JSONC, `context_servers`), the operation (add,
//! remove, add then remove) and the entry's name (a new one or one already
//! in the file). The file is written to a private temporary home and the
//! real functions run on it. An independent JSON / JSONC reader written
//! here from RFC 8259 (plus comments and trailing commas for JSONC) is the
//! judge:
//! - a file that is not valid in the client's dialect, not an object, or
//!   whose servers member is not an object, is refused and left byte for
//!   byte as it was, with no backup written;
//! - otherwise the file written is valid in the dialect, means exactly the
//!   old file with the one entry added, updated or removed, and keeps every
//!   other byte: the change lies inside the servers object (inside the
//!   entry, for an update), and the backup holds the old file;
//! - an entry that is not Tether's is never removed; removing a name that
//!   is not there writes nothing;
//! - a name given twice where the edit goes (the servers member, the
//!   entry, the members of the entry Tether sets) is refused: clients read
//!   the last, so an edit of the first would not be what they see.

#![no_main]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use tether::clients::{self, McpClient, ClientsError, Os, Platform};

const SIDECAR: &str = "/opt/Tether/tether";
const CLIENTS: &[McpClient] = &[McpClient::ClaudeDesktop, McpClient::VsCode, McpClient::Zed];

// ---------------------------------------------------------------------------
// The judge: a small RFC 8259 reader that keeps byte spans.

#[derive(Debug, Clone)]
enum Kind {
    Object {
        open: usize,
        close: usize,
        props: Vec<Prop>,
    },
    Array(Vec<Node>),
    Null,
    Scalar(Value),
}

#[derive(Debug, Clone)]
struct Node {
    start: usize,
    end: usize,
    kind: Kind,
}

#[derive(Debug, Clone)]
struct Prop {
    key: String,
    key_start: usize,
    value: Node,
}

impl Node {
    /// The value, with numbers as their text (so that `1.0` stays `1.0`)
    /// and a repeated key's last value winning, as `JSON.parse` does.
    fn value(&self) -> Value {
        match &self.kind {
            Kind::Object { props, .. } => {
                let mut m = Map::new();
                for p in props {
                    m.insert(p.key.clone(), p.value.value());
                }
                Value::Object(m)
            }
            Kind::Array(items) => Value::Array(items.iter().map(Node::value).collect()),
            Kind::Null => Value::Null,
            Kind::Scalar(v) => v.clone(),
        }
    }
    fn props(&self) -> Option<&[Prop]> {
        match &self.kind {
            Kind::Object { props, .. } => Some(props),
            _ => None,
        }
    }
    /// The last property named `key` (the one a client sees).
    fn get(&self, key: &str) -> Option<&Prop> {
        self.props()?.iter().rev().find(|p| p.key == key)
    }
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
    jsonc: bool,
    depth: usize,
}

type R<T> = Result<T, ()>;

impl Reader<'_> {
    fn ws(&mut self) -> R<()> {
        loop {
            match self.s.get(self.i) {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.i += 1,
                Some(b'/') if self.jsonc => match self.s.get(self.i + 1) {
                    Some(b'/') => {
                        // A line comment ends at LF or CR (as VS Code's
                        // parser and jsonc-parser end it).
                        while !matches!(self.s.get(self.i), None | Some(b'\n' | b'\r')) {
                            self.i += 1;
                        }
                    }
                    Some(b'*') => {
                        self.i += 2;
                        loop {
                            match self.s.get(self.i) {
                                None => return Err(()),
                                Some(b'*') if self.s.get(self.i + 1) == Some(&b'/') => {
                                    self.i += 2;
                                    break;
                                }
                                _ => self.i += 1,
                            }
                        }
                    }
                    _ => return Err(()),
                },
                _ => return Ok(()),
            }
        }
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn value(&mut self) -> R<Node> {
        self.depth += 1;
        if self.depth > 2000 {
            return Err(());
        }
        let start = self.i;
        let kind = match self.s.get(self.i).ok_or(())? {
            b'{' => {
                self.i += 1;
                let mut props = Vec::new();
                self.ws()?;
                if !self.eat(b'}') {
                    loop {
                        self.ws()?;
                        if self.jsonc && !props.is_empty() && self.eat(b'}') {
                            break; // a trailing comma
                        }
                        let key_start = self.i;
                        let key = self.string()?;
                        self.ws()?;
                        if !self.eat(b':') {
                            return Err(());
                        }
                        self.ws()?;
                        let value = self.value()?;
                        props.push(Prop { key, key_start, value });
                        self.ws()?;
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(());
                        }
                    }
                }
                Kind::Object {
                    open: start,
                    close: self.i - 1,
                    props,
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws()?;
                if !self.eat(b']') {
                    loop {
                        self.ws()?;
                        if self.jsonc && !items.is_empty() && self.eat(b']') {
                            break;
                        }
                        items.push(self.value()?);
                        self.ws()?;
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(());
                        }
                    }
                }
                Kind::Array(items)
            }
            b'"' => Kind::Scalar(Value::String(self.string()?)),
            b't' => self.word("true", Value::Bool(true))?,
            b'f' => self.word("false", Value::Bool(false))?,
            b'n' => {
                self.word("null", Value::Null)?;
                Kind::Null
            }
            _ => self.number()?,
        };
        self.depth -= 1;
        Ok(Node {
            start,
            end: self.i,
            kind,
        })
    }
    fn word(&mut self, w: &str, v: Value) -> R<Kind> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(Kind::Scalar(v))
        } else {
            Err(())
        }
    }
    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }
    fn number(&mut self) -> R<Kind> {
        let start = self.i;
        self.eat(b'-');
        if !self.eat(b'0') && self.digits() == 0 {
            return Err(());
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(());
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _ = self.eat(b'+') || self.eat(b'-');
            if self.digits() == 0 {
                return Err(());
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| ())?;
        Ok(Kind::Scalar(json!({ "\u{0}number": text })))
    }
    fn hex4(&mut self) -> R<u32> {
        let h = self.s.get(self.i..self.i + 4).ok_or(())?;
        let h = std::str::from_utf8(h).map_err(|_| ())?;
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(());
        }
        self.i += 4;
        u32::from_str_radix(h, 16).map_err(|_| ())
    }
    fn string(&mut self) -> R<String> {
        if !self.eat(b'"') {
            return Err(());
        }
        let mut out: Vec<u16> = Vec::new();
        loop {
            let b = *self.s.get(self.i).ok_or(())?;
            self.i += 1;
            match b {
                b'"' => return Ok(String::from_utf16_lossy(&out)),
                0..=0x1f => return Err(()),
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or(())?;
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            out.push(self.hex4()? as u16);
                            continue;
                        }
                        _ => return Err(()),
                    };
                    out.extend(c.encode_utf16(&mut [0; 2]).iter());
                }
                _ => {
                    // One UTF-8 character (the file was read as UTF-8).
                    let len = match b {
                        0x00..=0x7f => 1,
                        0xc0..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    let ch =
                        std::str::from_utf8(self.s.get(self.i - 1..self.i - 1 + len).ok_or(())?).map_err(|_| ())?;
                    self.i += len - 1;
                    out.extend(ch.encode_utf16());
                }
            }
        }
    }
}

/// Reads a whole file: `Ok(None)` for a blank one, or one of comments only
/// (Tether's empty object).
fn judge(text: &[u8], jsonc: bool) -> R<Option<Node>> {
    let text = std::str::from_utf8(text).map_err(|_| ())?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let mut r = Reader {
        s: text.as_bytes(),
        i: 0,
        jsonc,
        depth: 0,
    };
    r.ws()?;
    if r.i == r.s.len() {
        // Only comments: Tether takes it as empty, like a blank file.
        return Ok(None);
    }
    let v = r.value()?;
    r.ws()?;
    if r.i != r.s.len() {
        return Err(());
    }
    Ok(Some(v))
}

// ---------------------------------------------------------------------------
// What an edit must do.

fn is_tether_entry(entry: &Value, name: &str) -> bool {
    let (command, args) = match entry.get("command") {
        Some(Value::String(_)) => (true, entry.get("args")),
        Some(Value::Object(o)) => (o.get("path").is_some_and(Value::is_string), o.get("args")),
        _ => (false, None),
    };
    let Some(args) = args.and_then(Value::as_array) else {
        return false;
    };
    command
        && args.first() == Some(&json!("run"))
        && args
            .get(1)
            .and_then(Value::as_str)
            .is_some_and(|s| s == name && !s.starts_with("http://") && !s.starts_with("https://"))
}

fn servers_key(id: McpClient) -> &'static str {
    id.servers_key()
}

/// The fields of Tether's entry for `name` in `id`'s file.
fn fields(id: McpClient, name: &str) -> Vec<(&'static str, Value)> {
    let mut f = Vec::new();
    if id == McpClient::VsCode {
        f.push(("type", json!("stdio")));
    }
    f.push(("command", json!(SIDECAR)));
    f.push(("args", json!(["run", name])));
    f
}

const REMOTE_KEYS: &[&str] = &["url", "serverUrl", "headers", "headersHelper", "oauth", "transportType"];

/// Whether `node` is an object naming one of `names` more than once.
fn repeats(node: &Node, names: &[&str]) -> bool {
    node.props()
        .is_some_and(|p| names.iter().any(|n| p.iter().filter(|p| p.key == *n).count() > 1))
}

/// The value after adding `name`; `None` when the file must be refused.
fn after_install(id: McpClient, root: &Value, name: &str) -> Option<Value> {
    let mut root = root.as_object()?.clone();
    let key = servers_key(id);
    let new_entry = || Value::Object(fields(id, name).into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
    match root.get_mut(key) {
        None | Some(Value::Null) => {
            root.insert(key.to_owned(), json!({ name: new_entry() }));
        }
        Some(Value::Object(servers)) => match servers.get_mut(name) {
            Some(Value::Object(entry)) => {
                for (k, v) in fields(id, name) {
                    entry.insert(k.to_owned(), v);
                }
                if id != McpClient::VsCode && entry.get("type").is_some_and(|t| t != "stdio") {
                    entry.remove("type");
                }
                for k in REMOTE_KEYS {
                    entry.remove(*k);
                }
            }
            _ => {
                servers.insert(name.to_owned(), new_entry());
            }
        },
        Some(_) => return None,
    }
    Some(Value::Object(root))
}

/// `output` is `input` with only `input[a..b]` replaced.
fn only_changed_within(input: &[u8], output: &[u8], a: usize, b: usize, what: &str) {
    assert!(
        output.len() >= a + (input.len() - b) && output.starts_with(&input[..a]) && output.ends_with(&input[b..]),
        "the edit changed bytes outside {what} ({a}..{b}):\n--- before\n{}\n--- after\n{}",
        String::from_utf8_lossy(input),
        String::from_utf8_lossy(output)
    );
}

// ---------------------------------------------------------------------------
// The run.

fn home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        // libFuzzer exits without destructors: remove the homes of runs
        // that are over (their process is gone) instead.
        for old in fs::read_dir(&base).into_iter().flatten().flatten() {
            let name = old.file_name();
            if let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("tether-fuzz-jsonc-"))
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = fs::remove_dir_all(old.path());
            }
        }
        let dir = base.join(format!("tether-fuzz-jsonc-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fn backup_of(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(clients::BACKUP_SUFFIX);
    PathBuf::from(s)
}

/// Runs one install or uninstall on `before` and checks it. Returns the
/// file after.
fn run(id: McpClient, platform: &Platform, before: &[u8], name: &str, install: bool) -> Vec<u8> {
    let path = clients::config_path(id, platform).unwrap();
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, before).unwrap();
    let backup = backup_of(&path);
    let _ = fs::remove_file(&backup);

    let jsonc = id.dialect() == clients::Dialect::Jsonc;
    let judged = judge(before, jsonc);
    let result: Result<bool, ClientsError> = if install {
        clients::install(id, platform, name, Path::new(SIDECAR)).map(|_| true)
    } else {
        clients::uninstall(id, platform, name)
    };
    let after = fs::read(&path).unwrap();
    let unchanged = || {
        assert_eq!(after, before, "the file was written although nothing was to change");
        assert!(!backup.exists(), "a backup was written although the file was not");
    };

    // A file the client could not read, or that is not an object: refused.
    let root = match &judged {
        Err(()) => {
            assert!(
                result.is_err(),
                "accepted a file that is not valid {}: {:?}",
                if jsonc { "JSONC" } else { "JSON" },
                String::from_utf8_lossy(before)
            );
            unchanged();
            return after;
        }
        Ok(Some(n)) if n.props().is_none() => {
            assert!(result.is_err(), "accepted a file that is not an object");
            unchanged();
            return after;
        }
        Ok(n) => n.clone(),
    };
    let old_value = root.as_ref().map_or_else(|| json!({}), Node::value);
    let servers = root.as_ref().and_then(|r| r.get(servers_key(id)));

    // A name given twice where the edit goes is refused: clients read the
    // last one, an edit of the first would not be what they see.
    let entry_keys: Vec<&str> = ["type", "command", "args", "env"]
        .iter()
        .chain(REMOTE_KEYS)
        .copied()
        .collect();
    let twice = root.as_ref().is_some_and(|r| repeats(r, &[servers_key(id)]))
        || servers.is_some_and(|s| {
            repeats(&s.value, &[name]) || (install && s.value.get(name).is_some_and(|e| repeats(&e.value, &entry_keys)))
        });
    if twice {
        assert!(
            matches!(result, Err(ClientsError::Shape { .. })),
            "a name given twice on the edit's path: {result:?}\n{}",
            String::from_utf8_lossy(before)
        );
        unchanged();
        return after;
    }

    let expected = if install {
        after_install(id, &old_value, name)
    } else {
        let ours = servers
            .and_then(|s| s.value.get(name))
            .map(|e| is_tether_entry(&e.value.value(), name));
        match (servers.map(|s| &s.value.kind), ours) {
            (Some(Kind::Object { .. }), Some(true)) => {
                let mut v = old_value.clone();
                v[servers_key(id)].as_object_mut().unwrap().remove(name);
                Some(v)
            }
            (Some(Kind::Object { .. }), Some(false)) => {
                assert!(
                    matches!(result, Err(ClientsError::NotTether { .. })),
                    "another program's entry: {result:?}"
                );
                unchanged();
                return after;
            }
            _ => {
                assert!(matches!(result, Ok(false)), "nothing to remove: {result:?}");
                unchanged();
                return after;
            }
        }
    };
    let Some(expected) = expected else {
        assert!(
            matches!(result, Err(ClientsError::Shape { .. })),
            "a servers member that is not an object: {result:?}"
        );
        unchanged();
        return after;
    };
    if let Err(e) = result {
        panic!("refused a valid file: {e}\n{}", String::from_utf8_lossy(before));
    }

    // What was written: valid, meaning what it should, the old file backed up.
    let written = judge(&after, jsonc).unwrap_or_else(|()| {
        panic!(
            "wrote a file that is not valid:\n--- before\n{}\n--- after\n{}",
            String::from_utf8_lossy(before),
            String::from_utf8_lossy(&after)
        )
    });
    let new_value = written.as_ref().map_or_else(|| json!({}), Node::value);
    assert_eq!(
        new_value,
        expected,
        "the file means something else:\n--- before\n{}\n--- after\n{}",
        String::from_utf8_lossy(before),
        String::from_utf8_lossy(&after)
    );
    if after != before {
        if std::str::from_utf8(before).is_ok_and(|t| t.trim().is_empty()) {
            assert!(!backup.exists() || fs::read(&backup).unwrap() == before);
        } else {
            assert_eq!(
                fs::read(&backup).expect("a backup"),
                before,
                "the backup is the old file"
            );
        }
    }

    // Every other byte kept.
    let Some(root) = &root else {
        if std::str::from_utf8(before).is_ok_and(|t| t.trim().is_empty()) {
            return after; // blank: replaced whole
        }
        // A file of comments keeps them; the object goes after them.
        let kept = before.len() - before.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
        only_changed_within(before, &after, kept, before.len(), "the end of the file");
        return after;
    };
    let Kind::Object {
        open: root_open,
        close: root_close,
        ..
    } = root.kind
    else {
        unreachable!()
    };
    match servers {
        None => only_changed_within(before, &after, root_open + 1, root_close, "the top-level object"),
        Some(s) => match &s.value.kind {
            Kind::Null => only_changed_within(before, &after, s.value.start, s.value.end, "the servers member"),
            Kind::Object { open, close, props } => match s.value.get(name) {
                Some(entry) if install => {
                    only_changed_within(before, &after, entry.value.start, entry.value.end, "the entry")
                }
                Some(entry) => {
                    // Removed: the entry and the separators around it.
                    let i = props.iter().position(|p| std::ptr::eq(p, entry)).unwrap();
                    let a = if i == 0 { open + 1 } else { props[i - 1].value.end };
                    let b = props.get(i + 1).map_or(*close, |p| p.key_start);
                    only_changed_within(before, &after, a, b, "the entry");
                }
                None => only_changed_within(before, &after, open + 1, *close, "the servers object"),
            },
            _ => unreachable!("refused above"),
        },
    }
    after
}

fuzz_target!(|data: &[u8]| {
    let Some((sel, text)) = data.split_first() else {
        return;
    };
    let id = CLIENTS[usize::from(sel % 4) % CLIENTS.len()];
    let op = (sel >> 2) & 3;
    let platform = Platform::new(Os::Linux, home().to_path_buf(), []);

    // The name: a new one, or one of the file's own entries (so that
    // updates and removals are reached).
    let existing: Vec<String> = judge(text, id.dialect() == clients::Dialect::Jsonc)
        .ok()
        .flatten()
        .and_then(|r| {
            r.get(servers_key(id)).and_then(|s| {
                s.value
                    .props()
                    .map(|p| p.iter().map(|p| p.key.clone()).collect::<Vec<_>>())
            })
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|k| tether::servers::check_name(k).is_ok())
        .collect();
    let pick = usize::from(sel >> 4);
    let name = if pick == 0 || existing.is_empty() {
        "fuzzed".to_owned()
    } else {
        existing[(pick - 1) % existing.len()].clone()
    };

    match op {
        0 => {
            run(id, &platform, text, &name, true);
        }
        1 => {
            run(id, &platform, text, &name, false);
        }
        _ => {
            let added = run(id, &platform, text, &name, true);
            if added != text {
                run(id, &platform, &added, &name, false);
            }
        }
    }
});
