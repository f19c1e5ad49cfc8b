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

-- A merge of two contacts (one person known first by BSUID, then by phone) moves the
-- messages to the surviving contact, which takes the later of the two read marks: it
-- is one chat. (When a contact is only re-keyed, the old key names no row any more and
-- the read mark stays where it is, on the row itself.)
CREATE TRIGGER messages_touch_contact_on_move AFTER UPDATE OF contact_wa_id ON messages
WHEN NEW.contact_wa_id IS NOT NULL
BEGIN
    UPDATE contacts SET last_message_at = NEW.created_at
    WHERE wa_id = NEW.contact_wa_id
      AND (last_message_at IS NULL OR last_message_at < NEW.created_at);
    UPDATE contacts
    SET last_read_at = (SELECT o.last_read_at FROM contacts o WHERE o.wa_id = OLD.contact_wa_id)
    WHERE wa_id = NEW.contact_wa_id
      AND (SELECT o.last_read_at FROM contacts o WHERE o.wa_id = OLD.contact_wa_id)
          > coalesce(last_read_at, '');
END;

-- Existing files: one index seek per contact.
UPDATE contacts SET last_message_at = (
    SELECT max(created_at) FROM messages WHERE contact_wa_id = contacts.wa_id
);
UPDATE contacts SET last_read_at = (
    SELECT max(created_at) FROM messages
    WHERE contact_wa_id = contacts.wa_id AND direction = 'inbound' AND status = 'read'
);
