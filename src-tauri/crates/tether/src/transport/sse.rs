//! Server-Sent Events from an HTTP response, bounded in size and time.
//!
//! Both transports read SSE: Streamable HTTP for POST responses and the GET
//! stream (MCP 2025-11-25 §"Sending Messages to the Server", §"Listening for
//! Messages from the Server"), HTTP+SSE for its one long stream (2024-11-05).
//! Parsing follows the WHATWG EventSource rules through the `sse-stream`
//! crate; this module adds what a bridge needs on top: an event larger than
//! the message limit is an error rather than unbounded memory, a silent
//! stream times out, and the `id` and `retry` fields are remembered for
//! resumption with `Last-Event-ID`.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use reqwest::Response;
use sse_stream::SseByteStream;

/// The body of an HTTP response as a stream of chunks.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// One event as the bridge uses it.
#[derive(Debug, PartialEq, Eq)]
pub struct Event {
    /// The `event` field; `None` means the default type, `message`.
    pub kind: Option<String>,
    /// The `data` field (lines joined with LF), possibly empty.
    pub data: String,
}

impl Event {
    /// Whether this event carries a JSON-RPC message (type `message`, with
    /// data). A priming event has an id and empty data (SEP-1699) and is not
    /// dispatched.
    pub fn is_message(&self) -> bool {
        matches!(self.kind.as_deref(), None | Some("message")) && !self.data.trim().is_empty()
    }
}

/// How reading a stream ended.
#[derive(Debug)]
pub enum StreamEnd {
    /// The server closed the stream (or the connection broke).
    Closed,
    /// No event within the idle timeout.
    Idle,
    /// An event grew past the message limit.
    TooLarge,
}

/// A bounded reader of events.
pub struct Events {
    inner: SseByteStream<ByteStream>,
    since_event: Arc<AtomicUsize>,
    activity: Arc<AtomicU64>,
    limit: usize,
    idle: Option<Duration>,
    /// The last event id seen on this stream, for `Last-Event-ID`.
    pub last_id: Option<String>,
    /// The last `retry` the server asked for.
    pub retry: Option<Duration>,
}

impl Events {
    /// Reads events from `resp`. With `idle` set, a stream silent for that
    /// long ends with [`StreamEnd::Idle`].
    pub fn new(resp: Response, limit: usize, idle: Option<Duration>) -> Self {
        Self::from_stream(
            Box::pin(resp.bytes_stream().map_err(std::io::Error::other)),
            limit,
            idle,
        )
    }

    /// Reads events from any stream of chunks (the fuzz target's entry point;
    /// [`Events::new`] for an HTTP response).
    pub fn from_stream(stream: ByteStream, limit: usize, idle: Option<Duration>) -> Self {
        let since_event = Arc::new(AtomicUsize::new(0));
        let counter = since_event.clone();
        let activity = Arc::new(AtomicU64::new(0));
        let reads = activity.clone();
        // Counts bytes read since the last event: a single event can be no
        // larger than the limit plus one network read. Every read also
        // counts as a sign of life, so SSE comments (`: keep-alive`) keep a
        // long operation from timing out.
        let counted: ByteStream = Box::pin(stream.and_then(move |chunk| {
            reads.fetch_add(1, Ordering::Relaxed);
            let total = counter.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len();
            std::future::ready(if total > limit {
                Err(std::io::Error::other("event larger than the message limit"))
            } else {
                Ok(chunk)
            })
        }));
        Self {
            inner: SseByteStream::new(counted),
            since_event,
            activity,
            limit,
            idle,
            last_id: None,
            retry: None,
        }
    }

    /// Changes the idle timeout for the rest of the stream.
    pub fn set_idle(&mut self, idle: Duration) {
        self.idle = Some(idle);
    }

    /// The next event, or why the stream ended.
    pub async fn next(&mut self) -> Result<Event, StreamEnd> {
        loop {
            let item = match self.idle {
                Some(idle) => {
                    let mut next = self.inner.next();
                    loop {
                        let reads = self.activity.load(Ordering::Relaxed);
                        match tokio::time::timeout(idle, &mut next).await {
                            Ok(item) => break item,
                            Err(_) if self.activity.load(Ordering::Relaxed) == reads => return Err(StreamEnd::Idle),
                            Err(_) => continue, // bytes came (comments): still alive
                        }
                    }
                }
                None => self.inner.next().await,
            };
            match item {
                Some(Ok(sse)) => {
                    self.since_event.store(0, Ordering::Relaxed);
                    if let Some(id) = sse.id {
                        self.last_id = Some(id);
                    }
                    if let Some(ms) = sse.retry {
                        self.retry = Some(Duration::from_millis(ms));
                    }
                    if sse.data.is_none() && sse.event.is_none() {
                        continue; // an id- or retry-only block
                    }
                    return Ok(Event {
                        kind: sse.event,
                        data: sse.data.unwrap_or_default(),
                    });
                }
                Some(Err(_)) | None => {
                    if self.since_event.load(Ordering::Relaxed) > self.limit {
                        return Err(StreamEnd::TooLarge);
                    }
                    return Err(StreamEnd::Closed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: Vec<&'static str>, limit: usize) -> Events {
        let s = futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c.as_bytes()))));
        Events::from_stream(Box::pin(s), limit, None)
    }

    #[tokio::test]
    async fn events_split_across_reads_are_joined_and_ids_and_retry_are_kept() {
        let mut ev = events(
            vec![
                "id: 0\nretry: 1500\ndata:\n\n",
                "event: message\nid: 7\nda",
                "ta: {\"a\":\ndata: 1}\n\n",
            ],
            1 << 20,
        );
        let priming = ev.next().await.unwrap();
        assert!(!priming.is_message());
        assert_eq!(ev.last_id.as_deref(), Some("0"));
        assert_eq!(ev.retry, Some(Duration::from_millis(1500)));
        let e = ev.next().await.unwrap();
        assert_eq!(
            e,
            Event {
                kind: Some("message".into()),
                data: "{\"a\":\n1}".into()
            }
        );
        assert!(e.is_message());
        assert_eq!(ev.last_id.as_deref(), Some("7"));
        assert!(matches!(ev.next().await, Err(StreamEnd::Closed)));
    }

    #[tokio::test]
    async fn an_event_larger_than_the_limit_ends_the_stream_as_too_large() {
        let mut ev = events(
            vec!["data: small\n\n", "data: 0123456789", "0123456789", "0123456789\n\n"],
            16,
        );
        assert_eq!(ev.next().await.unwrap().data, "small");
        assert!(matches!(ev.next().await, Err(StreamEnd::TooLarge)));
    }

    #[tokio::test]
    async fn an_endpoint_event_is_not_a_message() {
        let mut ev = events(vec!["event: endpoint\ndata: /messages?sessionId=1\n\n"], 1024);
        let e = ev.next().await.unwrap();
        assert_eq!(e.kind.as_deref(), Some("endpoint"));
        assert!(!e.is_message());
    }

    #[tokio::test(start_paused = true)]
    async fn comments_keep_a_stream_alive_past_the_idle_timeout() {
        let s = futures_util::stream::unfold(0u32, |n| async move {
            if n == 6 {
                return Some((Ok(Bytes::from_static(b"data: late\n\n")), n + 1));
            }
            if n > 6 {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            Some((Ok(Bytes::from_static(b": keep-alive\n\n")), n + 1))
        });
        let mut ev = Events::from_stream(Box::pin(s), 1024, Some(Duration::from_secs(5)));
        assert_eq!(ev.next().await.unwrap().data, "late");
        assert!(matches!(ev.next().await, Err(StreamEnd::Idle)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_stream_ends_as_idle() {
        let s = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
        let mut ev = Events::from_stream(Box::pin(s), 1024, Some(Duration::from_secs(5)));
        assert!(matches!(ev.next().await, Err(StreamEnd::Idle)));
    }
}
