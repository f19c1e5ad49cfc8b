//! RFC 7591 dynamic client registration for public clients (no secret: PKCE protects
//! the code), and the owner's view of the clients: list and revoke. Redirect URIs are
//! `https://…` or `http://` on a loopback host (desktop and command-line clients), in
//! ASCII; anything else, and fragments, are refused. Client names lose the characters
//! that would change how the text around them shows ([`strip_invisible`]). Registrations are bounded: at most
//! [`MAX_CLIENTS`] that are not revoked. Those never approved expire after
//! [`UNAPPROVED_TTL_SECS`], or give way, oldest first, to a newcomer when the places are
//! full, but only once they are [`FRESH_SECS`] old: a flood of registrations gets 503
//! and never takes the registration of an owner who is on the consent page.

use serde::Deserialize;

use super::{Authority, OAuthError, secrets};
use crate::config::{is_loopback_host, split_authority};
use crate::store::oauth::{self as sql, ClientRow, Registration};
use crate::store::{Store, StoreError};

/// The most registrations kept.
pub const MAX_CLIENTS: u32 = 50;
/// How long a registration the owner never approved is kept.
pub const UNAPPROVED_TTL_SECS: i64 = 24 * 60 * 60;
/// How long a new registration is kept whatever comes after it: long enough for the
/// owner to read the consent page (a form stays open for
/// [`PENDING_TTL_SECS`](super::consent::PENDING_TTL_SECS)) and approve.
pub const FRESH_SECS: i64 = 15 * 60;
/// The most redirect URIs one client may register.
pub const MAX_REDIRECT_URIS: usize = 8;
/// The longest redirect URI accepted, in bytes.
pub const MAX_REDIRECT_URI_BYTES: usize = 2048;
/// The longest client name kept, in characters (a longer one is cut).
pub const MAX_CLIENT_NAME_CHARS: usize = 100;

/// The registration request fields this server reads (others are ignored, as RFC 7591
/// allows).
#[derive(Debug, Default, Deserialize)]
pub struct ClientRegistration {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub response_types: Option<Vec<String>>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
}

/// A registration as the answer describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredClient {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    /// Unix seconds.
    pub issued_at: i64,
}

impl Authority {
    /// Registers a public client after checking its metadata.
    pub async fn register(&self, req: ClientRegistration) -> Result<RegisteredClient, OAuthError> {
        check_registration(&req)?;
        let client_name = client_name(req.client_name.as_deref(), &req.redirect_uris[0]);
        let row = ClientRow {
            client_id: secrets::new_identifier()?,
            client_name,
            redirect_uris: req.redirect_uris,
            created_at: self.at(0),
            approved_at: None,
            last_used_at: None,
            revoked_at: None,
        };
        let (stale_before, fresh_after) = (self.at(-UNAPPROVED_TTL_SECS), self.at(-FRESH_SECS));
        let stored = row.clone();
        let outcome = self
            .store
            .write(move |ctx| {
                sql::insert_client(ctx, &stored, &stale_before, &fresh_after, MAX_CLIENTS)
            })
            .await?;
        match outcome {
            Registration::Stored => {}
            Registration::FullOfApproved => {
                tracing::warn!(limit = MAX_CLIENTS, "oauth_registration_refused_full");
                return Err(OAuthError::InvalidClientMetadata(format!(
                    "{MAX_CLIENTS} clients the owner approved are registered; the owner must \
                     revoke one (wa-mcp auth clients, wa-mcp auth revoke) before another can \
                     register"
                )));
            }
            Registration::FullOfFresh => {
                tracing::warn!(limit = MAX_CLIENTS, "oauth_registration_refused_busy");
                return Err(OAuthError::Unavailable);
            }
        }
        tracing::info!(client_id = %row.client_id, redirect_host = %redirect_host(&row.redirect_uris[0]), "oauth_client_registered");
        Ok(RegisteredClient {
            client_id: row.client_id,
            client_name: row.client_name,
            redirect_uris: row.redirect_uris,
            issued_at: self.now_micros() / 1_000_000,
        })
    }
}

fn check_registration(req: &ClientRegistration) -> Result<(), OAuthError> {
    if req.redirect_uris.is_empty() || req.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::InvalidRedirectUri(format!(
            "redirect_uris must list 1 to {MAX_REDIRECT_URIS} URIs"
        )));
    }
    for uri in &req.redirect_uris {
        check_redirect_uri(uri).map_err(OAuthError::InvalidRedirectUri)?;
    }
    let only = |given: &Option<Vec<String>>, allowed: &[&str], field: &str| match given {
        Some(list) if list.iter().any(|g| !allowed.contains(&g.as_str())) => Err(
            OAuthError::InvalidClientMetadata(format!("{field} may only hold {allowed:?}")),
        ),
        _ => Ok(()),
    };
    only(
        &req.grant_types,
        &["authorization_code", "refresh_token"],
        "grant_types",
    )?;
    only(&req.response_types, &["code"], "response_types")?;
    match req.token_endpoint_auth_method.as_deref() {
        None | Some("none") => Ok(()),
        Some(_) => Err(OAuthError::InvalidClientMetadata(
            "only public clients can register: token_endpoint_auth_method must be \"none\"".into(),
        )),
    }
}

/// Checks one redirect URI: `https://host…` or `http://<loopback>…`, no fragment, no
/// user info, bounded length. The error says why.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_REDIRECT_URI_BYTES {
        return Err(format!(
            "a redirect URI may be at most {MAX_REDIRECT_URI_BYTES} bytes"
        ));
    }
    if uri.contains('#') || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("redirect URI {uri:?} has a fragment or spaces"));
    }
    if !uri.is_ascii() {
        return Err(format!(
            "redirect URI {uri:?} has characters beyond ASCII: percent-encode them, and \
             write an international host name in its xn-- form"
        ));
    }
    let (https, rest) = if let Some(rest) = uri.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = uri.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(format!(
            "redirect URI {uri:?} must be https, or http on localhost or 127.0.0.1"
        ));
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(format!("redirect URI {uri:?} has user info"));
    }
    let (host, _) =
        split_authority(authority).ok_or_else(|| format!("redirect URI {uri:?} has no host"))?;
    if !https && !is_loopback_host(host) {
        return Err(format!(
            "redirect URI {uri:?} must be https (plain http only on localhost or 127.0.0.1)"
        ));
    }
    Ok(())
}

/// The host a redirect URI sends the browser to, as the consent page shows it.
pub fn redirect_host(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// `text` without the characters that change how the text around them shows: control
/// characters, bidi embeddings, overrides, isolates and marks (which could show "sends
/// you back to HOST" in another order on the consent page or in the owner's terminal),
/// line separators and zero-width characters.
pub fn strip_invisible(text: &str) -> String {
    text.chars().filter(|c| !is_invisible(*c)).collect()
}

fn is_invisible(c: char) -> bool {
    c.is_control()
        || crate::terminal::is_unsafe_for_terminal(c)
        || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2065}' | '\u{feff}')
}

/// The name to show: the client's own, cut to [`MAX_CLIENT_NAME_CHARS`] and stripped
/// of invisible characters ([`strip_invisible`]), or the redirect host when it gave none.
fn client_name(given: Option<&str>, first_redirect: &str) -> String {
    let cleaned: String = given
        .unwrap_or_default()
        .chars()
        .filter(|c| !is_invisible(*c))
        .take(MAX_CLIENT_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        format!("an unnamed client of {}", redirect_host(first_redirect))
    } else {
        cleaned.to_owned()
    }
}

/// Every registration, for `wa-mcp auth clients`.
pub fn list_clients(store: &Store) -> Result<Vec<ClientRow>, StoreError> {
    store.read_blocking(sql::list_clients)
}

/// Revokes a client and every code and token it holds; its next request is refused,
/// in this process or any other sharing the database. `false` if no such client.
pub fn revoke_client(store: &Store, client_id: &str) -> Result<bool, StoreError> {
    let id = client_id.to_owned();
    let revoked = store.write_blocking(move |ctx| sql::revoke_client(ctx, &id))?;
    if revoked {
        tracing::info!(client_id, "oauth_client_revoked");
    }
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_loopback_http() {
        for ok in [
            "https://claude.ai/api/mcp/auth_callback",
            "http://127.0.0.1:33418/callback",
            "http://localhost:8080/cb?x=1",
            "http://[::1]:9000/",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://claude.ai/callback",
            "javascript:alert(1)",
            "cursor://callback",
            "https://claude.ai/cb#frag",
            "https://user@claude.ai/cb",
            "https:///nohost",
            "http://127.0.0.1.evil.example/cb",
            "https://claude.ai\u{202e}/cb",
            "https://exämple.com/cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_cut_cleaned_and_never_empty() {
        assert_eq!(client_name(Some("Claude\u{7}"), "https://x/cb"), "Claude");
        assert_eq!(
            client_name(
                Some("a\u{202e}b\u{2066}c\u{200f}d\u{200b}e"),
                "https://x/cb"
            ),
            "abcde"
        );
        assert_eq!(
            client_name(None, "https://claude.ai/cb"),
            "an unnamed client of claude.ai"
        );
        let long = "n".repeat(500);
        assert_eq!(client_name(Some(&long), "https://x").chars().count(), 100);
        assert_eq!(redirect_host("http://127.0.0.1:5/cb?q"), "127.0.0.1:5");
    }

    #[test]
    fn public_clients_only() {
        let req = ClientRegistration {
            redirect_uris: vec!["https://claude.ai/cb".into()],
            token_endpoint_auth_method: Some("client_secret_basic".into()),
            ..ClientRegistration::default()
        };
        assert_eq!(
            check_registration(&req)
                .map_err(|e| e.code())
                .expect_err("refused"),
            "invalid_client_metadata"
        );
    }
}
