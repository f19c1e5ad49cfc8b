//! Reads for the owner in the loop: what a confirmation shows about a recipient and
//! whether they ever wrote, whether an owner's 24-hour window is open, and whether an
//! idempotency key already names a send (a retry of it sends nothing, so asks nothing).

use rusqlite::{Connection, OptionalExtension};

use super::StoreError;
use super::outbound::CLIENT_ID;

/// What the database knows about a recipient, whichever identity was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientStanding {
    /// The contact's key: their phone number, or their BSUID when no phone is known.
    pub wa_id: String,
    pub user_id: Option<String>,
    /// Their profile name as WhatsApp gave it (chosen by them: untrusted).
    pub profile_name: Option<String>,
    /// `created_at` of their newest inbound message; `None` if they never wrote.
    pub last_inbound_at: Option<String>,
}

/// The contact whose phone number key or BSUID is `identity` (a phone number already
/// in Meta's format, or a BSUID as given), if any.
pub fn recipient_standing(
    conn: &Connection,
    identity: &str,
) -> Result<Option<RecipientStanding>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.wa_id, c.user_id, c.profile_name,
                (SELECT max(m.created_at) FROM messages m
                 WHERE m.contact_wa_id = c.wa_id AND m.direction = 'inbound')
         FROM contacts c WHERE c.wa_id = ?1 OR c.user_id = ?1
         ORDER BY c.wa_id = ?1 DESC LIMIT 1",
    )?;
    Ok(stmt
        .query_row([identity], |r| {
            Ok(RecipientStanding {
                wa_id: r.get(0)?,
                user_id: r.get(1)?,
                profile_name: r.get(2)?,
                last_inbound_at: r.get(3)?,
            })
        })
        .optional()?)
}

/// Whether a send already used the idempotency key `key`.
pub fn idempotency_key_used(conn: &Connection, key: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE client_id = ?1 AND idempotency_key = ?2)",
        )?
        .query_row([CLIENT_ID, key], |r| r.get(0))?)
}
