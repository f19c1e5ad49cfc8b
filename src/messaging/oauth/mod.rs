//! The OAuth 2.1 authorization server of remote MCP, for one owner, without HTTP: the
//! rules the MCP authorization specification asks for, kept where they can be tested
//! directly. Registration (RFC 7591, [`clients`]), consent with the owner's passphrase
//! ([`consent`], throttled by [`passphrase`]), codes and tokens ([`tokens`]), all
//! stored through `store::oauth` as hashes ([`secrets`]). `http/oauth` only parses and
//! answers requests.
//!
//! Lifetimes: codes [`CODE_TTL_SECS`], access tokens [`ACCESS_TTL_SECS`], refresh
//! tokens [`REFRESH_TTL_SECS`], rotated on every use. Every check reads the database,
//! so a client revoked by `wa-mcp auth revoke` in another process is refused on its
//! next request, and [`Authority::lapsed`] tells the `/mcp` transport which of the
//! sessions and streams it holds open must end.

pub mod clients;
pub mod consent;
pub mod passphrase;
mod pending;
pub mod secrets;
pub mod tokens;

use std::sync::Arc;

use crate::config::PublicUrl;
use crate::store::{Store, StoreError};
use crate::timefmt::format_micros;

use super::Clock;

pub use clients::{ClientRegistration, RegisteredClient};
pub use consent::{AuthorizeParams, ConsentPage, Decision, Refusal};
pub use tokens::{AccessGrant, RemoteClient, TokenPair};

/// How long an authorization code may be exchanged.
pub const CODE_TTL_SECS: i64 = 60;
/// How long an access token is accepted.
pub const ACCESS_TTL_SECS: i64 = 60 * 60;
/// How long a refresh token may be used (once).
pub const REFRESH_TTL_SECS: i64 = 30 * 24 * 60 * 60;
/// The path of the protected resource under the public URL.
pub const MCP_PATH: &str = "/mcp";

/// An OAuth error as RFC 6749 §5.2 names it, with a description for people. The
/// description never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidGrant(String),
    #[error("{0}")]
    InvalidClient(String),
    #[error("{0}")]
    InvalidClientMetadata(String),
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("grant_type must be authorization_code or refresh_token")]
    UnsupportedGrantType,
    #[error("the authorization server is busy; try again shortly")]
    Unavailable,
    #[error("the authorization server failed: {0}")]
    Internal(String),
}

impl OAuthError {
    /// The `error` value of the JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::InvalidClient(_) => "invalid_client",
            OAuthError::InvalidClientMetadata(_) => "invalid_client_metadata",
            OAuthError::InvalidRedirectUri(_) => "invalid_redirect_uri",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::Unavailable => "temporarily_unavailable",
            OAuthError::Internal(_) => "server_error",
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Saturated => OAuthError::Unavailable,
            other => OAuthError::Internal(other.to_string()),
        }
    }
}

impl From<secrets::RandomError> for OAuthError {
    fn from(e: secrets::RandomError) -> Self {
        OAuthError::Internal(e.to_string())
    }
}

/// The authorization server over one store, for the resource at `<public>/mcp`.
/// Clones share the consent forms in progress.
#[derive(Clone)]
pub struct Authority {
    store: Store,
    public: PublicUrl,
    clock: Clock,
    pending: Arc<pending::PendingConsents>,
    /// One passphrase check at a time in this process: argon2 costs memory and time,
    /// and the throttle must see each failure before the next check.
    checking: Arc<tokio::sync::Mutex<()>>,
}

impl Authority {
    pub fn new(store: Store, public: PublicUrl) -> Authority {
        Authority {
            store,
            public,
            clock: Clock::system(),
            pending: Arc::new(pending::PendingConsents::default()),
            checking: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The same authority with "now" read from `clock` (tests pin it).
    pub fn with_clock(mut self, clock: Clock) -> Authority {
        self.clock = clock;
        self
    }

    /// The public base URL: the issuer.
    pub fn public_url(&self) -> &PublicUrl {
        &self.public
    }

    /// The protected resource's identifier, `<public>/mcp`.
    pub fn resource(&self) -> String {
        self.public.join(MCP_PATH)
    }

    /// Whether remote MCP is on: an owner passphrase exists (the public URL is given).
    pub async fn is_enabled(&self) -> Result<bool, OAuthError> {
        let owner = self.store.read(crate::store::oauth::owner).await?;
        Ok(owner.is_some())
    }

    /// "Now" as this authority decides expiries, in microseconds since the epoch.
    pub fn now_micros(&self) -> i64 {
        self.clock.now_micros()
    }

    fn at(&self, offset_secs: i64) -> String {
        format_micros(self.now_micros() + offset_secs * 1_000_000)
    }
}

/// Sets (or changes) the owner passphrase in the database at `store`, clearing the
/// throttle of wrong passphrases. `auth passphrase` calls it.
pub async fn set_passphrase(store: &Store, passphrase: String) -> Result<(), SetPassphraseError> {
    let hash = tokio::task::spawn_blocking(move || passphrase::hash_passphrase(&passphrase))
        .await
        .map_err(|e| SetPassphraseError::Internal(e.to_string()))??;
    store
        .write(move |ctx| crate::store::oauth::set_passphrase(ctx, &hash))
        .await?;
    tracing::info!("owner_passphrase_set");
    Ok(())
}

/// Why the passphrase was not set.
#[derive(Debug, thiserror::Error)]
pub enum SetPassphraseError {
    #[error(transparent)]
    Rule(#[from] passphrase::PassphraseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// What `doctor` and `auth clients` say about the owner's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerStatus {
    pub passphrase_set: bool,
    pub failed_attempts: u32,
    /// When consent may next be tried, if that is in the future.
    pub throttled_until: Option<String>,
}

/// The owner's passphrase and throttle state as stored.
pub fn owner_status(store: &Store) -> Result<OwnerStatus, StoreError> {
    Ok(status_of(store.read_blocking(crate::store::oauth::owner)?))
}

/// [`owner_status`] of the database file at `path`, read without changing it (for
/// `doctor`); a file that does not exist has no passphrase.
pub fn owner_status_in_file(path: &std::path::Path) -> Result<OwnerStatus, StoreError> {
    if !path.exists() {
        return Ok(status_of(None));
    }
    Ok(status_of(crate::store::oauth::owner_in_file(path)?))
}

fn status_of(owner: Option<crate::store::oauth::OwnerRow>) -> OwnerStatus {
    let now = format_micros(crate::timefmt::now_micros());
    match owner {
        None => OwnerStatus {
            passphrase_set: false,
            failed_attempts: 0,
            throttled_until: None,
        },
        Some(o) => OwnerStatus {
            passphrase_set: true,
            failed_attempts: o.failed_attempts,
            throttled_until: o.next_attempt_at.filter(|t| *t > now),
        },
    }
}
