//! Keeping the tray and the window live, by watching files rather than
//! polling: the bridges' status files, the state files, the sign-in boards
//! (`store::sign_in`: a sign-in open, or one that waits for a person), the
//! server list, and Claude Desktop's config (which Claude sometimes rewrites
//! without its `mcpServers`). The OS reports changes (inotify, FSEvents,
//! ReadDirectoryChangesW). Once a minute the overview is also read again, for
//! what changes with time alone (a token that expires with no refresh token
//! turns into "needs sign-in"); that look changes nothing (no menu rebuilt
//! under the user's pointer) unless a state did.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tauri::{AppHandle, Emitter, Manager};
use tether::overview::{ServerState, ServerView};
use tether::servers::AuthKind;
use tether::sync::lock;

use crate::context::AppContext;
use crate::{service, tray};

/// Changes closer together than this are handled once.
const SETTLE: Duration = Duration::from_millis(250);
/// How often the overview is read again without a file change.
const TICK: Duration = Duration::from_secs(60);

/// What woke the watch thread.
enum Wake {
    /// A watched file changed.
    Changed,
    /// A minute went by.
    Tick,
}

/// Starts watching; events are handled on a thread of their own.
pub fn start(app: &AppHandle) -> notify::Result<()> {
    let ctx = app.state::<AppContext>();
    let (tx, rx) = mpsc::channel();
    let changes = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| is_a_change(&e.kind)) {
            let _ = changes.send(Wake::Changed);
        }
    })?;
    for dir in watched_dirs(&ctx) {
        let _ = std::fs::create_dir_all(&dir);
        if let Err(e) = watcher.watch(&dir, RecursiveMode::Recursive) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot watch");
        }
    }
    let views = service::overview(&ctx);
    *lock(&ctx.in_claude) = service::in_claude(&ctx, &views);
    *lock(&ctx.last) = views;
    *lock(&ctx.watcher) = Some(watcher);
    let app = app.clone();
    std::thread::Builder::new()
        .name("watch-tick".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                if tx.send(Wake::Tick).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    std::thread::Builder::new()
        .name("watch".into())
        .spawn(move || {
            while let Ok(wake) = rx.recv() {
                let mut files = matches!(wake, Wake::Changed);
                if files {
                    // Let a burst of writes (a temp file, a rename) settle.
                    std::thread::sleep(SETTLE);
                }
                while let Ok(w) = rx.try_recv() {
                    files |= matches!(w, Wake::Changed);
                }
                changed(&app, files);
            }
        })
        .map(|_| ())
        .map_err(|e| notify::Error::generic(&e.to_string()))
}

/// Whether an event changed something. Opening and reading a file is an
/// event too (inotify reports it), and the app reads these very files on
/// every change: counting reads would loop forever, rebuilding the tray menu
/// (which closes it under the user's pointer) and burning CPU.
fn is_a_change(kind: &notify::EventKind) -> bool {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode};
    match kind {
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
        // A file written and closed (some platforms report only this).
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

fn watched_dirs(ctx: &AppContext) -> Vec<PathBuf> {
    let mut dirs = vec![
        ctx.paths.config.clone(),
        ctx.paths.state.join("status"),
        ctx.paths.state.join("servers"),
        tether::store::state::StateDir::new(&ctx.paths.state).sign_ins().dir(),
    ];
    if let Some(dir) = service::claude_config_dir(ctx) {
        dirs.push(dir);
    }
    dirs
}

/// Reads the overview again and tells the tray, the window and the user
/// what changed. `files`: a watched file changed; else (a tick) nothing is
/// done unless a state did.
fn changed(app: &AppHandle, files: bool) {
    let ctx = app.state::<AppContext>();
    let views = service::overview(&ctx);
    let previous = {
        let mut last = lock(&ctx.last);
        if !files && *last == views {
            return;
        }
        std::mem::replace(&mut *last, views.clone())
    };
    for (title, body) in worth_telling(&previous, &views) {
        tracing::info!(%title, "notifying");
        tray::notify(app, &title, &body);
    }
    tray::refresh(app, &views);
    let _ = app.emit("servers-changed", &views);
    let missing = service::missing_from_claude(&ctx, &views);
    if !missing.is_empty() {
        tracing::warn!(?missing, "Claude Desktop's config lost Tether's entries");
        tray::notify(
            app,
            "Claude Desktop dropped your servers",
            &format!(
                "Its config no longer runs {}. Open Tether to put them back.",
                missing.join(", ")
            ),
        );
        let _ = app.emit("claude-config-wiped", serde_json::json!({ "missing": missing }));
    }
}

/// The changes a user must hear about: a server that turned into needing
/// sign-in, a sign-in that finished. Nothing else (no nagging).
pub fn worth_telling(before: &[ServerView], after: &[ServerView]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = newly_needing_sign_in(before, after)
        .into_iter()
        .map(|name| needs_sign_in_notice(&name))
        .collect();
    let was: std::collections::HashMap<&str, &ServerState> =
        before.iter().map(|v| (v.name.as_str(), &v.state)).collect();
    for v in after {
        if let (Some(ServerState::SigningIn | ServerState::NeedsSignIn), ServerState::SignedIn { .. }) =
            (was.get(v.name.as_str()), &v.state)
        {
            out.push((
                format!("Signed in to {}", v.name),
                "Its tools are ready in Claude.".into(),
            ));
        }
    }
    out
}

/// The servers that need sign-in in `after` and were in another state in
/// `before`: told once per turn, however many refreshes it stays so, and
/// again only after it left that state and came back. A server that was
/// not in `before` (just added: the person is at the window; or the list
/// could not be read last time) is not a turn; nor is a token server (no
/// sign-in gives it its token).
pub fn newly_needing_sign_in(before: &[ServerView], after: &[ServerView]) -> Vec<String> {
    after
        .iter()
        // A token server "needs sign-in" when its token is missing: no
        // sign-in gives it one.
        .filter(|v| v.auth == AuthKind::Oauth && v.state == ServerState::NeedsSignIn)
        .filter(|v| {
            before
                .iter()
                .find(|b| b.name == v.name)
                .is_some_and(|b| b.state != ServerState::NeedsSignIn)
        })
        .map(|v| v.name.clone())
        .collect()
}

/// The notice of a server that needs sign-in. Since a sign-in that was
/// ignored or ended in the background opens no browser tab by itself
/// (`store::sign_in`), it says where the person starts it. The notification
/// plugin has no click callback on desktops (it shows the notice and
/// forgets it), so the tray's "Sign in to <name>" is the action.
fn needs_sign_in_notice(name: &str) -> (String, String) {
    (
        format!("{name} needs you to sign in"),
        format!(
            "Nothing opens by itself: choose \u{201c}Sign in to {name}\u{201d} in Tether's menu, or Sign in in its window, to open the browser."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str, state: ServerState) -> ServerView {
        ServerView {
            name: name.into(),
            url: "u".into(),
            auth: AuthKind::Oauth,
            token_header: None,
            state,
            issuer: None,
            scopes: None,
            signed_in_at: None,
            last_error: None,
            modern_protocol: None,
        }
    }

    #[test]
    fn reading_a_watched_file_is_not_a_change_but_writing_one_is() {
        use notify::EventKind;
        use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind};
        assert!(!is_a_change(&EventKind::Access(AccessKind::Open(AccessMode::Read))));
        assert!(!is_a_change(&EventKind::Access(AccessKind::Close(AccessMode::Read))));
        assert!(!is_a_change(&EventKind::Access(AccessKind::Read)));
        assert!(is_a_change(&EventKind::Access(AccessKind::Close(AccessMode::Write))));
        assert!(is_a_change(&EventKind::Create(CreateKind::File)));
        assert!(is_a_change(&EventKind::Modify(ModifyKind::Any)));
        assert!(is_a_change(&EventKind::Remove(RemoveKind::File)));
    }

    #[test]
    fn a_server_that_turns_into_needing_sign_in_from_any_other_state_is_told() {
        let signed = ServerState::SignedIn { expires_at: Some(10) };
        let error = ServerState::Error { message: "x".into() };
        let before = vec![
            view("signed", signed.clone()),
            view("signing", ServerState::SigningIn),
            view("failing", error.clone()),
            view("ready", ServerState::Ready),
            view("stays", signed.clone()),
        ];
        let after = vec![
            view("signed", ServerState::NeedsSignIn),
            view("signing", ServerState::NeedsSignIn),
            view("failing", ServerState::NeedsSignIn),
            view("ready", ServerState::NeedsSignIn),
            view("stays", signed),
        ];
        assert_eq!(
            newly_needing_sign_in(&before, &after),
            ["signed", "signing", "failing", "ready"]
        );
    }

    #[test]
    fn a_server_that_stays_needing_sign_in_is_told_once_and_again_only_after_it_left_and_came_back() {
        let needs = vec![view("a", ServerState::NeedsSignIn)];
        let signing = vec![view("a", ServerState::SigningIn)];
        let fine = vec![view("a", ServerState::SignedIn { expires_at: None })];
        assert_eq!(newly_needing_sign_in(&fine, &needs), ["a"]);
        assert!(
            newly_needing_sign_in(&needs, &needs).is_empty(),
            "every refresh after: silence"
        );
        assert!(newly_needing_sign_in(&needs, &signing).is_empty());
        assert_eq!(newly_needing_sign_in(&signing, &needs), ["a"], "it left and came back");
    }

    #[test]
    fn a_server_just_added_or_not_seen_before_is_not_a_turn() {
        let needs = vec![view("new", ServerState::NeedsSignIn)];
        assert!(newly_needing_sign_in(&[], &needs).is_empty());
        assert!(newly_needing_sign_in(&[view("other", ServerState::Ready)], &needs).is_empty());
    }

    #[test]
    fn a_token_server_whose_token_went_missing_is_not_told_to_sign_in() {
        let mut before = view("corp", ServerState::Ready);
        before.auth = AuthKind::Bearer;
        let after = ServerView {
            state: ServerState::NeedsSignIn,
            ..before.clone()
        };
        assert!(newly_needing_sign_in(&[before], &[after]).is_empty());
    }

    #[test]
    fn the_notice_says_nothing_opens_by_itself_and_where_to_sign_in() {
        let (title, body) = needs_sign_in_notice("linear");
        assert_eq!(title, "linear needs you to sign in");
        assert!(body.starts_with("Nothing opens by itself"), "{body}");
        assert!(
            body.contains("\u{201c}Sign in to linear\u{201d} in Tether's menu"),
            "{body}"
        );
        assert!(body.contains("in its window"), "{body}");
    }

    #[test]
    fn only_a_lost_sign_in_and_a_finished_one_are_told() {
        let signed = ServerState::SignedIn { expires_at: Some(10) };
        let before = vec![
            view("a", signed.clone()),
            view("b", ServerState::SigningIn),
            view("c", signed.clone()),
        ];
        let after = vec![
            view("a", ServerState::NeedsSignIn),
            view("b", signed.clone()),
            view("c", ServerState::SignedIn { expires_at: Some(99) }),
        ];
        let told = worth_telling(&before, &after);
        assert_eq!(told.len(), 2);
        assert_eq!(told[0].0, "a needs you to sign in");
        assert_eq!(told[1].0, "Signed in to b");
        assert!(
            worth_telling(&after, &after).is_empty(),
            "nothing changed, nothing said"
        );
    }
}
