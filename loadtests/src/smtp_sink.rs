//! A minimal SMTP server for the `reminders` scenario: it accepts every message on loopback,
//! keeps nothing but each message's `Message-ID` and when it arrived, and counts repeats.
//!
//! It speaks just enough of RFC 5321 for a client that sends without TLS or AUTH (the server
//! under test with `CLOWDER_SMTP_TLS=none`): a greeting, `EHLO`/`HELO`, `MAIL`, `RCPT`,
//! `DATA` up to the lone `.`, `RSET`, `NOOP` and `QUIT`. The tests use aiosmtpd instead; a load
//! run should not need Python, and the figures here only need the ids.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Longest line accepted; a longer one ends the connection (a sink, not a relay).
const MAX_LINE: usize = 64 * 1024;

/// What arrived so far.
#[derive(Debug, Default)]
struct Seen {
    /// Deliveries per `Message-ID`.
    ids: HashMap<String, u32>,
    /// Messages without a `Message-ID` header.
    without_id: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

/// A snapshot of what the sink received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkStats {
    /// Every message accepted, repeats included.
    pub received: u64,
    /// Distinct `Message-ID`s.
    pub distinct: u64,
    /// Messages that arrived more than once (deliveries beyond the first of their id).
    pub repeated: u64,
    pub without_id: u64,
    pub first: Option<Instant>,
    pub last: Option<Instant>,
}

/// A running sink; dropping it stops accepting.
pub struct SmtpSink {
    pub port: u16,
    seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// Listens on `127.0.0.1:port` (0: any free port).
    pub async fn start(port: u16) -> Result<SmtpSink> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("the SMTP sink cannot listen on 127.0.0.1:{port}"))?;
        let port = listener.local_addr()?.port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = shared.clone();
                tokio::spawn(async move {
                    // A broken connection only loses what it had not finished sending.
                    let _ = session(stream, seen).await;
                });
            }
        });
        Ok(SmtpSink { port, seen, task })
    }

    pub fn stats(&self) -> SinkStats {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let received = seen.ids.values().map(|&n| u64::from(n)).sum::<u64>() + seen.without_id;
        SinkStats {
            received,
            distinct: seen.ids.len() as u64,
            repeated: seen.ids.values().map(|&n| u64::from(n.saturating_sub(1))).sum(),
            without_id: seen.without_id,
            first: seen.first,
            last: seen.last,
        }
    }
}

async fn session(stream: TcpStream, seen: Arc<Mutex<Seen>>) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 clowder-loadtests sink ESMTP\r\n").await?;
    let mut line = Vec::new();
    loop {
        if !read_line(&mut lines, &mut line).await? {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let verb = text.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => write.write_all(b"250-clowder-loadtests\r\n250 8BITMIME\r\n").await?,
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => write.write_all(b"250 OK\r\n").await?,
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let id = read_message(&mut lines, &mut line).await?;
                record(&seen, id);
                write.write_all(b"250 OK queued\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"502 not implemented\r\n").await?,
        }
    }
}

/// Reads one line into `buf` (without its line ending); false at the end of the stream.
async fn read_line<R: AsyncBufReadExt + Unpin>(r: &mut R, buf: &mut Vec<u8>) -> Result<bool> {
    buf.clear();
    let n = r.read_until(b'\n', buf).await?;
    if n == 0 {
        return Ok(false);
    }
    anyhow::ensure!(buf.len() <= MAX_LINE, "line too long");
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(true)
}

/// Reads a message up to the lone `.` and returns its `Message-ID`, if the headers have one.
async fn read_message<R: AsyncBufReadExt + Unpin>(r: &mut R, buf: &mut Vec<u8>) -> Result<Option<String>> {
    let mut in_headers = true;
    let mut id = None;
    loop {
        anyhow::ensure!(read_line(r, buf).await?, "the client left in the middle of DATA");
        if buf.as_slice() == b"." {
            return Ok(id);
        }
        if in_headers {
            if buf.is_empty() {
                in_headers = false;
            } else if let Some(value) = header_value(buf, "message-id") {
                id = Some(value);
            }
        }
    }
}

/// The value of header `name` (lower case) if `line` is that header.
fn header_value(line: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?;
    let (key, value) = text.split_once(':')?;
    key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
}

fn record(seen: &Mutex<Seen>, id: Option<String>) {
    let now = Instant::now();
    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    match id {
        Some(id) => *seen.ids.entry(id).or_default() += 1,
        None => seen.without_id += 1,
    }
    seen.first.get_or_insert(now);
    seen.last = Some(now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn send(port: u16, id: &str) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let script = format!(
            "EHLO me\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nMessage-ID: {id}\r\nSubject: x\r\n\r\nhello\r\n..dot\r\n.\r\nQUIT\r\n"
        );
        s.write_all(script.as_bytes()).await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("220 ") && answer.contains("250 OK queued") && answer.ends_with("221 bye\r\n"));
    }

    #[tokio::test]
    async fn counts_messages_and_repeats_by_message_id() {
        let sink = SmtpSink::start(0).await.unwrap();
        send(sink.port, "<a@x>").await;
        send(sink.port, "<b@x>").await;
        send(sink.port, "<a@x>").await;
        let s = sink.stats();
        assert_eq!((s.received, s.distinct, s.repeated, s.without_id), (3, 2, 1, 0));
        assert!(s.first.is_some() && s.last >= s.first);
    }
}
