//! Databases for benchmarks: many synthetic rows written in one fast transaction, and
//! the counts a benchmark verifies its run by. Never used on an owner's database.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};

use super::{Store, StoreError};

/// One synthetic message: a text row in either direction.
#[derive(Debug, Clone)]
pub struct SyntheticMessage {
    pub id: String,
    pub inbound: bool,
    pub wamid: String,
    pub contact: String,
    pub body: String,
    /// `created_at` (and `ts`), as stored.
    pub at: String,
}

/// Creates the database at `db` (migrated) and writes `contacts` and `messages` in
/// one transaction with durability off: a benchmark's database, rebuilt on a crash.
/// `messages` must come in increasing `at` order.
pub fn fill(
    db: &Path,
    contacts: impl IntoIterator<Item = String>,
    first_seen_at: &str,
    messages: impl IntoIterator<Item = SyntheticMessage>,
) -> Result<(), StoreError> {
    drop(Store::open(db)?);
    let mut conn = Connection::open(db)?;
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF;")?;
    let tx = conn.transaction()?;
    {
        let mut c = tx.prepare(
            "INSERT INTO contacts (wa_id, first_seen_at, updated_at) VALUES (?1, ?2, ?2)",
        )?;
        for contact in contacts {
            c.execute(params![contact, first_seen_at])?;
        }
        let mut m = tx.prepare(
            "INSERT INTO messages (id, phone_number_id, direction, wamid, contact_wa_id, type, body,
                 status, ts, created_at, updated_at, raw)
             VALUES (?1, '106540352242922', ?2, ?3, ?4, 'text', ?5, ?6, ?7, ?7, ?7, '{}')",
        )?;
        for msg in messages {
            let (direction, status) = if msg.inbound {
                ("inbound", "received")
            } else {
                ("outbound", "delivered")
            };
            m.execute(params![
                msg.id,
                direction,
                msg.wamid,
                msg.contact,
                msg.body,
                status,
                msg.at
            ])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")?;
    Ok(())
}

/// A read-only connection on `db`, for timing the store's read functions directly.
pub fn open_read_only(db: &Path) -> Result<Connection, StoreError> {
    Ok(Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?)
}

/// How many `messages` rows carry each of `wamids`, in order.
pub fn rows_per_wamid<'a>(
    db: &Path,
    wamids: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<i64>, StoreError> {
    let conn = open_read_only(db)?;
    let mut stmt = conn.prepare("SELECT count(*) FROM messages WHERE wamid = ?1")?;
    wamids
        .into_iter()
        .map(|w| Ok(stmt.query_row([w], |r| r.get(0))?))
        .collect()
}

/// How many `messages` rows `db` holds.
pub fn count_messages(db: &Path) -> Result<i64, StoreError> {
    Ok(open_read_only(db)?.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?)
}
