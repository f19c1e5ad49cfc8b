//! send_media through the real binary over stdio: the upload Meta receives, the send by
//! media id, the reuse of that id, the folder rule, the format and size checks, and what
//! get_messages shows of a file we sent.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use common::mcp_checks::{error_text, outbound_rows, structured};
use common::mcp_client::{McpClient, wa_mcp_command};
use mockito::{Matcher, Server, ServerGuard};
use serde_json::json;
use sha2::{Digest, Sha256};

const MESSAGES: &str = "/v26.0/106540352242922/messages";
const MEDIA: &str = "/v26.0/106540352242922/media";

/// A folder to send from, a folder beside it that must stay out of reach, the database.
struct Setup {
    _root: tempfile::TempDir,
    allowed: std::path::PathBuf,
    outside: std::path::PathBuf,
    db: std::path::PathBuf,
}

fn setup() -> Setup {
    let root = tempfile::tempdir().expect("temp dir");
    let allowed = root.path().join("outbox");
    let outside = root.path().join("private");
    std::fs::create_dir(&allowed).expect("mkdir");
    std::fs::create_dir(&outside).expect("mkdir");
    let db = root.path().join("data").join("wa.db");
    Setup {
        allowed,
        outside,
        db,
        _root: root,
    }
}

fn start(s: &Setup, meta: &ServerGuard, dirs: Option<&Path>) -> McpClient {
    let mut command = wa_mcp_command(&s.db, &meta.url());
    if let Some(dirs) = dirs {
        command.env("WA_MEDIA_SEND_DIRS", dirs);
    }
    let mut client = McpClient::spawn(command, &["mcp", "--no-http"]);
    client.initialize();
    client
}

fn pdf(size: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..size).map(|i| (i * 7 % 251) as u8));
    bytes
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The parts of a multipart body: (name, bytes).
fn parts(body: &[u8], content_type: &str) -> Vec<(String, Vec<u8>)> {
    let boundary = content_type.split("boundary=").nth(1).expect("boundary");
    let delimiter = format!("--{boundary}");
    let text = body;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let head_end = find(rest, b"\r\n\r\n").expect("part head");
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let name = head
            .split("name=\"")
            .nth(1)
            .and_then(|n| n.split('"').next())
            .unwrap_or("")
            .to_owned();
        let content = &rest[head_end + 4..];
        let end = find(content, format!("\r\n{delimiter}").as_bytes()).expect("part end");
        out.push((name, content[..end].to_vec()));
        rest = &content[end..];
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Each upload Meta received: its content type and body.
type Uploads = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// The upload endpoint, keeping every body it received with its content type.
fn capture_uploads(meta: &mut ServerGuard, id: &str) -> (mockito::Mock, Uploads) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&seen);
    let answer = json!({"id": id}).to_string();
    let mock = meta
        .mock("POST", MEDIA)
        .match_header(
            "content-type",
            Matcher::Regex("^multipart/form-data; boundary=".into()),
        )
        .with_status(200)
        .with_body_from_request(move |req| {
            let ct = req
                .header("content-type")
                .first()
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            keep.lock()
                .expect("lock")
                .push((ct, req.body().expect("body").clone()));
            answer.clone().into_bytes()
        })
        .expect(1)
        .create();
    (mock, seen)
}

/// The send endpoint, answering a fresh wamid each time.
fn sends(meta: &mut ServerGuard, body: serde_json::Value, times: usize) -> mockito::Mock {
    let n = Arc::new(Mutex::new(0));
    meta.mock("POST", MESSAGES)
        .match_body(Matcher::PartialJson(body))
        .with_status(200)
        .with_body_from_request(move |_| {
            let mut n = n.lock().expect("lock");
            *n += 1;
            json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.M{n}")}]})
                .to_string()
                .into_bytes()
        })
        .expect(times)
        .create()
}

#[test]
fn a_local_file_is_uploaded_once_then_sent_by_its_media_id() {
    let s = setup();
    let bytes = pdf(200_000);
    let file = s.allowed.join("report.pdf");
    std::fs::write(&file, &bytes).expect("write");
    let mut meta = Server::new();
    let (upload, seen) = capture_uploads(&mut meta, "MEDIA123");
    let send = sends(
        &mut meta,
        json!({"to": "447700900123", "type": "document",
               "document": {"id": "MEDIA123", "filename": "report.pdf", "caption": "The report"}}),
        2,
    );
    let mut client = start(&s, &meta, Some(&s.allowed));
    let args = json!({"to": "447700900123", "path": file, "caption": "The report"});
    let first = client.call("send_media", args.clone());
    let result = structured(&first);
    assert_eq!(result["status"], "sent");
    assert_eq!(result["mediaId"], "MEDIA123");
    let second = client.call("send_media", args);
    assert_eq!(
        structured(&second)["mediaId"],
        "MEDIA123",
        "the same file reuses its id"
    );
    upload.assert();
    send.assert();

    let uploads = seen.lock().expect("lock");
    let (content_type, body) = &uploads[0];
    let parts = parts(body, content_type);
    let part = |name: &str| {
        parts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("no {name} part"))
    };
    assert_eq!(part("messaging_product"), b"whatsapp");
    assert_eq!(part("type"), b"application/pdf");
    assert_eq!(
        hex_sha256(&part("file")),
        hex_sha256(&bytes),
        "Meta got the file's bytes"
    );

    let page = client.call("get_messages", json!({"direction": "outbound"}));
    let media = &structured(&page)["messages"][0]["media"];
    assert_eq!(media["id"], "MEDIA123");
    assert_eq!(media["mimeType"], "application/pdf");
    assert_eq!(media["sha256"], hex_sha256(&bytes));
    assert_eq!(media["filename"], "report.pdf");
    assert_eq!(media["size"], bytes.len());
    client.finish();
}

#[test]
fn files_the_rules_refuse_make_no_request_and_no_row() {
    let s = setup();
    std::fs::write(
        s.outside.join("id_rsa"),
        "-----BEGIN OPENSSH PRIVATE KEY-----\n",
    )
    .expect("write");
    std::os::unix::fs::symlink(s.outside.join("id_rsa"), s.allowed.join("innocent.txt"))
        .expect("symlink");
    std::fs::write(s.allowed.join("photo.png"), pdf(100)).expect("write");
    let mut big = vec![0xFF, 0xD8, 0xFF, 0xE0];
    big.resize(6 * 1024 * 1024, 0);
    std::fs::write(s.allowed.join("big.jpg"), &big).expect("write");
    let mut vorbis = b"OggS".to_vec();
    vorbis.resize(28, 0);
    vorbis.extend_from_slice(b"\x01vorbis");
    std::fs::write(s.allowed.join("note.ogg"), &vorbis).expect("write");
    std::fs::create_dir(s.allowed.join("folder")).expect("mkdir");
    std::fs::write(s.allowed.join("song.mp3"), b"ID3\x04\0\0\0\0\0\0").expect("write");
    let mut meta = Server::new();
    let none = meta.mock("POST", Matcher::Any).expect(0).create();
    let mut client = start(&s, &meta, Some(&s.allowed));
    let to = "447700900123";
    for (args, expected) in [
        (
            json!({"to": to, "path": s.outside.join("id_rsa")}),
            "outside the folders",
        ),
        (
            json!({"to": to, "path": s.allowed.join("innocent.txt")}),
            "outside the folders",
        ),
        (
            json!({"to": to, "path": s.allowed.join("../private/id_rsa")}),
            "outside the folders",
        ),
        (
            json!({"to": to, "path": s.allowed.join("photo.png"), "type": "image"}),
            "PDF",
        ),
        (
            json!({"to": to, "path": s.allowed.join("big.jpg")}),
            "at most 5242880 bytes",
        ),
        (
            json!({"to": to, "path": s.allowed.join("note.ogg"), "voice": true}),
            "not Opus",
        ),
        (
            json!({"to": to, "path": s.allowed.join("song.mp3"), "voice": true}),
            "OGG/Opus",
        ),
        (
            json!({"to": to, "path": s.allowed.join("folder"), "type": "document"}),
            "regular file",
        ),
        (
            json!({"to": to, "url": "http://example.com/a.jpg", "type": "image"}),
            "https",
        ),
        (
            json!({"to": to, "url": "https://example.com/a.jpg"}),
            "`type`",
        ),
        (
            json!({"to": to, "url": "https://example.com/a.ogg", "type": "audio", "caption": "x"}),
            "caption",
        ),
    ] {
        let text = error_text(&client.call("send_media", args.clone()));
        assert!(text.contains(expected), "{args}: {text}");
        assert!(
            text.contains("othing was") || text.contains("nothing"),
            "{args}: {text}"
        );
    }
    client.finish();
    let mut unset = start(&s, &meta, None);
    let text = error_text(&unset.call(
        "send_media",
        json!({"to": to, "path": s.allowed.join("photo.png")}),
    ));
    assert!(text.contains("WA_MEDIA_SEND_DIRS"), "{text}");
    unset.finish();
    none.assert();
    assert_eq!(outbound_rows(&s.db), 0);
}

#[test]
fn a_url_is_sent_as_a_link_and_never_fetched() {
    let s = setup();
    let mut meta = Server::new();
    let send = sends(
        &mut meta,
        json!({"type": "image", "image": {"link": "https://cdn.example.com/cat.jpg", "caption": "Cat"}}),
        1,
    );
    let upload = meta.mock("POST", MEDIA).expect(0).create();
    let mut client = start(&s, &meta, None);
    let sent = client.call(
        "send_media",
        json!({"to": "447700900123", "url": "https://cdn.example.com/cat.jpg", "type": "image", "caption": "Cat"}),
    );
    assert_eq!(structured(&sent)["status"], "sent");
    send.assert();
    upload.assert();
    client.finish();
}

#[test]
fn an_upload_meta_refuses_fails_the_row_and_sends_nothing() {
    let s = setup();
    std::fs::write(s.allowed.join("a.pdf"), pdf(10)).expect("write");
    let mut meta = Server::new();
    let upload = meta
        .mock("POST", MEDIA)
        .with_status(400)
        .with_body(r#"{"error":{"message":"(#131053) Media upload error","type":"OAuthException","code":131053,"error_data":{"details":"Unsupported file"}}}"#)
        .expect(1)
        .create();
    let send = meta.mock("POST", MESSAGES).expect(0).create();
    let mut client = start(&s, &meta, Some(&s.allowed));
    let text = error_text(&client.call(
        "send_media",
        json!({"to": "447700900123", "path": s.allowed.join("a.pdf")}),
    ));
    assert!(text.contains("131053"), "{text}");
    upload.assert();
    send.assert();
    let page = client.call("get_messages", json!({"direction": "outbound"}));
    assert_eq!(structured(&page)["messages"][0]["status"], "failed");
    client.finish();
}
