//! Keeping the tray and the window live, by watching files rather than
//! polling: the bridges' status files, the state files, the server list, and
//! Claude Desktop's config (which Claude sometimes rewrites without its
//! `mcpServers`). The OS reports changes (inotify, FSEvents,
//! ReadDirectoryChangesW), so an idle app uses no CPU.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tauri::{AppHandle, Emitter, Manager};
use tether::overview::{ServerState, ServerView};
use tether::sync::lock;

use crate::context::AppContext;
use crate::{service, tray};

/// Changes closer together than this are handled once.
const SETTLE: Duration = Duration::from_millis(250);

/// Starts watching; events are handled on a thread of their own.
pub fn start(app: &AppHandle) -> notify::Result<()> {
    let ctx = app.state::<AppContext>();
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| is_a_change(&e.kind)) {
            let _ = tx.send(());
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
        .name("watch".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                // Let a burst of writes (a temp file, a rename) settle.
                std::thread::sleep(SETTLE);
                while rx.try_recv().is_ok() {}
                changed(&app);
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
    ];
    if let Some(dir) = service::claude_config_dir(ctx) {
        dirs.push(dir);
    }
    dirs
}

fn changed(app: &AppHandle) {
    let ctx = app.state::<AppContext>();
    let views = service::overview(&ctx);
    let previous = std::mem::replace(&mut *lock(&ctx.last), views.clone());
    for (title, body) in worth_telling(&previous, &views) {
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

/// The changes a user must hear about: a server that needs sign-in again, a
/// sign-in that finished. Nothing else (no nagging).
pub fn worth_telling(before: &[ServerView], after: &[ServerView]) -> Vec<(String, String)> {
    let was: std::collections::HashMap<&str, &ServerState> =
        before.iter().map(|v| (v.name.as_str(), &v.state)).collect();
    let mut out = Vec::new();
    for v in after {
        match (was.get(v.name.as_str()), &v.state) {
            (Some(ServerState::SignedIn { .. }), ServerState::NeedsSignIn) => {
                out.push((
                    format!("{} needs you to sign in again", v.name),
                    "Open the Tether menu and choose Sign in.".into(),
                ));
            }
            (Some(ServerState::SigningIn | ServerState::NeedsSignIn), ServerState::SignedIn { .. }) => {
                out.push((
                    format!("Signed in to {}", v.name),
                    "Its tools are ready in Claude.".into(),
                ));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether::servers::AuthKind;

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
        assert_eq!(told[0].0, "a needs you to sign in again");
        assert_eq!(told[1].0, "Signed in to b");
        assert!(
            worth_telling(&after, &after).is_empty(),
            "nothing changed, nothing said"
        );
    }
}
