//! Full-text search over every message (migration V8): the ranked query with its
//! filters, and the background backfill that indexes rows written before the index
//! existed. What a user's words become is [`crate::model::search_query`]'s.
//!
//! What a message is found by is defined once, by the view `message_search_text`; the
//! FTS5 index `message_search` keeps it in step through triggers in the same transaction
//! as the row, so every writer (ingest, any kind of send, an edit, a prune) keeps the
//! index right without calling anything here. A new row is added to the index at the end
//! of the transaction that inserts it (`index_pending`, which the writer runs before
//! every commit).

mod backfill;
mod pending;
pub(crate) mod top;

use rusqlite::{Connection, OptionalExtension};

use super::StoreError;
use super::read::message_row;
use crate::model::MessageRow;

pub use crate::model::search_query::{QueryError, SearchQuery, compile_query};
pub(crate) use backfill::spawn_backfill;
pub use backfill::{BACKFILL_BATCH, backfill_batch};
pub use pending::CONTACT_INDEX_BATCH;
pub(crate) use pending::{Contacts, due, index_pending};

/// Which messages a search considers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// Only this contact's thread (`contacts.wa_id`).
    pub contact: Option<String>,
    /// `inbound` or `outbound`; `None` for both.
    pub direction: Option<&'static str>,
    /// Only messages stored at or after this instant (`created_at` text).
    pub since: Option<String>,
    /// Only messages stored before this instant (`created_at` text).
    pub until: Option<String>,
}

/// One message a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    pub message: MessageRow,
    /// The matching part of the text, the matched words between [`MARK_OPEN`] and
    /// [`MARK_CLOSE`], cut with [`ELLIPSIS`].
    pub snippet: String,
}

/// What opens and closes a matched word in a snippet.
pub const MARK_OPEN: &str = "**";
pub const MARK_CLOSE: &str = "**";
/// What stands for text cut from a snippet.
pub const ELLIPSIS: &str = "…";
/// Words in a snippet at most.
const SNIPPET_WORDS: i64 = 24;

/// How far the index is: complete, or how much of the older rows it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexProgress {
    /// Every message is searchable.
    pub complete: bool,
    /// Rows that existed before the index and are indexed so far, by rowid.
    pub done_rowid: i64,
    /// The last row that existed before the index; later rows are always indexed.
    pub last_rowid: i64,
}

impl IndexProgress {
    /// The indexed share of the older rows, 0..=100.
    pub fn percent(&self) -> u8 {
        if self.complete || self.last_rowid <= 0 {
            100
        } else {
            (self.done_rowid.clamp(0, self.last_rowid) * 100 / self.last_rowid) as u8
        }
    }
}

/// Where the backfill stands.
pub fn index_progress(conn: &Connection) -> Result<IndexProgress, StoreError> {
    Ok(conn.query_row(
        "SELECT done_rowid, last_rowid FROM message_search_backfill WHERE id = 1",
        [],
        |r| {
            let (done_rowid, last_rowid): (i64, i64) = (r.get(0)?, r.get(1)?);
            Ok(IndexProgress {
                complete: done_rowid >= last_rowid,
                done_rowid,
                last_rowid,
            })
        },
    )?)
}

/// How many matches a search ranks at most: the newest this many that pass the filters.
///
/// Ranking every match of a very common word (a third of a million rows) costs hundreds
/// of milliseconds, because bm25 reads each row's size and word positions. FTS5 walks its
/// matches newest first (by rowid) at almost no cost, so a search ranks only the newest
/// `RANKED_CANDIDATES` matches: a query with fewer matches is ranked in full, one with
/// more finds the best of its recent matches rather than of all time.
pub const RANKED_CANDIDATES: usize = 2_000;

/// Up to `limit` messages matching `query` and `filter`, best match first (FTS5's bm25
/// among the newest [`RANKED_CANDIDATES`] matches that pass `filter`), then newest first.
pub fn search_messages(
    conn: &Connection,
    query: &SearchQuery,
    filter: &SearchFilter,
    limit: usize,
) -> Result<Vec<SearchHit>, StoreError> {
    // The hits' rows are read in the snapshot their matches were found in (a reader from
    // the pool is outside any transaction; one already inside one keeps it).
    let snapshot = match conn.is_autocommit() {
        true => Some(conn.unchecked_transaction()?),
        false => None,
    };
    let (sql, args) = search_sql(query, filter, limit);
    let mut stmt = match conn.prepare_cached(&sql) {
        Ok(stmt) => stmt,
        // A connection the pool did not open has no `wa_top` yet.
        Err(_) => {
            top::register(conn)?;
            conn.prepare_cached(&sql)?
        }
    };
    let mut scored: Vec<(f64, i64, Option<String>)> = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok((r.get(1)?, r.get(0)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    scored.truncate(limit);
    let mut row = conn.prepare_cached(&format!(
        "SELECT {} FROM messages WHERE rowid = ?1",
        super::read::MESSAGE_COLUMNS
    ))?;
    let mut hits = Vec::with_capacity(scored.len());
    for (_, rowid, snippet) in scored {
        if let Some(message) = row.query_row([rowid], message_row).optional()? {
            hits.push(SearchHit {
                message,
                snippet: snippet.unwrap_or_default(),
            });
        }
    }
    drop(row);
    drop(stmt);
    if let Some(snapshot) = snapshot {
        snapshot.commit()?;
    }
    Ok(hits)
}

/// SQLite's plan for [`search_messages`], one step per line.
pub fn explain_search(
    conn: &Connection,
    query: &SearchQuery,
    filter: &SearchFilter,
) -> Result<String, StoreError> {
    let (sql, args) = search_sql(query, filter, 20);
    let sql = format!("EXPLAIN QUERY PLAN {sql}");
    let mut stmt = match conn.prepare(&sql) {
        Ok(stmt) => stmt,
        Err(_) => {
            top::register(conn)?;
            conn.prepare(&sql)?
        }
    };
    let steps = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        r.get::<_, String>(3)
    })?;
    Ok(steps.collect::<Result<Vec<_>, _>>()?.join("\n"))
}

/// The search as one statement, so the index is opened once (FTS5 merges the lists of
/// every word a prefix begins each time it is): the newest [`RANKED_CANDIDATES`] matches
/// that pass the filters, newest first, each with its bm25 score, and a snippet for
/// those among the best `limit` so far (`wa_top`, see [`top`]), which include the best
/// `limit` of all. (bm25 counts every match of every word once per statement to weigh
/// it; called twice for one row, it reads that row's positions and size once.)
fn search_sql(query: &SearchQuery, filter: &SearchFilter, limit: usize) -> (String, Vec<String>) {
    let mut args = vec![query.expression().to_owned()];
    let mut clauses = String::new();
    let mut bind = |clause: &str, value: String| {
        args.push(value);
        clauses.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(contact) = &filter.contact {
        // The thread's rows as a set (one range of its index), and the rowids they span
        // so the index is read only where that person wrote.
        bind(
            " AND +s.rowid IN (SELECT rowid FROM messages WHERE contact_wa_id = ?)
              AND s.rowid BETWEEN (SELECT min(rowid) FROM messages WHERE contact_wa_id = ?)
                              AND (SELECT max(rowid) FROM messages WHERE contact_wa_id = ?)",
            contact.clone(),
        );
    }
    let needs_rows = filter.direction.is_some() || filter.since.is_some() || filter.until.is_some();
    if let Some(direction) = filter.direction {
        bind(" AND m.direction = ?", direction.to_owned());
    }
    if let Some(since) = &filter.since {
        bind(" AND m.created_at >= ?", since.clone());
    }
    if let Some(until) = &filter.until {
        bind(" AND m.created_at < ?", until.clone());
    }
    let join = if needs_rows {
        " CROSS JOIN messages m ON m.rowid = s.rowid"
    } else {
        ""
    };
    let top = top::FUNCTION;
    let sql = format!(
        "SELECT s.rowid, bm25(message_search),
                CASE WHEN {top}(bm25(message_search), s.rowid, {limit}) THEN
                    snippet(message_search, 0, '{MARK_OPEN}', '{MARK_CLOSE}', '{ELLIPSIS}', {SNIPPET_WORDS})
                END
         FROM message_search s{join}
         WHERE message_search MATCH ?1{clauses}
         ORDER BY s.rowid DESC
         LIMIT {RANKED_CANDIDATES}"
    );
    (sql, args)
}

#[cfg(test)]
mod tests;
