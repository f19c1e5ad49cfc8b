//! Migrating: V13's rules on a message's status and a delivery's outcome, checked without
//! an ephemeral table per statement on a new database and on an upgraded one, and what a
//! failed run leaves behind.

use rusqlite::{Connection, params};

use super::{migrate, migrate_to};

const STATUSES: [&str; 8] = [
    "received",
    "pending",
    "sent",
    "delivered",
    "read",
    "played",
    "failed",
    "unknown",
];
const OUTCOMES: [&str; 4] = ["processed", "duplicate", "ignored", "failed"];

fn insert_message(conn: &Connection, id: &str, status: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO messages (id, direction, type, body, status, created_at, updated_at)
         VALUES (?1, 'inbound', 'text', 'hello', ?2, '2026-12-01T00:00:00.000000Z',
                 '2026-12-01T00:00:00.000000Z')",
        params![id, status],
    )
}

fn insert_event(conn: &Connection, outcome: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO webhook_events (received_at, outcome, payload_sha256, payload_bytes,
             created_at)
         VALUES ('2026-12-01T00:00:00.000000Z', ?1, 'ab', 2, '2026-12-01T00:00:00.000000Z')",
        [outcome],
    )
}

fn table_sql(conn: &Connection, table: &str) -> String {
    conn.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get(0),
    )
    .expect("table")
}

/// The opcodes SQLite runs for `sql`, triggers included.
fn opcodes(conn: &Connection, sql: &str, args: usize) -> Vec<String> {
    let mut stmt = conn.prepare(&format!("EXPLAIN {sql}")).expect("explain");
    stmt.query_map(
        rusqlite::params_from_iter(std::iter::repeat_n(None::<String>, args)),
        |r| r.get(1),
    )
    .expect("runs")
    .collect::<Result<_, _>>()
    .expect("rows")
}

fn assert_rules_hold(conn: &Connection) {
    for (i, status) in STATUSES.iter().enumerate() {
        insert_message(conn, &format!("ok-{i}"), status).expect("a known status is stored");
    }
    let refused = insert_message(conn, "bad", "lost").expect_err("an unknown status is refused");
    assert!(
        refused.to_string().contains("CHECK constraint failed"),
        "{refused}"
    );
    let refused = conn
        .execute("UPDATE messages SET status = 'gone' WHERE id = 'ok-0'", [])
        .expect_err("an unknown status is refused on update too");
    assert!(
        refused.to_string().contains("CHECK constraint failed"),
        "{refused}"
    );
    for outcome in OUTCOMES {
        insert_event(conn, outcome).expect("a known outcome is stored");
    }
    insert_event(conn, "lost").expect_err("an unknown outcome is refused");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(ok, "ok");
}

#[test]
fn a_new_database_checks_status_and_outcome_with_comparisons_not_ephemeral_tables() {
    let mut conn = Connection::open_in_memory().expect("open");
    migrate(&mut conn).expect("migrates");
    let messages = table_sql(&conn, "messages");
    assert!(
        messages.contains("CONSTRAINT message_status CHECK"),
        "{messages}"
    );
    assert!(!messages.contains("status IN ("), "{messages}");
    let events = table_sql(&conn, "webhook_events");
    assert!(
        events.contains("CONSTRAINT webhook_event_outcome CHECK"),
        "{events}"
    );
    assert!(!events.contains("outcome IN ("), "{events}");
    // The statements every delivery runs build no ephemeral table.
    for (sql, args) in [
        (
            "INSERT INTO messages (id, direction, type, status, created_at, updated_at)
             VALUES (?1, 'inbound', 'text', ?2, ?3, ?3)",
            3,
        ),
        (
            "INSERT INTO webhook_events (received_at, outcome, payload_sha256, payload_bytes,
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            5,
        ),
        ("UPDATE webhook_events SET outcome = ?2 WHERE id = ?1", 2),
        ("UPDATE messages SET status = ?2 WHERE id = ?1", 2),
    ] {
        let ops = opcodes(&conn, sql, args);
        assert!(
            !ops.iter().any(|op| op == "OpenEphemeral"),
            "{sql}: {ops:?}"
        );
    }
    assert_rules_hold(&conn);
}

#[test]
fn an_older_database_keeps_its_rows_and_its_rules_through_the_change() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    let mut conn = Connection::open(&path).expect("open");
    migrate_to(&mut conn, 12).expect("old schema");
    for (i, status) in STATUSES.iter().enumerate() {
        insert_message(&conn, &format!("old-{i}"), status).expect("stored");
    }
    for outcome in OUTCOMES {
        insert_event(&conn, outcome).expect("stored");
    }
    // Another connection, open across the change, sees the new rules at once.
    let other = Connection::open(&path).expect("second connection");
    let before: i64 = other
        .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .expect("reads");
    assert_eq!(before, 8);

    migrate(&mut conn).expect("migrates");
    let kept: Vec<String> = conn
        .prepare("SELECT status FROM messages ORDER BY id")
        .expect("select")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(kept, STATUSES.map(str::to_owned).to_vec());
    let refused = insert_message(&other, "bad", "lost").expect_err("refused");
    assert!(
        refused.to_string().contains("message_status"),
        "the second connection checks the new rule: {refused}"
    );
    conn.execute("DELETE FROM messages", []).expect("clear");
    conn.execute("DELETE FROM webhook_events", [])
        .expect("clear");
    assert_rules_hold(&conn);
}

#[test]
fn migrating_never_leaves_the_schema_writable() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("wa.db");
    let mut conn = Connection::open(&path).expect("open");
    migrate_to(&mut conn, 12).expect("old schema");
    // A lock held by another connection makes V13's first statement fail after the
    // setting is on.
    conn.busy_timeout(std::time::Duration::from_millis(10))
        .expect("timeout");
    let other = Connection::open(&path).expect("second connection");
    other
        .execute_batch("BEGIN IMMEDIATE")
        .expect("holds the write lock");
    assert!(migrate(&mut conn).is_err(), "the lock is held");
    let writable: i64 = conn
        .query_row("PRAGMA writable_schema", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(writable, 0);
    other.execute_batch("ROLLBACK").expect("releases");
    migrate(&mut conn).expect("migrates once the lock is free");
    let writable: i64 = conn
        .query_row("PRAGMA writable_schema", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(writable, 0);
}
