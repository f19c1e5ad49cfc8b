//! Conversations as wholes and what arrives in them: the contacts by latest activity,
//! one conversation's newest messages, and a follower of inbound messages committed
//! by any process sharing the database, for feeds that push them to a client.

use tokio::sync::watch;

use super::{Messaging, MessagingError};
use crate::model::{ContactSummary, InboundArrival, MessageRow, PageCursor};
use crate::store::{Store, threads};

/// Inbound messages a follower reads per query.
const FOLLOW_BATCH: usize = 500;

impl Messaging {
    /// Up to `limit` contacts, the most recently active first.
    pub async fn contacts_by_activity(
        &self,
        limit: usize,
    ) -> Result<Vec<ContactSummary>, MessagingError> {
        Ok(self
            .store
            .read(move |c| threads::contacts_by_activity(c, limit))
            .await?)
    }

    /// The contact whose thread key or BSUID is `key`, with the newest `limit` messages
    /// of the conversation, oldest first; `None` when there is no such contact.
    pub async fn conversation(
        &self,
        key: &str,
        limit: usize,
    ) -> Result<Option<(ContactSummary, Vec<MessageRow>)>, MessagingError> {
        let key = key.to_owned();
        Ok(self
            .store
            .read(move |c| {
                let Some(contact) = threads::find_contact(c, &key)? else {
                    return Ok(None);
                };
                let messages = threads::latest_messages(c, &contact.wa_id, limit)?;
                Ok(Some((contact, messages)))
            })
            .await?)
    }

    /// A follower of the inbound messages committed from now on, by this process or
    /// another one sharing the file. Nothing committed after this returns is missed.
    pub async fn follow_inbound(&self) -> Result<InboundFollower, MessagingError> {
        // Subscribed before the position is read: nothing committed between is missed.
        let commits = self.store.subscribe_commits();
        let cursor = self.store.read(threads::newest_position).await?;
        Ok(InboundFollower::new(self.store.clone(), commits, cursor))
    }

    /// [`Messaging::follow_inbound`] for a caller that cannot wait: it reads the
    /// starting position on this thread (one indexed row).
    pub fn follow_inbound_now(&self) -> Result<InboundFollower, MessagingError> {
        let commits = self.store.subscribe_commits();
        let cursor = self.store.read_blocking(threads::newest_position)?;
        Ok(InboundFollower::new(self.store.clone(), commits, cursor))
    }
}

/// Where a feed of inbound messages stands: it hands out every inbound message
/// committed after its starting point exactly once, in commit order, and holds no
/// more than one batch in memory however far behind its reader falls.
pub struct InboundFollower {
    store: Store,
    commits: watch::Receiver<u64>,
    cursor: PageCursor,
    /// The last read filled a batch: more may be waiting without a new commit.
    behind: bool,
}

impl InboundFollower {
    fn new(store: Store, commits: watch::Receiver<u64>, cursor: PageCursor) -> InboundFollower {
        InboundFollower {
            store,
            commits,
            cursor,
            // The first call looks once, whatever the commit signal says.
            behind: true,
        }
    }

    /// The next inbound messages after the follower's position (at most one batch),
    /// waiting for a commit when there are none; `None` once the store has closed.
    /// The position moves past what is returned.
    pub async fn next_arrivals(&mut self) -> Option<Result<Vec<InboundArrival>, MessagingError>> {
        loop {
            if !self.behind && self.commits.changed().await.is_err() {
                return None;
            }
            self.commits.borrow_and_update();
            let after = self.cursor.clone();
            let read = self
                .store
                .read(move |c| threads::inbound_after(c, &after, FOLLOW_BATCH))
                .await;
            let arrivals = match read {
                Ok(arrivals) => arrivals,
                Err(e) => {
                    self.behind = false;
                    return Some(Err(e.into()));
                }
            };
            self.behind = arrivals.len() == FOLLOW_BATCH;
            if let Some(last) = arrivals.last() {
                self.cursor = last.cursor.clone();
                return Some(Ok(arrivals));
            }
        }
    }
}
