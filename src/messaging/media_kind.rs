//! Meta's media formats and limits in one table, and reading a file's format from its
//! content (magic bytes), never from its name. Limits are from Meta's media reference
//! ("Supported media types"); MB and KB there are read as MiB and KiB.

/// The kinds of media message WhatsApp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Document,
    Audio,
    Video,
    Sticker,
}

impl MediaKind {
    /// Reads `image`, `document`, `audio`, `video` or `sticker`.
    pub fn parse(s: &str) -> Option<MediaKind> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "image" => MediaKind::Image,
            "document" => MediaKind::Document,
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            "sticker" => MediaKind::Sticker,
            _ => return None,
        })
    }

    /// Meta's name for the kind: the message `type` and its object's key.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Document => "document",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Sticker => "sticker",
        }
    }

    /// Whether a message of this kind may carry a caption.
    pub fn takes_caption(self) -> bool {
        matches!(
            self,
            MediaKind::Image | MediaKind::Video | MediaKind::Document
        )
    }
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

/// One format Meta accepts: its MIME type, the kind it is sent as, and its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub mime_type: &'static str,
    pub kind: MediaKind,
    pub max_bytes: u64,
    /// How a person would name it, for errors.
    pub label: &'static str,
}

const fn format(
    mime_type: &'static str,
    kind: MediaKind,
    max_bytes: u64,
    label: &'static str,
) -> Format {
    Format {
        mime_type,
        kind,
        max_bytes,
        label,
    }
}

/// Every format Meta accepts for sending, with its limit.
pub const FORMATS: &[Format] = &[
    format("image/jpeg", MediaKind::Image, 5 * MIB, "JPEG image"),
    format("image/png", MediaKind::Image, 5 * MIB, "PNG image"),
    format("video/mp4", MediaKind::Video, 16 * MIB, "MP4 video"),
    format("video/3gpp", MediaKind::Video, 16 * MIB, "3GPP video"),
    format("audio/aac", MediaKind::Audio, 16 * MIB, "AAC audio"),
    format("audio/amr", MediaKind::Audio, 16 * MIB, "AMR audio"),
    format("audio/mpeg", MediaKind::Audio, 16 * MIB, "MP3 audio"),
    format("audio/mp4", MediaKind::Audio, 16 * MIB, "M4A audio"),
    format("audio/ogg", MediaKind::Audio, 16 * MIB, "OGG/Opus audio"),
    format("text/plain", MediaKind::Document, 100 * MIB, "plain text"),
    format("application/pdf", MediaKind::Document, 100 * MIB, "PDF"),
    format(
        "application/msword",
        MediaKind::Document,
        100 * MIB,
        "Word document",
    ),
    format(DOCX, MediaKind::Document, 100 * MIB, "Word document"),
    format(
        "application/vnd.ms-excel",
        MediaKind::Document,
        100 * MIB,
        "Excel workbook",
    ),
    format(XLSX, MediaKind::Document, 100 * MIB, "Excel workbook"),
    format(
        "application/vnd.ms-powerpoint",
        MediaKind::Document,
        100 * MIB,
        "PowerPoint deck",
    ),
    format(PPTX, MediaKind::Document, 100 * MIB, "PowerPoint deck"),
    format(
        "image/webp",
        MediaKind::Sticker,
        100 * KIB,
        "static WebP sticker",
    ),
];

/// An animated WebP sticker's limit (a static one's is in [`FORMATS`]).
pub const ANIMATED_STICKER_MAX_BYTES: u64 = 500 * KIB;

/// Above this a voice note still sends, but WhatsApp shows it without the play icon.
pub const VOICE_PLAY_ICON_MAX_BYTES: u64 = 512 * KIB;

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    /// A format of [`FORMATS`]; `animated` for an animated WebP.
    Known {
        format: Format,
        animated: bool,
    },
    /// Recognised but not sendable (e.g. OGG that is not Opus, a ZIP archive).
    Unsupported(&'static str),
    Unknown,
}

/// The format in [`FORMATS`] for `mime_type`.
pub fn format_of(mime_type: &str) -> Format {
    // Every caller passes a MIME type of the table (proved by the unit test below).
    FORMATS
        .iter()
        .copied()
        .find(|f| f.mime_type == mime_type)
        .unwrap_or(FORMATS[0])
}

/// Reads the format from `head` (the file's first bytes, up to 64 KiB). `wanted` is
/// the kind asked for: an MP4 container is audio (M4A) when audio was asked, and an
/// OLE2 / OOXML office file is told apart by `name`'s extension only after its content
/// proved it an office file.
pub fn sniff(head: &[u8], wanted: Option<MediaKind>, name: &str) -> Sniffed {
    let known = |mime: &str| Sniffed::Known {
        format: format_of(mime),
        animated: false,
    };
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return known("image/jpeg");
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return known("image/png");
    }
    if starts(b"%PDF-") {
        return known("application/pdf");
    }
    if starts(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        let animated =
            head.get(12..16) == Some(b"VP8X") && head.get(20).is_some_and(|f| f & 0x02 != 0);
        return Sniffed::Known {
            format: format_of("image/webp"),
            animated,
        };
    }
    if head.get(4..8) == Some(b"ftyp") {
        let brand = head.get(8..12).unwrap_or_default();
        return if brand.starts_with(b"3gp") || brand.starts_with(b"3g2") {
            known("video/3gpp")
        } else if brand == b"M4A " || brand == b"M4B " || wanted == Some(MediaKind::Audio) {
            known("audio/mp4")
        } else {
            known("video/mp4")
        };
    }
    if starts(b"OggS") {
        return if window(head, 64).windows(8).any(|w| w == b"OpusHead") {
            known("audio/ogg")
        } else {
            Sniffed::Unsupported("OGG audio that is not Opus (WhatsApp takes only OGG/Opus)")
        };
    }
    if starts(b"#!AMR") {
        return known("audio/amr");
    }
    if starts(b"ID3") {
        return known("audio/mpeg");
    }
    if let [0xFF, second, ..] = head {
        if second & 0xF6 == 0xF0 {
            return known("audio/aac");
        }
        if second & 0xE0 == 0xE0 && (second >> 1) & 0x03 != 0 {
            return known("audio/mpeg");
        }
    }
    if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return known(match extension(name).as_str() {
            "xls" => "application/vnd.ms-excel",
            "ppt" | "pps" => "application/vnd.ms-powerpoint",
            _ => "application/msword",
        });
    }
    if starts(b"PK\x03\x04") {
        return office_zip(head);
    }
    if is_plain_text(head) {
        return known("text/plain");
    }
    Sniffed::Unknown
}

fn window(head: &[u8], n: usize) -> &[u8] {
    &head[..head.len().min(n)]
}

/// An OOXML file names its main part's folder near the start of the archive.
fn office_zip(head: &[u8]) -> Sniffed {
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    let mime = if has(b"word/") {
        DOCX
    } else if has(b"xl/") {
        XLSX
    } else if has(b"ppt/") {
        PPTX
    } else {
        return Sniffed::Unsupported("a ZIP archive (not a Word, Excel or PowerPoint file)");
    };
    Sniffed::Known {
        format: format_of(mime),
        animated: false,
    }
}

/// UTF-8 text without NULs or control characters other than tab, line breaks and form
/// feed (a character cut by the end of `head` is allowed).
fn is_plain_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => {
            // Only the last character is incomplete: the prefix is valid UTF-8.
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

fn extension(name: &str) -> String {
    std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The kinds a model may ask for, for errors.
pub const KIND_NAMES: &str = "image, document, audio, video or sticker";

/// What a kind accepts, for errors: e.g. "JPEG image or PNG image".
pub fn accepted(kind: MediaKind) -> String {
    let mut labels: Vec<&str> = FORMATS
        .iter()
        .filter(|f| f.kind == kind)
        .map(|f| f.label)
        .collect();
    labels.dedup();
    labels.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mime(head: &[u8], wanted: Option<MediaKind>, name: &str) -> Option<&'static str> {
        match sniff(head, wanted, name) {
            Sniffed::Known { format, .. } => Some(format.mime_type),
            _ => None,
        }
    }

    #[test]
    fn content_not_the_name_decides() {
        assert_eq!(
            mime(b"%PDF-1.7\n", None, "photo.png"),
            Some("application/pdf")
        );
        assert_eq!(
            mime(&[0xFF, 0xD8, 0xFF, 0xE0], None, "x.pdf"),
            Some("image/jpeg")
        );
        assert_eq!(mime(b"\x89PNG\r\n\x1a\n....", None, "x"), Some("image/png"));
        assert_eq!(mime(b"\0\0\0\x18ftypmp42", None, "x"), Some("video/mp4"));
        assert_eq!(mime(b"\0\0\0\x18ftyp3gp4", None, "x"), Some("video/3gpp"));
        assert_eq!(
            mime(b"\0\0\0\x18ftypisom", Some(MediaKind::Audio), "x"),
            Some("audio/mp4")
        );
        assert_eq!(mime(b"ID3\x04", None, "x"), Some("audio/mpeg"));
        assert_eq!(mime(&[0xFF, 0xFB, 0x90], None, "x"), Some("audio/mpeg"));
        assert_eq!(mime(&[0xFF, 0xF1, 0x50], None, "x"), Some("audio/aac"));
        assert_eq!(mime(b"#!AMR\n", None, "x"), Some("audio/amr"));
        assert_eq!(mime(b"hello\nworld\xc3", None, "x"), Some("text/plain"));
        assert_eq!(mime(b"bin\0ary", None, "x"), None);
        let mut opus = b"OggS".to_vec();
        opus.resize(28, 0);
        opus.extend_from_slice(b"OpusHead");
        assert_eq!(mime(&opus, None, "x"), Some("audio/ogg"));
        let mut vorbis = b"OggS".to_vec();
        vorbis.resize(28, 0);
        vorbis.extend_from_slice(b"\x01vorbis");
        assert!(matches!(sniff(&vorbis, None, "x"), Sniffed::Unsupported(_)));
        let ole = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        assert_eq!(mime(&ole, None, "a.xls"), Some("application/vnd.ms-excel"));
        assert_eq!(
            mime(b"PK\x03\x04....word/document.xml", None, "a"),
            Some(DOCX)
        );
        assert!(matches!(
            sniff(b"PK\x03\x04 data", None, "a.docx"),
            Sniffed::Unsupported(_)
        ));
    }

    #[test]
    fn animated_webp_is_told_apart() {
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X".to_vec();
        webp.extend_from_slice(&[0, 0, 0, 0, 0x02]);
        assert_eq!(
            sniff(&webp, None, "x"),
            Sniffed::Known {
                format: format_of("image/webp"),
                animated: true
            }
        );
    }

    #[test]
    fn every_mime_type_the_sniffer_names_is_in_the_table() {
        for m in [
            "image/jpeg",
            "image/png",
            "application/pdf",
            "image/webp",
            "video/3gpp",
            "audio/mp4",
            "video/mp4",
            "audio/ogg",
            "audio/amr",
            "audio/mpeg",
            "audio/aac",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/msword",
            DOCX,
            XLSX,
            PPTX,
            "text/plain",
        ] {
            assert_eq!(format_of(m).mime_type, m);
        }
    }
}
