-- What media, interactive messages and blocking need, and the idempotency fingerprint.

-- SHA-256 (hex) of the whole request a send was called with, as the caller gave it
-- (before anything is redacted): a repeated idempotency key is a replay only when the
-- fingerprint matches.
ALTER TABLE messages ADD COLUMN request_fingerprint TEXT;
-- The size in bytes of the media a message carries (outbound uploads; inbound when known).
ALTER TABLE messages ADD COLUMN media_size INTEGER;
-- An answer to an interactive message or a template button: the id and title of the
-- button or list row the person chose (context_wamid names the message answered).
ALTER TABLE messages ADD COLUMN interactive_reply_id TEXT;
ALTER TABLE messages ADD COLUMN interactive_reply_title TEXT;

-- Contacts the owner blocked through Meta's block users API: every send to them is
-- refused locally.
ALTER TABLE contacts ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1));
ALTER TABLE contacts ADD COLUMN blocked_at TEXT;

-- Files uploaded to Meta, so the same file sent again from the same business number
-- within Meta's media lifetime (30 days) reuses its media id instead of uploading again.
CREATE TABLE media_uploads (
    phone_number_id  TEXT NOT NULL,
    -- SHA-256 of the file's bytes, lowercase hex.
    sha256           TEXT NOT NULL,
    media_id         TEXT NOT NULL,
    mime_type        TEXT NOT NULL,
    size             INTEGER NOT NULL CHECK (size >= 0),
    uploaded_at      TEXT NOT NULL,
    PRIMARY KEY (phone_number_id, sha256)
);
