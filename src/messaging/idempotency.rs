//! The idempotency key of a send: a repeated call with the same key and the same
//! request gets the first call's outcome and sends nothing; the same key with any other
//! request is refused.
//!
//! "The same request" is decided by a fingerprint: the SHA-256 of every field the caller
//! gave (the recipient apart, which is compared as a contact so that "+44 7700 900123"
//! and "447700900123" are one person), taken before anything is redacted for storage.
//! A repeat that arrives while the first call is still talking to Meta waits for that
//! call's outcome instead of answering `pending`.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{ABANDONED_SEND_AFTER, Messaging, MessagingError, SendResult};
use crate::model::MessageRow;
use crate::store::read::find_message;

/// How often a waiting repeat looks at the first call's row when no commit wakes it.
const IN_FLIGHT_POLL: Duration = Duration::from_millis(250);

/// The fingerprint of a request: its kind, the business number it goes out from and
/// every field the caller gave, hashed over canonical JSON (object keys sorted).
pub(super) fn fingerprint(kind: &str, phone_number_id: &str, request: &Value) -> String {
    let whole = json!({"kind": kind, "phoneNumberId": phone_number_id, "request": request});
    let mut text = String::new();
    canonical(&whole, &mut text);
    crate::hex::to_hex(&Sha256::digest(text.as_bytes()))
}

/// JSON text with every object's keys in sorted order, whatever order the map keeps.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

impl Messaging {
    /// Waits until the send in `row` (still `pending`, started by an earlier call with
    /// the same key, in this process or another) has an outcome, then answers it as a
    /// replay. Gives up after [`ABANDONED_SEND_AFTER`], when that send counts as lost.
    pub(super) async fn await_in_flight(
        &self,
        row: MessageRow,
    ) -> Result<SendResult, MessagingError> {
        tracing::info!(id = %row.id, "send_waits_for_the_same_key_in_flight");
        let mut commits = self.store.subscribe_commits();
        let deadline = tokio::time::Instant::now() + ABANDONED_SEND_AFTER;
        loop {
            let id = row.id.clone();
            let now = self.store.read(move |c| find_message(c, &id)).await?;
            match now {
                Some(current) if current.status != "pending" => return replay(&current),
                Some(_) => {}
                None => {
                    return Err(MessagingError::NotFound(format!(
                        "the earlier send with this idempotencyKey (message id {}) is gone",
                        row.id
                    )));
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(MessagingError::InvalidInput(format!(
                    "the earlier send with this idempotencyKey (message id {}) has had no \
                     answer from Meta for {} s; nothing was sent again. Check get_messages \
                     for its status before using a new key.",
                    row.id,
                    ABANDONED_SEND_AFTER.as_secs()
                )));
            }
            // A commit (ours, or another process's) or the poll interval, whichever first.
            let _ = tokio::time::timeout(IN_FLIGHT_POLL, commits.changed()).await;
        }
    }
}

/// The first call's result for a repeated idempotency key.
pub(super) fn replay(row: &MessageRow) -> Result<SendResult, MessagingError> {
    tracing::info!(id = %row.id, status = %row.status, "send_replayed_by_idempotency_key");
    if row.status == "failed" {
        return Err(MessagingError::InvalidInput(format!(
            "this idempotencyKey was used before (message id {}) and that send failed: {} {}; \
             nothing was sent again. Use a new key to try again.",
            row.id,
            row.error_code.as_deref().unwrap_or(""),
            row.error_title.as_deref().unwrap_or("")
        )));
    }
    Ok(SendResult::from(row))
}

/// The error for an idempotency key passed again with a different request.
pub(super) fn key_reused(row: &MessageRow) -> MessagingError {
    tracing::warn!(id = %row.id, "idempotency_key_reused_for_another_message");
    MessagingError::InvalidInput(format!(
        "this idempotencyKey was already used for a different message (message id {}, a {} \
         to {}, status {}); nothing was sent. A key names one message: to send this one, \
         use a new key.",
        row.id,
        row.kind,
        row.contact.as_deref().unwrap_or("unknown"),
        row.status
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_and_the_number_change_the_fingerprint_but_key_order_does_not() {
        let base = fingerprint("template", "1", &json!({"name": "a", "components": [1]}));
        assert_eq!(
            base,
            fingerprint("template", "1", &json!({"components": [1], "name": "a"}))
        );
        assert_ne!(
            base,
            fingerprint("template", "1", &json!({"name": "a", "components": [2]}))
        );
        assert_ne!(
            base,
            fingerprint("template", "2", &json!({"name": "a", "components": [1]}))
        );
        assert_ne!(
            base,
            fingerprint("text", "1", &json!({"name": "a", "components": [1]}))
        );
    }
}
