//! Permission prompts on the owner's phone: a client's "may I run this tool?" becomes a
//! WhatsApp text to each owner number, through the one send path (a stored outbound
//! row, `pending` before Meta is called), always allowed whatever
//! `WA_ALLOWED_RECIPIENTS` says and never itself waiting for a confirmation. A text
//! can only reach an owner inside their 24-hour window; outside it nothing is sent.

use serde_json::json;

use super::conversations::window_at;
use super::send::Outgoing;
use super::{Identities, Messaging, MessagingError};
use crate::meta::wire::text_message;
use crate::meta::{Recipient, SendText};
use crate::model::ContactSeen;
use crate::store::NewOutbound;
use crate::store::owner::recipient_standing;

/// The most characters of each part of the request the text repeats.
const TOOL_CHARS: usize = 80;
const DESCRIPTION_CHARS: usize = 400;
const INPUT_CHARS: usize = 300;

/// A client's request for permission to run a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionPrompt {
    pub request_id: String,
    pub tool_name: String,
    pub description: String,
    pub input_preview: String,
}

/// What became of the prompt to one owner number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerPromptOutcome {
    /// Sent; `id` is the outbound row.
    Sent { to: String, id: String },
    /// Their 24-hour window is closed (or they never wrote): nothing was sent.
    WindowClosed { to: String },
    /// The send failed; `error` says why (the row, when one was made, records it).
    Failed { to: String, error: String },
}

impl Messaging {
    /// The owner numbers (`WA_OWNER_NUMBERS`), parsed.
    pub fn owners(&self) -> &Identities {
        &self.owners
    }

    /// Texts `prompt` to every owner phone number, one after the other, and says what
    /// became of each. An empty list means no owner number is configured.
    pub async fn prompt_owners(&self, prompt: &PermissionPrompt) -> Vec<OwnerPromptOutcome> {
        let text = prompt_text(prompt);
        let mut outcomes = Vec::new();
        for to in self.owners.phones() {
            let outcome = match self.prompt_owner(&to, &text).await {
                Ok(Some(id)) => OwnerPromptOutcome::Sent { to, id },
                Ok(None) => OwnerPromptOutcome::WindowClosed { to },
                Err(e) => OwnerPromptOutcome::Failed {
                    to,
                    error: e.to_string(),
                },
            };
            outcomes.push(outcome);
        }
        outcomes
    }

    /// Sends `text` to the owner `to` when their window is open: the row's id, or
    /// `None` when it is closed and nothing was sent.
    async fn prompt_owner(&self, to: &str, text: &str) -> Result<Option<String>, MessagingError> {
        self.require_token()?;
        let phone_number_id = self.phone_number_id(None)?;
        let lookup = to.to_owned();
        let standing = self
            .store
            .read(move |c| recipient_standing(c, &lookup))
            .await?;
        let last = standing.and_then(|s| s.last_inbound_at);
        let window = window_at(last.as_deref(), self.clock.now_micros());
        if !window.open {
            return Ok(None);
        }
        let recipient = Recipient::Phone(to.to_owned());
        let request = SendText {
            to: recipient.clone(),
            body: text.to_owned(),
            reply_to: None,
            preview_url: false,
        };
        let row = NewOutbound {
            phone_number_id: phone_number_id.clone(),
            recipient: ContactSeen {
                wa_id: Some(to.to_owned()),
                ..ContactSeen::default()
            },
            kind: "text".into(),
            body: Some(text.to_owned()),
            context_wamid: None,
            idempotency_key: None,
            fingerprint: None,
            raw: json!({"type": "text", "preview_url": false, "purpose": "permission_prompt"})
                .to_string(),
            media: None,
        };
        let out = Outgoing {
            recipient,
            phone_number_id,
            message: text_message(&request),
            row,
            request: json!({"body": text, "purpose": "permission_prompt"}),
            upload: None,
        };
        Ok(Some(self.record_and_send(out).await?.id))
    }
}

/// `text` cut to `max` characters, on one line.
fn clipped(text: &str, max: usize) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.trim();
    if line.chars().count() <= max {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(max).collect();
    cut.push('…');
    cut
}

/// What the owner reads: what is asked, in a few lines, and how to answer.
fn prompt_text(p: &PermissionPrompt) -> String {
    let mut text = format!(
        "Claude asks to run {}: {}",
        clipped(&p.tool_name, TOOL_CHARS),
        clipped(&p.description, DESCRIPTION_CHARS)
    );
    let input = clipped(&p.input_preview, INPUT_CHARS);
    if !input.is_empty() {
        text.push_str(&format!("\n\n{input}"));
    }
    text.push_str(&format!(
        "\n\nReply \"yes {id}\" to allow or \"no {id}\" to deny.",
        id = p.request_id
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_says_what_is_asked_and_how_to_answer() {
        let text = prompt_text(&PermissionPrompt {
            request_id: "abcde".into(),
            tool_name: "Bash".into(),
            description: "List files\nin the home folder".into(),
            input_preview: "x".repeat(1000),
        });
        assert!(text.starts_with("Claude asks to run Bash: List files in the home folder"));
        assert!(text.ends_with("Reply \"yes abcde\" to allow or \"no abcde\" to deny."));
        assert!(text.chars().count() < 1000, "the input is cut: {text}");
    }
}
