//! Where Tether keeps what it learns: secrets in the OS keychain
//! ([`secrets`]), everything else in small JSON files ([`files`], [`state`]),
//! cross-process locks so that several bridges and the app agree
//! ([`lock`]), and the sign-in attempts of every process ([`sign_in`]).

pub mod bound;
pub mod files;
pub mod keys;
pub mod lock;
pub mod oauth;
pub mod secrets;
pub mod sign_in;
pub mod state;
