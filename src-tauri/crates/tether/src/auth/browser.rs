//! Opening the authorization URL in the user's browser.
//!
//! Owns how a URL leaves Tether: only http(s) URLs are opened (RFC 8252 §8.1
//! and MCP's security best practices on authorization URL validation: a
//! `javascript:` or `file:` URL from a hostile server must never reach an
//! opener); `$BROWSER`, when set, is executed directly with the URL as an
//! argument, never through a shell; otherwise the OS opener runs through the
//! `open` crate (`xdg-open`, `open`, `ShellExecute`). `$BROWSER` is a list
//! of commands separated by the OS's path-list separator, as Python's
//! `webbrowser` reads it: `:` on Unix, `;` on Windows, where `:` follows
//! every drive letter (`C:\Program Files\…`). The browser never
//! inherits stdout, which is the JSON-RPC channel. When nothing can be opened
//! the caller prints the URL instead (as `gh auth login` does).

use std::process::{Command, Stdio};

use url::Url;

/// Opens `url`; an error says why it could not be.
pub fn open(url: &Url) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("refusing to open a {}: URL", url.scheme()));
    }
    if let Some(browser) = std::env::var_os("BROWSER")
        .and_then(|b| b.into_string().ok())
        .filter(|b| !b.trim().is_empty())
    {
        return open_with(&browser, url.as_str(), cfg!(windows));
    }
    open::that_detached(url.as_str()).map_err(|e| format!("no browser could be started ({e})"))
}

/// Runs a `$BROWSER` value: the first of its commands, split into words;
/// `%s` is replaced by the URL, else the URL is the last argument.
fn open_with(browser: &str, url: &str, windows: bool) -> Result<(), String> {
    let is_file = |p: &str| std::path::Path::new(p).is_file();
    let (program, args) = browser_argv(browser, url, windows, &is_file).ok_or_else(|| "BROWSER is empty".to_owned())?;
    Command::new(&program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("could not run BROWSER ({program}): {e}"))
}

/// The program and arguments of the first command in `browser`. On Windows
/// the commands are `;`-separated, and one that names an existing file is
/// that program alone, spaces and all (`C:\Program Files\…\firefox.exe`).
fn browser_argv(
    browser: &str,
    url: &str,
    windows: bool,
    is_file: &dyn Fn(&str) -> bool,
) -> Option<(String, Vec<String>)> {
    let separator = if windows { ';' } else { ':' };
    let first = browser.split(separator).map(str::trim).find(|s| !s.is_empty())?;
    if windows && is_file(first) {
        return Some((first.to_owned(), vec![url.to_owned()]));
    }
    let mut words: Vec<String> = first.split_whitespace().map(str::to_owned).collect();
    let program = words.remove(0);
    let mut replaced = false;
    for w in &mut words {
        if w.contains("%s") {
            *w = w.replace("%s", url);
            replaced = true;
        }
    }
    if !replaced {
        words.push(url.to_owned());
    }
    Some((program, words))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_commands_are_split_into_words_without_a_shell() {
        let url = "https://as.example/authorize?a=1&b=$(rm -rf ~)";
        let no_file = |_: &str| false;
        let unix = |b: &str| browser_argv(b, url, false, &no_file);
        assert_eq!(unix("firefox"), Some(("firefox".into(), vec![url.into()])));
        assert_eq!(
            unix("/opt/x --new-tab:lynx"),
            Some(("/opt/x".into(), vec!["--new-tab".into(), url.into()]))
        );
        assert_eq!(
            unix("w3m %s -dump"),
            Some(("w3m".into(), vec![url.into(), "-dump".into()]))
        );
        assert_eq!(unix(" : "), None);
    }

    #[test]
    fn on_windows_browser_commands_are_separated_by_semicolons_and_may_hold_spaces() {
        let url = "https://as.example/authorize?x=1";
        let firefox = r"C:\Program Files\Mozilla Firefox\firefox.exe";
        let is_firefox = |p: &str| p == firefox;
        let windows = |b: &str| browser_argv(b, url, true, &is_firefox);
        assert_eq!(
            windows(r"Z:\tests\fake_browser.py"),
            Some((r"Z:\tests\fake_browser.py".into(), vec![url.into()])),
            "the drive letter's colon does not split the command"
        );
        assert_eq!(
            windows(&format!("{firefox};chrome.exe")),
            Some((firefox.into(), vec![url.into()]))
        );
        assert_eq!(
            windows(r"C:\w3m.exe %s -dump;other"),
            Some((r"C:\w3m.exe".into(), vec![url.into(), "-dump".into()]))
        );
        assert_eq!(windows(" ; "), None);
    }

    #[test]
    fn only_web_urls_are_opened() {
        for bad in ["javascript:alert(1)", "file:///etc/passwd", "smb://host/share"] {
            assert!(
                open(&Url::parse(bad).unwrap())
                    .unwrap_err()
                    .starts_with("refusing to open")
            );
        }
    }
}
