//! `block_contact` / `unblock_contact`: Meta's block users API, and the local flag that
//! makes every sender refuse a blocked contact without asking Meta.

use super::send::parse_recipient;
use super::{Messaging, MessagingError, blocking};
use crate::meta::{MetaError, Recipient};
use crate::store::recipients::set_blocked;

/// What block or unblock did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockResult {
    /// The contact's key (phone number, or BSUID when no phone is known).
    pub contact: String,
}

impl Messaging {
    /// Blocks `contact` at Meta for the default business number, then marks it blocked
    /// here. Meta blocks only someone who wrote in the last 24 hours.
    pub async fn block_contact(&self, contact: &str) -> Result<BlockResult, MessagingError> {
        self.set_block(contact, true).await
    }

    /// Unblocks `contact` at Meta, then clears the local flag.
    pub async fn unblock_contact(&self, contact: &str) -> Result<BlockResult, MessagingError> {
        self.set_block(contact, false).await
    }

    async fn set_block(&self, contact: &str, block: bool) -> Result<BlockResult, MessagingError> {
        let (recipient, seen) = parse_recipient(contact)?;
        self.require_token()?;
        let phone_number_id = self.phone_number_id(None)?;
        let user = match &recipient {
            Recipient::Phone(p) => p.clone(),
            Recipient::Bsuid(b) => b.clone(),
        };
        let meta = self.meta.clone();
        let who = user.clone();
        let answer = blocking(move || meta.block_user(&phone_number_id, &who, block)).await;
        let verb = if block { "block" } else { "unblock" };
        match answer {
            Ok(None) => {}
            Ok(Some(refusal)) => {
                return Err(refused(verb, &user, block, &refusal.message, refusal.code));
            }
            Err(MetaError::Api(api)) if api.http_status < 500 && api.code != 190 => {
                return Err(refused(
                    verb,
                    &user,
                    block,
                    &api.to_string(),
                    Some(api.code),
                ));
            }
            Err(error) => {
                return Err(MessagingError::Meta {
                    error,
                    message_id: None,
                });
            }
        }
        let key = self
            .store
            .write(move |ctx| set_blocked(ctx, &seen, block))
            .await?
            .unwrap_or(user);
        tracing::info!(blocked = block, "contact_block_changed");
        Ok(BlockResult { contact: key })
    }
}

/// Meta's refusal, explained: blocking works only for someone who wrote in the last
/// 24 hours.
fn refused(verb: &str, user: &str, block: bool, why: &str, code: Option<i64>) -> MessagingError {
    let code = code.map(|c| format!(" (code {c})")).unwrap_or_default();
    let rule = if block {
        " Meta only blocks a person who wrote to this business number in the last 24 hours \
         (and never another business): if they have not, they cannot be blocked now. They \
         can still be ignored; wa-mcp keeps storing what they send."
    } else {
        " Check that the number is the one that was blocked."
    };
    MessagingError::InvalidInput(format!(
        "Meta refused to {verb} {user}{code}: {why}.{rule} Nothing changed here."
    ))
}
