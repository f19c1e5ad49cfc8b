-- The names of the contacts, apart from the rest of their rows, for `find_contacts`.
--
-- A name part under three characters (a Chinese or Japanese name is often two) is too
-- short for the trigram index of V12, so every contact is read: the whole table, 7-11 ms
-- at 50,000 contacts. This index holds the two name columns and the rowid alone, a few
-- times smaller than the table, and that scan reads it instead (store/directory.rs). A
-- contact's names are written when it is created and rarely change after: the cost is
-- one index entry per new contact.
CREATE INDEX contacts_by_name ON contacts (profile_name, username);
