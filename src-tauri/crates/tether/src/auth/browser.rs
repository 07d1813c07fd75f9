//! Opening the authorization URL in the user's browser.
//!
//! Owns how a URL leaves Tether: only http(s) URLs are opened (RFC 8252 §8.1
//! and MCP's security best practices on authorization URL validation: a
//! `javascript:` or `file:` URL from a hostile server must never reach an
//! opener); `$BROWSER`, when set, is executed directly with the URL as an
//! argument, never through a shell; otherwise the OS opener runs through the
//! `open` crate (`xdg-open`, `open`, `ShellExecute`). The browser never
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
        return open_with(&browser, url.as_str());
    }
    open::that_detached(url.as_str()).map_err(|e| format!("no browser could be started ({e})"))
}

/// Runs a `$BROWSER` value: the first of its `:`-separated commands, split
/// into words; `%s` is replaced by the URL, else the URL is the last argument.
fn open_with(browser: &str, url: &str) -> Result<(), String> {
    let (program, args) = browser_argv(browser, url).ok_or_else(|| "BROWSER is empty".to_owned())?;
    Command::new(&program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("could not run BROWSER ({program}): {e}"))
}

fn browser_argv(browser: &str, url: &str) -> Option<(String, Vec<String>)> {
    let first = browser.split(':').map(str::trim).find(|s| !s.is_empty())?;
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
        assert_eq!(browser_argv("firefox", url), Some(("firefox".into(), vec![url.into()])));
        assert_eq!(
            browser_argv("/opt/x --new-tab:lynx", url),
            Some(("/opt/x".into(), vec!["--new-tab".into(), url.into()]))
        );
        assert_eq!(
            browser_argv("w3m %s -dump", url),
            Some(("w3m".into(), vec![url.into(), "-dump".into()]))
        );
        assert_eq!(browser_argv(" : ", url), None);
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
