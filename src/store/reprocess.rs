//! Writing the rows of a delivery again from its stored payload, into the delivery-log
//! row it already has: how a delivery that failed (an unknown shape, a bug since
//! fixed) is recovered after an upgrade.
//!
//! Idempotent by the same keys as the first write: every item claims its key in
//! `idempotency` pointing at this delivery; a key this delivery already holds is its
//! own earlier work (counted, not written again), a key another delivery holds is a
//! duplicate. Running it twice, or on a delivery that was processed, adds nothing.

use rusqlite::{OptionalExtension, params};

use super::Store;
use super::StoreError;
use super::ingest::{insert_inbound, upsert_other_contacts};
use super::statuses::record_status;
use super::writer::WriteCtx;
use crate::model::{Delivery, NormaliseError, Outcome};

/// A delivery-log row as reprocessing needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDelivery {
    pub id: i64,
    pub request_id: Option<String>,
    /// The redacted payload as it was kept (empty if none was).
    pub payload: String,
    /// Why no payload is kept (`duplicate`, `expired`, or `missing` for a row that
    /// never had one); `None` while it is.
    pub payload_dropped: Option<String>,
}

/// What reprocessing one delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReprocessReport {
    /// The `webhook_events` row, unchanged in identity.
    pub event_id: i64,
    /// Its outcome before, as stored (`processed`, `duplicate`, `ignored`, `failed`).
    pub outcome_before: String,
    /// Its outcome now.
    pub outcome: Outcome,
    /// Rows written by this run.
    pub new_messages: usize,
    pub new_statuses: usize,
    /// Items whose key this delivery had already claimed on an earlier run.
    pub already_stored: usize,
    /// Items another delivery had stored.
    pub duplicates: usize,
    /// Why it is still failed, when it is.
    pub error: Option<String>,
}

/// The delivery-log row `id`, or `None` when there is none.
pub fn stored_delivery(
    conn: &rusqlite::Connection,
    id: i64,
) -> Result<Option<StoredDelivery>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT id, request_id, payload, payload_dropped, outcome = 'duplicate'
             FROM webhook_events WHERE id = ?1",
        )?
        .query_row([id], |r| {
            let payload: Option<String> = r.get(2)?;
            let dropped: Option<String> = r.get(3)?;
            let duplicate: bool = r.get(4)?;
            Ok(StoredDelivery {
                id: r.get(0)?,
                request_id: r.get(1)?,
                payload_dropped: match (&payload, dropped) {
                    (Some(_), _) => None,
                    (None, Some(why)) => Some(why),
                    (None, None) if duplicate => Some(PAYLOAD_DUPLICATE.to_owned()),
                    (None, None) => Some("missing".to_owned()),
                },
                payload: payload.unwrap_or_default(),
            })
        })
        .optional()?;
    Ok(row)
}

/// Writes the rows of `parsed` (the stored payload normalised again) under delivery
/// `event_id` and updates that row's outcome, error and counts, all in one savepoint.
/// `None` when the row does not exist. If the rows cannot be written they roll back
/// and the row is marked failed with the new error.
pub fn rewrite_delivery(
    ctx: &mut WriteCtx<'_>,
    event_id: i64,
    parsed: &Result<Delivery, NormaliseError>,
) -> Result<Option<ReprocessReport>, StoreError> {
    let before: Option<(String, u32, u32)> = ctx
        .row(
            "SELECT outcome, messages, statuses FROM webhook_events WHERE id = ?1",
            [event_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((outcome_before, messages, statuses)) = before else {
        return Ok(None);
    };
    // What the row says this delivery created earlier; this run adds to it.
    let (mut messages, mut statuses) = (messages as usize, statuses as usize);
    let mut report = ReprocessReport {
        event_id,
        outcome_before,
        outcome: Outcome::Failed,
        new_messages: 0,
        new_statuses: 0,
        already_stored: 0,
        duplicates: 0,
        error: None,
    };
    match parsed {
        Err(e) => report.error = Some(e.to_string()),
        Ok(delivery) => {
            write_in_savepoint(ctx, delivery, &mut report, messages + statuses)?;
            messages += report.new_messages;
            statuses += report.new_statuses;
        }
    }
    ctx.exec(
        "UPDATE webhook_events SET outcome = ?2, error = ?3, messages = ?4, statuses = ?5
         WHERE id = ?1",
        params![
            event_id,
            report.outcome.as_str(),
            report.error,
            messages as i64,
            statuses as i64
        ],
    )?;
    Ok(Some(report))
}

/// [`write_items`] in a savepoint; when a statement fails, nothing of this run remains
/// and the report says failed with the database's error.
fn write_in_savepoint(
    ctx: &mut WriteCtx<'_>,
    delivery: &Delivery,
    report: &mut ReprocessReport,
    stored_before: usize,
) -> Result<(), StoreError> {
    ctx.exec("SAVEPOINT reprocess", [])?;
    match write_items(ctx, delivery, report, stored_before) {
        Ok(()) => {
            ctx.exec("RELEASE reprocess", [])?;
        }
        Err(e) => {
            ctx.exec("ROLLBACK TO reprocess", [])?;
            ctx.exec("RELEASE reprocess", [])?;
            tracing::error!(event = report.event_id, error = %e, "webhook_reprocess_rows_failed");
            report.outcome = Outcome::Failed;
            report.error = Some(format!("rows could not be stored: {e}"));
            (report.new_messages, report.new_statuses) = (0, 0);
            (report.already_stored, report.duplicates) = (0, 0);
        }
    }
    Ok(())
}

/// Claims and writes every item, filling in the report's counts and verdict.
/// `stored_before` is how many rows the delivery-log row says it created earlier.
fn write_items(
    ctx: &mut WriteCtx<'_>,
    delivery: &Delivery,
    report: &mut ReprocessReport,
    stored_before: usize,
) -> Result<(), StoreError> {
    let event_id = report.event_id;
    upsert_other_contacts(ctx, delivery)?;
    for m in &delivery.messages {
        match claim(ctx, &m.event_id, "message", event_id)? {
            Claim::New if insert_inbound(ctx, m)? => report.new_messages += 1,
            Claim::New | Claim::Theirs => report.duplicates += 1,
            Claim::Ours => report.already_stored += 1,
        }
    }
    for s in &delivery.statuses {
        match claim(ctx, &s.event_id, "status", event_id)? {
            Claim::New => {
                record_status(ctx, s, event_id)?;
                report.new_statuses += 1;
            }
            Claim::Ours => report.already_stored += 1,
            Claim::Theirs => report.duplicates += 1,
        }
    }
    report.error = (!delivery.problems.is_empty()).then(|| delivery.problems.join("; "));
    let stored = stored_before + report.new_messages + report.new_statuses;
    report.outcome = if report.error.is_some() {
        Outcome::Failed
    } else if stored > 0 {
        Outcome::Processed
    } else if report.duplicates + report.already_stored > 0 {
        Outcome::Duplicate
    } else {
        Outcome::Ignored
    };
    Ok(())
}

/// Who holds an item's idempotency key after trying to claim it for `event_id`.
enum Claim {
    /// Nobody did: this run claimed it.
    New,
    /// This delivery, on an earlier run.
    Ours,
    /// Another delivery.
    Theirs,
}

fn claim(ctx: &WriteCtx<'_>, key: &str, kind: &str, event_id: i64) -> Result<Claim, StoreError> {
    let inserted = ctx.exec(
        "INSERT INTO idempotency (event_id, kind, webhook_event_id, created_at)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (event_id) DO NOTHING",
        params![key, kind, event_id, ctx.now()],
    )?;
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let holder: Option<i64> = ctx.row(
        "SELECT webhook_event_id FROM idempotency WHERE event_id = ?1",
        [key],
        |r| r.get(0),
    )?;
    Ok(if holder == Some(event_id) {
        Claim::Ours
    } else {
        Claim::Theirs
    })
}

/// Why a duplicate's row has no payload: it was never kept.
const PAYLOAD_DUPLICATE: &str = "duplicate";

/// What the owner reads when a delivery's payload is gone.
fn payload_not_kept_reason(why: &str) -> String {
    match why {
        super::retention::PAYLOAD_EXPIRED => "its payload has expired: delivery-log payloads \
             are dropped after WA_PAYLOAD_RETENTION_DAYS days (30 by default; those of failed \
             deliveries are kept); the row stays"
            .to_owned(),
        super::prune::PAYLOAD_PRUNED => "its payload was removed by `wa-mcp prune`; the row \
             stays"
            .to_owned(),
        PAYLOAD_DUPLICATE => "its payload was not kept: it was a duplicate, \
             everything in it had been stored by an earlier delivery"
            .to_owned(),
        _ => "no payload was kept for it".to_owned(),
    }
}

/// Reads delivery `event_id`'s stored payload, has `normalise` read it again with
/// today's code, and writes what it holds in one write job; `None` when the log has no
/// such delivery, [`StoreError::PayloadNotKept`] when its payload expired or was never
/// kept (a duplicate). Running it again, or on a delivery already processed, adds no row.
/// Blocks the calling thread (call it from the CLI or `spawn_blocking`).
pub fn reprocess_delivery(
    store: &Store,
    event_id: i64,
    normalise: impl FnOnce(&StoredDelivery) -> Result<Delivery, NormaliseError>,
) -> Result<Option<ReprocessReport>, StoreError> {
    let Some(stored) = store.read_blocking(|c| stored_delivery(c, event_id))? else {
        return Ok(None);
    };
    if let Some(why) = stored.payload_dropped {
        return Err(StoreError::PayloadNotKept {
            event_id,
            reason: payload_not_kept_reason(&why),
        });
    }
    let parsed = normalise(&stored);
    let report = store.write_blocking(move |ctx| rewrite_delivery(ctx, event_id, &parsed))?;
    if let Some(r) = &report {
        tracing::info!(
            event = r.event_id,
            before = %r.outcome_before,
            after = r.outcome.as_str(),
            messages = r.new_messages,
            statuses = r.new_statuses,
            already_stored = r.already_stored,
            duplicates = r.duplicates,
            error = r.error.as_deref().unwrap_or(""),
            "webhook_reprocessed"
        );
    }
    Ok(report)
}
