//! One HTTP/1.1 request over a plain socket whose answer is read as it arrives: for
//! event streams, which a test reads part of, then watches end. The request says
//! `Connection: close`, so the end of the answer is the end of the socket.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How long a test waits for what it reads before it gives up: a stream that should
/// have ended and did not (keep-alive comments keep coming) fails the test here instead
/// of hanging it.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);
/// How long one read waits, so the deadline is looked at.
const READ_SLICE: Duration = Duration::from_secs(2);

/// An answer being read.
pub struct HttpStream {
    socket: TcpStream,
    /// Everything read so far, head included.
    pub seen: String,
}

impl HttpStream {
    /// Sends `method path` to `port` with `headers` and `body`.
    pub fn open(
        port: u16,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> HttpStream {
        let mut socket = TcpStream::connect(("127.0.0.1", port)).expect("connected");
        socket
            .set_read_timeout(Some(READ_SLICE))
            .expect("timeout set");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n\
             content-length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        socket.write_all(request.as_bytes()).expect("sent");
        HttpStream {
            socket,
            seen: String::new(),
        }
    }

    /// Reads until what was seen contains `text`; panics if the answer ends first.
    pub fn read_until(&mut self, text: &str) {
        let deadline = Instant::now() + GIVE_UP_AFTER;
        while !self.seen.contains(text) {
            match self.read_some(deadline) {
                Some(0) => panic!("the answer ended before {text:?}: {}", self.seen),
                Some(_) => {}
                None => panic!("no {text:?} came; seen: {}", self.seen),
            }
        }
    }

    /// Reads until the server closes the answer; panics if it is still open after
    /// [`GIVE_UP_AFTER`]. Returns what came after the earlier reads.
    pub fn read_to_end(&mut self) -> String {
        let before = self.seen.len();
        let deadline = Instant::now() + GIVE_UP_AFTER;
        loop {
            match self.read_some(deadline) {
                Some(0) => return self.seen[before..].to_owned(),
                Some(_) => {}
                None => panic!("the stream is still open; seen: {}", self.seen),
            }
        }
    }

    /// One read into `seen`: the bytes read (0 at the end), or `None` past `deadline`.
    fn read_some(&mut self, deadline: Instant) -> Option<usize> {
        let mut buf = [0u8; 4096];
        loop {
            match self.socket.read(&mut buf) {
                Ok(n) => {
                    self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                    return Some(n);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) && Instant::now() < deadline => {}
                Err(e) if Instant::now() < deadline => panic!("read failed: {e}"),
                Err(_) => return None,
            }
        }
    }

    /// The status code of the answer (its head must have been read).
    pub fn status(&mut self) -> u16 {
        self.read_until("\r\n");
        self.seen
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {}", self.seen))
    }
}
