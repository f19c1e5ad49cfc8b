-- The whole inbox in one file. Timestamps are UTC text of one fixed width
-- (YYYY-MM-DDTHH:MM:SS.ffffffZ), so text order is time order.

-- One row per WhatsApp user. `wa_id` is the key messages thread on: the phone
-- number (digits, no +) when Meta has given one, else the business-scoped user
-- id (BSUID). When a BSUID-only contact later shows its phone number the row is
-- re-keyed to it and its messages follow (ON UPDATE CASCADE).
CREATE TABLE contacts (
    wa_id            TEXT PRIMARY KEY NOT NULL,
    user_id          TEXT UNIQUE,
    parent_user_id   TEXT,
    username         TEXT,
    profile_name     TEXT,
    first_seen_at    TEXT NOT NULL,
    last_inbound_at  TEXT,
    updated_at       TEXT NOT NULL
);

CREATE TABLE messages (
    id               TEXT PRIMARY KEY NOT NULL,
    client_id        TEXT NOT NULL DEFAULT 'local-owner',
    phone_number_id  TEXT,
    direction        TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    wamid            TEXT UNIQUE,
    contact_wa_id    TEXT REFERENCES contacts (wa_id) ON UPDATE CASCADE,
    type             TEXT NOT NULL,
    body             TEXT,
    media_id         TEXT,
    media_mime_type  TEXT,
    media_sha256     TEXT,
    media_filename   TEXT,
    context_wamid    TEXT,
    status           TEXT NOT NULL CHECK (status IN ('received', 'pending', 'sent', 'delivered',
                                                     'read', 'played', 'failed', 'unknown')),
    error_code       TEXT,
    error_title      TEXT,
    ts               TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    raw              TEXT
);
-- Keyset paging on (created_at, id), overall and per contact / direction.
CREATE INDEX messages_by_created ON messages (created_at, id);
CREATE INDEX messages_by_contact ON messages (contact_wa_id, created_at, id);
CREATE INDEX messages_by_direction ON messages (direction, created_at, id);
CREATE INDEX messages_by_context ON messages (context_wamid) WHERE context_wamid IS NOT NULL;

-- Every event id ever accepted; a conflict on insert means a replay.
CREATE TABLE idempotency (
    event_id          TEXT PRIMARY KEY NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('message', 'status')),
    webhook_event_id  INTEGER,
    created_at        TEXT NOT NULL
);

-- The delivery log: one row per signed POST.
CREATE TABLE webhook_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at     TEXT NOT NULL,
    request_id      TEXT,
    outcome         TEXT NOT NULL CHECK (outcome IN ('processed', 'duplicate', 'ignored', 'failed')),
    error           TEXT,
    payload         TEXT,
    payload_sha256  TEXT NOT NULL,
    messages        INTEGER NOT NULL DEFAULT 0,
    statuses        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);
CREATE INDEX webhook_events_by_outcome ON webhook_events (outcome, id);

-- Every status notification, applied or not: the audit trail, and the place a
-- status waits when it arrives before the message it is about.
CREATE TABLE message_status_events (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id           TEXT NOT NULL,
    wamid              TEXT NOT NULL,
    status             TEXT NOT NULL,
    recipient_id       TEXT,
    recipient_user_id  TEXT,
    phone_number_id    TEXT,
    error_code         TEXT,
    error_title        TEXT,
    ts                 TEXT,
    webhook_event_id   INTEGER REFERENCES webhook_events (id),
    raw                TEXT NOT NULL,
    created_at         TEXT NOT NULL
);
CREATE INDEX message_status_events_by_wamid ON message_status_events (wamid);

CREATE TABLE pull_cursors (
    client_id        TEXT NOT NULL,
    phone_number_id  TEXT NOT NULL DEFAULT '',
    last_pulled_at   TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (client_id, phone_number_id)
);

-- The last created_at handed out, in microseconds since the epoch. Read and
-- advanced only inside a write transaction, so every process sharing the file
-- hands out strictly increasing values in commit order.
CREATE TABLE write_clock (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_us  INTEGER NOT NULL
);
INSERT INTO write_clock (id, last_us) VALUES (1, 0);
