//! A fake HTTP server of fixed answers, by method and path (a route table
//! over `FakeServer`), every request recorded: for the OAuth modules' unit
//! tests, which show one misconfigured or malicious server's answer at a
//! time. Not a real authorization server (tests/e2e runs those).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::CONTENT_TYPE;
use hyper::{Response, StatusCode};

use super::http::{FakeServer, Seen};
use crate::sync::lock;

/// One answer: for `method` and `path` (without the query), `status` and
/// `body`.
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
    /// A GET answered with JSON.
    pub fn get(path: &str, body: serde_json::Value) -> Self {
        Self::post(path, 200, body).with_method("GET")
    }

    /// A POST answered with `status` and JSON.
    pub fn post(path: &str, status: u16, body: serde_json::Value) -> Self {
        Self::post_raw(path, status, &body.to_string())
    }

    /// A POST answered with `status` and `body` as it is (labelled JSON,
    /// whatever it holds, as a careless server labels it).
    pub fn post_raw(path: &str, status: u16, body: &str) -> Self {
        Self {
            method: "POST",
            path: path.to_owned(),
            when_body_has: None,
            status,
            body: body.to_owned(),
        }
    }

    fn with_method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }

    /// The same answer, only for a request whose body contains `text`.
    pub fn when_body_has(mut self, text: &str) -> Self {
        self.when_body_has = Some(text.to_owned());
        self
    }

    fn answers(&self, seen: &Seen) -> bool {
        let path = seen.target.split('?').next().unwrap_or_default();
        self.method == seen.method.as_str()
            && self.path == path
            && self
                .when_body_has
                .as_ref()
                .is_none_or(|t| String::from_utf8_lossy(&seen.body).contains(t.as_str()))
    }
}

/// A running fake: its base URL (`http://127.0.0.1:<port>`) and what it saw.
pub struct FakeRoutes {
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    _server: FakeServer,
}

impl FakeRoutes {
    /// Serves `routes` until dropped; anything else is a 404.
    pub async fn start(routes: Vec<Route>) -> Self {
        Self::start_with(|_| routes).await
    }

    /// Serves the routes `routes(base)` makes, for answers that name the
    /// fake's own URL. The port is taken first, so the answers can name it.
    pub async fn start_with(routes: impl FnOnce(&str) -> Vec<Route>) -> Self {
        let table: Arc<Mutex<Vec<Route>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (t, log) = (table.clone(), seen.clone());
        let server = FakeServer::start(move |req: Seen| {
            let route = lock(&t).iter().find(|r| r.answers(&req)).cloned();
            lock(&log).push(req);
            async move {
                let (status, body) = route.map_or((404, String::new()), |r| (r.status, r.body));
                Response::builder()
                    .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
                    .header(CONTENT_TYPE, "application/json")
                    .body(Full::new(Bytes::from(body)).boxed())
                    .expect("a response")
            }
        })
        .await;
        let base = server.origin();
        *lock(&table) = routes(&base);
        Self {
            base,
            seen,
            _server: server,
        }
    }

    /// How many requests went to `path`.
    pub fn hits(&self, path: &str) -> usize {
        lock(&self.seen)
            .iter()
            .filter(|s| s.target.split('?').next() == Some(path))
            .count()
    }
}
