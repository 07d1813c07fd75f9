//! The one sign-in of a server: started once, run by one process, joined by
//! every other.
//!
//! Owns how [`OAuthSource`] asks for a browser sign-in across processes
//! (the files and the rules are `store::sign_in`'s):
//!
//! - **Start or join** ([`OAuthSource::sign_in`], for a client's request).
//!   A sign-in open in the browser is joined: the process watches the state
//!   file for the token the broker saves and never opens a browser of its
//!   own. Otherwise one is started only where no person has to be asked
//!   first ([`Board::may_start`](crate::store::sign_in::Board::may_start));
//!   else the answer is "sign-in required", at once.
//! - **The broker** ([`OAuthSource::run_broker`]): the process that holds the
//!   broker lock, the loopback listener and the code exchange until the
//!   sign-in completes or its deadline passes. A bridge starts it detached
//!   (`tether sign-in-broker`, [`Broker::Detached`]), so the tab the person
//!   is looking at still works after the client killed the bridge that
//!   asked for it; `tether login` (and the app, which runs it) is a broker
//!   itself.
//! - **A person asks** ([`OAuthSource::login`], [`OAuthSource::request_sign_in`]):
//!   the sign-in open is shown again (its `/start` page) rather than a second
//!   one started; else one starts, past the rules a person is not bound by.
//! - **Waiting** ([`OAuthSource::wait_for_sign_in`]): a bridge that answered
//!   for its server while sign-in is pending waits for a token, whoever
//!   obtains it, and never opens a browser.

use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tracing::{debug, info, warn};

use super::{Broker, Interaction, OAuthSource};
use crate::auth::loopback::Listener;
use crate::auth::{AuthError, SignInNotice, browser};
use crate::store::sign_in::{Attempt, Outcome, Refusal, Starter};
use crate::store::state::{Health, now};
use crate::sync::lock;

/// How long a broker waits for the broker lock (others only look at it for
/// an instant) before it decides another broker runs.
pub(super) const BROKER_LOCK_WAIT: Duration = Duration::from_secs(2);
/// How often a joining process looks at the state file and the board.
const JOIN_POLL: Duration = Duration::from_millis(250);
/// How often a bridge waiting in the pending state looks at the state file.
const WAIT_POLL: Duration = Duration::from_millis(500);
/// How long a started broker may take to show itself on the board.
const BROKER_START_GRACE: Duration = Duration::from_secs(10);

/// How a broker's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerEnd {
    /// This run signed in.
    SignedIn,
    /// Another process signed in since the run was asked for.
    AlreadySignedIn,
    /// Another process runs this server's sign-in.
    AnotherRuns,
}

impl OAuthSource {
    /// Signs in because a client's request needs it, once for all the
    /// callers of this process: joins the open sign-in, or starts one where
    /// the rules let it start without a person.
    pub fn sign_in(&self) -> BoxFuture<'static, Result<(), AuthError>> {
        let mut slot = lock(&self.signing_in);
        if let Some(f) = slot.as_ref() {
            return f.clone().boxed();
        }
        let Some(this) = self.weak.upgrade() else {
            return futures_util::future::ready(Err(AuthError::Interaction("shutting down".into()))).boxed();
        };
        // A task of its own: the sign-in goes on when the request that
        // started it gives up waiting.
        let task = tokio::spawn(async move {
            let result = this.sign_in_as(Starter::Automatic).await;
            *lock(&this.signing_in) = None;
            result
        });
        let shared = async move {
            task.await
                .unwrap_or_else(|e| Err(AuthError::Interaction(e.to_string())))
        }
        .boxed()
        .shared();
        *slot = Some(shared.clone());
        shared.boxed()
    }

    /// Where the sign-in under way waits (the authorization server's host,
    /// never the URL with its `state`), for a user whose browser did not
    /// open: this process's, else the open one on the board.
    pub fn sign_in_host(&self) -> Option<String> {
        lock(&self.sign_in_host)
            .clone()
            .or_else(|| self.state.sign_ins().open(&self.key, now()).and_then(|a| a.host))
    }

    /// Start or join, as `by`.
    async fn sign_in_as(&self, by: Starter) -> Result<(), AuthError> {
        if self.settings.interaction == Interaction::Never {
            return Err(AuthError::SignInRequired(format!(
                "{} needs sign-in: run `tether login {}`",
                self.label, self.key
            )));
        }
        let seen = self.state.server(&self.key)?.token_serial;
        if self.adopt_newer().await? {
            info!(server = %self.label, "signed in by another Tether process");
            return Ok(());
        }
        let boards = self.state.sign_ins();
        let board = boards.read(&self.key)?;
        if boards.open(&self.key, now()).is_none() {
            if let Err(r) = board.may_start(by, now(), self.settings.limits) {
                self.write_status(Health::NeedsSignIn, None);
                return Err(AuthError::SignInRequired(self.refusal(&r)));
            }
            self.launch(by, seen)?;
        } else {
            debug!(server = %self.label, "joining the sign-in open in the browser");
        }
        self.join(seen, board.current).await
    }

    /// A newer usable token in the keychain (another process's sign-in), if
    /// there is one: adopted.
    pub(super) async fn adopt_newer(&self) -> Result<bool, AuthError> {
        if let Some(stored) = self.read_stored(true).await?
            && !Self::stale(&stored)
            && self.covers_step_up(&stored)
            && Some(&stored) != self.current().as_ref()
        {
            self.adopt(stored);
            return Ok(true);
        }
        Ok(false)
    }

    /// Waits for the sign-in that is open or about to start (a token newer
    /// than serial `seen`), until it ends. `before` is the board's attempt
    /// as it was before: an attempt that ended earlier (a sign-in a moment
    /// ago, in the same second) is not this one's end.
    async fn join(&self, seen: u64, before: Option<Attempt>) -> Result<(), AuthError> {
        let boards = self.state.sign_ins();
        let started = Instant::now();
        loop {
            if self.state.server(&self.key)?.token_serial > seen && self.adopt_newer().await? {
                self.write_status(Health::SignedIn, None);
                return Ok(());
            }
            let board = boards.read(&self.key)?;
            match &board.current {
                Some(a) if a.is_open(now()) && boards.broker_running(&self.key) => {
                    if let Some(h) = &a.host {
                        *lock(&self.sign_in_host) = Some(h.clone());
                    }
                }
                Some(a) if a.outcome != Outcome::Open && before.as_ref() != Some(a) => {
                    if a.outcome == Outcome::SignedIn && self.adopt_newer().await? {
                        return Ok(());
                    }
                    return Err(self.ended(a));
                }
                _ if started.elapsed() > BROKER_START_GRACE => {
                    return Err(AuthError::Interaction(format!(
                        "the sign-in to {} ended without a result",
                        self.label
                    )));
                }
                _ => {}
            }
            tokio::time::sleep(JOIN_POLL).await;
        }
    }

    /// The error of an attempt that ended without a token.
    fn ended(&self, a: &Attempt) -> AuthError {
        match &a.outcome {
            Outcome::TimedOut => AuthError::SignInRequired(format!(
                "nobody completed the sign-in to {} in the browser; {}",
                self.label,
                self.how_to_sign_in()
            )),
            Outcome::Refused { message } => AuthError::SignInRequired(message.clone()),
            Outcome::Failed { message } => AuthError::Interaction(message.clone()),
            Outcome::Open | Outcome::SignedIn => {
                AuthError::Interaction(format!("the sign-in to {} ended without a token", self.label))
            }
        }
    }

    /// What a person does to sign in, in words.
    pub(super) fn how_to_sign_in(&self) -> String {
        format!(
            "sign in from the Tether menu, with the tether_sign_in tool, or with `tether login {}`",
            self.key
        )
    }

    /// The sentence of a refusal to open the browser by itself.
    fn refusal(&self, r: &Refusal) -> String {
        format!("{} needs you to sign in: {r}; {}", self.label, self.how_to_sign_in())
    }

    /// The error of a second sign-in while one is open.
    pub(super) fn already_open(&self) -> AuthError {
        let until = self
            .state
            .sign_ins()
            .read(&self.key)
            .ok()
            .and_then(|b| b.current)
            .map(|a| format!(" (for another {})", crate::text::duration((a.deadline - now()).max(1))))
            .unwrap_or_default();
        AuthError::Interaction(format!(
            "a sign-in to {} is already open in the browser{until}; finish it there, or try again once it ends",
            self.label
        ))
    }

    /// Starts a broker for a sign-in by `by`, this process's token serial
    /// being `seen`.
    fn launch(&self, by: Starter, seen: u64) -> Result<(), AuthError> {
        match &self.settings.broker {
            Broker::InProcess => {
                let Some(this) = self.weak.upgrade() else {
                    return Err(AuthError::Interaction("shutting down".into()));
                };
                tokio::spawn(async move {
                    if let Err(e) = this.run_broker(by, seen, None).await {
                        debug!(error = %e, "the sign-in ended without a token");
                    }
                });
                Ok(())
            }
            Broker::Detached { program, args } => {
                let mut cmd = std::process::Command::new(program);
                cmd.args(args)
                    .arg(format!("--by={}", by.as_str()))
                    .arg(format!("--seen={seen}"));
                if let Some(c) = lock(&self.raw_challenge).clone() {
                    cmd.arg(format!("--challenge={c}"));
                }
                let step_up = lock(&self.step_up).clone();
                if !step_up.is_empty() {
                    cmd.arg(format!("--step-up={}", step_up.join(" ")));
                }
                cmd.stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null());
                detach(&mut cmd);
                let mut child = cmd.spawn().map_err(|e| {
                    AuthError::Interaction(format!("cannot start the sign-in ({}): {e}", program.display()))
                })?;
                info!(server = %self.label, pid = child.id(), "started the sign-in in a process of its own");
                // Reaped when it ends, so it leaves no zombie while this
                // process lives on.
                std::thread::spawn(move || child.wait());
                Ok(())
            }
        }
    }

    /// Runs a sign-in as its broker: takes the broker lock (or stands aside
    /// when another process holds it), checks the rules for `by` once more,
    /// records the attempt on the board, runs the browser flow (with
    /// `pasted`, also from an address pasted at a terminal), and records how
    /// it ended: a sign-in clears the wait for a person; a page shown and
    /// not completed starts it.
    pub async fn run_broker(
        &self,
        by: Starter,
        seen: u64,
        pasted: Option<tokio::sync::mpsc::Receiver<String>>,
    ) -> Result<BrokerEnd, AuthError> {
        let boards = self.state.sign_ins();
        let Some(_held) = boards.take_broker_lock(&self.key, BROKER_LOCK_WAIT).await? else {
            debug!(server = %self.label, "another process runs this sign-in");
            return Ok(BrokerEnd::AnotherRuns);
        };
        if self.state.server(&self.key)?.token_serial > seen && self.adopt_newer().await? {
            return Ok(BrokerEnd::AlreadySignedIn);
        }
        let started = now();
        if let Err(r) = boards.read(&self.key)?.may_start(by, started, self.settings.limits) {
            let message = self.refusal(&r);
            boards.update(&self.key, |b| b.refuse(by, started, message.clone()))?;
            self.write_status(Health::NeedsSignIn, None);
            return Err(AuthError::SignInRequired(message));
        }
        let deadline = started + self.settings.auth_timeout.as_secs() as i64;
        boards.update(&self.key, |b| b.begin(Attempt::open(by, started, deadline)))?;
        self.write_status(Health::SigningIn, None);
        let key = self.key.clone();
        let shown = |p: super::sign_in::Progress| {
            let result = boards.update(&key, |b| {
                if let Some(a) = b.current.as_mut().filter(|a| a.pid == std::process::id()) {
                    a.host = p.host.clone();
                    a.port = Some(p.port);
                    a.presented = p.presented;
                }
            });
            if let Err(e) = result {
                warn!(error = %e, "cannot record the sign-in on its board");
            }
        };
        let result = self.browser_sign_in(pasted, &shown).await;
        let outcome = match &result {
            Ok(()) => Outcome::SignedIn,
            Err(AuthError::NotCompleted { .. }) => Outcome::TimedOut,
            Err(e) => Outcome::Failed { message: e.to_string() },
        };
        boards.update(&self.key, |b| b.end(outcome, now(), self.settings.limits.window))?;
        *lock(&self.sign_in_host) = None;
        match &result {
            Ok(()) => self.write_status(Health::SignedIn, None),
            Err(e) => self.write_status(Health::NeedsSignIn, Some(e.to_string())),
        }
        result.map(|()| BrokerEnd::SignedIn)
    }

    /// Signs in now, because a person asked (`tether login`, the app): the
    /// sign-in open in the browser is shown again and waited for; else this
    /// process runs one, whatever is stored and whatever the rules for
    /// sign-ins nobody asked for say. With `pasted`, the address the browser
    /// ended on may be pasted instead (a browser on another machine).
    pub async fn login(&self, pasted: Option<tokio::sync::mpsc::Receiver<String>>) -> Result<(), AuthError> {
        let seen = self.state.server(&self.key)?.token_serial;
        let boards = self.state.sign_ins();
        let before = boards.read(&self.key)?.current;
        if boards.open(&self.key, now()).is_none() {
            let pasting = pasted.is_some();
            match self.run_broker(Starter::Person, seen, pasted).await? {
                BrokerEnd::SignedIn | BrokerEnd::AlreadySignedIn => return Ok(()),
                BrokerEnd::AnotherRuns if pasting => return Err(self.already_open()),
                BrokerEnd::AnotherRuns => {}
            }
        } else if pasted.is_some() {
            return Err(self.already_open());
        }
        self.show_open_sign_in().await;
        self.join(seen, before).await
    }

    /// Puts the open sign-in's page before the person again (its loopback
    /// `/start` page, which leads to the same authorization request).
    async fn show_open_sign_in(&self) {
        let boards = self.state.sign_ins();
        let started = Instant::now();
        // A broker that just started may not have its page yet.
        let port = loop {
            match boards.open(&self.key, now()) {
                Some(Attempt { port: Some(p), .. }) => break Some(p),
                Some(_) if started.elapsed() < BROKER_START_GRACE => tokio::time::sleep(JOIN_POLL).await,
                _ => break None,
            }
        };
        let Some(port) = port else { return };
        let url = Listener::start_url(port);
        info!(server = %self.label, "a sign-in is already open; showing its page again");
        if self.settings.interaction == Interaction::Browser
            && let Ok(u) = url::Url::parse(&url)
            && let Err(e) = browser::open(&u)
        {
            warn!(server = %self.label, "{e}; to sign in, open {url}");
        }
    }

    /// The `tether_sign_in` tool: say where the open sign-in waits, or start
    /// one (capped), and say what happened, within a few seconds.
    pub fn request_sign_in(&self) -> BoxFuture<'static, SignInNotice> {
        let Some(this) = self.weak.upgrade() else {
            return futures_util::future::ready(SignInNotice::Refused("shutting down".into())).boxed();
        };
        async move {
            if this.settings.interaction == Interaction::Never {
                return SignInNotice::Refused(format!("run `tether login {}` in a terminal", this.key));
            }
            let boards = this.state.sign_ins();
            if let Some(a) = boards.open(&this.key, now()) {
                return SignInNotice::AlreadyOpen { host: a.host };
            }
            let seen = match this.state.server(&this.key) {
                Ok(f) => f.token_serial,
                Err(e) => return SignInNotice::Refused(e.to_string()),
            };
            let asked = now();
            match boards
                .read(&this.key)
                .map(|b| b.may_start(Starter::Tool, asked, this.settings.limits))
            {
                Ok(Ok(())) => {}
                Ok(Err(r)) => return SignInNotice::Refused(this.refusal(&r)),
                Err(e) => return SignInNotice::Refused(e.to_string()),
            }
            if let Err(e) = this.launch(Starter::Tool, seen) {
                return SignInNotice::Refused(e.to_string());
            }
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(5) {
                tokio::time::sleep(JOIN_POLL).await;
                let Some(a) = boards.read(&this.key).ok().and_then(|b| b.current) else {
                    continue;
                };
                if a.started_at < asked {
                    continue;
                }
                match a.outcome {
                    Outcome::Open if a.host.is_some() => return SignInNotice::Started { host: a.host },
                    Outcome::Refused { message } | Outcome::Failed { message } => {
                        return SignInNotice::Refused(message);
                    }
                    Outcome::SignedIn => return SignInNotice::Started { host: a.host },
                    _ => {}
                }
            }
            SignInNotice::Started { host: None }
        }
        .boxed()
    }

    /// Resolves when a usable token other than the one the server last
    /// refused is held, whoever obtained it: looks at the state file's token
    /// serial, and at the keychain only when it changed. Never opens a
    /// browser.
    pub fn wait_for_sign_in(&self) -> BoxFuture<'static, Result<(), AuthError>> {
        let Some(this) = self.weak.upgrade() else {
            return futures_util::future::ready(Err(AuthError::Interaction("shutting down".into()))).boxed();
        };
        async move {
            let mut seen = this.state.server(&this.key)?.token_serial;
            this.adopt_newer().await?;
            loop {
                if this.holds_a_usable_token() {
                    info!(server = %this.label, "signed in");
                    return Ok(());
                }
                tokio::time::sleep(WAIT_POLL).await;
                let serial = this.state.server(&this.key)?.token_serial;
                if serial != seen {
                    seen = serial;
                    this.adopt_newer().await?;
                }
            }
        }
        .boxed()
    }

    /// Whether this process holds a token it may send (another task of it,
    /// a sign-in it joined, may have adopted it): fresh, covering the scopes
    /// a step-up asked for, and not the one the server refused.
    fn holds_a_usable_token(&self) -> bool {
        let refused = lock(&self.refused).clone();
        self.current()
            .is_some_and(|t| !Self::stale(&t) && self.covers_step_up(&t) && Some(&t.access_token) != refused.as_ref())
    }
}

/// Makes `cmd` a process of its own: not in the bridge's process group (a
/// client that ends the group, or a terminal that closes, leaves it), and
/// on Windows without a console.
fn detach(cmd: &mut std::process::Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const DETACHED_PROCESS: u32 = 0x0000_0008;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        cmd.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
    }
}
