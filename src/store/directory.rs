//! The contact directory (`find_contacts`): people matched on their name, any way their
//! number is written, or their BSUID, each with what the owner wants to know at a glance.
//!
//! Matching reads every contact once (a few milliseconds for 50,000), then only the page
//! of matches gets its message and unread counts, one index range each. Without a query,
//! the page is read newest activity first through `contacts_by_last_message`.

use rusqlite::{Connection, Row};

use super::StoreError;

/// One contact as the directory shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The thread key (`contacts.wa_id`): the phone number, or the BSUID when no number
    /// is known.
    pub contact: String,
    /// The phone number (digits), when known.
    pub phone: Option<String>,
    /// The business-scoped user id, when known.
    pub bsuid: Option<String>,
    pub profile_name: Option<String>,
    pub first_seen_at: String,
    /// When they last wrote, by Meta's clock.
    pub last_inbound_at: Option<String>,
    /// `created_at` of the newest message either way.
    pub last_message_at: Option<String>,
    /// Messages either way.
    pub messages: i64,
    /// Inbound messages after the newest one marked read.
    pub unread: i64,
    /// Whether the owner blocked this contact (`block_contact`): every send to them is
    /// refused.
    pub blocked: bool,
}

/// How a directory query matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactMatch {
    /// Part of a profile name or username, matched case-insensitively (ASCII letters).
    pub name: Option<String>,
    /// Digits that must appear in the number, in order (leading zeros dropped, so a
    /// local `07700 900123` finds `447700900123`).
    pub digits: Option<String>,
    /// The start of a BSUID (its parent's too).
    pub bsuid: Option<String>,
}

impl ContactMatch {
    /// The match for what a person typed: the whole text against names, its digits
    /// (when there are at least three) against numbers, and the text as a BSUID prefix.
    pub fn from_query(query: &str) -> ContactMatch {
        let query = query.trim();
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        let digits = digits.trim_start_matches('0');
        let looks_like_number = query
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        ContactMatch {
            name: (!query.is_empty()).then(|| query.to_owned()),
            digits: (digits.len() >= 3 && looks_like_number).then(|| digits.to_owned()),
            bsuid: (query.len() >= 3 && query.contains('.')).then(|| query.to_owned()),
        }
    }

    fn is_empty(&self) -> bool {
        self.name.is_none() && self.digits.is_none() && self.bsuid.is_none()
    }
}

/// Up to `limit` contacts matching `m` (all contacts when it is empty), most recent
/// activity first; contacts without any message last.
pub fn find_contacts(
    conn: &Connection,
    m: &ContactMatch,
    limit: usize,
) -> Result<Vec<DirectoryEntry>, StoreError> {
    let matching = if m.is_empty() {
        "1 = 1"
    } else {
        "(?1 IS NOT NULL AND (k.profile_name LIKE ?1 ESCAPE '\\' OR k.username LIKE ?1 ESCAPE '\\'))
         OR (?2 IS NOT NULL AND k.wa_id LIKE ?2 ESCAPE '\\')
         OR (?3 IS NOT NULL AND (k.user_id LIKE ?3 ESCAPE '\\' OR k.parent_user_id LIKE ?3 ESCAPE '\\'))"
    };
    let sql = format!(
        "SELECT c.wa_id, c.user_id, c.profile_name, c.first_seen_at, c.last_inbound_at,
                c.last_message_at,
                (SELECT count(*) FROM messages n WHERE n.contact_wa_id = c.wa_id),
                (SELECT count(*) FROM messages u
                 WHERE u.contact_wa_id = c.wa_id AND u.direction = 'inbound'
                   AND u.created_at > coalesce(c.last_read_at, '')),
                c.blocked
         FROM (SELECT k.wa_id FROM contacts k WHERE {matching}
               ORDER BY k.last_message_at IS NULL, k.last_message_at DESC, k.wa_id DESC
               LIMIT ?4) page
         JOIN contacts c ON c.wa_id = page.wa_id
         ORDER BY c.last_message_at IS NULL, c.last_message_at DESC, c.wa_id DESC"
    );
    let like = |s: &Option<String>, contains: bool| {
        s.as_ref().map(|s| {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            if contains {
                format!("%{escaped}%")
            } else {
                format!("{escaped}%")
            }
        })
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        rusqlite::params![
            like(&m.name, true),
            like(&m.digits, true),
            like(&m.bsuid, false),
            limit as i64
        ],
        directory_entry,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn directory_entry(r: &Row<'_>) -> rusqlite::Result<DirectoryEntry> {
    let contact: String = r.get(0)?;
    let phone = (!contact.is_empty() && contact.bytes().all(|b| b.is_ascii_digit()))
        .then(|| contact.clone());
    Ok(DirectoryEntry {
        contact,
        phone,
        bsuid: r.get(1)?,
        profile_name: r.get(2)?,
        first_seen_at: r.get(3)?,
        last_inbound_at: r.get(4)?,
        last_message_at: r.get(5)?,
        messages: r.get(6)?,
        unread: r.get(7)?,
        blocked: r.get::<_, i64>(8)? != 0,
    })
}
