//! Reading and editing a client's config file without disturbing anything
//! else in it.
//!
//! Owns the file rules of every client config Tether touches: the text is
//! parsed into a concrete syntax tree (`jsonc-parser`'s CST), so an edit
//! changes only the entry it means to and every other byte (key order,
//! indentation, comments in Zed's and VS Code's files) stays as it was. A
//! file that does not parse, in the dialect its client accepts, is reported
//! with its path, line and column and never written. A read-only file is
//! refused, even where the OS would let the rename through (root, or a
//! writable directory). A write goes to a temporary file in the same
//! directory, renamed over the old one (`store::files::replace_file`), after
//! the old content is kept as `<file>.tether-backup`; a symlinked file is
//! written at its target. When the file changed on disk while Tether was
//! editing it (Claude Desktop rewrites its own), the edit is made again on
//! the new content.
//!
//! The backup is the user's way back from Tether's last change to a file,
//! and a client's config may hold other servers' API keys, so:
//! - there is one per file, replaced by each edit (backups never pile up),
//!   readable by its owner only (0600) whatever the file's own mode;
//! - an edit that moves secrets into the keychain (an import) keeps no copy
//!   of them: every string of the backup that holds one (as a key, a value,
//!   or JSON inside a string, in any escaped spelling) has it replaced by
//!   `[moved to the keychain]`, and the result is parsed again and checked;
//!   when a secret would still be in it, no backup is kept at all, and the
//!   previous backup, which held the secret too, is deleted;
//! - a backup older than [`BACKUP_MAX_AGE`] is deleted by the next command
//!   that edits any client's config ([`super::expire_backups`]), so one left
//!   behind does not keep, for ever, keys the user has since removed or
//!   rotated.

use std::fs;
use std::path::{Path, PathBuf};

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstLeafNode, CstNode, CstRootNode, CstStringLit};
use serde_json::Value;

use super::ClientsError;

/// The suffix of the backup kept beside a file Tether rewrote.
pub const BACKUP_SUFFIX: &str = ".tether-backup";
/// How long a backup is kept when Tether does not edit its file again.
pub const BACKUP_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);
/// What a secret moved to the keychain becomes in a backup.
const MOVED: &str = "[moved to the keychain]";

/// What a client accepts in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Strict JSON (`JSON.parse`).
    Json,
    /// JSON with comments and trailing commas (Zed, VS Code).
    Jsonc,
}

impl Dialect {
    fn options(self) -> ParseOptions {
        let loose = self == Dialect::Jsonc;
        ParseOptions {
            allow_comments: loose,
            allow_loose_object_property_names: false,
            allow_trailing_commas: loose,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            allow_unary_plus_numbers: false,
            allow_bare_decimal_point_numbers: false,
            allow_non_finite_numbers: false,
            allow_extended_string_escapes: false,
        }
    }
}

/// Reads `path`: `None` when it does not exist (or is empty).
fn read_text(path: &Path) -> Result<Option<String>, ClientsError> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ClientsError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Parses `text` as `dialect`; an empty text is an empty object.
fn parse(path: &Path, text: &str, dialect: Dialect) -> Result<CstRootNode, ClientsError> {
    let source = if text.trim().is_empty() { "{}" } else { text };
    let malformed = |e: jsonc_parser::errors::ParseError| ClientsError::Malformed {
        path: path.to_owned(),
        line: e.line_display(),
        column: e.column_display(),
        message: e.kind().to_string(),
    };
    // The tree keeps comments as tokens without checking `allow_comments`:
    // a plain parse checks the dialect first.
    jsonc_parser::parse_to_ast(source, &jsonc_parser::CollectOptions::default(), &dialect.options())
        .map_err(malformed)?;
    let collect = jsonc_parser::CollectOptions {
        comments: jsonc_parser::CommentCollectionStrategy::AsTokens,
        tokens: true,
    };
    let parsed = jsonc_parser::parse_to_ast(source, &collect, &dialect.options()).map_err(malformed)?;
    if let Some((at, message)) = lenient_at(source, parsed.tokens.as_deref().unwrap_or_default()) {
        let line_start = source[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
        return Err(ClientsError::Malformed {
            path: path.to_owned(),
            line: source[..at].matches('\n').count() + 1,
            column: source[line_start..at].chars().count() + 1,
            message: message.into(),
        });
    }
    let root = CstRootNode::parse(source, &dialect.options()).map_err(malformed)?;
    match root.value() {
        Some(v) if v.as_object().is_some() => Ok(root),
        None => Ok(root),
        Some(_) => Err(ClientsError::Shape {
            path: path.to_owned(),
            what: "the file".into(),
            expected: "a JSON object".into(),
        }),
    }
}

/// Where `jsonc-parser` accepted what the clients' parsers do not (found by
/// the `jsonc_edit` fuzz target): raw control characters inside a string
/// (RFC 8259 §7) and whitespace other than space, tab, LF and CR between
/// tokens (§2: vertical tab, form feed, Unicode spaces). `JSON.parse` (Claude
/// Desktop, Cursor, …) refuses both; a file with them is not rewritten.
fn lenient_at(text: &str, tokens: &[jsonc_parser::tokens::TokenAndRange<'_>]) -> Option<(usize, &'static str)> {
    let not_whitespace = |from: usize, to: usize| {
        text.as_bytes()[from..to]
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .map(|i| (from + i, "whitespace that JSON does not allow"))
    };
    let mut at = 0;
    for t in tokens {
        if let Some(found) = not_whitespace(at, t.range.start) {
            return Some(found);
        }
        if matches!(t.token, jsonc_parser::tokens::Token::String(_))
            && let Some(i) = text.as_bytes()[t.range.start..t.range.end]
                .iter()
                .position(|b| *b < 0x20)
        {
            return Some((
                t.range.start + i,
                "a control character inside a string (write it escaped)",
            ));
        }
        at = t.range.end;
    }
    not_whitespace(at, text.len())
}

/// The file's content as a value: `None` when it does not exist.
pub fn read(path: &Path, dialect: Dialect) -> Result<Option<Value>, ClientsError> {
    let Some(text) = read_text(path)? else {
        return Ok(None);
    };
    let root = parse(path, &text, dialect)?;
    Ok(Some(
        root.value()
            .and_then(|v| v.to_serde_value())
            .unwrap_or_else(|| Value::Object(Default::default())),
    ))
}

/// Edits the file at `path` with `edit`, which gets the tree (an empty
/// object for a missing file) and says whether it changed anything; only
/// then is the file written. `redact` lists strings (secrets moved to the
/// keychain) that must not survive in the backup (see the module's
/// backup rules). Returns `edit`'s result and the file written, if any.
pub fn edit<T>(
    path: &Path,
    dialect: Dialect,
    redact: &[String],
    edit: impl Fn(&CstRootNode) -> Result<(T, bool), ClientsError>,
) -> Result<(T, Option<PathBuf>), ClientsError> {
    let target = resolve_symlink(path)?;
    for _attempt in 0..3 {
        let before = read_text(&target)?;
        let root = parse(path, before.as_deref().unwrap_or(""), dialect)?;
        let (result, changed) = edit(&root)?;
        if !changed {
            return Ok((result, None));
        }
        let mut text = root.to_string();
        if !text.ends_with('\n')
            && before
                .as_deref()
                .is_none_or(|b| b.ends_with('\n') || b.trim().is_empty())
        {
            text.push('\n');
        }
        // The client may have rewritten the file meanwhile: then edit the new content.
        if read_text(&target)? != before {
            continue;
        }
        write(path, &target, &text, before.as_deref(), dialect, redact)?;
        return Ok((result, Some(path.to_owned())));
    }
    Err(ClientsError::Busy { path: path.to_owned() })
}

/// The file a write goes to: a symlink's target, so the link stays.
fn resolve_symlink(path: &Path) -> Result<PathBuf, ClientsError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).or_else(|_| {
            // A dangling link: write where it points.
            fs::read_link(path)
                .map(|t| path.parent().unwrap_or(Path::new(".")).join(t))
                .map_err(|source| ClientsError::Read {
                    path: path.to_owned(),
                    source,
                })
        }),
        _ => Ok(path.to_owned()),
    }
}

/// Replaces `target` with `text`: refuses a read-only file, keeps a backup
/// of `before` without the `redact`ed secrets, writes a temporary file and
/// renames it over.
fn write(
    shown: &Path,
    target: &Path,
    text: &str,
    before: Option<&str>,
    dialect: Dialect,
    redact: &[String],
) -> Result<(), ClientsError> {
    let werr = |source| ClientsError::Write {
        path: shown.to_owned(),
        source,
    };
    let old_meta = fs::metadata(target).ok();
    if old_meta.as_ref().is_some_and(|m| m.permissions().readonly()) {
        return Err(ClientsError::ReadOnly { path: shown.to_owned() });
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(werr)?;
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("config.json");
    if let Some(old) = before.filter(|b| !b.trim().is_empty()) {
        let backup = dir.join(format!("{name}{BACKUP_SUFFIX}"));
        match backup_text(old, dialect, redact) {
            // The old content may hold other servers' keys: the backup is
            // private (`replace_file` without permissions: 0600).
            Some(kept) => crate::store::files::replace_file(&backup, kept.as_bytes(), None).map_err(werr)?,
            None => {
                tracing::warn!(
                    file = %shown.display(),
                    "no backup kept: a secret moved to the keychain could not be removed from it"
                );
                match fs::remove_file(&backup) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(werr(e)),
                }
            }
        }
    }
    crate::store::files::replace_file(target, text.as_bytes(), old_meta.map(|m| m.permissions())).map_err(werr)
}

/// The backup of `old` for an edit that moves `secrets` out of the file:
/// each string (key or value) that holds one has it replaced, comments and
/// raw spellings too; `None` when the result, read back, still holds one.
fn backup_text(old: &str, dialect: Dialect, secrets: &[String]) -> Option<String> {
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
    if secrets.is_empty() {
        return Some(old.to_owned());
    }
    let root = CstRootNode::parse(old, &dialect.options()).ok()?;
    for lit in string_literals(&root) {
        let Ok(value) = lit.decoded_value() else { continue };
        let scrubbed = scrub(&value, &secrets);
        if scrubbed != value {
            lit.set_raw_value(serde_json::to_string(&scrubbed).ok()?);
        }
    }
    let kept = scrub(&root.to_string(), &secrets);
    (!holds_secret(&kept, dialect, &secrets)).then_some(kept)
}

/// Every string literal of the tree: values and quoted keys.
fn string_literals(root: &CstRootNode) -> Vec<CstStringLit> {
    fn walk(node: CstNode, out: &mut Vec<CstStringLit>) {
        match node {
            CstNode::Leaf(CstLeafNode::StringLit(s)) => out.push(s),
            CstNode::Container(c) => c.children().into_iter().for_each(|n| walk(n, out)),
            CstNode::Leaf(_) => {}
        }
    }
    let mut out = Vec::new();
    root.children().into_iter().for_each(|n| walk(n, &mut out));
    out
}

/// The spellings of `secret` inside a JSON string: as it is, and escaped
/// once more (a JSON document inside a string, like mcp-remote's
/// `--static-oauth-client-info`).
fn spellings(secret: &str) -> [String; 2] {
    let quoted = serde_json::to_string(secret).unwrap_or_default();
    let escaped = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default();
    [secret.to_owned(), escaped.to_owned()]
}

fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        for spelling in spellings(secret) {
            if !spelling.is_empty() {
                out = out.replace(&spelling, MOVED);
            }
        }
    }
    out
}

/// Whether a secret is in `text`: as written, in any string it decodes to
/// (escapes such as `\/` or `\u0074` hide it from a plain search), or in a
/// JSON document inside such a string, however deeply nested. A text that
/// cannot be read counts as holding one.
fn holds_secret(text: &str, dialect: Dialect, secrets: &[&str]) -> bool {
    let found = |s: &str| {
        secrets.iter().any(|secret| {
            spellings(secret)
                .iter()
                .any(|sp| !sp.is_empty() && s.contains(sp.as_str()))
        })
    };
    if found(text) {
        return true;
    }
    let Ok(root) = CstRootNode::parse(text, &dialect.options()) else {
        return true;
    };
    string_literals(&root)
        .iter()
        .any(|lit| lit.decoded_value().map_or(true, |v| string_holds(&v, &found, 8)))
}

/// Whether `s`, or a JSON document it holds (`depth` levels down), has a
/// secret by `found`.
fn string_holds(s: &str, found: &dyn Fn(&str) -> bool, depth: usize) -> bool {
    fn value_holds(v: &Value, found: &dyn Fn(&str) -> bool, depth: usize) -> bool {
        match v {
            Value::String(s) => string_holds(s, found, depth),
            Value::Array(a) => a.iter().any(|x| value_holds(x, found, depth)),
            Value::Object(o) => o
                .iter()
                .any(|(k, x)| string_holds(k, found, depth) || value_holds(x, found, depth)),
            _ => false,
        }
    }
    found(s) || (depth > 0 && serde_json::from_str::<Value>(s).is_ok_and(|inner| value_holds(&inner, found, depth - 1)))
}

/// A JSON value as input for the tree.
pub fn input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(a) => CstInputValue::Array(a.iter().map(input).collect()),
        Value::Object(o) => CstInputValue::Object(o.iter().map(|(k, v)| (k.clone(), input(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tether-jsonc-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_edit_changes_only_what_it_touches() {
        let dir = tmp("touch");
        let path = dir.join("settings.json");
        let text = "{\n    // my theme\n    \"theme\": \"One Dark\", /* keep */\n    \"b\": [1,2],\n}\n";
        fs::write(&path, text).unwrap();
        let (_, written) = edit(&path, Dialect::Jsonc, &[], |root| {
            let obj = root.object_value_or_set();
            obj.append("x", input(&serde_json::json!({"a": "b"})));
            Ok(((), true))
        })
        .unwrap();
        assert_eq!(written.as_deref(), Some(path.as_path()));
        let after = fs::read_to_string(&path).unwrap();
        assert!(
            after.starts_with("{\n    // my theme\n    \"theme\": \"One Dark\", /* keep */\n    \"b\": [1,2],\n"),
            "{after}"
        );
        assert!(
            after.ends_with("    \"x\": {\n        \"a\": \"b\",\n    },\n}\n"),
            "{after}"
        );
        assert_eq!(
            fs::read_to_string(dir.join("settings.json.tether-backup")).unwrap(),
            text
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn strict_json_refuses_comments_with_the_line() {
        let dir = tmp("strict");
        let path = dir.join("c.json");
        fs::write(&path, "{\n  // no\n  \"a\": 1\n}\n").unwrap();
        let e = read(&path, Dialect::Json).unwrap_err();
        assert!(matches!(e, ClientsError::Malformed { line: 2, .. }), "{e}");
        assert!(read(&path, Dialect::Jsonc).is_ok());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn control_characters_in_strings_and_odd_whitespace_are_refused_in_both_dialects() {
        // Found by the `jsonc_edit` fuzz target: jsonc-parser took these, so
        // Tether rewrote a file its client cannot read.
        let dir = tmp("lenient");
        let path = dir.join("c.json");
        for (text, line, column) in [
            ("{\"a\": \"x\u{1}y\"}", 1, 9),
            ("{\n  \"a\": \"two\nlines\"\n}", 2, 12),
            ("{\"a\":\u{c}1}", 1, 6),
            ("{\"a\": 1,\u{a0}\"b\": 2}", 1, 9),
        ] {
            fs::write(&path, text).unwrap();
            for dialect in [Dialect::Json, Dialect::Jsonc] {
                let e = read(&path, dialect).unwrap_err();
                assert!(
                    matches!(e, ClientsError::Malformed { line: l, column: c, .. } if (l, c) == (line, column)),
                    "{text:?}: {e}"
                );
                let e = edit(&path, dialect, &[], |root| {
                    root.object_value_or_set().append("t", CstInputValue::Bool(true));
                    Ok(((), true))
                })
                .unwrap_err();
                assert!(matches!(e, ClientsError::Malformed { .. }), "{e}");
                assert_eq!(fs::read_to_string(&path).unwrap(), text);
            }
        }
        // Escaped, and in comments, they are fine.
        fs::write(&path, "{\"a\": \"x\\u0001y\\n\", /* \u{1} */ \"b\": 1 // \u{a0}\n}").unwrap();
        assert!(read(&path, Dialect::Jsonc).is_ok());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_empty_file_reads_as_an_empty_object() {
        let dir = tmp("empty");
        let path = dir.join("c.json");
        fs::write(&path, "  \n").unwrap();
        assert_eq!(read(&path, Dialect::Json).unwrap(), Some(serde_json::json!({})));
        assert_eq!(read(&dir.join("none.json"), Dialect::Json).unwrap(), None);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unchanged_edit_writes_nothing() {
        let dir = tmp("unchanged");
        let path = dir.join("c.json");
        let (_, written) = edit(&path, Dialect::Json, &[], |_| Ok(((), false))).unwrap();
        assert!(written.is_none());
        assert!(!path.exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_file_is_written_at_its_target_and_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tmp("link");
        let real = dir.join("real.json");
        fs::write(&real, "{}").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        edit(&link, Dialect::Json, &[], |root| {
            root.object_value_or_set().append("a", CstInputValue::Bool(true));
            Ok(((), true))
        })
        .unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert!(fs::read_to_string(&real).unwrap().contains("\"a\": true"));
        assert_eq!(fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o644);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_secret_spelled_with_json_escapes_is_not_kept_in_the_backup() {
        // `\/` and `\u0074` are how some tools write "/" and "t": a plain
        // search for the token misses them.
        let dir = tmp("escaped");
        let path = dir.join("c.json");
        let token = "tok/2f9c-secret";
        let text = r#"{"mcpServers": {"corp": {"env": {"AUTH": "Bearer tok\/2f9c-secre\u0074"}}, "other": {"env": {"K": "keep-me"}}}}"#;
        fs::write(&path, text).unwrap();
        edit(&path, Dialect::Json, &[token.into()], |root| {
            root.object_value_or_set().append("a", CstInputValue::Bool(true));
            Ok(((), true))
        })
        .unwrap();
        let kept = fs::read_to_string(dir.join("c.json.tether-backup")).expect("a backup is kept");
        let value: Value = serde_json::from_str(&kept).unwrap();
        assert!(!value.to_string().contains("2f9c"), "{kept}");
        assert_eq!(
            value["mcpServers"]["corp"]["env"]["AUTH"],
            "Bearer [moved to the keychain]"
        );
        assert_eq!(value["mcpServers"]["other"]["env"]["K"], "keep-me");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_backup_keeps_everything_but_the_moved_secrets_in_any_spelling() {
        let dir = tmp("spellings");
        let path = dir.join("c.json");
        let secret = "s3cr\"et/x";
        let info = serde_json::json!({"client_id": "abc", "client_secret": secret}).to_string();
        let doc = serde_json::json!({
            "mcpServers": {
                "corp": {"args": ["mcp-remote", "https://x/mcp", "--static-oauth-client-info", info],
                         "env": {"AUTH": format!("Bearer {secret}")}},
                "other": {"env": {"KEY": "keep-me"}}
            }
        });
        let text = serde_json::to_string_pretty(&doc).unwrap().replace('/', "\\/");
        fs::write(&path, &text).unwrap();
        edit(&path, Dialect::Json, &[secret.into()], |root| {
            root.object_value_or_set().append("a", CstInputValue::Bool(true));
            Ok(((), true))
        })
        .unwrap();
        let kept = fs::read_to_string(dir.join("c.json.tether-backup")).expect("a backup is kept");
        let value: Value = serde_json::from_str(&kept).unwrap();
        assert!(!value.to_string().contains("s3cr"), "{kept}");
        assert_eq!(value["mcpServers"]["other"]["env"]["KEY"], "keep-me");
        assert_eq!(
            value["mcpServers"]["corp"]["env"]["AUTH"],
            "Bearer [moved to the keychain]"
        );
        assert_eq!(
            value["mcpServers"]["corp"]["args"][3],
            r#"{"client_id":"abc","client_secret":"[moved to the keychain]"}"#
        );
        assert_eq!(
            value["mcpServers"]["corp"]["args"][1], "https://x/mcp",
            "other strings as they were"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn when_a_secret_cannot_be_removed_no_backup_is_kept_and_the_old_one_goes() {
        // A JSON document inside a JSON string inside the file's string:
        // the secret, which has a quote, is escaped three times there, and
        // only a reader that decodes each level finds it.
        let dir = tmp("unremovable");
        let path = dir.join("c.json");
        let backup = dir.join("c.json.tether-backup");
        let secret = "tok\"9f31";
        let inner = serde_json::json!({"client_secret": secret}).to_string();
        let doc = serde_json::json!({"arg": serde_json::to_string(&inner).unwrap(), "other": "keep-me"});
        fs::write(&path, doc.to_string()).unwrap();
        // The backup of an earlier edit, when the secret was in plain text.
        fs::write(
            &backup,
            format!("{{\"arg\": {}}}", serde_json::to_string(secret).unwrap()),
        )
        .unwrap();
        edit(&path, Dialect::Json, &[secret.into()], |root| {
            root.object_value_or_set().append("b", CstInputValue::Bool(true));
            Ok(((), true))
        })
        .unwrap();
        assert!(!backup.exists(), "no backup, not even the old one");
        let after: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(after["b"], true, "the edit itself is made");

        assert!(holds_secret(r#"{"a": "x\u0074ok-123"}"#, Dialect::Json, &["tok-123"]));
        assert!(holds_secret(
            r#"{"a": "{\"b\": \"tok-123\"}"}"#,
            Dialect::Json,
            &["tok-123"]
        ));
        assert!(!holds_secret(r#"{"a": "x"}"#, Dialect::Json, &["tok-123"]));
        assert!(
            holds_secret(r#"{"a": "#, Dialect::Json, &["tok-123"]),
            "an unreadable backup is not trusted"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_backup_is_private_whatever_the_files_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tmp("private");
        let path = dir.join("c.json");
        fs::write(&path, "{\"env\": {\"K\": \"other-servers-key\"}}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        edit(&path, Dialect::Json, &[], |root| {
            root.object_value_or_set().append("a", CstInputValue::Bool(true));
            Ok(((), true))
        })
        .unwrap();
        let backup = dir.join("c.json.tether-backup");
        assert_eq!(fs::metadata(&backup).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn secrets_moved_away_are_not_kept_in_the_backup() {
        let dir = tmp("redact");
        let path = dir.join("c.json");
        fs::write(&path, "{\"env\": {\"T\": \"sk-\\\"x\"}, \"u\": \"tok-123\"}").unwrap();
        edit(&path, Dialect::Json, &["sk-\"x".into(), "tok-123".into()], |root| {
            root.object_value_or_set().append("a", CstInputValue::Bool(true));
            Ok(((), true))
        })
        .unwrap();
        let backup = fs::read_to_string(dir.join("c.json.tether-backup")).unwrap();
        assert!(!backup.contains("tok-123") && !backup.contains("sk-"), "{backup}");
        fs::remove_dir_all(dir).unwrap();
    }
}
