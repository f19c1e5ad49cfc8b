//! Writing one webhook delivery: the delivery-log row, idempotency claims, contacts,
//! messages and statuses, all in one savepoint so they commit together or not at all.

use std::collections::HashSet;

use rusqlite::params;
use uuid::Uuid;

use super::StoreError;
use super::contacts::{upsert_contact, upsert_contact_inbound};
use super::statuses::record_status;
use super::writer::WriteCtx;
use crate::model::{Delivery, DeliveryReport, InboundMessage, Outcome, PreparedDelivery};
use crate::timefmt::{format_micros, format_unix_secs};

/// Stores one delivery. Rows that cannot be written roll back together. When the
/// cause is the delivery (a shape we cannot store), it is logged as failed with its
/// payload, so an answer of 200 always means the delivery is kept somewhere it can be
/// recovered from. When the cause is transient (see [`StoreError::is_transient`]: a
/// full disk, an I/O error, no memory, a lock held too long) nothing is kept and the
/// error is returned, so the caller answers 503 and Meta delivers it again.
///
/// Run without a savepoint of its own ([`WriteCtx::isolated`] false), any error is
/// returned as it is: the writer rolls the batch back and runs this again, isolated,
/// where the rules above apply.
pub fn write_delivery(
    ctx: &mut WriteCtx<'_>,
    d: &PreparedDelivery,
) -> Result<DeliveryReport, StoreError> {
    let delivery = match &d.parsed {
        Ok(delivery) => delivery,
        Err(e) => return log_failed(ctx, d, &e.to_string()),
    };
    if !ctx.isolated() {
        return write_rows(ctx, d, delivery);
    }
    ctx.exec("SAVEPOINT delivery", [])?;
    match write_rows(ctx, d, delivery) {
        Ok(report) => {
            ctx.exec("RELEASE delivery", [])?;
            Ok(report)
        }
        Err(e) if e.is_transient() => {
            // SQLite may have rolled the whole transaction back already (it may after
            // SQLITE_FULL, IOERR, NOMEM or BUSY); then these fail too, and so does the
            // batch, which is what the caller is told either way.
            let _ = ctx.exec("ROLLBACK TO delivery", []);
            let _ = ctx.exec("RELEASE delivery", []);
            tracing::warn!(request_id = %d.request_id, error = %e, "webhook_rows_not_stored");
            Err(e)
        }
        Err(e) => {
            ctx.exec("ROLLBACK TO delivery", [])?;
            ctx.exec("RELEASE delivery", [])?;
            tracing::error!(request_id = %d.request_id, error = %e, "webhook_rows_failed");
            log_failed(ctx, d, &format!("rows could not be stored: {e}"))
        }
    }
}

fn write_rows(
    ctx: &mut WriteCtx<'_>,
    d: &PreparedDelivery,
    delivery: &Delivery,
) -> Result<DeliveryReport, StoreError> {
    // The payload is written with the outcome, once it is known: a replay keeps none.
    let event_id = insert_event(ctx, d, Outcome::Processed, None, false)?;
    upsert_other_contacts(ctx, delivery)?;
    let (mut new_messages, mut new_statuses, mut duplicates) = (0, 0, 0);
    for m in &delivery.messages {
        if claim_event(ctx, &m.event_id, "message", event_id)? && insert_inbound(ctx, m)? {
            new_messages += 1;
        } else {
            duplicates += 1;
        }
    }
    for s in &delivery.statuses {
        if claim_event(ctx, &s.event_id, "status", event_id)? {
            record_status(ctx, s, event_id)?;
            new_statuses += 1;
        } else {
            duplicates += 1;
        }
    }
    let error = (!delivery.problems.is_empty()).then(|| delivery.problems.join("; "));
    let outcome = if error.is_some() {
        Outcome::Failed
    } else if new_messages + new_statuses > 0 {
        Outcome::Processed
    } else if duplicates > 0 {
        Outcome::Duplicate
    } else {
        Outcome::Ignored
    };
    // A duplicate holds nothing that is not stored already (the first copy's payload is
    // kept with that delivery): its row keeps the hash and size, not the bytes, so
    // replaying one signed delivery cannot fill the disk.
    // (No `payload_dropped` mark either: outcome `duplicate` with no payload says it, and
    // the row is then all a replay costs.)
    let payload = (outcome != Outcome::Duplicate).then_some(d.payload.as_str());
    ctx.exec(
        "UPDATE webhook_events SET outcome = ?2, error = ?3, messages = ?4, statuses = ?5,
             payload = ?6
         WHERE id = ?1",
        params![
            event_id,
            outcome.as_str(),
            error,
            new_messages as i64,
            new_statuses as i64,
            payload
        ],
    )?;
    Ok(DeliveryReport {
        event_id,
        outcome,
        new_messages,
        new_statuses,
        duplicates,
        error,
    })
}

/// Upserts the contacts of a delivery's contacts blocks that sent none of its
/// messages (a status's recipient, say); senders are upserted with their message.
pub(super) fn upsert_other_contacts(
    ctx: &mut WriteCtx<'_>,
    delivery: &Delivery,
) -> Result<(), StoreError> {
    let sender_phones: HashSet<&str> = delivery
        .messages
        .iter()
        .filter_map(|m| m.sender.wa_id.as_deref())
        .collect();
    let sender_users: HashSet<&str> = delivery
        .messages
        .iter()
        .filter_map(|m| m.sender.user_id.as_deref())
        .collect();
    for contact in &delivery.contacts {
        let is_sender = contact
            .wa_id
            .as_deref()
            .is_some_and(|p| sender_phones.contains(p))
            || contact
                .user_id
                .as_deref()
                .is_some_and(|u| sender_users.contains(u));
        if !is_sender {
            upsert_contact(ctx, contact)?;
        }
    }
    Ok(())
}

fn log_failed(
    ctx: &mut WriteCtx<'_>,
    d: &PreparedDelivery,
    error: &str,
) -> Result<DeliveryReport, StoreError> {
    let event_id = insert_event(ctx, d, Outcome::Failed, Some(error), true)?;
    Ok(DeliveryReport {
        event_id,
        outcome: Outcome::Failed,
        new_messages: 0,
        new_statuses: 0,
        duplicates: 0,
        error: Some(error.to_owned()),
    })
}

/// Inserts the delivery's log row, with its payload when `with_payload`.
fn insert_event(
    ctx: &mut WriteCtx<'_>,
    d: &PreparedDelivery,
    outcome: Outcome,
    error: Option<&str>,
    with_payload: bool,
) -> Result<i64, StoreError> {
    let created_at = ctx.next_created_at();
    ctx.exec(
        "INSERT INTO webhook_events (received_at, request_id, outcome, error, payload,
             payload_sha256, payload_bytes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            format_micros(d.received_at),
            d.request_id,
            outcome.as_str(),
            error,
            with_payload.then_some(d.payload.as_str()),
            d.payload_sha256,
            d.payload_bytes as i64,
            created_at
        ],
    )?;
    Ok(ctx.conn().last_insert_rowid())
}

/// Claims an event id; `false` means an earlier delivery already claimed it.
fn claim_event(
    ctx: &WriteCtx<'_>,
    event_id: &str,
    kind: &str,
    webhook_event_id: i64,
) -> Result<bool, StoreError> {
    let inserted = ctx.exec(
        "INSERT INTO idempotency (event_id, kind, webhook_event_id, created_at)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (event_id) DO NOTHING",
        params![event_id, kind, webhook_event_id, ctx.now()],
    )?;
    Ok(inserted == 1)
}

/// Inserts the `messages` row of an inbound message; `false` when a row with its wamid
/// exists already (the same message re-sent under another event id).
pub(super) fn insert_inbound(
    ctx: &mut WriteCtx<'_>,
    m: &InboundMessage,
) -> Result<bool, StoreError> {
    let ts = m.ts.map(format_unix_secs);
    let inbound_at = ts.clone().unwrap_or_else(|| ctx.now().to_owned());
    let contact = upsert_contact_inbound(ctx, &m.sender, Some(&inbound_at))?;
    let created_at = ctx.next_created_at();
    let media = m.media.clone().unwrap_or_default();
    let (error_code, error_title) = match &m.error {
        Some(e) => (Some(e.code.clone()), Some(e.title.clone())),
        None => (None, None),
    };
    let inserted = ctx.exec(
        "INSERT INTO messages (id, phone_number_id, direction, wamid, contact_wa_id, type, body,
             media_id, media_mime_type, media_sha256, media_filename, context_wamid, status,
             error_code, error_title, ts, created_at, updated_at, raw,
             interactive_reply_id, interactive_reply_title)
         VALUES (?1, ?2, 'inbound', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'received',
             ?12, ?13, ?14, ?15, ?15, ?16, ?17, ?18)
         ON CONFLICT (wamid) DO NOTHING",
        params![
            Uuid::now_v7().to_string(),
            m.phone_number_id,
            m.wamid,
            contact,
            m.kind,
            m.body,
            media.id,
            media.mime_type,
            media.sha256,
            media.filename,
            m.context_wamid,
            error_code,
            error_title,
            ts,
            created_at,
            m.raw.to_string(),
            m.interactive_reply.as_ref().map(|r| r.id.as_str()),
            m.interactive_reply.as_ref().map(|r| r.title.as_str())
        ],
    )?;
    Ok(inserted == 1)
}
