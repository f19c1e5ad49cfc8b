//! What a write did: a delivery's verdict in the log and how a send ended. The store
//! reports them; metrics, transports and tools read them.

/// The delivery log's verdict on one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// At least one new message or status was stored.
    Processed,
    /// Everything in it had been stored before (a replay).
    Duplicate,
    /// Nothing in it asks for rows (template updates, account updates, errors only...).
    Ignored,
    /// It could not be read, or part of it could not; kept for reprocessing.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Processed => "processed",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::Failed => "failed",
        }
    }
}

/// What storing one delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The `webhook_events` row.
    pub event_id: i64,
    pub outcome: Outcome,
    pub new_messages: usize,
    pub new_statuses: usize,
    /// Messages and statuses already stored by an earlier delivery.
    pub duplicates: usize,
    pub error: Option<String>,
}

/// How a send ended.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    Sent {
        wamid: String,
    },
    Failed {
        code: Option<String>,
        title: String,
    },
    /// The request went out and no answer came: it may or may not have been delivered.
    Unknown {
        detail: String,
    },
}
