//! Which `tether` an MCP client's entry names, when the running one sits
//! somewhere that will not last.
//!
//! An entry (`"command": "<path of tether>"`) is read by Claude Desktop at
//! every launch, long after the program that wrote it has quit. Three ways of
//! running Tether put its `tether` in a place that is gone by then:
//!
//! - an **AppImage** (Linux) runs from a FUSE mount, `$TMPDIR/.mount_<name><random>`,
//!   that disappears when the app quits; worse, while it is gone, another local
//!   user can create a directory of that name in the shared `/tmp` and put a
//!   `tether` there, which the entry would then run;
//! - a **disk image** (macOS) runs from `/Volumes/<name>/…` until it is ejected
//!   (a removable disk the same);
//! - **App Translocation** (macOS Gatekeeper) runs a quarantined app opened
//!   where it was downloaded from a read-only random path,
//!   `/private/var/folders/…/AppTranslocation/<UUID>/d/Tether.app`, new at
//!   every launch;
//! - and on Windows an archive opened in Explorer runs from the temporary
//!   folder (`%TEMP%\Temp1_<archive>.zip\…`), which the system cleans up.
//!
//! [`place`] classifies a path, a pure function of the OS, the path and its
//! surroundings (the temporary directory, `$APPDIR`), so every OS's case is
//! tested anywhere; [`for_entries`] carries the verdict out.
//!
//! **Copy or refuse.** The keychain design (ARCHITECTURE.md, "One keychain
//! user") wants one program to own every keychain item: the `tether` the app
//! runs for sign-in must be the one Claude Desktop runs. On macOS the
//! keychain's access control names a program by its code signature
//! (its designated requirement), and the app itself is as transient as its
//! sidecar: its login item and its updates would point at the disk image or
//! the translocated copy too. Apple's answer, which users know, is to move the
//! app to Applications; so on macOS Tether **refuses** to write an entry and
//! says so, rather than leave a second, silently stale `tether` behind. On
//! Windows the temporary folder is refused the same way (install or extract
//! Tether first). An AppImage, though, always runs from a mount, so refusing
//! would make it unusable; and the Secret Service has no per-program access
//! control, so a copy changes nothing about who may read the keychain. There
//! `tether` is **copied** to a stable per-user place (`<state>/bin/tether`,
//! `~/.local/share/tether/bin/tether` by default), refreshed whenever the
//! AppImage's differs, and the app runs that copy too, so the copy is the one
//! program that touches the keychain. `tether` is a static Rust program that
//! needs nothing from the AppImage (no bundled library), so the copy runs on
//! its own.
//!
//! Windows `\\?\` paths (what `canonicalize` returns there) are written
//! without the prefix: a config file's `command` is shown to people and run
//! by Node's `child_process`, and a drive path is what both expect.

use std::path::{Path, PathBuf};

use super::paths::Os;

/// Why a program path will not last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// An AppImage's mount, `$TMPDIR/.mount_*` (Linux).
    AppImageMount,
    /// A disk image or removable volume under `/Volumes` (macOS).
    DiskImage,
    /// A Gatekeeper App Translocation path (macOS).
    AppTranslocation,
    /// The temporary folder (Windows).
    TempDir,
}

/// What to do about a program path before an entry names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The path lasts: entries name it as it is.
    Stable,
    /// Copy the program to `to` and name the copy.
    CopyTo { why: Transient, to: PathBuf },
    /// Write no entry; [`ProgramError::Transient`] says what to do.
    Refuse { why: Transient },
}

/// What the classification looks at besides the path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Surroundings {
    /// The temporary directory (`%TEMP%` on Windows, `$TMPDIR` elsewhere).
    pub temp_dir: Option<PathBuf>,
    /// `$APPDIR`, the mount point an AppImage's runtime sets (only when
    /// `$APPIMAGE` is set too).
    pub appdir: Option<PathBuf>,
    /// Where a copy goes: `<state>/bin`.
    pub stable_dir: PathBuf,
}

impl Surroundings {
    /// This process's surroundings; copies go to `<state_dir>/bin`.
    pub fn current(state_dir: &Path) -> Self {
        // Resolved like the program's path: `/var` is `/private/var` on macOS,
        // and Windows may name %TEMP% by its short (8.3) form.
        let resolved = |p: PathBuf| std::fs::canonicalize(&p).unwrap_or(p);
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        Self {
            temp_dir: Some(resolved(std::env::temp_dir())),
            appdir: var("APPIMAGE").and(var("APPDIR")).map(resolved),
            stable_dir: state_dir.join("bin"),
        }
    }
}

/// Why no entry can name the program.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("{}", transient_message(*why, path))]
    Transient { why: Transient, path: PathBuf },
    #[error("cannot copy tether from its temporary place {from} to {to}: {source}")]
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn transient_message(why: Transient, path: &Path) -> String {
    let path = path.display();
    match why {
        Transient::DiskImage => format!(
            "Tether is running from a disk image or removable volume ({path}); MCP clients could not start it once that is ejected. Drag Tether to Applications, open it from there, and try again"
        ),
        Transient::AppTranslocation => format!(
            "macOS is running Tether from a temporary copy ({path}: App Translocation, because it was opened where it was downloaded); MCP clients could not start it later. Move Tether to Applications with the Finder, open it from there, and try again"
        ),
        Transient::TempDir => format!(
            "Tether is running from the temporary folder ({path}), which Windows cleans up; MCP clients could not start it later. Install Tether, or extract the archive to a folder of its own, and run it from there"
        ),
        Transient::AppImageMount => format!(
            "Tether is running from an AppImage's temporary mount ({path}); MCP clients could not start it once the app quits"
        ),
    }
}

/// What to do about `program` (absolute, symlinks resolved) on `os`.
pub fn place(os: Os, program: &Path, s: &Surroundings) -> Placement {
    let Some(why) = transient(os, program, s) else {
        return Placement::Stable;
    };
    match why {
        Transient::AppImageMount => {
            let name = program.file_name().map_or_else(|| "tether".into(), ToOwned::to_owned);
            Placement::CopyTo {
                why,
                to: s.stable_dir.join(name),
            }
        }
        _ => Placement::Refuse { why },
    }
}

/// Why `program` is transient on `os`, if it is.
pub fn transient(os: Os, program: &Path, s: &Surroundings) -> Option<Transient> {
    let parts = components(os, program);
    let under = |dir: &Path| {
        let dir = components(os, dir);
        !dir.is_empty() && parts.len() > dir.len() && same_parts(os, &parts[..dir.len()], &dir)
    };
    match os {
        Os::Linux => {
            let mounted = s.appdir.as_deref().is_some_and(under)
                || parts
                    .iter()
                    .any(|p| p.starts_with(".mount_") && p.len() > ".mount_".len());
            mounted.then_some(Transient::AppImageMount)
        }
        Os::MacOs => {
            let names: Vec<&str> = parts.iter().map(String::as_str).collect();
            let folders = matches!(
                names.as_slice(),
                ["var", "folders", ..] | ["private", "var", "folders", ..]
            );
            if (folders || s.temp_dir.as_deref().is_some_and(under)) && names.contains(&"AppTranslocation") {
                Some(Transient::AppTranslocation)
            } else if parts.len() > 2 && parts[0] == "Volumes" {
                Some(Transient::DiskImage)
            } else {
                None
            }
        }
        Os::Windows => s.temp_dir.as_deref().is_some_and(under).then_some(Transient::TempDir),
    }
}

/// The path's non-empty components; on Windows both separators count and a
/// `\\?\` prefix is ignored.
fn components(os: Os, path: &Path) -> Vec<String> {
    let text = path.to_string_lossy();
    let text = match os {
        Os::Windows => plain_windows(&text).replace('\\', "/"),
        Os::MacOs | Os::Linux => text.into_owned(),
    };
    text.split('/').filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

/// Windows paths compare without regard to case.
fn same_parts(os: Os, a: &[String], b: &[String]) -> bool {
    a.iter().zip(b).all(|(x, y)| match os {
        Os::Windows => x.eq_ignore_ascii_case(y),
        Os::MacOs | Os::Linux => x == y,
    })
}

/// `\\?\C:\x` → `C:\x`, `\\?\UNC\host\share` → `\\host\share`; other
/// paths as they are.
pub fn plain_windows(path: &str) -> std::borrow::Cow<'_, str> {
    if let Some(unc) = path.strip_prefix(r"\\?\UNC\") {
        format!(r"\\{unc}").into()
    } else if let Some(rest) = path.strip_prefix(r"\\?\")
        && rest.as_bytes().get(1) == Some(&b':')
    {
        rest.into()
    } else {
        path.into()
    }
}

/// The `tether` an entry should name, given this one's absolute path
/// (symlinks resolved) and Tether's state directory: `program` itself when
/// it lasts, a refreshed copy in `<state>/bin` for an AppImage, an error
/// that says what to do otherwise.
pub fn for_entries(program: &Path, state_dir: &Path) -> Result<PathBuf, ProgramError> {
    let os = Os::current();
    let program = match os {
        Os::Windows => PathBuf::from(plain_windows(&program.to_string_lossy()).into_owned()),
        Os::MacOs | Os::Linux => program.to_path_buf(),
    };
    match place(os, &program, &Surroundings::current(state_dir)) {
        Placement::Stable => Ok(program),
        Placement::Refuse { why } => Err(ProgramError::Transient { why, path: program }),
        Placement::CopyTo { to, .. } => {
            copy_if_changed(&program, &to).map_err(|source| ProgramError::Copy {
                from: program.clone(),
                to: to.clone(),
                source,
            })?;
            Ok(to)
        }
    }
}

/// Copies `from` to `to` unless `to` already has the same bytes: into a
/// private directory, through a temporary file renamed into place, so a
/// client never starts a half-written program.
fn copy_if_changed(from: &Path, to: &Path) -> std::io::Result<()> {
    let new = std::fs::read(from)?;
    if std::fs::read(to).is_ok_and(|old| old == new) {
        return Ok(());
    }
    let dir = to
        .parent()
        .ok_or_else(|| std::io::Error::other("the copy's path has no directory"))?;
    crate::logging::create_private_dir(dir)?;
    let tmp = dir.join(format!(".tether-copy-{}", std::process::id()));
    let written = (|| {
        std::fs::write(&tmp, &new)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
        }
        std::fs::rename(&tmp, to)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn around(temp: &str) -> Surroundings {
        Surroundings {
            temp_dir: Some(temp.into()),
            appdir: None,
            stable_dir: "/home/ann/.local/share/tether/bin".into(),
        }
    }

    #[test]
    fn an_appimage_mount_is_copied_to_the_state_directory() {
        let s = around("/tmp");
        assert_eq!(
            place(Os::Linux, Path::new("/tmp/.mount_TetherX1b2c3/usr/bin/tether"), &s),
            Placement::CopyTo {
                why: Transient::AppImageMount,
                to: "/home/ann/.local/share/tether/bin/tether".into()
            }
        );
        // $TMPDIR elsewhere, found through $APPDIR.
        let s = Surroundings {
            appdir: Some("/run/user/1000/appimage-q".into()),
            ..around("/run/user/1000")
        };
        assert!(matches!(
            place(Os::Linux, Path::new("/run/user/1000/appimage-q/usr/bin/tether"), &s),
            Placement::CopyTo { .. }
        ));
    }

    #[test]
    fn linux_installs_and_builds_are_stable_even_under_tmp() {
        let s = around("/tmp");
        for stable in [
            "/usr/bin/tether",
            "/home/ann/.local/share/tether/bin/tether",
            "/opt/Tether/tether",
            "/tmp/base/target/debug/tether",
            "/tmp/.mount_/tether",
        ] {
            assert_eq!(place(Os::Linux, Path::new(stable), &s), Placement::Stable, "{stable}");
        }
    }

    #[test]
    fn macos_refuses_disk_images_and_translocated_apps() {
        let s = around("/var/folders/x1/abc123/T");
        assert_eq!(
            place(
                Os::MacOs,
                Path::new("/Volumes/Tether 0.1.0/Tether.app/Contents/MacOS/tether"),
                &s
            ),
            Placement::Refuse {
                why: Transient::DiskImage
            }
        );
        let translocated =
            "/private/var/folders/x1/abc123/T/AppTranslocation/6F1A2B3C-0000/d/Tether.app/Contents/MacOS/tether";
        assert_eq!(
            place(Os::MacOs, Path::new(translocated), &s),
            Placement::Refuse {
                why: Transient::AppTranslocation
            }
        );
        assert_eq!(
            transient(
                Os::MacOs,
                Path::new(&translocated["/private".len()..]),
                &around("/elsewhere")
            ),
            Some(Transient::AppTranslocation),
            "/var is /private/var"
        );
        for stable in [
            "/Applications/Tether.app/Contents/MacOS/tether",
            "/Users/ann/Applications/Tether.app/Contents/MacOS/tether",
            "/Volumes",
            "/Users/ann/AppTranslocation/tether",
        ] {
            assert_eq!(place(Os::MacOs, Path::new(stable), &s), Placement::Stable, "{stable}");
        }
    }

    #[test]
    fn windows_refuses_the_temporary_folder_whatever_the_case_or_prefix() {
        let s = around(r"C:\Users\ann\AppData\Local\Temp");
        for temp in [
            r"C:\Users\ann\AppData\Local\Temp\Temp1_tether.zip\tether.exe",
            r"\\?\C:\Users\ann\AppData\Local\Temp\Temp1_tether.zip\tether.exe",
            r"c:\users\ANN\appdata\local\temp\x\tether.exe",
        ] {
            assert_eq!(
                place(Os::Windows, Path::new(temp), &s),
                Placement::Refuse {
                    why: Transient::TempDir
                },
                "{temp}"
            );
        }
        for stable in [
            r"C:\Users\ann\AppData\Local\Tether\tether.exe",
            r"C:\Program Files\Tether\tether.exe",
            r"Z:\work\target\x86_64-pc-windows-gnu\debug\tether.exe",
            r"C:\Users\ann\AppData\Local\Temporary\tether.exe",
        ] {
            assert_eq!(place(Os::Windows, Path::new(stable), &s), Placement::Stable, "{stable}");
        }
    }

    #[test]
    fn windows_verbatim_paths_lose_their_prefix() {
        assert_eq!(
            plain_windows(r"\\?\C:\Program Files\Tether\tether.exe"),
            r"C:\Program Files\Tether\tether.exe"
        );
        assert_eq!(
            plain_windows(r"\\?\UNC\host\share\tether.exe"),
            r"\\host\share\tether.exe"
        );
        assert_eq!(
            plain_windows(r"\\?\Volume{abc}\tether.exe"),
            r"\\?\Volume{abc}\tether.exe"
        );
        assert_eq!(plain_windows("/usr/bin/tether"), "/usr/bin/tether");
    }

    #[test]
    fn each_refusal_says_what_to_do() {
        let e = |why| ProgramError::Transient { why, path: "/p".into() }.to_string();
        assert!(e(Transient::DiskImage).contains("Drag Tether to Applications"));
        assert!(e(Transient::AppTranslocation).contains("Move Tether to Applications"));
        assert!(e(Transient::TempDir).contains("Install Tether"));
    }

    #[test]
    fn a_copy_is_written_once_and_refreshed_when_the_program_changes() {
        let tmp = std::env::temp_dir().join(format!("tether-program-{}", std::process::id()));
        let from = tmp.join(".mount_TetherAb12").join("tether");
        std::fs::create_dir_all(from.parent().unwrap()).unwrap();
        std::fs::write(&from, b"version 1").unwrap();
        let to = tmp.join("state").join("bin").join("tether");
        copy_if_changed(&from, &to).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"version 1");
        let first = std::fs::metadata(&to).unwrap().modified().unwrap();
        copy_if_changed(&from, &to).unwrap();
        assert_eq!(
            std::fs::metadata(&to).unwrap().modified().unwrap(),
            first,
            "unchanged: not rewritten"
        );
        std::fs::write(&from, b"version 2").unwrap();
        copy_if_changed(&from, &to).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"version 2");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&to).unwrap().permissions().mode() & 0o777, 0o755);
            let dir = std::fs::metadata(to.parent().unwrap()).unwrap();
            assert_eq!(dir.permissions().mode() & 0o777, 0o700);
        }
        let leftovers: Vec<_> = std::fs::read_dir(to.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        std::fs::remove_dir_all(tmp).unwrap();
    }
}
