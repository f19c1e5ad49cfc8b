//! Status notifications: audited always, applied to the message row when there is one.

use rusqlite::{OptionalExtension, params};

use super::StoreError;
use super::writer::WriteCtx;
use crate::model::StatusUpdate;
use crate::model::{Direction, MessageStatus, next_status};
use crate::timefmt::format_unix_secs;

/// What a status notification did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusEffect {
    /// The message row moved to a new status.
    Applied,
    /// The row exists but already has this status or a later one.
    Stale,
    /// No outbound row with this wamid (yet): kept in the audit trail only.
    AuditedOnly,
}

/// Appends the status to `message_status_events` and moves the outbound row with its
/// wamid forward (see [`next_status`]); a `failed` status records its error.
pub fn record_status(
    ctx: &mut WriteCtx<'_>,
    s: &StatusUpdate,
    webhook_event_id: i64,
) -> Result<StatusEffect, StoreError> {
    let created_at = ctx.next_created_at();
    let (code, title) = match &s.error {
        Some(e) => (Some(e.code.as_str()), Some(e.title.as_str())),
        None => (None, None),
    };
    ctx.exec(
        "INSERT INTO message_status_events (event_id, wamid, status, recipient_id,
             recipient_user_id, phone_number_id, error_code, error_title, ts,
             webhook_event_id, raw, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            s.event_id,
            s.wamid,
            s.status,
            s.recipient_id,
            s.recipient_user_id,
            s.phone_number_id,
            code,
            title,
            s.ts.map(format_unix_secs),
            webhook_event_id,
            s.raw.to_string(),
            created_at
        ],
    )?;
    apply_status(ctx, &s.wamid, &s.status, code, title)
}

/// Moves the outbound row with `wamid` to `status` if that is forward.
pub fn apply_status(
    ctx: &WriteCtx<'_>,
    wamid: &str,
    status: &str,
    error_code: Option<&str>,
    error_title: Option<&str>,
) -> Result<StatusEffect, StoreError> {
    let row: Option<(String, String, String)> = ctx
        .row(
            "SELECT id, status, direction FROM messages WHERE wamid = ?1",
            [wamid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, current, direction)) = row else {
        return Ok(StatusEffect::AuditedOnly);
    };
    if direction != Direction::Outbound.as_str() {
        return Ok(StatusEffect::AuditedOnly);
    }
    let (Some(current), Some(incoming)) =
        (MessageStatus::parse(&current), MessageStatus::parse(status))
    else {
        return Ok(StatusEffect::Stale);
    };
    let Some(next) = next_status(current, incoming) else {
        return Ok(StatusEffect::Stale);
    };
    let failed = next == MessageStatus::Failed;
    ctx.exec(
        "UPDATE messages SET status = ?2,
             error_code = CASE WHEN ?3 THEN ?4 ELSE error_code END,
             error_title = CASE WHEN ?3 THEN ?5 ELSE error_title END,
             updated_at = ?6
         WHERE id = ?1",
        params![
            id,
            next.as_str(),
            failed,
            error_code,
            error_title,
            ctx.now()
        ],
    )?;
    Ok(StatusEffect::Applied)
}
