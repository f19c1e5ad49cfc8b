//! Recovering a delivery from the delivery log: its stored (redacted) payload is
//! normalised again by today's code and its rows written under the same
//! `webhook_events` row, idempotently. This is how a delivery kept as `failed` (an
//! unknown shape, a bug since fixed) is recovered after an upgrade.

use crate::store::reprocess::{rewrite_delivery, stored_delivery};
use crate::store::{ReprocessReport, Store, StoreError};
use crate::timefmt::now_micros;

use super::prepare::prepare_delivery;

/// Normalises delivery `event_id`'s stored payload again and writes what it holds in
/// one write job; `None` when the log has no such delivery. Running it again, or on a
/// delivery already processed, adds no row. Blocks the calling thread (call it from
/// the CLI or `spawn_blocking`, not from an async task).
pub fn reprocess_delivery(
    store: &Store,
    event_id: i64,
) -> Result<Option<ReprocessReport>, StoreError> {
    let Some(stored) = store.read_blocking(|c| stored_delivery(c, event_id))? else {
        return Ok(None);
    };
    let request_id = stored.request_id.unwrap_or_default();
    // The payload was redacted before it was kept; redacting it again changes nothing.
    let parsed = prepare_delivery(stored.payload.as_bytes(), request_id, now_micros()).parsed;
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
