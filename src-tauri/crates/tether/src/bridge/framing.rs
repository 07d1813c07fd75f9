//! Newline-delimited JSON-RPC on stdin and stdout (MCP 2025-11-25
//! §"Transports: stdio": messages are delimited by newlines and MUST NOT
//! contain embedded newlines; stdout carries nothing but valid MCP messages).
//!
//! When stdin and stdout are pipes or sockets (as Claude Desktop and every
//! MCP host launches a server), they are read and written by the async runtime
//! itself, in non-blocking mode: a message crosses no thread between the pipe
//! and the network. On a terminal or a file, Tokio's blocking stdio is used
//! instead. Lines are bounded: a line over the limit is skipped to its end
//! while its first bytes are kept, so the bridge can still answer it with the
//! right id.

use std::io;
use std::pin::Pin;

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::{mpsc, oneshot};

/// How much of an oversized line is kept to find its id.
const HEAD: usize = 64 * 1024;
/// Read and write buffer size.
const BUFFER: usize = 64 * 1024;

/// One line from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A complete line, without its line ending.
    Message(Bytes),
    /// A line longer than the limit: its length and its first bytes.
    TooLong { len: usize, head: Bytes },
}

/// The bridge's input.
pub type Input = Pin<Box<dyn AsyncRead + Send>>;
/// The bridge's output.
pub type Output = Pin<Box<dyn AsyncWrite + Send>>;

/// This process's stdin and stdout, as async streams.
pub fn stdio() -> (Input, Output) {
    #[cfg(unix)]
    if let (Ok(input), Ok(output)) = (unix::input(), unix::output()) {
        return (input, output);
    }
    (Box::pin(tokio::io::stdin()), Box::pin(tokio::io::stdout()))
}

#[cfg(unix)]
mod unix {
    //! Pipes and sockets on stdin/stdout, registered with the runtime. A
    //! terminal or a file is left alone: making it non-blocking would change
    //! it for the shell too.

    use std::io;
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::fs::FileTypeExt;

    use super::{Input, Output};

    enum Kind {
        Fifo,
        Socket,
    }

    fn kind(fd: &OwnedFd) -> io::Result<Kind> {
        let file_type = std::fs::File::from(fd.try_clone()?).metadata()?.file_type();
        if file_type.is_fifo() {
            Ok(Kind::Fifo)
        } else if file_type.is_socket() {
            Ok(Kind::Socket)
        } else {
            Err(io::Error::new(io::ErrorKind::Unsupported, "not a pipe or socket"))
        }
    }

    pub fn input() -> io::Result<Input> {
        let fd = io::stdin().as_fd().try_clone_to_owned()?;
        match kind(&fd)? {
            Kind::Fifo => Ok(Box::pin(tokio::net::unix::pipe::Receiver::from_owned_fd(fd)?)),
            Kind::Socket => Ok(Box::pin(socket(fd)?)),
        }
    }

    pub fn output() -> io::Result<Output> {
        let fd = io::stdout().as_fd().try_clone_to_owned()?;
        match kind(&fd)? {
            Kind::Fifo => Ok(Box::pin(tokio::net::unix::pipe::Sender::from_owned_fd(fd)?)),
            Kind::Socket => Ok(Box::pin(socket(fd)?)),
        }
    }

    /// Node's child processes (Claude Desktop is Electron) get socketpairs.
    fn socket(fd: OwnedFd) -> io::Result<tokio::net::UnixStream> {
        let stream = std::os::unix::net::UnixStream::from(fd);
        stream.set_nonblocking(true)?;
        tokio::net::UnixStream::from_std(stream)
    }
}

/// Reads lines from `input` and sends them to `tx`, until end of input or a
/// read error (sent first).
pub async fn read_lines<R: AsyncRead + Unpin>(input: R, limit: usize, tx: mpsc::Sender<io::Result<Line>>) {
    read_lines_with(BufReader::with_capacity(BUFFER, input), limit, &tx).await;
}

async fn read_lines_with<R: AsyncRead + Unpin>(
    mut input: BufReader<R>,
    limit: usize,
    tx: &mpsc::Sender<io::Result<Line>>,
) {
    let mut line: Vec<u8> = Vec::new();
    let mut overflow: Option<usize> = None; // length so far of a line over the limit
    loop {
        let buf = match input.fill_buf().await {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        if buf.is_empty() {
            // End of input: a last line without a newline still counts.
            if let Some(l) = finish(&mut line, &mut overflow, limit) {
                let _ = tx.send(Ok(l)).await;
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
            && tx.send(Ok(l)).await.is_err()
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

/// Writes each message and a newline to `output`, flushing whenever no more
/// messages are waiting. An empty message flushes and ends the writer. `done`
/// fires when the writer has stopped, whether it was told to or the output
/// closed.
pub async fn write_lines<W: AsyncWrite + Unpin>(output: W, mut rx: mpsc::Receiver<Bytes>, done: oneshot::Sender<()>) {
    let mut out = BufWriter::with_capacity(BUFFER, output);
    'outer: while let Some(msg) = rx.recv().await {
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            if msg.is_empty() {
                break 'outer;
            }
            if out.write_all(&msg).await.is_err() || out.write_all(b"\n").await.is_err() {
                let _ = done.send(());
                return;
            }
            next = rx.try_recv().ok();
        }
        if out.flush().await.is_err() {
            let _ = done.send(());
            return;
        }
    }
    let _ = out.flush().await;
    let _ = done.send(());
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], limit: usize) -> Vec<Line> {
        let (tx, mut rx) = mpsc::channel(1024);
        // A small buffer capacity exercises lines split across reads.
        read_lines_with(BufReader::with_capacity(7, input), limit, &tx).await;
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

    #[tokio::test]
    async fn lines_are_split_on_newlines_with_crlf_and_blank_lines_handled() {
        assert_eq!(
            lines(b"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}", 100).await,
            vec![msg("{\"a\":1}"), msg("{\"b\":2}"), msg("{\"c\":3}")]
        );
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_reported_with_its_length_and_head_and_the_next_line_survives() {
        let long = format!("{{\"id\":5,\"x\":\"{}\"}}", "y".repeat(200));
        let input = format!("{long}\n{{\"ok\":1}}\n");
        let got = lines(input.as_bytes(), 50).await;
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

    #[tokio::test]
    async fn a_line_of_exactly_the_limit_passes() {
        assert_eq!(lines(b"0123456789\n", 10).await, vec![msg("0123456789")]);
    }

    #[tokio::test]
    async fn the_writer_puts_one_message_per_line_and_stops_on_an_empty_message() {
        let (tx, rx) = mpsc::channel(8);
        let (done_tx, done_rx) = oneshot::channel();
        let (client, mut server) = tokio::io::duplex(1024);
        let writer = tokio::spawn(write_lines(client, rx, done_tx));
        tx.send(Bytes::from_static(b"{\"a\":1}")).await.unwrap();
        tx.send(Bytes::from_static(b"{\"b\":2}")).await.unwrap();
        tx.send(Bytes::new()).await.unwrap();
        done_rx.await.unwrap();
        writer.await.unwrap();
        let mut got = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut server, &mut got)
            .await
            .unwrap();
        assert_eq!(got, b"{\"a\":1}\n{\"b\":2}\n");
    }
}
