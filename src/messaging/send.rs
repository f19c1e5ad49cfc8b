//! `send_message`, and the one send path every kind of message shares: check the
//! recipient, record `pending`, call Meta, record how it ended.

use serde_json::json;

use super::{Messaging, MessagingError, blocking, idempotency};
use crate::meta::wire::text_message;
use crate::meta::{MetaError, Recipient, SendText};
use crate::model::ContactSeen;
use crate::model::{MessageRow, SendOutcome};
use crate::phone::{is_bsuid, to_meta_format};
use crate::store::{BeginSend, NewOutbound, outbound};

/// The most characters a WhatsApp text may hold.
pub const MAX_TEXT_CHARS: usize = 4096;

/// A text to send.
#[derive(Debug, Clone, Default)]
pub struct SendMessageInput {
    /// A phone number in any format, or a BSUID.
    pub to: String,
    pub body: String,
    pub phone_number_id: Option<String>,
    /// The wamid of the message this one replies to.
    pub reply_to: Option<String>,
    pub preview_url: bool,
    /// A repeated call with the same key returns the first call's result and sends nothing.
    pub idempotency_key: Option<String>,
}

/// One Cloud API message ready to go: who to, from which number, the type-specific
/// JSON (`{"type": .., "<type>": {..}}`, merged into the envelope by the client), the
/// outbound row that records it, and every field the caller gave (the idempotency
/// fingerprint is taken over them).
pub(super) struct Outgoing {
    pub recipient: Recipient,
    pub phone_number_id: String,
    pub message: serde_json::Value,
    pub row: NewOutbound,
    pub request: serde_json::Value,
    /// A local file to upload first; its media id goes into `message` before it is sent.
    pub upload: Option<super::media_upload::Upload>,
}

/// How a send stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    pub id: String,
    pub wamid: Option<String>,
    pub status: String,
    pub created_at: String,
}

impl From<&MessageRow> for SendResult {
    fn from(row: &MessageRow) -> Self {
        SendResult {
            id: row.id.clone(),
            wamid: row.wamid.clone(),
            status: row.status.clone(),
            created_at: row.created_at.clone(),
        }
    }
}

/// Reads `to` as a BSUID or a phone number in any format.
pub fn parse_recipient(to: &str) -> Result<(Recipient, ContactSeen), MessagingError> {
    let to = to.trim();
    if is_bsuid(to) {
        let seen = ContactSeen {
            user_id: Some(to.to_owned()),
            ..ContactSeen::default()
        };
        return Ok((Recipient::Bsuid(to.to_owned()), seen));
    }
    let phone = to_meta_format(to).map_err(|e| {
        MessagingError::InvalidInput(format!(
            "`to` must be a phone number with country code (e.g. +44 7700 900123) or a BSUID (e.g. US.13491208655302741918): {e}"
        ))
    })?;
    let seen = ContactSeen {
        wa_id: Some(phone.clone()),
        ..ContactSeen::default()
    };
    Ok((Recipient::Phone(phone), seen))
}

impl Messaging {
    /// Sends a text. The outbound row exists (`pending`) before Meta is called, and
    /// ends `sent` with its wamid, `failed` with Meta's code, or `unknown` when the
    /// request went out and no answer came (it is never retried then).
    pub async fn send_message(
        &self,
        input: SendMessageInput,
    ) -> Result<SendResult, MessagingError> {
        let chars = input.body.chars().count();
        if chars == 0 || chars > MAX_TEXT_CHARS {
            return Err(MessagingError::InvalidInput(format!(
                "`body` must be 1 to {MAX_TEXT_CHARS} characters; it has {chars}"
            )));
        }
        let (recipient, seen) = parse_recipient(&input.to)?;
        self.require_token()?;
        let phone_number_id = self.phone_number_id(input.phone_number_id.clone())?;
        let reply_to = input.reply_to.clone().filter(|s| !s.trim().is_empty());
        let request = SendText {
            to: recipient.clone(),
            body: input.body.clone(),
            reply_to: reply_to.clone(),
            preview_url: input.preview_url,
        };
        let row = NewOutbound {
            phone_number_id: phone_number_id.clone(),
            recipient: seen,
            kind: "text".into(),
            body: Some(input.body.clone()),
            context_wamid: reply_to.clone(),
            idempotency_key: input.idempotency_key.clone(),
            fingerprint: None,
            raw: json!({"type": "text", "preview_url": input.preview_url}).to_string(),
            media: None,
        };
        self.send_cloud_message(Outgoing {
            recipient,
            phone_number_id,
            message: text_message(&request),
            row,
            request: json!({
                "body": input.body, "replyTo": reply_to, "previewUrl": input.preview_url,
            }),
            upload: None,
        })
        .await
    }

    /// The one path every send takes (text, template, reaction, media, interactive,
    /// location): the recipient checks (blocked, allowlist), the user's confirmation when
    /// `WA_CONFIRM_SENDS` asks for it, then [`Messaging::record_and_send`]. A refused or
    /// declined recipient gets no row and no request.
    pub(super) async fn send_cloud_message(
        &self,
        out: Outgoing,
    ) -> Result<SendResult, MessagingError> {
        self.check_recipient(&out.recipient).await?;
        self.confirm_send(&out).await?;
        self.record_and_send(out).await
    }

    /// The `pending` row (or the earlier outcome of the same idempotency key and
    /// request), then the upload of a local file if there is one, then Meta, then
    /// [`Messaging::finish`]: a send whose recipient is already cleared.
    pub(super) async fn record_and_send(
        &self,
        out: Outgoing,
    ) -> Result<SendResult, MessagingError> {
        let mut new = out.row;
        new.idempotency_key = new.idempotency_key.filter(|k| !k.is_empty());
        new.fingerprint = Some(idempotency::fingerprint(
            &new.kind,
            &out.phone_number_id,
            &out.request,
        ));
        let client_id = self.caller.client_id().to_owned();
        let row = match self
            .store
            .write(move |ctx| outbound::begin_send_as(ctx, &new, &client_id))
            .await?
        {
            BeginSend::Replay(row) => return idempotency::replay(&row),
            BeginSend::KeyReused(row) => return Err(idempotency::key_reused(&row)),
            BeginSend::InFlight(row) => return self.await_in_flight(row).await,
            BeginSend::New(row) => row,
        };
        let mut message = out.message;
        if let Some(upload) = out.upload {
            match self.upload_for(&row.id, &out.phone_number_id, upload).await {
                Ok(media_id) => super::media_upload::set_media_id(&mut message, &media_id),
                Err(error) => return self.finish(row.id, Err(error)).await,
            }
        }
        let meta = self.meta.clone();
        let (pnid, to) = (out.phone_number_id, out.recipient);
        let result = blocking(move || meta.send_message(&pnid, &to, message)).await;
        self.finish(row.id, result.map(|sent| sent.wamid)).await
    }

    /// Records how a send ended and turns a failure into the caller's error.
    pub(super) async fn finish(
        &self,
        id: String,
        result: Result<String, MetaError>,
    ) -> Result<SendResult, MessagingError> {
        let outcome = match &result {
            Ok(wamid) => SendOutcome::Sent {
                wamid: wamid.clone(),
            },
            Err(e) if e.outcome_unknown() => SendOutcome::Unknown {
                detail: e.to_string(),
            },
            Err(e) => SendOutcome::Failed {
                code: e.code().map(|c| c.to_string()),
                title: e.title(),
            },
        };
        let row_id = id.clone();
        let settled = outcome.clone();
        let row = self
            .store
            .write(move |ctx| outbound::finish_send(ctx, &row_id, &outcome))
            .await?;
        // Counted once the row holds its final status, so the count matches the rows.
        self.meta.metrics().record_send(&settled);
        match result {
            Ok(_) => {
                tracing::info!(id = %row.id, wamid = row.wamid.as_deref().unwrap_or(""), "message_sent");
                Ok(SendResult::from(&row))
            }
            Err(error) => {
                tracing::warn!(id = %row.id, status = %row.status, error = %error, "message_not_sent");
                Err(MessagingError::Meta {
                    error,
                    message_id: Some(id),
                })
            }
        }
    }
}
