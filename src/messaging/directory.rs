//! `find_contacts` and `get_message_context`: who the owner talks to, and the
//! conversation around a message (a search hit, say).

use super::conversations::{ConversationWindow, window_at};
use super::query::MAX_LIMIT;
use super::{Messaging, MessagingError};
use crate::store::context::{MessageContext, message_context};
use crate::store::directory::{ContactMatch, DirectoryEntry, find_contacts};

/// The most rows `get_message_context` gives on either side.
pub const MAX_CONTEXT: u32 = 50;
/// Rows on either side when not asked.
pub const DEFAULT_CONTEXT: u32 = 5;

/// One contact with their 24-hour window as of now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactCard {
    pub entry: DirectoryEntry,
    pub window: ConversationWindow,
}

impl Messaging {
    /// Contacts matched on name, number (any format) or BSUID; without a query, the most
    /// recently active first.
    pub async fn find_contacts(
        &self,
        query: Option<String>,
        limit: Option<u32>,
    ) -> Result<Vec<ContactCard>, MessagingError> {
        let limit = limit.unwrap_or(super::query::DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(MessagingError::InvalidInput(format!(
                "`limit` must be 1 to {MAX_LIMIT}; got {limit}"
            )));
        }
        let query = query.unwrap_or_default();
        if query.chars().count() > 200 {
            return Err(MessagingError::InvalidInput(
                "`query` is too long: at most 200 characters".into(),
            ));
        }
        let matching = ContactMatch::from_query(&query);
        let entries = self
            .store
            .read(move |c| find_contacts(c, &matching, limit as usize))
            .await?;
        let now = self.clock.now_micros();
        Ok(entries
            .into_iter()
            .map(|entry| ContactCard {
                window: window_at(entry.last_inbound_at.as_deref(), now),
                entry,
            })
            .collect())
    }

    /// The message whose id or wamid is `message_id`, with up to `before` earlier and
    /// `after` later messages of the same conversation, oldest first.
    pub async fn get_message_context(
        &self,
        message_id: &str,
        before: Option<u32>,
        after: Option<u32>,
    ) -> Result<MessageContext, MessagingError> {
        let count = |name: &str, n: Option<u32>| match n.unwrap_or(DEFAULT_CONTEXT) {
            n if n <= MAX_CONTEXT => Ok(n as usize),
            n => Err(MessagingError::InvalidInput(format!(
                "`{name}` must be 0 to {MAX_CONTEXT}; got {n}"
            ))),
        };
        let (before, after) = (count("before", before)?, count("after", after)?);
        let key = message_id.trim().to_owned();
        if key.is_empty() {
            return Err(MessagingError::InvalidInput(
                "`messageId` must be a message id or wamid from get_messages or search_messages"
                    .into(),
            ));
        }
        let lookup = key.clone();
        self.store
            .read(move |c| message_context(c, &lookup, before, after))
            .await?
            .ok_or_else(|| {
                MessagingError::NotFound(format!(
                    "no message has id or wamid {key}; use search_messages or get_messages to \
                     find one"
                ))
            })
    }
}
