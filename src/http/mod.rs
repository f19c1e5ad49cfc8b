//! The HTTP transport on hyper: accept loop, graceful shutdown, request ids, one log
//! line per request, and the routes. Handlers call the webhook and store modules and
//! never write SQL.

mod body;
mod health;
pub mod limits;
pub mod local;
pub mod mcp;
pub mod oauth;
mod request_id;
mod respond;
mod routes;
mod webhook;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::config::Secret;
use crate::metrics::Metrics;
use crate::store::Store;

pub use request_id::REQUEST_ID_HEADER;

/// The largest webhook body accepted (Meta's deliveries are far smaller).
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
/// How long a client has to send its request headers, and then a body other than the
/// webhook's (whose limits are in [`limits::LimitSettings`]).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
const BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest request head (431 beyond), and the most one read of a connection may
/// fill, so a slow or oversized head holds well under 64 KiB.
const MAX_HEAD_BYTES: usize = 32 * 1024;
/// What a connection over the cap is told, written once without waiting, before it is
/// closed unread.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n\
content-type: text/plain; charset=utf-8\r\ncontent-length: 5\r\nconnection: close\r\n\r\nbusy\n";
/// How long shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the handlers need.
pub struct AppState {
    pub store: Store,
    /// Signs webhook deliveries; without it every POST is refused (404).
    pub app_secret: Option<Secret>,
    /// Answers the GET handshake; without it every handshake is refused (404).
    pub verify_token: Option<Secret>,
    /// Counters and latencies, served at `GET /metrics`; shared with the rest of the
    /// process (the Meta client, the messaging layer) so one scrape sees everything.
    pub metrics: Arc<Metrics>,
    /// Remote MCP and its authorization server, when `WA_PUBLIC_URL` is set; its routes
    /// answer 404 while this is `None` or no owner passphrase exists.
    pub remote: Option<Remote>,
    /// Open connections and webhook bodies in flight, bounded in total.
    pub limits: limits::Limits,
}

/// What remote MCP needs on this listener.
pub struct Remote {
    pub authority: crate::messaging::oauth::Authority,
    /// The MCP Streamable HTTP transport, called only after the gate in [`mcp`].
    pub mcp: McpEndpoint,
}

/// The MCP transport as this layer sees it: a request in, a response out.
pub type McpEndpoint = Arc<
    dyn Fn(Request<Incoming>) -> std::pin::Pin<Box<dyn Future<Output = mcp::AnyResponse> + Send>>
        + Send
        + Sync,
>;

pub type HttpResponse = Response<Full<Bytes>>;

/// Serves `listener` until `shutdown` resolves, then stops accepting, lets requests in
/// flight finish (their deliveries commit before they are answered) and returns.
///
/// At most [`limits::LimitSettings::max_connections`] connections are open at once; one
/// more is accepted, told 503 if that can be written at once, and closed without a byte
/// of it being read.
pub async fn run(listener: TcpListener, state: Arc<AppState>, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut at_cap = false;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept_failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(place) = state.limits.admit_connection() else {
            if !std::mem::replace(&mut at_cap, true) {
                let max = state.limits.settings().max_connections;
                tracing::warn!(
                    max,
                    "connections_at_limit: refusing new ones until some close"
                );
            }
            state.metrics.record_connection_refused();
            // Never waits: what the socket cannot take at once is not sent.
            let _ = stream.try_write(TOO_MANY_CONNECTIONS);
            continue;
        };
        if std::mem::replace(&mut at_cap, false) {
            tracing::info!("connections_below_limit");
        }
        serve_connection(&state, &graceful, stream, peer, place);
    }
    drop(listener);
    tracing::info!("shutting_down");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("requests_drained"),
        () = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("drain_timeout"),
    }
}

/// Serves one accepted connection on a task of its own, holding `place` until it closes.
fn serve_connection(
    state: &Arc<AppState>,
    graceful: &GracefulShutdown,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    place: tokio::sync::OwnedSemaphorePermit,
) {
    // Answers go out at once: with Nagle's algorithm a small response written in two
    // parts (an event stream's) waits for the client's delayed ACK, ~40 ms.
    let _ = stream.set_nodelay(true);
    let state = Arc::clone(state);
    let service = service_fn(move |req| handle(Arc::clone(&state), req, peer));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(stream), service);
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, %peer, "connection_closed_with_error");
        }
        drop(place);
    });
}

async fn handle(
    state: Arc<AppState>,
    mut req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<mcp::AnyResponse, std::convert::Infallible> {
    let started = Instant::now();
    req.extensions_mut().insert(local::PeerAddr(peer));
    let request_id = request_id::from_headers(req.headers());
    let client = request_id::client_addr(req.headers(), peer);
    let method = req.method().clone();
    // The path only: the handshake's query string carries the verify token.
    let path = req.uri().path().to_owned();
    let mut response = if path == mcp::MCP_PATH {
        mcp::handle(&state, req).await
    } else {
        mcp::boxed(routes::route(&state, req, &request_id).await)
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    tracing::info!(
        target: "wa_mcp::http",
        %method,
        %path,
        status = response.status().as_u16(),
        latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        request_id = %request_id,
        %client,
        "request"
    );
    Ok(response)
}
