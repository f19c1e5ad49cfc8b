//! `get_media`: the file an inbound image, audio, video, document or sticker carries,
//! downloaded from Meta once, verified against its SHA-256, and cached in the media
//! folder beside the database (see [`media_file`](super::media_file)).
//!
//! A second call answers from the cache without asking Meta, after checking that the
//! saved file still has the size and SHA-256 recorded in `media_files`; a file that was
//! deleted or altered is downloaded again.

use std::path::{Path, PathBuf};

use super::media_file::{self, Digested, TempMedia};
use super::{Messaging, MessagingError, blocking};
use crate::meta::{ApiErrorKind, DownloadError, MediaInfo, MetaClient, MetaError};
use crate::model::{MediaRef, MessageRow};
use crate::store::StoreError;
use crate::store::media::{SavedMedia, find_saved_media, record_saved_media};

/// The largest file `get_media` downloads: 100 MiB, Meta's limit for documents (the
/// largest media kind WhatsApp carries).
pub const MEDIA_MAX_BYTES: u64 = 100 * 1024 * 1024;

/// What `get_media` answers: a complete, verified file on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    /// The file, in the media folder beside the database.
    pub path: PathBuf,
    /// Its MIME type as Meta gave it, e.g. `image/jpeg`.
    pub mime_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// The parts of an inbound media message a download needs.
struct MediaMessage {
    message_id: String,
    media: MediaRef,
}

impl Messaging {
    /// The media of the inbound message with id or wamid `key`, as a file beside the
    /// database, at most [`MEDIA_MAX_BYTES`] large.
    pub async fn get_media(&self, key: &str) -> Result<MediaFile, MessagingError> {
        self.get_media_capped(key, MEDIA_MAX_BYTES).await
    }

    /// [`Messaging::get_media_capped`] with the file's bytes, for a caller that cannot
    /// open a path on this machine (a remote client). A saved file larger than
    /// `max_bytes` is refused too.
    pub async fn get_media_content(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> Result<(MediaFile, Vec<u8>), MessagingError> {
        let file = self.get_media_capped(key, max_bytes).await?;
        if file.size > max_bytes {
            return Err(MessagingError::InvalidInput(format!(
                "the file is {} bytes: a remote client can receive at most {max_bytes} bytes \
                 in a result; open it with a local client (Claude Desktop or Claude Code)",
                file.size
            )));
        }
        let path = file.path.clone();
        let bytes = tokio::task::spawn_blocking(move || std::fs::read(&path))
            .await
            .map_err(|e| StoreError::Internal(format!("reading the media file failed: {e}")))?
            .map_err(|source| disk_error(&file.path, &source, self.caller().is_remote()))?;
        Ok((file, bytes))
    }

    /// [`Messaging::get_media`] refusing files larger than `max_bytes`, both as Meta
    /// announces them and while downloading (nothing past the cap is read).
    pub async fn get_media_capped(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> Result<MediaFile, MessagingError> {
        let message = self.media_message(key).await?;
        let dir = media_file::media_dir(self.store.path());
        if let Some(cached) = self.cached_media(&message, &dir).await? {
            return Ok(cached);
        }
        self.require_token()?;
        let meta = self.meta.clone();
        let media_id = message.media.id.clone();
        let info = blocking(move || meta.media_info(&media_id))
            .await
            .map_err(|error| meta_failure(error, &message.message_id))?;
        let saved = self.download(&message, info, dir, max_bytes).await?;
        let record = saved.clone();
        self.store
            .write(move |ctx| record_saved_media(ctx, &record))
            .await?;
        let path = media_file::media_dir(self.store.path()).join(&saved.file_name);
        Ok(MediaFile {
            path: std::path::absolute(&path).unwrap_or(path),
            mime_type: saved.mime_type,
            size: saved.size,
            sha256: saved.sha256,
        })
    }

    /// The inbound media message `key` names, or the error that says why it is not one.
    async fn media_message(&self, key: &str) -> Result<MediaMessage, MessagingError> {
        let row = self
            .message_named(key, "the id of a message with media")
            .await?;
        media_of(row)
    }

    /// The saved file for this message, if it is still whole; `None` means download.
    async fn cached_media(
        &self,
        message: &MediaMessage,
        dir: &Path,
    ) -> Result<Option<MediaFile>, MessagingError> {
        let id = message.message_id.clone();
        let Some(saved) = self.store.read(move |c| find_saved_media(c, &id)).await? else {
            return Ok(None);
        };
        if saved.media_id != message.media.id || !is_plain_file_name(&saved.file_name) {
            return Ok(None);
        }
        let path = dir.join(&saved.file_name);
        let check = path.clone();
        let digest = tokio::task::spawn_blocking(move || media_file::digest_file(&check))
            .await
            .map_err(|e| StoreError::Internal(format!("the media check was interrupted: {e}")))?;
        match digest {
            Some(d) if d.size == saved.size && media_file::to_hex(&d.sha256) == saved.sha256 => {
                Ok(Some(MediaFile {
                    path: std::path::absolute(&path).unwrap_or(path),
                    mime_type: saved.mime_type,
                    size: saved.size,
                    sha256: saved.sha256,
                }))
            }
            _ => {
                tracing::warn!(
                    message_id = %message.message_id,
                    "cached media missing or altered; downloading it again"
                );
                Ok(None)
            }
        }
    }

    /// Downloads, verifies and renames the file into place; the row is not written yet.
    async fn download(
        &self,
        message: &MediaMessage,
        info: MediaInfo,
        dir: PathBuf,
        max_bytes: u64,
    ) -> Result<SavedMedia, MessagingError> {
        if let Some(size) = info.file_size.filter(|size| *size > max_bytes) {
            return Err(too_large(&message.message_id, Some(size), max_bytes));
        }
        let mime_type = info
            .mime_type
            .clone()
            .or_else(|| message.media.mime_type.clone())
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let media_id = message.media.id.clone();
        let file_name = media_file::file_name_for(&media_id, &mime_type);
        let expected: Vec<(&'static str, String)> = [
            ("Meta's media info", info.sha256.clone()),
            ("the webhook", message.media.sha256.clone()),
        ]
        .into_iter()
        .filter_map(|(source, hash)| hash.map(|h| (source, h)))
        .collect();
        let meta = self.meta.clone();
        let name = file_name.clone();
        let job = move || save_download(&meta, &info.url, &dir, &name, max_bytes, &expected);
        let digest = tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| StoreError::Internal(format!("the media download was interrupted: {e}")))?
            .map_err(|failure| {
                failure.into_error(&message.message_id, max_bytes, self.caller().is_remote())
            })?;
        tracing::info!(message_id = %message.message_id, size = digest.size, "media_saved");
        Ok(SavedMedia {
            message_id: message.message_id.clone(),
            media_id,
            file_name,
            mime_type,
            size: digest.size,
            sha256: media_file::to_hex(&digest.sha256),
        })
    }
}

/// The media part of `row`, or why `get_media` cannot fetch anything for it.
fn media_of(row: MessageRow) -> Result<MediaMessage, MessagingError> {
    if row.direction != "inbound" {
        return Err(MessagingError::InvalidInput(format!(
            "message {} is outbound; get_media fetches media that was sent to you",
            row.id
        )));
    }
    let Some(media) = row.media else {
        return Err(MessagingError::InvalidInput(format!(
            "message {} is a {} message and carries no media; get_media works for image, \
             audio, video, document and sticker messages",
            row.id, row.kind
        )));
    };
    if media.id.is_empty()
        || media.id.len() > 128
        || !media.id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(MessagingError::InvalidInput(format!(
            "message {} has a media id Meta could not have issued, so it cannot be downloaded",
            row.id
        )));
    }
    Ok(MediaMessage {
        message_id: row.id,
        media,
    })
}

/// A name the media folder could hold: no separators, not hidden, not `..`.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0'])
}

/// Why a download did not end as a verified file.
enum SaveFailure {
    Download(DownloadError),
    Disk {
        path: PathBuf,
        source: std::io::Error,
    },
    Mismatch {
        source: &'static str,
        expected: String,
        actual: String,
    },
}

impl SaveFailure {
    /// The error for the caller; `remote` keeps paths of this machine out of it.
    fn into_error(self, message_id: &str, max_bytes: u64, remote: bool) -> MessagingError {
        match self {
            SaveFailure::Download(DownloadError::TooLarge { .. }) => {
                too_large(message_id, None, max_bytes)
            }
            SaveFailure::Download(DownloadError::Meta(error)) => meta_failure(error, message_id),
            // The sink's errors arrive as `Disk` (see `save_download`), with the folder.
            SaveFailure::Download(DownloadError::Write(source)) => {
                disk_error(Path::new("media"), &source, remote)
            }
            SaveFailure::Disk { path, source } => disk_error(&path, &source, remote),
            SaveFailure::Mismatch {
                source,
                expected,
                actual,
            } => MessagingError::Meta {
                error: MetaError::InvalidResponse {
                    status: 200,
                    detail: format!(
                        "the downloaded file's SHA-256 is {actual} but {source} announced \
                         {expected}; the file was discarded"
                    ),
                },
                message_id: Some(message_id.to_owned()),
            },
        }
    }
}

/// Streams `url` into a temp file in `dir`, checks every announced SHA-256, and renames
/// the file to `dir/name`. Runs on the blocking pool.
fn save_download(
    meta: &MetaClient,
    url: &str,
    dir: &Path,
    name: &str,
    max_bytes: u64,
    expected: &[(&'static str, String)],
) -> Result<Digested, SaveFailure> {
    let disk = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SaveFailure::Disk { path, source }
    };
    media_file::ensure_media_dir(dir).map_err(disk(dir))?;
    let mut temp = TempMedia::create(dir, name).map_err(disk(dir))?;
    let writer = temp.writer().map_err(disk(dir))?;
    meta.download_media(url, writer, max_bytes)
        .map_err(|e| match e {
            DownloadError::Write(source) => SaveFailure::Disk {
                path: dir.to_path_buf(),
                source,
            },
            other => SaveFailure::Download(other),
        })?;
    let digest = temp.finish().map_err(disk(dir))?;
    for (source, hash) in expected {
        if !media_file::sha256_matches(hash, &digest.sha256) {
            return Err(SaveFailure::Mismatch {
                source,
                expected: hash.clone(),
                actual: media_file::to_hex(&digest.sha256),
            });
        }
    }
    temp.persist(dir, name).map_err(disk(dir))?;
    Ok(digest)
}

/// The media folder could not be written: a problem on this machine, not at Meta. A
/// remote caller is not told where the folder is (the log says it, for the owner).
fn disk_error(path: &Path, source: &std::io::Error, remote: bool) -> MessagingError {
    if remote {
        tracing::warn!(path = %path.display(), error = %source, "media_file_unusable");
        return MessagingError::NotConfigured(format!(
            "the media file could not be saved or read on the owner's machine ({source}); \
             the owner can see why in wa-mcp's log. Try again later"
        ));
    }
    MessagingError::NotConfigured(format!(
        "the media file could not be saved or read in {}: {source}. Check that the folder \
         beside the database is writable and the disk is not full, then try again",
        path.display()
    ))
}

/// The error for a file over the cap; `size` is Meta's announced size when known.
fn too_large(message_id: &str, size: Option<u64>, max_bytes: u64) -> MessagingError {
    let size = size.map_or_else(
        || format!("more than {max_bytes} bytes"),
        |size| format!("{size} bytes"),
    );
    MessagingError::InvalidInput(format!(
        "the media of message {message_id} is {size}, over the {max_bytes}-byte limit of \
         get_media; it was not downloaded. Ask the sender for a smaller file or a link."
    ))
}

/// A Meta failure, with the clear message a model needs when the media is gone.
fn meta_failure(error: MetaError, message_id: &str) -> MessagingError {
    if is_media_gone(&error) {
        return MessagingError::NotFound(format!(
            "the media of message {message_id} is no longer available at Meta (Meta keeps \
             received media for a limited time; {error}); ask the sender to send it again"
        ));
    }
    MessagingError::Meta {
        error,
        message_id: Some(message_id.to_owned()),
    }
}

/// True when Meta says the media id or its download URL no longer resolves: code 100
/// (the object "does not exist, cannot be loaded ..."), or 404/410 without Meta's envelope.
fn is_media_gone(error: &MetaError) -> bool {
    match error {
        MetaError::Api(api) => {
            api.kind == ApiErrorKind::InvalidParameter || matches!(api.http_status, 404 | 410)
        }
        MetaError::Http { status, .. } => matches!(status, 403 | 404 | 410),
        _ => false,
    }
}
