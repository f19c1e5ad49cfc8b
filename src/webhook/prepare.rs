//! Turning the verified bytes of one POST into what the store writes: the redacted
//! payload for the delivery log and the rows it holds.

use sha2::{Digest, Sha256};

use super::normalise::{normalise_delivery, parse_delivery};
use crate::hex::to_hex;
use crate::model::{NormaliseError, PreparedDelivery};
use crate::redact::{redact, redact_text};

/// Parses, redacts and normalises a verified body. Secrets are redacted before
/// normalisation, so no row can carry one either.
pub fn prepare_delivery(body: &[u8], request_id: String, received_at: i64) -> PreparedDelivery {
    let payload_sha256 = to_hex(&Sha256::digest(body));
    let (payload, parsed) = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            redact(&mut value);
            let parsed = if value.is_object() {
                normalise_delivery(&value)
            } else {
                Err(NormaliseError::NotAnObject)
            };
            (value.to_string(), parsed)
        }
        Err(_) => {
            let why = parse_delivery(body)
                .err()
                .unwrap_or(NormaliseError::NotAnObject);
            // Kept for reprocessing, but never with a secret in it.
            (redact_text(&String::from_utf8_lossy(body)), Err(why))
        }
    };
    PreparedDelivery {
        request_id,
        received_at,
        payload,
        payload_sha256,
        parsed,
    }
}
