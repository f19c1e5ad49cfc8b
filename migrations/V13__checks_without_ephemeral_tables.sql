-- Two CHECK constraints of V1 made every webhook delivery build three throwaway tables.
--
-- SQLite evaluates `x IN (a, b, c, ...)` with more than two constants by filling an
-- ephemeral index with the constants, once per execution of the statement. The CHECKs on
-- `messages.status` (eight values) and `webhook_events.outcome` (four) are evaluated by the
-- message insert, the delivery-log insert and its outcome update: three ephemeral indexes
-- built, filled and freed per delivery: about 70,000 instructions, a tenth of what a
-- delivery cost. The same rules written as `=` comparisons joined by OR are a few
-- comparisons.
--
-- SQLite's ALTER TABLE can add and drop named constraints, but V1's are unnamed column
-- constraints. They are removed the way SQLite documents for removing a CHECK constraint
-- (lang_altertable.html, "other kinds of table schema changes": the table's CREATE
-- statement in `sqlite_schema` is edited; no stored row changes, and V1's text is fixed,
-- so the edit is exact), then the same rules are added back, named, with ALTER TABLE ADD
-- CONSTRAINT, which checks every existing row, bumps the schema version and reloads the
-- schema of every connection.
PRAGMA writable_schema = ON;

UPDATE sqlite_schema
SET sql = replace(sql, ' CHECK (status IN (''received'', ''pending'', ''sent'', ''delivered'',
                                                     ''read'', ''played'', ''failed'', ''unknown''))', '')
WHERE type = 'table' AND name = 'messages';

UPDATE sqlite_schema
SET sql = replace(sql, ' CHECK (outcome IN (''processed'', ''duplicate'', ''ignored'', ''failed''))', '')
WHERE type = 'table' AND name = 'webhook_events';

PRAGMA writable_schema = OFF;

ALTER TABLE messages ADD CONSTRAINT message_status CHECK (
    status = 'received' OR status = 'pending' OR status = 'sent' OR status = 'delivered'
    OR status = 'read' OR status = 'played' OR status = 'failed' OR status = 'unknown');

ALTER TABLE webhook_events ADD CONSTRAINT webhook_event_outcome CHECK (
    outcome = 'processed' OR outcome = 'duplicate' OR outcome = 'ignored'
    OR outcome = 'failed');
