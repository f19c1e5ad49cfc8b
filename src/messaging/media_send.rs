//! `send_media`: an image, document, audio, voice note, video or sticker, from a local
//! file (uploaded to Meta first, then sent by its media id) or an https URL (sent as
//! `link`: Meta fetches it; wa-mcp never does, so a message cannot steer requests into
//! the owner's network).
//!
//! A local file comes only from the folders `WA_MEDIA_SEND_DIRS` lists or from
//! wa-mcp's own media folder, to forward what `get_media` saved
//! ([`media_path`](super::media_path)); its format is read from its content and checked
//! against Meta's limits ([`media_kind`](super::media_kind)) before anything is stored
//! or uploaded. The one handle opened is checked, hashed and uploaded. The same file
//! sent again from the same number within 30 days reuses its media id.

use std::io::{Read, Seek, SeekFrom};

use serde_json::json;
use sha2::{Digest, Sha256};

use super::media_kind::{self, Format, MediaKind, Sniffed};
use super::media_path::{FolderRule, Folders, OpenedFile, open_local};
use super::media_upload::Upload;
use super::send::{Outgoing, parse_recipient};
use super::{Messaging, MessagingError, SendResult};
use crate::store::outbound::OutboundMedia;
use crate::store::{NewOutbound, StoreError};

/// The most characters a caption may hold.
pub const MAX_CAPTION_CHARS: usize = 1024;

/// How much of a file's start is read to tell its format.
const SNIFF_BYTES: usize = 64 * 1024;

/// A media message to send.
#[derive(Debug, Clone, Default)]
pub struct SendMediaInput {
    /// A phone number in any format, or a BSUID.
    pub to: String,
    /// A local file (exactly one of `path` and `url`).
    pub path: Option<String>,
    /// An https URL Meta fetches.
    pub url: Option<String>,
    /// `image`, `document`, `audio`, `video` or `sticker`; required with `url`, read
    /// from the content for a local file when omitted.
    pub kind: Option<String>,
    pub caption: Option<String>,
    /// A document's file name as the recipient sees it.
    pub filename: Option<String>,
    /// Send an OGG/Opus audio as a voice note.
    pub voice: bool,
    pub reply_to: Option<String>,
    pub phone_number_id: Option<String>,
    /// A repeated call with the same key returns the first call's result and sends nothing.
    pub idempotency_key: Option<String>,
}

/// How a media send stands: the send's result, the media id it went out with (local
/// files), and a note the caller should pass on (e.g. a voice note without play icon).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSendResult {
    pub sent: SendResult,
    pub media_id: Option<String>,
    pub note: Option<String>,
}

/// A local file after every check: what to upload and what the row keeps.
struct Checked {
    upload: Upload,
    kind: MediaKind,
    resolved: String,
}

fn invalid(text: String) -> MessagingError {
    MessagingError::InvalidInput(text)
}

fn parse_kind(kind: Option<&str>) -> Result<Option<MediaKind>, MessagingError> {
    match kind.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(k) => MediaKind::parse(k).map(Some).ok_or_else(|| {
            invalid(format!(
                "`type` must be {}; got {k:?}",
                media_kind::KIND_NAMES
            ))
        }),
    }
}

/// The caption, filename and voice rules, once the kind is known.
fn check_extras(input: &SendMediaInput, kind: MediaKind) -> Result<(), MessagingError> {
    if let Some(caption) = input.caption.as_deref().filter(|c| !c.is_empty()) {
        if !kind.takes_caption() {
            return Err(invalid(format!(
                "a {} cannot carry a caption (only an image, video or document can); send \
                 the text as its own message. Nothing was sent.",
                kind.as_str()
            )));
        }
        let chars = caption.chars().count();
        if chars > MAX_CAPTION_CHARS {
            return Err(invalid(format!(
                "`caption` must be at most {MAX_CAPTION_CHARS} characters; it has {chars}. Nothing was sent."
            )));
        }
    }
    if input.filename.as_deref().is_some_and(|f| !f.is_empty()) && kind != MediaKind::Document {
        return Err(invalid(format!(
            "`filename` is only for a document; this is a {}. Nothing was sent.",
            kind.as_str()
        )));
    }
    if input.voice && kind != MediaKind::Audio {
        return Err(invalid(format!(
            "`voice` is only for audio (an OGG/Opus file); this is a {}. Nothing was sent.",
            kind.as_str()
        )));
    }
    Ok(())
}

/// Reads the file's start, tells its format, checks it against the kind asked for and
/// Meta's limit, then hashes it all, from the one handle.
fn check_file(
    opened: OpenedFile,
    given: &str,
    wanted: Option<MediaKind>,
    voice: bool,
) -> Result<Checked, MessagingError> {
    let OpenedFile {
        mut file,
        path,
        size,
    } = opened;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut file)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| invalid(format!("{given:?} could not be read: {e}")))?;
    let (format, animated) = match media_kind::sniff(&head, wanted, &name) {
        Sniffed::Known { format, animated } => (format, animated),
        Sniffed::Unsupported(what) => {
            return Err(invalid(format!(
                "{given:?} is {what}, which WhatsApp does not accept; nothing was sent"
            )));
        }
        Sniffed::Unknown => {
            return Err(invalid(format!(
                "the content of {given:?} is none of the formats WhatsApp accepts (JPEG, PNG, \
                 MP4, 3GPP, AAC, AMR, MP3, M4A, OGG/Opus, PDF, plain text, Office documents, \
                 WebP stickers); nothing was sent"
            )));
        }
    };
    let kind = wanted.unwrap_or(format.kind);
    check_format(given, kind, format, animated, size, voice)?;
    let sha256 = hash_from_start(&mut file, size, given)?;
    Ok(Checked {
        upload: Upload {
            file,
            format,
            size,
            sha256,
            file_name: name,
        },
        kind,
        resolved: path.to_string_lossy().into_owned(),
    })
}

fn check_format(
    given: &str,
    kind: MediaKind,
    format: Format,
    animated: bool,
    size: u64,
    voice: bool,
) -> Result<(), MessagingError> {
    if format.kind != kind {
        return Err(invalid(format!(
            "{given:?} is a {} by its content ({}), whatever its name says; it can be sent \
             as a {}, not as a {} (a {} must be: {}). Nothing was sent.",
            format.label,
            format.mime_type,
            format.kind.as_str(),
            kind.as_str(),
            kind.as_str(),
            media_kind::accepted(kind)
        )));
    }
    let limit = if animated {
        media_kind::ANIMATED_STICKER_MAX_BYTES
    } else {
        format.max_bytes
    };
    if size > limit {
        return Err(invalid(format!(
            "{given:?} is {size} bytes; WhatsApp takes {} files of at most {limit} bytes. \
             Nothing was sent: make it smaller{}.",
            if animated {
                "animated WebP sticker"
            } else {
                format.label
            },
            if kind == MediaKind::Document {
                ""
            } else {
                ", or send it as a document if it is under 100 MiB"
            }
        )));
    }
    if voice && format.mime_type != "audio/ogg" {
        return Err(invalid(format!(
            "a voice note must be OGG/Opus audio; {given:?} is {} ({}). Send it without \
             `voice`, or convert it to OGG/Opus first. Nothing was sent.",
            format.label, format.mime_type
        )));
    }
    Ok(())
}

fn hash_from_start(
    file: &mut std::fs::File,
    size: u64,
    given: &str,
) -> Result<String, MessagingError> {
    let unreadable = |e: std::io::Error| invalid(format!("{given:?} could not be read: {e}"));
    file.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        total += n as u64;
    }
    if total != size {
        return Err(invalid(format!(
            "{given:?} changed size while it was read ({size} then {total} bytes); nothing \
             was sent"
        )));
    }
    Ok(crate::hex::to_hex(&hasher.finalize()))
}

/// The URL rules: https, a host, no spaces; wa-mcp does not fetch it.
fn check_url(url: &str) -> Result<(), MessagingError> {
    let rest = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| &url[8..]);
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    match host {
        Some(h) if !h.is_empty() && !url.contains(char::is_whitespace) && url.len() <= 2048 => {
            Ok(())
        }
        _ => Err(invalid(format!(
            "`url` must be an https URL Meta can fetch (e.g. https://example.com/menu.pdf); \
             got {url:?}. Nothing was sent."
        ))),
    }
}

impl Messaging {
    /// Sends a media message; a local file must lie inside a folder of
    /// `WA_MEDIA_SEND_DIRS` or the media folder beside the database (set or not).
    pub async fn send_media(
        &self,
        input: SendMediaInput,
    ) -> Result<MediaSendResult, MessagingError> {
        let rule = FolderRule::Folders(Folders {
            listed: self.media_send_dirs.clone(),
            media: super::media_dir(self.store.path()),
        });
        self.send_media_with(input, rule).await
    }

    /// [`Messaging::send_media`] for the owner at a shell: any file they can read.
    pub async fn send_media_as_owner(
        &self,
        input: SendMediaInput,
    ) -> Result<MediaSendResult, MessagingError> {
        self.send_media_with(input, FolderRule::Owner).await
    }

    async fn send_media_with(
        &self,
        input: SendMediaInput,
        rule: FolderRule,
    ) -> Result<MediaSendResult, MessagingError> {
        let wanted = parse_kind(input.kind.as_deref())?;
        let path = input.path.clone().filter(|p| !p.trim().is_empty());
        let url = input.url.clone().filter(|u| !u.trim().is_empty());
        let (recipient, seen) = parse_recipient(&input.to)?;
        let (kind, checked, url) = match (path, url) {
            (Some(_), None) if self.caller().is_remote() => {
                return Err(MessagingError::InvalidInput(
                    "`path` names a file on the owner's machine, and this client is remote: \
                     send media by `url` (https) instead"
                        .into(),
                ));
            }
            (Some(path), None) => {
                let given = path.clone();
                let voice = input.voice;
                let checked = tokio::task::spawn_blocking(move || {
                    check_file(open_local(&given, &rule)?, &given, wanted, voice)
                })
                .await
                .map_err(|e| {
                    StoreError::Internal(format!("the file check was interrupted: {e}"))
                })??;
                (checked.kind, Some(checked), None)
            }
            (None, Some(url)) => {
                check_url(url.trim())?;
                let kind = wanted.ok_or_else(|| {
                    invalid(format!(
                        "with a `url`, `type` must say what it is ({}); wa-mcp does not fetch \
                         the URL to find out; nothing was sent",
                        media_kind::KIND_NAMES
                    ))
                })?;
                (kind, None, Some(url.trim().to_owned()))
            }
            _ => {
                return Err(invalid(
                    "give exactly one of `path` (a local file) and `url` (https); nothing was sent"
                        .into(),
                ));
            }
        };
        check_extras(&input, kind)?;
        self.require_token()?;
        let phone_number_id = self.phone_number_id(input.phone_number_id.clone())?;
        let note = (input.voice
            && checked
                .as_ref()
                .is_some_and(|c| c.upload.size > media_kind::VOICE_PLAY_ICON_MAX_BYTES))
        .then(|| {
            format!(
                "the voice note is over {} KiB, so WhatsApp shows it as audio without the \
                 play icon",
                media_kind::VOICE_PLAY_ICON_MAX_BYTES / 1024
            )
        });
        let out = media_outgoing(&input, kind, checked, url, recipient, seen, phone_number_id);
        let sent = self.send_cloud_message(out).await?;
        let media_id = self.sent_media_id(&sent.id).await?;
        Ok(MediaSendResult {
            sent,
            media_id,
            note,
        })
    }

    /// The media id the row of a media send ended with.
    async fn sent_media_id(&self, id: &str) -> Result<Option<String>, MessagingError> {
        let id = id.to_owned();
        let row = self
            .store
            .read(move |c| crate::store::read::find_message(c, &id))
            .await?;
        Ok(row.and_then(|r| r.media).map(|m| m.id))
    }
}

/// The message, row and fingerprinted request of a media send.
fn media_outgoing(
    input: &SendMediaInput,
    kind: MediaKind,
    checked: Option<Checked>,
    url: Option<String>,
    recipient: crate::meta::Recipient,
    seen: crate::model::ContactSeen,
    phone_number_id: String,
) -> Outgoing {
    let caption = input.caption.clone().filter(|c| !c.is_empty());
    let reply_to = input.reply_to.clone().filter(|r| !r.trim().is_empty());
    let filename = match (kind, input.filename.clone().filter(|f| !f.is_empty())) {
        (MediaKind::Document, Some(f)) => Some(f),
        (MediaKind::Document, None) => checked.as_ref().map(|c| c.upload.file_name.clone()),
        _ => None,
    };
    let mut object = serde_json::Map::new();
    if let Some(url) = &url {
        object.insert("link".into(), url.clone().into());
    }
    if let Some(c) = &caption {
        object.insert("caption".into(), c.clone().into());
    }
    if let Some(f) = &filename {
        object.insert("filename".into(), f.clone().into());
    }
    if input.voice {
        object.insert("voice".into(), true.into());
    }
    let mut message = json!({"type": kind.as_str(), kind.as_str(): object});
    if let Some(wamid) = &reply_to {
        message["context"] = json!({"message_id": wamid});
    }
    let request = json!({
        "type": kind.as_str(), "path": checked.as_ref().map(|c| c.resolved.clone()),
        "sha256": checked.as_ref().map(|c| c.upload.sha256.clone()), "url": url,
        "caption": caption, "filename": filename, "voice": input.voice, "replyTo": reply_to,
    });
    let media = checked.as_ref().map(|c| OutboundMedia {
        media_id: None,
        mime_type: c.upload.format.mime_type.to_owned(),
        size: c.upload.size,
        sha256: c.upload.sha256.clone(),
        filename: filename.clone(),
    });
    let row = NewOutbound {
        phone_number_id: phone_number_id.clone(),
        recipient: seen,
        kind: kind.as_str().to_owned(),
        body: caption,
        context_wamid: reply_to,
        idempotency_key: input.idempotency_key.clone(),
        fingerprint: None,
        raw: message.to_string(),
        media,
    };
    Outgoing {
        recipient,
        phone_number_id,
        message,
        row,
        request,
        upload: checked.map(|c| c.upload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_with_a_host_are_taken() {
        assert!(check_url("https://example.com/a.pdf").is_ok());
        assert!(check_url("HTTPS://example.com").is_ok());
        for bad in [
            "http://example.com/a.pdf",
            "https://",
            "https:///x",
            "file:///etc/passwd",
            "https://exa mple.com",
            "ftp://x",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
