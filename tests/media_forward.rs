//! Forwarding what was received: a file `get_media` saved in wa-mcp's media folder can be
//! sent with `send_media` even with `WA_MEDIA_SEND_DIRS` unset, while the folder that
//! holds the database (the media folder's parent) stays out of reach. Through the real
//! binary over stdio, mockito as Meta.

mod common;

use std::sync::{Arc, Mutex};

use common::mcp_checks::{error_text, outbound_rows, structured};
use common::mcp_client::{McpClient, wa_mcp_command};
use mockito::{Matcher, Server, ServerGuard};
use serde_json::json;
use sha2::{Digest, Sha256};

const MEDIA_ID: &str = "1003383421387256";
const IMAGE_WAMID: &str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=";

/// A small file that is a JPEG by its magic bytes.
fn jpeg() -> Vec<u8> {
    let mut bytes = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    bytes.extend((0..4000u32).map(|i| (i * 13 % 251) as u8));
    bytes
}

/// A database holding the image fixture without its webhook hash (Meta's media info
/// gives the hash of [`jpeg`], which the download is checked against).
fn seeded() -> (tempfile::TempDir, std::path::PathBuf) {
    let mut image = common::fixture_json("inbound_image.json");
    if let Some(part) =
        image["entry"][0]["changes"][0]["value"]["messages"][0]["image"].as_object_mut()
    {
        part.remove("sha256");
    }
    let delivery =
        wa_mcp::webhook::prepare_delivery(image.to_string().as_bytes(), "seed".into(), 0);
    common::seed::db_with(vec![delivery])
}

/// Meta's media info and download for the received image.
fn received_image_at_meta(meta: &mut ServerGuard) -> (mockito::Mock, mockito::Mock) {
    let hex: String = Sha256::digest(jpeg())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let info = meta
        .mock("GET", format!("/v26.0/{MEDIA_ID}").as_str())
        .with_status(200)
        .with_body(
            json!({"messaging_product": "whatsapp", "id": MEDIA_ID, "mime_type": "image/jpeg",
                   "sha256": hex, "file_size": jpeg().len(),
                   "url": format!("{}/whatsapp_business/attachments/?mid={MEDIA_ID}", meta.url())})
            .to_string(),
        )
        .expect(1)
        .create();
    let download = meta
        .mock("GET", "/whatsapp_business/attachments/")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(jpeg())
        .expect(1)
        .create();
    (info, download)
}

#[test]
fn a_received_image_saved_by_get_media_can_be_forwarded_with_the_variable_unset() {
    let (dir, db) = seeded();
    std::fs::write(dir.path().join("notes.txt"), "beside the database").expect("write");
    let mut meta = Server::new();
    let (info, download) = received_image_at_meta(&mut meta);
    let uploaded = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&uploaded);
    let upload = meta
        .mock("POST", "/v26.0/106540352242922/media")
        .with_status(200)
        .with_body_from_request(move |req| {
            keep.lock()
                .expect("lock")
                .extend_from_slice(req.body().expect("body"));
            br#"{"id":"FORWARDED1"}"#.to_vec()
        })
        .expect(1)
        .create();
    let send = meta
        .mock("POST", "/v26.0/106540352242922/messages")
        .match_body(Matcher::PartialJson(
            json!({"to": "447700900123", "type": "image", "image": {"id": "FORWARDED1"}}),
        ))
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.FWD"}]}"#)
        .expect(1)
        .create();
    // No WA_MEDIA_SEND_DIRS: only the media folder is open to the tools.
    let mut client = McpClient::spawn(wa_mcp_command(&db, &meta.url()), &["mcp", "--no-http"]);
    client.initialize();
    let saved = client.call("get_media", json!({"messageId": IMAGE_WAMID}));
    let path = structured(&saved)["path"]
        .as_str()
        .expect("path")
        .to_owned();
    let forwarded = client.call("send_media", json!({"to": "447700900123", "path": path}));
    assert_eq!(structured(&forwarded)["status"], "sent");
    assert_eq!(structured(&forwarded)["mediaId"], "FORWARDED1");
    let body = uploaded.lock().expect("lock").clone();
    assert!(
        body.windows(jpeg().len()).any(|w| w == jpeg().as_slice()),
        "Meta received the saved file's bytes"
    );

    // The media folder's parent holds the database: not sendable, by name or by `..`.
    for outside in [
        dir.path().join("notes.txt"),
        dir.path().join("wa.db"),
        std::path::Path::new(&path)
            .with_file_name("..")
            .join("notes.txt"),
    ] {
        let text = error_text(&client.call(
            "send_media",
            json!({"to": "447700900123", "path": outside, "type": "document"}),
        ));
        assert!(text.contains("WA_MEDIA_SEND_DIRS is not set"), "{text}");
        assert!(text.contains("Nothing was read or sent"), "{text}");
    }
    info.assert();
    download.assert();
    upload.assert();
    send.assert();
    assert_eq!(outbound_rows(&db), 1);
    client.finish();
}
