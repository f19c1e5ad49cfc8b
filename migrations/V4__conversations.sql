-- Conversations: list_conversations pages contacts by their newest message, and
-- counts unread inbound messages against how far the owner has read.

-- created_at of the newest message (either direction) with this contact. Kept by the
-- triggers below, so every writer (webhook ingest, sends, merges) keeps it without
-- knowing about it.
ALTER TABLE contacts ADD COLUMN last_message_at TEXT;
-- created_at of the newest inbound message marked read: everything up to it is read
-- (WhatsApp's read receipt covers every earlier message of the chat as well).
ALTER TABLE contacts ADD COLUMN last_read_at TEXT;

-- Conversations newest first, ties broken by the key, read backwards in order.
CREATE INDEX contacts_by_last_message ON contacts (last_message_at, wa_id)
    WHERE last_message_at IS NOT NULL;

CREATE TRIGGER messages_touch_contact_on_insert AFTER INSERT ON messages
WHEN NEW.contact_wa_id IS NOT NULL
BEGIN
    UPDATE contacts SET last_message_at = NEW.created_at
    WHERE wa_id = NEW.contact_wa_id
      AND (last_message_at IS NULL OR last_message_at < NEW.created_at);
END;

-- A merge of two contacts moves messages to the surviving one.
CREATE TRIGGER messages_touch_contact_on_move AFTER UPDATE OF contact_wa_id ON messages
WHEN NEW.contact_wa_id IS NOT NULL
BEGIN
    UPDATE contacts SET last_message_at = NEW.created_at
    WHERE wa_id = NEW.contact_wa_id
      AND (last_message_at IS NULL OR last_message_at < NEW.created_at);
END;

-- Existing files: one index seek per contact.
UPDATE contacts SET last_message_at = (
    SELECT max(created_at) FROM messages WHERE contact_wa_id = contacts.wa_id
);
UPDATE contacts SET last_read_at = (
    SELECT max(created_at) FROM messages
    WHERE contact_wa_id = contacts.wa_id AND direction = 'inbound' AND status = 'read'
);
