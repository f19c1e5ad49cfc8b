//! The `media_files` table: which file in the media folder holds a message's media,
//! and the SHA-256 it had when it was verified and saved.

use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, WriteCtx};

/// A media file saved for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedMedia {
    /// Our id of the message the media came with.
    pub message_id: String,
    /// Meta's media id.
    pub media_id: String,
    /// The file's name inside the media folder (no directory part).
    pub file_name: String,
    /// The MIME type Meta gave.
    pub mime_type: String,
    /// The file's size in bytes.
    pub size: u64,
    /// The file's SHA-256, lowercase hex.
    pub sha256: String,
}

/// The file saved for message `message_id`, if any (it may since have been deleted).
pub fn find_saved_media(
    conn: &Connection,
    message_id: &str,
) -> Result<Option<SavedMedia>, StoreError> {
    let row = conn
        .query_row(
            "SELECT message_id, media_id, file_name, mime_type, size, sha256
             FROM media_files WHERE message_id = ?1",
            [message_id],
            |r| {
                Ok(SavedMedia {
                    message_id: r.get(0)?,
                    media_id: r.get(1)?,
                    file_name: r.get(2)?,
                    mime_type: r.get(3)?,
                    size: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                    sha256: r.get(5)?,
                })
            },
        )
        .optional()?;
    Ok(row)
}

/// Records (or replaces) the file saved for a message; call it only once the file is
/// complete under its final name.
pub fn record_saved_media(ctx: &mut WriteCtx<'_>, media: &SavedMedia) -> Result<(), StoreError> {
    let size = i64::try_from(media.size)
        .map_err(|_| StoreError::Internal(format!("media size {} is out of range", media.size)))?;
    let now = ctx.now().to_owned();
    ctx.exec(
        "INSERT INTO media_files (message_id, media_id, file_name, mime_type, size, sha256, saved_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (message_id) DO UPDATE SET
             media_id = excluded.media_id, file_name = excluded.file_name,
             mime_type = excluded.mime_type, size = excluded.size,
             sha256 = excluded.sha256, saved_at = excluded.saved_at",
        params![
            media.message_id,
            media.media_id,
            media.file_name,
            media.mime_type,
            size,
            media.sha256,
            now
        ],
    )?;
    Ok(())
}
