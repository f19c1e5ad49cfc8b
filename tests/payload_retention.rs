//! Finding 2 of the hardening review: replays and time must not fill the disk. A
//! duplicate delivery keeps its log row with the payload's hash and size but not the
//! payload; payloads older than `WA_PAYLOAD_RETENTION_DAYS` are dropped by a task in
//! `serve` and `mcp`, except those of failed deliveries; `events reprocess` then says
//! the payload has expired.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::listener::{KillOnDrop, NO_META};
use common::mcp_client::{McpClient, wa_mcp_command};
use rusqlite::Connection;
use serde_json::json;
use wa_mcp::model::{NormaliseError, Outcome, PreparedDelivery};
use wa_mcp::store::Store;
use wa_mcp::webhook::prepare_delivery;

const DAY_US: i64 = 86_400 * 1_000_000;

/// A signed-delivery body of at least `kb` KB: text messages of about 4 KB each.
fn large_body(kb: usize) -> Vec<u8> {
    let text = "Hello, a long message about the order. ".repeat(100);
    let messages: Vec<_> = (0..kb / 4 + 2)
        .map(|i| {
            json!({"from": "447700900123", "id": format!("wamid.LARGE{i:04}"),
                   "timestamp": "1795428000", "type": "text", "text": {"body": text}})
        })
        .collect();
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "447700900123"}],
            "messages": messages}}]}]})
    .to_string()
    .into_bytes()
}

/// A one-message delivery received `days_ago` days ago; failed when `failed`.
fn received(wamid: &str, days_ago: i64, failed: bool) -> PreparedDelivery {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"metadata": {"phone_number_id": "106540352242922"},
        "messages": [{"from": "447700900123", "id": wamid, "timestamp": "1795428000",
                      "type": "text", "text": {"body": "hi"}}]}}]}]});
    let at = wa_mcp::timefmt::now_micros() - days_ago * DAY_US;
    let mut prepared = prepare_delivery(body.to_string().as_bytes(), wamid.into(), at);
    if failed {
        prepared.parsed = Err(NormaliseError::NoEntries);
    }
    prepared
}

fn conn(db: &Path) -> Connection {
    Connection::open(db).expect("db")
}

/// `(payload kept, payload_dropped)` of delivery `id`.
fn payload_state(db: &Path, id: i64) -> (bool, Option<String>) {
    conn(db)
        .query_row(
            "SELECT payload IS NOT NULL, payload_dropped FROM webhook_events WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row")
}

#[test]
fn replays_keep_their_log_rows_with_hash_and_size_but_not_the_payload() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let store = Store::open(&db).expect("store");
    let body = large_body(200);
    assert!(body.len() >= 200 * 1024, "{} bytes", body.len());
    let first = store
        .commit_delivery_blocking(prepare_delivery(&body, "first".into(), 0))
        .expect("stored");
    assert_eq!(first.outcome, Outcome::Processed);
    for i in 0..20 {
        let replay = store
            .commit_delivery_blocking(prepare_delivery(&body, format!("replay-{i}"), 0))
            .expect("stored");
        assert_eq!(replay.outcome, Outcome::Duplicate);
    }
    let c = conn(&db);
    let (rows, kept, stored_bytes): (i64, i64, i64) = c
        .query_row(
            "SELECT count(*), count(payload), coalesce(sum(length(payload)), 0)
             FROM webhook_events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("counts");
    assert_eq!(
        (rows, kept),
        (21, 1),
        "every replay has a row, one payload is kept"
    );
    assert!(
        stored_bytes <= body.len() as i64,
        "{stored_bytes} bytes of payload kept"
    );
    let replays: Vec<(String, i64, Option<String>)> = c
        .prepare("SELECT payload_sha256, payload_bytes, payload_dropped FROM webhook_events WHERE id <> ?1")
        .expect("sql")
        .query_map([first.event_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("read");
    let sha = wa_mcp::hex::to_hex(&<sha2::Sha256 as sha2::Digest>::digest(&body));
    for replay in replays {
        assert_eq!(replay, (sha.clone(), body.len() as i64, None));
    }
}

#[test]
fn old_payloads_expire_except_failed_ones_and_reprocess_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let store = Store::open(&db).expect("store");
    let old = store
        .commit_delivery_blocking(received("wamid.OLD", 40, false))
        .expect("stored");
    let old_failed = store
        .commit_delivery_blocking(received("wamid.OLDF", 40, true))
        .expect("stored");
    let recent = store
        .commit_delivery_blocking(received("wamid.NEW", 2, false))
        .expect("stored");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dropped = runtime
        .block_on(store.expire_payloads(30))
        .expect("expired");
    assert_eq!(dropped, 1);
    assert_eq!(
        payload_state(&db, old.event_id),
        (false, Some("expired".into()))
    );
    assert_eq!(
        payload_state(&db, old_failed.event_id),
        (true, None),
        "failed: kept"
    );
    assert_eq!(payload_state(&db, recent.event_id), (true, None));
    let messages: i64 = conn(&db)
        .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .expect("count");
    assert_eq!(messages, 2, "only payloads go, never rows");
    drop(store);

    let out = Command::new(env!("CARGO_BIN_EXE_wa-mcp"))
        .env_clear()
        .env("WA_DB_PATH", &db)
        .args(["events", "reprocess", &old.event_id.to_string()])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("payload has expired"), "{stderr}");
    assert!(stderr.contains("WA_PAYLOAD_RETENTION_DAYS"), "{stderr}");
}

/// Polls until delivery `id`'s payload is gone; fails the test after 30 s.
fn wait_until_expired(db: &Path, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while payload_state(db, id).0 {
        assert!(
            Instant::now() < deadline,
            "the payload of {id} was never dropped"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(payload_state(db, id), (false, Some("expired".into())));
}

/// A database holding one delivery received 40 days ago, and its id.
fn db_with_an_old_delivery() -> (tempfile::TempDir, std::path::PathBuf, i64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let store = Store::open(&db).expect("store");
    let id = store
        .commit_delivery_blocking(received("wamid.OLD", 40, false))
        .expect("stored")
        .event_id;
    (dir, db, id)
}

#[test]
fn serve_and_mcp_drop_old_payloads_in_the_background_unless_told_to_keep_them() {
    let (_kept_dir, db, id) = db_with_an_old_delivery();
    let mut keep_all = wa_mcp_command(&db, NO_META);
    keep_all.env("WA_PAYLOAD_RETENTION_DAYS", "0");
    let mut kept = McpClient::spawn(keep_all, &["mcp", "--no-http"]);
    kept.initialize();
    let stderr = kept.finish();
    assert!(stderr.contains("payload_retention_off"), "{stderr}");
    assert!(payload_state(&db, id).0, "0 keeps every payload");

    // The default, 30 days.
    let (_mcp_dir, db, id) = db_with_an_old_delivery();
    let mut mcp = McpClient::spawn(wa_mcp_command(&db, NO_META), &["mcp", "--no-http"]);
    mcp.initialize();
    wait_until_expired(&db, id);
    mcp.finish();

    let (_serve_dir, db, id) = db_with_an_old_delivery();
    let serve = wa_mcp_command(&db, NO_META)
        .env("APP_HTTP_PORT", common::free_port().to_string())
        .env("WA_PAYLOAD_RETENTION_DAYS", "7")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let _serve = KillOnDrop(serve);
    wait_until_expired(&db, id);
}
