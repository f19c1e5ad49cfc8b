//! `prune`: what is older than a cut-off, and removing it a bounded batch at a time.
//!
//! Old means `created_at` (when wa-mcp stored the row) before the cut-off. A message goes
//! with its status events and its `media_files` row (`ON DELETE CASCADE`); rows are
//! removed by plain `DELETE`s so every trigger on `messages` (the search index among
//! them) stays right. Delivery-log rows stay and only their payloads are dropped.
//! Contacts are never touched: who has written to us is `contacts.last_inbound_at`, so
//! the allowlist and the 24-hour window do not forget anyone.
//!
//! Each batch is one write job: the writer (and, through SQLite's lock, every other
//! process's writer) is held for one batch, never for the whole prune.

use rusqlite::{Connection, params};

use super::StoreError;
use super::writer::WriteCtx;

/// What a prune with a given cut-off removes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrunePlan {
    pub messages: i64,
    /// Every message the database holds, old or not.
    pub messages_in_all: i64,
    /// Status events of those messages, and those older than the cut-off whose message
    /// never arrived.
    pub status_events: i64,
    /// Delivery-log rows older than the cut-off that still hold a payload.
    pub payloads: i64,
    pub payload_bytes: i64,
    pub media_files: i64,
    pub media_bytes: i64,
    /// Contacts whose every message is old (they stay, with who wrote to us).
    pub contacts_emptied: i64,
}

/// Counts what a prune before `cutoff` (a stored timestamp) would remove.
pub fn plan_prune(conn: &Connection, cutoff: &str) -> Result<PrunePlan, StoreError> {
    let one = |sql: &str| conn.query_row(sql, [cutoff], |r| r.get::<_, i64>(0));
    let (payloads, payload_bytes) = conn.query_row(
        "SELECT count(*), coalesce(sum(length(CAST(payload AS BLOB))), 0) FROM webhook_events
         WHERE received_at < ?1 AND payload IS NOT NULL",
        [cutoff],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (media_files, media_bytes) = conn.query_row(
        "SELECT count(*), coalesce(sum(f.size), 0) FROM media_files f
         JOIN messages m ON m.id = f.message_id WHERE m.created_at < ?1",
        [cutoff],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(PrunePlan {
        messages: one("SELECT count(*) FROM messages WHERE created_at < ?1")?,
        messages_in_all: conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?,
        status_events: one("SELECT count(*) FROM message_status_events s
             WHERE s.wamid IN (SELECT wamid FROM messages
                               WHERE created_at < ?1 AND wamid IS NOT NULL)
                OR (s.created_at < ?1
                    AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.wamid = s.wamid))")?,
        payloads,
        payload_bytes,
        media_files,
        media_bytes,
        contacts_emptied: one("SELECT count(*) FROM contacts c
             WHERE EXISTS (SELECT 1 FROM messages m
                           WHERE m.contact_wa_id = c.wa_id AND m.created_at < ?1)
               AND NOT EXISTS (SELECT 1 FROM messages m
                               WHERE m.contact_wa_id = c.wa_id AND m.created_at >= ?1)")?,
    })
}

/// What one batch of messages took with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrunedMessages {
    pub messages: usize,
    pub status_events: usize,
    /// Media file names no row names any more: the caller deletes the files once the
    /// batch is committed.
    pub media_files: Vec<String>,
}

/// Removes up to `limit` of the oldest messages created before `cutoff`, with their
/// status events and saved-media rows. Zero messages means nothing old is left.
pub fn prune_message_batch(
    ctx: &mut WriteCtx<'_>,
    cutoff: &str,
    limit: usize,
) -> Result<PrunedMessages, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let batch: Vec<(String, Option<String>)> = {
        let mut stmt = ctx.conn().prepare_cached(
            "SELECT id, wamid FROM messages WHERE created_at < ?1
             ORDER BY created_at, id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![cutoff, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut done = PrunedMessages::default();
    let mut names = Vec::new();
    for (id, wamid) in &batch {
        if let Some(wamid) = wamid {
            done.status_events += ctx.exec(
                "DELETE FROM message_status_events WHERE wamid = ?1",
                [wamid],
            )?;
        }
        let mut stmt = ctx
            .conn()
            .prepare_cached("SELECT file_name FROM media_files WHERE message_id = ?1")?;
        let files = stmt.query_map([id], |r| r.get::<_, String>(0))?;
        names.extend(files.collect::<rusqlite::Result<Vec<_>>>()?);
        done.messages += ctx.exec("DELETE FROM messages WHERE id = ?1", [id])?;
    }
    for name in names {
        let still_named: bool = ctx.row(
            "SELECT EXISTS (SELECT 1 FROM media_files WHERE file_name = ?1)",
            [&name],
            |r| r.get(0),
        )?;
        if !still_named {
            done.media_files.push(name);
        }
    }
    Ok(done)
}

/// Removes up to `limit` status events older than `cutoff` whose message is not in the
/// database (it never arrived, or was pruned before its statuses); returns how many.
pub fn prune_orphan_status_batch(
    ctx: &mut WriteCtx<'_>,
    cutoff: &str,
    limit: usize,
) -> Result<usize, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(ctx.exec(
        "DELETE FROM message_status_events WHERE id IN (
             SELECT s.id FROM message_status_events s
             WHERE s.created_at < ?1
               AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.wamid = s.wamid)
             ORDER BY s.id LIMIT ?2)",
        params![cutoff, limit],
    )?)
}

/// `payload_dropped` of a row whose payload `wa-mcp prune` removed.
pub const PAYLOAD_PRUNED: &str = "pruned";

/// Drops the payloads of up to `limit` delivery-log rows received before `cutoff` (the
/// rows stay: id, time, outcome, hash and counts); returns how many.
pub fn prune_payload_batch(
    ctx: &mut WriteCtx<'_>,
    cutoff: &str,
    limit: usize,
) -> Result<usize, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(ctx.exec(
        "UPDATE webhook_events SET payload = NULL, payload_dropped = ?3 WHERE id IN (
             SELECT id FROM webhook_events
             WHERE received_at < ?1 AND payload IS NOT NULL
             ORDER BY id LIMIT ?2)",
        params![cutoff, limit, PAYLOAD_PRUNED],
    )?)
}
