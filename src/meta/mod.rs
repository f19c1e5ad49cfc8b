//! Meta's Graph API, as the rest of wa-mcp uses it: send a message, mark one read, look
//! up a business phone number. Blocking (run it on tokio's blocking pool), retried only
//! where repeating cannot send twice, and never leaking the access token into an error,
//! a `Debug` print or a log line.
//!
//! [`client`] holds the calls and the retry loop, [`retry`] the pure policy, [`wire`]
//! the JSON both ways, [`error`] the typed errors with their hints, `envelope` Meta's
//! error bodies and token scrubbing, and `transport` the single ureq exchange.
//! Error codes and remedies: `docs/api/errors.md`.

pub mod client;
mod envelope;
pub mod error;
pub mod media;
pub mod retry;
mod transport;
pub mod upload;
pub mod wire;

pub use client::account::{AppIdentity, SubscribedApp};
pub use client::{MetaClient, MetaClientOptions};
pub use error::{ApiError, ApiErrorKind, MetaError};
pub use media::{DownloadError, MediaInfo};
pub use retry::RetryPolicy;
pub use upload::UploadFile;
pub use wire::{PhoneNumberInfo, Recipient, SendText, SentMessage};
