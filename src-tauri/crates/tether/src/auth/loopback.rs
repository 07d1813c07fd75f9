//! The loopback redirect listener of a native app (RFC 8252 §7.3).
//!
//! Owns the small HTTP server the browser comes back to: it binds
//! `127.0.0.1` only (never all interfaces, §8.3), on any free port, before the
//! browser is opened; it prefers the port that worked last time, so an
//! authorization server that matches redirect URIs exactly keeps accepting the
//! registered one; it answers `GET /callback` with a small page that says
//! what happened, bounds each request's size and time, serves concurrent
//! connections (browsers open several), and gives up after an overall
//! timeout, measured on the wall clock too (a machine that slept past it
//! does not keep the sign-in open). What counts as a valid callback
//! (`state`, `iss`) is decided by the caller's check, so requests that fail
//! it are answered and ignored while the real one can still arrive.
//!
//! `GET /start` redirects to the authorization URL of the sign-in it waits
//! for: a person who closed the tab (or another Tether process that joined
//! this sign-in) opens the same sign-in again from a loopback URL that
//! carries nothing secret, and there is still one sign-in, one listener and
//! one code exchange.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::AuthError;

/// The path of the redirect URI.
pub const CALLBACK_PATH: &str = "/callback";
/// The path that leads to the sign-in's page again.
pub const START_PATH: &str = "/start";
/// How long one browser connection may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// What a callback amounts to, decided by the caller.
#[derive(Debug)]
pub enum Verdict {
    /// The authorization code: the flow continues.
    Code(String),
    /// Not ours (wrong `state`): answered with an error page, still waiting.
    Ignore(String),
    /// Ours, and the flow failed (an `error` from the server, a wrong `iss`).
    Fail(AuthError),
}

/// A bound listener.
pub struct Listener {
    listener: TcpListener,
    port: u16,
    /// Where `GET /start` leads: the authorization URL.
    start: Option<Arc<str>>,
}

impl Listener {
    /// Binds 127.0.0.1, on `preferred` when it is free, else on any port.
    pub async fn bind(preferred: Option<u16>) -> Result<Self, AuthError> {
        let bind = |port| TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
        let listener = match preferred {
            Some(p) if p != 0 => match bind(p).await {
                Ok(l) => l,
                Err(_) => bind(0).await.map_err(|e| listen_error("127.0.0.1", e))?,
            },
            _ => bind(0).await.map_err(|e| listen_error("127.0.0.1", e))?,
        };
        let port = listener.local_addr().map_err(|e| listen_error("127.0.0.1", e))?.port();
        Ok(Self {
            listener,
            port,
            start: None,
        })
    }

    /// Binds exactly `port` (a user-chosen, strict callback port).
    pub async fn bind_exact(port: u16) -> Result<Self, AuthError> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .map_err(|e| listen_error(&format!("127.0.0.1:{port} (the callback port you chose)"), e))?;
        Ok(Self {
            listener,
            port,
            start: None,
        })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Makes `GET /start` lead to `authorization_url`.
    pub fn set_start(&mut self, authorization_url: &str) {
        self.start = Some(authorization_url.into());
    }

    /// The URL of this listener's `/start` page.
    pub fn start_url(port: u16) -> String {
        format!("http://127.0.0.1:{port}{START_PATH}")
    }

    /// The redirect URI the authorization server sends the browser to.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Serves callbacks until one passes `check`, fails it, or `timeout` ends.
    pub async fn wait<F>(self, timeout: Duration, server_name: &str, check: F) -> Result<String, AuthError>
    where
        F: Fn(&HashMap<String, String>) -> Verdict + Send + Sync + 'static,
    {
        let (tx, mut rx) = mpsc::channel::<Result<String, AuthError>>(1);
        let check = Arc::new(check);
        let name: Arc<str> = server_name.into();
        let start = self.start.clone();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        // Monotonic timers stop while the machine sleeps: the wall clock
        // ends the wait too.
        let wall_deadline = std::time::SystemTime::now() + timeout;
        let mut wall = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let (check, tx, name, start) = (check.clone(), tx.clone(), name.clone(), start.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let (check, tx, name, start) = (check.clone(), tx.clone(), name.clone(), start.clone());
                            async move {
                                Ok::<_, std::convert::Infallible>(answer(&req, &*check, &tx, &name, start.as_deref()))
                            }
                        });
                        let conn = hyper::server::conn::http1::Builder::new()
                            .max_buf_size(MAX_HEAD)
                            .timer(hyper_util::rt::TokioTimer::new())
                            .header_read_timeout(Duration::from_secs(10))
                            .serve_connection(TokioIo::new(stream), service);
                        let _ = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await;
                    });
                }
                Some(result) = rx.recv() => return result,
                () = &mut deadline => return Err(timed_out(timeout)),
                _ = wall.tick() => {
                    if std::time::SystemTime::now() > wall_deadline {
                        return Err(timed_out(timeout));
                    }
                }
            }
        }
    }
}

/// The error of a sign-in nobody completed in time.
pub fn timed_out(timeout: Duration) -> AuthError {
    AuthError::NotCompleted {
        secs: timeout.as_secs(),
    }
}

fn answer(
    req: &Request<Incoming>,
    check: &(dyn Fn(&HashMap<String, String>) -> Verdict + Send + Sync),
    tx: &mpsc::Sender<Result<String, AuthError>>,
    server_name: &str,
    start: Option<&str>,
) -> Response<Full<Bytes>> {
    if req.method() == hyper::Method::GET
        && req.uri().path() == START_PATH
        && let Some(to) = start.and_then(|u| hyper::header::HeaderValue::from_str(u).ok())
    {
        let mut resp = page(
            StatusCode::FOUND,
            "Signing in",
            &format!("Continue to sign in to {server_name}."),
        );
        resp.headers_mut().insert(hyper::header::LOCATION, to);
        return resp;
    }
    if req.method() != hyper::Method::GET || req.uri().path() != CALLBACK_PATH {
        return page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This is Tether's sign-in listener; nothing lives here.",
        );
    }
    let params: HashMap<String, String> = url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    match check(&params) {
        Verdict::Code(code) => {
            let _ = tx.try_send(Ok(code));
            page(
                StatusCode::OK,
                "Signed in",
                &format!("Tether is signed in to {server_name}. You can close this tab."),
            )
        }
        Verdict::Ignore(why) => page(StatusCode::BAD_REQUEST, "Not this sign-in", &why),
        Verdict::Fail(e) => {
            let text = e.to_string();
            let _ = tx.try_send(Err(e));
            page(StatusCode::BAD_REQUEST, "Sign-in failed", &text)
        }
    }
}

fn page(status: StatusCode, title: &str, text: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} – Tether</title>\
         <style>body{{font:16px system-ui,sans-serif;margin:15vh auto;max-width:34em;padding:0 1em}}\
         @media(prefers-color-scheme:dark){{body{{background:#1e1e1e;color:#eee}}}}</style></head>\
         <body><h1>{t}</h1><p>{x}</p></body></html>",
        t = escape(title),
        x = escape(text)
    );
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    // The page must not leak the code in a Referer, nor be framed.
    h.insert(
        hyper::header::REFERRER_POLICY,
        hyper::header::HeaderValue::from_static("no-referrer"),
    );
    h.insert("x-frame-options", hyper::header::HeaderValue::from_static("DENY"));
    resp
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn listen_error(addr: &str, e: std::io::Error) -> AuthError {
    AuthError::Listen {
        addr: addr.to_owned(),
        source: std::sync::Arc::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(port: u16, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let status = out[9..12].parse().unwrap();
        (status, out)
    }

    fn check(p: &HashMap<String, String>) -> Verdict {
        if p.get("state").map(String::as_str) != Some("s1") {
            return Verdict::Ignore("state does not match".into());
        }
        match p.get("code") {
            Some(c) => Verdict::Code(c.clone()),
            None => Verdict::Fail(AuthError::Denied("access_denied".into())),
        }
    }

    #[tokio::test]
    async fn the_listener_binds_loopback_only_and_ignores_a_wrong_state() {
        let l = Listener::bind(None).await.unwrap();
        let port = l.port();
        assert!(l.redirect_uri().starts_with("http://127.0.0.1:"));
        let task = tokio::spawn(l.wait(Duration::from_secs(5), "x", check));
        let (s, body) = get(port, "/callback?code=evil&state=wrong").await;
        assert_eq!(s, 400);
        assert!(body.contains("state does not match"));
        let (s, _) = get(port, "/favicon.ico").await;
        assert_eq!(s, 404);
        let (s, body) = get(port, "/callback?code=c%2B1&state=s1").await;
        assert_eq!(s, 200);
        assert!(body.contains("You can close this tab"));
        assert_eq!(task.await.unwrap().unwrap(), "c+1");
        // Not reachable on other interfaces: the socket is bound to 127.0.0.1.
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "closed after the flow"
        );
    }

    #[tokio::test]
    async fn an_error_from_the_server_ends_the_wait_with_that_error() {
        let l = Listener::bind(None).await.unwrap();
        let port = l.port();
        let task = tokio::spawn(l.wait(Duration::from_secs(5), "x", check));
        let (s, body) = get(port, "/callback?error=access_denied&state=s1").await;
        assert_eq!(s, 400);
        assert!(body.contains("Sign-in failed"));
        assert!(matches!(task.await.unwrap(), Err(AuthError::Denied(_))));
    }

    #[tokio::test]
    async fn start_leads_to_the_authorization_page_of_the_sign_in_it_waits_for() {
        let mut l = Listener::bind(None).await.unwrap();
        let port = l.port();
        l.set_start("https://as.example/authorize?state=s1&client_id=c");
        let task = tokio::spawn(l.wait(Duration::from_secs(5), "x", check));
        let (s, head) = get(port, "/start").await;
        assert_eq!(s, 302);
        assert!(
            head.to_ascii_lowercase()
                .contains("location: https://as.example/authorize?state=s1&client_id=c"),
            "{head}"
        );
        assert_eq!(Listener::start_url(port), format!("http://127.0.0.1:{port}/start"));
        let (s, _) = get(port, "/callback?code=c&state=s1").await;
        assert_eq!(s, 200);
        assert_eq!(task.await.unwrap().unwrap(), "c");
    }

    #[tokio::test]
    async fn the_wait_ends_after_the_timeout() {
        let l = Listener::bind(None).await.unwrap();
        let e = l.wait(Duration::from_millis(100), "x", check).await.unwrap_err();
        assert!(e.to_string().contains("within 0 s"));
    }

    #[tokio::test]
    async fn a_preferred_port_in_use_falls_back_to_another() {
        let first = Listener::bind(None).await.unwrap();
        let second = Listener::bind(Some(first.port())).await.unwrap();
        assert_ne!(second.port(), first.port());
        assert!(Listener::bind_exact(first.port()).await.is_err());
    }
}
