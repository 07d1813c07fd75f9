//! A fake HTTP server for the unit tests of the OAuth modules: fixed
//! answers by method and path, every request recorded. Not a real
//! authorization server (tests/e2e runs those): it shows one answer at a
//! time, as a misconfigured or malicious server would give it.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::sync::lock;

/// A request the fake saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub body: String,
}

/// One answer: for `method` and `path` (without the query), `status` and a
/// JSON `body`.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: &'static str,
    pub path: String,
    /// Only for a request whose body contains this.
    pub when_body_has: Option<String>,
    pub status: u16,
    pub body: String,
}

impl Route {
    pub fn get(path: &str, body: serde_json::Value) -> Self {
        Self {
            method: "GET",
            path: path.to_owned(),
            when_body_has: None,
            status: 200,
            body: body.to_string(),
        }
    }

    pub fn post(path: &str, status: u16, body: serde_json::Value) -> Self {
        Self {
            method: "POST",
            path: path.to_owned(),
            when_body_has: None,
            status,
            body: body.to_string(),
        }
    }

    /// The same answer, only for a request whose body contains `text`.
    pub fn when_body_has(mut self, text: &str) -> Self {
        self.when_body_has = Some(text.to_owned());
        self
    }
}

/// A running fake: its base URL (`http://127.0.0.1:<port>`) and what it saw.
pub struct FakeHttp {
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeHttp {
    /// Serves `routes` until the test ends; anything else is a 404.
    pub async fn start(routes: Vec<Route>) -> Self {
        Self::start_with(|_| routes).await
    }

    /// Serves the routes `routes(base)` makes, for answers that name the
    /// fake's own URL.
    pub async fn start_with(routes: impl FnOnce(&str) -> Vec<Route>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let routes = routes(&base);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let routes = routes.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut stream).await else {
                        return;
                    };
                    let route = routes.iter().find(|r| {
                        r.method == req.method
                            && r.path == req.path
                            && r.when_body_has.as_ref().is_none_or(|t| req.body.contains(t.as_str()))
                    });
                    lock(&log).push(req);
                    let (status, body) = route.map_or((404, String::new()), |r| (r.status, r.body.clone()));
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                });
            }
        });
        Self { base, seen }
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.seen).clone()
    }

    /// How many requests went to `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_owned();
    let target = first.next()?;
    let path = target.split('?').next().unwrap_or(target).to_owned();
    let len: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    Some(Seen { method, path, body })
}
