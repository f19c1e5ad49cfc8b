//! Reads about conversations as wholes and about what arrived lately: the position of
//! "now" in the message log, contacts by their latest activity, one contact's recent
//! messages, and which conversations received inbound messages after a cursor.

use rusqlite::{Connection, OptionalExtension, Row};

use super::StoreError;
use super::read::{MESSAGE_COLUMN_COUNT, MESSAGE_COLUMNS, message_row};
use crate::model::{ContactSummary, InboundArrival, MessageRow, PageCursor};
use crate::timefmt::format_micros;

/// The cursor just after every row committed so far: rows that commit later sort
/// after it. It reads the write clock, which holds the largest `created_at` handed out
/// by any committed transaction of any process, so no row can commit before it later.
pub fn newest_position(conn: &Connection) -> Result<PageCursor, StoreError> {
    let last_us: i64 = conn.query_row("SELECT last_us FROM write_clock WHERE id = 1", [], |r| {
        r.get(0)
    })?;
    Ok(PageCursor {
        created_at: format_micros(last_us),
        id: String::new(),
    })
}

const CONTACT_COLUMNS: &str = "c.wa_id, c.user_id, c.username, c.profile_name,
     (SELECT max(m.created_at) FROM messages m WHERE m.contact_wa_id = c.wa_id)";

fn contact_summary(r: &Row<'_>) -> rusqlite::Result<ContactSummary> {
    Ok(ContactSummary {
        wa_id: r.get(0)?,
        user_id: r.get(1)?,
        username: r.get(2)?,
        profile_name: r.get(3)?,
        last_activity_at: r.get(4)?,
    })
}

/// Up to `limit` contacts, the most recently active first; contacts without any
/// message last. Each contact's latest message comes from the per-contact index.
pub fn contacts_by_activity(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<ContactSummary>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONTACT_COLUMNS} AS last FROM contacts c
         ORDER BY last IS NULL, last DESC, c.wa_id LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], contact_summary)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The contact whose thread key or BSUID is `key`.
pub fn find_contact(conn: &Connection, key: &str) -> Result<Option<ContactSummary>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.wa_id = ?1 OR c.user_id = ?1
             ORDER BY c.wa_id = ?1 DESC LIMIT 1"
        ))?
        .query_row([key], contact_summary)
        .optional()?)
}

/// The newest `limit` messages of the thread keyed `wa_id`, returned oldest first.
pub fn latest_messages(
    conn: &Connection,
    wa_id: &str,
    limit: usize,
) -> Result<Vec<MessageRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT * FROM (SELECT {MESSAGE_COLUMNS} FROM messages WHERE contact_wa_id = ?1
                        ORDER BY created_at DESC, id DESC LIMIT ?2)
         ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map(rusqlite::params![wa_id, limit as i64], message_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Up to `limit` inbound messages after `after` (a cursor without an id means "after
/// this instant"), in `(created_at, id)` order, read from the direction index, each
/// with its sender's BSUID and profile name.
pub fn inbound_after(
    conn: &Connection,
    after: &PageCursor,
    limit: usize,
) -> Result<Vec<InboundArrival>, StoreError> {
    let position = if after.id.is_empty() {
        "created_at > ?1 AND ?2 = ''"
    } else {
        "(created_at, id) > (?1, ?2)"
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS},
                (SELECT c.user_id FROM contacts c WHERE c.wa_id = contact_wa_id)
         FROM messages
         WHERE direction = 'inbound' AND {position}
         ORDER BY created_at, id LIMIT ?3"
    ))?;
    let extra = MESSAGE_COLUMN_COUNT;
    let rows = stmt.query_map(
        rusqlite::params![after.created_at, after.id, limit as i64],
        |r| {
            let message = message_row(r)?;
            Ok(InboundArrival {
                cursor: PageCursor {
                    created_at: message.created_at.clone(),
                    id: message.id.clone(),
                },
                contact: message.contact.clone(),
                user_id: r.get(extra)?,
                profile_name: message.profile_name.clone(),
                message,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}
