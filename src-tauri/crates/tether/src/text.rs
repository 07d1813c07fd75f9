//! Words shown to people, in one place, so the CLI, the tray and the window
//! say the same thing: how long a token has left, a masked token, a long
//! message shortened, an error with its causes.

use std::error::Error;

/// A duration in the largest unit that reads well: "45 s", "47 min",
/// "3 h", "2 days". `tether status` and the tray both use it.
pub fn duration(secs: i64) -> String {
    match secs.max(0) {
        s if s < 60 => format!("{s} s"),
        s if s < 5400 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// A token shown as its first 4 and last 3 characters, as `gh auth status`
/// does; a short one not at all.
pub fn mask(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    if chars.len() < 12 {
        return "****".into();
    }
    format!(
        "{}…{}",
        chars[..4].iter().collect::<String>(),
        chars[chars.len() - 3..].iter().collect::<String>()
    )
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// An error and its causes on one line ("a: b: c"), for the places an
/// error becomes text a person reads (a status file, a JSON-RPC error, the
/// app). Errors keep their causes as `source()`, not in their own message.
pub fn error_chain(e: &dyn Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_largest_unit_that_fits() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(60), "1 min");
        assert_eq!(duration(47 * 60), "47 min");
        assert_eq!(duration(5399), "89 min");
        assert_eq!(duration(3 * 3600), "3 h");
        assert_eq!(duration(3 * 86_400), "3 days");
        assert_eq!(duration(-5), "0 s");
    }

    #[test]
    fn tokens_are_masked() {
        assert_eq!(mask("eyJhbGciOiJSUzI1NiJ9.payload.sig"), "eyJh…sig");
        assert_eq!(mask("short"), "****");
    }

    #[test]
    fn an_error_reads_with_its_causes_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot listen on 127.0.0.1")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use"));
        assert_eq!(error_chain(&e), "cannot listen on 127.0.0.1: address in use");
    }
}
