//! What an inbound message says, per Meta message type: the text a person would read,
//! the media it carries, and the message it refers to.

use serde_json::{Map, Value};

use super::fields::{array, str_field};
use crate::model::InteractiveReply;
use crate::model::delivery::Media;

/// The readable part of one message object.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Content {
    pub body: Option<String>,
    pub media: Option<Media>,
    /// What it replies to (`context.id`), reacts to, edits or revokes.
    pub refers_to: Option<String>,
    /// The button or list row chosen, for an answer to an interactive message or to a
    /// template's quick-reply button.
    pub interactive_reply: Option<InteractiveReply>,
}

const MEDIA_KINDS: [&str; 5] = ["image", "audio", "video", "document", "sticker"];

/// Reads the part of `msg` named by its `type`. Unknown types keep whatever text they
/// carry under `body`, `text` or `caption`, and always keep their raw object.
pub fn describe_message(kind: &str, msg: &Map<String, Value>) -> Content {
    let part = msg.get(kind).and_then(Value::as_object);
    let reply_to = msg
        .get("context")
        .and_then(Value::as_object)
        .and_then(|c| str_field(c, "id"));
    let mut content = match (kind, part) {
        ("text", Some(p)) => text(str_field(p, "body")),
        (k, Some(p)) if MEDIA_KINDS.contains(&k) => Content {
            body: str_field(p, "caption"),
            media: Some(media(p)),
            ..Content::default()
        },
        ("location", Some(p)) => text(describe_location(p)),
        ("contacts", _) => text(describe_contacts(msg)),
        ("interactive", Some(p)) => Content {
            interactive_reply: interactive_reply(p),
            ..text(describe_interactive(p))
        },
        ("button", Some(p)) => Content {
            interactive_reply: button_reply(p),
            ..text(str_field(p, "text").or_else(|| str_field(p, "payload")))
        },
        ("reaction", Some(p)) => Content {
            // A removed reaction comes as an empty (or absent) emoji: keep it empty.
            body: Some(str_field(p, "emoji").unwrap_or_default()),
            refers_to: str_field(p, "message_id"),
            ..Content::default()
        },
        ("order", Some(p)) => text(describe_order(p)),
        ("system", Some(p)) => text(str_field(p, "body")),
        ("edit", Some(p)) => describe_edit(p),
        ("revoke", Some(p)) => Content {
            refers_to: str_field(p, "original_message_id"),
            ..Content::default()
        },
        (_, Some(p)) => text(
            str_field(p, "body")
                .or_else(|| str_field(p, "text"))
                .or_else(|| str_field(p, "caption")),
        ),
        (_, None) => Content::default(),
    };
    if content.refers_to.is_none() {
        content.refers_to = reply_to;
    }
    content
}

fn text(body: Option<String>) -> Content {
    Content {
        body,
        ..Content::default()
    }
}

fn media(p: &Map<String, Value>) -> Media {
    Media {
        id: str_field(p, "id"),
        mime_type: str_field(p, "mime_type"),
        sha256: str_field(p, "sha256"),
        filename: str_field(p, "filename"),
    }
}

fn describe_location(p: &Map<String, Value>) -> Option<String> {
    let coords = match (str_field(p, "latitude"), str_field(p, "longitude")) {
        (Some(lat), Some(lon)) => Some(format!("({lat}, {lon})")),
        _ => None,
    };
    let parts: Vec<String> = [str_field(p, "name"), str_field(p, "address"), coords]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| format!("Location: {}", parts.join(", ")))
}

fn describe_contacts(msg: &Map<String, Value>) -> Option<String> {
    let cards: Vec<String> = array(msg, "contacts")
        .filter_map(Value::as_object)
        .map(|card| {
            let name = card
                .get("name")
                .and_then(Value::as_object)
                .and_then(|n| str_field(n, "formatted_name"))
                .unwrap_or_else(|| "(no name)".to_owned());
            let phones: Vec<String> = array(card, "phones")
                .filter_map(Value::as_object)
                .filter_map(|p| str_field(p, "phone").or_else(|| str_field(p, "wa_id")))
                .collect();
            if phones.is_empty() {
                name
            } else {
                format!("{name} ({})", phones.join(", "))
            }
        })
        .collect();
    (!cards.is_empty()).then(|| format!("Contact: {}", cards.join("; ")))
}

/// The `{id, title}` of a `button_reply` or `list_reply`; none for other interactive
/// answers (a Flow's answer has no row to name).
fn interactive_reply(p: &Map<String, Value>) -> Option<InteractiveReply> {
    let kind = str_field(p, "type")?;
    if kind != "button_reply" && kind != "list_reply" {
        return None;
    }
    let reply = p.get(kind.as_str()).and_then(Value::as_object)?;
    Some(InteractiveReply {
        id: str_field(reply, "id")?,
        title: str_field(reply, "title").unwrap_or_default(),
    })
}

/// A template quick-reply button's answer: its payload is the id, its text the title.
fn button_reply(p: &Map<String, Value>) -> Option<InteractiveReply> {
    let title = str_field(p, "text");
    let id = str_field(p, "payload").or_else(|| title.clone())?;
    Some(InteractiveReply {
        id,
        title: title.unwrap_or_default(),
    })
}

fn describe_interactive(p: &Map<String, Value>) -> Option<String> {
    let kind = str_field(p, "type").unwrap_or_default();
    let reply = p.get(kind.as_str()).and_then(Value::as_object)?;
    match kind.as_str() {
        "button_reply" => str_field(reply, "title"),
        "list_reply" => {
            let title = str_field(reply, "title")?;
            Some(match str_field(reply, "description") {
                Some(d) => format!("{title} ({d})"),
                None => title,
            })
        }
        // A Flow's answers are in response_json (already redacted); body is just "Sent".
        "nfm_reply" => str_field(reply, "response_json").or_else(|| str_field(reply, "body")),
        _ => str_field(reply, "title").or_else(|| str_field(reply, "body")),
    }
}

fn describe_order(p: &Map<String, Value>) -> Option<String> {
    let items = array(p, "product_items").count();
    let summary = format!("Order of {items} item{}", if items == 1 { "" } else { "s" });
    Some(match str_field(p, "text") {
        Some(t) => format!("{summary}: {t}"),
        None => summary,
    })
}

fn describe_edit(p: &Map<String, Value>) -> Content {
    let edited = p.get("message").and_then(Value::as_object);
    let body = edited.and_then(|m| {
        let kind = str_field(m, "type")?;
        describe_message(&kind, m).body
    });
    Content {
        body,
        refers_to: str_field(p, "original_message_id"),
        ..Content::default()
    }
}
