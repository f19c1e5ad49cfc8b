//! MCP over Streamable HTTP (both protocol generations: sessions for 2025-11-25 and
//! earlier, stateless requests for 2026-07-28), for the `/mcp` route behind the gate in
//! `http::mcp`. The same tools, resources and rules as stdio; each request carries the
//! [`Caller`] the gate authenticated, and tools act for it.
//!
//! Bounded like the webhook: [`MAX_SESSIONS`] sessions at once (a new one beyond that
//! gets 503), each closed after [`SESSION_IDLE`] without a request, request bodies of at
//! most [`MAX_REQUEST_BYTES`]. rmcp's own `Host` and `Origin` checks are set to the same
//! rules as the gate, as a second line.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use rmcp::RoleServer;
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::WhatsAppServer;
use crate::config::PublicUrl;
use crate::messaging::{Caller, Messaging};

/// Sessions open at once.
pub const MAX_SESSIONS: usize = 32;
/// A session without a request for this long is closed.
pub const SESSION_IDLE: Duration = Duration::from_secs(5 * 60);
/// The largest request body: MCP requests are small (the largest, `send_media`, carries
/// a URL, never a file).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// The Streamable HTTP transport over one server.
pub struct HttpTransport {
    service: StreamableHttpService<WhatsAppServer, LocalSessionManager>,
    sessions: Arc<LocalSessionManager>,
}

impl HttpTransport {
    pub fn new(server: WhatsAppServer, public: &PublicUrl) -> HttpTransport {
        let mut manager = LocalSessionManager::default();
        manager.session_config.keep_alive = Some(SESSION_IDLE);
        let sessions = Arc::new(manager);
        let bare_host = public.host().trim_start_matches('[').trim_end_matches(']');
        let config = StreamableHttpServerConfig::default()
            .with_allowed_hosts([bare_host, "localhost", "127.0.0.1", "::1"])
            .with_allowed_origins([public.origin()])
            .enforce_origin_validation()
            .with_max_request_body_bytes(MAX_REQUEST_BYTES);
        let service = StreamableHttpService::new(
            move || Ok(server.clone().for_new_session()),
            Arc::clone(&sessions),
            config,
        );
        HttpTransport { service, sessions }
    }

    /// Serves one request that the gate let through.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<BoxBody<Bytes, Infallible>> {
        let opens_session =
            req.method() == Method::POST && !req.headers().contains_key("mcp-session-id");
        if opens_session && self.sessions.sessions.read().await.len() >= MAX_SESSIONS {
            tracing::warn!(limit = MAX_SESSIONS, "mcp_sessions_full");
            let mut resp = Response::new(Full::new(Bytes::from("too many MCP sessions\n")).boxed());
            *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            resp.headers_mut().insert(
                hyper::header::RETRY_AFTER,
                hyper::header::HeaderValue::from_static("30"),
            );
            return resp;
        }
        self.service.handle(req).await
    }
}

/// Who made the request `ctx` belongs to: the remote client the gate authenticated, or
/// the local owner over stdio. A request that came over HTTP without an authenticated
/// caller (which the gate never lets through) counts as an unknown remote client, never
/// as local.
pub(crate) fn caller_of(ctx: &RequestContext<RoleServer>) -> Caller {
    match ctx.extensions.get::<hyper::http::request::Parts>() {
        None => Caller::Local,
        Some(parts) => parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(|| {
                Caller::Remote(crate::messaging::oauth::RemoteClient {
                    client_id: "unknown-remote".into(),
                })
            }),
    }
}

impl WhatsAppServer {
    /// The messaging functions acting for the caller of `ctx`.
    pub(crate) fn messaging_for(&self, ctx: &RequestContext<RoleServer>) -> Messaging {
        self.messaging.for_caller(caller_of(ctx))
    }
}
