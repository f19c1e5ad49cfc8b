//! Conversations: one per contact, newest activity first, with how many inbound
//! messages arrived after the owner last read, and "read up to here".
//!
//! `contacts.last_message_at` (kept by triggers of migration V4 on every insert into
//! `messages` and every move of a message to another contact) orders the page through
//! the index `contacts_by_last_message`; each listed contact then costs one index seek
//! for its newest message and one index range over its unread messages only, so read
//! messages, however many, cost nothing. With `unread_only`, each newer contact with
//! nothing unread costs one index probe before it is skipped.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use super::outbound::set_inbound_read;
use super::writer::WriteCtx;

/// One conversation as [`page_conversations`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRow {
    /// The contact's key (`contacts.wa_id`): a phone number, or a BSUID for users known
    /// only by one.
    pub contact: String,
    pub profile_name: Option<String>,
    /// When they last wrote, by Meta's clock; `None` if they never did.
    pub last_inbound_at: Option<String>,
    /// The newest message of the conversation, either direction.
    pub last: LastMessage,
    /// Inbound messages stored after the newest one marked read.
    pub unread: i64,
    /// Whether the owner blocked this contact.
    pub blocked: bool,
}

/// The newest message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastMessage {
    pub direction: String,
    pub kind: String,
    pub body: Option<String>,
    pub created_at: String,
}

const UNREAD: &str = "SELECT count(*) FROM messages u
     WHERE u.contact_wa_id = c.wa_id AND u.direction = 'inbound'
       AND u.created_at > coalesce(c.last_read_at, '')";

fn page_sql(unread_only: bool) -> String {
    let filter = if unread_only {
        "AND EXISTS (SELECT 1 FROM messages u
             WHERE u.contact_wa_id = c.wa_id AND u.direction = 'inbound'
               AND u.created_at > coalesce(c.last_read_at, ''))"
    } else {
        ""
    };
    format!(
        "SELECT c.wa_id, c.profile_name, c.last_inbound_at,
                m.direction, m.type, m.body, m.created_at, ({UNREAD}) AS unread,
                c.blocked
         FROM contacts c
         JOIN messages m ON m.id = (
             SELECT id FROM messages WHERE contact_wa_id = c.wa_id
             ORDER BY created_at DESC, id DESC LIMIT 1)
         WHERE c.last_message_at IS NOT NULL {filter}
         ORDER BY c.last_message_at DESC, c.wa_id DESC
         LIMIT ?1"
    )
}

fn conversation_row(r: &Row<'_>) -> rusqlite::Result<ConversationRow> {
    Ok(ConversationRow {
        contact: r.get(0)?,
        profile_name: r.get(1)?,
        last_inbound_at: r.get(2)?,
        last: LastMessage {
            direction: r.get(3)?,
            kind: r.get(4)?,
            body: r.get(5)?,
            created_at: r.get(6)?,
        },
        unread: r.get(7)?,
        blocked: r.get(8)?,
    })
}

/// Up to `limit` conversations, newest activity first; only those with unread inbound
/// messages when `unread_only`.
pub fn page_conversations(
    conn: &Connection,
    unread_only: bool,
    limit: usize,
) -> Result<Vec<ConversationRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&page_sql(unread_only))?;
    let rows = stmt.query_map([limit as i64], conversation_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// SQLite's plan for [`page_conversations`], one step per line: lets a test prove the
/// page is read through indexes, never by scanning or sorting `messages`.
pub fn explain_conversations(conn: &Connection, unread_only: bool) -> Result<String, StoreError> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", page_sql(unread_only)))?;
    let steps = stmt.query_map([20_i64], |r| r.get::<_, String>(3))?;
    Ok(steps.collect::<Result<Vec<_>, _>>()?.join("\n"))
}

/// Marks the inbound message `id` read and, as WhatsApp does, every earlier inbound
/// message of the same contact: the contact's `last_read_at` moves forward to the
/// message's `created_at` (never back), and the rows between the old and the new mark
/// that are still `received` become `read`.
pub fn mark_read_up_to(ctx: &mut WriteCtx<'_>, id: &str) -> Result<(), StoreError> {
    set_inbound_read(ctx, id)?;
    let target: Option<(Option<String>, String)> = ctx
        .row(
            "SELECT contact_wa_id, created_at FROM messages WHERE id = ?1 AND direction = 'inbound'",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((Some(contact), created_at)) = target else {
        return Ok(());
    };
    let now = ctx.now().to_owned();
    ctx.exec(
        "UPDATE messages SET status = 'read', updated_at = ?3
         WHERE contact_wa_id = ?1 AND direction = 'inbound' AND status = 'received'
           AND created_at <= ?2
           AND created_at > coalesce((SELECT last_read_at FROM contacts WHERE wa_id = ?1), '')",
        params![contact, created_at, now],
    )?;
    ctx.exec(
        "UPDATE contacts SET last_read_at = ?2, updated_at = ?3
         WHERE wa_id = ?1 AND (last_read_at IS NULL OR last_read_at < ?2)",
        params![contact, created_at, now],
    )?;
    Ok(())
}
