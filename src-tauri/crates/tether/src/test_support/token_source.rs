//! A fake [`TokenSource`]: the transport's seam to authorization, without
//! any OAuth behind it.
//!
//! It hands out tokens from a list, one at a time: the first is current;
//! after a 401 (`unauthorized`) it moves to the next and says `Retry`, or,
//! when made to require sign-in (or when the list is used up), says
//! `SignInRequired`; `sign_in` then moves to the next token. It counts every
//! call and records the tokens the transport said were rejected and the
//! challenges it passed on, so a test can assert on the conversation.

use std::sync::Mutex;

use futures_util::future::BoxFuture;

use crate::auth::{AccessToken, AfterUnauthorized, AuthError, TokenSource};
use crate::sync::lock;

#[derive(Default)]
struct Inner {
    tokens: Vec<String>,
    at: usize,
    needs_sign_in: bool,
    sign_in_fails: bool,
    token_calls: usize,
    unauthorized_calls: usize,
    sign_in_calls: usize,
    rejected: Vec<Option<String>>,
    challenges: Vec<Option<String>>,
}

/// The fake source.
#[derive(Default)]
pub struct FakeTokenSource {
    inner: Mutex<Inner>,
}

impl FakeTokenSource {
    /// A source whose tokens are `tokens`, the first one current.
    pub fn new(tokens: &[&str]) -> Self {
        Self {
            inner: Mutex::new(Inner {
                tokens: tokens.iter().map(|s| (*s).to_owned()).collect(),
                ..Default::default()
            }),
        }
    }

    /// Makes a 401 need a sign-in rather than a quiet renewal.
    pub fn require_sign_in(self) -> Self {
        lock(&self.inner).needs_sign_in = true;
        self
    }

    /// Makes every sign-in fail.
    pub fn failing_sign_in(self) -> Self {
        lock(&self.inner).sign_in_fails = true;
        self
    }

    /// How many times `token`, `unauthorized` and `sign_in` were called.
    pub fn calls(&self) -> (usize, usize, usize) {
        let i = lock(&self.inner);
        (i.token_calls, i.unauthorized_calls, i.sign_in_calls)
    }

    /// The tokens the transport reported as rejected, in order.
    pub fn rejected(&self) -> Vec<Option<String>> {
        lock(&self.inner).rejected.clone()
    }

    /// The challenges the transport passed on, in order.
    pub fn challenges(&self) -> Vec<Option<String>> {
        lock(&self.inner).challenges.clone()
    }

    fn current(i: &Inner) -> Option<AccessToken> {
        i.tokens.get(i.at).map(AccessToken::new)
    }
}

impl TokenSource for FakeTokenSource {
    fn token(&self) -> BoxFuture<'_, Result<Option<AccessToken>, AuthError>> {
        let mut i = lock(&self.inner);
        i.token_calls += 1;
        let t = Self::current(&i);
        Box::pin(async move { Ok(t) })
    }

    fn unauthorized<'a>(
        &'a self,
        challenge: Option<&'a str>,
        rejected: Option<&'a AccessToken>,
    ) -> BoxFuture<'a, Result<AfterUnauthorized, AuthError>> {
        let mut i = lock(&self.inner);
        i.unauthorized_calls += 1;
        i.rejected.push(rejected.map(|t| t.secret().to_owned()));
        i.challenges.push(challenge.map(str::to_owned));
        let next = if i.needs_sign_in || i.at + 1 >= i.tokens.len() {
            AfterUnauthorized::SignInRequired
        } else {
            i.at += 1;
            AfterUnauthorized::Retry
        };
        Box::pin(async move { Ok(next) })
    }

    fn sign_in(&self) -> BoxFuture<'static, Result<(), AuthError>> {
        let mut i = lock(&self.inner);
        i.sign_in_calls += 1;
        let result = if i.sign_in_fails {
            Err(AuthError::Denied("the fake authorization server said no".into()))
        } else {
            i.at = (i.at + 1).min(i.tokens.len().saturating_sub(1));
            i.needs_sign_in = false;
            Ok(())
        };
        Box::pin(async move { result })
    }

    fn label(&self) -> String {
        "fake".into()
    }
}
