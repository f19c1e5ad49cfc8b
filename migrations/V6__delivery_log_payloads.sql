-- Delivery-log payloads are kept only while they are useful, so replays and time do not
-- fill the disk. The row of every delivery stays, with the payload's hash and size.

-- Bytes of the body as received (what payload_sha256 is the hash of).
ALTER TABLE webhook_events ADD COLUMN payload_bytes INTEGER;
-- 'expired' once the payload was dropped after WA_PAYLOAD_RETENTION_DAYS. A duplicate
-- (everything in it had been stored by an earlier delivery) never keeps its payload and
-- needs no mark: its outcome says it.
ALTER TABLE webhook_events ADD COLUMN payload_dropped TEXT;
-- The payloads the retention task may drop, oldest first.
CREATE INDEX webhook_events_payload_kept ON webhook_events (received_at)
    WHERE payload IS NOT NULL;

-- `wa-mcp events --failed` is the one query that filters on the outcome. A partial index
-- of the failed rows serves it, and, unlike the index of every row by outcome it
-- replaces, costs nothing per processed or duplicate delivery (a replay's row is then
-- its only cost).
DROP INDEX webhook_events_by_outcome;
CREATE INDEX webhook_events_failed ON webhook_events (id) WHERE outcome = 'failed';
