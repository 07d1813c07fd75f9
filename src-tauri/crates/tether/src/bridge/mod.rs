//! The stdio side: Claude Desktop's pipe in, the remote server out.
//!
//! Owns the life of one bridge process: it reads the client's lines
//! ([`framing`]), answers a malformed one itself (JSON-RPC 2.0 §5.1: -32700
//! for a line that is not JSON, -32600 for one that is not a request) and keeps
//! serving, hands every valid message to the [`Remote`] without changing a
//! byte, and shuts down the way MCP's stdio transport expects (2025-11-25
//! §"Lifecycle: Shutdown"): at end of input, SIGTERM or SIGINT it ends the
//! remote session with DELETE and exits 0.

pub mod framing;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::auth::TokenSource;
use crate::config::RunConfig;
use crate::jsonrpc::{self, INVALID_REQUEST};
use crate::transport::http::{Http, TransportError};
use crate::transport::replies::Replies;
use crate::transport::{EraMemory, InitializeCache, Remote};
use framing::Line;

/// After end of input, how long requests in flight may still finish: their
/// answers can still be written if the client reads on.
const EOF_GRACE: Duration = Duration::from_secs(2);
/// How long the last lines may take to reach stdout.
const FLUSH_GRACE: Duration = Duration::from_secs(1);

/// Why the bridge stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    EndOfInput,
    Signal(&'static str),
    OutputClosed,
    InputError,
}

/// Runs the bridge on this process's stdin and stdout until the client goes
/// away. Returns why it stopped. `era` remembers which MCP era the server
/// speaks, across starts.
pub async fn run(
    config: RunConfig,
    auth: Option<Arc<dyn TokenSource>>,
    cache: Option<Arc<dyn InitializeCache>>,
    era: Option<Arc<dyn EraMemory>>,
) -> Result<Stop, TransportError> {
    let (input, output) = framing::stdio();
    run_on(config, auth, cache, era, input, output).await
}

/// Runs the bridge on `input` and `output` (the client's side of the
/// stdio transport), as [`run`] does on stdin and stdout.
pub async fn run_on(
    config: RunConfig,
    auth: Option<Arc<dyn TokenSource>>,
    cache: Option<Arc<dyn InitializeCache>>,
    era: Option<Arc<dyn EraMemory>>,
    input: framing::Input,
    output: framing::Output,
) -> Result<Stop, TransportError> {
    let http = Arc::new(Http::new(&config, auth)?);
    info!(url = http.shown_url(), transport = ?config.transport, protocol = ?config.protocol, "bridge started");

    let (out_tx, out_rx) = mpsc::channel::<Bytes>(256);
    let (writer_done_tx, mut writer_done) = oneshot::channel();
    tokio::spawn(framing::write_lines(output, out_rx, writer_done_tx));
    let replies = Arc::new(Replies::new(out_tx.clone()));
    let remote = Remote::with_era(
        http,
        replies.clone(),
        config.transport,
        cache,
        config.sign_in_wait,
        config.protocol,
        era,
    );

    let (in_tx, mut input_lines) = mpsc::channel(64);
    tokio::spawn(framing::read_lines(input, config.max_message_size, in_tx));
    let mut signals = Signals::new();

    let stop = loop {
        tokio::select! {
            line = input_lines.recv() => match line {
                Some(Ok(Line::Message(bytes))) => match jsonrpc::parse(bytes) {
                    Ok(msg) => {
                        if msg.method() == Some("notifications/cancelled") {
                            // The client gave up on a request: stop waiting
                            // for it, and let the server know.
                            if let Some(id) = jsonrpc::cancelled_request(&msg.bytes) {
                                replies.cancel(&id);
                            }
                        }
                        let awaiting = replies.register(&msg);
                        remote.dispatch(msg, awaiting);
                    }
                    Err(rejection) => {
                        warn!(reason = %rejection.reason, "answered a malformed line from the client with an error");
                        replies.write(rejection.reply).await;
                    }
                },
                Some(Ok(Line::TooLong { len, head })) => {
                    let id = jsonrpc::scan_id(&head);
                    warn!(len, id = ?id, "answered an oversized message from the client with an error");
                    let message = format!(
                        "Invalid Request: the message of {len} bytes exceeds the limit of {} bytes (--max-message-size)",
                        config.max_message_size
                    );
                    replies.write(jsonrpc::error_reply(id.as_ref(), INVALID_REQUEST, &message, None)).await;
                }
                Some(Err(e)) => {
                    warn!(error = %e, "reading stdin failed");
                    break Stop::InputError;
                }
                None => break Stop::EndOfInput,
            },
            name = signals.recv() => break Stop::Signal(name),
            _ = &mut writer_done => break Stop::OutputClosed,
        }
    };
    info!(?stop, "shutting down");

    if stop == Stop::EndOfInput && remote.busy() {
        debug!(pending = replies.pending(), "waiting for messages in flight");
        let _ = tokio::time::timeout(EOF_GRACE, remote.idle()).await;
    }
    remote.close().await;
    // An empty message tells the writer to flush and stop.
    let _ = out_tx.send(Bytes::new()).await;
    let _ = tokio::time::timeout(FLUSH_GRACE, writer_done).await;
    Ok(stop)
}

/// SIGTERM and SIGINT (Ctrl-C; the console close event on Windows).
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        Self {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            let term = async {
                match &mut self.term {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = term => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
