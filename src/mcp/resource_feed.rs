//! The feed behind resource subscriptions: one task per MCP connection follows the
//! store's commit signal, reads the inbound messages committed since it last looked
//! (by this process or another one sharing the file) and publishes the URIs of the
//! conversations they joined. `resources/subscribe` subscribers hear about their URIs
//! through one forwarding task; each `subscriptions/listen` stream filters the feed
//! itself.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use rmcp::model::ResourceUpdatedNotificationParam;
use rmcp::service::Peer;
use rmcp::{ErrorData, RoleServer};
use tokio::sync::broadcast;

use super::resources::{conversation_uri, internal};
use super::session::Session;
use crate::store::{PageCursor, Store, threads};

/// Inbound messages the feed reads per query.
const FEED_BATCH: usize = 500;

/// What one MCP connection keeps about resources: the subscribed URIs and the feed.
#[derive(Clone)]
pub(crate) struct ResourceState {
    inner: Arc<StateInner>,
}

struct StateInner {
    /// The connection: the feed and the forwarding stop when it ends.
    session: Session,
    /// Conversations subscribed with `resources/subscribe`: each canonical URI, with
    /// the URIs the client wrote for it (the ones its updates must name).
    subscribed: Mutex<HashMap<String, BTreeSet<String>>>,
    /// URIs of conversations that just received inbound messages; started on first use.
    feed: OnceLock<broadcast::Sender<String>>,
    /// Whether the task forwarding the feed to `resources/subscribe` subscribers runs.
    forwarding: OnceLock<()>,
}

impl ResourceState {
    /// Nothing subscribed yet, for the connection `session`.
    pub(crate) fn new(session: Session) -> ResourceState {
        ResourceState {
            inner: Arc::new(StateInner {
                session,
                subscribed: Mutex::default(),
                feed: OnceLock::new(),
                forwarding: OnceLock::new(),
            }),
        }
    }

    /// A receiver of the feed, starting the feed on first use. Once this returns, every
    /// inbound message committed afterwards reaches the receiver.
    pub(super) async fn feed(
        &self,
        store: &Store,
    ) -> Result<broadcast::Receiver<String>, ErrorData> {
        if let Some(tx) = self.inner.feed.get() {
            return Ok(tx.subscribe());
        }
        // Subscribed before the position is read: nothing committed between is missed.
        let commits = store.subscribe_commits();
        let cursor = store
            .read(threads::newest_position)
            .await
            .map_err(internal)?;
        let mut first = None;
        let tx = self.inner.feed.get_or_init(|| {
            let (tx, rx) = broadcast::channel(1024);
            first = Some(rx);
            let (feed, ended) = (
                run_feed(store.clone(), tx.clone(), commits, cursor),
                self.inner.session.ended(),
            );
            tokio::spawn(async move {
                tokio::select! {
                    () = feed => {}
                    () = ended => {}
                }
            });
            tx
        });
        Ok(first.unwrap_or_else(|| tx.subscribe()))
    }

    /// The URIs the client subscribed to the conversation whose canonical URI is `uri`.
    fn subscribed_as(&self, uri: &str) -> Vec<String> {
        self.inner
            .subscribed
            .lock()
            .map(|s| s.get(uri).into_iter().flatten().cloned().collect())
            .unwrap_or_default()
    }
}

/// Publishes the URIs of conversations that received inbound messages after `cursor`
/// (by any process), for as long as the connection lasts.
async fn run_feed(
    store: Store,
    tx: broadcast::Sender<String>,
    mut commits: tokio::sync::watch::Receiver<u64>,
    mut cursor: PageCursor,
) {
    loop {
        commits.borrow_and_update();
        if let Err(e) = publish_arrivals(&store, &tx, &mut cursor).await {
            tracing::warn!(error = %e, "resource_feed_query_failed");
        }
        if commits.changed().await.is_err() {
            return;
        }
    }
}

/// Sends one URI per conversation (by thread key and by BSUID) with inbound messages
/// after `cursor`, and moves the cursor past them.
async fn publish_arrivals(
    store: &Store,
    tx: &broadcast::Sender<String>,
    cursor: &mut PageCursor,
) -> Result<(), crate::store::StoreError> {
    loop {
        let after = cursor.clone();
        let arrivals = store
            .read(move |c| threads::inbound_after(c, &after, FEED_BATCH))
            .await?;
        let mut uris = BTreeSet::new();
        for a in &arrivals {
            uris.extend(a.contact.as_deref().map(conversation_uri));
            uris.extend(a.user_id.as_deref().map(conversation_uri));
        }
        if let Some(last) = arrivals.last() {
            *cursor = last.cursor.clone();
        }
        for uri in uris {
            // No receiver means no subscriber right now; nothing is owed to anyone.
            let _ = tx.send(uri);
        }
        if arrivals.len() < FEED_BATCH {
            return Ok(());
        }
    }
}

/// Sends `notifications/resources/updated` to the client for every feed URI
/// subscribed through `resources/subscribe`, until the peer goes away (the caller
/// also stops it when the connection ends).
async fn forward_to_subscribers(
    state: ResourceState,
    mut feed: broadcast::Receiver<String>,
    peer: Peer<RoleServer>,
) {
    loop {
        match feed.recv().await {
            Ok(uri) => {
                for given in state.subscribed_as(&uri) {
                    let param = ResourceUpdatedNotificationParam::new(given);
                    if let Err(e) = peer.notify_resource_updated(param).await {
                        tracing::debug!(error = %e, "resource_subscriber_gone");
                        return;
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

impl ResourceState {
    /// Adds the conversation `canonical` to the connection's subscriptions, its updates
    /// naming `given` (the URI as the client wrote it); the first one starts the
    /// forwarding of updates to `peer`.
    pub(super) async fn subscribe(
        &self,
        canonical: String,
        given: String,
        store: &Store,
        peer: Peer<RoleServer>,
    ) -> Result<(), ErrorData> {
        let feed = self.feed(store).await?;
        if let Ok(mut subscribed) = self.inner.subscribed.lock() {
            subscribed.entry(canonical).or_default().insert(given);
        }
        if self.inner.forwarding.set(()).is_ok() {
            let (forward, ended) = (
                forward_to_subscribers(self.clone(), feed, peer),
                self.inner.session.ended(),
            );
            tokio::spawn(async move {
                tokio::select! {
                    () = forward => {}
                    () = ended => {}
                }
            });
        }
        Ok(())
    }

    /// Removes the conversation `canonical` from the connection's subscriptions,
    /// whichever URIs named it.
    pub(super) fn unsubscribe(&self, canonical: &str) {
        if let Ok(mut subscribed) = self.inner.subscribed.lock() {
            subscribed.remove(canonical);
        }
    }
}
