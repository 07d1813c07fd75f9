//! The 401 a client gets without a token: its `WWW-Authenticate` challenge
//! (RFC 9110 §11.6.1, RFC 6750 §3), the `resource_metadata` parameter that
//! leads to the protected resource metadata (RFC 9728 §5.1), its body (an API
//! answer, not a login page), and whether a browser-based client may read
//! the challenge (CORS, seed 001).

use super::{BROWSER_UA, Doctor, Unauthorized, header, html_title, is_html};
use crate::auth::challenge::{self, Challenge};
use crate::doctor::catalogue::{
    AUTH_BEARER, AUTH_HTML_401, AUTH_RESOURCE_METADATA, AUTH_WWW_AUTHENTICATE, CORS_EXPOSE_WWW_AUTHENTICATE,
};

impl Doctor<'_> {
    pub(super) fn challenge(&mut self, refusal: &Unauthorized) -> Option<Challenge> {
        let values: Vec<String> = refusal
            .headers
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let parsed = if values.is_empty() {
            self.push(AUTH_WWW_AUTHENTICATE.error("HTTP 401 without a WWW-Authenticate header"));
            self.push(AUTH_BEARER.skipped("no challenge"));
            self.push(AUTH_RESOURCE_METADATA.skipped("no challenge"));
            None
        } else {
            self.push(AUTH_WWW_AUTHENTICATE.ok(values.join(" | ")));
            match challenge::parse(values.iter().map(String::as_str)) {
                None => {
                    self.push(AUTH_BEARER.error(format!("the challenge is not Bearer: {}", values.join(" | "))));
                    self.push(AUTH_RESOURCE_METADATA.skipped("no Bearer challenge"));
                    None
                }
                Some(c) => {
                    self.push(AUTH_BEARER.ok("Bearer"));
                    match &c.resource_metadata {
                        Some(u) => self.push(AUTH_RESOURCE_METADATA.ok(u.clone())),
                        None => self.push(AUTH_RESOURCE_METADATA.warning(
                            "no resource_metadata parameter: clients must guess the well-known URLs, and clients of the 2025-06-18 revision only follow the challenge",
                        )),
                    }
                    Some(c)
                }
            }
        };
        self.body_of_401(refusal);
        parsed
    }

    /// A 401 whose body is a web page: a login layer answered for the MCP
    /// endpoint (or a framework's login redirect target), not the server's
    /// OAuth middleware.
    fn body_of_401(&mut self, refusal: &Unauthorized) {
        let body = refusal.body.trim();
        if is_html(&refusal.content_type, body) {
            self.push(AUTH_HTML_401.warning(format!(
                "the 401's body is an HTML page (\"{}\", {}): a web login layer seems to answer for the MCP endpoint",
                html_title(body),
                if refusal.content_type.is_empty() {
                    "no content type"
                } else {
                    refusal.content_type.as_str()
                }
            )));
        } else if body.is_empty() {
            self.push(AUTH_HTML_401.ok("no body"));
        } else {
            let ct = if refusal.content_type.is_empty() {
                "no content type".to_owned()
            } else {
                refusal.content_type.clone()
            };
            self.push(AUTH_HTML_401.ok(format!("a {} byte body ({ct})", body.len())));
        }
    }

    /// What a browser-based client sees of the 401.
    pub(super) async fn cors_on_401(&mut self) {
        let Ok((resp, _)) = self
            .post_initialize("2025-11-25", Some(BROWSER_UA), Some("https://claude.ai"), false)
            .await
        else {
            self.push(CORS_EXPOSE_WWW_AUTHENTICATE.skipped("the request with an Origin failed"));
            return;
        };
        let h = resp.headers();
        let allow = header(h, "access-control-allow-origin");
        let expose = header(h, "access-control-expose-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let f = match (resp.status().as_u16(), allow) {
            (403, _) => CORS_EXPOSE_WWW_AUTHENTICATE.ok("the MCP endpoint refuses foreign origins (as MCP asks servers to); browser clients on other origins cannot use it"),
            (_, None) => CORS_EXPOSE_WWW_AUTHENTICATE.ok("the MCP endpoint sends no CORS headers: desktop clients are unaffected, browser-based ones cannot call it"),
            (_, Some(_)) if expose.contains("www-authenticate") || expose.trim() == "*" => {
                CORS_EXPOSE_WWW_AUTHENTICATE.ok(format!("Access-Control-Expose-Headers: {expose}"))
            }
            (_, Some(_)) => CORS_EXPOSE_WWW_AUTHENTICATE.warning(format!(
                "CORS is on, but Access-Control-Expose-Headers ({}) lacks WWW-Authenticate",
                if expose.is_empty() { "absent" } else { &expose }
            )),
        };
        self.push(f);
    }
}
