//! `/oauth/token`, `/oauth/revoke` and the bearer check of `/mcp`.
//!
//! A code is exchanged once, within [`CODE_TTL_SECS`](super::CODE_TTL_SECS), by the
//! client it was issued to, with the same redirect URI and the PKCE verifier of its
//! challenge; any mismatch issues nothing. A refresh token is used once: it yields a new
//! pair and is kept, spent, until it would have expired, so that presenting it again is
//! recognised as theft and ends the client's whole grant (every token it holds). Each
//! check reads the database, never a cache: revoking in another process takes effect on
//! the next request.

use super::{ACCESS_TTL_SECS, Authority, OAuthError, REFRESH_TTL_SECS, secrets};
use crate::store::oauth::{self as sql, NewTokens, TokenRow};

/// What a token request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds the access token is accepted.
    pub expires_in: i64,
}

/// The approved client a request's bearer token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteClient {
    pub client_id: String,
}

/// A valid access token as a request presented it: whose it is and until when. The
/// `/mcp` transport keeps it with the sessions and streams the request opened, and
/// closes them once [`Authority::lapsed`] says the token admits nothing any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    pub client_id: String,
    /// The SHA-256 of the token, as it is stored (never the token itself).
    pub token_hash: String,
    /// When the token expires, in microseconds since the Unix epoch.
    pub expires_micros: i64,
}

impl AccessGrant {
    /// The client the token belongs to, as tools see their caller.
    pub fn client(&self) -> RemoteClient {
        RemoteClient {
            client_id: self.client_id.clone(),
        }
    }
}

/// A client id from a request as a log may carry it: one of ours (32 hex digits) as it
/// is, anything else (text anyone could send) as a placeholder.
fn loggable_client_id(client_id: &str) -> &str {
    let ours = client_id.len() == 32 && client_id.bytes().all(|b| b.is_ascii_hexdigit());
    if ours { client_id } else { "<malformed>" }
}

/// How often the client's "last used" time is written while it makes requests.
const TOUCH_EVERY_SECS: i64 = 5 * 60;

impl Authority {
    /// The `authorization_code` grant.
    pub async fn exchange_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<TokenPair, OAuthError> {
        let code_hash = secrets::secret_hash(code);
        let now = self.at(0);
        let taken = self
            .store
            .write(move |ctx| sql::take_code(ctx, &code_hash, &now))
            .await?;
        let invalid = |why: &str| {
            let client_id = loggable_client_id(client_id);
            tracing::warn!(client_id, reason = why, "oauth_code_refused");
            OAuthError::InvalidGrant(
                "the authorization code is invalid, expired, already used or was issued to \
                 another client or redirect URI"
                    .into(),
            )
        };
        let Some((row, used_before)) = taken else {
            return Err(invalid("unknown"));
        };
        if used_before {
            return Err(invalid("used_twice"));
        }
        if row.expires_at < self.at(0) {
            return Err(invalid("expired"));
        }
        if row.client_id != client_id || row.redirect_uri != redirect_uri {
            return Err(invalid("client_or_redirect_mismatch"));
        }
        if !secrets::pkce_s256_matches(verifier, &row.code_challenge) {
            return Err(invalid("pkce_mismatch"));
        }
        if self.client_revoked(client_id).await? {
            return Err(invalid("client_revoked"));
        }
        self.issue_tokens(client_id, &row.resource).await
    }

    /// The `refresh_token` grant: rotates the pair. A refresh token presented a second
    /// time revokes everything the client holds.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client_id: &str,
    ) -> Result<TokenPair, OAuthError> {
        let hash = secrets::secret_hash(refresh_token);
        let now = self.at(0);
        let taken = self
            .store
            .write(move |ctx| sql::take_token(ctx, &hash, &now))
            .await?;
        let refused = || {
            OAuthError::InvalidGrant("the refresh token is invalid, expired or already used".into())
        };
        let Some(row) = taken.filter(|r| r.kind == "refresh") else {
            return Err(refused());
        };
        if row.used_at.is_some() {
            let victim = row.client_id.clone();
            self.store
                .write(move |ctx| sql::delete_grant(ctx, &victim))
                .await?;
            tracing::warn!(client_id = %row.client_id, "oauth_refresh_token_reused_grant_revoked");
            return Err(refused());
        }
        if row.client_id != client_id || row.client_revoked || row.expires_at < self.at(0) {
            return Err(refused());
        }
        self.issue_tokens(client_id, &row.resource).await
    }

    /// RFC 7009: forgets `token` if it is one of `client_id`'s. A refresh token takes
    /// the whole grant with it. Unknown tokens are not an error.
    pub async fn revoke_token(
        &self,
        token: &str,
        client_id: Option<&str>,
    ) -> Result<(), OAuthError> {
        let hash = secrets::secret_hash(token);
        let lookup = hash.clone();
        let Some(row) = self
            .store
            .read(move |c| sql::find_token(c, &lookup))
            .await?
        else {
            return Ok(());
        };
        if client_id.is_some_and(|id| id != row.client_id) {
            return Ok(());
        }
        let client = row.client_id.clone();
        if row.kind == "refresh" {
            self.store
                .write(move |ctx| sql::delete_grant(ctx, &client))
                .await?;
        } else {
            self.store
                .write(move |ctx| sql::delete_token(ctx, &hash).map(drop))
                .await?;
        }
        tracing::info!(client_id = %row.client_id, kind = %row.kind, "oauth_token_revoked");
        Ok(())
    }

    /// The grant of `token` when it is a valid access token for this resource, read
    /// from the database on every call; `None` for anything else.
    pub async fn authenticate(&self, token: &str) -> Result<Option<AccessGrant>, OAuthError> {
        let token_hash = secrets::secret_hash(token);
        let lookup = token_hash.clone();
        let row = self
            .store
            .read(move |c| sql::find_token(c, &lookup))
            .await?;
        let now = self.at(0);
        let Some(row) = row.filter(|r| self.accepts(r, &now)) else {
            return Ok(None);
        };
        let stale = self.at(-TOUCH_EVERY_SECS);
        if row
            .client_last_used_at
            .as_deref()
            .is_none_or(|t| t < stale.as_str())
        {
            let id = row.client_id.clone();
            self.store
                .write(move |ctx| sql::touch_client(ctx, &id, &now))
                .await?;
        }
        Ok(Some(AccessGrant {
            client_id: row.client_id,
            token_hash,
            expires_micros: crate::timefmt::parse_rfc3339(&row.expires_at).unwrap_or_default(),
        }))
    }

    /// Which of `token_hashes` (of grants [`Authority::authenticate`] gave) no longer
    /// admit requests: the token was deleted (its client revoked, its grant ended by a
    /// reused refresh token, or the token itself revoked) or has expired. One read of
    /// the database, so a revocation by another process sharing it counts.
    pub async fn lapsed(&self, token_hashes: Vec<String>) -> Result<Vec<String>, OAuthError> {
        let found = self
            .store
            .read(move |c| {
                token_hashes
                    .into_iter()
                    .map(|h| sql::find_token(c, &h).map(|row| (h, row)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        let now = self.at(0);
        Ok(found
            .into_iter()
            .filter(|(_, row)| !row.as_ref().is_some_and(|r| self.accepts(r, &now)))
            .map(|(hash, _)| hash)
            .collect())
    }

    /// A signal that moves whenever the database may have changed, by a commit of this
    /// process or of another one sharing the file: the moment to ask [`Authority::lapsed`].
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.store.subscribe_commits()
    }

    fn accepts(&self, row: &TokenRow, now: &str) -> bool {
        row.kind == "access"
            && !row.client_revoked
            && row.expires_at.as_str() > now
            && row.resource == self.resource()
    }

    async fn client_revoked(&self, client_id: &str) -> Result<bool, OAuthError> {
        let id = client_id.to_owned();
        let client = self.store.read(move |c| sql::find_client(c, &id)).await?;
        Ok(client.is_none_or(|c| c.revoked_at.is_some()))
    }

    async fn issue_tokens(&self, client_id: &str, resource: &str) -> Result<TokenPair, OAuthError> {
        let access = secrets::new_secret()?;
        let refresh = secrets::new_secret()?;
        let row = NewTokens {
            client_id: client_id.to_owned(),
            resource: resource.to_owned(),
            access_hash: secrets::secret_hash(&access),
            access_expires_at: self.at(ACCESS_TTL_SECS),
            refresh_hash: secrets::secret_hash(&refresh),
            refresh_expires_at: self.at(REFRESH_TTL_SECS),
        };
        let now = self.at(0);
        self.store
            .write(move |ctx| sql::insert_tokens(ctx, &row, &now))
            .await?;
        tracing::info!(client_id, "oauth_tokens_issued");
        Ok(TokenPair {
            access_token: access,
            refresh_token: refresh,
            expires_in: ACCESS_TTL_SECS,
        })
    }
}
