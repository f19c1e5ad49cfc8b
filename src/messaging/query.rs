//! `get_messages`: one keyset page of the message log.

use super::{Messaging, MessagingError};
use crate::model::{MessageRow, PageCursor};
use crate::phone::{is_bsuid, to_meta_format};
use crate::store::{MessageFilter, outbound, read};
use crate::timefmt::{format_micros, now_micros, parse_rfc3339};

/// The default and largest page sizes.
pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// A page request as a caller writes it.
#[derive(Debug, Clone, Default)]
pub struct MessageQuery {
    /// An ISO-8601 timestamp: only messages created after it (the previous page's
    /// `next.since`).
    pub since: Option<String>,
    /// With `since`: only messages after (`since`, `since_id`) in `(createdAt, id)` order.
    pub since_id: Option<String>,
    pub limit: Option<u32>,
    /// `inbound`, `outbound` or `all` (default).
    pub direction: Option<String>,
    /// A phone number in any format, or a BSUID.
    pub contact: Option<String>,
}

/// Where the next page starts: the last row's cursor, or the given one when the page
/// is empty, so a client can poll with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NextCursor {
    pub since: Option<String>,
    pub since_id: Option<String>,
}

/// One page, oldest first.
#[derive(Debug, Clone)]
pub struct MessagePage {
    pub messages: Vec<MessageRow>,
    pub next: NextCursor,
    /// Whether more rows exist after this page right now.
    pub has_more: bool,
}

/// A validated query.
pub(super) struct Plan {
    pub(super) after: Option<PageCursor>,
    pub(super) given: NextCursor,
    pub(super) filter: MessageFilter,
    pub(super) limit: usize,
}

pub(super) fn plan(q: MessageQuery, contact_key: Option<String>) -> Result<Plan, MessagingError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(MessagingError::InvalidInput(format!(
            "`limit` must be 1 to {MAX_LIMIT}; got {limit}"
        )));
    }
    let direction = match q.direction.as_deref().map(str::trim) {
        None | Some("" | "all") => None,
        Some("inbound") => Some("inbound"),
        Some("outbound") => Some("outbound"),
        Some(other) => {
            return Err(MessagingError::InvalidInput(format!(
                "`direction` must be inbound, outbound or all; got {other:?}"
            )));
        }
    };
    let since_id = q.since_id.filter(|s| !s.is_empty());
    let given_since = q.since.filter(|s| !s.is_empty());
    let since = match given_since.as_deref() {
        Some(s) => Some(format_micros(parse_rfc3339(s).map_err(|_| {
            MessagingError::InvalidInput(format!(
                "`since` must be an ISO-8601 timestamp such as 2026-11-24T09:30:00.000000Z (the \
                 `next.since` of a previous page), not a message id or wamid; got {s:?}"
            ))
        })?)),
        None if since_id.is_some() => {
            return Err(MessagingError::InvalidInput(
                "`sinceId` needs `since`: pass both from the previous page's `next`".into(),
            ));
        }
        None => None,
    };
    let after = since.clone().map(|created_at| PageCursor {
        created_at,
        id: since_id.clone().unwrap_or_default(),
    });
    Ok(Plan {
        after,
        // An empty page answers the cursor exactly as the caller wrote it.
        given: NextCursor {
            since: given_since,
            since_id,
        },
        filter: MessageFilter {
            direction,
            contact: contact_key,
        },
        limit: limit as usize,
    })
}

impl Messaging {
    /// A page of messages in `(createdAt, id)` order after the given cursor, from the
    /// oldest when there is none. Also records the pull in `pull_cursors`.
    pub async fn get_messages(&self, q: MessageQuery) -> Result<MessagePage, MessagingError> {
        let contact_key = match q
            .contact
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(c) => Some(self.contact_key(c).await?),
            None => None,
        };
        let plan = plan(q, contact_key)?;
        let (after, filter, limit) = (plan.after.clone(), plan.filter.clone(), plan.limit);
        let mut rows = self
            .store
            .read(move |c| read::page_messages(c, after.as_ref(), &filter, limit + 1))
            .await?;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let next = match rows.last() {
            Some(last) => NextCursor {
                since: Some(last.created_at.clone()),
                since_id: Some(last.id.clone()),
            },
            None => plan.given,
        };
        self.record_pull();
        Ok(MessagePage {
            messages: rows,
            next,
            has_more,
        })
    }

    /// The thread key of `contact` (any phone format, or a BSUID).
    pub(super) async fn contact_key(&self, contact: &str) -> Result<String, MessagingError> {
        if is_bsuid(contact) {
            let user_id = contact.to_owned();
            let key = self
                .store
                .read(move |c| read::contact_key_for_user_id(c, &user_id))
                .await?;
            return Ok(key.unwrap_or_else(|| contact.to_owned()));
        }
        to_meta_format(contact).map_err(|e| {
            MessagingError::InvalidInput(format!(
                "`contact` must be a phone number with country code or a BSUID: {e}"
            ))
        })
    }

    /// Bookkeeping only: recorded in the background so a read never waits for a commit.
    fn record_pull(&self) {
        let store = self.store.clone();
        let pnid = self.default_phone_number_id.clone().unwrap_or_default();
        let at = format_micros(now_micros());
        tokio::spawn(async move {
            if let Err(e) = store
                .write(move |ctx| outbound::touch_pull_cursor(ctx, &pnid, &at))
                .await
            {
                tracing::debug!(error = %e, "pull_cursor_not_recorded");
            }
        });
    }
}
