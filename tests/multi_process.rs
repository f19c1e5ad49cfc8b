//! Two processes on one database file, as an owner runs them: a `serve` daemon taking
//! webhooks and an `mcp --no-http` process sending, both writing at the same time.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::listener::{KillOnDrop, wait_for_health};
use common::mcp_client::{BIN, McpClient};
use mockito::Server;
use serde_json::json;

const SENDS: usize = 40;
const DELIVERIES: usize = 120;

#[test]
fn serve_and_mcp_write_one_file_at_once_without_locked_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("shared.db");
    let port = common::free_port();
    let serve_log = std::fs::File::create(dir.path().join("serve.log")).expect("log file");
    let serve = Command::new(BIN)
        .env_clear()
        .env("WA_DB_PATH", &db)
        .env("WA_APP_SECRET", common::APP_SECRET)
        .env("APP_HTTP_PORT", port.to_string())
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::from(serve_log))
        .spawn()
        .expect("serve starts");
    let mut serve = KillOnDrop(serve);
    wait_for_health(port);

    let mut meta = Server::new();
    let counter = Arc::new(AtomicUsize::new(0));
    let wamids = Arc::clone(&counter);
    let _mock = meta
        .mock("POST", "/v26.0/106540352242922/messages")
        .with_status(200)
        .with_body_from_request(move |_| {
            let n = wamids.fetch_add(1, Ordering::SeqCst);
            json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.MP{n}")}]})
                .to_string()
                .into_bytes()
        })
        .create();
    let (mut client, _) = McpClient::start(&db, &meta.url());

    let poster = std::thread::spawn(move || {
        let url = format!("http://127.0.0.1:{port}/webhook/meta");
        for i in 0..DELIVERIES {
            let body = wa_mcp::cli::simulated_text_delivery(
                &format!("4477009{i:05}"),
                "Load",
                &format!("inbound {i}"),
                "106540352242922",
                "1",
                1_749_416_383,
            )
            .to_string();
            let status = ureq::post(&url)
                .header("x-hub-signature-256", &common::sign(body.as_bytes()))
                .send(body.as_bytes())
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            assert_eq!(status, 200, "delivery {i}");
        }
    });
    for i in 0..SENDS {
        let result = client.call(
            "send_message",
            json!({"to": "447700900123", "body": format!("out {i}")}),
        );
        assert_eq!(result["isError"], false, "send {i}: {result}");
    }
    poster.join().expect("all deliveries answered 200");
    let stderr = client.finish();
    assert!(!stderr.contains("database is locked"), "{stderr}");
    let _ = Command::new("kill")
        .args(["-TERM", &serve.0.id().to_string()])
        .status();
    let status = serve.0.wait().expect("serve exits");
    assert_eq!(status.code(), Some(0));
    let serve_log = std::fs::read_to_string(dir.path().join("serve.log")).expect("serve log");
    assert!(!serve_log.contains("locked"), "{serve_log}");

    let conn = rusqlite::Connection::open(&db).expect("db");
    let created: Vec<String> = conn
        .prepare("SELECT created_at FROM messages ORDER BY rowid")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(created.len(), SENDS + DELIVERIES);
    for pair in created.windows(2) {
        assert!(
            pair[0] < pair[1],
            "created_at not strictly increasing: {pair:?}"
        );
    }
}
