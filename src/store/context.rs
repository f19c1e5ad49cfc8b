//! The conversation around one message (`get_message_context`): the rows of the same
//! contact just before and just after it, read from `messages (contact_wa_id,
//! created_at, id)` in both directions.

use rusqlite::{Connection, params};

use super::StoreError;
use super::read::{MESSAGE_COLUMNS, find_message, message_row};
use crate::model::MessageRow;

/// A message and its neighbours in its conversation, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContext {
    /// Up to `before` rows, then the message itself, then up to `after` rows.
    pub messages: Vec<MessageRow>,
    /// The id of the message asked about.
    pub target_id: String,
}

/// The message whose id or wamid is `key` with up to `before` earlier and `after` later
/// messages of the same conversation; `None` when no message has that key. A message
/// that belongs to no contact stands alone.
pub fn message_context(
    conn: &Connection,
    key: &str,
    before: usize,
    after: usize,
) -> Result<Option<MessageContext>, StoreError> {
    let Some(target) = find_message(conn, key)? else {
        return Ok(None);
    };
    let Some(contact) = target.contact.clone() else {
        let target_id = target.id.clone();
        return Ok(Some(MessageContext {
            messages: vec![target],
            target_id,
        }));
    };
    let earlier = neighbours(conn, &contact, &target, before, Side::Before)?;
    let later = neighbours(conn, &contact, &target, after, Side::After)?;
    let target_id = target.id.clone();
    let mut messages = earlier;
    messages.push(target);
    messages.extend(later);
    Ok(Some(MessageContext {
        messages,
        target_id,
    }))
}

enum Side {
    Before,
    After,
}

fn neighbours(
    conn: &Connection,
    contact: &str,
    target: &MessageRow,
    limit: usize,
    side: Side,
) -> Result<Vec<MessageRow>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let (cmp, order) = match side {
        Side::Before => ("<", "DESC"),
        Side::After => (">", "ASC"),
    };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE contact_wa_id = ?1 AND (created_at, id) {cmp} (?2, ?3)
         ORDER BY created_at {order}, id {order} LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![contact, target.created_at, target.id, limit as i64],
        message_row,
    )?;
    let mut rows: Vec<MessageRow> = rows.collect::<Result<_, _>>()?;
    if matches!(side, Side::Before) {
        rows.reverse();
    }
    Ok(rows)
}
