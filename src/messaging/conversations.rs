//! `list_conversations`: one entry per contact, newest activity first, with the unread
//! count and whether the 24-hour customer-service window is open now (by the
//! [`super::Clock`], so tests can stand on either side of the boundary).

use super::query::{DEFAULT_LIMIT, MAX_LIMIT};
use super::{Messaging, MessagingError};
use crate::store::conversations::{LastMessage, page_conversations};
use crate::timefmt::{format_micros, parse_rfc3339};

/// How long after a contact's last message free-form messages may be sent to them.
pub const WINDOW_MICROS: i64 = 24 * 60 * 60 * 1_000_000;

/// A conversations request.
#[derive(Debug, Clone, Default)]
pub struct ConversationQuery {
    /// 1..=100, default 20.
    pub limit: Option<u32>,
    /// Only conversations with unread inbound messages.
    pub unread_only: bool,
}

/// Whether free-form messages reach the contact now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationWindow {
    /// True until 24 hours after their last inbound message.
    pub open: bool,
    /// When it closes (or closed); `None` if they never wrote.
    pub expires_at: Option<String>,
}

/// One conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// Phone number, or BSUID for users known only by one.
    pub contact: String,
    pub profile_name: Option<String>,
    pub last_message: LastMessage,
    /// Inbound messages after the newest one marked read.
    pub unread: i64,
    pub window: ConversationWindow,
    /// Whether the owner blocked this contact (every send to them is refused).
    pub blocked: bool,
}

/// The window of a contact whose last inbound message was at `last_inbound_at`, seen at
/// `now` (microseconds): open while `now` is before the expiry.
pub fn window_at(last_inbound_at: Option<&str>, now: i64) -> ConversationWindow {
    let expires = last_inbound_at
        .and_then(|t| parse_rfc3339(t).ok())
        .map(|t| t.saturating_add(WINDOW_MICROS));
    ConversationWindow {
        open: expires.is_some_and(|e| now < e),
        expires_at: expires.map(format_micros),
    }
}

impl Messaging {
    /// Up to `limit` conversations, newest activity first.
    pub async fn list_conversations(
        &self,
        q: ConversationQuery,
    ) -> Result<Vec<Conversation>, MessagingError> {
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(MessagingError::InvalidInput(format!(
                "`limit` must be 1 to {MAX_LIMIT}; got {limit}"
            )));
        }
        let unread_only = q.unread_only;
        let rows = self
            .store
            .read(move |c| page_conversations(c, unread_only, limit as usize))
            .await?;
        let now = self.clock.now_micros();
        Ok(rows
            .into_iter()
            .map(|r| Conversation {
                window: window_at(r.last_inbound_at.as_deref(), now),
                contact: r.contact,
                profile_name: r.profile_name,
                last_message: r.last,
                unread: r.unread,
                blocked: r.blocked,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_open_until_exactly_24_hours_after_the_last_inbound_message() {
        let last = "2026-11-23T10:00:00.000000Z";
        let expiry = parse_rfc3339("2026-11-24T10:00:00.000000Z").expect("timestamp");
        let before = window_at(Some(last), expiry - 1);
        assert!(before.open);
        assert_eq!(
            before.expires_at.as_deref(),
            Some("2026-11-24T10:00:00.000000Z")
        );
        assert!(!window_at(Some(last), expiry).open);
        assert_eq!(
            window_at(None, expiry),
            ConversationWindow {
                open: false,
                expires_at: None
            }
        );
    }
}
