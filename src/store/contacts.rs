//! Contacts: one row per WhatsApp user, whichever way Meta identifies them.

use rusqlite::{OptionalExtension, params};

use super::StoreError;
use super::writer::WriteCtx;
use crate::model::ContactSeen;

/// Records what a delivery says about a user and returns the key their messages thread
/// on (`contacts.wa_id`), or `None` when the delivery names no one.
///
/// The key is the phone number when one is known, else the BSUID. A BSUID-only row
/// that later shows its phone number is re-keyed to the number (messages follow by
/// `ON UPDATE CASCADE`); a BSUID-only row and a phone row found to be the same user
/// are merged into the phone row. Known fields are never erased by a later delivery
/// that omits them.
pub fn upsert_contact(
    ctx: &mut WriteCtx<'_>,
    seen: &ContactSeen,
) -> Result<Option<String>, StoreError> {
    upsert_contact_inbound(ctx, seen, None)
}

/// [`upsert_contact`] for the sender of an inbound message sent at `inbound_at`: the
/// contact's last inbound time (which opens the 24-hour window) moves forward to it in
/// the same statement.
pub fn upsert_contact_inbound(
    ctx: &mut WriteCtx<'_>,
    seen: &ContactSeen,
    inbound_at: Option<&str>,
) -> Result<Option<String>, StoreError> {
    Ok(match thread_key(ctx, seen, inbound_at)? {
        None => None,
        Some(Thread::Created(key)) => Some(key),
        Some(Thread::Known(key)) => {
            record_seen_fields(ctx, &key, seen, inbound_at)?;
            Some(key)
        }
    })
}

/// The row a user's messages thread on.
enum Thread {
    /// A row that existed (perhaps re-keyed or merged just now): what the delivery says
    /// is still to be recorded on it.
    Known(String),
    /// A row created just now with everything the delivery says.
    Created(String),
}

/// The key the user `seen` threads on, after creating, re-keying or merging their row
/// as the delivery shows; `None` when it names no one.
fn thread_key(
    ctx: &mut WriteCtx<'_>,
    seen: &ContactSeen,
    inbound_at: Option<&str>,
) -> Result<Option<Thread>, StoreError> {
    let by_user = key_of(
        ctx,
        "SELECT wa_id FROM contacts WHERE user_id = ?1",
        seen.user_id.as_deref(),
    )?;
    let by_phone = key_of(
        ctx,
        "SELECT wa_id FROM contacts WHERE wa_id = ?1",
        seen.wa_id.as_deref(),
    )?;
    Ok(Some(match (by_user, by_phone, &seen.wa_id) {
        (Some(u), Some(p), _) if u != p => {
            merge_into(ctx, &u, &p)?;
            Thread::Known(p)
        }
        (Some(u), _, Some(phone)) if seen.user_id.as_ref() == Some(&u) => {
            // Keyed by its BSUID until now: the phone number becomes the key.
            ctx.exec(
                "UPDATE contacts SET wa_id = ?1 WHERE wa_id = ?2",
                params![phone, u],
            )?;
            Thread::Known(phone.clone())
        }
        (Some(u), _, _) => Thread::Known(u),
        (None, Some(p), _) => Thread::Known(p),
        (None, None, _) => {
            let Some(key) = seen.wa_id.clone().or_else(|| seen.user_id.clone()) else {
                return Ok(None);
            };
            let now = ctx.now().to_owned();
            // One statement writes the whole row (no update after it). `OR FAIL`: with
            // the default `ABORT`, SQLite copies every page a statement with a trigger
            // touches into a statement journal, to undo the statement alone (21,000
            // instructions per new sender). A constraint failure here fails the job, which
            // the writer undoes whole (its savepoint, or the batch); a full disk or no
            // memory makes SQLite roll back the whole transaction, as after any statement
            // without a statement journal, and the batch fails. `OR FAIL` also becomes the
            // policy of the statements the insert's triggers run (SQLite's rule):
            // `contact_search_on_insert` notes the new row's rowid, and a note is deleted
            // with its contact, so its `OR IGNORE` never has a conflict to ignore.
            ctx.exec(
                "INSERT OR FAIL INTO contacts (wa_id, user_id, parent_user_id, username,
                     profile_name, first_seen_at, updated_at, last_inbound_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
                seen_params(&key, seen, &now, inbound_at),
            )?;
            Thread::Created(key)
        }
    }))
}

/// The key `sql` finds for `value`; `None` without a value or a match.
fn key_of(
    ctx: &mut WriteCtx<'_>,
    sql: &str,
    value: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let Some(value) = value else {
        return Ok(None);
    };
    Ok(ctx.row(sql, [value], |r| r.get(0)).optional()?)
}

/// Fills the contact keyed `key` with what `seen` knows (never erasing a known field)
/// and moves its last inbound time forward to `inbound_at`; writes nothing when
/// nothing changes.
fn record_seen_fields(
    ctx: &mut WriteCtx<'_>,
    key: &str,
    seen: &ContactSeen,
    inbound_at: Option<&str>,
) -> Result<(), StoreError> {
    let now = ctx.now().to_owned();
    ctx.exec(
        "UPDATE contacts SET
             user_id = coalesce(?2, user_id),
             parent_user_id = coalesce(?3, parent_user_id),
             username = coalesce(?4, username),
             profile_name = coalesce(?5, profile_name),
             last_inbound_at = CASE WHEN ?7 > coalesce(last_inbound_at, '') THEN ?7
                                    ELSE last_inbound_at END,
             updated_at = ?6
         WHERE wa_id = ?1
           AND (coalesce(?2, user_id) IS NOT user_id
             OR coalesce(?3, parent_user_id) IS NOT parent_user_id
             OR coalesce(?4, username) IS NOT username
             OR coalesce(?5, profile_name) IS NOT profile_name
             OR ?7 > coalesce(last_inbound_at, ''))",
        seen_params(key, seen, &now, inbound_at),
    )?;
    Ok(())
}

/// The parameters of the statements that write what `seen` says of the contact keyed
/// `key`: `?1` the key, `?2`..`?5` its user id, parent user id, username and profile name,
/// `?6` now, `?7` the last inbound time.
type SeenParams<'a> = (
    &'a str,
    &'a Option<String>,
    &'a Option<String>,
    &'a Option<String>,
    &'a Option<String>,
    &'a str,
    Option<&'a str>,
);

fn seen_params<'a>(
    key: &'a str,
    seen: &'a ContactSeen,
    now: &'a str,
    inbound_at: Option<&'a str>,
) -> SeenParams<'a> {
    (
        key,
        &seen.user_id,
        &seen.parent_user_id,
        &seen.username,
        &seen.profile_name,
        now,
        inbound_at,
    )
}

/// The fields a merged-away contact hands to the one it is merged into.
struct MergedFields {
    user_id: Option<String>,
    parent_user_id: Option<String>,
    username: Option<String>,
    profile_name: Option<String>,
    first_seen_at: String,
    last_inbound_at: Option<String>,
}

/// Moves everything of the contact keyed `from` onto `into` and deletes `from`.
fn merge_into(ctx: &mut WriteCtx<'_>, from: &str, into: &str) -> Result<(), StoreError> {
    ctx.exec(
        "UPDATE messages SET contact_wa_id = ?2 WHERE contact_wa_id = ?1",
        params![from, into],
    )?;
    let old = ctx.row(
        "SELECT user_id, parent_user_id, username, profile_name, first_seen_at, last_inbound_at
         FROM contacts WHERE wa_id = ?1",
        [from],
        |r| {
            Ok(MergedFields {
                user_id: r.get(0)?,
                parent_user_id: r.get(1)?,
                username: r.get(2)?,
                profile_name: r.get(3)?,
                first_seen_at: r.get(4)?,
                last_inbound_at: r.get(5)?,
            })
        },
    )?;
    // A block set on either identity of the person stays on the merged contact.
    ctx.exec(
        "UPDATE contacts SET blocked = 1, blocked_at = coalesce(blocked_at,
             (SELECT blocked_at FROM contacts WHERE wa_id = ?1))
         WHERE wa_id = ?2 AND EXISTS (SELECT 1 FROM contacts WHERE wa_id = ?1 AND blocked = 1)",
        params![from, into],
    )?;
    ctx.exec("DELETE FROM contacts WHERE wa_id = ?1", [from])?;
    ctx.exec(
        "UPDATE contacts SET
             user_id = coalesce(user_id, ?2),
             parent_user_id = coalesce(parent_user_id, ?3),
             username = coalesce(username, ?4),
             profile_name = coalesce(profile_name, ?5),
             first_seen_at = min(first_seen_at, ?6),
             last_inbound_at = CASE WHEN last_inbound_at IS NULL OR ?7 > last_inbound_at
                                    THEN coalesce(?7, last_inbound_at) ELSE last_inbound_at END,
             updated_at = ?8
         WHERE wa_id = ?1",
        params![
            into,
            old.user_id,
            old.parent_user_id,
            old.username,
            old.profile_name,
            old.first_seen_at,
            old.last_inbound_at,
            ctx.now()
        ],
    )?;
    tracing::info!(from, into, "contacts_merged");
    Ok(())
}
