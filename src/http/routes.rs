//! The route table and the small responses every route shares.

use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, StatusCode};

use super::respond::{not_found, text};
use super::{AppState, HttpResponse, health, local, oauth, webhook};

/// The webhook route Meta is pointed at.
pub const WEBHOOK_PATH: &str = "/webhook/meta";
/// Where Prometheus scrapes the counters (see `docs/api/metrics.md`).
pub const METRICS_PATH: &str = "/metrics";

pub async fn route(state: &AppState, req: Request<Incoming>, request_id: &str) -> HttpResponse {
    match (req.method(), req.uri().path()) {
        (&Method::GET, WEBHOOK_PATH) => webhook::handshake(state, &req),
        (&Method::POST, WEBHOOK_PATH) => webhook::receive(state, req, request_id).await,
        (&Method::GET, "/health") => health::health(state, &req).await,
        (&Method::GET, METRICS_PATH) => metrics(state, &req),
        (_, path) if oauth::is_oauth_path(path) => oauth::route(state, req).await,
        _ => not_found(),
    }
}

/// The metrics as Prometheus text, to direct local callers only (see
/// [`local::is_direct_loopback`]): a request through a proxy or tunnel, from another
/// host, or naming a host that is not loopback (DNS rebinding) gets 404.
fn metrics(state: &AppState, req: &Request<Incoming>) -> HttpResponse {
    if !local::is_direct_loopback(req) {
        tracing::info!("metrics_refused_to_non_local_request");
        return not_found();
    }
    let mut resp = text(StatusCode::OK, state.metrics.render());
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    resp
}
