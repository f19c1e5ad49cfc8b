//! What a channel session does with each inbound message: push it to the client, take
//! it as the owner's answer to a permission prompt, or keep it out of the session
//! because `WA_CHANNEL_SENDERS` does not let its sender in (it is stored as always).

use super::Messaging;
use super::owner::{ChannelSenders, PermissionAnswer, parse_permission_answer};
use crate::model::InboundArrival;

/// One inbound message, as a channel session sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelEvent {
    /// From an allowed sender: push it.
    Push(InboundArrival),
    /// An owner number's `yes <id>` / `no <id>`: an answer, never pushed as a message
    /// (the session holding that request answers it; every other one ignores it).
    Answer(PermissionAnswer),
    /// From a sender the gate keeps out: not pushed.
    Withheld(InboundArrival),
}

impl Messaging {
    /// Whose messages a channel session pushes.
    pub fn channel_senders(&self) -> &ChannelSenders {
        &self.channel_senders
    }

    /// Sorts `arrival` for a channel session. Only a text from an owner number can be an
    /// answer; the same words from anyone else are an ordinary message.
    pub fn channel_event(&self, arrival: InboundArrival) -> ChannelEvent {
        let identities = || {
            arrival
                .contact
                .as_deref()
                .into_iter()
                .chain(arrival.user_id.as_deref())
        };
        if arrival.message.kind == "text"
            && self.owners.contains_any(identities())
            && let Some(answer) = arrival
                .message
                .body
                .as_deref()
                .and_then(parse_permission_answer)
        {
            return ChannelEvent::Answer(answer);
        }
        if self.channel_senders.allows(identities()) {
            ChannelEvent::Push(arrival)
        } else {
            ChannelEvent::Withheld(arrival)
        }
    }
}
