//! Reactions both ways: `send_reaction` puts (or, with an empty emoji, removes) our
//! reaction on a message of a conversation, and [`Messaging::reactions_on`] folds the
//! reaction rows of a page onto the messages they react to.
//!
//! The reaction rows stay in `get_messages` pages as rows of type `reaction` (the log
//! is complete and cursors never skip a row); the fold only adds, to each reacted-to
//! message, who reacts with what now: the latest reaction per reactor wins, and an
//! empty emoji takes that reactor's reaction away.

use std::collections::HashMap;

use serde_json::json;

use super::send::{Outgoing, parse_recipient};
use super::{Messaging, MessagingError};
use crate::model::MessageRow;
use crate::store::NewOutbound;
use crate::store::reactions::{ReactionRow, reactions_to};

/// The most characters one reaction may hold: the longest emoji sequences (families,
/// flags of subdivisions, skin tones joined by ZWJ) stay well below it.
const MAX_EMOJI_CHARS: usize = 16;

/// A reaction to send.
#[derive(Debug, Clone, Default)]
pub struct SendReactionInput {
    /// Our id or the wamid of the message to react to.
    pub message_id: String,
    /// The emoji; empty removes our reaction.
    pub emoji: String,
}

/// How a sent reaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionResult {
    pub id: String,
    pub wamid: Option<String>,
    pub status: String,
}

/// One reactor's current reaction to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub emoji: String,
    /// The contact who reacted (inbound), or the business phone number id (outbound).
    pub from: Option<String>,
    /// `inbound` (they reacted) or `outbound` (we did).
    pub direction: String,
    pub created_at: String,
}

fn validate_emoji(emoji: &str) -> Result<(), MessagingError> {
    let chars = emoji.chars().count();
    if chars > MAX_EMOJI_CHARS || is_wordy(emoji) {
        return Err(MessagingError::InvalidInput(format!(
            "`emoji` must be one emoji such as \"👍\" or \"❤️\" (or \"\" to remove your \
             reaction); got {emoji:?}"
        )));
    }
    Ok(())
}

/// True when `emoji` holds a letter, a digit or a space, other than the digit of a
/// keycap emoji ("1️⃣" is `1`, an optional U+FE0F, then U+20E3).
fn is_wordy(emoji: &str) -> bool {
    let chars: Vec<char> = emoji.chars().collect();
    chars.iter().enumerate().any(|(i, c)| {
        if c.is_whitespace() || c.is_ascii_alphabetic() {
            return true;
        }
        if !c.is_ascii_digit() {
            return false;
        }
        let keycap = match chars.get(i + 1) {
            Some('\u{FE0F}') => chars.get(i + 2) == Some(&'\u{20E3}'),
            Some('\u{20E3}') => true,
            _ => false,
        };
        !keycap
    })
}

/// The current reactions per target wamid from reaction rows in `created_at` order.
pub(super) fn fold_reactions(rows: Vec<ReactionRow>) -> HashMap<String, Vec<Reaction>> {
    let mut latest: HashMap<(String, String, Option<String>), ReactionRow> = HashMap::new();
    for row in rows {
        let reactor = match row.direction.as_str() {
            "inbound" => row.contact.clone(),
            _ => row.phone_number_id.clone(),
        };
        latest.insert(
            (row.target_wamid.clone(), row.direction.clone(), reactor),
            row,
        );
    }
    let mut by_target: HashMap<String, Vec<Reaction>> = HashMap::new();
    for ((target, direction, from), row) in latest {
        if row.emoji.is_empty() {
            continue;
        }
        by_target.entry(target).or_default().push(Reaction {
            emoji: row.emoji,
            from,
            direction,
            created_at: row.created_at,
        });
    }
    for reactions in by_target.values_mut() {
        reactions.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    }
    by_target
}

impl Messaging {
    /// Reacts to the message with id or wamid `message_id` in its conversation, through
    /// the shared send path. The outbound row has type `reaction`, the emoji as body and
    /// the target's wamid as context.
    pub async fn send_reaction(
        &self,
        input: SendReactionInput,
    ) -> Result<ReactionResult, MessagingError> {
        validate_emoji(&input.emoji)?;
        let target = self
            .message_named(&input.message_id, "the message to react to")
            .await?;
        let (wamid, contact) = reaction_target(&target)?;
        let (recipient, seen) = parse_recipient(&contact)?;
        self.require_token()?;
        let phone_number_id = self.phone_number_id(target.phone_number_id.clone())?;
        let message = json!({
            "type": "reaction",
            "reaction": {"message_id": wamid, "emoji": input.emoji},
        });
        let row = NewOutbound {
            phone_number_id: phone_number_id.clone(),
            recipient: seen,
            kind: "reaction".into(),
            body: Some(input.emoji.clone()),
            context_wamid: Some(wamid),
            idempotency_key: None,
            fingerprint: None,
            raw: message.to_string(),
            media: None,
        };
        let sent = self
            .send_cloud_message(Outgoing {
                recipient,
                phone_number_id,
                request: message.clone(),
                message,
                row,
                upload: None,
            })
            .await?;
        Ok(ReactionResult {
            id: sent.id,
            wamid: sent.wamid,
            status: sent.status,
        })
    }

    /// The current reactions to the messages of `page`, by the wamid they react to:
    /// one query for the whole page.
    pub async fn reactions_on(
        &self,
        page: &[MessageRow],
    ) -> Result<HashMap<String, Vec<Reaction>>, MessagingError> {
        let wamids: Vec<String> = page
            .iter()
            .filter(|m| m.kind != "reaction")
            .filter_map(|m| m.wamid.clone())
            .collect();
        if wamids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self.store.read(move |c| reactions_to(c, &wamids)).await?;
        Ok(fold_reactions(rows))
    }
}

/// The wamid to react to and the contact to send the reaction to.
fn reaction_target(target: &MessageRow) -> Result<(String, String), MessagingError> {
    if target.kind == "reaction" {
        return Err(MessagingError::InvalidInput(format!(
            "message {} is itself a reaction; react to the message it reacts to ({})",
            target.id,
            target.context_wamid.as_deref().unwrap_or("unknown")
        )));
    }
    let wamid = target.wamid.clone().ok_or_else(|| {
        MessagingError::InvalidInput(format!(
            "message {} has no wamid (it was never accepted by Meta), so it cannot be reacted to",
            target.id
        ))
    })?;
    let contact = target.contact.clone().ok_or_else(|| {
        MessagingError::InvalidInput(format!(
            "message {} belongs to no conversation, so there is no one to send a reaction to",
            target.id
        ))
    })?;
    Ok((wamid, contact))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(target: &str, emoji: &str, direction: &str, who: &str, at: &str) -> ReactionRow {
        ReactionRow {
            target_wamid: target.into(),
            emoji: emoji.into(),
            direction: direction.into(),
            contact: (direction == "inbound").then(|| who.to_owned()),
            phone_number_id: (direction == "outbound").then(|| who.to_owned()),
            created_at: at.into(),
        }
    }

    #[test]
    fn the_latest_reaction_per_reactor_wins_and_an_empty_one_removes_it() {
        let folded = fold_reactions(vec![
            row("w1", "👍", "inbound", "447700900123", "1"),
            row("w1", "❤️", "outbound", "106540352242922", "2"),
            row("w1", "😂", "inbound", "447700900123", "3"),
            row("w2", "🙏", "inbound", "447700900123", "4"),
            row("w2", "", "inbound", "447700900123", "5"),
        ]);
        let w1 = &folded["w1"];
        assert_eq!(w1.len(), 2);
        assert_eq!(
            (w1[0].emoji.as_str(), w1[0].direction.as_str()),
            ("❤️", "outbound")
        );
        assert_eq!(
            (w1[1].emoji.as_str(), w1[1].from.as_deref()),
            ("😂", Some("447700900123"))
        );
        assert!(
            !folded.contains_key("w2"),
            "a removed reaction leaves nothing"
        );
    }

    #[test]
    fn emoji_must_look_like_one() {
        assert!(validate_emoji("👍").is_ok());
        assert!(validate_emoji("👨‍👩‍👧‍👦").is_ok());
        assert!(validate_emoji("").is_ok());
        assert!(validate_emoji("thumbs up").is_err());
        assert!(validate_emoji(":+1:").is_err());
        assert!(validate_emoji("1\u{FE0F}\u{20E3}").is_ok(), "keycap one");
        assert!(validate_emoji("7\u{20E3}").is_ok(), "keycap seven");
        assert!(
            validate_emoji("#\u{FE0F}\u{20E3}").is_ok(),
            "keycap number sign"
        );
        assert!(validate_emoji("10").is_err());
        assert!(validate_emoji("1\u{FE0F}").is_err());
    }
}
