//! Hostile webhook peers for `bench slow-bodies`: connections that trickle large bodies
//! under no signature or a wrong one, and start again as soon as they are answered or
//! cut off, so the pressure on the server never lets up while the run lasts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// What the hostile peers do.
#[derive(Debug, Clone)]
pub struct Attack {
    /// Where the server listens (`127.0.0.1:port`).
    pub authority: String,
    /// Connections kept going at once.
    pub connections: usize,
    /// The body each one sends (declared, or chunked).
    pub body_bytes: usize,
    /// How fast each one sends it, in bytes per second.
    pub rate: usize,
    /// How long a peer waits after an answer before its next connection.
    pub pause: Duration,
    /// When every peer stops.
    pub until: Instant,
}

/// How each of a peer's kinds of request goes: every other peer sends no signature;
/// the rest send a well-formed wrong one, half with `Content-Length`, half chunked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Unsigned,
    WrongDeclared,
    WrongChunked,
}

impl Kind {
    pub fn of(peer: usize) -> Kind {
        match (peer % 2, (peer / 2) % 2) {
            (0, _) => Kind::Unsigned,
            (_, 0) => Kind::WrongDeclared,
            _ => Kind::WrongChunked,
        }
    }
}

/// How the attack's requests ended, counted across every peer.
#[derive(Debug, Default)]
pub struct Tally {
    pub connections: AtomicUsize,
    pub not_found: AtomicUsize,
    pub timeout: AtomicUsize,
    pub too_large: AtomicUsize,
    pub busy: AtomicUsize,
    pub other: AtomicUsize,
    /// Closed (or reset) without a status line, or still running when the run ended.
    pub unanswered: AtomicUsize,
    /// Connections that could not be made at all.
    pub connect_failed: AtomicUsize,
}

impl Tally {
    fn count(&self, status: Option<u16>) {
        let slot = match status {
            Some(404) => &self.not_found,
            Some(408) => &self.timeout,
            Some(413) => &self.too_large,
            Some(503) => &self.busy,
            Some(_) => &self.other,
            None => &self.unanswered,
        };
        slot.fetch_add(1, Ordering::Relaxed);
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |c: &AtomicUsize| c.load(Ordering::Relaxed);
        write!(
            f,
            "{} connections made; answered 404 {}, 408 {}, 413 {}, 503 {}, other {}; \
             closed or cut unanswered {}; {} could not connect",
            n(&self.connections),
            n(&self.not_found),
            n(&self.timeout),
            n(&self.too_large),
            n(&self.busy),
            n(&self.other),
            n(&self.unanswered),
            n(&self.connect_failed)
        )
    }
}

/// Runs every peer on one thread until `attack.until`, counting into `tally`.
pub fn run(attack: Arc<Attack>, tally: Arc<Tally>) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        eprintln!("the attack could not start its runtime");
        return;
    };
    runtime.block_on(async {
        let peers: Vec<_> = (0..attack.connections)
            .map(|i| tokio::spawn(peer(Arc::clone(&attack), Kind::of(i), Arc::clone(&tally))))
            .collect();
        for p in peers {
            let _ = p.await;
        }
    });
}

/// One peer: a request after another, until the end of the run.
async fn peer(attack: Arc<Attack>, kind: Kind, tally: Arc<Tally>) {
    while Instant::now() < attack.until {
        let status = tokio::time::timeout_at(attack.until.into(), request(&attack, kind)).await;
        match status {
            Ok(Some(status)) => tally.count(status),
            Ok(None) => {
                tally.connect_failed.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(_run_over) => tally.count(None),
        }
        tally.connections.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(attack.pause).await;
    }
}

/// One connection: the head, then the body at the peer's rate while watching for the
/// answer. `None` when it could not connect; else the status, if one came.
async fn request(attack: &Attack, kind: Kind) -> Option<Option<u16>> {
    let stream = TcpStream::connect(&attack.authority).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let answer = read_status(&mut reader);
    tokio::pin!(answer);
    let sending = send(&mut writer, attack, kind);
    let status = tokio::select! {
        status = &mut answer => status,
        () = sending => answer.await,
    };
    Some(status)
}

/// Sends the head and then the body a piece every 50 ms; returns when it is all sent
/// or the server stops taking it.
async fn send(writer: &mut OwnedWriteHalf, attack: &Attack, kind: Kind) {
    const TICK: Duration = Duration::from_millis(50);
    if writer
        .write_all(head(attack, kind).as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let piece = vec![b' '; (attack.rate / 20).max(1)];
    let mut sent = 0;
    let mut tick = tokio::time::interval(TICK);
    while sent < attack.body_bytes {
        tick.tick().await;
        let n = piece.len().min(attack.body_bytes - sent);
        let written = match kind {
            Kind::WrongChunked => {
                let mut framed = format!("{n:x}\r\n").into_bytes();
                framed.extend_from_slice(&piece[..n]);
                framed.extend_from_slice(b"\r\n");
                writer.write_all(&framed).await
            }
            _ => writer.write_all(&piece[..n]).await,
        };
        if written.is_err() {
            return;
        }
        sent += n;
    }
    if kind == Kind::WrongChunked {
        let _ = writer.write_all(b"0\r\n\r\n").await;
    }
}

fn head(attack: &Attack, kind: Kind) -> String {
    // Well formed (`sha256=` and 64 hex digits) and never the body's.
    const WRONG: &str = "sha256=0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f";
    let framing = match kind {
        Kind::WrongChunked => "transfer-encoding: chunked".to_owned(),
        _ => format!("content-length: {}", attack.body_bytes),
    };
    let signature = match kind {
        Kind::Unsigned => String::new(),
        _ => format!("x-hub-signature-256: {WRONG}\r\n"),
    };
    format!(
        "POST /webhook/meta HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         {framing}\r\n{signature}\r\n",
        attack.authority
    )
}

/// The status of the first response line, or `None` if the connection ends first.
async fn read_status(reader: &mut OwnedReadHalf) -> Option<u16> {
    let mut line = Vec::new();
    let mut buf = [0u8; 256];
    while !line.contains(&b'\n') {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => line.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&line);
    line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_are_unsigned_and_the_wrong_ones_split_between_declared_and_chunked() {
        let kinds: Vec<Kind> = (0..8).map(Kind::of).collect();
        let count = |k| kinds.iter().filter(|&&x| x == k).count();
        assert_eq!(count(Kind::Unsigned), 4);
        assert_eq!(count(Kind::WrongDeclared), 2);
        assert_eq!(count(Kind::WrongChunked), 2);
    }
}
