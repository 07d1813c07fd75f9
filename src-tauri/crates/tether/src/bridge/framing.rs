//! Newline-delimited JSON-RPC on stdin and stdout (MCP 2025-11-25
//! §"Transports: stdio": messages are delimited by newlines and MUST NOT
//! contain embedded newlines; stdout carries nothing but valid MCP messages).
//!
//! Both ends run on their own OS thread, blocking on the pipe, so the async
//! runtime never waits on a terminal or pipe and a slow reader cannot stall
//! the network side. Lines are bounded: a line over the limit is skipped to
//! its end while its first bytes are kept, so the bridge can still answer it
//! with the right id.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::thread;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

/// How much of an oversized line is kept to find its id.
const HEAD: usize = 64 * 1024;

/// One line from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A complete line, without its line ending.
    Message(Bytes),
    /// A line longer than the limit: its length and its first bytes.
    TooLong { len: usize, head: Bytes },
}

/// Reads lines from `input` on a thread of its own and sends them to `tx`.
/// The channel closes at end of input or on a read error (sent first).
pub fn spawn_reader<R: Read + Send + 'static>(input: R, limit: usize, tx: mpsc::Sender<io::Result<Line>>) {
    let spawned = thread::Builder::new()
        .name("stdin".into())
        .stack_size(256 * 1024)
        .spawn(move || read_lines(BufReader::with_capacity(64 * 1024, input), limit, &tx));
    if let Err(e) = spawned {
        // Without a reader the bridge can only end; the closed channel says so.
        tracing::error!(error = %e, "could not start the stdin reader");
    }
}

fn read_lines<R: BufRead>(mut input: R, limit: usize, tx: &mpsc::Sender<io::Result<Line>>) {
    let mut line: Vec<u8> = Vec::new();
    let mut overflow: Option<usize> = None; // length so far of a line over the limit
    loop {
        let buf = match input.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        if buf.is_empty() {
            // End of input: a last line without a newline still counts.
            if let Some(l) = finish(&mut line, &mut overflow, limit) {
                let _ = tx.blocking_send(Ok(l));
            }
            return;
        }
        let (chunk, complete) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], true),
            None => (buf, false),
        };
        match &mut overflow {
            Some(len) => *len += chunk.len(),
            None if line.len() + chunk.len() > limit => {
                overflow = Some(line.len() + chunk.len());
                let keep = HEAD.saturating_sub(line.len()).min(chunk.len());
                line.extend_from_slice(&chunk[..keep]);
                line.truncate(HEAD);
                line.shrink_to_fit();
            }
            None => line.extend_from_slice(chunk),
        }
        let used = chunk.len() + usize::from(complete);
        input.consume(used);
        if complete
            && let Some(l) = finish(&mut line, &mut overflow, limit)
            && tx.blocking_send(Ok(l)).is_err()
        {
            return;
        }
    }
}

fn finish(line: &mut Vec<u8>, overflow: &mut Option<usize>, limit: usize) -> Option<Line> {
    let taken = std::mem::take(line);
    if let Some(len) = overflow.take() {
        debug_assert!(len > limit);
        return Some(Line::TooLong {
            len,
            head: Bytes::from(taken),
        });
    }
    let mut taken = taken;
    if taken.last() == Some(&b'\r') {
        taken.pop();
    }
    if taken.iter().all(u8::is_ascii_whitespace) {
        return None; // blank lines carry nothing
    }
    Some(Line::Message(Bytes::from(taken)))
}

/// Writes each message and a newline to `output` on a thread of its own,
/// flushing whenever no more messages are waiting. An empty message flushes
/// and ends the writer. `done` fires when the writer has stopped, whether
/// because it was told to or because the output closed.
pub fn spawn_writer<W: Write + Send + 'static>(output: W, mut rx: mpsc::Receiver<Bytes>, done: oneshot::Sender<()>) {
    let spawned = thread::Builder::new()
        .name("stdout".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            let mut out = BufWriter::with_capacity(64 * 1024, output);
            'outer: while let Some(msg) = rx.blocking_recv() {
                let mut next = Some(msg);
                while let Some(msg) = next.take() {
                    if msg.is_empty() {
                        break 'outer;
                    }
                    if out.write_all(&msg).and_then(|()| out.write_all(b"\n")).is_err() {
                        let _ = done.send(());
                        return;
                    }
                    next = rx.try_recv().ok();
                }
                if out.flush().is_err() {
                    let _ = done.send(());
                    return;
                }
            }
            let _ = out.flush();
            let _ = done.send(());
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the stdout writer");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], limit: usize) -> Vec<Line> {
        let (tx, mut rx) = mpsc::channel(1024);
        // A small buffer capacity exercises lines split across reads.
        read_lines(BufReader::with_capacity(7, input), limit, &tx);
        drop(tx);
        let mut out = Vec::new();
        while let Ok(l) = rx.try_recv() {
            out.push(l.unwrap());
        }
        out
    }

    fn msg(s: &str) -> Line {
        Line::Message(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn lines_are_split_on_newlines_with_crlf_and_blank_lines_handled() {
        assert_eq!(
            lines(b"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}", 100),
            vec![msg("{\"a\":1}"), msg("{\"b\":2}"), msg("{\"c\":3}")]
        );
    }

    #[test]
    fn a_line_over_the_limit_is_reported_with_its_length_and_head_and_the_next_line_survives() {
        let long = format!("{{\"id\":5,\"x\":\"{}\"}}", "y".repeat(200));
        let input = format!("{long}\n{{\"ok\":1}}\n");
        let got = lines(input.as_bytes(), 50);
        assert_eq!(got.len(), 2);
        match &got[0] {
            Line::TooLong { len, head } => {
                assert_eq!(*len, long.len());
                assert!(head.starts_with(b"{\"id\":5,"));
            }
            other => panic!("expected TooLong, got {other:?}"),
        }
        assert_eq!(got[1], msg("{\"ok\":1}"));
    }

    #[test]
    fn a_line_of_exactly_the_limit_passes() {
        assert_eq!(lines(b"0123456789\n", 10), vec![msg("0123456789")]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_writer_puts_one_message_per_line_and_stops_on_an_empty_message() {
        let (tx, rx) = mpsc::channel(8);
        let (done_tx, done_rx) = oneshot::channel();
        let buf = SharedBuf::default();
        spawn_writer(buf.clone(), rx, done_tx);
        tx.send(Bytes::from_static(b"{\"a\":1}")).await.unwrap();
        tx.send(Bytes::from_static(b"{\"b\":2}")).await.unwrap();
        tx.send(Bytes::new()).await.unwrap();
        done_rx.await.unwrap();
        assert_eq!(&buf.0.lock().unwrap()[..], b"{\"a\":1}\n{\"b\":2}\n");
    }

    #[derive(Clone, Default)]
    struct SharedBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for SharedBuf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}
