//! The bottom layer: domain values more than one layer uses. The webhook produces a
//! [`Delivery`], the store consumes it; the store reports [`Outcome`]s and
//! [`SendOutcome`]s, which metrics count; the read tools present [`MessageRow`]s and
//! page by [`PageCursor`]. Nothing here imports anything of the crate's above it.

pub mod delivery;
pub mod outcome;
pub mod row;
pub mod search_query;
pub mod status;
pub mod thread;

pub use delivery::{
    ContactSeen, Delivery, InboundMessage, Media, MetaErrorInfo, NormaliseError, PreparedDelivery,
    StatusUpdate,
};
pub use outcome::{DeliveryReport, Outcome, SendOutcome};
pub use row::{InteractiveReply, MediaRef, MessageRow, PageCursor};
pub use status::{Direction, MessageStatus, next_status};
pub use thread::{ContactSummary, InboundArrival};
