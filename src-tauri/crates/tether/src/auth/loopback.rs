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
//!
//! Any local process, and any web page the browser shows, can reach the
//! port, so the listener defends itself (§8.3): at most
//! [`MAX_CONNECTIONS`] connections are served at once (further ones wait in
//! the kernel's queue until one ends, so a local process cannot exhaust the
//! bridge's file descriptors or memory); an `accept()` that fails (EMFILE,
//! ENFILE) is retried after a growing pause, never in a busy loop; a request
//! whose `Host` is not `127.0.0.1:<port>` or `localhost:<port>` is refused
//! with 421 and never reaches the check, so a DNS-rebound name cannot drive
//! the listener from a web page; and every page forbids scripts, framing,
//! sniffing, caching and referrers (`Content-Security-Policy`,
//! `X-Content-Type-Options`, `Cache-Control`, `Referrer-Policy`).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};

use super::AuthError;

/// The path of the redirect URI.
pub const CALLBACK_PATH: &str = "/callback";
/// The path that leads to the sign-in's page again.
pub const START_PATH: &str = "/start";
/// How long one browser connection may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// How many connections are served at once. A browser opens a few (the
/// callback, a favicon, preconnects); more wait until one ends.
pub const MAX_CONNECTIONS: usize = 16;
/// The first pause after `accept()` fails; it doubles up to [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// The page's policy: no script, no frame, no form, nothing loaded; only
/// the inline style of the page itself.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

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
        let listener = self.listener;
        let start = self.start;
        serve(|| listener.accept(), self.port, start, timeout, server_name, check).await
    }
}

/// The accept loop of [`Listener::wait`], over any source of connections
/// (a test gives one that fails).
async fn serve<A, Fut, F>(
    mut accept: A,
    port: u16,
    start: Option<Arc<str>>,
    timeout: Duration,
    server_name: &str,
    check: F,
) -> Result<String, AuthError>
where
    A: FnMut() -> Fut,
    Fut: Future<Output = std::io::Result<(TcpStream, SocketAddr)>>,
    F: Fn(&HashMap<String, String>) -> Verdict + Send + Sync + 'static,
{
    let (tx, mut rx) = mpsc::channel::<Result<String, AuthError>>(1);
    let check = Arc::new(check);
    let name: Arc<str> = server_name.into();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut backoff = ACCEPT_BACKOFF_MIN;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    // Monotonic timers stop while the machine sleeps: the wall clock ends
    // the wait too.
    let wall_deadline = std::time::SystemTime::now() + timeout;
    let mut wall = tokio::time::interval(Duration::from_secs(5));
    loop {
        // A slot first, then a connection: while every slot is taken, new
        // connections wait in the kernel's backlog instead of being read.
        let next = async {
            let slot = slots
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            (slot, accept().await)
        };
        tokio::select! {
            (slot, accepted) = next => {
                let stream = match accepted {
                    Ok((stream, _)) => {
                        backoff = ACCEPT_BACKOFF_MIN;
                        stream
                    }
                    Err(e) => {
                        // EMFILE and friends do not clear by retrying at once:
                        // pause (the deadline and a callback still end the wait).
                        if backoff == ACCEPT_BACKOFF_MIN {
                            tracing::warn!(error = %e, "the sign-in listener cannot accept a connection; retrying");
                        }
                        drop(slot);
                        tokio::select! {
                            () = tokio::time::sleep(backoff) => {}
                            () = &mut deadline => {}
                        }
                        backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                        continue;
                    }
                };
                let (check, tx, name, start) = (check.clone(), tx.clone(), name.clone(), start.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    let service = hyper::service::service_fn(move |req| {
                        let (check, tx, name, start) = (check.clone(), tx.clone(), name.clone(), start.clone());
                        async move {
                            Ok::<_, std::convert::Infallible>(answer(&req, port, &*check, &tx, &name, start.as_deref()))
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

/// The error of a sign-in nobody completed in time.
pub fn timed_out(timeout: Duration) -> AuthError {
    AuthError::NotCompleted {
        secs: timeout.as_secs(),
    }
}

/// Whether the request is addressed to this listener by a name the
/// redirect URI can carry (`127.0.0.1:<port>` or `localhost:<port>`): a
/// page on a rebound DNS name reaches the same socket with its own name in
/// `Host` (and in an absolute request target).
fn addressed_to_us(req: &Request<Incoming>, port: u16) -> Result<(), StatusCode> {
    let ours = |authority: &str| {
        let (host, p) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let port_ok = match p {
            Some(p) => p.parse::<u16>() == Ok(port),
            None => port == 80,
        };
        port_ok && (host == "127.0.0.1" || host.eq_ignore_ascii_case("localhost"))
    };
    let mut hosts = req.headers().get_all(hyper::header::HOST).iter();
    // RFC 9112 §3.2: a request without exactly one Host is a bad request.
    let (Some(host), None) = (hosts.next(), hosts.next()) else {
        return Err(StatusCode::BAD_REQUEST);
    };
    let host = host.to_str().map_err(|_| StatusCode::BAD_REQUEST)?;
    if !ours(host) {
        return Err(StatusCode::MISDIRECTED_REQUEST);
    }
    if let Some(authority) = req.uri().authority()
        && !ours(authority.as_str())
    {
        return Err(StatusCode::MISDIRECTED_REQUEST);
    }
    Ok(())
}

fn answer(
    req: &Request<Incoming>,
    port: u16,
    check: &(dyn Fn(&HashMap<String, String>) -> Verdict + Send + Sync),
    tx: &mpsc::Sender<Result<String, AuthError>>,
    server_name: &str,
    start: Option<&str>,
) -> Response<Full<Bytes>> {
    if let Err(status) = addressed_to_us(req, port) {
        return page(
            status,
            "Wrong address",
            "This is Tether's sign-in listener; it answers only at 127.0.0.1 and localhost.",
        );
    }
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
    // The page must not leak the code in a Referer, nor be framed, nor run
    // or load anything (RFC 8252 §8.3: any page may point the browser here).
    h.insert(
        hyper::header::REFERRER_POLICY,
        hyper::header::HeaderValue::from_static("no-referrer"),
    );
    h.insert("x-frame-options", hyper::header::HeaderValue::from_static("DENY"));
    h.insert(
        hyper::header::CONTENT_SECURITY_POLICY,
        hyper::header::HeaderValue::from_static(CSP),
    );
    h.insert(
        hyper::header::X_CONTENT_TYPE_OPTIONS,
        hyper::header::HeaderValue::from_static("nosniff"),
    );
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

    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(port: u16, path: &str) -> (u16, String) {
        request(port, &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n")).await
    }

    /// Sends a request head (without the final blank line) and reads the answer.
    async fn request(port: u16, head: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
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
    async fn a_request_for_another_host_is_refused_and_is_not_a_callback() {
        let l = Listener::bind(None).await.unwrap();
        let port = l.port();
        let task = tokio::spawn(l.wait(Duration::from_secs(5), "x", check));
        // A page on a DNS name rebound to 127.0.0.1 sends its own name.
        let evil = "/callback?code=evil&state=s1";
        for head in [
            format!("GET {evil} HTTP/1.1\r\nHost: attacker.example:{port}\r\n"),
            format!("GET {evil} HTTP/1.1\r\nHost: 127.0.0.1.attacker.example:{port}\r\n"),
            format!("GET {evil} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", port.wrapping_add(1)),
            format!("GET {evil} HTTP/1.1\r\nHost: 127.0.0.1\r\n"),
            format!("GET http://attacker.example:{port}{evil} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"),
        ] {
            let (s, body) = request(port, &head).await;
            assert_eq!(s, 421, "{head}: {body}");
            assert!(!body.contains("You can close this tab"), "{head}");
        }
        let (s, _) = request(port, &format!("GET {evil} HTTP/1.1\r\n")).await;
        assert_eq!(s, 400, "no Host at all");
        let (s, _) = request(
            port,
            &format!("GET {evil} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: attacker.example\r\n"),
        )
        .await;
        assert_eq!(s, 400, "two Hosts");
        assert!(!task.is_finished(), "a refused request is not a callback");
        // Both names a redirect URI can carry are served.
        let (s, _) = request(
            port,
            &format!("GET /favicon.ico HTTP/1.1\r\nHost: LocalHost:{port}\r\n"),
        )
        .await;
        assert_eq!(s, 404);
        let (s, _) = get(port, "/callback?code=real&state=s1").await;
        assert_eq!(s, 200);
        assert_eq!(task.await.unwrap().unwrap(), "real");
    }

    #[tokio::test]
    async fn every_page_forbids_scripts_framing_sniffing_caching_and_referrers() {
        let l = Listener::bind(None).await.unwrap();
        let port = l.port();
        let task = tokio::spawn(l.wait(Duration::from_secs(5), "x", check));
        let wrong_host = format!("GET /callback HTTP/1.1\r\nHost: evil.example:{port}\r\n");
        let pages = [
            get(port, "/favicon.ico").await,
            get(port, "/callback?code=x&state=wrong").await,
            request(port, &wrong_host).await,
            get(port, "/callback?code=c&state=s1").await,
        ];
        for (status, page) in pages {
            let head = page.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
            for header in [
                "content-security-policy: default-src 'none'; style-src 'unsafe-inline';",
                "x-content-type-options: nosniff",
                "cache-control: no-store",
                "referrer-policy: no-referrer",
                "x-frame-options: deny",
            ] {
                assert!(head.contains(header), "HTTP {status} lacks {header}:\n{head}");
            }
        }
        task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_wait_until_one_ends() {
        let l = Listener::bind(None).await.unwrap();
        let port = l.port();
        let task = tokio::spawn(l.wait(Duration::from_secs(20), "x", check));
        // A local process opens connections and sends nothing.
        let mut idle = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            idle.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut late = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        late.write_all(
            format!("GET /callback?code=c&state=s1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut buf = [0u8; 12];
        assert!(
            tokio::time::timeout(Duration::from_millis(500), late.read_exact(&mut buf))
                .await
                .is_err(),
            "connection {} was served while {MAX_CONNECTIONS} were open",
            MAX_CONNECTIONS + 1
        );
        assert!(!task.is_finished());
        // One idle connection ends: the waiting one is served.
        drop(idle.pop());
        tokio::time::timeout(Duration::from_secs(5), late.read_exact(&mut buf))
            .await
            .expect("served once a slot is free")
            .unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
        assert_eq!(task.await.unwrap().unwrap(), "c");
    }

    #[test]
    fn a_failing_accept_is_retried_after_a_pause_not_in_a_busy_loop() {
        // EMFILE: the process is out of file descriptors. The loop runs on a
        // thread of its own, so a busy loop shows as a count (and cannot
        // stop the test from ending).
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let accept = || {
                counted.fetch_add(1, Ordering::Relaxed);
                std::future::ready(Err(std::io::Error::from_raw_os_error(24)))
            };
            let result = rt.block_on(serve(accept, 1, None, Duration::from_millis(500), "x", check));
            let _ = done_tx.send(result.map_err(|e| e.to_string()));
        });
        let result = done_rx.recv_timeout(Duration::from_secs(3));
        let n = calls.load(Ordering::Relaxed);
        // 10, 20, 40, 80, 160, 320 ms: 6 or 7 tries in half a second.
        assert!(n <= 10, "accept() was called {n} times in 0.5 s");
        let e = result.expect("the wait still ends at its deadline").unwrap_err();
        assert!(e.contains("within 0 s"), "{e}");
    }

    #[tokio::test]
    async fn a_preferred_port_in_use_falls_back_to_another() {
        let first = Listener::bind(None).await.unwrap();
        let second = Listener::bind(Some(first.port())).await.unwrap();
        assert_ne!(second.port(), first.port());
        assert!(Listener::bind_exact(first.port()).await.is_err());
    }
}
