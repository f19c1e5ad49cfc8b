//! Meta's webhook, transport aside: who may call it (signature), what it says
//! (normalisation into rows) and what we never keep (redaction).

pub mod content;
pub mod delivery;
pub mod normalise;
pub mod prepare;
pub mod redact;
pub mod reprocess;
pub mod signature;

pub use delivery::{ContactSeen, Delivery, InboundMessage, Media, MetaErrorInfo, StatusUpdate};
pub use normalise::{NormaliseError, normalise_delivery, parse_delivery};
pub use prepare::{PreparedDelivery, prepare_delivery};
pub use reprocess::reprocess_delivery;
pub use signature::{SignatureError, verify_signature};
