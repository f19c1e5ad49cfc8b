//! One inbound message as a Claude Code channel event: `content` (the text, or a
//! one-line description of anything else) and `meta` (string values under identifier
//! keys: who wrote, which message, its ids, so Claude can answer it or fetch its media
//! with the ordinary tools). What the sender chose (their profile name, their text) is
//! untrusted: control characters go, and the name is cut short.

use serde_json::{Map, Value, json};

use super::peer_text::{NAME_CHARS, clean_line};
use crate::model::{InboundArrival, MessageRow};

/// The most characters of a caption, file name or description in a one-line content.
const LINE_CHARS: usize = 200;

/// `params` of the `notifications/claude/channel` for `arrival`.
pub(super) fn channel_params(arrival: &InboundArrival) -> Value {
    let m = &arrival.message;
    let mut meta = Map::new();
    let mut put = |k: &str, v: &str| {
        meta.insert(k.to_owned(), Value::String(v.to_owned()));
    };
    put("from", arrival.contact.as_deref().unwrap_or(""));
    put(
        "profile_name",
        &clean_line(arrival.profile_name.as_deref().unwrap_or(""), NAME_CHARS),
    );
    put("message_id", &m.id);
    put("wamid", m.wamid.as_deref().unwrap_or(""));
    put("type", &m.kind);
    put("ts", m.ts.as_deref().unwrap_or(&m.created_at));
    if let Some(user_id) = &arrival.user_id {
        put("user_id", user_id);
    }
    if let Some(reply_to) = &m.context_wamid {
        put("reply_to", reply_to);
    }
    if let Some(media) = &m.media {
        put("media_id", &media.id);
        if let Some(mime) = &media.mime_type {
            put("mime_type", &clean_line(mime, LINE_CHARS));
        }
        if let Some(name) = &media.filename {
            put("filename", &clean_line(name, LINE_CHARS));
        }
    }
    json!({"content": content(m), "meta": meta})
}

/// The text of a text message, else one line saying what arrived.
pub(super) fn content(m: &MessageRow) -> String {
    let body = m.body.as_deref().unwrap_or("");
    let line = |tag: &str, rest: &str| {
        let rest = clean_line(rest, LINE_CHARS);
        if rest.is_empty() {
            format!("[{tag}]")
        } else {
            format!("[{tag}] {rest}")
        }
    };
    match m.kind.as_str() {
        "text" => clean_text(body),
        "audio" if is_voice(m) => "[voice note]".to_owned(),
        "document" => {
            let name = m.media.as_ref().and_then(|x| x.filename.as_deref());
            match (name, body.trim().is_empty()) {
                (Some(n), false) => line("document", &format!("{n}: {body}")),
                (Some(n), true) => line("document", n),
                (None, _) => line("document", body),
            }
        }
        "location" => line("location", body.strip_prefix("Location: ").unwrap_or(body)),
        "contacts" => line("contact", body.strip_prefix("Contact: ").unwrap_or(body)),
        "reaction" if body.is_empty() => "[reaction removed]".to_owned(),
        "interactive" | "button" => line("reply", body),
        kind => line(kind, body),
    }
}

/// Whether an audio message is a voice note: WhatsApp records those as Ogg Opus.
fn is_voice(m: &MessageRow) -> bool {
    m.media
        .as_ref()
        .and_then(|x| x.mime_type.as_deref())
        .is_some_and(|t| t.starts_with("audio/ogg"))
}

/// `text` without control characters other than line breaks and tabs.
fn clean_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MediaRef, PageCursor};

    fn row(kind: &str, body: Option<&str>, media: Option<MediaRef>) -> MessageRow {
        MessageRow {
            id: "m1".into(),
            direction: "inbound".into(),
            contact: Some("447700900123".into()),
            phone_number_id: None,
            kind: kind.into(),
            body: body.map(str::to_owned),
            status: "received".into(),
            wamid: Some("wamid.A".into()),
            ts: Some("2026-12-02T08:00:00.000000Z".into()),
            created_at: "2026-12-02T08:00:01.000000Z".into(),
            error_code: None,
            error_title: None,
            context_wamid: None,
            media,
            profile_name: None,
            interactive_reply: None,
        }
    }

    fn media(mime: &str, filename: Option<&str>) -> Option<MediaRef> {
        Some(MediaRef {
            id: "media-1".into(),
            mime_type: Some(mime.into()),
            sha256: None,
            filename: filename.map(str::to_owned),
            size: None,
        })
    }

    #[test]
    fn non_text_messages_are_one_line_descriptions() {
        let caption = row("image", Some("the\nview"), media("image/jpeg", None));
        assert_eq!(content(&caption), "[image] the view");
        assert_eq!(
            content(&row("audio", None, media("audio/ogg; codecs=opus", None))),
            "[voice note]"
        );
        assert_eq!(
            content(&row("audio", None, media("audio/mpeg", None))),
            "[audio]"
        );
        assert_eq!(
            content(&row(
                "location",
                Some("Location: Office, (51.5, -0.1)"),
                None
            )),
            "[location] Office, (51.5, -0.1)"
        );
        assert_eq!(
            content(&row(
                "document",
                None,
                media("application/pdf", Some("a.pdf"))
            )),
            "[document] a.pdf"
        );
        assert_eq!(
            content(&row("text", Some("hi\u{7}\nthere"), None)),
            "hi\nthere"
        );
    }

    #[test]
    fn meta_names_the_message_and_cleans_the_profile_name() {
        let arrival = InboundArrival {
            cursor: PageCursor {
                created_at: String::new(),
                id: String::new(),
            },
            contact: Some("447700900123".into()),
            user_id: None,
            profile_name: Some(format!("Ann\u{1b}[31m {}", "x".repeat(200))),
            message: row("image", Some("pic"), media("image/jpeg", None)),
        };
        let params = channel_params(&arrival);
        let meta = &params["meta"];
        assert_eq!(meta["from"], "447700900123");
        assert_eq!(meta["message_id"], "m1");
        assert_eq!(meta["wamid"], "wamid.A");
        assert_eq!(meta["type"], "image");
        assert_eq!(meta["media_id"], "media-1");
        let name = meta["profile_name"].as_str().unwrap_or_default();
        assert!(name.starts_with("Ann [31m x"), "{name}");
        assert_eq!(name.chars().count(), NAME_CHARS + 1);
        assert!(!name.chars().any(char::is_control));
    }
}
