//! `/oauth/authorize`: the request is checked, the owner sees a consent form, and the
//! right passphrase turns it into a single-use code sent to the client's redirect URI.
//!
//! Until the client and its exact redirect URI are known, every problem is an error
//! page and never a redirect (an open redirector would hand codes or errors to anyone).
//! After that, problems with the request go back to the client as `error=` on its
//! redirect URI. PKCE is S256 only; the RFC 8707 `resource`, when given, must be this
//! server's `/mcp`.
//!
//! A form in progress is kept in memory, bounded and short-lived (a young one is never
//! pushed out by newer ones: the newcomer is refused), under its CSRF token,
//! together with the hash of a cookie set on the browser that asked for it: the post
//! must carry both, so a page elsewhere cannot submit it. The post carries nothing else
//! that matters: what is approved is what the owner saw.

use super::passphrase::{delay_after_failures, failures_in_a_row, passphrase_matches};
use super::pending::Pending;
pub use super::pending::{MAX_PENDING, PENDING_FRESH_SECS, PENDING_TTL_SECS};
use super::{Authority, CODE_TTL_SECS, OAuthError, secrets};
use crate::store::oauth::{self as sql, CodeRow};

/// The longest `state` accepted.
const MAX_STATE_BYTES: usize = 1024;

/// The query of `GET /oauth/authorize`, as given.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub state: Option<String>,
    pub resource: Option<String>,
}

/// What the consent page shows and the form must send back.
#[derive(Debug, Clone)]
pub struct ConsentPage {
    /// The form's CSRF token.
    pub csrf: String,
    /// The cookie value to set with the page (`None` when re-showing the form: the
    /// browser already has it).
    pub cookie: Option<String>,
    /// The client's name as it registered (untrusted: escape it).
    pub client_name: String,
    pub client_id: String,
    /// Where approval sends the browser (host and port only).
    pub redirect_host: String,
    /// Why the form is shown again (wrong passphrase, throttle).
    pub error: Option<String>,
}

/// Why there is no consent form or no code.
#[derive(Debug)]
pub enum Refusal {
    /// Shown as an error page; nothing is redirected.
    Page(String),
    /// The client's verified redirect URI with `error=…`.
    Redirect(String),
    /// The same form again, with the reason.
    Again(Box<ConsentPage>),
    /// Too many forms are open: shown as an error page to try again later.
    Busy(String),
    /// The server failed; shown as an error page.
    Failed(OAuthError),
}

/// What the owner chose on the form.
pub enum Decision {
    Approve { passphrase: String },
    Deny,
}

impl Authority {
    /// Checks an authorization request and, if it is sound, opens a consent form.
    pub async fn begin_consent(&self, p: AuthorizeParams) -> Result<ConsentPage, Refusal> {
        let client_id = p.client_id.unwrap_or_default();
        let lookup = client_id.clone();
        let client = self
            .store
            .read(move |c| sql::find_client(c, &lookup))
            .await
            .map_err(|e| Refusal::Failed(e.into()))?
            .filter(|c| c.revoked_at.is_none())
            .ok_or_else(|| {
                Refusal::Page("This client is not registered here, or the owner revoked it.".into())
            })?;
        let redirect_uri = p.redirect_uri.unwrap_or_default();
        if !client.redirect_uris.contains(&redirect_uri) {
            return Err(Refusal::Page(
                "The redirect_uri is not one this client registered; nothing was sent to it."
                    .into(),
            ));
        }
        let back = |error: &str, description: &str| {
            Refusal::Redirect(redirect_with(
                &redirect_uri,
                &[
                    ("error", error),
                    ("error_description", description),
                    ("state", p.state.as_deref().unwrap_or_default()),
                    ("iss", self.public.as_str()),
                ],
                p.state.is_some(),
            ))
        };
        if p.response_type.as_deref() != Some("code") {
            return Err(back(
                "unsupported_response_type",
                "response_type must be code",
            ));
        }
        if p.code_challenge_method.as_deref() != Some("S256") {
            return Err(back(
                "invalid_request",
                "PKCE with code_challenge_method=S256 is required",
            ));
        }
        let challenge = p.code_challenge.unwrap_or_default();
        if !secrets::is_s256_challenge(&challenge) {
            return Err(back(
                "invalid_request",
                "code_challenge is not an S256 challenge",
            ));
        }
        if p.state.as_ref().is_some_and(|s| s.len() > MAX_STATE_BYTES) {
            return Err(back("invalid_request", "state is too long"));
        }
        let resource = self.resource();
        if let Some(given) = p.resource.as_deref()
            && given.trim_end_matches('/') != resource
        {
            return Err(back(
                "invalid_target",
                "resource must be this server's /mcp URL",
            ));
        }
        let csrf = secrets::new_secret().map_err(|e| Refusal::Failed(e.into()))?;
        let cookie = secrets::new_secret().map_err(|e| Refusal::Failed(e.into()))?;
        let now = self.now_micros();
        let pending = Pending {
            cookie_hash: secrets::secret_hash(&cookie),
            client_id: client.client_id.clone(),
            client_name: client.client_name.clone(),
            redirect_uri,
            challenge,
            state: p.state,
            resource,
            created_micros: now,
        };
        if !self
            .pending
            .insert(secrets::secret_hash(&csrf), pending.clone(), now)
        {
            tracing::warn!(limit = MAX_PENDING, "oauth_consent_forms_full");
            return Err(Refusal::Busy(
                "Too many consent forms are open right now. Try again in a few minutes.".into(),
            ));
        }
        Ok(page_for(&pending, csrf, Some(cookie), None))
    }

    /// The owner's answer to the form with `csrf`, posted by a browser holding
    /// `cookie`. Approval with the right passphrase: the redirect carrying a new code.
    pub async fn decide(
        &self,
        csrf: &str,
        cookie: Option<&str>,
        decision: Decision,
    ) -> Result<String, Refusal> {
        let csrf_hash = secrets::secret_hash(csrf);
        let now = self.now_micros();
        let pending = self
            .pending
            .get(&csrf_hash, now)
            .filter(|p| {
                let given = secrets::secret_hash(cookie.unwrap_or_default());
                constant_time_eq::constant_time_eq(given.as_bytes(), p.cookie_hash.as_bytes())
            })
            .ok_or_else(|| {
                Refusal::Page(
                    "This consent form expired or was not opened in this browser. Start again \
                     from the client."
                        .into(),
                )
            })?;
        let passphrase = match decision {
            Decision::Deny => {
                self.pending.remove(&csrf_hash);
                tracing::info!(client_id = %pending.client_id, "oauth_consent_denied");
                return Ok(self.answer(&pending, &[("error", "access_denied")]));
            }
            Decision::Approve { passphrase } => passphrase,
        };
        if let Err(why) = self.check_passphrase(passphrase).await {
            let page = page_for(&pending, csrf.to_owned(), None, Some(why));
            return Err(Refusal::Again(Box::new(page)));
        }
        self.pending.remove(&csrf_hash);
        let code = self.issue_code(&pending).await.map_err(Refusal::Failed)?;
        tracing::info!(client_id = %pending.client_id, "oauth_consent_approved");
        Ok(self.answer(&pending, &[("code", code.as_str())]))
    }

    fn answer(&self, pending: &Pending, fields: &[(&str, &str)]) -> String {
        let mut all = fields.to_vec();
        all.push(("state", pending.state.as_deref().unwrap_or_default()));
        all.push(("iss", self.public.as_str()));
        redirect_with(&pending.redirect_uri, &all, pending.state.is_some())
    }

    async fn issue_code(&self, pending: &Pending) -> Result<String, OAuthError> {
        let code = secrets::new_secret()?;
        let row = CodeRow {
            code_hash: secrets::secret_hash(&code),
            client_id: pending.client_id.clone(),
            redirect_uri: pending.redirect_uri.clone(),
            code_challenge: pending.challenge.clone(),
            resource: pending.resource.clone(),
            created_at: self.at(0),
            expires_at: self.at(CODE_TTL_SECS),
        };
        self.store
            .write(move |ctx| sql::insert_code(ctx, &row))
            .await?;
        Ok(code)
    }

    /// Checks the passphrase under the global throttle. The error is what the form says.
    async fn check_passphrase(&self, passphrase: String) -> Result<(), String> {
        let _one_at_a_time = self.checking.lock().await;
        let owner = self
            .store
            .read(sql::owner)
            .await
            .map_err(|e| format!("The database failed: {e}"))?
            .ok_or("No owner passphrase is set (wa-mcp auth passphrase).")?;
        let now = self.at(0);
        if let Some(next) = owner
            .next_attempt_at
            .as_deref()
            .filter(|n| *n > now.as_str())
        {
            let wait = crate::timefmt::parse_rfc3339(next).unwrap_or_default() - self.now_micros();
            return Err(format!(
                "Too many wrong passphrases: nothing is checked for another {} s. The owner \
                 can end this at once with `wa-mcp auth passphrase`.",
                wait / 1_000_000 + 1
            ));
        }
        let hash = owner.passphrase_hash;
        let right = tokio::task::spawn_blocking(move || passphrase_matches(&passphrase, &hash))
            .await
            .unwrap_or(false);
        if right {
            if owner.failed_attempts > 0 {
                let _ = self.store.write(sql::clear_failed_attempts).await;
            }
            return Ok(());
        }
        let clock = self.clone();
        let failures = self
            .store
            .write(move |ctx| {
                sql::record_failed_attempt(ctx, &now, |previous, last| {
                    let last = last.and_then(|t| crate::timefmt::parse_rfc3339(t).ok());
                    let n = failures_in_a_row(previous, last, clock.now_micros());
                    (n, clock.at(delay_after_failures(n)))
                })
            })
            .await
            .map_err(|e| format!("The database failed: {e}"))?;
        let delay = delay_after_failures(failures);
        tracing::warn!(
            failures,
            retry_after_secs = delay,
            locked = delay >= super::passphrase::LOCKOUT_SECS,
            "oauth_wrong_passphrase"
        );
        Err(format!(
            "Wrong passphrase. The next attempt is checked after {delay} s."
        ))
    }
}

fn page_for(
    p: &Pending,
    csrf: String,
    cookie: Option<String>,
    error: Option<String>,
) -> ConsentPage {
    ConsentPage {
        csrf,
        cookie,
        // Stripped again: a name stored before the rule was tightened may still hold them.
        client_name: super::clients::strip_invisible(&p.client_name),
        client_id: p.client_id.clone(),
        redirect_host: super::clients::strip_invisible(&super::clients::redirect_host(
            &p.redirect_uri,
        )),
        error,
    }
}

/// `uri` with `fields` added to its query (`state` only when the client sent one).
fn redirect_with(uri: &str, fields: &[(&str, &str)], has_state: bool) -> String {
    let mut out = uri.to_owned();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in fields {
        if *k == "state" && !has_state {
            continue;
        }
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.push_str(&percent_encode(v));
        sep = '&';
    }
    out
}

/// Percent-encodes everything but the unreserved characters (RFC 3986 §2.3).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_add_to_an_existing_query_and_encode_values() {
        let url = redirect_with(
            "https://c.example/cb?a=1",
            &[
                ("code", "x y"),
                ("state", "s&t"),
                ("iss", "https://w.example"),
            ],
            true,
        );
        assert_eq!(
            url,
            "https://c.example/cb?a=1&code=x%20y&state=s%26t&iss=https%3A%2F%2Fw.example"
        );
        let no_state = redirect_with("https://c/cb", &[("code", "c"), ("state", "")], false);
        assert_eq!(no_state, "https://c/cb?code=c");
    }
}
