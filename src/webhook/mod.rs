//! Meta's webhook, transport aside: who may call it (signature), what it says
//! (normalisation into rows) and what we never keep (redaction, by the rules of
//! [`crate::redact`], before anything is read).

pub mod content;
mod fields;
pub mod normalise;
pub mod prepare;
pub mod signature;

pub use normalise::{normalise_delivery, parse_delivery};
pub use prepare::prepare_delivery;
pub use signature::{SignatureError, SignatureVerifier, verify_signature};
