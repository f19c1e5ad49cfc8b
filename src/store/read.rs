//! Read queries, one function per question, on a read-only connection.

use rusqlite::{Connection, OptionalExtension, Row};

use super::StoreError;
use crate::model::{MediaRef, MessageRow, PageCursor};

/// The columns [`message_row`] reads, in its order. Every name is unqualified so the
/// list works on `messages` under any alias, joined with tables that have none of them.
pub(super) const MESSAGE_COLUMNS: &str =
    "id, direction, contact_wa_id, phone_number_id, type, body, status,
     wamid, ts, created_at, error_code, error_title, context_wamid,
     media_id, media_mime_type, media_sha256, media_filename,
     (SELECT pc.profile_name FROM contacts pc WHERE pc.wa_id = contact_wa_id)";

/// How many columns [`MESSAGE_COLUMNS`] holds: a query may select more after them.
pub(super) const MESSAGE_COLUMN_COUNT: usize = 18;

pub(super) fn message_row(r: &Row<'_>) -> rusqlite::Result<MessageRow> {
    let media = r.get::<_, Option<String>>(13)?.map(|id| MediaRef {
        id,
        mime_type: None,
        sha256: None,
        filename: None,
    });
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
        media: match media {
            Some(m) => Some(MediaRef {
                mime_type: r.get(14)?,
                sha256: r.get(15)?,
                filename: r.get(16)?,
                ..m
            }),
            None => None,
        },
        profile_name: r.get(17)?,
    })
}

/// Which messages a page holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageFilter {
    /// `inbound` or `outbound`; `None` for both.
    pub direction: Option<&'static str>,
    /// Only this contact's thread (`contacts.wa_id`).
    pub contact: Option<String>,
}

/// Up to `limit` messages strictly after `after` (from the oldest when `None`), in
/// `(created_at, id)` order. A cursor without an id means "after this instant".
/// Each filter combination has an index whose prefix is the filter and whose rest is
/// `(created_at, id)`, so a page costs the same wherever the cursor points.
pub fn page_messages(
    conn: &Connection,
    after: Option<&PageCursor>,
    filter: &MessageFilter,
    limit: usize,
) -> Result<Vec<MessageRow>, StoreError> {
    let (sql, args) = page_sql(after, filter, limit);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), message_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// SQLite's query plan for [`page_messages`], one step per line: lets a test prove
/// every filter reads an index in order.
pub fn explain_page(
    conn: &Connection,
    after: Option<&PageCursor>,
    filter: &MessageFilter,
) -> Result<String, StoreError> {
    let (sql, args) = page_sql(after, filter, 20);
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let steps = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        r.get::<_, String>(3)
    })?;
    Ok(steps.collect::<Result<Vec<_>, _>>()?.join("\n"))
}

fn page_sql(
    after: Option<&PageCursor>,
    filter: &MessageFilter,
    limit: usize,
) -> (String, Vec<String>) {
    let mut sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE 1 = 1");
    let mut args: Vec<String> = Vec::new();
    let mut bind = |sql: &mut String, clause: &str, value: String| {
        args.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(contact) = &filter.contact {
        bind(&mut sql, " AND contact_wa_id = ?", contact.clone());
    }
    if let Some(direction) = filter.direction {
        bind(&mut sql, " AND direction = ?", direction.to_owned());
    }
    match after {
        Some(c) if c.id.is_empty() => bind(&mut sql, " AND created_at > ?", c.created_at.clone()),
        Some(c) => {
            bind(&mut sql, " AND (created_at, id) > (?", c.created_at.clone());
            bind(&mut sql, ", ?)", c.id.clone());
        }
        None => {}
    }
    sql.push_str(&format!(" ORDER BY created_at, id LIMIT {limit}"));
    (sql, args)
}

/// The message whose id or wamid is `key`.
pub fn find_message(conn: &Connection, key: &str) -> Result<Option<MessageRow>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1 OR wamid = ?1 LIMIT 1");
    Ok(conn.query_row(&sql, [key], message_row).optional()?)
}

/// The thread key (`contacts.wa_id`) of the contact with this BSUID.
pub fn contact_key_for_user_id(
    conn: &Connection,
    user_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT wa_id FROM contacts WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )
        .optional()?)
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
