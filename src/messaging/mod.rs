//! What an owner does with WhatsApp, independent of transport: send, read, mark read.
//! The MCP tools and the shell commands both call these functions; neither writes SQL
//! nor talks to Meta directly.

mod allowlist;
mod caller;
mod channel;
mod clock;
mod confirm;
mod contact_block;
mod conversations;
mod directory;
mod idempotency;
mod interactive;
mod location;
mod media;
mod media_file;
mod media_kind;
mod media_path;
mod media_send;
mod media_upload;
pub mod oauth;
mod owner;
mod permission;
mod query;
mod reactions;
mod read_receipt;
mod search;
mod send;
mod template;
mod template_text;
mod templates_list;
mod threads;
mod wait;

use std::time::Duration;

use crate::config::Config;
use crate::meta::{MetaClient, MetaError};
use crate::store::{Store, StoreError};

pub use caller::{Caller, LOCAL_CLIENT_ID};
pub use channel::ChannelEvent;
pub use clock::Clock;
pub use confirm::{Approval, SendApprover, SendPreview, with_approver};
pub use contact_block::BlockResult;
pub use conversations::{Conversation, ConversationQuery, ConversationWindow};
pub use directory::{ContactCard, DEFAULT_CONTEXT, MAX_CONTEXT};
pub use interactive::{Button, Cta, ListInput, ListRow, Section, SendInteractiveInput};
pub use location::SendLocationInput;
pub use media::{MEDIA_MAX_BYTES, MediaFile};
pub use media_file::media_dir;
pub use media_kind::{FORMATS, Format, MediaKind};
pub use media_send::{MAX_CAPTION_CHARS, MediaSendResult, SendMediaInput};
pub use owner::{
    ChannelSenders, Identities, PermissionAnswer, is_request_id, parse_permission_answer,
};
pub use permission::{OwnerPromptOutcome, PermissionPrompt};
pub use query::{MessagePage, MessageQuery, NextCursor};
pub use reactions::{Reaction, ReactionResult, SendReactionInput};
pub use search::{DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, SearchInput, SearchResults};
pub use send::{SendMessageInput, SendResult};
pub use template::SendTemplateInput;
pub use templates_list::{TemplateInfo, TemplateParameters, TemplatePart, TemplateQuery};
pub use threads::InboundFollower;
pub use wait::{DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, WaitQuery};

/// The longest a send can take before its row counts as abandoned: four attempts of
/// 30 s each plus back-off. Rows still `pending` after this at start-up are `unknown`.
pub const ABANDONED_SEND_AFTER: Duration = Duration::from_secs(5 * 60);

/// Why a messaging call did not do what was asked. Each variant's `Display` is written
/// for the model (or person) who made the call: what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    /// The input is wrong; nothing was done.
    #[error("{0}")]
    InvalidInput(String),
    /// A setting the call needs is missing; nothing was done.
    #[error("{0}")]
    NotConfigured(String),
    #[error("{0}")]
    NotFound(String),
    /// `WA_ALLOWED_RECIPIENTS` does not let this recipient be written to; nothing was
    /// stored or sent.
    #[error("{0}")]
    RecipientNotAllowed(String),
    /// The user said no to the send (or could not be asked and had to be); nothing was
    /// stored or sent.
    #[error("{0}")]
    Declined(String),
    /// The send waits for the user's yes, asked with the call's answer (the multi
    /// round-trip form); nothing was stored or sent yet.
    #[error("the owner's confirmation is needed first; call again with their answer")]
    ConfirmationPending,
    /// Meta refused or did not answer. `message_id` is our row, when one was made.
    #[error("{}", meta_message(.error, .message_id.as_deref()))]
    Meta {
        error: MetaError,
        message_id: Option<String>,
    },
    #[error("the local database failed: {0}")]
    Store(#[from] StoreError),
}

fn meta_message(error: &MetaError, message_id: Option<&str>) -> String {
    let row = message_id
        .map(|id| format!(" (message id {id})"))
        .unwrap_or_default();
    format!("{error}{row}. {}", error.hint())
}

/// The messaging functions over one store and one Meta client.
#[derive(Clone)]
pub struct Messaging {
    store: Store,
    meta: MetaClient,
    default_phone_number_id: Option<String>,
    token_configured: bool,
    /// Who may be written to (`WA_ALLOWED_RECIPIENTS`).
    allowlist: allowlist::Allowlist,
    /// "Now" for the 24-hour window; pinned by tests.
    clock: Clock,
    /// `WA_OWNER_NUMBERS`: where permission prompts go; only they answer one.
    owners: Identities,
    /// `WA_CHANNEL_SENDERS`: whose inbound messages a channel session pushes.
    channel_senders: ChannelSenders,
    /// `WA_CONFIRM_SENDS`.
    confirm: crate::config::ConfirmSends,
    /// The folders `send_media` may read local files from besides the media folder
    /// (`WA_MEDIA_SEND_DIRS`); `None` when unset (only the media folder).
    media_send_dirs: Option<Vec<std::path::PathBuf>>,
    /// `WA_BUSINESS_ACCOUNT_ID`: whose templates `list_templates` lists.
    business_account_id: Option<String>,
    /// The template list, kept a few minutes (shared by every clone).
    template_cache: std::sync::Arc<tokio::sync::Mutex<templates_list::TemplateCache>>,
    /// Who calls: rows it sends record its client id.
    caller: Caller,
}

impl Messaging {
    pub fn new(store: Store, meta: MetaClient, config: &Config) -> Messaging {
        Messaging {
            store,
            meta,
            default_phone_number_id: config.default_phone_number_id.clone(),
            token_configured: config.access_token.is_some(),
            allowlist: allowlist::Allowlist::from_config(config.allowed_recipients.as_deref()),
            clock: Clock::system(),
            owners: Identities::parse(&config.owner.owner_numbers),
            channel_senders: ChannelSenders::from_settings(
                config.owner.channel_senders.as_deref(),
                &Identities::parse(&config.owner.owner_numbers),
            ),
            confirm: config.owner.confirm_sends,
            media_send_dirs: config.media_send_dirs.clone(),
            business_account_id: config.business_account_id.clone(),
            template_cache: Default::default(),
            caller: Caller::Local,
        }
    }

    /// The same messaging acting for `caller` (a remote client through `/mcp`).
    pub fn for_caller(&self, caller: Caller) -> Messaging {
        let mut m = self.clone();
        m.caller = caller;
        m
    }

    /// Who this messaging acts for.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The same messaging with "now" read from `clock` (tests pin it).
    pub fn with_clock(mut self, clock: Clock) -> Messaging {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Marks `unknown` the sends a crash left `pending` (never sends them again).
    pub async fn settle_abandoned_sends(&self) -> Result<usize, StoreError> {
        let cutoff = crate::timefmt::now_micros() - ABANDONED_SEND_AFTER.as_micros() as i64;
        let cutoff = crate::timefmt::format_micros(cutoff);
        let n = self
            .store
            .write(move |ctx| crate::store::outbound::abandon_stale_pending(ctx, &cutoff))
            .await?;
        if n > 0 {
            tracing::warn!(count = n, "interrupted_sends_marked_unknown");
        }
        Ok(n)
    }

    /// The message whose id or wamid is `key`. `purpose` ends the not-found error, telling
    /// the caller which message to look for with get_messages (e.g. "the message to
    /// react to").
    async fn message_named(
        &self,
        key: &str,
        purpose: &str,
    ) -> Result<crate::model::MessageRow, MessagingError> {
        let key = key.trim().to_owned();
        if key.is_empty() {
            return Err(MessagingError::InvalidInput(
                "`messageId` must be a message id or wamid from get_messages".into(),
            ));
        }
        let lookup = key.clone();
        self.store
            .read(move |c| crate::store::read::find_message(c, &lookup))
            .await?
            .ok_or_else(|| {
                MessagingError::NotFound(format!(
                    "no message has id or wamid {key}; use get_messages to find {purpose}"
                ))
            })
    }

    fn require_token(&self) -> Result<(), MessagingError> {
        if self.token_configured {
            Ok(())
        } else {
            Err(MessagingError::NotConfigured(
                "WA_ACCESS_TOKEN is not set: wa-mcp cannot call the WhatsApp Cloud API. Set it to a \
                 permanent System User token (see `wa-mcp doctor`)."
                    .into(),
            ))
        }
    }

    fn phone_number_id(&self, given: Option<String>) -> Result<String, MessagingError> {
        given
            .filter(|s| !s.trim().is_empty())
            .or_else(|| self.default_phone_number_id.clone())
            .ok_or_else(|| {
                MessagingError::NotConfigured(
                    "no phoneNumberId was given and WA_DEFAULT_PHONE_NUMBER_ID is not set: wa-mcp \
                     does not know which business number to send from."
                        .into(),
                )
            })
    }
}

/// Runs a blocking Meta call on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MetaError> + Send + 'static,
) -> Result<T, MetaError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(MetaError::Internal(format!(
            "the Meta call was interrupted: {e}"
        )))
    })
}
