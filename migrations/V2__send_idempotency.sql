-- A send may carry the caller's idempotency key: a repeated call with the same key
-- returns the first call's row and sends nothing.
ALTER TABLE messages ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX messages_by_idempotency_key ON messages (client_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- Sends left pending by a crash are found at start without a scan.
CREATE INDEX messages_pending ON messages (updated_at) WHERE status = 'pending';
