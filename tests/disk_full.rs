//! A full disk while a delivery is written is a 503 (Meta retries), never a delivery
//! logged `failed` and answered 200; and once space is back, deliveries are answered 200
//! again without a restart. The first test fills the database with SQLite's page limit;
//! the second mounts a small tmpfs, runs `wa-mcp serve` on it and fills it for real.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::listener::{KillOnDrop, SECRET};
use common::mcp_client::wa_mcp_command;
use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use wa_mcp::store::{Store, StoreError};
use wa_mcp::webhook::prepare_delivery;

/// A delivery of one text message of `text_bytes` bytes, with the wamid `wamid`.
fn text_delivery(wamid: &str, text_bytes: usize) -> Vec<u8> {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Disk Tester"}, "wa_id": "447700900123"}],
            "messages": [{"from": "447700900123", "id": wamid, "timestamp": "1764000000",
                "type": "text", "text": {"body": "x".repeat(text_bytes)}}]}}]}]})
    .to_string()
    .into_bytes()
}

#[test]
fn a_full_database_while_writing_rows_is_an_error_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("wa-mcp.db")).expect("store opens");
    let body = text_delivery("wamid.FULL1", 60_000);
    // Room for about 25 more pages: enough for the delivery-log row and its payload
    // (about 15 pages), not for that and the message row as well.
    store
        .write_blocking(|ctx| {
            let pages: i64 = ctx
                .conn()
                .query_row("PRAGMA page_count", [], |r| r.get(0))?;
            ctx.conn()
                .execute_batch(&format!("PRAGMA max_page_count = {}", pages + 25))?;
            Ok(())
        })
        .expect("limit set");
    let result = store.commit_delivery_blocking(prepare_delivery(&body, "r1".into(), 0));
    match result {
        Err(e) => assert!(e.is_transient(), "a full disk is transient: {e}"),
        Ok(report) => panic!("a full disk was answered as {report:?}"),
    }
    let events = |store: &Store| {
        store
            .read_blocking(|c| {
                Ok(c.query_row("SELECT count(*) FROM webhook_events", [], |r| {
                    r.get::<_, i64>(0)
                })?)
            })
            .expect("count")
    };
    assert_eq!(
        events(&store),
        0,
        "nothing is kept of a delivery not stored"
    );
    store
        .write_blocking(|ctx| {
            ctx.conn()
                .execute_batch("PRAGMA max_page_count = 1073741823")?;
            Ok::<_, StoreError>(())
        })
        .expect("limit lifted");
    let report = store
        .commit_delivery_blocking(prepare_delivery(&body, "r2".into(), 0))
        .expect("stored once there is room");
    assert_eq!(report.new_messages, 1);
    assert_eq!(events(&store), 1);
}

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Mounts a tmpfs of `size` at `dir`, or says why it cannot.
fn mount_tmpfs(dir: &Path, size: &str) -> Result<Mounted, String> {
    let out = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size},mode=0700"),
            "tmpfs",
        ])
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if out.status.success() {
        Ok(Mounted(dir.to_path_buf()))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// POSTs a signed `body`; the status and the `Retry-After` header.
fn post(port: u16, body: &[u8]) -> (u16, Option<String>) {
    let signature = wa_mcp::webhook::signature::signature_header(SECRET, body);
    let resp = ureq::post(&format!("http://127.0.0.1:{port}/webhook/meta"))
        .header("x-hub-signature-256", &signature)
        .config()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .send(body)
        .expect("webhook answered");
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (resp.status().as_u16(), retry)
}

fn health_status(port: u16) -> u16 {
    ureq::get(&format!("http://127.0.0.1:{port}/health"))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .expect("health answered")
        .status()
        .as_u16()
}

/// Writes zeros to `path` until the file system refuses.
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
}

#[test]
fn serve_on_a_full_disk_answers_503_loses_nothing_acked_and_recovers_without_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mnt = dir.path().join("small");
    std::fs::create_dir(&mnt).expect("mount point");
    let _mounted = match mount_tmpfs(&mnt, "24m") {
        Ok(m) => m,
        Err(why) => {
            println!("skipped: a tmpfs cannot be mounted here ({why}); CI runs this as root");
            return;
        }
    };
    let db = mnt.join("wa-mcp.db");
    let port = common::free_port();
    let serve = wa_mcp_command(&db, common::listener::NO_META)
        .env("APP_HTTP_PORT", port.to_string())
        .env("RUST_LOG", "warn")
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let serve = KillOnDrop(serve);
    common::listener::wait_for_health(port);

    let mut acked = Vec::new();
    let mut send = |n: usize| {
        let wamid = format!("wamid.DISK{n:05}");
        let (status, retry) = post(port, &text_delivery(&wamid, 100_000));
        if status == 200 {
            acked.push(wamid);
        }
        (status, retry)
    };
    for n in 0..5 {
        assert_eq!(send(n).0, 200, "room on the disk");
    }
    let filler = mnt.join("filler");
    fill(&filler);
    // The WAL may still have room for a few commits; past it, every answer is a 503.
    let mut refused = None;
    for n in 5..400 {
        match send(n) {
            (200, _) => {}
            (503, retry) => {
                refused = Some((n, retry));
                break;
            }
            (other, _) => panic!("delivery {n} on a full disk answered {other}"),
        }
    }
    let (n, retry) = refused.expect("a full disk is answered 503 at last");
    assert!(retry.is_some(), "a 503 says when to retry");
    assert_eq!(
        health_status(port),
        503,
        "/health says the writer cannot commit"
    );

    std::fs::remove_file(&filler).expect("space freed");
    assert_eq!(
        send(n).0,
        200,
        "the refused delivery is taken once there is room"
    );
    assert_eq!(send(n + 1).0, 200);
    assert_eq!(health_status(port), 200);
    drop(serve);

    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("db");
    for wamid in &acked {
        let stored: i64 = conn
            .query_row(
                "SELECT count(*) FROM messages WHERE wamid = ?1",
                [wamid],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(
            stored, 1,
            "{wamid} was answered 200 and must be stored once"
        );
    }
}
