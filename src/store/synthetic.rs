//! Databases for benchmarks: many synthetic rows written in one fast transaction, and
//! the counts a benchmark verifies its run by. Never used on an owner's database.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};

use super::{Store, StoreError};

/// Messages written per transaction: large enough to be fast, small enough that the WAL
/// stays bounded while a million rows go in.
const FILL_BATCH: usize = 50_000;

/// One synthetic contact.
#[derive(Debug, Clone, Default)]
pub struct SyntheticContact {
    /// The thread key: a phone number, or the BSUID when no number is known.
    pub wa_id: String,
    /// The BSUID, when known.
    pub user_id: Option<String>,
    pub profile_name: Option<String>,
}

impl From<String> for SyntheticContact {
    /// A contact known only by its number, without a name.
    fn from(wa_id: String) -> Self {
        SyntheticContact {
            wa_id,
            ..SyntheticContact::default()
        }
    }
}

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
    /// The stored JSON of the message (`{}` when `None`).
    pub raw: Option<String>,
}

/// Creates the database at `db` (migrated) and writes `contacts` and `messages` with
/// durability off, `FILL_BATCH` messages per transaction, every trigger firing and the
/// search index filled at each commit as for a live write: a benchmark's database,
/// rebuilt on a crash. `messages` must come in increasing `at` order. Each contact's last inbound
/// time is set from its messages at the end.
pub fn fill(
    db: &Path,
    contacts: impl IntoIterator<Item = impl Into<SyntheticContact>>,
    first_seen_at: &str,
    messages: impl IntoIterator<Item = SyntheticMessage>,
) -> Result<(), StoreError> {
    drop(Store::open(db)?);
    let mut conn = Connection::open(db)?;
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF;")?;
    let tx = conn.transaction()?;
    {
        let mut c = tx.prepare(
            "INSERT INTO contacts (wa_id, user_id, profile_name, first_seen_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
        )?;
        for contact in contacts {
            let k: SyntheticContact = contact.into();
            c.execute(params![k.wa_id, k.user_id, k.profile_name, first_seen_at])?;
        }
    }
    super::search::index_pending(&tx, super::search::Contacts::All)?;
    tx.commit()?;
    let mut messages = messages.into_iter().peekable();
    while messages.peek().is_some() {
        let tx = conn.transaction()?;
        insert_messages(&tx, messages.by_ref().take(FILL_BATCH))?;
        // As the writer does before each commit: the batch's rows join the search index.
        super::search::index_pending(&tx, super::search::Contacts::All)?;
        tx.commit()?;
    }
    conn.execute(
        "UPDATE contacts SET last_inbound_at = (
             SELECT max(m.created_at) FROM messages m
             WHERE m.contact_wa_id = contacts.wa_id AND m.direction = 'inbound')",
        [],
    )?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")?;
    Ok(())
}

fn insert_messages(
    tx: &Connection,
    messages: impl Iterator<Item = SyntheticMessage>,
) -> Result<(), StoreError> {
    let mut m = tx.prepare_cached(
        "INSERT INTO messages (id, phone_number_id, direction, wamid, contact_wa_id, type, body,
             status, ts, created_at, updated_at, raw)
         VALUES (?1, '106540352242922', ?2, ?3, ?4, 'text', ?5, ?6, ?7, ?7, ?7,
             coalesce(?8, '{}'))",
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
            msg.at,
            msg.raw
        ])?;
    }
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

/// How much room the delivery log takes in a database file, measured with no process
/// holding it open (so the WAL is folded into the file first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogFootprint {
    /// The database file's size in bytes.
    pub file_bytes: u64,
    /// Pages on the free list (room the file has that later writes reuse).
    pub free_bytes: u64,
    /// `webhook_events` rows.
    pub deliveries: i64,
    /// Rows that still hold their payload.
    pub payloads_kept: i64,
    /// Bytes of payload text held in all.
    pub payload_bytes_kept: i64,
}

/// Checkpoints `db`'s WAL into the file (TRUNCATE) and measures [`LogFootprint`].
pub fn delivery_log_footprint(db: &Path) -> Result<LogFootprint, StoreError> {
    let conn = Connection::open(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let (page_size, free_pages): (i64, i64) = conn.query_row(
        "SELECT (SELECT page_size FROM pragma_page_size()),
                (SELECT freelist_count FROM pragma_freelist_count())",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (deliveries, payloads_kept, payload_bytes_kept) = conn.query_row(
        "SELECT count(*), count(payload), coalesce(sum(length(payload)), 0) FROM webhook_events",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let file_bytes = std::fs::metadata(db)
        .map_err(|source| StoreError::Io {
            path: db.to_path_buf(),
            source,
        })?
        .len();
    Ok(LogFootprint {
        file_bytes,
        free_bytes: u64::try_from(page_size * free_pages).unwrap_or(0),
        deliveries,
        payloads_kept,
        payload_bytes_kept,
    })
}

/// What a database file holds, read before a benchmark reuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchDatabase {
    /// `PRAGMA application_id`: what [`mark_bench_database`] wrote, or 0.
    pub mark: i32,
    pub messages: i64,
    pub contacts: i64,
}

/// Reads [`BenchDatabase`] from `db` without changing it (and without migrating it).
pub fn bench_database(db: &Path) -> Result<BenchDatabase, StoreError> {
    let conn = open_read_only(db)?;
    let mark = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if mark == 0 {
        return Ok(BenchDatabase {
            mark,
            messages: 0,
            contacts: 0,
        });
    }
    Ok(conn.query_row(
        "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM contacts)",
        [],
        |r| {
            Ok(BenchDatabase {
                mark,
                messages: r.get(0)?,
                contacts: r.get(1)?,
            })
        },
    )?)
}

/// Writes `mark` as the file's `application_id`, so a later run can tell a database it
/// built (and may reuse or replace) from anyone else's file.
pub fn mark_bench_database(db: &Path, mark: i32) -> Result<(), StoreError> {
    Connection::open(db)?.execute_batch(&format!("PRAGMA application_id = {mark}"))?;
    Ok(())
}

/// How much room the search index takes next to the text it indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchFootprint {
    /// Rows in the index.
    pub indexed_rows: i64,
    /// Bytes (UTF-8) of the text the index was given (`message_search_text`).
    pub text_bytes: i64,
    /// Pages of the FTS5 shadow tables, in bytes: the term index (`_data`, `_idx`), the
    /// per-row token counts bm25 reads (`_docsize`) and `_config`.
    pub index_bytes: i64,
    /// Of `index_bytes`, the term index alone (`_data` and `_idx`).
    pub term_index_bytes: i64,
    /// Pages of the `messages` table and its own indexes, for scale.
    pub messages_bytes: i64,
}

/// Measures [`SearchFootprint`] with `dbstat` (one pass over each table's pages).
pub fn search_footprint(db: &Path) -> Result<SearchFootprint, StoreError> {
    let conn = open_read_only(db)?;
    let pages = |names: &str| -> Result<i64, StoreError> {
        Ok(conn.query_row(
            &format!(
                "SELECT coalesce(sum(d.pgsize), 0) FROM sqlite_schema s, dbstat('main', 1) d
                 WHERE d.name = s.name AND {names}"
            ),
            [],
            |r| r.get(0),
        )?)
    };
    let (indexed_rows, text_bytes) = conn.query_row(
        "SELECT count(*), coalesce(sum(length(CAST(text AS BLOB))), 0)
         FROM message_search_text WHERE text IS NOT NULL",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(SearchFootprint {
        indexed_rows,
        text_bytes,
        index_bytes: pages(
            "s.name IN ('message_search_data', 'message_search_idx', 'message_search_docsize',
                        'message_search_config')",
        )?,
        term_index_bytes: pages("s.name IN ('message_search_data', 'message_search_idx')")?,
        messages_bytes: pages("s.tbl_name = 'messages'")?,
    })
}

/// How many messages match `query` in all (the number a search ranks among).
pub fn count_matches(
    conn: &Connection,
    query: &super::search::SearchQuery,
) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM message_search WHERE message_search MATCH ?1",
        [query.expression()],
        |r| r.get(0),
    )?)
}
