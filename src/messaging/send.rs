//! `send_message`, and the one send path every kind of message shares: check the
//! recipient, record `pending`, call Meta, record how it ended.

use serde_json::json;

use super::{Messaging, MessagingError, blocking};
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
/// JSON (`{"type": .., "<type>": {..}}`, merged into the envelope by the client) and
/// the outbound row that records it.
pub(super) struct Outgoing {
    pub recipient: Recipient,
    pub phone_number_id: String,
    pub message: serde_json::Value,
    pub row: NewOutbound,
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
            context_wamid: reply_to,
            idempotency_key: input.idempotency_key.clone().filter(|k| !k.is_empty()),
            raw: json!({"type": "text", "preview_url": input.preview_url}).to_string(),
        };
        self.send_cloud_message(Outgoing {
            recipient,
            phone_number_id,
            message: text_message(&request),
            row,
        })
        .await
    }

    /// The one path every send takes (text, template, reaction): the allowlist check,
    /// then the `pending` row (or the earlier result of the same idempotency key), then
    /// Meta, then [`Messaging::finish`]. A refused recipient gets no row and no request.
    pub(super) async fn send_cloud_message(
        &self,
        out: Outgoing,
    ) -> Result<SendResult, MessagingError> {
        self.check_recipient(&out.recipient).await?;
        let new = out.row;
        let client_id = self.caller.client_id().to_owned();
        let row = match self
            .store
            .write(move |ctx| outbound::begin_send_as(ctx, &new, &client_id))
            .await?
        {
            BeginSend::Replay(row) => return replay(&row),
            BeginSend::KeyReused(row) => return Err(key_reused(&row)),
            BeginSend::New(row) => row,
        };
        let meta = self.meta.clone();
        let (pnid, to, message) = (out.phone_number_id, out.recipient, out.message);
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

/// The first call's result for a repeated idempotency key.
fn replay(row: &MessageRow) -> Result<SendResult, MessagingError> {
    tracing::info!(id = %row.id, status = %row.status, "send_replayed_by_idempotency_key");
    if row.status == "failed" {
        return Err(MessagingError::InvalidInput(format!(
            "this idempotencyKey was used before (message id {}) and that send failed: {} {}; \
             nothing was sent again. Use a new key to try again.",
            row.id,
            row.error_code.as_deref().unwrap_or(""),
            row.error_title.as_deref().unwrap_or("")
        )));
    }
    Ok(SendResult::from(row))
}

/// The error for an idempotency key passed again with a different message.
fn key_reused(row: &MessageRow) -> MessagingError {
    tracing::warn!(id = %row.id, "idempotency_key_reused_for_another_message");
    MessagingError::InvalidInput(format!(
        "this idempotencyKey was already used for a different message (message id {}, a {} \
         to {}, status {}); nothing was sent. A key names one message: to send this one, \
         use a new key.",
        row.id,
        row.kind,
        row.contact.as_deref().unwrap_or("unknown"),
        row.status
    ))
}
