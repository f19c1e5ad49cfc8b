//! Indexing the messages that existed before the search index: a background thread
//! sends the writer one bounded batch at a time, so a million old rows never make one
//! huge transaction, never hold more than a batch in memory, and never keep the writer
//! from a webhook delivery for longer than one batch takes.
//!
//! The state is one row, `message_search_backfill (done_rowid, last_rowid)`: rows whose
//! rowid is in `(done_rowid, last_rowid]` are not indexed yet, every other row is (the
//! triggers of migration V8 keep that). A batch indexes the next rows of that range and
//! moves `done_rowid` in the same transaction, so a crash or a stop loses nothing and the
//! next start resumes where the last commit left off; two processes sharing the file take
//! turns on the write lock and never index a row twice.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use rusqlite::params;

use super::IndexProgress;
use crate::store::writer::WriteCtx;
use crate::store::{Inner, Store, StoreError};

/// Rows indexed per writer transaction.
pub const BACKFILL_BATCH: usize = 2_000;
/// Pause between batches: the writer is free for other work meanwhile.
const PAUSE: Duration = Duration::from_millis(20);
/// How often progress is logged.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Indexes up to `max_rows` more of the rows older than the index and returns where the
/// backfill stands after it.
pub fn backfill_batch(
    ctx: &mut WriteCtx<'_>,
    max_rows: usize,
) -> Result<IndexProgress, StoreError> {
    let (done, last): (i64, i64) = ctx.row(
        "SELECT done_rowid, last_rowid FROM message_search_backfill WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if done >= last {
        return Ok(IndexProgress {
            complete: true,
            done_rowid: done,
            last_rowid: last,
        });
    }
    let upto: i64 = ctx.row(
        "SELECT coalesce(max(rowid), ?2) FROM (
             SELECT rowid FROM messages WHERE rowid > ?1 AND rowid <= ?2 ORDER BY rowid LIMIT ?3)",
        params![done, last, max_rows.max(1) as i64],
        |r| r.get(0),
    )?;
    ctx.exec(
        "UPDATE messages SET search_words = (
             SELECT words FROM message_search_words WHERE message_rowid = messages.rowid)
         WHERE rowid > ?1 AND rowid <= ?2 AND direction = 'outbound'",
        params![done, upto],
    )?;
    ctx.exec(
        "INSERT INTO message_search (rowid, text)
         SELECT message_rowid, text FROM message_search_text
         WHERE message_rowid > ?1 AND message_rowid <= ?2 AND text IS NOT NULL",
        params![done, upto],
    )?;
    ctx.exec(
        "UPDATE message_search_backfill SET done_rowid = ?1 WHERE id = 1",
        [upto],
    )?;
    Ok(IndexProgress {
        complete: upto >= last,
        done_rowid: upto,
        last_rowid: last,
    })
}

/// Starts the backfill thread when the index is incomplete. It holds the store weakly:
/// dropping the last [`Store`] handle stops it after the batch in flight.
pub(crate) fn spawn_backfill(store: &Store) -> Result<(), StoreError> {
    let progress = store.read_blocking(super::index_progress)?;
    if progress.complete {
        return Ok(());
    }
    tracing::info!(
        percent = progress.percent(),
        done_rowid = progress.done_rowid,
        last_rowid = progress.last_rowid,
        "search_backfill_started"
    );
    let weak = Arc::downgrade(&store.inner);
    std::thread::Builder::new()
        .name("wa-mcp-search-backfill".into())
        .spawn(move || run_backfill(weak))
        .map_err(|source| StoreError::Io {
            path: store.path().to_path_buf(),
            source,
        })?;
    Ok(())
}

fn run_backfill(weak: Weak<Inner>) {
    let started = Instant::now();
    let mut logged = Instant::now();
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let store = Store { inner };
        let result = store.write_blocking(|ctx| backfill_batch(ctx, BACKFILL_BATCH));
        drop(store);
        match result {
            Ok(p) if p.complete => {
                tracing::info!(
                    rows = p.last_rowid,
                    seconds = started.elapsed().as_secs_f64(),
                    "search_backfill_complete"
                );
                return;
            }
            Ok(p) => {
                if logged.elapsed() >= LOG_EVERY {
                    logged = Instant::now();
                    tracing::info!(
                        percent = p.percent(),
                        done_rowid = p.done_rowid,
                        last_rowid = p.last_rowid,
                        "search_backfill_progress"
                    );
                }
                std::thread::sleep(PAUSE);
            }
            Err(StoreError::WriterGone) => return,
            Err(e) => {
                tracing::warn!(error = %e, "search_backfill_batch_failed; retrying");
                std::thread::sleep(LOG_EVERY);
            }
        }
    }
}
