//! The upload step of the send path: a checked local file becomes a media id, either
//! by reusing the upload of the same file from the same business number within Meta's
//! media lifetime, or by uploading it (streamed from the one handle that was checked).

use std::time::Duration;

use serde_json::Value;

use super::media_kind::Format;
use super::{Messaging, blocking};
use crate::meta::{MetaError, UploadFile};
use crate::store::StoreError;
use crate::store::outbound::set_media_id as store_media_id;
use crate::store::uploads::{MediaUpload, find_upload, record_upload};

/// How long Meta keeps an uploaded file: a media id younger than this is reused.
pub const MEDIA_ID_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// A checked local file waiting to be uploaded.
pub(super) struct Upload {
    pub file: std::fs::File,
    pub format: Format,
    pub size: u64,
    pub sha256: String,
    pub file_name: String,
}

/// Puts `media_id` into the media object of `message` (`{"type": k, k: {..}}`).
pub(super) fn set_media_id(message: &mut Value, media_id: &str) {
    let kind = message["type"].as_str().unwrap_or_default().to_owned();
    if let Some(object) = message.get_mut(&kind).and_then(Value::as_object_mut) {
        object.insert("id".into(), media_id.into());
    }
}

impl Messaging {
    /// The media id for `upload` from `phone_number_id`: an upload of the same file
    /// younger than [`MEDIA_ID_LIFETIME`], else a new upload. Recorded on row `row_id`.
    pub(super) async fn upload_for(
        &self,
        row_id: &str,
        phone_number_id: &str,
        upload: Upload,
    ) -> Result<String, MetaError> {
        let internal =
            |e: StoreError| MetaError::Internal(format!("the upload record failed: {e}"));
        let since = crate::timefmt::format_micros(
            self.clock.now_micros() - MEDIA_ID_LIFETIME.as_micros() as i64,
        );
        let (pnid, sha, mime) = (
            phone_number_id.to_owned(),
            upload.sha256.clone(),
            upload.format.mime_type,
        );
        let reused = self
            .store
            .read(move |c| find_upload(c, &pnid, &sha, mime, &since))
            .await
            .map_err(internal)?;
        let id = row_id.to_owned();
        if let Some(media_id) = reused {
            tracing::info!(id = %row_id, "media_upload_reused");
            let recorded = media_id.clone();
            self.store
                .write(move |ctx| store_media_id(ctx, &id, &recorded))
                .await
                .map_err(internal)?;
            return Ok(media_id);
        }
        let meta = self.meta.clone();
        let pnid = phone_number_id.to_owned();
        let (file, size, file_name) = (upload.file, upload.size, upload.file_name);
        let media_id = blocking(move || {
            let file_ref = UploadFile {
                file: &file,
                size,
                mime_type: mime,
                file_name: &file_name,
            };
            meta.upload_media(&pnid, &file_ref)
        })
        .await?;
        tracing::info!(id = %row_id, size, "media_uploaded");
        let record = MediaUpload {
            phone_number_id: phone_number_id.to_owned(),
            sha256: upload.sha256,
            media_id: media_id.clone(),
            mime_type: mime.to_owned(),
            size,
        };
        self.store
            .write(move |ctx| record_upload(ctx, &id, &record))
            .await
            .map_err(internal)?;
        Ok(media_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_media_id_goes_into_the_media_object() {
        let mut message = json!({"type": "image", "image": {"caption": "hi"}});
        set_media_id(&mut message, "123");
        assert_eq!(
            message,
            json!({"type": "image", "image": {"caption": "hi", "id": "123"}})
        );
    }
}
