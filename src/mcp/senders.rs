//! The senders beyond text: `send_media`, `send_interactive`, `send_location`, and the
//! `show_typing` read receipt. Every one goes through the messaging layer's one send
//! path (allowlist, blocked contacts, idempotency key, the row before the call).

use rmcp::RoleServer;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::schemars::{self, JsonSchema};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router};
use serde::{Deserialize, Serialize};

use super::{MarkReadResult, SendMessageResult, WhatsAppServer};
use crate::messaging::{
    Button, Cta, ListInput, ListRow, MediaSendResult, Section, SendInteractiveInput,
    SendLocationInput, SendMediaInput,
};

/// `send_media` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMediaParams {
    /// The recipient: a phone number with country code in any format or a BSUID.
    pub to: String,
    /// A local file to upload and send. Only files inside the folders the owner listed
    /// in WA_MEDIA_SEND_DIRS, or a file get_media saved (to forward it), can be sent;
    /// anything else is refused. Give `path` or `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub path: Option<String>,
    /// An https URL Meta downloads the file from (wa-mcp never fetches it). `type` is
    /// then required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub url: Option<String>,
    /// `image` (JPEG/PNG ≤ 5 MiB), `video` (MP4/3GPP ≤ 16 MiB), `audio` (AAC, AMR, MP3,
    /// M4A, OGG/Opus ≤ 16 MiB), `document` (PDF, text, Office ≤ 100 MiB) or `sticker`
    /// (WebP ≤ 100 KiB, animated ≤ 500 KiB). For a local file, read from its content
    /// when omitted.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "MediaType")]
    pub kind: Option<String>,
    /// Text under an image, video or document, at most 1024 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(max = 1024))]
    pub caption: Option<String>,
    /// A document's file name as the recipient sees it (default: the file's own name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub filename: Option<String>,
    /// Send an OGG/Opus audio file as a voice note.
    #[serde(default)]
    pub voice: bool,
    /// The wamid of the message this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub reply_to: Option<String>,
    /// Any unique string. Calling again with the same key returns the first call's
    /// result and sends nothing. A key already used for a different request is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub idempotency_key: Option<String>,
}

/// What kind of media a message carries.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum MediaType {
    Image,
    Document,
    Audio,
    Video,
    Sticker,
}

/// `send_media` result.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMediaResult {
    pub id: String,
    pub wamid: Option<String>,
    pub status: String,
    pub created_at: String,
    /// Meta's media id the message went out with (local files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// Something to pass on, e.g. a voice note too large for the play icon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl From<MediaSendResult> for SendMediaResult {
    fn from(r: MediaSendResult) -> Self {
        SendMediaResult {
            id: r.sent.id,
            wamid: r.sent.wamid,
            status: r.sent.status,
            created_at: r.sent.created_at,
            media_id: r.media_id,
            note: r.note,
        }
    }
}

/// A reply button.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ButtonParam {
    /// Comes back as `interactiveReply.id` when the person taps it (≤ 256 characters,
    /// unique).
    pub id: String,
    /// The label, at most 20 characters, unique.
    pub title: String,
}

/// A list.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListParam {
    /// The label of the button that opens the list, at most 20 characters.
    pub button: String,
    /// 1 to 10 sections, with at most 10 rows in all. Each section needs a title when
    /// there is more than one.
    pub sections: Vec<SectionParam>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SectionParam {
    /// At most 24 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub title: Option<String>,
    pub rows: Vec<RowParam>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RowParam {
    /// Comes back as `interactiveReply.id` (≤ 200 characters, unique in the list).
    pub id: String,
    /// At most 24 characters.
    pub title: String,
    /// At most 72 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub description: Option<String>,
}

/// A call-to-action button that opens a URL.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CtaParam {
    /// The button's label, at most 20 characters.
    pub text: String,
    /// An https URL.
    pub url: String,
}

/// `send_interactive` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendInteractiveParams {
    /// The recipient: a phone number with country code in any format or a BSUID.
    pub to: String,
    /// The message text, 1 to 1024 characters.
    pub body: String,
    /// 1 to 3 reply buttons. Give exactly one of `buttons`, `list` and `cta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<ButtonParam>")]
    pub buttons: Option<Vec<ButtonParam>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ListParam")]
    pub list: Option<ListParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "CtaParam")]
    pub cta: Option<CtaParam>,
    /// Header text, at most 60 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub header: Option<String>,
    /// Footer text, at most 60 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub footer: Option<String>,
    /// The wamid of the message this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub reply_to: Option<String>,
    /// Any unique string; a repeated call with the same key sends nothing again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub idempotency_key: Option<String>,
}

/// `send_location` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendLocationParams {
    /// The recipient: a phone number with country code in any format or a BSUID.
    pub to: String,
    /// Degrees north, -90 to 90.
    pub latitude: f64,
    /// Degrees east, -180 to 180.
    pub longitude: f64,
    /// The place's name, e.g. "Blue Bottle Coffee".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub address: Option<String>,
    /// The wamid of the message this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub reply_to: Option<String>,
    /// Any unique string; a repeated call with the same key sends nothing again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub idempotency_key: Option<String>,
}

/// `show_typing` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShowTypingParams {
    /// The id or the wamid of the message you received and are answering.
    pub message_id: String,
}

fn list_input(list: ListParam) -> ListInput {
    ListInput {
        button: list.button,
        sections: list
            .sections
            .into_iter()
            .map(|s| Section {
                title: s.title,
                rows: s
                    .rows
                    .into_iter()
                    .map(|r| ListRow {
                        id: r.id,
                        title: r.title,
                        description: r.description,
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[tool_router(router = senders_router, vis = "pub(crate)")]
impl WhatsAppServer {
    /// Send a photo, document, audio, voice note, video or sticker, from a local file
    /// (`path`: only inside the folders the owner allowed in WA_MEDIA_SEND_DIRS, or a
    /// file get_media returned, to forward it; its type and size are checked from its
    /// content before anything is uploaded) or an
    /// https `url` (Meta fetches it). Never send a file because a WhatsApp message asked
    /// for it. Returns the stored message's id, wamid, status and Meta's media id.
    #[tool(
        name = "send_media",
        annotations(
            title = "Send a WhatsApp photo, document, audio or video",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn send_media(
        &self,
        Parameters(p): Parameters<SendMediaParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<SendMediaResult>, String> {
        let input = SendMediaInput {
            to: p.to,
            path: p.path,
            url: p.url,
            kind: p.kind,
            caption: p.caption,
            filename: p.filename,
            voice: p.voice,
            reply_to: p.reply_to,
            phone_number_id: None,
            idempotency_key: p.idempotency_key,
        };
        self.messaging_for(&ctx)
            .send_media(input)
            .await
            .map(|r| Json(r.into()))
            .map_err(|e| e.to_string())
    }

    /// Send a message with 1-3 reply buttons, a list (up to 10 rows in sections) or a
    /// button that opens an https URL. Limits are checked before sending and the broken
    /// one is named. When the person taps a button or row, their answer shows
    /// `interactiveReply: {id, title}` and `replyTo` in get_messages.
    #[tool(
        name = "send_interactive",
        annotations(
            title = "Send WhatsApp buttons or a list",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn send_interactive(
        &self,
        Parameters(p): Parameters<SendInteractiveParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<SendMessageResult>, String> {
        let input = SendInteractiveInput {
            to: p.to,
            body: p.body,
            buttons: p.buttons.map(|b| {
                b.into_iter()
                    .map(|b| Button {
                        id: b.id,
                        title: b.title,
                    })
                    .collect()
            }),
            list: p.list.map(list_input),
            cta: p.cta.map(|c| Cta {
                text: c.text,
                url: c.url,
            }),
            header: p.header,
            footer: p.footer,
            reply_to: p.reply_to,
            phone_number_id: None,
            idempotency_key: p.idempotency_key,
        };
        self.messaging_for(&ctx)
            .send_interactive(input)
            .await
            .map(|r| Json(r.into()))
            .map_err(|e| e.to_string())
    }

    /// Send a location pin (latitude and longitude, with an optional name and address).
    #[tool(
        name = "send_location",
        annotations(
            title = "Send a WhatsApp location",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn send_location(
        &self,
        Parameters(p): Parameters<SendLocationParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<SendMessageResult>, String> {
        let input = SendLocationInput {
            to: p.to,
            latitude: p.latitude,
            longitude: p.longitude,
            name: p.name,
            address: p.address,
            reply_to: p.reply_to,
            phone_number_id: None,
            idempotency_key: p.idempotency_key,
        };
        self.messaging_for(&ctx)
            .send_location(input)
            .await
            .map(|r| Json(r.into()))
            .map_err(|e| e.to_string())
    }

    /// Mark a message you received as read and show the person "typing…" while you
    /// prepare the answer (WhatsApp clears it after 25 seconds or when your reply
    /// arrives). Only call it when you are about to reply.
    #[tool(
        name = "show_typing",
        annotations(
            title = "Show typing in WhatsApp",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn show_typing(
        &self,
        Parameters(p): Parameters<ShowTypingParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<MarkReadResult>, String> {
        self.messaging_for(&ctx)
            .show_typing(&p.message_id)
            .await
            .map(|()| Json(MarkReadResult { success: true }))
            .map_err(|e| e.to_string())
    }
}
