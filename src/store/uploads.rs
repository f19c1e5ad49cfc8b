//! Files uploaded to Meta for outbound media, so that the same file sent again from the
//! same business number within Meta's media lifetime reuses its media id.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use super::outbound::set_media_id;
use super::writer::WriteCtx;

/// One upload Meta answered with a media id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaUpload {
    pub phone_number_id: String,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    pub media_id: String,
    pub mime_type: String,
    pub size: u64,
}

/// The media id of the file with `sha256` (and this MIME type) uploaded for
/// `phone_number_id` at or after `since`, if any.
pub fn find_upload(
    conn: &Connection,
    phone_number_id: &str,
    sha256: &str,
    mime_type: &str,
    since: &str,
) -> Result<Option<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT media_id FROM media_uploads
         WHERE phone_number_id = ?1 AND sha256 = ?2 AND mime_type = ?3 AND uploaded_at >= ?4",
    )?;
    Ok(stmt
        .query_row(params![phone_number_id, sha256, mime_type, since], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Records `upload` (replacing an older upload of the same file) and sets its media id
/// on outbound message `message_id`, in one transaction.
pub fn record_upload(
    ctx: &mut WriteCtx<'_>,
    message_id: &str,
    upload: &MediaUpload,
) -> Result<(), StoreError> {
    ctx.exec(
        "INSERT INTO media_uploads (phone_number_id, sha256, media_id, mime_type, size, uploaded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (phone_number_id, sha256) DO UPDATE SET
             media_id = excluded.media_id, mime_type = excluded.mime_type,
             size = excluded.size, uploaded_at = excluded.uploaded_at",
        params![
            upload.phone_number_id,
            upload.sha256,
            upload.media_id,
            upload.mime_type,
            i64::try_from(upload.size).unwrap_or(i64::MAX),
            ctx.now()
        ],
    )?;
    set_media_id(ctx, message_id, &upload.media_id)
}
