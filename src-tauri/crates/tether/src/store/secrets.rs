//! Secrets in the OS keychain, and nowhere else.
//!
//! Owns every access token, refresh token, client secret and Bearer token
//! Tether holds (OAuth 2.1 §7.1 and MCP Authorization 2025-11-25 §"Token
//! Theft": clients MUST store tokens securely). They go through the
//! `keyring-core` API to the native store of each OS: Keychain Services on
//! macOS, the Credential Manager on Windows, the Secret Service (gnome-keyring,
//! KWallet) on Linux. The choice is [`Backend::for_os`], a function of the OS
//! alone, so every platform's case is tested anywhere.
//!
//! On top of the store: values larger than the store allows are split into
//! numbered parts (Windows caps a credential at 2560 bytes); every call runs
//! off the async runtime with a timeout, because a locked keychain can block
//! on a prompt; an in-memory cache spares the keychain a call per request;
//! errors say what to do (unlock the keychain, install a Secret Service).
//! `TETHER_HOME` changes the service name, so tests and development builds
//! never see a user's real entries.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::keys;
use crate::sync::lock;

/// How long one keychain call may take before it is reported as hanging.
pub const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(20);
/// The marker of a value split into parts.
const CHUNKED: &str = "tether-chunked:v1:";

/// A secret value that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A secret read from JSON (a token the app's window sends); there is no
/// `Serialize`, so none is ever written out by accident.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Why the keychain could not be used, in words a user can act on.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error(
        "the keychain ({0}) is locked or refused access; unlock it (on Linux: the \"Login\" keyring in Passwords and Keys, or `gnome-keyring-daemon --unlock`) and try again"
    )]
    Locked(String),
    #[error(
        "no keychain is available ({0}); Tether keeps tokens only in the OS keychain: on Linux install and start a Secret Service such as gnome-keyring or KWallet"
    )]
    Unavailable(String),
    #[error("the keychain ({0}) did not answer within {1} s; it may be waiting for a password prompt")]
    Timeout(String, u64),
    #[error("the keychain ({0}) failed: {1}")]
    Failed(String, String),
}

/// The native store of each OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// macOS Keychain Services.
    MacosKeychain,
    /// Windows Credential Manager.
    WindowsCredentialManager,
    /// The freedesktop Secret Service over D-Bus (gnome-keyring, KWallet).
    SecretService,
}

impl Backend {
    /// The store Tether uses on `os` (as in `std::env::consts::OS`).
    pub fn for_os(os: &str) -> Option<Self> {
        match os {
            "macos" => Some(Self::MacosKeychain),
            "windows" => Some(Self::WindowsCredentialManager),
            "linux" | "freebsd" | "openbsd" | "netbsd" | "dragonfly" => Some(Self::SecretService),
            _ => None,
        }
    }

    /// The name shown to users.
    pub fn name(self) -> &'static str {
        match self {
            Self::MacosKeychain => "macOS Keychain",
            Self::WindowsCredentialManager => "Windows Credential Manager",
            Self::SecretService => "Secret Service",
        }
    }

    /// The longest value stored in one entry, in bytes. The Credential
    /// Manager caps a blob at 2560 bytes and the store writes UTF-16, so a
    /// part stays well under 1280 characters.
    pub fn max_value_len(self) -> usize {
        match self {
            Self::WindowsCredentialManager => 1000,
            Self::MacosKeychain | Self::SecretService => 16 * 1024,
        }
    }
}

/// A place to keep secret strings, one per key. Blocking: callers go through
/// [`Secrets`], which runs it off the async runtime.
pub trait SecretStore: Send + Sync {
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Stores `value` under `key`, replacing any old value.
    fn set(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Removes `key`; a missing key is not an error.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// The longest value one entry takes.
    fn max_value_len(&self) -> usize;
    /// Where the secrets are, for `tether status` ("Secret Service").
    fn describe(&self) -> String;
}

/// The OS keychain through `keyring-core`.
pub struct Keychain {
    store: Arc<keyring_core::CredentialStore>,
    service: String,
    backend: Backend,
}

impl Keychain {
    /// Opens the native store of this OS. `namespace` (from `TETHER_HOME`)
    /// keeps isolated homes apart.
    pub fn open(namespace: Option<&str>) -> Result<Self, StoreError> {
        let backend = Backend::for_os(std::env::consts::OS)
            .ok_or_else(|| StoreError::Unavailable(format!("no keychain support on {}", std::env::consts::OS)))?;
        let store = native_store()?;
        Ok(Self {
            store,
            service: service_name(namespace),
            backend,
        })
    }

    fn entry(&self, key: &str) -> Result<keyring_core::Entry, StoreError> {
        self.store.build(&self.service, key, None).map_err(|e| self.error(e))
    }

    fn error(&self, e: keyring_core::Error) -> StoreError {
        use keyring_core::Error as E;
        let name = self.backend.name().to_owned();
        match e {
            E::NoStorageAccess(inner) => StoreError::Locked(format!("{name}: {inner}")),
            E::NoDefaultStore => StoreError::Unavailable(name),
            E::PlatformFailure(inner) => {
                let text = inner.to_string();
                // No session bus, or nothing answering org.freedesktop.secrets.
                if text.contains("ServiceUnknown")
                    || text.contains("NotFound")
                    || text.contains("dbus")
                    || text.contains("D-Bus")
                {
                    StoreError::Unavailable(format!("{name}: {text}"))
                } else {
                    StoreError::Failed(name, text)
                }
            }
            other => StoreError::Failed(name, other.to_string()),
        }
    }
}

#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
fn native_store() -> Result<Arc<keyring_core::CredentialStore>, StoreError> {
    let store = zbus_secret_service_keyring_store::Store::new()
        .map_err(|e| StoreError::Unavailable(format!("Secret Service: {e}")))?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn native_store() -> Result<Arc<keyring_core::CredentialStore>, StoreError> {
    let store = apple_native_keyring_store::keychain::Store::new()
        .map_err(|e| StoreError::Unavailable(format!("macOS Keychain: {e}")))?;
    Ok(store)
}

#[cfg(target_os = "windows")]
fn native_store() -> Result<Arc<keyring_core::CredentialStore>, StoreError> {
    let store = windows_native_keyring_store::Store::new()
        .map_err(|e| StoreError::Unavailable(format!("Windows Credential Manager: {e}")))?;
    Ok(store)
}

#[cfg(not(any(unix, windows)))]
fn native_store() -> Result<Arc<keyring_core::CredentialStore>, StoreError> {
    Err(StoreError::Unavailable("this platform".into()))
}

/// The keychain service name: `Tether`, or `Tether (<TETHER_HOME>)`.
pub fn service_name(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) if !ns.is_empty() => format!("Tether ({ns})"),
        _ => "Tether".to_owned(),
    }
}

impl SecretStore for Keychain {
    fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.entry(key)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.entry(key)?.set_password(value).map_err(|e| self.error(e))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    fn max_value_len(&self) -> usize {
        self.backend.max_value_len()
    }

    fn describe(&self) -> String {
        format!("{} (service \"{}\")", self.backend.name(), self.service)
    }
}

/// The OS keychain, opened on first use: a server that needs no secret
/// never connects to it (no D-Bus connection, no macOS prompt).
pub struct LazyKeychain {
    namespace: Option<String>,
    opened: std::sync::OnceLock<Result<Keychain, StoreError>>,
}

impl LazyKeychain {
    /// The keychain of this `TETHER_HOME` namespace.
    pub fn new(namespace: Option<String>) -> Self {
        Self {
            namespace,
            opened: std::sync::OnceLock::new(),
        }
    }

    fn keychain(&self) -> Result<&Keychain, StoreError> {
        self.opened
            .get_or_init(|| Keychain::open(self.namespace.as_deref()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl SecretStore for LazyKeychain {
    fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.keychain()?.get(key)
    }
    fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.keychain()?.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.keychain()?.delete(key)
    }
    fn max_value_len(&self) -> usize {
        Backend::for_os(std::env::consts::OS).map_or(1000, Backend::max_value_len)
    }
    fn describe(&self) -> String {
        match self.keychain() {
            Ok(k) => k.describe(),
            Err(e) => format!("unavailable: {e}"),
        }
    }
}

/// A store in memory, for unit tests of the logic around the keychain.
#[cfg(test)]
#[derive(Default)]
pub struct MemoryStore {
    values: Mutex<HashMap<String, String>>,
    max: Option<usize>,
}

#[cfg(test)]
impl MemoryStore {
    /// A store whose entries hold at most `max` bytes, like a small keychain.
    pub fn with_max_value_len(max: usize) -> Self {
        Self {
            values: Mutex::default(),
            max: Some(max),
        }
    }
    /// The raw entries, for tests.
    pub fn keys(&self) -> Vec<String> {
        let mut k: Vec<String> = self.lock().keys().cloned().collect();
        k.sort();
        k
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        lock(&self.values)
    }
}

#[cfg(test)]
impl SecretStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock().get(key).cloned())
    }
    fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        if self.max.is_some_and(|m| value.len() > m) {
            return Err(StoreError::Failed("memory".into(), "value too long".into()));
        }
        self.lock().insert(key.to_owned(), value.to_owned());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }
    fn max_value_len(&self) -> usize {
        self.max.unwrap_or(usize::MAX)
    }
    fn describe(&self) -> String {
        "memory (tests only)".into()
    }
}

/// Splits values too long for one entry; blocking.
fn get_joined(store: &dyn SecretStore, key: &str) -> Result<Option<String>, StoreError> {
    let Some(head) = store.get(key)? else { return Ok(None) };
    let Some(count) = head.strip_prefix(CHUNKED) else {
        return Ok(Some(head));
    };
    let count: usize = count
        .parse()
        .map_err(|_| StoreError::Failed(store.describe(), format!("entry {key} is damaged")))?;
    let mut value = String::new();
    for i in 1..=count {
        match store.get(&keys::part(key, i))? {
            Some(part) => value.push_str(&part),
            None => {
                return Err(StoreError::Failed(
                    store.describe(),
                    format!("part {i} of entry {key} is missing"),
                ));
            }
        }
    }
    Ok(Some(value))
}

fn set_split(store: &dyn SecretStore, key: &str, value: &str) -> Result<(), StoreError> {
    let max = store.max_value_len().max(64);
    let old_parts = old_part_count(store, key)?;
    if value.len() <= max && !value.starts_with(CHUNKED) {
        store.set(key, value)?;
    } else {
        let parts = split_at_char_boundaries(value, max);
        // Parts first, the head last: a reader never follows a head to parts
        // that are not written yet.
        for (i, part) in parts.iter().enumerate() {
            store.set(&keys::part(key, i + 1), part)?;
        }
        store.set(key, &format!("{CHUNKED}{}", parts.len()))?;
        for i in parts.len() + 1..=old_parts {
            store.delete(&keys::part(key, i))?;
        }
        return Ok(());
    }
    for i in 1..=old_parts {
        store.delete(&keys::part(key, i))?;
    }
    Ok(())
}

fn delete_all(store: &dyn SecretStore, key: &str) -> Result<(), StoreError> {
    for i in 1..=old_part_count(store, key)? {
        store.delete(&keys::part(key, i))?;
    }
    store.delete(key)
}

fn old_part_count(store: &dyn SecretStore, key: &str) -> Result<usize, StoreError> {
    Ok(store
        .get(key)?
        .and_then(|h| h.strip_prefix(CHUNKED).and_then(|n| n.parse().ok()))
        .unwrap_or(0))
}

fn split_at_char_boundaries(value: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        parts.push(&rest[..end]);
        rest = &rest[end..];
    }
    parts
}

/// The async face of a [`SecretStore`]: calls run on a blocking thread with
/// a timeout, and values are cached in memory.
#[derive(Clone)]
pub struct Secrets {
    store: Arc<dyn SecretStore>,
    cache: Arc<Mutex<HashMap<String, Option<Secret>>>>,
    timeout: Duration,
}

impl Secrets {
    /// Secrets kept in `store`.
    pub fn new(store: Arc<dyn SecretStore>) -> Self {
        Self {
            store,
            cache: Arc::default(),
            timeout: KEYCHAIN_TIMEOUT,
        }
    }

    /// The same, with another timeout (tests).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Where the secrets are kept.
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    /// The value under `key`, from the cache when it is there.
    pub async fn get(&self, key: &str) -> Result<Option<Secret>, StoreError> {
        if let Some(v) = self.lock().get(key) {
            return Ok(v.clone());
        }
        self.get_fresh(key).await
    }

    /// The value under `key`, read from the keychain (another process may
    /// have changed it).
    pub async fn get_fresh(&self, key: &str) -> Result<Option<Secret>, StoreError> {
        let k = key.to_owned();
        let v = self.blocking(move |s| get_joined(s, &k)).await?.map(Secret::new);
        self.lock().insert(key.to_owned(), v.clone());
        Ok(v)
    }

    /// Stores `value` under `key`.
    pub async fn set(&self, key: &str, value: &Secret) -> Result<(), StoreError> {
        let (k, v) = (key.to_owned(), value.expose().to_owned());
        self.blocking(move |s| set_split(s, &k, &v)).await?;
        self.lock().insert(key.to_owned(), Some(value.clone()));
        Ok(())
    }

    /// Removes `key`.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let k = key.to_owned();
        self.blocking(move |s| delete_all(s, &k)).await?;
        self.lock().insert(key.to_owned(), None);
        Ok(())
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn SecretStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        let task = tokio::task::spawn_blocking(move || f(store.as_ref()));
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(StoreError::Failed(self.store.describe(), join.to_string())),
            Err(_) => Err(StoreError::Timeout(self.store.describe(), self.timeout.as_secs())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<Secret>>> {
        lock(&self.cache)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_os_gets_its_native_store() {
        assert_eq!(Backend::for_os("macos"), Some(Backend::MacosKeychain));
        assert_eq!(Backend::for_os("windows"), Some(Backend::WindowsCredentialManager));
        assert_eq!(Backend::for_os("linux"), Some(Backend::SecretService));
        assert_eq!(Backend::for_os("freebsd"), Some(Backend::SecretService));
        assert_eq!(Backend::for_os("ios"), None);
        assert!(Backend::WindowsCredentialManager.max_value_len() * 2 < 2560);
    }

    #[test]
    fn every_part_of_a_split_value_fits_one_credential_manager_blob() {
        // CRED_MAX_CREDENTIAL_BLOB_SIZE: 5 * 512 bytes, and the store writes
        // text as UTF-16. A part is at most max_value_len() bytes of UTF-8,
        // and no character takes more UTF-16 bytes than twice its UTF-8 ones.
        const CRED_MAX_CREDENTIAL_BLOB_SIZE: usize = 2560;
        let max = Backend::WindowsCredentialManager.max_value_len();
        for text in ["a", "é", "€", "𝄞"].map(|c| c.repeat(3 * max)) {
            let parts = split_at_char_boundaries(&text, max);
            assert!(parts.len() >= 3, "{} bytes make several parts", text.len());
            for part in parts {
                assert!(part.len() <= max);
                let blob = part.encode_utf16().count() * 2;
                assert!(blob <= CRED_MAX_CREDENTIAL_BLOB_SIZE, "{blob} bytes");
            }
        }
    }

    #[test]
    fn tether_home_gets_a_service_name_of_its_own() {
        assert_eq!(service_name(None), "Tether");
        assert_eq!(service_name(Some("/tmp/t1")), "Tether (/tmp/t1)");
    }

    #[test]
    fn a_secret_never_prints() {
        assert_eq!(format!("{:?}", Secret::new("tok")), "Secret([redacted])");
    }

    #[tokio::test]
    async fn a_value_longer_than_an_entry_is_split_and_joined() {
        let mem = Arc::new(MemoryStore::with_max_value_len(100));
        let secrets = Secrets::new(mem.clone());
        let long = "é".repeat(150) + &"x".repeat(51); // 351 bytes, multi-byte chars on the edges
        secrets.set("tokens:a", &Secret::new(long.clone())).await.unwrap();
        assert_eq!(
            mem.keys(),
            ["tokens:a", "tokens:a#1", "tokens:a#2", "tokens:a#3", "tokens:a#4"]
        );
        assert_eq!(secrets.get_fresh("tokens:a").await.unwrap().unwrap().expose(), long);
        // Shorter again: the parts go.
        secrets.set("tokens:a", &Secret::new("short")).await.unwrap();
        assert_eq!(mem.keys(), ["tokens:a"]);
        assert_eq!(secrets.get_fresh("tokens:a").await.unwrap().unwrap().expose(), "short");
        secrets.set("tokens:a", &Secret::new(long)).await.unwrap();
        secrets.delete("tokens:a").await.unwrap();
        assert!(mem.keys().is_empty());
        assert_eq!(secrets.get("tokens:a").await.unwrap(), None);
    }

    #[tokio::test]
    async fn reads_are_cached_until_a_fresh_read_is_asked_for() {
        let mem = Arc::new(MemoryStore::default());
        let secrets = Secrets::new(mem.clone());
        secrets.set("k", &Secret::new("one")).await.unwrap();
        mem.set("k", "two").unwrap(); // another process writes
        assert_eq!(secrets.get("k").await.unwrap().unwrap().expose(), "one");
        assert_eq!(secrets.get_fresh("k").await.unwrap().unwrap().expose(), "two");
    }

    #[tokio::test]
    #[ignore = "needs the OS keychain; tests/run runs it with gnome-keyring in a D-Bus session"]
    async fn the_os_keychain_stores_reads_splits_and_deletes_a_secret() {
        let namespace = format!("unit-test-{}", std::process::id());
        let keychain = Keychain::open(Some(&namespace)).expect("a keychain is available");
        assert!(keychain.describe().contains(&namespace));
        let secrets = Secrets::new(Arc::new(keychain));
        let big = "t".repeat(40 * 1024); // larger than one entry: split
        secrets.set("tokens:unit", &Secret::new(big.clone())).await.unwrap();
        let fresh = Secrets::new(Arc::new(Keychain::open(Some(&namespace)).unwrap()));
        assert_eq!(fresh.get("tokens:unit").await.unwrap().unwrap().expose(), big);
        secrets.delete("tokens:unit").await.unwrap();
        assert_eq!(fresh.get_fresh("tokens:unit").await.unwrap(), None);
        assert_eq!(
            fresh.get_fresh("tokens:unit#1").await.unwrap(),
            None,
            "the parts are gone too"
        );
    }

    struct Hanging;
    impl SecretStore for Hanging {
        fn get(&self, _: &str) -> Result<Option<String>, StoreError> {
            std::thread::sleep(Duration::from_secs(2));
            Ok(None)
        }
        fn set(&self, _: &str, _: &str) -> Result<(), StoreError> {
            Ok(())
        }
        fn delete(&self, _: &str) -> Result<(), StoreError> {
            Ok(())
        }
        fn max_value_len(&self) -> usize {
            100
        }
        fn describe(&self) -> String {
            "hanging".into()
        }
    }

    #[tokio::test]
    async fn a_keychain_that_hangs_times_out_with_a_clear_error() {
        let secrets = Secrets::new(Arc::new(Hanging)).with_timeout(Duration::from_millis(100));
        let e = secrets.get("k").await.unwrap_err();
        assert_eq!(e, StoreError::Timeout("hanging".into(), 0));
        assert!(e.to_string().contains("password prompt"));
    }
}
