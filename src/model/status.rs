//! Message directions and statuses, and the
//! rule that moves a status forward.

use std::fmt;

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// The `messages.status` column. Inbound rows start `received`; outbound rows start
/// `pending` and move forward as Meta reports on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    Received,
    Pending,
    Sent,
    Delivered,
    Read,
    Played,
    Failed,
    Unknown,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Received => "received",
            MessageStatus::Pending => "pending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Played => "played",
            MessageStatus::Failed => "failed",
            MessageStatus::Unknown => "unknown",
        }
    }

    /// Reads a stored status or a status Meta reports (`sent`, `delivered`, `read`,
    /// `played`, `failed`); anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "received" => MessageStatus::Received,
            "pending" => MessageStatus::Pending,
            "sent" => MessageStatus::Sent,
            "delivered" => MessageStatus::Delivered,
            "read" => MessageStatus::Read,
            "played" => MessageStatus::Played,
            "failed" => MessageStatus::Failed,
            "unknown" => MessageStatus::Unknown,
            _ => return None,
        })
    }

    /// Position on the delivery path; statuses only ever move to a higher rank.
    fn rank(self) -> u8 {
        match self {
            MessageStatus::Received | MessageStatus::Pending | MessageStatus::Unknown => 0,
            MessageStatus::Sent => 1,
            MessageStatus::Delivered => 2,
            MessageStatus::Read => 3,
            MessageStatus::Played => 4,
            MessageStatus::Failed => 5,
        }
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status an outbound row takes when Meta reports `incoming`, or `None` to keep
/// `current`. Statuses move only forward (`sent` < `delivered` < `read` < `played`;
/// `delivered` may never come); `failed` is taken unless the message was already
/// read, and nothing moves a row out of `failed`.
pub fn next_status(current: MessageStatus, incoming: MessageStatus) -> Option<MessageStatus> {
    use MessageStatus::*;
    match (current, incoming) {
        (Failed, _) => None,
        (Read | Played, Failed) => None,
        (_, Received | Pending | Unknown) => None,
        (c, i) if i.rank() > c.rank() => Some(i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::MessageStatus::*;
    use super::*;

    fn apply(seq: &[MessageStatus]) -> MessageStatus {
        seq.iter()
            .fold(Pending, |cur, &s| next_status(cur, s).unwrap_or(cur))
    }

    #[test]
    fn statuses_only_move_forward() {
        assert_eq!(apply(&[Delivered, Read, Delivered]), Read);
        assert_eq!(apply(&[Read, Sent]), Read);
        assert_eq!(apply(&[Sent, Read]), Read, "delivered may never arrive");
        assert_eq!(apply(&[Sent, Delivered, Read, Played, Read]), Played);
    }

    #[test]
    fn failed_applies_unless_already_read() {
        assert_eq!(apply(&[Sent, Delivered, Failed]), Failed);
        assert_eq!(apply(&[Sent, Read, Failed]), Read);
        assert_eq!(apply(&[Failed, Delivered, Read]), Failed);
    }

    #[test]
    fn a_late_status_settles_an_unknown_send() {
        assert_eq!(next_status(Unknown, Sent), Some(Sent));
        assert_eq!(next_status(Unknown, Failed), Some(Failed));
    }

    #[test]
    fn status_names_round_trip() {
        for s in [
            Received, Pending, Sent, Delivered, Read, Played, Failed, Unknown,
        ] {
            assert_eq!(MessageStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(MessageStatus::parse("deleted"), None);
    }
}
