//! Stdin framing (`tether::bridge::framing::read_lines`): newline-delimited
//! messages with a size bound, read from a pipe that hands them over in
//! arbitrary pieces.
//!
//! The input is `[limit][chunking][bytes…]`: the first byte picks the line
//! limit, the second how the bytes are cut into reads (fixed sizes, or
//! sizes taken from the data itself), so a line may be split anywhere,
//! including between `\r` and `\n`. The lines read are compared with a
//! model written from the framing rules (MCP stdio: one message per line;
//! a trailing CR is dropped; blank lines carry nothing; a line over the
//! limit is reported with its length and its first bytes, and the next line
//! survives). The result must not depend on how the input was cut.

#![no_main]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use libfuzzer_sys::fuzz_target;
use tether::bridge::framing::{Line, read_lines};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

/// How much of an oversized line the reader keeps (`framing::HEAD`).
const HEAD: usize = 64 * 1024;

/// A reader that returns `data` in pieces of the given sizes (cycled).
struct Pieces {
    data: Vec<u8>,
    at: usize,
    sizes: Vec<usize>,
    n: usize,
}

impl AsyncRead for Pieces {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let size = this.sizes[this.n % this.sizes.len()].max(1);
        this.n += 1;
        let end = (this.at + size).min(this.data.len()).min(this.at + buf.remaining());
        buf.put_slice(&this.data[this.at..end]);
        this.at = end;
        Poll::Ready(Ok(()))
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap())
}

fn read(data: &[u8], limit: usize, sizes: Vec<usize>) -> Vec<Line> {
    let (tx, mut rx) = mpsc::channel(data.len() + 2);
    let reader = Pieces {
        data: data.to_vec(),
        at: 0,
        sizes,
        n: 0,
    };
    runtime().block_on(read_lines(reader, limit, tx));
    let mut out = Vec::new();
    while let Ok(l) = rx.try_recv() {
        out.push(l.expect("the reader never fails"));
    }
    out
}

/// The framing rules, written plainly.
fn model(data: &[u8], limit: usize) -> Vec<(Vec<u8>, Option<usize>)> {
    let mut out = Vec::new();
    let mut segments: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    // A final newline ends the last line; nothing follows it.
    if segments.last().is_some_and(|s| s.is_empty()) {
        segments.pop();
    }
    for seg in segments {
        if seg.len() > limit {
            out.push((seg.to_vec(), Some(seg.len())));
            continue;
        }
        let line = seg.strip_suffix(b"\r").unwrap_or(seg);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        out.push((line.to_vec(), None));
    }
    out
}

fn check(got: &[Line], want: &[(Vec<u8>, Option<usize>)], limit: usize) {
    assert_eq!(got.len(), want.len(), "line count: got {got:?}");
    for (g, (line, too_long)) in got.iter().zip(want) {
        match (g, too_long) {
            (Line::Message(b), None) => assert_eq!(&b[..], &line[..]),
            (Line::TooLong { len, head }, Some(want_len)) => {
                assert_eq!(len, want_len, "the length of a line over the limit");
                assert!(*len > limit);
                assert!(line.starts_with(head), "the head is the line's first bytes");
                assert!(head.len() <= HEAD, "the head is bounded");
                assert!(
                    head.len() >= line.len().min(limit + 1).min(HEAD),
                    "the head keeps at least what fit under the limit ({} of {})",
                    head.len(),
                    line.len()
                );
            }
            (g, w) => panic!("got {g:?}, the rules say {w:?}"),
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let [limit_sel, chunk_sel, data @ ..] = input else {
        return;
    };
    // Limits around line lengths the fuzzer can make, and a large one.
    let limit = match limit_sel {
        0..=199 => usize::from(*limit_sel),
        200..=254 => usize::from(*limit_sel) * 16,
        255 => 4 << 20,
    };
    let sizes: Vec<usize> = match chunk_sel % 4 {
        0 => vec![usize::from(*chunk_sel / 4) + 1],
        1 => data.iter().take(16).map(|b| usize::from(*b % 17) + 1).collect(),
        2 => vec![1],
        _ => vec![data.len().max(1)],
    };
    let sizes = if sizes.is_empty() { vec![1] } else { sizes };

    let want = model(data, limit);
    let got = read(data, limit, sizes);
    check(&got, &want, limit);
    // The same bytes in one piece: the same lines (heads aside, which keep at
    // least the bytes that were under the limit).
    let whole = read(data, limit, vec![data.len().max(1)]);
    check(&whole, &want, limit);
});
