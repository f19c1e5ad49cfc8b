//! Outbound messages: the row that exists before Meta is called, and how it ends.

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::StoreError;
use super::contacts::upsert_contact;
use super::read::{MESSAGE_COLUMN_COUNT, MESSAGE_COLUMNS, message_row};
use super::statuses::apply_status;
use super::writer::WriteCtx;
use crate::model::{ContactSeen, MessageRow, SendOutcome};
use crate::redact::redact_serialized;

/// The client every row of this installation belongs to.
pub const CLIENT_ID: &str = "local-owner";

/// An outbound message about to be sent.
#[derive(Debug, Clone)]
pub struct NewOutbound {
    pub phone_number_id: String,
    /// The recipient as the contact they are (phone and/or BSUID).
    pub recipient: ContactSeen,
    /// Meta's type of what is sent (`text`, `template`, `reaction`, ...).
    pub kind: String,
    pub body: Option<String>,
    pub context_wamid: Option<String>,
    pub idempotency_key: Option<String>,
    /// SHA-256 (hex) of the whole request as the caller gave it; with a key, a repeated
    /// call is a replay only when this matches.
    pub fingerprint: Option<String>,
    /// The request body sent to Meta, as JSON text. Stored redacted exactly like an
    /// inbound payload (a template's Flow `flow_token`, say, is never kept).
    pub raw: String,
    /// The file an outbound media message carries, when it is a local upload.
    pub media: Option<OutboundMedia>,
}

/// What the row of an outbound media message keeps about its file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundMedia {
    /// Meta's media id: known before the send when an earlier upload is reused, else
    /// set by [`set_media_id`] once the upload answered.
    pub media_id: Option<String>,
    pub mime_type: String,
    pub size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    pub filename: Option<String>,
}

/// What [`begin_send`] found.
#[derive(Debug, Clone)]
pub enum BeginSend {
    /// A new `pending` row: go ahead and call Meta.
    New(MessageRow),
    /// The idempotency key was used before: this is that call's row; send nothing.
    Replay(MessageRow),
    /// The idempotency key was used before for a different message (another recipient,
    /// kind or text): this is that row; send nothing and say so.
    KeyReused(MessageRow),
    /// The idempotency key names the same message, whose send is still `pending`: wait
    /// for that send's outcome and send nothing.
    InFlight(MessageRow),
}

/// Inserts the `pending` row of a send, or returns the row an earlier call with the
/// same idempotency key made: as a replay when it is the same message (the same
/// request fingerprint and recipient, however the recipient is written; rows from
/// before fingerprints compare kind and text), in flight when that send is still
/// `pending`, else as a reused key.
pub fn begin_send(ctx: &mut WriteCtx<'_>, new: &NewOutbound) -> Result<BeginSend, StoreError> {
    begin_send_as(ctx, new, CLIENT_ID)
}

/// [`begin_send`] for the client `client_id` (a remote client the owner approved): the
/// row records it, and its idempotency keys are its own.
pub fn begin_send_as(
    ctx: &mut WriteCtx<'_>,
    new: &NewOutbound,
    client_id: &str,
) -> Result<BeginSend, StoreError> {
    if let Some((row, fingerprint)) =
        find_by_idempotency_key(ctx, client_id, new.idempotency_key.as_deref())?
    {
        let same_request = match (&fingerprint, &new.fingerprint) {
            (Some(old), Some(given)) => old == given,
            _ => row.kind == new.kind && row.body == new.body,
        };
        let same = same_request && is_recipient(ctx, row.contact.as_deref(), &new.recipient)?;
        return Ok(match (same, row.status.as_str()) {
            (false, _) => BeginSend::KeyReused(row),
            (true, "pending") => BeginSend::InFlight(row),
            (true, _) => BeginSend::Replay(row),
        });
    }
    let contact = upsert_contact(ctx, &new.recipient)?;
    let id = Uuid::now_v7().to_string();
    let created_at = ctx.next_created_at();
    ctx.exec(
        "INSERT INTO messages (id, client_id, phone_number_id, direction, contact_wa_id, type, body,
             context_wamid, status, created_at, updated_at, raw, idempotency_key,
             request_fingerprint)
         VALUES (?1, ?2, ?3, 'outbound', ?4, ?5, ?6, ?7, 'pending', ?8, ?8, ?9, ?10, ?11)",
        params![
            id,
            client_id,
            new.phone_number_id,
            contact,
            new.kind,
            new.body,
            new.context_wamid,
            created_at,
            redact_serialized(&new.raw),
            new.idempotency_key,
            new.fingerprint
        ],
    )?;
    if let Some(media) = &new.media {
        ctx.exec(
            "UPDATE messages SET media_id = ?2, media_mime_type = ?3, media_size = ?4,
                 media_sha256 = ?5, media_filename = ?6
             WHERE id = ?1",
            params![
                id,
                media.media_id,
                media.mime_type,
                i64::try_from(media.size).unwrap_or(i64::MAX),
                media.sha256,
                media.filename
            ],
        )?;
    }
    Ok(BeginSend::New(message_by_id(ctx, &id)?))
}

/// Records the media id Meta gave the upload of outbound message `id`.
pub fn set_media_id(ctx: &mut WriteCtx<'_>, id: &str, media_id: &str) -> Result<(), StoreError> {
    ctx.exec(
        "UPDATE messages SET media_id = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, media_id, ctx.now()],
    )?;
    Ok(())
}

/// The row with this idempotency key, and its request fingerprint.
fn find_by_idempotency_key(
    ctx: &WriteCtx<'_>,
    client_id: &str,
    key: Option<&str>,
) -> Result<Option<(MessageRow, Option<String>)>, StoreError> {
    let Some(key) = key else { return Ok(None) };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS}, request_fingerprint FROM messages
         WHERE client_id = ?1 AND idempotency_key = ?2"
    );
    let found = ctx
        .row(&sql, params![client_id, key], |r| {
            let fingerprint = r.get(MESSAGE_COLUMN_COUNT)?;
            Ok((message_row(r)?, fingerprint))
        })
        .optional()?;
    Ok(found)
}

/// Whether the contact keyed `contact` is the recipient `seen` (by phone or BSUID).
fn is_recipient(
    ctx: &WriteCtx<'_>,
    contact: Option<&str>,
    seen: &ContactSeen,
) -> Result<bool, StoreError> {
    let Some(contact) = contact else {
        return Ok(false);
    };
    for identity in [seen.wa_id.as_deref(), seen.user_id.as_deref()]
        .into_iter()
        .flatten()
    {
        let known: bool = ctx.row(
            "SELECT ?2 = ?1 OR EXISTS (
                 SELECT 1 FROM contacts WHERE wa_id = ?1 AND (wa_id = ?2 OR user_id = ?2))",
            params![contact, identity],
            |r| r.get(0),
        )?;
        if known {
            return Ok(true);
        }
    }
    Ok(false)
}

fn message_by_id(ctx: &WriteCtx<'_>, id: &str) -> Result<MessageRow, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1");
    Ok(ctx.row(&sql, [id], message_row)?)
}

/// Ends a send. A `Sent` row takes its wamid, and any statuses Meta reported for that
/// wamid before the send returned (they wait in `message_status_events`) are applied
/// in the order they arrived.
pub fn finish_send(
    ctx: &mut WriteCtx<'_>,
    id: &str,
    outcome: &SendOutcome,
) -> Result<MessageRow, StoreError> {
    let now = ctx.now().to_owned();
    match outcome {
        SendOutcome::Sent { wamid } => {
            ctx.exec(
                "UPDATE messages SET status = 'sent', wamid = ?2, error_code = NULL,
                     error_title = NULL, updated_at = ?3
                 WHERE id = ?1",
                params![id, wamid, now],
            )?;
            apply_early_statuses(ctx, wamid)?;
        }
        SendOutcome::Failed { code, title } => {
            ctx.exec(
                "UPDATE messages SET status = 'failed', error_code = ?2, error_title = ?3, updated_at = ?4
                 WHERE id = ?1",
                params![id, code, title, now],
            )?;
        }
        SendOutcome::Unknown { detail } => {
            ctx.exec(
                "UPDATE messages SET status = 'unknown', error_title = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, detail, now],
            )?;
        }
    }
    message_by_id(ctx, id)
}

fn apply_early_statuses(ctx: &mut WriteCtx<'_>, wamid: &str) -> Result<(), StoreError> {
    let early: Vec<(String, Option<String>, Option<String>)> = {
        let mut stmt = ctx.conn().prepare_cached(
            "SELECT status, error_code, error_title FROM message_status_events
             WHERE wamid = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([wamid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (status, code, title) in &early {
        apply_status(ctx, wamid, status, code.as_deref(), title.as_deref())?;
    }
    if !early.is_empty() {
        tracing::info!(wamid, statuses = early.len(), "early_statuses_applied");
    }
    Ok(())
}

/// Marks `unknown` every send still `pending` whose row was last touched before
/// `older_than` (a crash interrupted it: it is never sent again, since it may have
/// gone out). Returns how many.
pub fn abandon_stale_pending(
    ctx: &mut WriteCtx<'_>,
    older_than: &str,
) -> Result<usize, StoreError> {
    let n = ctx.exec(
        "UPDATE messages SET status = 'unknown',
             error_title = 'interrupted before Meta answered: it may or may not have been delivered',
             updated_at = ?2
         WHERE status = 'pending' AND updated_at < ?1",
        params![older_than, ctx.now()],
    )?;
    Ok(n)
}

/// Sets an inbound message `read` (after Meta accepted the read receipt).
pub fn set_inbound_read(ctx: &mut WriteCtx<'_>, id: &str) -> Result<(), StoreError> {
    ctx.exec(
        "UPDATE messages SET status = 'read', updated_at = ?2 WHERE id = ?1 AND direction = 'inbound'",
        params![id, ctx.now()],
    )?;
    Ok(())
}

/// Records that `client_id` pulled messages of `phone_number_id` at `at`.
pub fn touch_pull_cursor(
    ctx: &mut WriteCtx<'_>,
    phone_number_id: &str,
    at: &str,
) -> Result<(), StoreError> {
    ctx.exec(
        "INSERT INTO pull_cursors (client_id, phone_number_id, last_pulled_at, updated_at)
         VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (client_id, phone_number_id)
         DO UPDATE SET last_pulled_at = excluded.last_pulled_at, updated_at = excluded.updated_at",
        params![CLIENT_ID, phone_number_id, at],
    )?;
    Ok(())
}
