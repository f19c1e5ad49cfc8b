//! What the webhook holds for peers it has not verified: a POST without a well-formed
//! signature header is refused before its body is sent, large bodies are read a few at a
//! time, a body that trickles is cut off, and open connections are capped, while a
//! correctly signed delivery keeps getting its 200. Raw TCP against a real server on
//! 127.0.0.1:0; the read timeouts only detect a server that never answers.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{TestServer, fixture, sign};
use wa_mcp::http::limits::LimitSettings;

/// Long enough that only a server that never answers reaches it.
const HANG: Duration = Duration::from_secs(30);

fn connect(server: &TestServer) -> TcpStream {
    let stream = TcpStream::connect(server.addr).expect("connect");
    stream.set_read_timeout(Some(HANG)).expect("read timeout");
    stream
}

/// A webhook POST's head declaring `length` bytes (chunked when `None`), with `headers`.
fn post_head(length: Option<usize>, headers: &[(&str, &str)]) -> String {
    let mut head =
        "POST /webhook/meta HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n".to_owned();
    match length {
        Some(n) => head.push_str(&format!("content-length: {n}\r\n")),
        None => head.push_str("transfer-encoding: chunked\r\n"),
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Reads up to the end of a response head (or of the stream): what a client has been
/// told so far. Empty when the server never answered.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A POST whose head is sent and whose body never is: what it is answered.
fn answer_to_head_alone(server: &TestServer, head: &str) -> String {
    let mut stream = connect(server);
    stream.write_all(head.as_bytes()).expect("write head");
    read_head(&mut stream)
}

#[test]
fn a_post_without_a_signature_header_is_404_before_its_body_is_sent() {
    let server = TestServer::start();
    for length in [Some(4 * 1024 * 1024), Some(100), None] {
        let answer = answer_to_head_alone(&server, &post_head(length, &[]));
        assert!(answer.starts_with("HTTP/1.1 404"), "{length:?}: {answer:?}");
    }
    assert_eq!(server.total_rows(), 0);
}

#[test]
fn a_malformed_signature_header_is_404_before_its_body_is_sent() {
    let server = TestServer::start();
    let good = sign(b"{}");
    let hex = good.trim_start_matches("sha256=");
    for bad in [
        hex.to_owned(),
        format!("sha1={hex}"),
        format!("sha256={}", &hex[..63]),
        format!("sha256={}z", &hex[..63]),
        "sha256=".to_owned(),
    ] {
        let head = post_head(Some(4 * 1024 * 1024), &[("x-hub-signature-256", &bad)]);
        let answer = answer_to_head_alone(&server, &head);
        assert!(answer.starts_with("HTTP/1.1 404"), "{bad}: {answer:?}");
    }
    assert_eq!(server.total_rows(), 0);
}

/// A connection holding a large-body permit: its head (a 1 MiB body under a well-formed
/// signature) is sent with `Expect: 100-continue`, and the server's `100 Continue` says
/// the handler took the permit and is waiting for the body.
fn hold_a_large_permit(server: &TestServer) -> TcpStream {
    let signature = sign(b"not this body");
    let head = post_head(
        Some(1024 * 1024),
        &[
            ("x-hub-signature-256", &signature),
            ("expect", "100-continue"),
        ],
    );
    let mut stream = connect(server);
    stream.write_all(head.as_bytes()).expect("write head");
    let answer = read_head(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 100"), "{answer:?}");
    stream
}

/// The listener's limits with a floor that never cuts a test's held bodies off.
fn patient() -> LimitSettings {
    LimitSettings {
        body_grace: Duration::from_secs(600),
        body_timeout: Duration::from_secs(600),
        ..LimitSettings::default()
    }
}

#[test]
fn large_bodies_beyond_the_permits_are_503_while_a_signed_delivery_still_gets_200() {
    let server = TestServer::start_with_limits(patient());
    let holders: Vec<TcpStream> = (0..LimitSettings::default().large_bodies)
        .map(|_| hold_a_large_permit(&server))
        .collect();
    let signature = sign(b"x");
    let head = post_head(Some(300 * 1024), &[("x-hub-signature-256", &signature)]);
    let answer = answer_to_head_alone(&server, &head);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(
        answer.to_ascii_lowercase().contains("\r\nretry-after: "),
        "{answer:?}"
    );

    // Unsigned probes and a body trickling in go on as well.
    let mut trickler = connect(&server);
    let head = post_head(Some(200 * 1024), &[("x-hub-signature-256", &signature)]);
    trickler.write_all(head.as_bytes()).expect("head");
    trickler.write_all(&[b' '; 1000]).expect("some body");
    for _ in 0..5 {
        assert!(answer_to_head_alone(&server, &post_head(Some(1 << 20), &[])).contains(" 404 "));
    }
    let body = fixture("inbound_text.json");
    assert_eq!(server.post_signed(&body).status, 200);
    assert_eq!(server.count("messages"), 1);

    // A permit comes back when its holder goes away, and a large signed body is read.
    drop(holders);
    let mut large = br#"{"object":"whatsapp_business_account","entry":[],"pad":""#.to_vec();
    large.resize(400 * 1024, b'x');
    large.extend_from_slice(b"\"}");
    let deadline = Instant::now() + HANG;
    while server.post_signed(&large).status != 200 {
        assert!(Instant::now() < deadline, "no permit came back");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(trickler);
}

#[test]
fn a_chunked_body_that_outgrows_the_free_permits_is_503_midway() {
    let server = TestServer::start_with_limits(LimitSettings {
        large_bodies: 0,
        ..patient()
    });
    let signature = sign(b"not this body");
    let mut stream = connect(&server);
    let head = post_head(None, &[("x-hub-signature-256", &signature)]);
    stream.write_all(head.as_bytes()).expect("head");
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..8 {
        let sent = write!(stream, "{:x}\r\n", chunk.len())
            .and_then(|()| stream.write_all(&chunk))
            .and_then(|()| stream.write_all(b"\r\n"));
        if sent.is_err() {
            break;
        }
    }
    let answer = read_head(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert_eq!(server.total_rows(), 0);
}

#[test]
fn a_body_trickling_below_the_floor_is_cut_off_and_a_slow_but_sane_one_is_read() {
    let server = TestServer::start_with_limits(LimitSettings {
        min_body_rate: 1024,
        body_grace: Duration::from_secs(2),
        ..LimitSettings::default()
    });
    let body = fixture("inbound_text.json");
    let signature = sign(&body);
    let head = post_head(Some(body.len()), &[("x-hub-signature-256", &signature)]);

    // A byte every 20 ms: 50 bytes a second, far below 1 KiB/s.
    let mut stream = connect(&server);
    stream.write_all(head.as_bytes()).expect("head");
    let mut writer = stream.try_clone().expect("clone");
    let trickle = std::thread::spawn(move || {
        for byte in body {
            if writer.write_all(&[byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let answer = read_head(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    drop(stream);
    let _ = trickle.join();
    assert_eq!(server.total_rows(), 0);

    // The same delivery in ten pieces within the grace is stored.
    let body = fixture("inbound_text.json");
    let mut stream = connect(&server);
    stream.write_all(head.as_bytes()).expect("head");
    for piece in body.chunks(body.len().div_ceil(10)) {
        stream.write_all(piece).expect("piece");
        std::thread::sleep(Duration::from_millis(10));
    }
    let answer = read_head(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert_eq!(server.count("messages"), 1);
}

/// A connection that has been served once and stays open (keep-alive).
fn open_and_served(server: &TestServer) -> Option<TcpStream> {
    let mut stream = connect(server);
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .ok()?;
    read_head(&mut stream)
        .starts_with("HTTP/1.1 200")
        .then_some(stream)
}

#[test]
fn connections_over_the_cap_are_refused_unread_until_one_closes() {
    let server = TestServer::start_with_limits(LimitSettings {
        max_connections: 3,
        ..LimitSettings::default()
    });
    let mut open: Vec<TcpStream> = (0..3)
        .map(|_| open_and_served(&server).expect("under the cap"))
        .collect();

    // The fourth is told 503 and closed, without a byte of it being read.
    let mut fourth = connect(&server);
    let mut answer = String::new();
    let _ = fourth.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(answer.contains("connection: close"), "{answer:?}");
    assert!(open_and_served(&server).is_none());

    open.pop();
    let deadline = Instant::now() + HANG;
    while open_and_served(&server).is_none() {
        assert!(
            Instant::now() < deadline,
            "the closed connection's place never came back"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_request_head_over_32_kib_is_431_and_not_buffered() {
    let server = TestServer::start();
    let padding = "a".repeat(40 * 1024);
    let head = post_head(Some(2), &[("x-padding", &padding)]);
    let answer = answer_to_head_alone(&server, &head);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
}
