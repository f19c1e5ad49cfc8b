//! The index's end-of-transaction step (migration V11): rows inserted in a transaction are
//! only noted by a trigger, and [`index_pending`] adds them all to the FTS5 index in one
//! statement before the transaction commits. FTS5 writes a segment at every savepoint it
//! sees, so indexing once per group commit, outside the jobs' savepoints, costs one segment
//! per batch instead of one per delivery.

use rusqlite::Connection;

/// Indexes every row noted in `message_search_pending` with its text of this moment and
/// clears the note. Runs inside the caller's transaction, outside any savepoint: the writer
/// calls it before each commit (so a row is indexed by the transaction that writes it) and
/// the store when it opens (for rows another tool wrote straight into the file). With
/// nothing noted it costs one indexed lookup.
pub(crate) fn index_pending(conn: &Connection) -> rusqlite::Result<()> {
    let noted: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM message_search_pending)")?
        .query_row([], |r| r.get(0))?;
    if !noted {
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
