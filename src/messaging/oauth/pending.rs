//! The consent forms in progress, kept in memory: bounded ([`MAX_PENDING`]) and
//! short-lived ([`PENDING_TTL_SECS`]), and a young one ([`PENDING_FRESH_SECS`]) is never
//! pushed out by newer ones (the newcomer is refused), so a flood of `GET
//! /oauth/authorize` cannot take the form the owner is filling in.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Consent forms kept at once; beyond, the oldest gives way once it is
/// [`PENDING_FRESH_SECS`] old, else the newcomer is refused.
pub const MAX_PENDING: usize = 32;
/// How long a consent form can be submitted.
pub const PENDING_TTL_SECS: i64 = 10 * 60;
/// How long a consent form is kept whatever comes after it: time for the owner to
/// type the passphrase.
pub const PENDING_FRESH_SECS: i64 = 5 * 60;
/// A consent form in progress: what the owner was shown and approves.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) cookie_hash: String,
    pub(super) client_id: String,
    pub(super) client_name: String,
    pub(super) redirect_uri: String,
    pub(super) challenge: String,
    pub(super) state: Option<String>,
    pub(super) resource: String,
    pub(super) created_micros: i64,
}

/// The consent forms in progress, under the hash of their CSRF token.
#[derive(Debug, Default)]
pub struct PendingConsents {
    forms: Mutex<HashMap<String, Pending>>,
}

impl PendingConsents {
    /// Keeps a new form after making room; `false` (nothing kept) when every place
    /// holds a form younger than [`PENDING_FRESH_SECS`]: a flood of forms never takes
    /// the one the owner is filling in.
    pub(super) fn insert(&self, csrf_hash: String, pending: Pending, now: i64) -> bool {
        let mut forms = self.forms.lock().unwrap_or_else(PoisonError::into_inner);
        forms.retain(|_, p| now - p.created_micros < PENDING_TTL_SECS * 1_000_000);
        if forms.len() >= MAX_PENDING {
            let oldest = forms
                .iter()
                .filter(|(_, p)| now - p.created_micros >= PENDING_FRESH_SECS * 1_000_000)
                .min_by_key(|(_, p)| p.created_micros)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => forms.remove(&k),
                None => return false,
            };
        }
        forms.insert(csrf_hash, pending);
        true
    }

    /// The form under `csrf_hash` while it can still be submitted.
    pub(super) fn get(&self, csrf_hash: &str, now: i64) -> Option<Pending> {
        let forms = self.forms.lock().ok()?;
        forms
            .get(csrf_hash)
            .filter(|p| now - p.created_micros < PENDING_TTL_SECS * 1_000_000)
            .cloned()
    }

    /// Forgets a form once it is answered.
    pub(super) fn remove(&self, csrf_hash: &str) {
        if let Ok(mut forms) = self.forms.lock() {
            forms.remove(csrf_hash);
        }
    }
}
