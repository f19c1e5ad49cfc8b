//! Who a send may go to when `WA_ALLOWED_RECIPIENTS` is set: what the database knows
//! about a recipient, whichever of their identities (phone or BSUID) was given.

use rusqlite::{Connection, OptionalExtension};

use super::StoreError;

/// A contact as the allowlist sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownRecipient {
    /// The contact's key: their phone number, or their BSUID when no phone is known.
    pub wa_id: String,
    /// Their BSUID, when known.
    pub user_id: Option<String>,
    /// Whether any inbound message from them was ever stored: kept on the contact
    /// (`last_inbound_at`), so pruning their messages does not change it.
    pub wrote_to_us: bool,
    /// Whether the owner blocked them (every send to them is refused).
    pub blocked: bool,
}

/// The contact whose phone number key or BSUID is `identity` (a phone number already
/// in Meta's format, or a BSUID as given), if any.
pub fn find_recipient(
    conn: &Connection,
    identity: &str,
) -> Result<Option<KnownRecipient>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.wa_id, c.user_id, c.last_inbound_at IS NOT NULL, c.blocked
         FROM contacts c WHERE c.wa_id = ?1 OR c.user_id = ?1
         ORDER BY c.wa_id = ?1 DESC LIMIT 1",
    )?;
    Ok(stmt
        .query_row([identity], |r| {
            Ok(KnownRecipient {
                wa_id: r.get(0)?,
                user_id: r.get(1)?,
                wrote_to_us: r.get(2)?,
                blocked: r.get(3)?,
            })
        })
        .optional()?)
}

/// Marks the contact `seen` names (creating it if needed) blocked or not, and returns
/// its key.
pub fn set_blocked(
    ctx: &mut super::WriteCtx<'_>,
    seen: &crate::model::ContactSeen,
    blocked: bool,
) -> Result<Option<String>, StoreError> {
    let Some(key) = super::contacts::upsert_contact(ctx, seen)? else {
        return Ok(None);
    };
    let now = ctx.now().to_owned();
    ctx.exec(
        "UPDATE contacts SET blocked = ?2,
             blocked_at = CASE WHEN ?2 THEN ?3 ELSE NULL END, updated_at = ?3
         WHERE wa_id = ?1",
        rusqlite::params![key, blocked, now],
    )?;
    Ok(Some(key))
}
