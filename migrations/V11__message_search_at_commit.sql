-- The search index is written once per transaction instead of once per row.
--
-- V8's triggers added every row to the FTS5 index as it was inserted. The writer runs each
-- job of a group commit in a savepoint of its own, and FTS5 writes its pending terms out
-- as a new segment at every savepoint, so a batch of 64 deliveries made 64 tiny segments
-- (and the merges they cause) instead of one. Now an inserted row is only noted in
-- `message_search_pending`, and whoever commits indexes every noted row at the end of the
-- transaction, outside the savepoints (`store::search::index_pending`: the writer before
-- each commit, and the store when it opens, for rows another tool wrote). A message is
-- still indexed by the transaction that writes it, so it is searchable once its delivery's
-- 200 is sent.
--
-- A noted row is not in the index yet: deleting or changing it must not tell FTS5 to
-- forget text it never held (that would corrupt the index), so the delete and update
-- triggers skip noted rows; the end-of-transaction step indexes a noted row with its text
-- of that moment, and drops rows deleted meanwhile from the note.

-- The view gives the same text as V8's at a fraction of the cost. V8 ran 17 nested
-- replace() over every message, each a copy of the whole text: the largest part of
-- indexing a delivery. Each group of marks is now dropped only when the text holds the
-- lead bytes of its characters in UTF-8 (U+0640..U+067F all begin with 0xD9; U+FE0E and
-- U+FE0F with 0xEF 0xB8; U+1F3FB..U+1F3FF with 0xF0 0x9F 0x8F), and an all-ASCII text,
-- the common case, is told by its length alone. Removing whole characters cannot create
-- others, so the text is byte for byte V8's and the index needs no rebuild. The nested
-- selects are flattened by SQLite: a lookup by `message_rowid` stays one rowid seek.
DROP VIEW message_search_text;
CREATE VIEW message_search_text (message_rowid, text) AS
SELECT message_rowid,
       CASE WHEN kind IN ('reaction', 'revoke') THEN NULL
            WHEN length(t) = length(CAST(t AS BLOB)) THEN t
            WHEN instr(CAST(t AS BLOB), x'F09F8F') > 0
            THEN replace(replace(replace(replace(replace(s2, char(127995), ''), char(127996), ''), char(127997), ''), char(127998), ''), char(127999), '')
            ELSE s2 END
FROM (SELECT message_rowid, kind, t,
             CASE WHEN instr(CAST(t AS BLOB), x'EFB8') > 0
                  THEN replace(replace(s1, char(65038), ''), char(65039), '')
                  ELSE s1 END AS s2
      FROM (SELECT message_rowid, kind, t,
                   CASE WHEN instr(CAST(t AS BLOB), x'D9') = 0 THEN t
                        ELSE replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(t, char(1611), ''), char(1612), ''), char(1613), ''), char(1614), ''), char(1615), ''), char(1616), ''), char(1617), ''), char(1618), ''), char(1600), ''), char(1648), '') END AS s1
            FROM (SELECT m.rowid AS message_rowid, m.type AS kind,
                         coalesce(m.body, '') || coalesce(' ' || m.media_filename, '')
                         || coalesce(' ' || m.search_words, '') AS t
                  FROM messages m)));

CREATE TABLE message_search_pending (
    message_rowid INTEGER PRIMARY KEY
);

DROP TRIGGER message_search_on_insert;
CREATE TRIGGER message_search_on_insert AFTER INSERT ON messages
WHEN NOT EXISTS (SELECT 1 FROM message_search_backfill
                 WHERE NEW.rowid > done_rowid AND NEW.rowid <= last_rowid)
BEGIN
    INSERT OR IGNORE INTO message_search_pending (message_rowid) VALUES (NEW.rowid);
END;

DROP TRIGGER message_search_on_delete;
CREATE TRIGGER message_search_on_delete BEFORE DELETE ON messages
WHEN NOT EXISTS (SELECT 1 FROM message_search_backfill
                 WHERE OLD.rowid > done_rowid AND OLD.rowid <= last_rowid)
BEGIN
    INSERT INTO message_search (message_search, rowid, text)
    SELECT 'delete', message_rowid, text FROM message_search_text
    WHERE message_rowid = OLD.rowid AND text IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM message_search_pending WHERE message_rowid = OLD.rowid);
    DELETE FROM message_search_pending WHERE message_rowid = OLD.rowid;
END;

DROP TRIGGER message_search_before_update;
CREATE TRIGGER message_search_before_update
BEFORE UPDATE OF body, media_filename, type, direction, raw ON messages
WHEN NOT EXISTS (SELECT 1 FROM message_search_backfill
                 WHERE OLD.rowid > done_rowid AND OLD.rowid <= last_rowid)
 AND NOT EXISTS (SELECT 1 FROM message_search_pending WHERE message_rowid = OLD.rowid)
BEGIN
    INSERT INTO message_search (message_search, rowid, text)
    SELECT 'delete', message_rowid, text FROM message_search_text
    WHERE message_rowid = OLD.rowid AND text IS NOT NULL;
END;

DROP TRIGGER message_search_after_update;
CREATE TRIGGER message_search_after_update
AFTER UPDATE OF body, media_filename, type, direction, raw ON messages
WHEN NOT EXISTS (SELECT 1 FROM message_search_backfill
                 WHERE NEW.rowid > done_rowid AND NEW.rowid <= last_rowid)
 AND NOT EXISTS (SELECT 1 FROM message_search_pending WHERE message_rowid = NEW.rowid)
BEGIN
    UPDATE messages SET search_words = (
        SELECT words FROM message_search_words WHERE message_rowid = NEW.rowid)
    WHERE rowid = NEW.rowid;
    INSERT INTO message_search (rowid, text)
    SELECT message_rowid, text FROM message_search_text
    WHERE message_rowid = NEW.rowid AND text IS NOT NULL;
END;
