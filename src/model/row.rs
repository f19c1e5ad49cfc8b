//! A message as the read tools present it, and the keyset position pages move by.

/// A keyset position: rows strictly after `(created_at, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    pub created_at: String,
    pub id: String,
}

/// A `messages` row as the tools present it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    pub id: String,
    pub direction: String,
    pub contact: Option<String>,
    pub phone_number_id: Option<String>,
    pub kind: String,
    pub body: Option<String>,
    pub status: String,
    pub wamid: Option<String>,
    pub ts: Option<String>,
    pub created_at: String,
    pub error_code: Option<String>,
    pub error_title: Option<String>,
    pub context_wamid: Option<String>,
    pub media: Option<MediaRef>,
    /// The contact's name as WhatsApp gave it, when known.
    pub profile_name: Option<String>,
}

/// Media an inbound message carries, as Meta described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRef {
    pub id: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub filename: Option<String>,
}
