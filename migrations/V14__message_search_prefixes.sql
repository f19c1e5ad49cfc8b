-- A prefix index: `the*` is one lookup instead of a merge of every word it begins.
--
-- Without it, FTS5 answers a prefix query by reading the lists of every word that begins
-- with the prefix, in every segment, and merging them into one list, each time a cursor
-- opens, and bm25 opens a second one to weigh the phrase. For the prefixes of the commonest
-- words that is a third of the inbox: `the*` took 56-75 ms over 1,000,000 messages. With
-- `prefix='3'` FTS5 also indexes the first three characters of every word, so a
-- three-character prefix is read like a word, a two-character one merges the lists of the
-- three-character prefixes it begins (rather than of every word), and a longer one merges
-- only the words it begins, few for any real prefix. The cost is paid when a message is
-- indexed (docs/performance.md has the figures).
--
-- FTS5 cannot add a prefix index to an existing table, so the index is made again, empty,
-- with the same columns, content and tokenizer as V8's, and every existing message is
-- indexed again by the background backfill of V8, in bounded batches: rows with
-- `done_rowid < rowid <= last_rowid` are not indexed, every other row is. Until it
-- finishes, search says it has not (as after V8). Rows noted for the end of a transaction
-- (V11) are within that range, so the note is emptied: the backfill indexes them.
DROP TABLE message_search;

CREATE VIRTUAL TABLE message_search USING fts5 (
    text,
    content = 'message_search_text',
    content_rowid = 'message_rowid',
    tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Mn Mc'",
    prefix = '3'
);

-- FTS5 merges a level's segments once 4 of them gather (its default `automerge`); here 8.
-- Every group commit of the writer adds a small segment, and each merge rewrites every
-- word of the segments it joins, so merging less often rewrites each word fewer times:
-- 31,000 fewer instructions per webhook delivery. A search reads up to 7 segments of a
-- level instead of 3.
INSERT INTO message_search (message_search, rank) VALUES ('automerge', 8);

DELETE FROM message_search_pending;

UPDATE message_search_backfill
SET done_rowid = 0, last_rowid = (SELECT coalesce(max(rowid), 0) FROM messages)
WHERE id = 1;
