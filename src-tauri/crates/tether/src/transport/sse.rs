//! Server-Sent Events from an HTTP response, bounded in size and time.
//!
//! Both transports read SSE: Streamable HTTP for POST responses and the GET
//! stream (MCP 2025-11-25 §"Sending Messages to the Server", §"Listening for
//! Messages from the Server"), HTTP+SSE for its one long stream (2024-11-05).
//! Parsing follows the WHATWG EventSource rules through the `sse-stream`
//! crate; this module adds what a bridge needs on top: an event larger than
//! the message limit is an error rather than unbounded memory, a silent
//! stream times out, the `id` and `retry` fields are remembered for
//! resumption with `Last-Event-ID`, and every stream of one bridge draws on
//! one memory [`Budget`]: many streams each just under the message limit
//! cannot add up to more than the bridge allows.

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

/// Why a stream was cut: its event outgrew the message limit or the bridge's
/// budget.
const TOO_LARGE: &str = "an event larger than the message limit or the bridge's budget";

/// The bytes a bridge may hold in events not yet complete, across all its
/// streams at once.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    held: AtomicUsize,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            held: AtomicUsize::new(0),
        })
    }

    /// Takes `n` bytes; false (and nothing taken) when that would exceed the
    /// budget.
    fn take(&self, n: usize) -> bool {
        let mut cur = self.held.load(Ordering::Relaxed);
        loop {
            if cur + n > self.limit {
                return false;
            }
            match self
                .held
                .compare_exchange_weak(cur, cur + n, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
    }

    fn give_back(&self, n: usize) {
        self.held.fetch_sub(n, Ordering::AcqRel);
    }

    /// The bytes held now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

/// A bounded reader of events.
pub struct Events {
    inner: SseByteStream<ByteStream>,
    since_event: Arc<AtomicUsize>,
    budget: Arc<Budget>,
    activity: Arc<AtomicU64>,
    idle: Option<Duration>,
    /// The last event id seen on this stream, for `Last-Event-ID`.
    pub last_id: Option<String>,
    /// The last `retry` the server asked for.
    pub retry: Option<Duration>,
}

impl Events {
    /// Reads events from `resp`: one event at most `limit` bytes, all the
    /// bridge's pending events together at most its `budget`. With `idle`
    /// set, a stream silent for that long ends with [`StreamEnd::Idle`].
    pub fn new(resp: Response, limit: usize, budget: &Arc<Budget>, idle: Option<Duration>) -> Self {
        Self::from_stream(
            Box::pin(resp.bytes_stream().map_err(std::io::Error::other)),
            limit,
            budget.clone(),
            idle,
        )
    }

    /// Reads events from any stream of chunks (the fuzz target's entry point;
    /// [`Events::new`] for an HTTP response).
    pub fn from_stream(stream: ByteStream, limit: usize, budget: Arc<Budget>, idle: Option<Duration>) -> Self {
        let since_event = Arc::new(AtomicUsize::new(0));
        let counter = since_event.clone();
        let activity = Arc::new(AtomicU64::new(0));
        let reads = activity.clone();
        let pool = budget.clone();
        // Counts bytes read since the last event: a single event can be no
        // larger than the limit plus one network read, and the bytes are
        // drawn from the bridge's budget until the event is complete. Every
        // read also counts as a sign of life, so SSE comments (`:
        // keep-alive`) keep a long operation from timing out.
        let counted: ByteStream = Box::pin(stream.and_then(move |chunk| {
            reads.fetch_add(1, Ordering::Relaxed);
            let total = counter.load(Ordering::Relaxed) + chunk.len();
            std::future::ready(if total > limit || !pool.take(chunk.len()) {
                Err(std::io::Error::other(TOO_LARGE))
            } else {
                counter.fetch_add(chunk.len(), Ordering::Relaxed);
                Ok(chunk)
            })
        }));
        Self {
            inner: SseByteStream::new(counted),
            since_event,
            budget,
            activity,
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
                    self.budget.give_back(self.since_event.swap(0, Ordering::Relaxed));
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
                Some(Err(e)) if e.to_string().contains(TOO_LARGE) => return Err(StreamEnd::TooLarge),
                Some(Err(_)) | None => return Err(StreamEnd::Closed),
            }
        }
    }
}

impl Drop for Events {
    /// An event never completed gives its bytes back.
    fn drop(&mut self) {
        self.budget.give_back(self.since_event.swap(0, Ordering::Relaxed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: Vec<&'static str>, limit: usize) -> Events {
        let s = futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c.as_bytes()))));
        Events::from_stream(Box::pin(s), limit, Budget::new(1 << 20), None)
    }

    #[tokio::test]
    async fn streams_that_together_hold_more_than_the_budget_are_cut() {
        // Two streams, each under the message limit, each in the middle of
        // an event: together they may not hold more than the bridge's budget.
        let budget = Budget::new(100);
        let part = |n: usize| Ok::<_, std::io::Error>(Bytes::from(format!("data: {}", "x".repeat(n))));
        let a = futures_util::stream::iter(vec![part(60)]).chain(futures_util::stream::pending());
        let mut first = Events::from_stream(Box::pin(a), 1000, budget.clone(), Some(Duration::from_millis(200)));
        assert!(
            matches!(first.next().await, Err(StreamEnd::Idle)),
            "half an event, then silence"
        );
        assert!(budget.held() >= 60);
        let b = futures_util::stream::iter(vec![part(60)]);
        let mut second = Events::from_stream(Box::pin(b), 1000, budget.clone(), None);
        assert!(
            matches!(second.next().await, Err(StreamEnd::TooLarge)),
            "over the budget"
        );
        drop(first);
        drop(second);
        assert_eq!(budget.held(), 0, "a stream gives its bytes back when dropped");
    }

    #[tokio::test]
    async fn a_completed_event_gives_its_bytes_back() {
        let budget = Budget::new(100);
        let s = futures_util::stream::iter(
            ["data: 1234567890\n\n", "data: abcdefghij\n\n"].map(|c| Ok(Bytes::from_static(c.as_bytes()))),
        );
        let mut ev = Events::from_stream(Box::pin(s), 1000, budget.clone(), None);
        assert_eq!(ev.next().await.unwrap().data, "1234567890");
        assert_eq!(ev.next().await.unwrap().data, "abcdefghij");
        assert!(budget.held() < 30, "only the bytes of an event under way are held");
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
        let mut ev = Events::from_stream(Box::pin(s), 1024, Budget::new(1 << 20), Some(Duration::from_secs(5)));
        assert_eq!(ev.next().await.unwrap().data, "late");
        assert!(matches!(ev.next().await, Err(StreamEnd::Idle)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_stream_ends_as_idle() {
        let s = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
        let mut ev = Events::from_stream(Box::pin(s), 1024, Budget::new(1 << 20), Some(Duration::from_secs(5)));
        assert!(matches!(ev.next().await, Err(StreamEnd::Idle)));
    }
}
