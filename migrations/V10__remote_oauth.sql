-- Remote MCP: the OAuth 2.1 authorization server for one owner. Secrets are never
-- stored: the passphrase only as an argon2id hash, codes and tokens only as the
-- SHA-256 of their value (lowercase hex). Times are RFC 3339 text like everywhere else.

-- The owner: one row at most. The throttle of wrong passphrases lives here so that
-- every process sharing the file sees it, and setting a passphrase resets it.
CREATE TABLE oauth_owner (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    passphrase_hash    TEXT NOT NULL,
    set_at             TEXT NOT NULL,
    failed_attempts    INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    -- No attempt is checked before this time (the growing delay, or the lockout).
    next_attempt_at    TEXT,
    last_failure_at    TEXT
);

-- Clients registered through RFC 7591. `approved_at` is set by the owner's first
-- consent; registrations never approved are the ones that expire first.
CREATE TABLE oauth_clients (
    client_id       TEXT PRIMARY KEY NOT NULL,
    client_name     TEXT NOT NULL,
    -- JSON array of the exact redirect URIs registered.
    redirect_uris   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    approved_at     TEXT,
    last_used_at    TEXT,
    revoked_at      TEXT
);
CREATE INDEX oauth_clients_unapproved ON oauth_clients (created_at) WHERE approved_at IS NULL;

-- Authorization codes: single-use, short-lived, bound to the client, the redirect URI
-- and the PKCE challenge.
CREATE TABLE oauth_codes (
    code_hash       TEXT PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    resource        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT
);

-- Access and refresh tokens. A refresh token is used once: `used_at` set, a new pair
-- issued. A refresh token presented again after its use revokes the whole client.
CREATE TABLE oauth_tokens (
    token_hash      TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id       TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    resource        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT
);
CREATE INDEX oauth_tokens_by_client ON oauth_tokens (client_id);
