//! The contact directory (`find_contacts`): people matched on their name, any way their
//! number is written, or their BSUID, each with what the owner wants to know at a glance.
//!
//! Matching reads every contact once (a few milliseconds for 50,000), then only the page
//! of matches gets its message and unread counts, one index range each. Without a query,
//! the page is read newest activity first through `contacts_by_last_message`.

use rusqlite::{Connection, Row};

use super::StoreError;

/// The keys of the `?4` contacts matching `?1` (name), `?2` (number) or `?3` (BSUID),
/// most recent activity first: every contact is read once (the patterns match anywhere
/// in a value, so no index helps).
const MATCHING_PAGE: &str = "
    SELECT k.wa_id FROM contacts k
    WHERE (?1 IS NOT NULL AND (k.profile_name LIKE ?1 ESCAPE '\\' OR k.username LIKE ?1 ESCAPE '\\'))
       OR (?2 IS NOT NULL AND k.wa_id LIKE ?2 ESCAPE '\\')
       OR (?3 IS NOT NULL AND (k.user_id LIKE ?3 ESCAPE '\\' OR k.parent_user_id LIKE ?3 ESCAPE '\\'))
    ORDER BY k.last_message_at IS NULL, k.last_message_at DESC, k.wa_id DESC
    LIMIT ?4";

/// The keys of the `?4` most recently active contacts, read from the end of
/// `contacts_by_last_message` (which holds only those with a message), then any without
/// a message. (`?1`..`?3` are not used.)
const NEWEST_PAGE: &str = "
    SELECT wa_id FROM (
        SELECT k.wa_id FROM contacts k WHERE k.last_message_at IS NOT NULL
        ORDER BY k.last_message_at DESC, k.wa_id DESC LIMIT ?4)
    UNION ALL
    SELECT wa_id FROM (
        SELECT k.wa_id FROM contacts k WHERE k.last_message_at IS NULL
        ORDER BY k.wa_id DESC LIMIT ?4)
    LIMIT ?4";

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
    let sql = format!(
        "SELECT c.wa_id, c.user_id, c.profile_name, c.first_seen_at, c.last_inbound_at,
                c.last_message_at,
                (SELECT count(*) FROM messages n WHERE n.contact_wa_id = c.wa_id),
                (SELECT count(*) FROM messages u
                 WHERE u.contact_wa_id = c.wa_id AND u.direction = 'inbound'
                   AND u.created_at > coalesce(c.last_read_at, '')),
                c.blocked
         FROM ({page}) page
         JOIN contacts c ON c.wa_id = page.wa_id
         ORDER BY c.last_message_at IS NULL, c.last_message_at DESC, c.wa_id DESC",
        page = if m.is_empty() {
            NEWEST_PAGE
        } else {
            MATCHING_PAGE
        }
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

#[cfg(test)]
mod tests {
    use rusqlite::params;

    use super::*;
    use crate::store::Store;

    #[test]
    fn contacts_without_a_message_come_after_everyone_with_one() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("wa.db")).expect("open");
        store
            .write_blocking(|ctx| {
                for (wa_id, last) in [
                    ("447700900111", None),
                    ("447700900222", Some("2026-11-01T10:00:00.000000Z")),
                    ("447700900333", Some("2026-11-02T10:00:00.000000Z")),
                    ("447700900444", None),
                ] {
                    ctx.exec(
                        "INSERT INTO contacts (wa_id, first_seen_at, updated_at, last_message_at)
                         VALUES (?1, '2026-01-01T00:00:00.000000Z',
                                 '2026-01-01T00:00:00.000000Z', ?2)",
                        params![wa_id, last],
                    )?;
                }
                Ok(())
            })
            .expect("contacts");
        let keys = |m: ContactMatch, limit: usize| -> Vec<String> {
            store
                .read_blocking(move |c| find_contacts(c, &m, limit))
                .expect("found")
                .into_iter()
                .map(|e| e.contact)
                .collect()
        };
        let everyone = [
            "447700900333",
            "447700900222",
            "447700900444",
            "447700900111",
        ];
        assert_eq!(keys(ContactMatch::default(), 10), everyone);
        assert_eq!(keys(ContactMatch::default(), 3), everyone[..3]);
        assert_eq!(keys(ContactMatch::default(), 1), everyone[..1]);
        assert_eq!(keys(ContactMatch::from_query("+44 7700"), 10), everyone);
    }
}
