//! What one webhook delivery means once read: the rows it asks us to write.
//! Plain data, built by the webhook's normaliser and written by the store.

use serde_json::Value;

/// A WhatsApp user as a delivery names them. Any field may be missing: a user who
/// adopted a username may come with a business-scoped user id and no phone number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactSeen {
    /// The phone number Meta gives as `wa_id` / `from` (digits only).
    pub wa_id: Option<String>,
    /// The business-scoped user id (BSUID), e.g. `US.13491208655302741918`.
    pub user_id: Option<String>,
    /// The parent BSUID shared across linked business portfolios.
    pub parent_user_id: Option<String>,
    pub username: Option<String>,
    pub profile_name: Option<String>,
}

impl ContactSeen {
    /// True when the contact can be identified at all.
    pub fn is_identified(&self) -> bool {
        self.wa_id.is_some() || self.user_id.is_some()
    }

    /// Fills what `self` lacks from `other` (the same user seen elsewhere in the delivery).
    pub fn fill_from(&mut self, other: &ContactSeen) {
        fn fill(slot: &mut Option<String>, from: &Option<String>) {
            if slot.is_none() {
                slot.clone_from(from);
            }
        }
        fill(&mut self.wa_id, &other.wa_id);
        fill(&mut self.user_id, &other.user_id);
        fill(&mut self.parent_user_id, &other.parent_user_id);
        fill(&mut self.username, &other.username);
        fill(&mut self.profile_name, &other.profile_name);
    }

    /// True when `other` names the same user by phone or by BSUID.
    pub fn same_user(&self, other: &ContactSeen) -> bool {
        let eq = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        eq(&self.wa_id, &other.wa_id) || eq(&self.user_id, &other.user_id)
    }
}

/// Media attached to an inbound image, audio, video, document or sticker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Media {
    pub id: Option<String>,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub filename: Option<String>,
}

/// An error Meta attached to a message or a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaErrorInfo {
    pub code: String,
    pub title: String,
}

/// One inbound message object: becomes exactly one `messages` row.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// `entry.id:change index:message id`.
    pub event_id: String,
    pub wamid: Option<String>,
    pub phone_number_id: Option<String>,
    pub sender: ContactSeen,
    /// Meta's own type string, as given (`text`, `image`, `reaction`, `edit`, ...).
    pub kind: String,
    /// The text, a caption, or a short rendering of a non-text message.
    pub body: Option<String>,
    pub media: Option<Media>,
    /// The message this one replies to, reacts to, edits or revokes.
    pub context_wamid: Option<String>,
    /// The button or list row chosen, when this answers an interactive message.
    pub interactive_reply: Option<super::row::InteractiveReply>,
    pub error: Option<MetaErrorInfo>,
    /// Meta's event time, Unix seconds.
    pub ts: Option<i64>,
    /// The redacted message object.
    pub raw: Value,
}

/// One status notification about a message we sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    /// `status id:status:timestamp`.
    pub event_id: String,
    pub wamid: String,
    /// Meta's status string as given (`sent`, `delivered`, `read`, `played`, `failed`, ...).
    pub status: String,
    pub ts: Option<i64>,
    pub recipient_id: Option<String>,
    pub recipient_user_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub error: Option<MetaErrorInfo>,
    /// The redacted status object (pricing, conversation and errors included).
    pub raw: Value,
}

/// Everything one delivery holds, in the order Meta sent it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivery {
    /// Every entry of every `contacts` block.
    pub contacts: Vec<ContactSeen>,
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusUpdate>,
    /// `field`s other than `messages`, kept in the delivery log but not turned into rows.
    pub ignored_fields: Vec<String>,
    /// Value-level `errors` Meta reported instead of (or beside) messages.
    pub value_errors: Vec<MetaErrorInfo>,
    /// Parts that could not be read (a status without an id, say); the rest still counts.
    pub problems: Vec<String>,
}

/// Why a signed delivery could not be read at all. The delivery is still answered 200
/// and kept in the log as failed, so it can be reprocessed after a fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormaliseError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is JSON but not an object")]
    NotAnObject,
    #[error("body has no `entry` array")]
    NoEntries,
}

/// One verified delivery, ready to be written in one transaction.
#[derive(Debug, Clone)]
pub struct PreparedDelivery {
    pub request_id: String,
    /// When the request arrived, microseconds since the epoch.
    pub received_at: i64,
    /// The redacted JSON, or, when it is not JSON, the body as (lossy) text with
    /// secret-looking `"key": value` pairs redacted lexically.
    pub payload: String,
    /// SHA-256 of the exact bytes received.
    pub payload_sha256: String,
    /// How many bytes were received (what `payload_sha256` is the hash of).
    pub payload_bytes: usize,
    /// The rows, or why the body could not be read.
    pub parsed: Result<Delivery, NormaliseError>,
}
