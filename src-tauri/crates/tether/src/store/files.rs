//! Small JSON files for facts that are not secret, written so that a crash
//! or a second process never leaves half a file behind.
//!
//! Owns the on-disk rules shared by the state files, the bridges' status
//! files and the server list: a write goes to a temporary file in the same
//! directory and is renamed over the old one (atomic on every OS Tether runs
//! on); files are readable by their owner only; a file that cannot be parsed
//! is reported with its path and line and is never overwritten by a reader.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A problem with one of Tether's files.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(
        "{path} is not valid JSON (line {line}, column {column}): {message}; fix or remove it, Tether will not overwrite it"
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// Reads `path` as JSON; `Ok(None)` when it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, FileError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(FileError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| FileError::Malformed {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// Writes `value` to `path` as pretty JSON, atomically, readable by the
/// owner only. Creates the directory (owner only) when needed.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), FileError> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| FileError::Write {
        path: path.to_owned(),
        source: std::io::Error::other(e),
    })?;
    text.push(b'\n');
    write_atomic(path, &text)
}

/// Replaces `path` with `bytes` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let err = |source| FileError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::logging::create_private_dir(dir).map_err(err)?;
    replace_file(path, bytes, None).map_err(err)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over
/// `path`, so a reader sees the old file or the new one, never half of one.
/// The new file gets `permissions` (say, the old file's), else owner-only.
pub fn replace_file(path: &Path, bytes: &[u8], permissions: Option<fs::Permissions>) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = options
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            if let Some(p) = permissions {
                f.set_permissions(p)?;
            }
            f.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Turns a name into a file name: letters, digits, `-`, `_` and `.` stay.
pub fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_written_atomically_and_read_back() {
        let dir = std::env::temp_dir().join(format!("tether-files-{}", std::process::id()));
        let path = dir.join("sub").join("state.json");
        write_json(&path, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(read_json::<serde_json::Value>(&path).unwrap().unwrap()["a"], 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(
            fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temporary file is left"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_malformed_file_is_reported_with_its_line_and_kept() {
        let dir = std::env::temp_dir().join(format!("tether-bad-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.json");
        fs::write(&path, "{\n  \"a\": 1,\n  oops\n}").unwrap();
        let e = read_json::<serde_json::Value>(&path).unwrap_err();
        assert!(matches!(e, FileError::Malformed { line: 3, .. }), "{e}");
        assert!(e.to_string().contains("Tether will not overwrite it"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\n  \"a\": 1,\n  oops\n}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_file_reads_as_none() {
        assert!(
            read_json::<serde_json::Value>(Path::new("/nonexistent/tether/x.json"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn names_become_safe_file_names() {
        assert_eq!(file_stem("https://a.b/c?d"), "https___a.b_c_d");
    }
}
