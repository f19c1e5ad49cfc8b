//! `wait_for_messages`: a page of inbound messages, as soon as one exists after the
//! cursor, instead of polling `get_messages`.
//!
//! The wait sleeps on the store's commit signal ([`Store::subscribe_commits`]): a
//! commit by this process wakes it at once, one by another process sharing the file
//! within the store's cross-process poll interval. Each wake-up costs one indexed page
//! query; nothing runs while nothing is written.
//!
//! [`Store::subscribe_commits`]: crate::store::Store::subscribe_commits

use std::future::Future;
use std::time::Duration;

use super::query::{Plan, plan};
use super::{MessagePage, MessageQuery, Messaging, MessagingError, NextCursor};
use crate::store::{read, threads};

/// The wait when none is given, and the longest allowed.
pub const DEFAULT_WAIT_SECONDS: u32 = 30;
pub const MAX_WAIT_SECONDS: u32 = 60;

/// A wait as a caller writes it.
#[derive(Debug, Clone, Default)]
pub struct WaitQuery {
    /// An ISO-8601 timestamp: only messages created after it (a previous page's
    /// `next.since`). Without it the wait starts "from now".
    pub since: Option<String>,
    /// With `since`: only messages after (`since`, `since_id`).
    pub since_id: Option<String>,
    /// Only this conversation: a phone number in any format, or a BSUID.
    pub contact: Option<String>,
    /// 1 to [`MAX_WAIT_SECONDS`]; [`DEFAULT_WAIT_SECONDS`] when `None`.
    pub timeout_seconds: Option<u32>,
}

impl Messaging {
    /// Waits until at least one inbound message exists after the cursor and returns
    /// the first page of them (the `get_messages` shape, `direction` inbound), or
    /// after the timeout an empty page whose `next` is the cursor given.
    ///
    /// Without `since` the cursor is "now": only messages committed after the call
    /// began count, and the returned `next` (on timeout too) is that position, so
    /// passing it back continues without a gap. When `cancelled` completes first the
    /// wait ends at once with the same empty page as a timeout.
    pub async fn wait_for_messages(
        &self,
        q: WaitQuery,
        cancelled: impl Future<Output = ()>,
    ) -> Result<MessagePage, MessagingError> {
        let timeout = wait_timeout(q.timeout_seconds)?;
        let contact = q
            .contact
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let contact_key = match &contact {
            Some(c) => Some(self.contact_key(c).await?),
            None => None,
        };
        let query = MessageQuery {
            since: q.since,
            since_id: q.since_id,
            limit: None,
            direction: Some("inbound".into()),
            contact: None,
        };
        // On timeout the answer's `next` is `plan.given`: the cursor exactly as written.
        let mut plan = plan(query, contact_key)?;
        // Subscribed before the first look: a commit landing between the look and the
        // sleep still wakes the wait.
        let commits = self.store.subscribe_commits();
        if plan.after.is_none() {
            self.start_from_now(&mut plan).await?;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        self.wait_for_page(plan, contact, commits, deadline, cancelled)
            .await
    }

    /// Points `plan` at the newest position: only messages committed from now on count,
    /// and the cursor answered on a timeout is that position.
    async fn start_from_now(&self, plan: &mut Plan) -> Result<(), MessagingError> {
        let now = self.store.read(threads::newest_position).await?;
        plan.given = NextCursor {
            since: Some(now.created_at.clone()),
            since_id: None,
        };
        plan.after = Some(now);
        Ok(())
    }

    /// Looks for a page after the plan's cursor at once and after every commit, until
    /// one is not empty, the deadline passes, `cancelled` completes or the store closes
    /// (each of those answers the empty page).
    async fn wait_for_page(
        &self,
        mut plan: Plan,
        contact: Option<String>,
        mut commits: tokio::sync::watch::Receiver<u64>,
        deadline: tokio::time::Instant,
        cancelled: impl Future<Output = ()>,
    ) -> Result<MessagePage, MessagingError> {
        tokio::pin!(cancelled);
        loop {
            commits.borrow_and_update();
            if let Some(c) = &contact {
                // A user known by BSUID may show their phone number meanwhile: the
                // conversation is then keyed by the number, and its new messages too.
                plan.filter.contact = Some(self.contact_key(c).await?);
            }
            let page = self.inbound_page(&plan).await?;
            if !page.messages.is_empty() {
                return Ok(page);
            }
            tokio::select! {
                changed = commits.changed() => {
                    if changed.is_err() {
                        return Ok(page);
                    }
                }
                () = tokio::time::sleep_until(deadline) => return Ok(page),
                () = &mut cancelled => {
                    tracing::debug!("wait_for_messages_cancelled");
                    return Ok(page);
                }
            }
        }
    }

    /// One page after the plan's cursor; `next` is the given cursor when it is empty.
    async fn inbound_page(&self, plan: &Plan) -> Result<MessagePage, MessagingError> {
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
            None => plan.given.clone(),
        };
        Ok(MessagePage {
            messages: rows,
            next,
            has_more,
        })
    }
}

fn wait_timeout(seconds: Option<u32>) -> Result<Duration, MessagingError> {
    let seconds = seconds.unwrap_or(DEFAULT_WAIT_SECONDS);
    if !(1..=MAX_WAIT_SECONDS).contains(&seconds) {
        return Err(MessagingError::InvalidInput(format!(
            "`timeoutSeconds` must be 1 to {MAX_WAIT_SECONDS}; got {seconds}. To wait longer, \
             call wait_for_messages again with the `next` cursor it returned"
        )));
    }
    Ok(Duration::from_secs(u64::from(seconds)))
}
