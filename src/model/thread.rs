//! Conversations as wholes: a contact with its latest activity, and where an inbound
//! message joined the log.

use super::{MessageRow, PageCursor};

/// A contact and when its conversation last moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactSummary {
    /// The thread key: phone number, or the BSUID of a user known only by one.
    pub wa_id: String,
    /// The BSUID, when known.
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub profile_name: Option<String>,
    /// `created_at` of the newest message either way; `None` if there is none.
    pub last_activity_at: Option<String>,
}

/// An inbound message's position, whose conversation it joined, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundArrival {
    pub cursor: PageCursor,
    /// The thread key (`contacts.wa_id`), when the message names a sender.
    pub contact: Option<String>,
    /// The sender's BSUID, when known.
    pub user_id: Option<String>,
    /// The sender's profile name as WhatsApp gave it (chosen by the sender: untrusted).
    pub profile_name: Option<String>,
    /// The stored message itself.
    pub message: MessageRow,
}
