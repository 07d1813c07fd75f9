//! [`OAuthSource`] through its seams: the in-memory keychain
//! ([`MemoryStore`]), a state directory of its own, and a fake token
//! endpoint whose refresh tokens are single-use (OAuth 2.1 §4.3.1). The
//! stored facts carry the authorization server's metadata, as after a real
//! sign-in, so a refresh needs no discovery; no browser is ever opened
//! ([`Interaction::Never`]).
//!
//! The last pair of tests races two processes on one state directory and the
//! real OS keychain: the test binary runs itself twice.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::{Interaction, OAuthSettings, OAuthSource};
use crate::auth::discovery::AuthServer;
use crate::auth::tokens::TokenSet;
use crate::auth::{AccessToken, AfterUnauthorized, AuthError, TokenSource};
use crate::store::keys;
use crate::store::secrets::{LazyKeychain, MemoryStore, SecretStore, Secrets};
use crate::store::state::{ServerFacts, StateDir, now};
use crate::test_support::TempDir;
use crate::test_support::oauth::FakeTokenEndpoint;

const KEY: &str = "linear";
const MCP_URL: &str = "https://mcp.example.com/mcp";

/// A token set for the MCP server, expiring in `expires_in` seconds out of
/// a one-hour life (so ten seconds left is "near expiry").
fn tokens(access: &str, refresh: Option<&str>, expires_in: i64, issuer: &str) -> TokenSet {
    let now = now();
    TokenSet {
        access_token: access.into(),
        refresh_token: refresh.map(str::to_owned),
        expires_at: Some(now + expires_in),
        scope: Some("read".into()),
        obtained_at: now + expires_in - 3600,
        issuer: issuer.into(),
        client_id: "client-1".into(),
        resource: MCP_URL.into(),
        // As kept by an earlier version: bound at its first refresh.
        token_endpoint: None,
    }
}

/// The facts a sign-in leaves next to `t`.
fn facts_for(t: &TokenSet, endpoint: &FakeTokenEndpoint, serial: u64) -> ServerFacts {
    ServerFacts {
        url: MCP_URL.into(),
        resource: Some(t.resource.clone()),
        issuer: Some(t.issuer.clone()),
        client_id: Some(t.client_id.clone()),
        requested_scopes: vec!["read".into()],
        granted_scopes: t.scope.clone(),
        expires_at: t.expires_at,
        has_refresh_token: t.refresh_token.is_some(),
        token_serial: serial,
        signed_in_at: Some(t.obtained_at),
        auth_server: Some(endpoint.auth_server()),
        ..Default::default()
    }
}

fn settings() -> OAuthSettings {
    OAuthSettings {
        interaction: Interaction::Never,
        ..Default::default()
    }
}

/// One server's keychain and state, and the authorization server's fake
/// token endpoint.
struct World {
    _dir: TempDir,
    store: Arc<MemoryStore>,
    secrets: Secrets,
    state: StateDir,
    endpoint: FakeTokenEndpoint,
    serial: u64,
}

impl World {
    async fn new(valid_refresh_tokens: &[&str]) -> Self {
        let dir = TempDir::new("oauth");
        let store = Arc::new(MemoryStore::default());
        Self {
            secrets: Secrets::new(store.clone()),
            state: StateDir::new(dir.path().join("state")),
            _dir: dir,
            store,
            endpoint: FakeTokenEndpoint::start(valid_refresh_tokens).await,
            serial: 0,
        }
    }

    fn issuer(&self) -> String {
        self.endpoint.issuer()
    }

    /// Stores `t` the way a process that just obtained it would: keychain
    /// first, then the facts; straight into the store, past any cache.
    fn store_tokens(&mut self, t: &TokenSet) {
        self.serial += 1;
        self.store.set(&keys::tokens(KEY), t.to_secret().expose()).unwrap();
        self.state
            .save_server(KEY, &facts_for(t, &self.endpoint, self.serial))
            .unwrap();
    }

    /// What the keychain holds now.
    fn stored(&self) -> Option<TokenSet> {
        let value = self.store.get(&keys::tokens(KEY)).unwrap()?;
        TokenSet::from_secret(&crate::store::secrets::Secret::new(value))
    }

    fn facts(&self) -> ServerFacts {
        self.state.server(KEY).unwrap()
    }

    fn source(&self) -> Arc<OAuthSource> {
        OAuthSource::new(
            KEY,
            "Linear",
            Url::parse(MCP_URL).unwrap(),
            self.state.clone(),
            self.secrets.clone(),
            settings(),
        )
        .unwrap()
    }
}

async fn token_of(src: &OAuthSource) -> Option<String> {
    src.token().await.unwrap().map(|t| t.secret().to_owned())
}

#[tokio::test]
async fn a_token_near_expiry_is_refreshed_before_it_is_sent() {
    let mut w = World::new(&["rt-0"]).await;
    let stale = tokens("at-0", Some("rt-0"), 10, &w.issuer());
    w.store_tokens(&stale);
    let src = w.source();
    assert_eq!(token_of(&src).await.as_deref(), Some("at-1"), "the fresh token is sent");
    assert_eq!(w.endpoint.refreshes(), 1);
    let stored = w.stored().unwrap();
    assert_eq!(stored.access_token, "at-1");
    assert_eq!(
        stored.refresh_token.as_deref(),
        Some("rt-1"),
        "the rotated refresh token is kept"
    );
    let facts = w.facts();
    assert_eq!(facts.expires_at, stored.expires_at);
    assert!(facts.token_serial > w.serial, "the facts say a newer token was saved");
    assert_eq!(token_of(&src).await.as_deref(), Some("at-1"));
    assert_eq!(w.endpoint.refreshes(), 1, "a fresh token is not refreshed again");
}

#[tokio::test]
async fn a_token_another_process_stored_is_adopted_instead_of_refreshing() {
    let mut w = World::new(&["rt-0", "rt-other"]).await;
    w.store_tokens(&tokens("at-0", Some("rt-0"), 10, &w.issuer()));
    let src = w.source();
    // Loaded: this process holds the stale token...
    let held = src.load().await.unwrap().unwrap();
    assert_eq!(held.access_token, "at-0");
    // ...when another process stores the one it just got.
    w.store_tokens(&tokens("at-other", Some("rt-other"), 3600, &w.issuer()));
    assert_eq!(token_of(&src).await.as_deref(), Some("at-other"));
    assert_eq!(w.endpoint.refreshes(), 0, "no refresh token was spent");
}

#[tokio::test]
async fn after_a_401_a_token_another_process_stored_is_adopted_instead_of_refreshing() {
    let mut w = World::new(&["rt-0", "rt-other"]).await;
    w.store_tokens(&tokens("at-0", Some("rt-0"), 3600, &w.issuer()));
    let src = w.source();
    assert_eq!(token_of(&src).await.as_deref(), Some("at-0"));
    w.store_tokens(&tokens("at-other", Some("rt-other"), 3600, &w.issuer()));
    let after = src.unauthorized(None, Some(&AccessToken::new("at-0"))).await.unwrap();
    assert_eq!(after, AfterUnauthorized::Retry);
    assert_eq!(token_of(&src).await.as_deref(), Some("at-other"));
    assert_eq!(w.endpoint.refreshes(), 0);
}

#[tokio::test]
async fn invalid_grant_drops_the_refresh_token_and_asks_for_sign_in() {
    let mut w = World::new(&[]).await; // the endpoint knows no refresh token
    w.store_tokens(&tokens("at-0", Some("rt-revoked"), 3600, &w.issuer()));
    let src = w.source();
    assert_eq!(token_of(&src).await.as_deref(), Some("at-0"));
    let rejected = AccessToken::new("at-0");
    let after = src.unauthorized(None, Some(&rejected)).await.unwrap();
    assert_eq!(after, AfterUnauthorized::SignInRequired);
    assert_eq!(w.endpoint.refreshes(), 1);
    let stored = w.stored().expect("the access token is kept");
    assert_eq!(stored.refresh_token, None, "the dead refresh token is dropped");
    assert!(!w.facts().has_refresh_token);

    let again = src.unauthorized(None, Some(&rejected)).await.unwrap();
    assert_eq!(again, AfterUnauthorized::SignInRequired);
    assert_eq!(w.endpoint.refreshes(), 1, "a dropped refresh token is not tried again");
    match TokenSource::sign_in(&*src).await {
        Err(AuthError::SignInRequired(why)) => assert!(why.contains("tether login linear"), "{why}"),
        other => panic!("expected a sign-in to be required, got {other:?}"),
    }
}

#[tokio::test]
async fn two_refreshes_for_one_expiry_in_one_process_make_one_request() {
    let mut w = World::new(&["rt-0"]).await;
    w.store_tokens(&tokens("at-0", Some("rt-0"), 10, &w.issuer()));
    w.endpoint.delay_answers(Duration::from_millis(50));
    let src = w.source();
    let (a, b, c) = tokio::join!(token_of(&src), token_of(&src), token_of(&src));
    assert_eq!(
        [a, b, c],
        [Some("at-1".to_owned()), Some("at-1".into()), Some("at-1".into())]
    );
    assert_eq!(w.endpoint.refreshes(), 1);
}

#[tokio::test]
async fn two_401s_for_one_token_in_one_process_make_one_refresh() {
    let mut w = World::new(&["rt-0"]).await;
    w.store_tokens(&tokens("at-0", Some("rt-0"), 3600, &w.issuer()));
    w.endpoint.delay_answers(Duration::from_millis(50));
    let src = w.source();
    assert_eq!(token_of(&src).await.as_deref(), Some("at-0"));
    let rejected = AccessToken::new("at-0");
    let (a, b) = tokio::join!(
        src.unauthorized(None, Some(&rejected)),
        src.unauthorized(None, Some(&rejected))
    );
    assert_eq!(
        (a.unwrap(), b.unwrap()),
        (AfterUnauthorized::Retry, AfterUnauthorized::Retry)
    );
    assert_eq!(w.endpoint.refreshes(), 1);
    assert_eq!(token_of(&src).await.as_deref(), Some("at-1"));
}

#[tokio::test]
async fn a_401_for_a_token_that_was_already_replaced_returns_retry_without_refreshing() {
    let mut w = World::new(&["rt-0"]).await;
    w.store_tokens(&tokens("at-0", Some("rt-0"), 3600, &w.issuer()));
    let src = w.source();
    assert_eq!(token_of(&src).await.as_deref(), Some("at-0"));
    let old = AccessToken::new("at-0");
    assert_eq!(
        src.unauthorized(None, Some(&old)).await.unwrap(),
        AfterUnauthorized::Retry
    );
    assert_eq!(w.endpoint.refreshes(), 1);
    // A request sent with the old token before the refresh comes back 401.
    assert_eq!(
        src.unauthorized(None, Some(&old)).await.unwrap(),
        AfterUnauthorized::Retry
    );
    assert_eq!(w.endpoint.refreshes(), 1, "the new token is simply used");
    assert_eq!(token_of(&src).await.as_deref(), Some("at-1"));
}

#[tokio::test]
async fn logout_revokes_and_removes_the_token_from_the_keychain_and_the_facts() {
    let mut w = World::new(&["rt-0"]).await;
    w.store_tokens(&tokens("at-0", Some("rt-0"), 3600, &w.issuer()));
    let src = w.source();
    assert_eq!(token_of(&src).await.as_deref(), Some("at-0"));
    let before = w.facts();
    assert!(src.logout().await.unwrap(), "the server confirmed the revocation");
    assert_eq!(
        w.endpoint.revoked(),
        [("rt-0".to_owned(), "refresh_token".to_owned())],
        "the refresh token is revoked: it ends the grant (RFC 7009 §2.1)"
    );
    assert!(
        w.store.keys().is_empty(),
        "nothing is left in the keychain: {:?}",
        w.store.keys()
    );
    let after = w.facts();
    assert_eq!(after.expires_at, None);
    assert!(!after.has_refresh_token);
    assert_eq!(after.granted_scopes, None);
    assert_eq!(after.signed_in_at, None);
    assert!(after.token_serial > before.token_serial);
    assert!(!after.signed_in(now()));
    assert_eq!(token_of(&src).await, None, "no token is sent any more");
}

// ---- A refresh race between two processes ------------------------------

const RACE_DIR: &str = "TETHER_TEST_RACE_DIR";
const RACE_NAMESPACE: &str = "TETHER_TEST_RACE_NAMESPACE";
const RACE_SIDE: &str = "TETHER_TEST_RACE_SIDE";
const RACE_KEY: &str = "race";
const RACE_CHILD_TEST: &str = "auth::source::tests::one_side_of_a_refresh_race";

fn race_source(dir: &Path, namespace: &str) -> Arc<OAuthSource> {
    let secrets = Secrets::new(Arc::new(LazyKeychain::new(Some(namespace.to_owned()))));
    OAuthSource::new(
        RACE_KEY,
        "race",
        Url::parse(MCP_URL).unwrap(),
        StateDir::new(dir.join("state")),
        secrets,
        settings(),
    )
    .unwrap()
}

/// One of the two processes of [`a_refresh_under_two_processes_happens_once`]:
/// it says it is ready, waits for the "go" file, asks for a token (the stored
/// one is near expiry) and writes down what it got. Run directly, without
/// the race's variables, it returns at once.
#[tokio::test]
#[ignore = "one side of a_refresh_under_two_processes_happens_once, which runs it in a child process"]
async fn one_side_of_a_refresh_race() {
    let (Ok(dir), Ok(namespace), Ok(side)) = (
        std::env::var(RACE_DIR),
        std::env::var(RACE_NAMESPACE),
        std::env::var(RACE_SIDE),
    ) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let src = race_source(&dir, &namespace);
    std::fs::write(dir.join(format!("ready-{side}")), "").unwrap();
    while !dir.join("go").exists() {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let token = src.token().await.unwrap().expect("a token");
    std::fs::write(dir.join(format!("token-{side}")), token.secret()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real keychain: tests/run runs it with --include-ignored"]
async fn a_refresh_under_two_processes_happens_once() {
    let endpoint = FakeTokenEndpoint::start(&["rt-0"]).await;
    // Held answers keep the winner's refresh open while the other process
    // arrives, so the two overlap whatever the machine's speed.
    endpoint.delay_answers(Duration::from_millis(300));
    let dir = TempDir::new("race");
    let namespace = format!(
        "tether-unit-race-{}-{}",
        std::process::id(),
        dir.path().file_name().unwrap().to_string_lossy()
    );
    let secrets = Secrets::new(Arc::new(LazyKeychain::new(Some(namespace.clone()))));
    let stale = tokens("at-0", Some("rt-0"), 10, &endpoint.issuer());
    secrets
        .set(&keys::tokens(RACE_KEY), &stale.to_secret())
        .await
        .expect("the OS keychain (run inside a D-Bus session with gnome-keyring)");
    StateDir::new(dir.path().join("state"))
        .save_server(RACE_KEY, &facts_for(&stale, &endpoint, 1))
        .unwrap();

    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|side| {
            std::process::Command::new(&exe)
                .args(["--exact", RACE_CHILD_TEST, "--nocapture", "--include-ignored"])
                .env(RACE_DIR, dir.path())
                .env(RACE_NAMESPACE, &namespace)
                .env(RACE_SIDE, side)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let ready = async {
        while !(dir.path().join("ready-a").exists() && dir.path().join("ready-b").exists()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let both_ready = tokio::time::timeout(Duration::from_secs(60), ready).await.is_ok();
    std::fs::write(dir.path().join("go"), "").unwrap();
    let mut outputs = Vec::new();
    for child in children {
        outputs.push(
            tokio::task::spawn_blocking(move || child.wait_with_output())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let got: Vec<Option<String>> = ["a", "b"]
        .iter()
        .map(|side| std::fs::read_to_string(dir.path().join(format!("token-{side}"))).ok())
        .collect();
    let stored = secrets.get_fresh(&keys::tokens(RACE_KEY)).await.unwrap();
    secrets.delete(&keys::tokens(RACE_KEY)).await.unwrap();
    assert_eq!(
        secrets.get_fresh(&keys::tokens(RACE_KEY)).await.unwrap(),
        None,
        "the keychain item is gone"
    );

    assert!(both_ready, "both children started");
    for (side, out) in ["a", "b"].iter().zip(&outputs) {
        assert!(
            out.status.success(),
            "child {side} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "child {side} ran its side of the race"
        );
    }
    assert_eq!(endpoint.refreshes(), 1, "one refresh request reached the endpoint");
    assert_eq!(
        got,
        [Some("at-1".to_owned()), Some("at-1".to_owned())],
        "both ended with the new token"
    );
    let stored = stored.as_ref().and_then(TokenSet::from_secret).unwrap();
    assert_eq!(stored.access_token, "at-1");
    assert_eq!(
        stored.refresh_token.as_deref(),
        Some("rt-1"),
        "the rotated refresh token is kept"
    );
}

#[tokio::test]
async fn a_state_file_edited_to_name_another_token_endpoint_never_gets_the_refresh_token() {
    // The refresh token came from the real endpoint (kept with it in the
    // keychain); a state file that now names another is anyone's edit.
    let mut w = World::new(&["rt-0"]).await;
    let evil = FakeTokenEndpoint::start(&["rt-0"]).await;
    let mut stale = tokens("at-0", Some("rt-0"), 10, &w.issuer());
    stale.token_endpoint = Some(w.endpoint.auth_server().token_endpoint);
    w.store_tokens(&stale);
    let mut facts = w.facts();
    facts.auth_server = Some(AuthServer {
        issuer: w.issuer(),
        ..evil.auth_server()
    });
    w.state.save_server(KEY, &facts).unwrap();
    let src = w.source();
    let _ = src.token().await;
    assert_eq!(
        evil.refreshes(),
        0,
        "the refresh token went to the endpoint the file names"
    );
}
