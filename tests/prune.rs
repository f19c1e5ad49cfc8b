//! `wa-mcp prune`: the real binary saying what is old, removing exactly that (messages,
//! their status events, delivery-log payloads, saved media) and nothing else, keeping who
//! has written to us, and leaving a running `serve` answering throughout.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::inbound::{self, PNID};
use common::listener::{NO_META, post_text, serve};
use common::mcp_client::wa_mcp_command;
use rusqlite::Connection;
use serde_json::json;
use sha2::{Digest, Sha256};
use wa_mcp::store::Store;
use wa_mcp::store::media::{SavedMedia, record_saved_media};

const ANN: &str = "15550001111";
const BEN: &str = "16505551234";
const OLD: &str = "2025-03-01T10:00:00.000000Z";

fn run(db: &Path, args: &[&str]) -> Output {
    wa_mcp_command(db, NO_META)
        .args(args)
        .output()
        .expect("wa-mcp runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn conn(db: &Path) -> Connection {
    let conn = Connection::open(db).expect("opens");
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .expect("busy timeout");
    conn
}

fn count(db: &Path, sql: &str) -> i64 {
    conn(db).query_row(sql, [], |r| r.get(0)).expect("count")
}

/// A status delivery about `wamid`.
fn status(wamid: &str) -> wa_mcp::model::PreparedDelivery {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
    "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PNID},
        "statuses": [{"id": wamid, "status": "delivered", "timestamp": "1749416390",
                      "recipient_id": ANN}]
    }}]}]});
    wa_mcp::webhook::prepare_delivery(body.to_string().as_bytes(), format!("st-{wamid}"), 0)
}

/// Ann wrote (a text and a photo, saved) and got a status long ago; Ben wrote today.
/// Returns the folder, the database and the saved photo's path.
fn seeded() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let image = json!({"type": "image", "image": {"id": "m1", "mime_type": "image/jpeg"}});
    let (dir, db) = common::seed::db_with(vec![
        inbound::text(ANN, "Ann", "wamid.OLD1", 1_740_823_200, "an old hello"),
        inbound::inbound(ANN, "Ann", "wamid.OLD2", 1_740_823_260, image),
        status("wamid.OLD1"),
        status("wamid.NEVERCAME"),
        inbound::text(BEN, "Ben", "wamid.NEW1", 1_795_428_000, "a new hello"),
    ]);
    let photo = wa_mcp::messaging::media_dir(&db).join("m1.jpg");
    std::fs::create_dir_all(photo.parent().expect("media dir")).expect("media dir");
    std::fs::write(&photo, b"old photo").expect("photo");
    let store = Store::open(&db).expect("store");
    let saved = SavedMedia {
        message_id: conn(&db)
            .query_row(
                "SELECT id FROM messages WHERE wamid = 'wamid.OLD2'",
                [],
                |r| r.get(0),
            )
            .expect("id"),
        media_id: "m1".into(),
        file_name: "m1.jpg".into(),
        mime_type: "image/jpeg".into(),
        size: 9,
        sha256: wa_mcp::hex::to_hex(Sha256::digest(b"old photo").as_slice()),
    };
    store
        .write_blocking(move |ctx| record_saved_media(ctx, &saved))
        .expect("recorded");
    drop(store);
    // Age everything of Ann's, and every delivery but the last (Ben's), as if stored in March 2025.
    conn(&db)
        .execute_batch(&format!(
            "UPDATE messages SET created_at = '{OLD}' WHERE wamid LIKE 'wamid.OLD%';
             UPDATE message_status_events SET created_at = '{OLD}';
             UPDATE webhook_events SET received_at = '{OLD}' WHERE id < (SELECT max(id) FROM webhook_events);
             UPDATE webhook_events SET received_at = '2026-06-01T00:00:00.000000Z'
             WHERE id = (SELECT max(id) FROM webhook_events);"
        ))
        .expect("ages rows");
    (dir, db, photo)
}

#[test]
fn prune_says_what_is_old_then_removes_only_that_and_keeps_who_wrote() {
    let (_dir, db, photo) = seeded();
    let last_inbound = "SELECT last_inbound_at FROM contacts WHERE wa_id = '15550001111'";
    let ann_wrote_at: String = conn(&db)
        .query_row(last_inbound, [], |r| r.get(0))
        .expect("Ann wrote");

    let logged = count(&db, "SELECT count(*) FROM webhook_events");
    let old_payloads = format!("{} delivery-log payloads", logged - 1);
    let dry = run(&db, &["prune", "--before", "2026-01-01", "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    for said in [
        "2 of 3 messages, with 2 status events",
        old_payloads.as_str(),
        "1 saved media files (9 bytes)",
        "(1 keep no messages)",
        "dry run: nothing was removed",
    ] {
        assert!(text(&dry).contains(said), "{said}: {}", text(&dry));
    }
    assert_eq!(count(&db, "SELECT count(*) FROM messages"), 3);
    assert!(photo.exists());
    let found = |db: &Path| text(&run(db, &["search", "old", "hello"]));
    assert!(found(&db).contains("**hello**"), "{}", found(&db));

    let out = run(&db, &["prune", "--before", "2026-01-01"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "removed 2 messages, 2 status events, {old_payloads} and 1 saved media files"
        )),
        "{}",
        text(&out)
    );
    let bodies: Vec<String> = {
        let c = conn(&db);
        let mut stmt = c.prepare("SELECT body FROM messages").expect("prepares");
        stmt.query_map([], |r| r.get(0))
            .expect("queries")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    assert_eq!(bodies, ["a new hello"]);
    assert!(
        !found(&db).contains("**hello**"),
        "the search index forgot it: {}",
        found(&db)
    );
    assert_eq!(count(&db, "SELECT count(*) FROM message_status_events"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM media_files"), 0);
    assert!(
        !photo.exists(),
        "the saved photo is deleted with its message"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM webhook_events"),
        5,
        "the log rows stay"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM webhook_events WHERE payload IS NOT NULL"
        ),
        1
    );
    let pruned: i64 = conn(&db)
        .query_row(
            "SELECT min(id) FROM webhook_events WHERE payload_dropped = 'pruned'",
            [],
            |r| r.get(0),
        )
        .expect("the pruned rows say why their payload is gone");
    let reprocess = run(&db, &["events", "reprocess", &pruned.to_string()]);
    assert!(!reprocess.status.success(), "{}", text(&reprocess));
    assert!(
        text(&reprocess).contains("removed by `wa-mcp prune`"),
        "{}",
        text(&reprocess)
    );
    assert_eq!(count(&db, "SELECT count(*) FROM contacts"), 2);
    let still: String = conn(&db)
        .query_row(last_inbound, [], |r| r.get(0))
        .expect("Ann is still someone who wrote");
    assert_eq!(still, ann_wrote_at);

    let again = run(&db, &["prune", "--before", "2026-01-01"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("removed 0 messages"),
        "{}",
        text(&again)
    );
}

#[test]
fn a_correspondent_whose_messages_were_all_pruned_may_still_be_written_to() {
    let (_dir, db, _photo) = seeded();
    let out = run(&db, &["prune", "--before", "2026-01-01"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM messages WHERE contact_wa_id = '15550001111'"
        ),
        0
    );
    let mut meta = mockito::Server::new();
    let sent = meta
        .mock("POST", format!("/v26.0/{PNID}/messages").as_str())
        .match_body(mockito::Matcher::PartialJson(json!({"to": ANN})))
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.SENT"}]}"#)
        .expect(1)
        .create();
    let send = wa_mcp_command(&db, &meta.url())
        .env("WA_ALLOWED_RECIPIENTS", "447700900123")
        .args(["send", "--to", ANN, "--body", "still in touch"])
        .output()
        .expect("wa-mcp send runs");
    assert!(send.status.success(), "{}", text(&send));
    sent.assert();
}

#[test]
fn bad_dates_and_a_missing_database_are_refused_and_change_nothing() {
    let (_dir, db, _photo) = seeded();
    for (date, why) in [
        ("last year", "expected a UTC date"),
        ("2999-01-01", "in the future"),
    ] {
        let out = run(&db, &["prune", "--before", date]);
        assert!(!out.status.success(), "{date}");
        assert!(text(&out).contains(why), "{date}: {}", text(&out));
    }
    assert_eq!(count(&db, "SELECT count(*) FROM messages"), 3);
    let missing = db.with_file_name("missing.db");
    let out = run(&missing, &["prune", "--before", "2026-01-01"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("nothing to prune"), "{}", text(&out));
    assert!(!missing.exists(), "prune never creates a database");
}

#[test]
fn serve_keeps_answering_while_a_prune_of_many_batches_runs() {
    let deliveries = (0..1_600)
        .map(|i| inbound::text(ANN, "Ann", &format!("wamid.OLD{i}"), 1_740_823_200, "old"))
        .collect();
    let (_dir, db) = common::seed::db_with(deliveries);
    conn(&db)
        .execute("UPDATE messages SET created_at = ?1", [OLD])
        .expect("ages rows");
    let (_serve, port) = serve(&db);
    let stop = Arc::new(AtomicBool::new(false));
    let poster = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut posted = 0;
            // post_text asserts each answer is 200: a refused delivery fails the test.
            while !stop.load(Ordering::SeqCst) || posted < 20 {
                post_text(port, BEN, "Ben", &format!("new {posted}"));
                posted += 1;
            }
            posted
        })
    };
    let out = run(&db, &["prune", "--before", "2026-01-01"]);
    stop.store(true, Ordering::SeqCst);
    let posted = poster.join().expect("every delivery was answered 200");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("removed 1600 messages"),
        "{}",
        text(&out)
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM messages WHERE contact_wa_id = '15550001111'"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM messages WHERE contact_wa_id = '16505551234'"
        ),
        posted
    );
}
