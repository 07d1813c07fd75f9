//! Sign-in attempts, across processes: the one sign-in of a server that is
//! open in the browser, what became of the last ones, and whether a new one
//! may start without a person.
//!
//! Owns, per server, the board `state/sign-in/<key>.json` and the broker
//! lock `state/locks/sign-in/<key>.lock`:
//!
//! - **One sign-in at a time per server, machine-wide.** The process that
//!   runs a sign-in (the broker: a detached `tether sign-in-broker`, or
//!   `tether login`, which the app runs) holds the broker lock for its whole
//!   life, loopback listener and code exchange included; the OS releases it
//!   if the process dies. Everyone else joins: they watch the state file for
//!   the token the broker saves, and never open a browser of their own.
//! - **Attempts.** The board records the open attempt (who started it, its
//!   deadline, the authorization server's host and the loopback port, never
//!   the authorization URL) and the ended ones of the last window.
//! - **Who may start one** ([`Board::may_start`]). A person (`tether login`,
//!   the tray) always may. Otherwise, after an attempt that opened the
//!   browser and did not end in a sign-in, or after a sign-in ended in the
//!   background (a refresh token refused, a token expired with nothing to
//!   renew it), Tether waits for a person ([`Board::waiting`]): no tab opens
//!   by itself after a sign-in was ignored, after sleep or overnight. And at
//!   most [`Limits::cap`] attempts per server per [`Limits::window`] go
//!   unanswered before even the `tether_sign_in` tool stops opening tabs.
//!   A successful sign-in clears the wait.
//!
//! The limits come from the environment, so tests can shorten the day:
//! `TETHER_SIGN_IN_CAP` (default 3) and `TETHER_SIGN_IN_WINDOW` (seconds,
//! default 86400).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::files::{FileError, file_stem, read_json, write_json};
use super::lock::{FileLock, LockError, ServerLock};

/// How long a board update may wait for another process's.
const BOARD_LOCK_WAIT: Duration = Duration::from_secs(10);
/// Unanswered attempts per server per window, by default.
pub const DEFAULT_CAP: u32 = 3;
/// The window of the cap, by default: a day.
pub const DEFAULT_WINDOW: i64 = 24 * 3600;

/// Who asked for a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Starter {
    /// A bridge, because a client's request needed one (its `initialize`, a
    /// 401 on a token it believed good, a step-up).
    Automatic,
    /// The `tether_sign_in` tool (a person, through a model that may call it
    /// again and again: capped).
    Tool,
    /// A person: `tether login`, the tray's Sign in.
    Person,
}

impl Starter {
    /// The word on the command line (`tether sign-in-broker --by …`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Automatic => "automatic",
            Self::Tool => "tool",
            Self::Person => "person",
        }
    }

    /// The starter named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Automatic, Self::Tool, Self::Person]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// How an attempt ended (or that it has not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// In the browser now.
    Open,
    /// Tokens were saved.
    SignedIn,
    /// The browser was sent there and nobody came back before the deadline.
    TimedOut,
    /// It failed: the authorization server said no, a check refused the
    /// answer, the keychain could not keep the tokens, ….
    Failed { message: String },
    /// It was not started: a person must act first (`message` says why).
    Refused { message: String },
}

/// One sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub by: Starter,
    /// The process that runs it (the broker).
    pub pid: u32,
    pub started_at: i64,
    /// When it gives up (wall clock: a machine that slept past it does not
    /// keep a sign-in open the next morning).
    pub deadline: i64,
    /// The authorization server's host (for "finish signing in at …").
    #[serde(default)]
    pub host: Option<String>,
    /// The loopback listener's port: `http://127.0.0.1:<port>/start` leads
    /// to this sign-in's page again.
    #[serde(default)]
    pub port: Option<u16>,
    /// Whether the page was put before a person (the browser opened, or the
    /// URL printed to someone who asked for it).
    #[serde(default)]
    pub presented: bool,
    #[serde(flatten)]
    pub outcome: Outcome,
    #[serde(default)]
    pub ended_at: Option<i64>,
}

impl Attempt {
    /// A new, open attempt by this process.
    pub fn open(by: Starter, started_at: i64, deadline: i64) -> Self {
        Self {
            by,
            pid: std::process::id(),
            started_at,
            deadline,
            host: None,
            port: None,
            presented: false,
            outcome: Outcome::Open,
            ended_at: None,
        }
    }

    /// Whether it is still open (and not past its deadline at `now`).
    pub fn is_open(&self, now: i64) -> bool {
        self.outcome == Outcome::Open && now <= self.deadline + 30
    }

    /// Whether it put a page before a person and nobody came back (what
    /// the cap counts).
    pub fn unanswered(&self) -> bool {
        self.presented && self.outcome == Outcome::TimedOut
    }

    /// Whether it put a page before a person and ended without a sign-in
    /// (ignored, refused at the authorization server, failed): no tab opens
    /// by itself after it.
    pub fn fell_through(&self) -> bool {
        self.presented && !matches!(self.outcome, Outcome::Open | Outcome::SignedIn)
    }
}

/// Why Tether waits for a person before opening the browser again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    pub since: i64,
    /// In a few words: "the sign-in was not completed in the browser",
    /// "the authorization server refused to renew the sign-in".
    pub why: String,
}

/// A server's sign-in board.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Board {
    /// The latest attempt (open, or the last one that ended).
    pub current: Option<Attempt>,
    /// The attempts that ended within the window, oldest first.
    pub history: Vec<Attempt>,
    /// Set when a sign-in is needed and only a person may start it.
    pub waiting: Option<Waiting>,
}

/// The limits on sign-ins nobody asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Unanswered attempts per server per window.
    pub cap: u32,
    /// Seconds.
    pub window: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cap: DEFAULT_CAP,
            window: DEFAULT_WINDOW,
        }
    }
}

impl Limits {
    /// The limits `env` sets (`TETHER_SIGN_IN_CAP`, `TETHER_SIGN_IN_WINDOW`),
    /// else the defaults.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let d = Self::default();
        Self {
            cap: env("TETHER_SIGN_IN_CAP")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(d.cap),
            window: env("TETHER_SIGN_IN_WINDOW")
                .and_then(|v| v.trim().parse().ok())
                .filter(|w: &i64| *w > 0)
                .unwrap_or(d.window),
        }
    }

    /// The limits of this process's environment.
    pub fn current() -> Self {
        Self::from_env(&|n| std::env::var(n).ok())
    }
}

/// Why a sign-in may not start without a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The last sign-in was ignored or ended in the background.
    WaitingForPerson(Waiting),
    /// Too many unanswered attempts in the window.
    Cap { count: usize, window: i64 },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WaitingForPerson(w) => write!(f, "{}; Tether does not open the browser again by itself", w.why),
            Self::Cap { count, window } => write!(
                f,
                "the browser was opened {count} times in the last {} without a sign-in; Tether does not open it again by itself",
                crate::text::duration(*window)
            ),
        }
    }
}

impl Board {
    /// The open attempt, if any (at `now`).
    pub fn open(&self, now: i64) -> Option<&Attempt> {
        self.current.as_ref().filter(|a| a.is_open(now))
    }

    /// How many attempts went unanswered since `now - window`.
    pub fn unanswered(&self, now: i64, window: i64) -> usize {
        self.history
            .iter()
            .chain(self.current.iter())
            .filter(|a| a.unanswered() && a.ended_at.unwrap_or(a.started_at) > now - window)
            .count()
    }

    /// Whether `by` may start a sign-in now (see the module's rules).
    pub fn may_start(&self, by: Starter, now: i64, limits: Limits) -> Result<(), Refusal> {
        if by == Starter::Person {
            return Ok(());
        }
        if by == Starter::Automatic
            && let Some(w) = &self.waiting
        {
            return Err(Refusal::WaitingForPerson(w.clone()));
        }
        let count = self.unanswered(now, limits.window);
        if count >= limits.cap as usize {
            return Err(Refusal::Cap {
                count,
                window: limits.window,
            });
        }
        Ok(())
    }

    /// Records `attempt` as the open one.
    pub fn begin(&mut self, attempt: Attempt) {
        self.retire();
        self.current = Some(attempt);
    }

    /// Records a refusal to start (so that those who wait for it learn why).
    pub fn refuse(&mut self, by: Starter, now: i64, message: String) {
        self.retire();
        let mut a = Attempt::open(by, now, now);
        a.outcome = Outcome::Refused { message };
        a.ended_at = Some(now);
        self.current = Some(a);
    }

    /// Ends the open attempt with `outcome` at `now`: a sign-in clears the
    /// wait for a person; a page put before a person that did not end in
    /// one starts it.
    pub fn end(&mut self, outcome: Outcome, now: i64, window: i64) {
        if let Some(a) = self.current.as_mut() {
            a.outcome = outcome;
            a.ended_at = Some(now);
            if a.outcome == Outcome::SignedIn {
                self.waiting = None;
            } else if a.fell_through() && self.waiting.is_none() {
                self.waiting = Some(Waiting {
                    since: now,
                    why: match &a.outcome {
                        Outcome::TimedOut => "the last sign-in was not completed in the browser".into(),
                        _ => "the last sign-in in the browser did not succeed".into(),
                    },
                });
            }
        }
        self.history
            .retain(|a| a.ended_at.unwrap_or(a.started_at) > now - window);
    }

    /// Notes that a sign-in is needed and only a person may start it (a
    /// refresh token refused, a token expired with nothing to renew it).
    pub fn wait_for_person(&mut self, now: i64, why: &str) {
        if self.waiting.is_none() {
            self.waiting = Some(Waiting {
                since: now,
                why: why.to_owned(),
            });
        }
    }

    /// Moves the current attempt, if it ended, to the history.
    fn retire(&mut self) {
        if let Some(a) = self.current.take() {
            if a.outcome == Outcome::Open || matches!(a.outcome, Outcome::Refused { .. }) {
                // An open one whose broker died, or a refusal: not an attempt
                // on the person, nothing to keep.
                return;
            }
            self.history.push(a);
        }
    }
}

/// The sign-in boards and broker locks under a state directory.
#[derive(Debug, Clone)]
pub struct SignIns {
    root: PathBuf,
}

/// The broker lock of one server, held while its sign-in is open.
#[derive(Debug)]
pub struct BrokerLock {
    _lock: ServerLock,
}

impl SignIns {
    /// The boards kept under `root` (the state directory).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join("sign-in").join(format!("{}.json", file_stem(key)))
    }

    /// The directory of the boards (the app watches it).
    pub fn dir(&self) -> PathBuf {
        self.root.join("sign-in")
    }

    fn locks(&self) -> PathBuf {
        self.root.join("locks").join("sign-in")
    }

    /// The board of `key` (empty when there is none).
    pub fn read(&self, key: &str) -> Result<Board, FileError> {
        Ok(read_json(&self.path(key))?.unwrap_or_default())
    }

    /// Changes the board of `key` under its lock (a read-modify-write
    /// several processes may make at once) and returns it as saved.
    pub fn update(&self, key: &str, change: impl FnOnce(&mut Board)) -> Result<Board, FileError> {
        let path = self.path(key);
        let _guard = FileLock::blocking(
            &self.root.join("locks"),
            &format!("{key}.sign-in-board"),
            BOARD_LOCK_WAIT,
        )
        .map_err(|e| FileError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        let mut board = self.read(key)?;
        let before = board.clone();
        change(&mut board);
        if board != before {
            write_json(&path, &board)?;
        }
        Ok(board)
    }

    /// Takes the broker lock of `key`, waiting up to `wait` (others only
    /// look at it for an instant); `None` when another process runs a
    /// sign-in of this server.
    pub async fn take_broker_lock(&self, key: &str, wait: Duration) -> Result<Option<BrokerLock>, LockError> {
        match ServerLock::acquire(&self.locks(), key, wait).await {
            Ok(lock) => Ok(Some(BrokerLock { _lock: lock })),
            Err(LockError::Timeout { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether a process holds the broker lock of `key` now.
    pub fn broker_running(&self, key: &str) -> bool {
        super::lock::is_held(&self.locks(), key)
    }

    /// The open attempt of `key`: on the board, and its broker alive.
    pub fn open(&self, key: &str, now: i64) -> Option<Attempt> {
        let board = self.read(key).ok()?;
        let a = board.open(now)?.clone();
        self.broker_running(key).then_some(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TempDir;

    const DAY: i64 = 86400;

    fn limits() -> Limits {
        Limits { cap: 3, window: DAY }
    }

    /// An attempt by `by` that started at `at`, put a page before a person
    /// and ended with `outcome` 300 s later.
    fn ended(board: &mut Board, by: Starter, at: i64, outcome: Outcome) {
        let mut a = Attempt::open(by, at, at + 300);
        a.presented = true;
        board.begin(a);
        board.end(outcome, at + 300, DAY);
    }

    #[test]
    fn a_first_sign_in_may_start_by_itself_and_a_person_always_may() {
        let b = Board::default();
        assert_eq!(b.may_start(Starter::Automatic, 1000, limits()), Ok(()));
        assert_eq!(b.may_start(Starter::Tool, 1000, limits()), Ok(()));
        assert_eq!(b.may_start(Starter::Person, 1000, limits()), Ok(()));
    }

    #[test]
    fn after_one_unanswered_attempt_bridges_wait_for_a_person() {
        let mut b = Board::default();
        ended(&mut b, Starter::Automatic, 1000, Outcome::TimedOut);
        let refused = b.may_start(Starter::Automatic, 2000, limits()).unwrap_err();
        assert!(matches!(refused, Refusal::WaitingForPerson(_)), "{refused:?}");
        assert!(
            refused.to_string().contains("not completed in the browser"),
            "{refused}"
        );
        assert_eq!(
            b.may_start(Starter::Tool, 2000, limits()),
            Ok(()),
            "the sign-in tool still may"
        );
        assert_eq!(b.may_start(Starter::Person, 2000, limits()), Ok(()));
        // Much later (overnight, after sleep): still waiting.
        assert!(b.may_start(Starter::Automatic, 1000 + 3 * DAY, limits()).is_err());
    }

    #[test]
    fn a_sign_in_clears_the_wait() {
        let mut b = Board::default();
        ended(&mut b, Starter::Automatic, 1000, Outcome::TimedOut);
        ended(&mut b, Starter::Person, 2000, Outcome::SignedIn);
        assert_eq!(b.waiting, None);
        assert_eq!(b.may_start(Starter::Automatic, 3000, limits()), Ok(()));
    }

    #[test]
    fn a_failure_before_any_page_was_shown_is_not_an_ignored_sign_in() {
        let mut b = Board::default();
        let a = Attempt::open(Starter::Automatic, 1000, 1300);
        b.begin(a);
        b.end(
            Outcome::Failed {
                message: "cannot reach the authorization server".into(),
            },
            1001,
            DAY,
        );
        assert_eq!(b.waiting, None);
        assert_eq!(b.unanswered(1002, DAY), 0);
        assert_eq!(b.may_start(Starter::Automatic, 1002, limits()), Ok(()));
    }

    #[test]
    fn the_cap_counts_unanswered_attempts_per_window_and_stops_the_tool_but_not_a_person() {
        let mut b = Board::default();
        for i in 0..3 {
            ended(&mut b, Starter::Tool, 1000 + i * 1000, Outcome::TimedOut);
        }
        assert_eq!(b.unanswered(5000, DAY), 3);
        let refused = b.may_start(Starter::Tool, 5000, limits()).unwrap_err();
        assert_eq!(refused, Refusal::Cap { count: 3, window: DAY });
        assert!(refused.to_string().contains("3 times in the last 24 h"), "{refused}");
        assert_eq!(b.may_start(Starter::Person, 5000, limits()), Ok(()));
        // A day after the first, one has left the window.
        assert_eq!(b.unanswered(1000 + 300 + DAY + 1, DAY), 2);
        assert_eq!(b.may_start(Starter::Tool, 1000 + 300 + DAY + 1, limits()), Ok(()));
    }

    #[test]
    fn an_answered_attempt_that_failed_starts_the_wait_but_not_the_cap() {
        // The person came back and the server said no (access_denied):
        // answered, so not counted; still, no tab opens by itself again.
        let mut b = Board::default();
        ended(
            &mut b,
            Starter::Automatic,
            1000,
            Outcome::Failed {
                message: "access_denied".into(),
            },
        );
        assert!(b.waiting.is_some());
        assert!(b.may_start(Starter::Automatic, 2000, limits()).is_err());
    }

    #[test]
    fn a_refusal_tells_waiters_why_and_is_not_counted() {
        let mut b = Board::default();
        b.refuse(Starter::Automatic, 1000, "waiting for a person".into());
        assert!(matches!(b.current.as_ref().unwrap().outcome, Outcome::Refused { .. }));
        ended(&mut b, Starter::Tool, 2000, Outcome::TimedOut);
        assert_eq!(b.history.len(), 0, "the refusal was not kept");
        assert_eq!(b.unanswered(3000, DAY), 1);
    }

    #[test]
    fn an_open_attempt_past_its_deadline_is_not_open() {
        let a = Attempt::open(Starter::Automatic, 1000, 1300);
        assert!(a.is_open(1300));
        assert!(
            !a.is_open(1400),
            "a machine that slept past the deadline has no open sign-in"
        );
    }

    #[test]
    fn the_limits_come_from_the_environment() {
        let env = |n: &str| match n {
            "TETHER_SIGN_IN_CAP" => Some("1".to_owned()),
            "TETHER_SIGN_IN_WINDOW" => Some("60".to_owned()),
            _ => None,
        };
        assert_eq!(Limits::from_env(&env), Limits { cap: 1, window: 60 });
        assert_eq!(Limits::from_env(&|_| Some("x".to_owned())), Limits::default());
    }

    #[tokio::test]
    async fn one_broker_at_a_time_and_others_can_see_it_runs() {
        let dir = TempDir::new("sign-in");
        let s = SignIns::new(dir.path());
        assert!(!s.broker_running("linear"));
        let first = s
            .take_broker_lock("linear", Duration::from_millis(100))
            .await
            .unwrap()
            .expect("the lock");
        assert!(s.broker_running("linear"));
        assert!(
            s.take_broker_lock("linear", Duration::from_millis(100))
                .await
                .unwrap()
                .is_none(),
            "a second broker stands aside"
        );
        assert!(!s.broker_running("github"), "per server");
        // Looking does not take it away from the one that holds it.
        assert!(s.broker_running("linear"));
        drop(first);
        assert!(!s.broker_running("linear"));
    }

    #[tokio::test]
    async fn the_board_is_read_and_written_under_its_lock() {
        let dir = TempDir::new("sign-in-board");
        let s = SignIns::new(dir.path());
        assert_eq!(s.read("linear").unwrap(), Board::default());
        let now = crate::store::state::now();
        s.update("linear", |b| b.begin(Attempt::open(Starter::Automatic, now, now + 300)))
            .unwrap();
        assert!(s.open("linear", now).is_none(), "no broker holds its lock");
        let _lock = s
            .take_broker_lock("linear", Duration::from_millis(100))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.open("linear", now).unwrap().by, Starter::Automatic);
        let b = s.update("linear", |b| b.end(Outcome::TimedOut, now + 1, DAY)).unwrap();
        assert_eq!(b.current.unwrap().outcome, Outcome::TimedOut);
    }
}
