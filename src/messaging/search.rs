//! `search_messages`: full-text search over every message, both directions, best match
//! first, with the filters a person narrows a search by.

use super::{Messaging, MessagingError};
use crate::store::search::{
    IndexProgress, SearchFilter, SearchHit, compile_query, index_progress, search_messages,
};
use crate::timefmt::{format_micros, parse_rfc3339};

/// The default and largest number of results.
pub const DEFAULT_SEARCH_LIMIT: u32 = 20;
pub const MAX_SEARCH_LIMIT: u32 = 50;

/// A search as a caller writes it.
#[derive(Debug, Clone, Default)]
pub struct SearchInput {
    /// Words (all must match, any order), `"quoted phrases"`, `prefix*`, `OR`.
    pub query: String,
    /// Only the conversation with this phone number (any format) or BSUID.
    pub contact: Option<String>,
    /// `inbound`, `outbound` or `all` (default).
    pub direction: Option<String>,
    /// Only messages stored at or after this ISO-8601 instant.
    pub since: Option<String>,
    /// Only messages stored before this ISO-8601 instant.
    pub until: Option<String>,
    pub limit: Option<u32>,
}

/// What a search found, and whether every message could be searched.
#[derive(Debug, Clone)]
pub struct SearchResults {
    /// Best match first, then newest.
    pub hits: Vec<SearchHit>,
    /// Incomplete while messages stored before the index existed are being indexed.
    pub index: IndexProgress,
}

impl Messaging {
    /// Searches every message's text (see `docs/api/mcp-tools.md` for what is indexed).
    pub async fn search_messages(&self, q: SearchInput) -> Result<SearchResults, MessagingError> {
        let limit = q.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
        if !(1..=MAX_SEARCH_LIMIT).contains(&limit) {
            return Err(MessagingError::InvalidInput(format!(
                "`limit` must be 1 to {MAX_SEARCH_LIMIT}; got {limit}"
            )));
        }
        let query =
            compile_query(&q.query).map_err(|e| MessagingError::InvalidInput(e.to_string()))?;
        let contact = match q
            .contact
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(c) => Some(self.contact_key(c).await?),
            None => None,
        };
        let filter = SearchFilter {
            contact,
            direction: parse_direction(q.direction.as_deref())?,
            since: parse_instant("since", q.since.as_deref())?,
            until: parse_instant("until", q.until.as_deref())?,
        };
        let (hits, index) = self
            .store
            .read(move |c| {
                let hits = search_messages(c, &query, &filter, limit as usize)?;
                Ok((hits, index_progress(c)?))
            })
            .await?;
        Ok(SearchResults { hits, index })
    }
}

/// `inbound`, `outbound`, or both for `all` / nothing.
pub(super) fn parse_direction(given: Option<&str>) -> Result<Option<&'static str>, MessagingError> {
    match given.map(str::trim) {
        None | Some("" | "all") => Ok(None),
        Some("inbound") => Ok(Some("inbound")),
        Some("outbound") => Ok(Some("outbound")),
        Some(other) => Err(MessagingError::InvalidInput(format!(
            "`direction` must be inbound, outbound or all; got {other:?}"
        ))),
    }
}

/// An ISO-8601 instant as stored `created_at` text, or `None` when not given.
fn parse_instant(name: &str, given: Option<&str>) -> Result<Option<String>, MessagingError> {
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_rfc3339(s)
            .map(|us| Some(format_micros(us)))
            .map_err(|_| {
                MessagingError::InvalidInput(format!(
                    "`{name}` must be an ISO-8601 timestamp such as 2026-11-24T09:30:00Z; got {s:?}"
                ))
            }),
    }
}
