//! Reactions to a page of messages: the `reaction` rows (inbound and outbound) whose
//! `context_wamid` is one of the page's wamids, read through `messages_by_context`.

use rusqlite::Connection;

use super::StoreError;

/// The most wamids bound in one statement (SQLite allows far more; this keeps each
/// statement's text small and cacheable).
const CHUNK: usize = 100;

/// One reaction row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionRow {
    /// The wamid of the message reacted to.
    pub target_wamid: String,
    /// The emoji; empty when the reaction was removed.
    pub emoji: String,
    /// `inbound` (the contact reacted) or `outbound` (we did).
    pub direction: String,
    /// The contact, for an inbound reaction.
    pub contact: Option<String>,
    /// The business number, for an outbound reaction.
    pub phone_number_id: Option<String>,
    pub created_at: String,
}

/// Every reaction to any of `wamids`, oldest first (`created_at`, then `id`). Outbound
/// reactions Meta refused (`failed`) never happened and are left out.
pub fn reactions_to(conn: &Connection, wamids: &[String]) -> Result<Vec<ReactionRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in wamids.chunks(CHUNK) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT context_wamid, coalesce(body, ''), direction, contact_wa_id, phone_number_id,
                    created_at
             FROM messages
             WHERE context_wamid IN ({marks}) AND type = 'reaction' AND status <> 'failed'
             ORDER BY created_at, id"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(chunk.iter()), |r| {
            Ok(ReactionRow {
                target_wamid: r.get(0)?,
                emoji: r.get(1)?,
                direction: r.get(2)?,
                contact: r.get(3)?,
                phone_number_id: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    Ok(out)
}
