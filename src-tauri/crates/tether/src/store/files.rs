//! Small JSON files for facts that are not secret, written so that a crash
//! or a second process never leaves half a file behind.
//!
//! Owns the on-disk rules shared by the state files, the bridges' status
//! files, the server list and the MCP clients' configs: a write goes to a
//! temporary file in the same directory and is renamed over the old one
//! (atomic on every OS Tether runs on); files are readable by their owner
//! only; a file that cannot be parsed is reported with its path and line and
//! is never overwritten by a reader.
//!
//! The temporary file's name carries 64 random bits, and it is created with
//! `O_EXCL` (`create_new`), so no other process can guess the name and plant
//! a symlink or a file there for Tether to write through. Its data is synced
//! before the rename, and on Unix the directory is synced after it (POSIX
//! makes a rename durable only then), so a crash leaves the old file or the
//! new one, whole.

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
    let (tmp, mut file) = create_temp(dir, name)?;
    let result = file
        .write_all(bytes)
        .and_then(|()| match permissions {
            Some(p) => file.set_permissions(p),
            None => Ok(()),
        })
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            fs::rename(&tmp, path)
        });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // The rename is done; a directory that cannot be synced (some network
    // and FUSE file systems refuse) does not make the write a failure.
    if let Err(e) = sync_dir(dir) {
        tracing::debug!(dir = %dir.display(), error = %e, "could not sync the directory after a rename");
    }
    Ok(())
}

/// Creates `.<name>.<16 random hex digits>.tmp` in `dir`, owner-only, with
/// `O_EXCL`: an existing file or symlink there is never opened.
fn create_temp(dir: &Path, name: &str) -> std::io::Result<(PathBuf, fs::File)> {
    let mut last = None;
    for _ in 0..8 {
        let tmp = dir.join(format!(".{name}.{}.tmp", random_hex()));
        match open_new(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

/// Opens a new file for writing, owner-only; fails if anything (a file, a
/// symlink, even a dangling one) is at `path` (`O_CREAT | O_EXCL`).
fn open_new(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// 64 bits no other process can predict: SipHash under the standard
/// library's random keys (seeded from the OS once per thread, and changed
/// for every `RandomState`), over the time and the process id.
fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(now);
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// Makes a rename in `dir` durable (POSIX: fsync the directory). Windows
/// has no directory handle to sync; its rename is journaled by NTFS.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
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

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tether-files-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_old_predictable_temporary_name_is_not_written_through() {
        // Before: the temporary file was `.<name>.<pid>.tmp`, opened with
        // truncate: a link planted there made Tether overwrite its target.
        let dir = scratch("planted");
        let victim = dir.join("victim");
        fs::write(&victim, "precious").unwrap();
        let path = dir.join("state.json");
        std::os::unix::fs::symlink(&victim, dir.join(format!(".state.json.{}.tmp", std::process::id()))).unwrap();
        write_json(&path, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
        assert_eq!(read_json::<serde_json::Value>(&path).unwrap().unwrap()["a"], 1);
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_temporary_file_is_never_opened_over_something_already_there() {
        let dir = scratch("excl");
        let victim = dir.join("victim");
        fs::write(&victim, "precious").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let dangling = dir.join("dangling");
        std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).unwrap();
        for p in [&victim, &link, &dangling] {
            let e = open_new(p).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{}", p.display());
        }
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!dir.join("nowhere").exists(), "a dangling link is not followed either");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn temporary_names_are_random_not_derived_from_the_process() {
        let names: std::collections::HashSet<String> = (0..100).map(|_| random_hex()).collect();
        assert_eq!(names.len(), 100);
        let dir = scratch("names");
        let (a, _fa) = create_temp(&dir, "x.json").unwrap();
        let (b, _fb) = create_temp(&dir, "x.json").unwrap();
        assert_ne!(a, b);
        for t in [&a, &b] {
            let n = t.file_name().unwrap().to_str().unwrap();
            assert!(n.starts_with(".x.json.") && n.ends_with(".tmp"), "{n}");
            assert!(!n.contains(&format!(".{}.", std::process::id())), "{n}");
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_the_permissions_it_is_given() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("perms");
        let path = dir.join("c.json");
        replace_file(&path, b"{}", Some(fs::Permissions::from_mode(0o644))).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        replace_file(&path, b"{}", None).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temporary file is left");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn names_become_safe_file_names() {
        assert_eq!(file_stem("https://a.b/c?d"), "https___a.b_c_d");
    }
}
