//! mcp-remote's token cache, `~/.mcp-auth`: finding it after an import, and
//! deleting it when the user asks.
//!
//! mcp-remote keeps every server's tokens, registered client (with its
//! secret) and PKCE verifiers as plain JSON files under
//! `~/.mcp-auth/mcp-remote-<layout or version>/<md5 hex>_<file>`
//! (mcp-remote 0.15: `mcp-remote-v1/`; 0.1.x: `mcp-remote-0.1.37/` and so on;
//! mcp-remote's `src/lib/mcp-auth-config.ts`). Once its entries run Tether,
//! the cache only keeps refresh tokens lying around in plain text. Tether
//! never reads it. It deletes it only when asked (`tether import
//! --delete-mcp-auth`, or the app's offer), and only after checking that
//! everything in it is mcp-remote's: directories named `mcp-remote-…` that
//! hold only regular files named `<32 hex digits>_…`, plus the litter file
//! managers leave (`.DS_Store`, `Thumbs.db`, `desktop.ini`). Anything else
//! (a symlink, another program's file, a nested directory) and nothing is
//! deleted. The files found are deleted one by one, then their directories
//! with `remove_dir`, so a file that appears in the meantime stops the
//! deletion instead of being swept away with it.
//!
//! Only the default location is looked at: mcp-remote's
//! `MCP_REMOTE_CONFIG_DIR` is set in a client entry's `env`, if at all, and
//! a cache moved there is the user's to remove.

use std::fs;
use std::path::{Path, PathBuf};

/// The cache's directory name in the home directory.
pub const DIR_NAME: &str = ".mcp-auth";
/// More entries than this and the directory is not a token cache.
const MAX_ENTRIES: usize = 10_000;
/// Files a file manager leaves in any directory.
const LITTER: &[&str] = &[".DS_Store", "Thumbs.db", "desktop.ini"];

/// Why the cache was not deleted.
#[derive(Debug, thiserror::Error)]
pub enum McpAuthError {
    #[error(
        "{dir} holds {entry}, which is not mcp-remote's, so Tether deleted nothing; look inside and remove the directory yourself if it is safe"
    )]
    NotMcpRemote { dir: PathBuf, entry: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot delete {path}: {source}")]
    Delete {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// mcp-remote's cache under `home`, when there is one (a directory, not a
/// symlink to one).
pub fn find(home: &Path) -> Option<PathBuf> {
    let dir = home.join(DIR_NAME);
    fs::symlink_metadata(&dir).ok()?.is_dir().then_some(dir)
}

/// The files and directories of the cache at `dir`, deepest first, after
/// checking that every one is mcp-remote's.
fn inventory(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), McpAuthError> {
    let not_ours = |entry: &Path| McpAuthError::NotMcpRemote {
        dir: dir.to_owned(),
        entry: entry.strip_prefix(dir).unwrap_or(entry).display().to_string(),
    };
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in read_dir(dir)? {
        let meta = fs::symlink_metadata(&entry).map_err(|source| McpAuthError::Read {
            path: entry.clone(),
            source,
        })?;
        let name = file_name(&entry);
        if meta.is_file() && LITTER.contains(&name.as_str()) {
            files.push(entry);
        } else if meta.is_dir() && name.starts_with("mcp-remote-") {
            for file in read_dir(&entry)? {
                let meta = fs::symlink_metadata(&file).map_err(|source| McpAuthError::Read {
                    path: file.clone(),
                    source,
                })?;
                let name = file_name(&file);
                if !(meta.is_file() && (is_mcp_remote_file(&name) || LITTER.contains(&name.as_str()))) {
                    return Err(not_ours(&file));
                }
                files.push(file);
            }
            dirs.push(entry);
        } else {
            return Err(not_ours(&entry));
        }
    }
    if files.len() + dirs.len() > MAX_ENTRIES {
        return Err(not_ours(Path::new(&format!("more than {MAX_ENTRIES} entries"))));
    }
    dirs.push(dir.to_owned());
    Ok((files, dirs))
}

/// `<md5 hex>_<what>`: every file mcp-remote writes (tokens, client info,
/// verifiers, discovery state, leases, debug logs, and their `.tmp`s).
fn is_mcp_remote_file(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 33 && b[..32].iter().all(u8::is_ascii_hexdigit) && b[32] == b'_'
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, McpAuthError> {
    let read = |source| McpAuthError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(read)? {
        out.push(entry.map_err(read)?.path());
        if out.len() > MAX_ENTRIES {
            break;
        }
    }
    Ok(out)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether the cache at `dir` holds only mcp-remote's files.
pub fn check(dir: &Path) -> Result<(), McpAuthError> {
    inventory(dir).map(|_| ())
}

/// Deletes mcp-remote's cache under `home`, after [`check`]ing it. Returns
/// the directory deleted, or `None` when there was none.
pub fn delete(home: &Path) -> Result<Option<PathBuf>, McpAuthError> {
    let Some(dir) = find(home) else {
        return Ok(None);
    };
    let (files, dirs) = inventory(&dir)?;
    for file in files {
        match fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(McpAuthError::Delete { path: file, source }),
        }
    }
    for d in dirs {
        fs::remove_dir(&d).map_err(|source| McpAuthError::Delete { path: d, source })?;
    }
    Ok(Some(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef0123456789abcdef";

    fn home(name: &str) -> PathBuf {
        let h = std::env::temp_dir().join(format!("tether-mcp-auth-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&h);
        fs::create_dir_all(&h).unwrap();
        h
    }

    /// A cache as mcp-remote 0.15 and 0.1.x leave it.
    fn cache(home: &Path) -> PathBuf {
        let dir = home.join(DIR_NAME);
        let v1 = dir.join("mcp-remote-v1");
        let old = dir.join("mcp-remote-0.1.37");
        fs::create_dir_all(&v1).unwrap();
        fs::create_dir_all(&old).unwrap();
        for f in ["tokens.json", "client_info.json", "code_verifier_9f1c.txt", "debug.log"] {
            fs::write(
                v1.join(format!("{HASH}_{f}")),
                r#"{"access_token":"at1","refresh_token":"rt1"}"#,
            )
            .unwrap();
        }
        fs::write(old.join(format!("{HASH}_tokens.json")), "{}").unwrap();
        fs::write(dir.join(".DS_Store"), "").unwrap();
        dir
    }

    #[test]
    fn mcp_remotes_cache_is_found_and_deleted_whole() {
        let h = home("whole");
        let dir = cache(&h);
        assert_eq!(find(&h), Some(dir.clone()));
        assert_eq!(delete(&h).unwrap(), Some(dir.clone()));
        assert!(!dir.exists());
        assert!(h.exists(), "only the cache goes");
        assert_eq!(delete(&h).unwrap(), None, "nothing to delete the second time");
        fs::remove_dir_all(h).unwrap();
    }

    #[test]
    fn a_cache_holding_anything_else_is_left_whole() {
        for (what, plant) in [
            (
                "another program's file",
                Box::new(|d: &Path| fs::write(d.join("notes.txt"), "mine").unwrap()) as Box<dyn Fn(&Path)>,
            ),
            (
                "an unknown file in mcp-remote's directory",
                Box::new(|d: &Path| fs::write(d.join("mcp-remote-v1").join("tokens.json"), "{}").unwrap()),
            ),
            (
                "a nested directory",
                Box::new(|d: &Path| fs::create_dir(d.join("mcp-remote-v1").join(format!("{HASH}_dir"))).unwrap()),
            ),
            (
                "another directory",
                Box::new(|d: &Path| fs::create_dir(d.join("backups")).unwrap()),
            ),
        ] {
            let h = home("foreign");
            let dir = cache(&h);
            plant(&dir);
            let e = delete(&h).unwrap_err();
            assert!(matches!(e, McpAuthError::NotMcpRemote { .. }), "{what}: {e}");
            assert!(
                dir.join("mcp-remote-v1").join(format!("{HASH}_tokens.json")).exists(),
                "{what}: nothing was deleted"
            );
            fs::remove_dir_all(h).unwrap();
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_neither_followed_nor_taken_for_the_cache() {
        let h = home("links");
        let elsewhere = h.join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        fs::write(elsewhere.join(format!("{HASH}_tokens.json")), "keep").unwrap();
        // The cache itself a link: not found, so never deleted.
        std::os::unix::fs::symlink(&elsewhere, h.join(DIR_NAME)).unwrap();
        assert_eq!(find(&h), None);
        assert_eq!(delete(&h).unwrap(), None);
        fs::remove_file(h.join(DIR_NAME)).unwrap();
        // A link inside it: the cache is not mcp-remote's alone.
        let dir = cache(&h);
        std::os::unix::fs::symlink(&elsewhere, dir.join("mcp-remote-v2")).unwrap();
        assert!(matches!(delete(&h), Err(McpAuthError::NotMcpRemote { .. })));
        assert!(elsewhere.join(format!("{HASH}_tokens.json")).exists());
        assert!(dir.exists());
        fs::remove_dir_all(h).unwrap();
    }

    #[test]
    fn mcp_remotes_file_names_are_recognised() {
        assert!(is_mcp_remote_file(&format!("{HASH}_tokens.json")));
        assert!(is_mcp_remote_file(&format!(
            "{HASH}_tokens.json.4242.1790000000000.tmp"
        )));
        assert!(!is_mcp_remote_file("tokens.json"));
        assert!(!is_mcp_remote_file(&format!("{HASH}_")));
        assert!(!is_mcp_remote_file(&format!("{}_tokens.json", &HASH[1..])));
    }
}
