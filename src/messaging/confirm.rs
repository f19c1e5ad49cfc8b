//! `WA_CONFIRM_SENDS`: which sends wait for the user's yes, and the one hook every send
//! passes through to get it. The rule lives here; the asking belongs to whoever made
//! the call (the MCP server asks its client's user, see `mcp::confirm`): it runs the
//! call inside [`with_approver`], and every send the call makes, whichever kind,
//! reaches [`Messaging::confirm_send`] on its way to Meta, after the allowlist and
//! before any row exists. A call made outside an approver (the owner's own shell
//! command) asks nobody.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::send::Outgoing;
use super::{Messaging, MessagingError};
use crate::config::ConfirmSends;
use crate::meta::Recipient;
use crate::store::owner::{idempotency_key_used, recipient_standing};

/// The most characters of the message a question shows.
const PREVIEW_CHARS: usize = 600;

/// What a send would do, as the user is asked about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendPreview {
    /// The recipient as Meta gets it: phone number digits or a BSUID.
    pub to: String,
    /// The recipient's profile name as WhatsApp gave it (chosen by them: untrusted).
    pub profile_name: Option<String>,
    /// Whether they never wrote to this number.
    pub stranger: bool,
    /// The message type: `text`, `template`, `reaction`, `image`...
    pub kind: String,
    /// What would be sent, cut to a few hundred characters.
    pub content: String,
}

/// The user's answer to "send this?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    Approved,
    Declined,
    Cancelled,
    /// This client cannot ask its user.
    Unavailable,
    /// The question went out with the call's answer; the yes can only come with the
    /// call made again (the multi round-trip form). Nothing is sent now.
    Pending,
}

/// Whoever can ask the user about a send.
pub trait SendApprover: Send + Sync {
    /// Asks about `preview` and returns the answer.
    fn approve<'a>(
        &'a self,
        preview: &'a SendPreview,
    ) -> Pin<Box<dyn Future<Output = Approval> + Send + 'a>>;
}

tokio::task_local! {
    static APPROVER: Arc<dyn SendApprover>;
}

/// Runs `work` with `approver` answering for every send it makes.
pub async fn with_approver<F: Future>(approver: Arc<dyn SendApprover>, work: F) -> F::Output {
    APPROVER.scope(approver, work).await
}

/// Why nothing was sent, when the user said no.
fn declined(preview: &SendPreview, how: &str) -> MessagingError {
    MessagingError::Declined(format!(
        "not sent to {}: the owner {how} the confirmation (WA_CONFIRM_SENDS). Nothing was \
         stored or sent. Do not try again unless the owner asks you to.",
        preview.to
    ))
}

impl Messaging {
    /// The hook every send passes: when the rule asks for it and the call can ask its
    /// user, waits for the yes. A refusal is an error and nothing is stored or sent.
    /// A send whose idempotency key already names a message asks nothing (it sends
    /// nothing new either).
    pub(super) async fn confirm_send(&self, out: &Outgoing) -> Result<(), MessagingError> {
        let Ok(approver) = APPROVER.try_with(Arc::clone) else {
            return Ok(());
        };
        let Some(preview) = self.needs_confirmation(out).await? else {
            return Ok(());
        };
        match approver.approve(&preview).await {
            Approval::Approved => {
                tracing::info!(kind = %preview.kind, "send_confirmed_by_owner");
                Ok(())
            }
            Approval::Declined => Err(declined(&preview, "declined")),
            Approval::Cancelled => Err(declined(&preview, "cancelled")),
            Approval::Pending => Err(MessagingError::ConfirmationPending),
            Approval::Unavailable if self.confirm == ConfirmSends::Always => {
                Err(MessagingError::Declined(format!(
                    "not sent to {}: WA_CONFIRM_SENDS=always asks the owner to confirm every \
                     send, and this client cannot ask its user (it did not declare \
                     elicitation). Nothing was stored or sent. Use a client that can ask, or \
                     the owner can change WA_CONFIRM_SENDS.",
                    preview.to
                )))
            }
            Approval::Unavailable => Ok(()),
        }
    }

    /// What to ask about `out`, or `None` when the rule lets it go unasked.
    async fn needs_confirmation(
        &self,
        out: &Outgoing,
    ) -> Result<Option<SendPreview>, MessagingError> {
        if self.confirm == ConfirmSends::Never {
            return Ok(None);
        }
        let to = match &out.recipient {
            Recipient::Phone(digits) => digits.clone(),
            Recipient::Bsuid(id) => id.clone(),
        };
        let (lookup, key) = (to.clone(), out.row.idempotency_key.clone());
        let (standing, replay) = self
            .store
            .read(move |c| {
                let replay = match &key {
                    Some(k) => idempotency_key_used(c, k)?,
                    None => false,
                };
                Ok((recipient_standing(c, &lookup)?, replay))
            })
            .await?;
        let stranger = standing
            .as_ref()
            .is_none_or(|s| s.last_inbound_at.is_none());
        if replay || (self.confirm == ConfirmSends::Strangers && !stranger) {
            return Ok(None);
        }
        Ok(Some(SendPreview {
            to,
            profile_name: standing.and_then(|s| s.profile_name),
            stranger,
            kind: out.row.kind.clone(),
            content: preview_content(out),
        }))
    }
}

/// The message as the question shows it: its text (or caption, emoji...), else its type.
fn preview_content(out: &Outgoing) -> String {
    let text = out
        .row
        .body
        .as_deref()
        .filter(|b| !b.trim().is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("(a {} message)", out.row.kind));
    let mut shown: String = text.chars().take(PREVIEW_CHARS).collect();
    if text.chars().count() > PREVIEW_CHARS {
        shown.push('…');
    }
    shown
}
