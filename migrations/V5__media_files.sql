-- Media files downloaded for inbound messages (get_media), kept in the `media/` folder
-- beside this database. A row is written only after its file was verified and renamed
-- into place; a row whose file is gone or altered is simply downloaded again.
CREATE TABLE media_files (
    message_id  TEXT PRIMARY KEY NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    media_id    TEXT NOT NULL,
    -- The file's name inside the media folder (never a path: the folder may move).
    file_name   TEXT NOT NULL,
    mime_type   TEXT NOT NULL,
    size        INTEGER NOT NULL CHECK (size >= 0),
    -- SHA-256 of the file, lowercase hex.
    sha256      TEXT NOT NULL,
    saved_at    TEXT NOT NULL
);
