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
//! directory, renamed over the old one, after the old content is kept as
//! `<file>.tether-backup`; a symlinked file is written at its target. When
//! the file changed on disk while Tether was editing it (Claude Desktop
//! rewrites its own), the edit is made again on the new content.

use std::fs;
use std::path::{Path, PathBuf};

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstRootNode};
use serde_json::Value;

use super::ClientsError;

/// The suffix of the backup kept beside a file Tether rewrote.
pub const BACKUP_SUFFIX: &str = ".tether-backup";

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
/// keychain) that must not survive in the backup. Returns `edit`'s result
/// and the file written, if any.
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
        write(path, &target, &text, before.as_deref(), redact)?;
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
/// of `before`, writes a temporary file and renames it over.
fn write(shown: &Path, target: &Path, text: &str, before: Option<&str>, redact: &[String]) -> Result<(), ClientsError> {
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
        let mut kept = old.to_owned();
        for secret in redact.iter().filter(|s| !s.is_empty()) {
            let escaped = serde_json::to_string(secret).unwrap_or_default();
            let escaped = escaped.trim_matches('"');
            kept = kept
                .replace(secret.as_str(), "[moved to the keychain]")
                .replace(escaped, "[moved to the keychain]");
        }
        // The old content may hold secrets: the backup is private.
        crate::store::files::replace_file(&dir.join(format!("{name}{BACKUP_SUFFIX}")), kept.as_bytes(), None)
            .map_err(werr)?;
    }
    crate::store::files::replace_file(target, text.as_bytes(), old_meta.map(|m| m.permissions())).map_err(werr)
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
