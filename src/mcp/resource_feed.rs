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
use crate::messaging::{InboundFollower, Messaging};

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
    /// Feed receivers made when a `subscriptions/listen` stream was accepted, before its
    /// acknowledgement went out, for the stream to take when it starts.
    accepted_listens: Mutex<Vec<broadcast::Receiver<String>>>,
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
                accepted_listens: Mutex::default(),
            }),
        }
    }

    /// A receiver of the feed, starting the feed on first use. Once this returns, every
    /// inbound message committed afterwards reaches the receiver.
    pub(super) async fn feed(
        &self,
        messaging: &Messaging,
    ) -> Result<broadcast::Receiver<String>, ErrorData> {
        if let Some(tx) = self.inner.feed.get() {
            return Ok(tx.subscribe());
        }
        let follower = messaging.follow_inbound().await.map_err(internal)?;
        Ok(self.start_feed(follower))
    }

    /// [`ResourceState::feed`] for a caller that cannot wait: once the feed runs it only
    /// subscribes; the first time it reads the starting position on this thread (one
    /// indexed row).
    fn feed_now(&self, messaging: &Messaging) -> Result<broadcast::Receiver<String>, ErrorData> {
        if let Some(tx) = self.inner.feed.get() {
            return Ok(tx.subscribe());
        }
        let follower = messaging.follow_inbound_now().map_err(internal)?;
        Ok(self.start_feed(follower))
    }

    /// A receiver of the feed, starting it with `follower` unless it already runs.
    fn start_feed(&self, follower: InboundFollower) -> broadcast::Receiver<String> {
        let mut first = None;
        let tx = self.inner.feed.get_or_init(|| {
            let (tx, rx) = broadcast::channel(1024);
            first = Some(rx);
            let (feed, ended) = (run_feed(follower, tx.clone()), self.inner.session.ended());
            tokio::spawn(async move {
                tokio::select! {
                    () = feed => {}
                    () = ended => {}
                }
            });
            tx
        });
        first.unwrap_or_else(|| tx.subscribe())
    }

    /// Called when a `subscriptions/listen` stream is accepted, before rmcp acknowledges
    /// it: from here on every inbound message reaches the receiver kept for the stream,
    /// so one stored between the acknowledgement and the stream's start is not missed.
    pub(super) fn accept_listen(&self, messaging: &Messaging) {
        match self.feed_now(messaging) {
            Ok(rx) => {
                if let Ok(mut accepted) = self.inner.accepted_listens.lock() {
                    accepted.push(rx);
                }
            }
            Err(e) => tracing::warn!(error = %e.message, "resource_feed_unavailable"),
        }
    }

    /// The feed for a starting `subscriptions/listen` stream: the receiver kept when it
    /// was accepted (one kept earlier for a stream that never started only brings
    /// spare updates), else a new one.
    pub(super) async fn listen_feed(
        &self,
        messaging: &Messaging,
    ) -> Result<broadcast::Receiver<String>, ErrorData> {
        let kept = self
            .inner
            .accepted_listens
            .lock()
            .ok()
            .and_then(|mut accepted| accepted.pop());
        match kept {
            Some(rx) => Ok(rx),
            None => self.feed(messaging).await,
        }
    }

    /// Every URI the client subscribed to, in order.
    fn all_subscribed(&self) -> Vec<String> {
        self.inner
            .subscribed
            .lock()
            .map(|s| s.values().flatten().cloned().collect::<BTreeSet<_>>())
            .unwrap_or_default()
            .into_iter()
            .collect()
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

/// Publishes the URIs of conversations that received inbound messages after the
/// follower's start (by any process), one per conversation per batch (by thread key and
/// by BSUID), for as long as the connection lasts.
async fn run_feed(mut follower: InboundFollower, tx: broadcast::Sender<String>) {
    while let Some(next) = follower.next_arrivals().await {
        let arrivals = match next {
            Ok(arrivals) => arrivals,
            Err(e) => {
                tracing::warn!(error = %e, "resource_feed_query_failed");
                continue;
            }
        };
        let mut uris = BTreeSet::new();
        for a in &arrivals {
            uris.extend(a.contact.as_deref().map(conversation_uri));
            uris.extend(a.user_id.as_deref().map(conversation_uri));
        }
        for uri in uris {
            // No receiver means no subscriber right now; nothing is owed to anyone.
            let _ = tx.send(uri);
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
    while let Some(updates) = next_updates(&state, &mut feed).await {
        for given in updates {
            let param = ResourceUpdatedNotificationParam::new(given);
            if let Err(e) = peer.notify_resource_updated(param).await {
                tracing::debug!(error = %e, "resource_subscriber_gone");
                return;
            }
        }
    }
}

/// The URIs to notify for the feed's next event: the ones subscribed to the
/// conversation that received a message. When the client was too slow and the feed
/// dropped events, every subscribed URI: any of them may have been among the dropped,
/// and a spare update costs a read while a missed one leaves the client stale. `None`
/// once the feed has ended.
async fn next_updates(
    state: &ResourceState,
    feed: &mut broadcast::Receiver<String>,
) -> Option<Vec<String>> {
    match feed.recv().await {
        Ok(uri) => Some(state.subscribed_as(&uri)),
        Err(broadcast::error::RecvError::Lagged(skipped)) => {
            tracing::warn!(skipped, "resource_feed_lagged: updating every subscription");
            Some(state.all_subscribed())
        }
        Err(broadcast::error::RecvError::Closed) => None,
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
        messaging: &Messaging,
        peer: Peer<RoleServer>,
    ) -> Result<(), ErrorData> {
        let feed = self.feed(messaging).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn subscribed(state: &ResourceState, canonical: &str, given: &str) {
        if let Ok(mut s) = state.inner.subscribed.lock() {
            s.entry(canonical.into()).or_default().insert(given.into());
        }
    }

    #[tokio::test]
    async fn a_feed_that_fell_behind_updates_every_subscription() {
        let state = ResourceState::new(Session::new());
        subscribed(
            &state,
            "whatsapp://conversations/1",
            "whatsapp://conversations/+1",
        );
        subscribed(
            &state,
            "whatsapp://conversations/2",
            "whatsapp://conversations/2",
        );
        let (tx, mut rx) = broadcast::channel(2);
        let send = |uri: &str| tx.send(uri.to_owned()).map(drop).expect("sent");
        send("whatsapp://conversations/1");
        send("whatsapp://conversations/3");
        send("whatsapp://conversations/3");
        assert_eq!(
            next_updates(&state, &mut rx).await,
            Some(vec![
                "whatsapp://conversations/+1".to_owned(),
                "whatsapp://conversations/2".to_owned()
            ]),
            "the update for conversation 1 was dropped: every subscription hears instead"
        );
        for _ in 0..2 {
            assert_eq!(
                next_updates(&state, &mut rx).await,
                Some(vec![]),
                "nobody subscribed to 3"
            );
        }
        send("whatsapp://conversations/2");
        assert_eq!(
            next_updates(&state, &mut rx).await,
            Some(vec!["whatsapp://conversations/2".to_owned()])
        );
        drop(tx);
        assert_eq!(next_updates(&state, &mut rx).await, None);
    }
}
