//! `mark_read` and `show_typing`: tell Meta an inbound message was read (optionally
//! showing the typing indicator), and remember it.

use super::{Messaging, MessagingError, blocking};
use crate::store::conversations;

impl Messaging {
    /// Marks the inbound message with id or wamid `key` as read: Meta is told first
    /// (with the row's own phone number id), then the row becomes `read`. As in
    /// WhatsApp, it means "read up to here": every earlier inbound message of the
    /// contact counts as read too (see `store::conversations::mark_read_up_to`).
    pub async fn mark_read(&self, key: &str) -> Result<(), MessagingError> {
        self.read_receipt(key, false).await
    }

    /// [`Messaging::mark_read`] that also shows the person the typing indicator, which
    /// Meta clears after 25 seconds or when the reply arrives.
    pub async fn show_typing(&self, key: &str) -> Result<(), MessagingError> {
        self.read_receipt(key, true).await
    }

    async fn read_receipt(&self, key: &str, typing: bool) -> Result<(), MessagingError> {
        let row = self.message_named(key, "inbound message ids").await?;
        if row.direction != "inbound" {
            return Err(MessagingError::InvalidInput(format!(
                "message {} is outbound; only messages you received can be marked read{}",
                row.id,
                if typing {
                    " or answered with typing"
                } else {
                    ""
                }
            )));
        }
        let wamid = row.wamid.clone().ok_or_else(|| {
            MessagingError::InvalidInput(format!(
                "message {} has no wamid, so Meta cannot mark it read",
                row.id
            ))
        })?;
        self.require_token()?;
        let phone_number_id = self.phone_number_id(row.phone_number_id.clone())?;
        let meta = self.meta.clone();
        blocking(move || meta.mark_read_with(&phone_number_id, &wamid, typing))
            .await
            .map_err(|error| MessagingError::Meta {
                error,
                message_id: Some(row.id.clone()),
            })?;
        let id = row.id.clone();
        self.store
            .write(move |ctx| conversations::mark_read_up_to(ctx, &id))
            .await?;
        Ok(())
    }
}
