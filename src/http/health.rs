//! `GET /health`: whether this process can take a delivery now. It is reachable through
//! the tunnel, so a request from anywhere else sees only `status`; a direct loopback
//! request (see [`super::local`]) sees the details too.

use hyper::Request;
use hyper::StatusCode;
use hyper::header::{HeaderValue, RETRY_AFTER};
use serde_json::{Value, json};

use super::respond::json;
use super::{AppState, HttpResponse, local};
use crate::store::WriterHealth;

/// 200 `{"status":"ok"}` when the database answers a read and the writer can commit;
/// else 503 `{"status":"unavailable"}` with `Retry-After`. Reading the writer's state is
/// a few atomic loads: a flood of requests puts no work on the writer.
pub async fn health<B>(state: &AppState, req: &Request<B>) -> HttpResponse {
    let database_ok = state.store.is_healthy().await;
    let writer = state.store.writer_health();
    let ok = database_ok && writer.can_commit;
    let status = if ok { "ok" } else { "unavailable" };
    let body = if local::is_direct_loopback(req) {
        json!({
            "status": status,
            "version": env!("CARGO_PKG_VERSION"),
            "database": if database_ok { "ok" } else { "unreachable" },
            "writer": writer_details(&writer),
        })
    } else {
        json!({ "status": status })
    };
    if ok {
        return json(StatusCode::OK, &body);
    }
    let mut resp = json(StatusCode::SERVICE_UNAVAILABLE, &body);
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
    resp
}

fn writer_details(w: &WriterHealth) -> Value {
    let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    json!({
        "status": if w.can_commit { "ok" } else { "cannot_commit" },
        "last_commit_age_ms": w.last_commit_age.map(ms),
        "busy_ms": w.busy_for.map(ms),
        "queue_depth": w.queue_depth,
        "queue_capacity": w.queue_capacity,
        "last_error": w.last_error,
    })
}
