//! The indexes' end-of-transaction step (migrations V11 and V12): messages and contacts
//! inserted in a transaction are only noted by a trigger, and [`index_pending`] adds them
//! to their FTS5 index before the transaction commits. FTS5 writes a segment at every
//! savepoint it sees, so indexing once per group commit, outside the jobs' savepoints,
//! costs one segment per batch instead of one per delivery.
//!
//! A noted message is indexed by the transaction that writes it: it is searchable once its
//! delivery's 200 is sent. New contacts wait in their note until [`CONTACT_INDEX_BATCH`] of
//! them have gathered, then join the index together (the way a GIN index's pending list
//! works): `find_contacts` reads the note beside the index and applies its rule to the
//! contacts there, so a contact is found the moment it is stored all the same. Indexing a
//! few contacts per commit cost the webhook path a segment of their own and its merges on
//! every group commit; a first-time sender is a new contact on nearly every delivery.

use rusqlite::Connection;

/// New contacts that may wait in `contact_search_pending`, unindexed, before a commit
/// indexes them all. It bounds what `find_contacts` reads beyond the index.
pub const CONTACT_INDEX_BATCH: i64 = 256;

/// How much of the contacts' note a commit indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Contacts {
    /// Only once [`CONTACT_INDEX_BATCH`] are noted: the writer's group commits, a store
    /// opening.
    Batched,
    /// Every noted contact: a bulk fill.
    All,
}

/// Indexes every row noted in `message_search_pending` with its text of this moment, and
/// the contacts noted in `contact_search_pending` (as `contacts` says) with their names and
/// ids, and clears those notes. Runs inside the caller's transaction, outside any
/// savepoint: the writer calls it before each commit (so a row is indexed by the
/// transaction that writes it) and the store when it opens (for rows another tool wrote
/// straight into the file). With nothing to index it costs a lookup and a count of the
/// contacts noted (at most a batch: a page or two).
pub(crate) fn index_pending(conn: &Connection, contacts: Contacts) -> rusqlite::Result<()> {
    index_pending_messages(conn)?;
    index_pending_contacts(conn, contacts)
}

/// Whether [`index_pending`] with [`Contacts::Batched`] has anything to do: a message
/// noted, or a full batch of contacts.
pub(crate) fn due(conn: &Connection) -> rusqlite::Result<bool> {
    Ok(noted(conn, "message_search_pending")? || contacts_due(conn)?)
}

/// Whether `table` (a pending note) holds any row.
pub(crate) fn noted(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(&format!("SELECT EXISTS (SELECT 1 FROM {table})"))?
        .query_row([], |r| r.get(0))
}

fn index_pending_contacts(conn: &Connection, contacts: Contacts) -> rusqlite::Result<()> {
    let due = match contacts {
        Contacts::All => noted(conn, "contact_search_pending")?,
        Contacts::Batched => contacts_due(conn)?,
    };
    if !due {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO contact_search (rowid, profile_name, username, wa_id, user_id,
                                     parent_user_id)
         SELECT c.rowid, c.profile_name, c.username, c.wa_id, c.user_id, c.parent_user_id
         FROM contact_search_pending p JOIN contacts c ON c.rowid = p.contact_rowid
         ORDER BY p.contact_rowid",
    )?
    .execute([])?;
    conn.prepare_cached("DELETE FROM contact_search_pending")?
        .execute([])?;
    Ok(())
}

/// Whether a full batch of contacts is noted. The note never holds much more than a
/// batch, so counting it reads a page or two.
fn contacts_due(conn: &Connection) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT count(*) >= ?1 FROM contact_search_pending")?
        .query_row([CONTACT_INDEX_BATCH], |r| r.get(0))
}

fn index_pending_messages(conn: &Connection) -> rusqlite::Result<()> {
    if !noted(conn, "message_search_pending")? {
        return Ok(());
    }
    conn.prepare_cached(
        "UPDATE messages SET search_words = (
             SELECT words FROM message_search_words WHERE message_rowid = messages.rowid)
         WHERE rowid IN (SELECT message_rowid FROM message_search_pending)
           AND direction = 'outbound'",
    )?
    .execute([])?;
    conn.prepare_cached(
        "INSERT INTO message_search (rowid, text)
         SELECT t.message_rowid, t.text
         FROM message_search_pending p JOIN message_search_text t
              ON t.message_rowid = p.message_rowid
         WHERE t.text IS NOT NULL
         ORDER BY p.message_rowid",
    )?
    .execute([])?;
    conn.prepare_cached("DELETE FROM message_search_pending")?
        .execute([])?;
    Ok(())
}
