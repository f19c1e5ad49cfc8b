//! `wa-mcp events reprocess ID`: a delivery kept as failed is recovered from its stored
//! payload into the same delivery-log row, exactly once however often it is run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::fixture_json;
use rusqlite::Connection;
use serde_json::{Value, json};
use wa_mcp::cli::events::reprocess_delivery;
use wa_mcp::model::{NormaliseError, Outcome};
use wa_mcp::store::Store;
use wa_mcp::webhook::prepare_delivery;

const BIN: &str = env!("CARGO_BIN_EXE_wa-mcp");

/// Two messages (two changes) and one status, in one delivery.
fn mixed_delivery() -> Value {
    let mut payload = fixture_json("inbound_batch_two_changes.json");
    // Meta's sample repeats one placeholder wamid; two messages need two.
    payload["entry"][0]["changes"][1]["value"]["messages"][0]["id"] = json!("wamid.SECOND");
    let status = fixture_json("status_delivered.json");
    let entries = payload["entry"].as_array_mut().expect("entries");
    entries.extend(status["entry"].as_array().expect("entries").iter().cloned());
    payload
}

/// Stores `payload` as today's server would, but as failed when `fail_first` (a
/// parser that did not yet know this shape): the log row keeps the payload, no rows.
fn store_delivery(store: &Store, payload: &Value, fail_first: bool) -> i64 {
    let body = serde_json::to_vec(payload).expect("json");
    let mut prepared = prepare_delivery(&body, "req-reprocess".into(), 1_767_225_600_000_000);
    if fail_first {
        prepared.parsed = Err(NormaliseError::NoEntries);
    }
    let report = store.commit_delivery_blocking(prepared).expect("stored");
    let expected = if fail_first {
        Outcome::Failed
    } else {
        Outcome::Processed
    };
    assert_eq!(report.outcome, expected);
    report.event_id
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .expect("db")
        .query_row(sql, [], |r| r.get(0))
        .expect("count")
}

/// `(messages, statuses, idempotency keys, delivery-log rows)`.
fn rows(db: &Path) -> (i64, i64, i64, i64) {
    (
        count(db, "SELECT count(*) FROM messages"),
        count(db, "SELECT count(*) FROM message_status_events"),
        count(db, "SELECT count(*) FROM idempotency"),
        count(db, "SELECT count(*) FROM webhook_events"),
    )
}

/// The delivery-log row's `(outcome, error, messages, statuses)`.
fn event(db: &Path, id: i64) -> (String, Option<String>, i64, i64) {
    Connection::open(db)
        .expect("db")
        .query_row(
            "SELECT outcome, error, messages, statuses FROM webhook_events WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("event row")
}

/// A store on a new `wa.db` in a temp folder, and the file's path; keep the folder
/// alive for the test.
fn temp_store() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let store = Store::open(&db).expect("store");
    (dir, db, store)
}

#[test]
fn a_failed_delivery_reprocessed_twice_yields_one_set_of_rows() {
    let (_dir, db, store) = temp_store();
    let id = store_delivery(&store, &mixed_delivery(), true);
    assert_eq!(rows(&db), (0, 0, 0, 1));

    let first = reprocess_delivery(&store, id).expect("ran").expect("found");
    assert_eq!(first.outcome_before, "failed");
    assert_eq!(first.outcome, Outcome::Processed);
    assert_eq!((first.new_messages, first.new_statuses), (2, 1));
    assert_eq!(first.error, None);
    assert_eq!(rows(&db), (2, 1, 3, 1), "no new delivery-log row");
    assert_eq!(event(&db, id), ("processed".into(), None, 2, 1));
    let claimed_by_it = count(
        &db,
        &format!("SELECT count(*) FROM idempotency WHERE webhook_event_id = {id}"),
    );
    assert_eq!(claimed_by_it, 3);

    let second = reprocess_delivery(&store, id).expect("ran").expect("found");
    assert_eq!(second.outcome_before, "processed");
    assert_eq!(second.outcome, Outcome::Processed);
    assert_eq!((second.new_messages, second.new_statuses), (0, 0));
    assert_eq!((second.already_stored, second.duplicates), (3, 0));
    assert_eq!(rows(&db), (2, 1, 3, 1));
    assert_eq!(event(&db, id), ("processed".into(), None, 2, 1));
}

#[test]
fn reprocessing_a_processed_delivery_adds_nothing() {
    let (_dir, db, store) = temp_store();
    let id = store_delivery(&store, &mixed_delivery(), false);
    let before = (rows(&db), event(&db, id));
    let report = reprocess_delivery(&store, id).expect("ran").expect("found");
    assert_eq!(report.outcome, Outcome::Processed);
    assert_eq!((report.new_messages, report.new_statuses), (0, 0));
    assert_eq!(report.already_stored, 3);
    assert_eq!((rows(&db), event(&db, id)), before);
}

/// A replay keeps no payload (finding 2 of the hardening review), so there is nothing
/// to reprocess: it is refused with the reason and nothing changes.
#[test]
fn a_replayed_delivery_stays_a_duplicate_and_has_no_payload_to_reprocess() {
    let (_dir, db, store) = temp_store();
    let payload = fixture_json("inbound_text.json");
    store_delivery(&store, &payload, false);
    let body = serde_json::to_vec(&payload).expect("json");
    let replay = store
        .commit_delivery_blocking(prepare_delivery(&body, "replay".into(), 0))
        .expect("stored");
    assert_eq!(replay.outcome, Outcome::Duplicate);
    let before = rows(&db);
    let refused = reprocess_delivery(&store, replay.event_id).expect_err("no payload");
    assert!(refused.to_string().contains("duplicate"), "{refused}");
    assert_eq!(rows(&db), before);
    assert_eq!(event(&db, replay.event_id).0, "duplicate");
}

#[test]
fn a_delivery_that_still_has_problems_stays_failed_with_its_rows_kept_once() {
    let (_dir, db, store) = temp_store();
    let mut payload = mixed_delivery();
    payload["entry"]
        .as_array_mut()
        .expect("entries")
        .push(json!("not an entry"));
    let body = serde_json::to_vec(&payload).expect("json");
    let first = store
        .commit_delivery_blocking(prepare_delivery(&body, "partial".into(), 0))
        .expect("stored");
    assert_eq!(first.outcome, Outcome::Failed);
    let before = rows(&db);
    assert_eq!(before, (2, 1, 3, 1), "the good items were stored");
    let report = reprocess_delivery(&store, first.event_id)
        .expect("ran")
        .expect("found");
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(
        report
            .error
            .as_deref()
            .is_some_and(|e| e.contains("not an object"))
    );
    assert_eq!((report.new_messages, report.already_stored), (0, 3));
    assert_eq!(rows(&db), before);
    let (outcome, error, messages, statuses) = event(&db, first.event_id);
    assert_eq!((outcome.as_str(), messages, statuses), ("failed", 2, 1));
    assert!(error.is_some_and(|e| e.contains("not an object")));
}

#[test]
fn one_wamid_under_two_keys_keeps_its_counts_when_reprocessed() {
    let (_dir, db, store) = temp_store();
    // Meta's sample: the same wamid in two changes, so one row and one duplicate.
    let id = store_delivery(
        &store,
        &fixture_json("inbound_batch_two_changes.json"),
        true,
    );
    for _ in 0..2 {
        reprocess_delivery(&store, id).expect("ran").expect("found");
        assert_eq!(rows(&db), (1, 0, 2, 1));
        assert_eq!(event(&db, id), ("processed".into(), None, 1, 0));
    }
}

#[test]
fn rows_that_cannot_be_written_roll_back_and_the_delivery_stays_failed() {
    let (_dir, db, store) = temp_store();
    let id = store_delivery(&store, &mixed_delivery(), true);
    let conn = Connection::open(&db).expect("db");
    conn.execute_batch(
        "CREATE TRIGGER refuse_status BEFORE INSERT ON message_status_events
         BEGIN SELECT RAISE(ABORT, 'refused by test'); END;",
    )
    .expect("trigger");
    let report = reprocess_delivery(&store, id).expect("ran").expect("found");
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!((report.new_messages, report.new_statuses), (0, 0));
    assert_eq!(
        rows(&db),
        (0, 0, 0, 1),
        "the messages before the status rolled back"
    );
    let (outcome, error, ..) = event(&db, id);
    assert_eq!(outcome, "failed");
    assert!(error.is_some_and(|e| e.contains("refused by test")));

    conn.execute_batch("DROP TRIGGER refuse_status")
        .expect("drop");
    let fixed = reprocess_delivery(&store, id).expect("ran").expect("found");
    assert_eq!(fixed.outcome, Outcome::Processed);
    assert_eq!(rows(&db), (2, 1, 3, 1));
}

#[test]
fn an_unknown_id_is_none_and_writes_nothing() {
    let (_dir, db, store) = temp_store();
    assert_eq!(reprocess_delivery(&store, 42).expect("ran"), None);
    assert_eq!(rows(&db), (0, 0, 0, 0));
}

fn run_reprocess(db: &Path, id: &str) -> std::process::Output {
    Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("WA_DB_PATH", db)
        .args(["events", "reprocess", id])
        .output()
        .expect("the binary runs")
}

#[test]
fn the_binary_recovers_a_failed_delivery_once_and_refuses_a_missing_id() {
    let (_dir, db, store) = temp_store();
    let id = store_delivery(&store, &mixed_delivery(), true);
    drop(store); // the binary opens the file on its own
    let first = run_reprocess(&db, &id.to_string());
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{first:?}");
    assert!(
        stdout.contains(&format!("delivery {id}: failed -> processed")),
        "{stdout}"
    );
    assert!(stdout.contains("added: 2 messages, 1 statuses"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&first.stderr).contains("webhook_reprocessed"),
        "a structured log line on stderr"
    );

    let second = run_reprocess(&db, &id.to_string());
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "{second:?}");
    assert!(stdout.contains("processed -> processed"), "{stdout}");
    assert!(stdout.contains("added: 0 messages, 0 statuses"), "{stdout}");
    assert_eq!(rows(&db), (2, 1, 3, 1));

    let missing = run_reprocess(&db, "999");
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("no delivery 999"), "{stderr}");
    assert!(missing.stdout.is_empty());
}

#[test]
fn the_binary_exits_non_zero_while_a_delivery_still_fails() {
    let (_dir, db, store) = temp_store();
    let first = store
        .commit_delivery_blocking(prepare_delivery(b"not json at all", "bad".into(), 0))
        .expect("stored");
    assert_eq!(first.outcome, Outcome::Failed);
    drop(store); // the binary opens the file on its own
    let out = run_reprocess(&db, &first.event_id.to_string());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("failed -> failed"), "{stdout}");
    assert!(stdout.contains("still failing"), "{stdout}");
}

#[test]
fn events_without_a_subcommand_still_lists_the_log() {
    let (_dir, db, store) = temp_store();
    let id = store_delivery(&store, &mixed_delivery(), true);
    drop(store); // the binary opens the file on its own
    let out = Command::new(BIN)
        .env_clear()
        .env("WA_DB_PATH", &db)
        .args(["events", "--failed", "--limit", "5"])
        .output()
        .expect("the binary runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with(&id.to_string()) && l.contains("failed")),
        "{stdout}"
    );
}

#[test]
fn a_body_kept_as_lossy_text_is_recovered_once_when_that_text_is_json() {
    let (_dir, db, store) = temp_store();
    // A byte that is not UTF-8 inside the text: serde_json refuses the body, so it is
    // kept as lossy text, which is JSON again (U+FFFD in place of the byte).
    let body = serde_json::to_vec(&fixture_json("inbound_text.json"))
        .expect("json")
        .into_iter()
        .flat_map(|b| if b == b'?' { vec![0xff] } else { vec![b] })
        .collect::<Vec<u8>>();
    assert!(
        body.contains(&0xff),
        "the fixture's text has a '?' to spoil"
    );
    let first = store
        .commit_delivery_blocking(prepare_delivery(&body, "lossy".into(), 0))
        .expect("stored");
    assert_eq!(first.outcome, Outcome::Failed);
    for run in 0..2 {
        let report = reprocess_delivery(&store, first.event_id)
            .expect("ran")
            .expect("found");
        assert_eq!(report.outcome, Outcome::Processed, "run {run}");
        assert_eq!(rows(&db), (1, 0, 1, 1), "run {run}");
    }
    let stored: String = Connection::open(&db)
        .expect("db")
        .query_row("SELECT body FROM messages", [], |r| r.get(0))
        .expect("body");
    assert!(stored.contains('\u{fffd}'), "{stored}");
}

#[test]
fn a_lexically_redacted_body_stays_failed_and_unchanged_however_often_reprocessed() {
    let (_dir, db, store) = temp_store();
    // A lone surrogate: serde_json refuses it, so the body is kept as lexically redacted
    // text, with the secret-looking value gone.
    let text = serde_json::to_string(&fixture_json("inbound_text.json")).expect("json");
    let body = format!(
        r#"{{"access_token":"EAAG-secret-value","x":"\ud800",{}"#,
        &text[1..]
    );
    let first = store
        .commit_delivery_blocking(prepare_delivery(body.as_bytes(), "lexical".into(), 0))
        .expect("stored");
    assert_eq!(first.outcome, Outcome::Failed);
    let payload = |db: &Path| -> String {
        Connection::open(db)
            .expect("db")
            .query_row(
                "SELECT payload FROM webhook_events WHERE id = ?1",
                [first.event_id],
                |r| r.get(0),
            )
            .expect("payload")
    };
    let kept = payload(&db);
    assert!(!kept.contains("EAAG-secret-value"), "{kept}");
    for _ in 0..2 {
        let report = reprocess_delivery(&store, first.event_id)
            .expect("ran")
            .expect("found");
        assert_eq!(report.outcome, Outcome::Failed);
        assert!(report.error.is_some_and(|e| e.contains("not JSON")));
        assert_eq!(rows(&db), (0, 0, 0, 1));
        assert_eq!(payload(&db), kept, "the kept payload is never rewritten");
    }
}

#[test]
fn an_ignored_delivery_stays_ignored_and_writes_nothing() {
    let (_dir, db, store) = temp_store();
    let body = serde_json::to_vec(&fixture_json(
        "message_template_status_update_approved.json",
    ))
    .expect("json");
    let first = store
        .commit_delivery_blocking(prepare_delivery(&body, "ignored".into(), 0))
        .expect("stored");
    assert_eq!(first.outcome, Outcome::Ignored);
    let contacts = || count(&db, "SELECT count(*) FROM contacts");
    let before = (rows(&db), contacts());
    for _ in 0..2 {
        let report = reprocess_delivery(&store, first.event_id)
            .expect("ran")
            .expect("found");
        assert_eq!(report.outcome_before, "ignored");
        assert_eq!(report.outcome, Outcome::Ignored);
        assert_eq!((rows(&db), contacts()), before);
        assert_eq!(event(&db, first.event_id), ("ignored".into(), None, 0, 0));
    }
}
