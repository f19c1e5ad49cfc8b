//! The Cloud API's JSON, both ways: the request bodies we send (the message envelope,
//! text messages, read receipts) and the answers we read (a sent message, a phone number).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::phone::{PhoneError, is_bsuid, to_meta_format};

/// Who a message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A phone number, already normalised to E.164 digits without `+`
    /// ([`to_meta_format`]); sent as `"to"`.
    Phone(String),
    /// A business-scoped user id such as `US.13491208655302741918`; sent as `"recipient"`.
    Bsuid(String),
}

impl Recipient {
    /// Reads what a person or a model wrote: a BSUID is kept as is, anything else must be
    /// a phone number and is normalised.
    pub fn parse(input: &str) -> Result<Recipient, PhoneError> {
        let input = input.trim();
        if is_bsuid(input) {
            return Ok(Recipient::Bsuid(input.to_owned()));
        }
        to_meta_format(input).map(Recipient::Phone)
    }

    /// The envelope every send starts from: product, recipient type and the recipient.
    fn envelope(&self) -> Map<String, Value> {
        let mut envelope = Map::new();
        envelope.insert("messaging_product".into(), "whatsapp".into());
        envelope.insert("recipient_type".into(), "individual".into());
        match self {
            Recipient::Phone(digits) => envelope.insert("to".into(), digits.as_str().into()),
            Recipient::Bsuid(id) => envelope.insert("recipient".into(), id.as_str().into()),
        };
        envelope
    }
}

/// A text message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendText {
    /// Who gets it.
    pub to: Recipient,
    /// The text, 1..=4096 characters (the caller validates).
    pub body: String,
    /// The wamid of the message this one replies to; sent as `context.message_id`.
    pub reply_to: Option<String>,
    /// Whether WhatsApp should render a preview of the first link in `body`.
    pub preview_url: bool,
}

/// What Meta answered to a send it accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentMessage {
    /// The WhatsApp message id (`wamid.…`) that later status webhooks refer to.
    pub wamid: String,
    /// `messages[0].message_status` (e.g. `accepted`, `held_for_quality_assessment`).
    pub message_status: Option<String>,
    /// `contacts[0].wa_id`: the recipient's WhatsApp id, when Meta gives one.
    pub contact_wa_id: Option<String>,
}

/// A business phone number as the Graph API describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumberInfo {
    /// The phone number id.
    pub id: String,
    /// The number as people see it, e.g. `+1 555-010-0000`.
    #[serde(default)]
    pub display_phone_number: Option<String>,
    /// The business name shown to recipients, once Meta approved it.
    #[serde(default)]
    pub verified_name: Option<String>,
    /// `GREEN`, `YELLOW`, `RED` or `UNKNOWN`.
    #[serde(default)]
    pub quality_rating: Option<String>,
}

/// The type-specific part of a text message: `type`, `text` and, for a reply, `context`.
pub(crate) fn text_message(req: &SendText) -> Value {
    let mut message = json!({
        "type": "text",
        "text": {"body": req.body, "preview_url": req.preview_url},
    });
    if let Some(wamid) = &req.reply_to {
        message["context"] = json!({ "message_id": wamid });
    }
    message
}

/// The full send body: `message` (which must be a JSON object) merged into the envelope.
/// The envelope's keys win, so `message` cannot redirect the send to someone else.
pub(crate) fn send_body(to: &Recipient, message: Value) -> Result<Value, String> {
    let Value::Object(message) = message else {
        return Err("the message must be a JSON object".to_owned());
    };
    let mut body = message;
    body.extend(to.envelope());
    Ok(Value::Object(body))
}

/// The body that marks an inbound message read.
pub(crate) fn read_receipt(wamid: &str) -> Value {
    json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid})
}

#[derive(Deserialize)]
struct SendAnswer {
    #[serde(default)]
    contacts: Vec<ContactAnswer>,
    #[serde(default)]
    messages: Vec<MessageAnswer>,
}

#[derive(Deserialize)]
struct ContactAnswer {
    #[serde(default)]
    wa_id: Option<String>,
}

#[derive(Deserialize)]
struct MessageAnswer {
    id: String,
    #[serde(default)]
    message_status: Option<String>,
}

/// Reads `{"messaging_product","contacts":[{"input","wa_id"}],"messages":[{"id",...}]}`.
pub(crate) fn parse_sent(body: &str) -> Result<SentMessage, String> {
    let answer: SendAnswer = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let message = answer
        .messages
        .into_iter()
        .next()
        .ok_or_else(|| "no messages[0].id in the answer".to_owned())?;
    Ok(SentMessage {
        wamid: message.id,
        message_status: message.message_status,
        contact_wa_id: answer.contacts.into_iter().next().and_then(|c| c.wa_id),
    })
}

/// Reads the phone number fields.
pub(crate) fn parse_phone_number(body: &str) -> Result<PhoneNumberInfo, String> {
    serde_json::from_str(body).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_parse_bsuids_and_phones() {
        assert_eq!(
            Recipient::parse("US.13491208655302741918"),
            Ok(Recipient::Bsuid("US.13491208655302741918".into()))
        );
        assert_eq!(
            Recipient::parse("+44 7700 900123"),
            Ok(Recipient::Phone("447700900123".into()))
        );
        assert!(Recipient::parse("hello").is_err());
    }

    #[test]
    fn the_envelope_wins_over_the_message() {
        let to = Recipient::Phone("447700900123".into());
        let body = send_body(&to, json!({"type": "reaction", "to": "999"})).expect("an object");
        assert_eq!(body["to"], "447700900123");
        assert_eq!(body["type"], "reaction");
        assert!(send_body(&to, json!("text")).is_err());
    }

    #[test]
    fn sent_message_reads_id_status_and_contact() {
        let body = r#"{"messaging_product":"whatsapp","contacts":[{"input":"+44 7700","wa_id":"447700900123"}],
            "messages":[{"id":"wamid.X","message_status":"accepted"}]}"#;
        let sent = parse_sent(body).expect("a send answer");
        assert_eq!(sent.wamid, "wamid.X");
        assert_eq!(sent.message_status.as_deref(), Some("accepted"));
        assert_eq!(sent.contact_wa_id.as_deref(), Some("447700900123"));
        assert!(parse_sent(r#"{"messages":[]}"#).is_err());
        assert!(parse_sent("<html>").is_err());
    }
}
