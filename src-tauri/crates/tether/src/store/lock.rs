//! Cross-process locks, one per server.
//!
//! Claude Desktop starts one bridge per server, sometimes two, and the tray
//! app and `tether login` may act on the same server at the same time. A
//! refresh or a sign-in is therefore a locked transaction: take the server's
//! lock, re-read the stored tokens, adopt what another process already
//! obtained, and only otherwise talk to the authorization server (a rotating
//! refresh token used twice revokes the whole token family, OAuth 2.1
//! §4.3.1). The lock is an advisory OS file lock (`std::fs::File::lock`,
//! flock on Unix, LockFileEx on Windows): the OS releases it when the process
//! dies, so a crash can never leave a server locked.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::files::file_stem;

/// How often a waiting process tries the lock again.
const POLL: Duration = Duration::from_millis(50);

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct ServerLock {
    _file: File,
    path: PathBuf,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot open the lock file {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error(
        "another Tether process has held the lock on {server} for more than {secs} s (signing in?); try again once it is done"
    )]
    Timeout { server: String, secs: u64 },
}

impl ServerLock {
    /// Takes the lock of `server` in `dir`, waiting up to `timeout`.
    pub async fn acquire(dir: &Path, server: &str, timeout: Duration) -> Result<Self, LockError> {
        let mut waiting = Waiting::open(dir, server, timeout)?;
        loop {
            if let Some(file) = waiting.try_take()? {
                return Ok(Self {
                    _file: file,
                    path: waiting.path,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether a process holds the lock of `server` in `dir` now. The look
/// takes the lock for an instant when it is free: a process about to take
/// it must wait a little (`ServerLock::acquire` polls), never try once.
pub fn is_held(dir: &Path, server: &str) -> bool {
    let path = dir.join(format!("{}.lock", file_stem(server)));
    let Ok(file) = OpenOptions::new().write(true).open(&path) else {
        return false; // never taken
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// A short lock on one of Tether's shared files, taken by a blocking call
/// (its holder only reads and writes one small file).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Takes the lock `name` in `dir`, waiting up to `timeout`.
    pub fn blocking(dir: &Path, name: &str, timeout: Duration) -> Result<Self, LockError> {
        let mut waiting = Waiting::open(dir, name, timeout)?;
        loop {
            if let Some(file) = waiting.try_take()? {
                return Ok(Self { _file: file });
            }
            std::thread::sleep(POLL);
        }
    }
}

/// A lock file opened, and the wait for its lock.
struct Waiting {
    file: Option<File>,
    path: PathBuf,
    name: String,
    started: Instant,
    timeout: Duration,
}

impl Waiting {
    fn open(dir: &Path, name: &str, timeout: Duration) -> Result<Self, LockError> {
        let path = dir.join(format!("{}.lock", file_stem(name)));
        let open_err = |source| LockError::Open {
            path: path.clone(),
            source,
        };
        crate::logging::create_private_dir(dir).map_err(open_err)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(open_err)?;
        Ok(Self {
            file: Some(file),
            path,
            name: name.to_owned(),
            started: Instant::now(),
            timeout,
        })
    }

    /// The locked file, `None` to wait and try again, or the error (the
    /// wait is over).
    fn try_take(&mut self) -> Result<Option<File>, LockError> {
        let Some(file) = self.file.as_ref() else {
            return Ok(None);
        };
        match file.try_lock() {
            Ok(()) => return Ok(self.file.take()),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(LockError::Open {
                    path: self.path.clone(),
                    source,
                });
            }
        }
        if self.started.elapsed() >= self.timeout {
            return Err(LockError::Timeout {
                server: self.name.clone(),
                secs: self.timeout.as_secs(),
            });
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("tether-lock-{}", std::process::id()));
        let first = ServerLock::acquire(&dir, "linear", Duration::from_secs(1))
            .await
            .unwrap();
        let e = ServerLock::acquire(&dir, "linear", Duration::from_millis(120))
            .await
            .unwrap_err();
        assert!(matches!(e, LockError::Timeout { .. }));
        let other = ServerLock::acquire(&dir, "github", Duration::from_millis(120)).await;
        assert!(other.is_ok(), "locks are per server");
        drop(first);
        let again = ServerLock::acquire(&dir, "linear", Duration::from_millis(500))
            .await
            .unwrap();
        assert!(again.path().ends_with("linear.lock"));
        drop(again);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
