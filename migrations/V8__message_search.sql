-- Full-text search over every message, both directions (search_messages).
--
-- `message_search_text` is the ONE definition of what a message is found by; the index,
-- its triggers, the backfill and snippets all read it, so no writer (webhook ingest,
-- sends of any kind, edits, prune) needs to know the index exists:
--   * `body`: the text, a caption, an interactive or button reply's title, a location's
--     rendering, a template's name, a contact card, a system notice;
--   * `media_filename`: a document's file name;
--   * for outbound rows, the words of the request sent to Meta that `body` does not hold:
--     template parameters, interactive header, footer, button and row titles and
--     descriptions, a location's name and address, a caption or file name.
-- Reactions and revokes carry no words and are not indexed. Arabic short vowels
-- (harakat), tatweel and the superscript alef are dropped so a word is found however it
-- was vocalised; so are emoji modifiers, which the tokenizer would take for words.
--
-- The index holds the text it was given at insert time and must be told the same text to
-- forget a row: a later migration that changes this view must rebuild the index
-- (INSERT INTO message_search (message_search) VALUES ('rebuild')).
-- The words of an outbound request that `body` does not hold, kept on the row (filled by
-- the triggers below, from `message_search_words`): FTS5 reads its content view with
-- table-valued functions disabled, so the view cannot call json_tree itself.
ALTER TABLE messages ADD COLUMN search_words TEXT;

CREATE VIEW message_search_words (message_rowid, words) AS
SELECT m.rowid,
       CASE WHEN m.direction = 'outbound' AND json_valid(m.raw) THEN (
           SELECT group_concat(j.value, ' ')
           FROM json_tree(m.raw, CASE m.type WHEN 'template' THEN '$.template.components'
                                             ELSE '$.' || m.type END) j
           WHERE j.type = 'text'
             AND j.key IN ('text', 'title', 'description', 'caption', 'filename', 'name',
                           'address', 'display_text')
             AND j.value IS NOT m.body AND j.value IS NOT m.media_filename)
       END
FROM messages m;

-- The marks dropped before indexing (the query compiler drops the same): Arabic harakat
-- U+064B..U+0652, tatweel U+0640, superscript alef U+0670, variation selectors U+FE0E and
-- U+FE0F, and the emoji skin tones U+1F3FB..U+1F3FF (the tokenizer would keep these as
-- words of their own).
CREATE VIEW message_search_text (message_rowid, text) AS
SELECT m.rowid,
       CASE WHEN m.type IN ('reaction', 'revoke') THEN NULL ELSE
       replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
           coalesce(m.body, '') || coalesce(' ' || m.media_filename, '')
           || coalesce(' ' || m.search_words, ''),
       char(1611), ''), char(1612), ''), char(1613), ''), char(1614), ''), char(1615), ''),
       char(1616), ''), char(1617), ''), char(1618), ''), char(1600), ''), char(1648), ''),
       char(65038), ''), char(65039), ''), char(127995), ''), char(127996), ''), char(127997), ''),
       char(127998), ''), char(127999), '')
       END
FROM messages m;

-- Words in any script: letters, digits and combining marks of every alphabet are token
-- characters (so Devanagari or Thai words stay whole); case is folded and Latin accents
-- removed ("cafe" finds "café", "Muller" "Müller"). Emoji and punctuation separate
-- words and are never words themselves. Chinese and Japanese runs (no spaces) are one
-- token each.
CREATE VIRTUAL TABLE message_search USING fts5 (
    text,
    content = 'message_search_text',
    content_rowid = 'message_rowid',
    tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Mn Mc'"
);

-- Rows that existed before this migration are indexed in the background, in bounded
-- batches, oldest rowid first: rows with `done_rowid < rowid <= last_rowid` are not in
-- the index yet, every other row is. The triggers below and the backfill keep exactly
-- that, whatever happens to a row meanwhile (a row in the pending range is indexed with
-- its text of the moment the backfill reaches it). Nothing but these triggers and the
-- backfill may write `search_words`.
CREATE TABLE message_search_backfill (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    done_rowid  INTEGER NOT NULL,
    last_rowid  INTEGER NOT NULL
);
INSERT INTO message_search_backfill (id, done_rowid, last_rowid)
SELECT 1, 0, coalesce(max(rowid), 0) FROM messages;

-- The row is in the same transaction as its index entry: a message is searchable the
-- moment its delivery's 200 is sent.
CREATE TRIGGER message_search_on_insert AFTER INSERT ON messages
WHEN NOT EXISTS (SELECT 1 FROM message_search_backfill
                 WHERE NEW.rowid > done_rowid AND NEW.rowid <= last_rowid)
BEGIN
    UPDATE messages SET search_words = (
        SELECT words FROM message_search_words WHERE message_rowid = NEW.rowid)
    WHERE rowid = NEW.rowid AND NEW.direction = 'outbound';
    INSERT INTO message_search (rowid, text)
    SELECT message_rowid, text FROM message_search_text
    WHERE message_rowid = NEW.rowid AND text IS NOT NULL;
END;

-- A pruned message leaves the index (read before the row goes).
CREATE TRIGGER message_search_on_delete BEFORE DELETE ON messages
WHEN NOT EXISTS (SELECT 1 FROM message_search_backfill
                 WHERE OLD.rowid > done_rowid AND OLD.rowid <= last_rowid)
BEGIN
    INSERT INTO message_search (message_search, rowid, text)
    SELECT 'delete', message_rowid, text FROM message_search_text
    WHERE message_rowid = OLD.rowid AND text IS NOT NULL;
END;

-- A change to what a row is found by: the old text out before, the new text in after.
-- Status changes (the frequent update) touch none of these columns; setting
-- `search_words` alone (as these triggers and the backfill do) fires none of them.
CREATE TRIGGER message_search_before_update
BEFORE UPDATE OF body, media_filename, type, direction, raw ON messages
WHEN NOT EXISTS (SELECT 1 FROM message_search_backfill
                 WHERE OLD.rowid > done_rowid AND OLD.rowid <= last_rowid)
BEGIN
    INSERT INTO message_search (message_search, rowid, text)
    SELECT 'delete', message_rowid, text FROM message_search_text
    WHERE message_rowid = OLD.rowid AND text IS NOT NULL;
END;

CREATE TRIGGER message_search_after_update
AFTER UPDATE OF body, media_filename, type, direction, raw ON messages
WHEN NOT EXISTS (SELECT 1 FROM message_search_backfill
                 WHERE NEW.rowid > done_rowid AND NEW.rowid <= last_rowid)
BEGIN
    UPDATE messages SET search_words = (
        SELECT words FROM message_search_words WHERE message_rowid = NEW.rowid)
    WHERE rowid = NEW.rowid;
    INSERT INTO message_search (rowid, text)
    SELECT message_rowid, text FROM message_search_text
    WHERE message_rowid = NEW.rowid AND text IS NOT NULL;
END;
