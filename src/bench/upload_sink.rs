//! A stand-in for Meta's Graph API during `bench upload`: a plain HTTP/1.1 server on
//! 127.0.0.1:0 that reads a media upload as it arrives, hashing the `file` part and
//! keeping nothing, answers it with a media id, and answers a message request with a
//! wamid, noting whether it named that media id.
//!
//! It understands just what wa-mcp sends: a `Content-Length` body (no chunking) and a
//! multipart body whose last part is the file. Anything else is answered 400 and
//! recorded as a problem, which fails the bench.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The media id the sink gives every upload.
pub const SINK_MEDIA_ID: &str = "1234567890123456";

/// The most of a body's start read to find where the file part begins.
const MAX_PRELUDE: usize = 64 * 1024;

/// What the sink saw of the upload and the send that followed.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Bytes of the `file` part and their SHA-256 (hex).
    pub file_bytes: u64,
    pub file_sha256: Option<String>,
    /// Whole upload body (the multipart framing included), and how long reading it
    /// took from the request's first line to its last byte.
    pub body_bytes: u64,
    pub upload_time: Duration,
    /// Message requests, and whether one named [`SINK_MEDIA_ID`].
    pub sends: usize,
    pub send_named_media: bool,
    /// Anything the sink could not take as wa-mcp's request.
    pub problems: Vec<String>,
}

/// The running sink: its base URL (for `WA_GRAPH_BASE_URL`) and what it saw so far.
pub struct Sink {
    pub url: String,
    seen: Arc<Mutex<Seen>>,
}

impl Sink {
    /// Binds 127.0.0.1:0 and serves each connection on a thread of its own until the
    /// process ends.
    pub fn start() -> std::io::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &seen));
            }
        });
        Ok(Sink { url, seen })
    }

    /// A copy of what the sink saw.
    pub fn seen(&self) -> Seen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// One request's head: its line, and the two headers the sink needs.
struct Head {
    line: String,
    length: u64,
    content_type: String,
}

/// Answers requests on `stream` until the client closes it.
fn serve(stream: TcpStream, seen: &Mutex<Seen>) {
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let mut writer = writer;
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    while let Some(head) = read_head(&mut reader) {
        let started = Instant::now();
        let answer = if head.line.contains("/media ") {
            take_upload(&mut reader, &head, started, seen)
        } else if head.line.contains("/messages ") {
            take_send(&mut reader, &head, seen)
        } else {
            Err(format!("unexpected request {:?}", head.line.trim()))
        };
        let (status, body) = match answer {
            Ok(body) => ("200 OK", body),
            Err(problem) => {
                if let Ok(mut s) = seen.lock() {
                    s.problems.push(problem);
                }
                (
                    "400 Bad Request",
                    r#"{"error":{"message":"bench sink","code":100}}"#.into(),
                )
            }
        };
        let reply = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn read_head(reader: &mut impl BufRead) -> Option<Head> {
    let mut head = Head {
        line: String::new(),
        length: 0,
        content_type: String::new(),
    };
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            return Some(head);
        }
        if head.line.is_empty() {
            head.line = line;
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("content-length") {
            head.length = value.trim().parse().ok()?;
        } else if name.eq_ignore_ascii_case("content-type") {
            head.content_type = value.trim().to_owned();
        }
    }
}

/// Reads a multipart upload, hashing the file part, and records it.
fn take_upload(
    reader: &mut impl Read,
    head: &Head,
    started: Instant,
    seen: &Mutex<Seen>,
) -> Result<String, String> {
    let boundary = head
        .content_type
        .split_once("boundary=")
        .map(|(_, b)| b.trim_matches('"').to_owned())
        .ok_or("the upload is not multipart/form-data with a boundary")?;
    let mut body = reader.take(head.length);
    let prelude = read_prelude(&mut body)?;
    let text = String::from_utf8_lossy(&prelude.head);
    for part in [
        "name=\"messaging_product\"",
        "name=\"type\"",
        "name=\"file\"",
    ] {
        if !text.contains(part) {
            return Err(format!("the upload has no {part} part"));
        }
    }
    let tail = format!("\r\n--{boundary}--\r\n");
    let file_bytes = head
        .length
        .checked_sub((prelude.head.len() + tail.len()) as u64)
        .ok_or("the upload is shorter than its framing")?;
    let (sha256, rest) = hash_file(&mut body, prelude.file_start, file_bytes)?;
    if rest != tail.as_bytes() {
        return Err("the upload does not end with its closing boundary".into());
    }
    let mut s = seen.lock().map_err(|_| "the sink's record is poisoned")?;
    s.file_bytes = file_bytes;
    s.file_sha256 = Some(sha256);
    s.body_bytes = head.length;
    s.upload_time = started.elapsed();
    Ok(format!(r#"{{"id":"{SINK_MEDIA_ID}"}}"#))
}

/// The multipart body up to the end of the file part's headers, and whatever of the
/// file was read with it.
struct Prelude {
    head: Vec<u8>,
    file_start: Vec<u8>,
}

fn read_prelude(body: &mut impl Read) -> Result<Prelude, String> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let text = &buffer[..];
        if let Some(at) = find(text, b"name=\"file\"")
            && let Some(end) = find(&text[at..], b"\r\n\r\n")
        {
            let split = at + end + 4;
            return Ok(Prelude {
                file_start: buffer[split..].to_vec(),
                head: buffer[..split].to_vec(),
            });
        }
        if buffer.len() > MAX_PRELUDE {
            return Err("no file part in the first 64 KiB of the upload".into());
        }
        let n = body.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the upload ended before its file part".into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// Hashes the next `file_bytes` bytes (`start` first, then `body`); returns the hex
/// digest and every byte after the file.
fn hash_file(
    body: &mut impl Read,
    start: Vec<u8>,
    file_bytes: u64,
) -> Result<(String, Vec<u8>), String> {
    let mut hasher = Sha256::new();
    let mut left = file_bytes;
    let mut after = Vec::new();
    let mut take = |bytes: &[u8], left: &mut u64| {
        let n = (*left).min(bytes.len() as u64) as usize;
        hasher.update(&bytes[..n]);
        *left -= n as u64;
        after.extend_from_slice(&bytes[n..]);
    };
    take(&start, &mut left);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = body.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        take(&chunk[..n], &mut left);
    }
    if left > 0 {
        return Err(format!("the upload ended {left} bytes before its file did"));
    }
    Ok((crate::hex::to_hex(&hasher.finalize()), after))
}

/// Reads a message request and answers it with a wamid.
fn take_send(reader: &mut impl Read, head: &Head, seen: &Mutex<Seen>) -> Result<String, String> {
    let mut body = Vec::new();
    reader
        .take(head.length.min(1 << 20))
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    let names_media = find(&body, SINK_MEDIA_ID.as_bytes()).is_some();
    let mut s = seen.lock().map_err(|_| "the sink's record is poisoned")?;
    s.sends += 1;
    s.send_named_media |= names_media;
    Ok(r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.BENCH"}]}"#.into())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_part_is_hashed_and_the_framing_checked() {
        let file = b"%PDF-1.7\nsome bytes".to_vec();
        let body = [
            &b"--B\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"[..],
            b"--B\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\napplication/pdf\r\n",
            b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n",
            &file,
            b"\r\n--B--\r\n",
        ]
        .concat();
        let head = Head {
            line: "POST /v26.0/1/media HTTP/1.1\r\n".into(),
            length: body.len() as u64,
            content_type: "multipart/form-data; boundary=B".into(),
        };
        let seen = Mutex::new(Seen::default());
        let answer = take_upload(&mut &body[..], &head, Instant::now(), &seen).expect("taken");
        assert!(answer.contains(SINK_MEDIA_ID));
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.file_bytes, file.len() as u64);
        let digest = crate::hex::to_hex(&Sha256::digest(&file));
        assert_eq!(seen.file_sha256.as_deref(), Some(digest.as_str()));
        let cut = &body[..body.len() - 3];
        let short = Head {
            length: cut.len() as u64,
            ..head
        };
        assert!(take_upload(&mut &cut[..], &short, Instant::now(), &Mutex::default()).is_err());
    }
}
