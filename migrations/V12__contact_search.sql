-- find_contacts matches part of a name or username, digits anywhere in a number, or the
-- start of a BSUID. No B-tree index serves "anywhere in the value", so every call read
-- every contact: about 10 ms of CPU at 50,000 contacts. This trigram index finds the
-- contacts that hold a query's characters in order in a few hundred microseconds;
-- store/directory.rs then applies the exact rule to those alone, so the index only
-- narrows (it folds case in every script, where the rule folds ASCII only) and never
-- decides. Queries under three characters, which trigrams cannot look up, still read
-- every contact.
--
-- An external-content index over `contacts`, keyed by rowid like `message_search` over
-- `messages` (VACUUM and VACUUM INTO keep rowids), and written the same way (V11): a new
-- contact is only noted in `contact_search_pending`, and the end-of-transaction step
-- (`store::search::index_pending`) indexes every noted contact at once, outside the
-- savepoints, so a group commit full of first-time senders makes one FTS5 segment, not one
-- per delivery. A noted contact is not in the index yet, so the delete and update
-- triggers leave it to that step. The update trigger fires only when a matched column's
-- value changes: the contact upsert of every inbound message, which names those columns,
-- costs nothing here.
CREATE VIRTUAL TABLE contact_search USING fts5 (
    profile_name,
    username,
    wa_id,
    user_id,
    parent_user_id,
    content = 'contacts',
    content_rowid = 'rowid',
    tokenize = 'trigram'
);

CREATE TABLE contact_search_pending (
    contact_rowid INTEGER PRIMARY KEY
);

CREATE TRIGGER contact_search_on_insert AFTER INSERT ON contacts
BEGIN
    INSERT OR IGNORE INTO contact_search_pending (contact_rowid) VALUES (NEW.rowid);
END;

CREATE TRIGGER contact_search_on_delete AFTER DELETE ON contacts
BEGIN
    INSERT INTO contact_search (contact_search, rowid, profile_name, username, wa_id, user_id,
                                parent_user_id)
    SELECT 'delete', OLD.rowid, OLD.profile_name, OLD.username, OLD.wa_id, OLD.user_id,
           OLD.parent_user_id
    WHERE NOT EXISTS (SELECT 1 FROM contact_search_pending WHERE contact_rowid = OLD.rowid);
    DELETE FROM contact_search_pending WHERE contact_rowid = OLD.rowid;
END;

CREATE TRIGGER contact_search_on_update
AFTER UPDATE OF profile_name, username, wa_id, user_id, parent_user_id ON contacts
WHEN (OLD.profile_name IS NOT NEW.profile_name OR OLD.username IS NOT NEW.username
      OR OLD.wa_id IS NOT NEW.wa_id OR OLD.user_id IS NOT NEW.user_id
      OR OLD.parent_user_id IS NOT NEW.parent_user_id)
 AND NOT EXISTS (SELECT 1 FROM contact_search_pending WHERE contact_rowid = OLD.rowid)
BEGIN
    INSERT INTO contact_search (contact_search, rowid, profile_name, username, wa_id, user_id,
                                parent_user_id)
    VALUES ('delete', OLD.rowid, OLD.profile_name, OLD.username, OLD.wa_id, OLD.user_id,
            OLD.parent_user_id);
    INSERT INTO contact_search (rowid, profile_name, username, wa_id, user_id, parent_user_id)
    VALUES (NEW.rowid, NEW.profile_name, NEW.username, NEW.wa_id, NEW.user_id,
            NEW.parent_user_id);
END;

-- The contacts already in the file.
INSERT INTO contact_search (contact_search) VALUES ('rebuild');
