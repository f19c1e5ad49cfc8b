//! Who may use each remote MCP session and stream, and the watch that ends them when
//! that access ends.
//!
//! A session belongs to the client whose token opened it: a request on it with another
//! client's token is answered like a session that does not exist (404), so a session
//! id that leaks lets no one else in. Each session and each event stream answered
//! outside a session (a 2026-07-28 `subscriptions/listen`) is held with the grant of the
//! latest token used on it; [`watch`] asks the authority, whenever the database
//! changes (a commit of this process or of another one sharing the file) and when the
//! earliest token expires, which grants lapsed, and ends what they hold: the session is
//! closed in rmcp and every response body it streams ends. Revoking a client, a reused
//! refresh token, a revoked or expired access token: each stops the notifications at
//! once, instead of at the next request that would have been refused.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::Response;
use hyper::body::{Body, Bytes, Frame, SizeHint};
use rmcp::transport::streamable_http_server::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

use super::session::Session;
use crate::messaging::oauth::{AccessGrant, Authority};

/// The longest the watch sleeps without looking (it also forgets sessions rmcp closed
/// on its own, idle or deleted).
const RECHECK: Duration = Duration::from_secs(30);
/// The shortest time between two looks, however fast commits come.
const MIN_SPACING: Duration = Duration::from_millis(200);

/// A session or stream held open, with the grant it was last used with.
#[derive(Clone)]
struct Held {
    grant: AccessGrant,
    life: Session,
}

/// The sessions and streams open on `/mcp`, each with its grant.
#[derive(Default)]
pub(crate) struct Grants {
    sessions: Mutex<HashMap<String, Held>>,
    streams: Mutex<HashMap<u64, Held>>,
    next_stream: AtomicU64,
}

impl Grants {
    /// The life of session `id` for a request with `grant`, which becomes the session's
    /// grant; `None` when no such session is held or it is another client's.
    pub(crate) fn session_life(&self, id: &str, grant: &AccessGrant) -> Option<Session> {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let held = sessions.get_mut(id)?;
        if held.grant.client_id != grant.client_id {
            tracing::warn!(
                client_id = %grant.client_id,
                "mcp_session_of_another_client_refused"
            );
            return None;
        }
        held.grant = grant.clone();
        Some(held.life.clone())
    }

    /// Holds the new session `id` for the client of `grant`.
    pub(crate) fn open_session(&self, id: String, grant: AccessGrant) -> Session {
        let life = Session::new();
        let held = Held {
            grant,
            life: life.clone(),
        };
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, held);
        life
    }

    /// Forgets session `id` and ends what it streams.
    pub(crate) fn end_session(&self, id: &str) {
        let held = self
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        if let Some(held) = held {
            held.life.end();
        }
    }

    /// Holds a stream answered outside a session, until the returned ticket is dropped
    /// (with the response body) or the grant lapses.
    pub(crate) fn open_stream(self: &Arc<Self>, grant: AccessGrant) -> (Session, StreamTicket) {
        let id = self.next_stream.fetch_add(1, Ordering::Relaxed);
        let life = Session::new();
        let held = Held {
            grant,
            life: life.clone(),
        };
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, held);
        let ticket = StreamTicket {
            grants: Arc::clone(self),
            id,
        };
        (life, ticket)
    }

    /// The token hashes of everything held, each once, and the earliest expiry.
    fn held_tokens(&self) -> (Vec<String>, Option<i64>) {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        let all = sessions.values().chain(streams.values());
        let mut hashes = HashSet::new();
        let mut earliest = None::<i64>;
        for held in all {
            hashes.insert(held.grant.token_hash.clone());
            let at = held.grant.expires_micros;
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
        (hashes.into_iter().collect(), earliest)
    }

    /// Ends every stream and session held with one of `lapsed`; returns the ids of
    /// those sessions.
    fn end_lapsed(&self, lapsed: &HashSet<String>) -> Vec<String> {
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        streams.retain(|_, held| {
            let keep = !lapsed.contains(&held.grant.token_hash);
            if !keep {
                held.life.end();
            }
            keep
        });
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let ended: Vec<String> = sessions
            .iter()
            .filter(|(_, held)| lapsed.contains(&held.grant.token_hash))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ended {
            if let Some(held) = sessions.remove(id) {
                tracing::info!(client_id = %held.grant.client_id, "mcp_session_closed_access_ended");
                held.life.end();
            }
        }
        ended
    }

    /// Forgets the sessions rmcp no longer has (closed idle or deleted).
    fn forget_all_but(&self, live: &HashSet<String>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.retain(|id, held| {
            let keep = live.contains(id);
            if !keep {
                held.life.end();
            }
            keep
        });
    }
}

/// Keeps a stream held while the response body lives.
pub(crate) struct StreamTicket {
    grants: Arc<Grants>,
    id: u64,
}

impl Drop for StreamTicket {
    fn drop(&mut self) {
        self.grants
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// Ends what lapsed grants hold, for as long as the process runs: looks whenever the
/// database changes (at most every [`MIN_SPACING`]), when the earliest held token
/// expires, and at least every [`RECHECK`].
pub(crate) async fn watch(
    grants: Arc<Grants>,
    authority: Authority,
    manager: Arc<LocalSessionManager>,
) {
    let mut changes = authority.changes();
    let mut signal = true;
    loop {
        let (_, earliest) = grants.held_tokens();
        let until_expiry = earliest.map(|at| {
            let micros = at.saturating_sub(authority.now_micros()).max(0) + 1_000;
            Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
        });
        let wait = until_expiry.map_or(RECHECK, |d| d.min(RECHECK));
        tokio::select! {
            changed = changes.changed(), if signal => signal = changed.is_ok(),
            () = tokio::time::sleep(wait) => {}
        }
        check(&grants, &authority, &manager).await;
        tokio::time::sleep(MIN_SPACING).await;
    }
}

/// One look: ends what lapsed, closes those sessions in rmcp, forgets the sessions rmcp
/// closed by itself.
async fn check(grants: &Grants, authority: &Authority, manager: &LocalSessionManager) {
    let (hashes, _) = grants.held_tokens();
    if hashes.is_empty() {
        return;
    }
    let lapsed = match authority.lapsed(hashes).await {
        Ok(lapsed) => lapsed.into_iter().collect::<HashSet<_>>(),
        Err(e) => {
            tracing::warn!(error = %e, "mcp_grant_check_failed");
            return;
        }
    };
    for id in grants.end_lapsed(&lapsed) {
        if let Err(e) = manager.close_session(&id.as_str().into()).await {
            tracing::warn!(error = %e, "mcp_session_close_failed");
        }
    }
    let live = manager
        .sessions
        .read()
        .await
        .keys()
        .map(|k| k.to_string())
        .collect::<HashSet<_>>();
    grants.forget_all_but(&live);
}

/// `resp` with a body that ends when `life` does (dropping the rest of the stream),
/// keeping `ticket` as long as the body lives.
pub(crate) fn ending_with(
    resp: Response<BoxBody<Bytes, Infallible>>,
    life: &Session,
    ticket: Option<StreamTicket>,
) -> Response<BoxBody<Bytes, Infallible>> {
    let ended: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(life.ended());
    resp.map(|inner| {
        EndingBody {
            inner,
            ended: Mutex::new(ended),
            _ticket: ticket,
        }
        .boxed()
    })
}

/// A response body cut short when its session or stream ends.
struct EndingBody {
    inner: BoxBody<Bytes, Infallible>,
    /// Behind a mutex only so the body is `Sync`; polled through `get_mut`, never locked
    /// by two.
    ended: Mutex<Pin<Box<dyn Future<Output = ()> + Send>>>,
    _ticket: Option<StreamTicket>,
}

impl Body for EndingBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let ended = self.ended.get_mut().unwrap_or_else(PoisonError::into_inner);
        if ended.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(client: &str, token: &str) -> AccessGrant {
        AccessGrant {
            client_id: client.into(),
            token_hash: token.into(),
            expires_micros: 1,
        }
    }

    #[test]
    fn a_session_answers_its_own_client_only_and_follows_its_latest_token() {
        let grants = Grants::default();
        let life = grants.open_session("s1".into(), grant("a", "t1"));
        assert!(grants.session_life("s1", &grant("b", "t9")).is_none());
        assert!(grants.session_life("nope", &grant("a", "t1")).is_none());
        assert!(grants.session_life("s1", &grant("a", "t2")).is_some());
        // The session now rides on t2: t1 lapsing ends nothing.
        assert!(
            grants
                .end_lapsed(&HashSet::from(["t1".to_owned()]))
                .is_empty()
        );
        assert_eq!(
            grants.end_lapsed(&HashSet::from(["t2".to_owned()])),
            vec!["s1".to_owned()]
        );
        assert!(grants.session_life("s1", &grant("a", "t2")).is_none());
        drop(life);
    }

    #[tokio::test]
    async fn a_body_ends_with_its_life_and_its_ticket_goes_with_it() {
        let grants = Arc::new(Grants::default());
        let (life, ticket) = grants.open_stream(grant("a", "t1"));
        let resp = ending_with(Response::new(Pending.boxed()), &life, Some(ticket));
        assert_eq!(grants.held_tokens().0, vec!["t1".to_owned()]);
        grants.end_lapsed(&HashSet::from(["t1".to_owned()]));
        let collected = resp.into_body().collect().await;
        assert!(collected.is_ok(), "the body ended");
        assert!(grants.held_tokens().0.is_empty(), "the ticket went");
    }

    /// A body that never yields a frame, as an event stream with nothing to say.
    struct Pending;

    impl Body for Pending {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Pending
        }
    }
}
