//! The SSE reader (`tether::transport::sse::Events`, over the `sse-stream`
//! crate): what a remote MCP server sends on a POST response or the GET
//! stream, cut into network reads anywhere.
//!
//! The input is `[chunking][limit][bytes…]`. The events read are compared
//! with a reference parser written from the WHATWG rules ("Interpreting an
//! event stream": lines end in CRLF, LF or CR; a leading BOM is dropped; an
//! empty line dispatches; `data` lines join with LF; one leading space is
//! removed from a value; `id` with NUL is ignored; `retry` takes digits
//! only; an unfinished last block is dropped) plus the crate's stricter
//! UTF-8 rule (a recognised field that is not UTF-8 ends the stream). So:
//! - with no size limit, the events, the last event id and the retry delay
//!   are the reference's, however the bytes were cut (a CR at the end of one
//!   read and an LF at the start of the next are one line ending);
//! - with a limit, the events read are the reference's first ones, none
//!   larger than the limit plus one read, and reading stops as too large
//!   only after more than the limit has come without an event.

#![no_main]

use std::time::Duration;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tether::transport::sse::{Budget, Event, Events, StreamEnd};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap())
}

struct Read {
    events: Vec<Event>,
    end: StreamEnd,
    last_id: Option<String>,
    retry: Option<Duration>,
}

fn read(chunks: Vec<Bytes>, limit: usize) -> Read {
    let stream = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    // A budget of its own, larger than any one event: the per-event limit is
    // what is checked here.
    let mut ev = Events::from_stream(Box::pin(stream), limit, Budget::new(usize::MAX / 2), None);
    runtime().block_on(async {
        let mut events = Vec::new();
        let end = loop {
            match ev.next().await {
                Ok(e) => events.push(e),
                Err(end) => break end,
            }
        };
        Read {
            events,
            end,
            last_id: ev.last_id.clone(),
            retry: ev.retry,
        }
    })
}

/// What a stream means, by the WHATWG rules (raw blocks, as `Events` sees
/// them: id- and retry-only blocks are not events but still count).
#[derive(Debug, Default)]
struct Reference {
    events: Vec<Event>,
    last_id: Option<String>,
    retry: Option<u64>,
}

fn reference(mut input: &[u8]) -> Reference {
    let mut out = Reference::default();
    input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let (mut event, mut data, mut id, mut retry): (Option<String>, Option<String>, Option<String>, Option<u64>) =
        (None, None, None, None);
    let mut has_fields = false;
    loop {
        // A line ends at CRLF, LF or CR; an unterminated last line is dropped.
        let Some(end) = input.iter().position(|b| *b == b'\n' || *b == b'\r') else {
            return out;
        };
        let line = &input[..end];
        let skip = if input[end] == b'\r' && input.get(end + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        input = &input[end + skip..];
        if line.is_empty() {
            if has_fields {
                if let Some(i) = id.take() {
                    out.last_id = Some(i);
                }
                if let Some(r) = retry.take() {
                    out.retry = Some(r);
                }
                let (kind, data) = (event.take(), data.take());
                if kind.is_some() || data.is_some() {
                    out.events.push(Event {
                        kind,
                        data: data.unwrap_or_default(),
                    });
                }
                has_fields = false;
            }
            continue;
        }
        if line[0] == b':' {
            continue;
        }
        let (name, value) = match line.iter().position(|b| *b == b':') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &b""[..]),
        };
        let value = value.strip_prefix(b" ").unwrap_or(value);
        let text = || std::str::from_utf8(value).ok().map(str::to_owned);
        match name {
            b"data" => {
                let Some(v) = text() else { return out };
                data = Some(match data.take() {
                    Some(d) => d + "\n" + &v,
                    None => v,
                });
                has_fields = true;
            }
            b"event" => {
                let Some(v) = text() else { return out };
                event = Some(v);
                has_fields = true;
            }
            b"id" if !value.contains(&0) => {
                let Some(v) = text() else { return out };
                id = Some(v);
                has_fields = true;
            }
            b"retry" => {
                let Some(v) = text() else { return out };
                if !v.is_empty()
                    && v.bytes().all(|b| b.is_ascii_digit())
                    && let Ok(ms) = v.parse::<u64>()
                {
                    retry = Some(ms);
                    has_fields = true;
                }
            }
            _ => {}
        }
    }
}

fn cut(data: &[u8], sizes: &[usize]) -> Vec<Bytes> {
    let mut chunks = Vec::new();
    let mut at = 0;
    let mut n = 0;
    while at < data.len() {
        let end = (at + sizes[n % sizes.len()].max(1)).min(data.len());
        chunks.push(Bytes::copy_from_slice(&data[at..end]));
        at = end;
        n += 1;
    }
    chunks
}

fuzz_target!(|input: &[u8]| {
    let [chunk_sel, limit_sel, data @ ..] = input else {
        return;
    };
    let sizes: Vec<usize> = match chunk_sel % 4 {
        0 => vec![usize::from(*chunk_sel / 4) + 1],
        1 => data.iter().take(16).map(|b| usize::from(*b % 13) + 1).collect(),
        2 => vec![1],
        _ => vec![data.len().max(1)],
    };
    let sizes = if sizes.is_empty() { vec![1] } else { sizes };
    let chunks = cut(data, &sizes);
    let max_chunk = chunks.iter().map(Bytes::len).max().unwrap_or(0);
    let want = reference(data);

    // No limit: exactly the reference, however the bytes were cut.
    let got = read(chunks.clone(), usize::MAX);
    assert!(matches!(got.end, StreamEnd::Closed), "ended {:?}", got.end);
    assert_eq!(got.events, want.events, "events of {:?}", String::from_utf8_lossy(data));
    assert_eq!(got.last_id, want.last_id, "last event id");
    assert_eq!(got.retry, want.retry.map(Duration::from_millis), "retry");

    // A limit: a prefix of the reference, each event bounded.
    let limit = usize::from(*limit_sel);
    let got = read(chunks, limit);
    assert!(got.events.len() <= want.events.len());
    assert_eq!(
        got.events[..],
        want.events[..got.events.len()],
        "events under a limit of {limit}"
    );
    for e in &got.events {
        let size = e.data.len() + e.kind.as_ref().map_or(0, String::len);
        assert!(
            size <= limit + max_chunk,
            "an event of {size} bytes passed a limit of {limit} with reads of at most {max_chunk}"
        );
    }
    if matches!(got.end, StreamEnd::TooLarge) {
        assert!(data.len() > limit, "too large with {} bytes in all", data.len());
    } else {
        assert_eq!(
            got.events.len(),
            want.events.len(),
            "stopped early without being too large"
        );
    }
});
