//! The rules send_media and send_interactive keep besides the folder and format checks:
//! the idempotency key (a replay sends and uploads nothing; the same key for another
//! message is refused), captions, filenames, the sticker limits and the voice note's
//! play icon. Through the real binary over stdio, mockito as Meta.

mod common;

use std::path::PathBuf;

use common::mcp_checks::{error_text, outbound_rows, structured};
use common::mcp_client::{McpClient, wa_mcp_command};
use mockito::{Matcher, Mock, Server, ServerGuard};
use serde_json::{Value, json};

const MESSAGES: &str = "/v26.0/106540352242922/messages";
const MEDIA: &str = "/v26.0/106540352242922/media";
const TO: &str = "447700900123";

/// A temp folder holding the database and `outbox/`, the folder WA_MEDIA_SEND_DIRS lists.
struct Setup {
    _root: tempfile::TempDir,
    outbox: PathBuf,
    db: PathBuf,
}

fn setup() -> Setup {
    let root = tempfile::tempdir().expect("temp dir");
    let outbox = root.path().join("outbox");
    std::fs::create_dir(&outbox).expect("outbox");
    let db = root.path().join("wa.db");
    Setup {
        _root: root,
        outbox,
        db,
    }
}

impl Setup {
    fn start(&self, meta: &ServerGuard) -> McpClient {
        let mut command = wa_mcp_command(&self.db, &meta.url());
        command.env("WA_MEDIA_SEND_DIRS", &self.outbox);
        let mut client = McpClient::spawn(command, &["mcp", "--no-http"]);
        client.initialize();
        client
    }

    /// Writes `bytes` as `name` in the outbox and returns its path.
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.outbox.join(name);
        std::fs::write(&path, bytes).expect("write");
        path.to_string_lossy().into_owned()
    }
}

fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.7\n{text}").into_bytes()
}

/// OGG/Opus audio of `size` bytes.
fn opus(size: usize) -> Vec<u8> {
    let mut bytes = b"OggS".to_vec();
    bytes.resize(28, 0);
    bytes.extend_from_slice(b"OpusHead");
    bytes.resize(size, 7);
    bytes
}

/// A WebP of `size` bytes, animated or not.
fn webp(size: usize, animated: bool) -> Vec<u8> {
    let mut bytes = b"RIFF\0\0\0\0WEBP".to_vec();
    if animated {
        bytes.extend_from_slice(b"VP8X\x0a\0\0\0\x02");
    } else {
        bytes.extend_from_slice(b"VP8 ");
    }
    bytes.resize(size, 0);
    bytes
}

fn uploads(meta: &mut ServerGuard, id: &str, hits: usize) -> Mock {
    meta.mock("POST", MEDIA)
        .with_status(200)
        .with_body(json!({"id": id}).to_string())
        .expect(hits)
        .create()
}

/// The send endpoint for requests containing `body`, answering a new wamid each time.
fn sends(meta: &mut ServerGuard, body: Value, hits: usize) -> Mock {
    let n = std::sync::atomic::AtomicUsize::new(0);
    meta.mock("POST", MESSAGES)
        .match_body(Matcher::PartialJson(body))
        .with_status(200)
        .with_body_from_request(move |_| {
            let n = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.S{n}")}]})
                .to_string()
                .into_bytes()
        })
        .expect(hits)
        .create()
}

#[test]
fn send_media_replays_a_key_without_uploading_and_refuses_it_for_another_file() {
    let s = setup();
    let report = s.file("report.pdf", &pdf("first"));
    let other = s.file("other.pdf", &pdf("second"));
    // Exactly 1024 characters, each two bytes in UTF-8: the limit counts characters.
    let caption = "é".repeat(1024);
    let mut meta = Server::new();
    let upload = uploads(&mut meta, "MEDIA1", 1);
    let send = sends(
        &mut meta,
        json!({"document": {"id": "MEDIA1", "caption": caption}}),
        1,
    );
    let mut client = s.start(&meta);
    let args =
        |path: &str| json!({"to": TO, "path": path, "caption": caption, "idempotencyKey": "doc-1"});
    let first = client.call("send_media", args(&report));
    assert_eq!(structured(&first)["status"], "sent");
    let replay = client.call("send_media", args(&report));
    assert_eq!(replay["structuredContent"], first["structuredContent"]);
    let text = error_text(&client.call("send_media", args(&other)));
    assert!(
        text.contains("already used for a different message"),
        "{text}"
    );
    // The same path with other content is another message too.
    std::fs::write(&report, pdf("changed")).expect("rewrite");
    let text = error_text(&client.call("send_media", args(&report)));
    assert!(
        text.contains("already used for a different message"),
        "{text}"
    );
    upload.assert();
    send.assert();
    assert_eq!(outbound_rows(&s.db), 1);
    client.finish();
}

#[test]
fn send_interactive_replays_a_key_and_refuses_it_for_other_buttons() {
    let s = setup();
    let mut meta = Server::new();
    let send = sends(&mut meta, json!({"interactive": {"type": "button"}}), 1);
    let mut client = s.start(&meta);
    let args = |title: &str| {
        json!({"to": TO, "body": "Coming tonight?", "idempotencyKey": "ask-1",
               "buttons": [{"id": "yes", "title": title}, {"id": "no", "title": "No"}]})
    };
    let first = client.call("send_interactive", args("Yes"));
    assert_eq!(structured(&first)["status"], "sent");
    let replay = client.call("send_interactive", args("Yes"));
    assert_eq!(replay["structuredContent"], first["structuredContent"]);
    let text = error_text(&client.call("send_interactive", args("Yes!")));
    assert!(
        text.contains("already used for a different message"),
        "{text}"
    );
    send.assert();
    assert_eq!(outbound_rows(&s.db), 1);
    client.finish();
}

#[test]
fn long_captions_misplaced_filenames_and_oversized_stickers_make_no_request_and_no_row() {
    let s = setup();
    let song = s.file("song.ogg", &opus(4096));
    let sticker = s.file("sticker.webp", &webp(100 * 1024 + 1, false));
    let animated = s.file("animated.webp", &webp(500 * 1024 + 1, true));
    let mut meta = Server::new();
    let none = meta.mock("POST", Matcher::Any).expect(0).create();
    let mut client = s.start(&meta);
    let url = "https://cdn.example.com/cat.jpg";
    for (args, expected) in [
        (
            json!({"to": TO, "url": url, "type": "image", "caption": "x".repeat(1025)}),
            "at most 1024 characters; it has 1025",
        ),
        (
            json!({"to": TO, "url": url, "type": "image", "filename": "cat.jpg"}),
            "`filename` is only for a document",
        ),
        (
            json!({"to": TO, "path": song, "filename": "song.ogg"}),
            "`filename` is only for a document",
        ),
        (
            json!({"to": TO, "path": sticker}),
            "static WebP sticker files of at most 102400 bytes",
        ),
        (
            json!({"to": TO, "path": animated}),
            "animated WebP sticker files of at most 512000 bytes",
        ),
    ] {
        let text = error_text(&client.call("send_media", args.clone()));
        assert!(text.contains(expected), "{args}: {text}");
        assert!(text.contains("Nothing was sent"), "{args}: {text}");
    }
    none.assert();
    assert_eq!(outbound_rows(&s.db), 0);
    client.finish();
}

#[test]
fn a_voice_note_goes_out_as_one_and_says_when_it_is_too_large_for_the_play_icon() {
    let s = setup();
    let long = s.file("long.ogg", &opus(512 * 1024 + 1));
    let short = s.file("short.ogg", &opus(8 * 1024));
    let mut meta = Server::new();
    let upload = uploads(&mut meta, "VOICE1", 2);
    let send = sends(
        &mut meta,
        json!({"type": "audio", "audio": {"id": "VOICE1", "voice": true}}),
        2,
    );
    let mut client = s.start(&meta);
    let sent = client.call("send_media", json!({"to": TO, "path": long, "voice": true}));
    let note = structured(&sent)["note"].as_str().unwrap_or_default();
    assert!(note.contains("over 512 KiB"), "{sent}");
    assert!(note.contains("without the play icon"), "{sent}");
    let sent = client.call(
        "send_media",
        json!({"to": TO, "path": short, "voice": true}),
    );
    assert_eq!(structured(&sent)["status"], "sent");
    assert!(structured(&sent).get("note").is_none(), "{sent}");
    upload.assert();
    send.assert();
    client.finish();
}
