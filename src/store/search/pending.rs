//! The indexes' end-of-transaction step (migrations V11 and V12): messages and contacts
//! inserted in a transaction are only noted by a trigger, and [`index_pending`] adds them
//! all to their FTS5 index, one statement each, before the transaction commits. FTS5
//! writes a segment at every savepoint it sees, so indexing once per group commit, outside
//! the jobs' savepoints, costs one segment per batch instead of one per delivery.

use rusqlite::Connection;

/// Indexes every row noted in `message_search_pending` with its text of this moment, and
/// every contact noted in `contact_search_pending` with its names and ids, and clears the
/// notes. Runs inside the caller's transaction, outside any savepoint: the writer
/// calls it before each commit (so a row is indexed by the transaction that writes it) and
/// the store when it opens (for rows another tool wrote straight into the file). With
/// nothing noted it costs two indexed lookups.
pub(crate) fn index_pending(conn: &Connection) -> rusqlite::Result<()> {
    index_pending_messages(conn)?;
    index_pending_contacts(conn)
}

/// Whether `table` (a pending note) holds any row.
pub(crate) fn noted(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(&format!("SELECT EXISTS (SELECT 1 FROM {table})"))?
        .query_row([], |r| r.get(0))
}

fn index_pending_contacts(conn: &Connection) -> rusqlite::Result<()> {
    if !noted(conn, "contact_search_pending")? {
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
