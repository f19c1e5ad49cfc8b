//! Read queries, one function per question, on a read-only connection.

use rusqlite::{Connection, Row, params};

use super::StoreError;

/// A keyset position: rows strictly after `(created_at, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    pub created_at: String,
    pub id: String,
}

/// A `messages` row as the tools present it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    pub id: String,
    pub direction: String,
    pub contact: Option<String>,
    pub phone_number_id: Option<String>,
    pub kind: String,
    pub body: Option<String>,
    pub status: String,
    pub wamid: Option<String>,
    pub ts: Option<String>,
    pub created_at: String,
    pub error_code: Option<String>,
    pub error_title: Option<String>,
    pub context_wamid: Option<String>,
}

const MESSAGE_COLUMNS: &str = "id, direction, contact_wa_id, phone_number_id, type, body, status,
     wamid, ts, created_at, error_code, error_title, context_wamid";

fn message_row(r: &Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: r.get(0)?,
        direction: r.get(1)?,
        contact: r.get(2)?,
        phone_number_id: r.get(3)?,
        kind: r.get(4)?,
        body: r.get(5)?,
        status: r.get(6)?,
        wamid: r.get(7)?,
        ts: r.get(8)?,
        created_at: r.get(9)?,
        error_code: r.get(10)?,
        error_title: r.get(11)?,
        context_wamid: r.get(12)?,
    })
}

/// Up to `limit` messages after `after` (from the oldest when `None`), in
/// `(created_at, id)` order, by the `messages_by_created` index.
pub fn page_messages(
    conn: &Connection,
    after: Option<&PageCursor>,
    limit: usize,
) -> Result<Vec<MessageRow>, StoreError> {
    let (created_at, id) = after.map_or(("", ""), |c| (c.created_at.as_str(), c.id.as_str()));
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE (created_at, id) > (?1, ?2)
         ORDER BY created_at, id LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![created_at, id, limit as i64], message_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A row of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub id: i64,
    pub received_at: String,
    pub request_id: Option<String>,
    pub outcome: String,
    pub messages: i64,
    pub statuses: i64,
    pub error: Option<String>,
}

/// The newest `limit` deliveries, newest first; only failed ones when `failed_only`.
pub fn recent_events(
    conn: &Connection,
    failed_only: bool,
    limit: usize,
) -> Result<Vec<EventRow>, StoreError> {
    let filter = if failed_only {
        "WHERE outcome = 'failed'"
    } else {
        ""
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, received_at, request_id, outcome, messages, statuses, error
         FROM webhook_events {filter} ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(EventRow {
            id: r.get(0)?,
            received_at: r.get(1)?,
            request_id: r.get(2)?,
            outcome: r.get(3)?,
            messages: r.get(4)?,
            statuses: r.get(5)?,
            error: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
