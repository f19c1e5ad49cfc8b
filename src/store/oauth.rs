//! The OAuth state of remote MCP (migration V10): the owner's passphrase hash and
//! throttle, registered clients, authorization codes and tokens. Codes and tokens are
//! given and looked up only by the SHA-256 of their value; what they mean (lifetimes,
//! PKCE, rotation) is decided in `messaging::oauth`, which calls these functions.

use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, WriteCtx};

/// The owner's row: the passphrase hash and the state of the wrong-passphrase throttle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRow {
    /// The argon2id hash in PHC form (it carries its own salt and parameters).
    pub passphrase_hash: String,
    pub set_at: String,
    /// Wrong passphrases in a row since the last right one (or since it was set); the
    /// rules in `messaging::oauth::passphrase` start the count again after a lockout.
    pub failed_attempts: u32,
    /// No attempt is checked before this time.
    pub next_attempt_at: Option<String>,
    pub last_failure_at: Option<String>,
}

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub created_at: String,
    /// When the owner first approved it; `None` for a registration never approved.
    pub approved_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// An authorization code as it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRow {
    pub code_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub resource: String,
    pub created_at: String,
    pub expires_at: String,
}

/// A token pair to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTokens {
    pub client_id: String,
    pub resource: String,
    pub access_hash: String,
    pub access_expires_at: String,
    pub refresh_hash: String,
    pub refresh_expires_at: String,
}

/// A stored token, whatever its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub kind: String,
    pub client_id: String,
    pub resource: String,
    pub expires_at: String,
    pub used_at: Option<String>,
    /// Whether its client was revoked.
    pub client_revoked: bool,
    pub client_last_used_at: Option<String>,
}

pub fn owner(conn: &Connection) -> Result<Option<OwnerRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT passphrase_hash, set_at, failed_attempts, next_attempt_at, last_failure_at
         FROM oauth_owner WHERE id = 1",
    )?;
    Ok(stmt
        .query_row([], |r| {
            Ok(OwnerRow {
                passphrase_hash: r.get(0)?,
                set_at: r.get(1)?,
                failed_attempts: r.get(2)?,
                next_attempt_at: r.get(3)?,
                last_failure_at: r.get(4)?,
            })
        })
        .optional()?)
}

/// Sets the passphrase hash and clears the throttle (the owner is at the machine).
pub fn set_passphrase(ctx: &mut WriteCtx<'_>, hash: &str) -> Result<(), StoreError> {
    let now = ctx.now().to_owned();
    ctx.exec(
        "INSERT INTO oauth_owner (id, passphrase_hash, set_at) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET passphrase_hash = ?1, set_at = ?2,
             failed_attempts = 0, next_attempt_at = NULL, last_failure_at = NULL",
        params![hash, now],
    )?;
    Ok(())
}

/// Counts one wrong passphrase at `now`. `next(previous, last_failure_at)` is given the
/// stored count and the time of the last failure, and says the new count and when the
/// next attempt may be checked. Returns the new count.
pub fn record_failed_attempt(
    ctx: &mut WriteCtx<'_>,
    now: &str,
    next: impl FnOnce(u32, Option<&str>) -> (u32, String),
) -> Result<u32, StoreError> {
    let (previous, last): (u32, Option<String>) = ctx.row(
        "SELECT failed_attempts, last_failure_at FROM oauth_owner WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (failures, next_at) = next(previous, last.as_deref());
    ctx.exec(
        "UPDATE oauth_owner SET failed_attempts = ?1, next_attempt_at = ?2, last_failure_at = ?3
         WHERE id = 1",
        params![failures, next_at, now],
    )?;
    Ok(failures)
}

/// Clears the throttle after the right passphrase.
pub fn clear_failed_attempts(ctx: &mut WriteCtx<'_>) -> Result<(), StoreError> {
    ctx.exec(
        "UPDATE oauth_owner SET failed_attempts = 0, next_attempt_at = NULL WHERE id = 1",
        [],
    )?;
    Ok(())
}

/// What [`insert_client`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Stored,
    /// Nothing stored: `max` registrations the owner approved fill every place.
    FullOfApproved,
    /// Nothing stored: the places left are held by registrations too young to give way.
    FullOfFresh,
}

/// Stores a registration after making room. Revoked registrations do not count (they
/// stay listed). Registrations never approved and created before `stale_before` go;
/// then, while `max` are counted, the oldest never-approved ones created before
/// `fresh_after`: a younger one may be in the middle of its consent and never gives
/// way, the newcomer is refused instead.
pub fn insert_client(
    ctx: &mut WriteCtx<'_>,
    client: &ClientRow,
    stale_before: &str,
    fresh_after: &str,
    max: u32,
) -> Result<Registration, StoreError> {
    ctx.exec(
        "DELETE FROM oauth_clients WHERE approved_at IS NULL AND created_at < ?1",
        [stale_before],
    )?;
    let count = |ctx: &WriteCtx<'_>, which: &str| -> Result<u32, StoreError> {
        let sql = format!("SELECT count(*) FROM oauth_clients WHERE revoked_at IS NULL {which}");
        Ok(ctx.row(&sql, [], |r| r.get(0))?)
    };
    let counted = count(ctx, "")?;
    if counted >= max {
        ctx.exec(
            "DELETE FROM oauth_clients WHERE client_id IN (
                 SELECT client_id FROM oauth_clients
                 WHERE approved_at IS NULL AND revoked_at IS NULL AND created_at < ?1
                 ORDER BY created_at LIMIT ?2)",
            params![fresh_after, counted - max + 1],
        )?;
        if count(ctx, "")? >= max {
            return Ok(if count(ctx, "AND approved_at IS NOT NULL")? >= max {
                Registration::FullOfApproved
            } else {
                Registration::FullOfFresh
            });
        }
    }
    let uris = serde_json::to_string(&client.redirect_uris)
        .map_err(|e| StoreError::Internal(format!("redirect URIs: {e}")))?;
    ctx.exec(
        "INSERT INTO oauth_clients (client_id, client_name, redirect_uris, created_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            client.client_id,
            client.client_name,
            uris,
            client.created_at
        ],
    )?;
    Ok(Registration::Stored)
}

const CLIENT_COLUMNS: &str =
    "client_id, client_name, redirect_uris, created_at, approved_at, last_used_at, revoked_at";

fn client_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ClientRow> {
    let uris: String = r.get(2)?;
    Ok(ClientRow {
        client_id: r.get(0)?,
        client_name: r.get(1)?,
        // Written by `insert_client` only; an unreadable list matches no redirect.
        redirect_uris: serde_json::from_str(&uris).unwrap_or_default(),
        created_at: r.get(3)?,
        approved_at: r.get(4)?,
        last_used_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

pub fn find_client(conn: &Connection, client_id: &str) -> Result<Option<ClientRow>, StoreError> {
    let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt.query_row([client_id], client_row).optional()?)
}

/// Every registration, the approved ones first, newest use first.
pub fn list_clients(conn: &Connection) -> Result<Vec<ClientRow>, StoreError> {
    let sql = format!(
        "SELECT {CLIENT_COLUMNS} FROM oauth_clients
         ORDER BY approved_at IS NULL, coalesce(last_used_at, approved_at, created_at) DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], client_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Marks a client revoked and deletes its codes and tokens. `false` if it is unknown.
pub fn revoke_client(ctx: &mut WriteCtx<'_>, client_id: &str) -> Result<bool, StoreError> {
    let now = ctx.now().to_owned();
    let changed = ctx.exec(
        "UPDATE oauth_clients SET revoked_at = coalesce(revoked_at, ?2) WHERE client_id = ?1",
        params![client_id, now],
    )?;
    delete_grant(ctx, client_id)?;
    Ok(changed > 0)
}

/// Deletes every code and token of a client (it stays registered).
pub fn delete_grant(ctx: &mut WriteCtx<'_>, client_id: &str) -> Result<(), StoreError> {
    ctx.exec("DELETE FROM oauth_codes WHERE client_id = ?1", [client_id])?;
    ctx.exec("DELETE FROM oauth_tokens WHERE client_id = ?1", [client_id])?;
    Ok(())
}

/// Stores a new code (dropping expired ones) and records the owner's approval.
pub fn insert_code(ctx: &mut WriteCtx<'_>, code: &CodeRow) -> Result<(), StoreError> {
    ctx.exec(
        "DELETE FROM oauth_codes WHERE expires_at < ?1",
        [&code.created_at],
    )?;
    ctx.exec(
        "INSERT INTO oauth_codes (code_hash, client_id, redirect_uri, code_challenge, resource,
             created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            code.code_hash,
            code.client_id,
            code.redirect_uri,
            code.code_challenge,
            code.resource,
            code.created_at,
            code.expires_at
        ],
    )?;
    ctx.exec(
        "UPDATE oauth_clients SET approved_at = coalesce(approved_at, ?2), last_used_at = ?2
         WHERE client_id = ?1",
        params![code.client_id, code.created_at],
    )?;
    Ok(())
}

/// The code whose hash is `code_hash`, marked used by this call. The flag says whether
/// it had been used before (then it must be refused).
pub fn take_code(
    ctx: &mut WriteCtx<'_>,
    code_hash: &str,
    now: &str,
) -> Result<Option<(CodeRow, bool)>, StoreError> {
    let found = ctx
        .row(
            "SELECT code_hash, client_id, redirect_uri, code_challenge, resource, created_at,
                 expires_at, used_at IS NOT NULL
             FROM oauth_codes WHERE code_hash = ?1",
            [code_hash],
            |r| {
                let row = CodeRow {
                    code_hash: r.get(0)?,
                    client_id: r.get(1)?,
                    redirect_uri: r.get(2)?,
                    code_challenge: r.get(3)?,
                    resource: r.get(4)?,
                    created_at: r.get(5)?,
                    expires_at: r.get(6)?,
                };
                Ok((row, r.get::<_, bool>(7)?))
            },
        )
        .optional()?;
    if found.is_some() {
        ctx.exec(
            "UPDATE oauth_codes SET used_at = coalesce(used_at, ?2) WHERE code_hash = ?1",
            params![code_hash, now],
        )?;
    }
    Ok(found)
}

/// Stores an access and a refresh token, dropping tokens that expired before `now`.
pub fn insert_tokens(ctx: &mut WriteCtx<'_>, t: &NewTokens, now: &str) -> Result<(), StoreError> {
    ctx.exec("DELETE FROM oauth_tokens WHERE expires_at < ?1", [now])?;
    let sql = "INSERT INTO oauth_tokens (token_hash, kind, client_id, resource, created_at,
                   expires_at)
               VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    ctx.exec(
        sql,
        params![
            t.access_hash,
            "access",
            t.client_id,
            t.resource,
            now,
            t.access_expires_at
        ],
    )?;
    ctx.exec(
        sql,
        params![
            t.refresh_hash,
            "refresh",
            t.client_id,
            t.resource,
            now,
            t.refresh_expires_at
        ],
    )?;
    ctx.exec(
        "UPDATE oauth_clients SET last_used_at = ?2 WHERE client_id = ?1",
        params![t.client_id, now],
    )?;
    Ok(())
}

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        kind: r.get(0)?,
        client_id: r.get(1)?,
        resource: r.get(2)?,
        expires_at: r.get(3)?,
        used_at: r.get(4)?,
        client_revoked: r.get(5)?,
        client_last_used_at: r.get(6)?,
    })
}

const TOKEN_SELECT: &str = "SELECT t.kind, t.client_id, t.resource, t.expires_at, t.used_at,
        c.revoked_at IS NOT NULL, c.last_used_at
     FROM oauth_tokens t JOIN oauth_clients c ON c.client_id = t.client_id
     WHERE t.token_hash = ?1";

/// The token whose hash is `token_hash`, read-only (the bearer check of each request).
pub fn find_token(conn: &Connection, token_hash: &str) -> Result<Option<TokenRow>, StoreError> {
    let mut stmt = conn.prepare_cached(TOKEN_SELECT)?;
    Ok(stmt.query_row([token_hash], token_row).optional()?)
}

/// The token whose hash is `token_hash`, marked used by this call (`used_at` keeps the
/// first use, so a second call sees it set).
pub fn take_token(
    ctx: &mut WriteCtx<'_>,
    token_hash: &str,
    now: &str,
) -> Result<Option<TokenRow>, StoreError> {
    let found = ctx.row(TOKEN_SELECT, [token_hash], token_row).optional()?;
    if found.is_some() {
        ctx.exec(
            "UPDATE oauth_tokens SET used_at = coalesce(used_at, ?2) WHERE token_hash = ?1",
            params![token_hash, now],
        )?;
    }
    Ok(found)
}

/// Deletes one token; `true` if it existed.
pub fn delete_token(ctx: &mut WriteCtx<'_>, token_hash: &str) -> Result<bool, StoreError> {
    Ok(ctx.exec(
        "DELETE FROM oauth_tokens WHERE token_hash = ?1",
        [token_hash],
    )? > 0)
}

/// Records that a client used its access token at `now`.
pub fn touch_client(ctx: &mut WriteCtx<'_>, client_id: &str, now: &str) -> Result<(), StoreError> {
    ctx.exec(
        "UPDATE oauth_clients SET last_used_at = ?2 WHERE client_id = ?1",
        params![client_id, now],
    )?;
    Ok(())
}

/// The owner's row of the existing file at `path`, read without creating, migrating or
/// changing anything (for `doctor`); `None` when the file predates remote MCP.
pub fn owner_in_file(path: &std::path::Path) -> Result<Option<OwnerRow>, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'oauth_owner'",
        [],
        |r| r.get(0),
    )?;
    if exists { owner(&conn) } else { Ok(None) }
}
