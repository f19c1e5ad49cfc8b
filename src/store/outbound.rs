//! Outbound messages: the row that exists before Meta is called, and how it ends.

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::StoreError;
use super::contacts::upsert_contact;
use super::read::{MESSAGE_COLUMNS, message_row};
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
    /// The request body sent to Meta, as JSON text. Stored redacted exactly like an
    /// inbound payload (a template's Flow `flow_token`, say, is never kept).
    pub raw: String,
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
}

/// Inserts the `pending` row of a send, or returns the row an earlier call with the
/// same idempotency key made: as a replay when it is the same message (same kind,
/// text and recipient, however the recipient is written), else as a reused key.
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
    if let Some(row) = find_by_idempotency_key(ctx, client_id, new.idempotency_key.as_deref())? {
        let same = row.kind == new.kind
            && row.body == new.body
            && is_recipient(ctx, row.contact.as_deref(), &new.recipient)?;
        return Ok(if same {
            BeginSend::Replay(row)
        } else {
            BeginSend::KeyReused(row)
        });
    }
    let contact = upsert_contact(ctx, &new.recipient)?;
    let id = Uuid::now_v7().to_string();
    let created_at = ctx.next_created_at();
    ctx.exec(
        "INSERT INTO messages (id, client_id, phone_number_id, direction, contact_wa_id, type, body,
             context_wamid, status, created_at, updated_at, raw, idempotency_key)
         VALUES (?1, ?2, ?3, 'outbound', ?4, ?5, ?6, ?7, 'pending', ?8, ?8, ?9, ?10)",
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
            new.idempotency_key
        ],
    )?;
    Ok(BeginSend::New(message_by_id(ctx, &id)?))
}

fn find_by_idempotency_key(
    ctx: &WriteCtx<'_>,
    client_id: &str,
    key: Option<&str>,
) -> Result<Option<MessageRow>, StoreError> {
    let Some(key) = key else { return Ok(None) };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE client_id = ?1 AND idempotency_key = ?2"
    );
    Ok(ctx
        .row(&sql, params![client_id, key], message_row)
        .optional()?)
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
