//! `GET /webhook/meta` (the subscription handshake) and `POST /webhook/meta` (a
//! signed delivery). Anything wrong is a 404 and nothing is written; a 200 to a POST
//! is sent only after the delivery is committed with `synchronous=FULL`. A POST without
//! a well-formed signature header is refused before its body is read, and a body is
//! held only within the limits of [`super::limits`].

use std::time::Instant;

use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, HeaderValue, RETRY_AFTER};
use hyper::{Request, StatusCode};

use super::body::{BodyRefusal, read_body};
use super::limits::{BodiesBusy, BodyReservation};
use super::respond::{not_found, text};
use super::{AppState, HttpResponse, MAX_BODY_BYTES};
use crate::metrics::WebhookRefusal;
use crate::model::Outcome;
use crate::model::PreparedDelivery;
use crate::store::StoreError;
use crate::timefmt::now_micros;
use crate::webhook::{SignatureVerifier, prepare_delivery};

/// Bodies above this size are parsed on the blocking pool rather than the runtime.
const INLINE_PARSE_BYTES: usize = 256 * 1024;
/// The longest challenge echoed back (Meta's is a short number).
const MAX_CHALLENGE_LEN: usize = 256;

/// Answers Meta's verification: `hub.mode=subscribe` and a `hub.verify_token` equal,
/// in constant time, to the configured token get the `hub.challenge` back as
/// `text/plain`; anything else, including no configured token, gets 404.
pub fn handshake(state: &AppState, req: &Request<Incoming>) -> HttpResponse {
    let Some(expected) = &state.verify_token else {
        tracing::warn!("webhook_handshake_refused: WA_WEBHOOK_VERIFY_TOKEN is not set");
        return not_found();
    };
    let query = req.uri().query().unwrap_or("");
    let (mut mode, mut token, mut challenge) = (None, None, None);
    for (k, v) in parse_query(query) {
        match k.as_str() {
            "hub.mode" => mode = Some(v),
            "hub.verify_token" => token = Some(v),
            "hub.challenge" => challenge = Some(v),
            _ => {}
        }
    }
    let token_ok = token.is_some_and(|t| {
        constant_time_eq::constant_time_eq(t.as_bytes(), expected.expose().as_bytes())
    });
    match (mode.as_deref(), challenge) {
        (Some("subscribe"), Some(c))
            if token_ok && !c.is_empty() && c.len() <= MAX_CHALLENGE_LEN =>
        {
            tracing::info!("webhook_handshake_ok");
            text(StatusCode::OK, c)
        }
        _ => {
            tracing::warn!("webhook_handshake_refused");
            not_found()
        }
    }
}

/// Receives one delivery. Before a byte of the body is read: no app secret is 404, a
/// declared length over 5 MiB is 413, a missing or malformed signature header is 404,
/// and a body that needs room no permit can give is 503. The body is then read within
/// its limits and hashed as it arrives; a wrong signature is 404; a good one is
/// committed before the 200. Every answer is counted in the metrics; a signed POST's
/// time to its answer is observed too.
pub async fn receive(state: &AppState, req: Request<Incoming>, request_id: &str) -> HttpResponse {
    let started = Instant::now();
    let metrics = &state.metrics;
    let declared = declared_length(&req);
    let (mut verifier, mut reservation) = match admit(state, &req, declared, request_id) {
        Ok(admitted) => admitted,
        Err(refused) => return refused.response(),
    };
    let settings = state.limits.settings();
    let read = read_body(
        req.into_body(),
        settings,
        &mut reservation,
        &mut verifier,
        declared,
    )
    .await;
    let body = match read {
        Ok(body) => body,
        Err(refusal) => return refuse_body(state, refusal, request_id),
    };
    if let Err(why) = verifier.verify() {
        tracing::warn!(request_id, reason = %why, bytes = body.len(), "webhook_signature_rejected");
        metrics.record_signature_rejection();
        return not_found();
    }
    let resp = store_delivery(state, body.into_bytes(), request_id).await;
    // The body's room is given back only now: its bytes lived until the commit.
    drop(reservation);
    metrics.observe_webhook(started.elapsed());
    resp
}

/// A POST refused on its head alone, already logged and counted.
enum RefusedHead {
    NotFound,
    TooLarge,
    BodiesBusy,
}

impl RefusedHead {
    fn response(self) -> HttpResponse {
        match self {
            RefusedHead::NotFound => not_found(),
            RefusedHead::TooLarge => too_large(),
            RefusedHead::BodiesBusy => bodies_busy(),
        }
    }
}

/// The checks made on the head alone, in order, and what the body may then hold.
fn admit<'a>(
    state: &'a AppState,
    req: &Request<Incoming>,
    declared: Option<u64>,
    request_id: &str,
) -> Result<(SignatureVerifier, BodyReservation<'a>), RefusedHead> {
    let metrics = &state.metrics;
    let Some(secret) = &state.app_secret else {
        tracing::warn!(
            request_id,
            "webhook_refused: WA_APP_SECRET is not set, so no delivery can be verified"
        );
        metrics.record_refusal(WebhookRefusal::NoAppSecret);
        return Err(RefusedHead::NotFound);
    };
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        metrics.record_refusal(WebhookRefusal::TooLarge);
        return Err(RefusedHead::TooLarge);
    }
    let header = req.headers().get("x-hub-signature-256");
    let verifier = SignatureVerifier::new(secret.expose().as_bytes(), header.map(|v| v.as_bytes()))
        .map_err(|why| {
            tracing::warn!(request_id, reason = %why, "webhook_signature_rejected");
            metrics.record_signature_rejection();
            RefusedHead::NotFound
        })?;
    let reservation = state.limits.reserve_body(declared).map_err(|BodiesBusy| {
        tracing::warn!(
            request_id,
            declared,
            "webhook_body_refused: no room for its body"
        );
        metrics.record_refusal(WebhookRefusal::BodiesBusy);
        RefusedHead::BodiesBusy
    })?;
    Ok((verifier, reservation))
}

/// `Content-Length`, when the request gives one that is a number.
fn declared_length(req: &Request<Incoming>) -> Option<u64> {
    req.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// The answer to a body that was not read to its end, counted and logged.
fn refuse_body(state: &AppState, refusal: BodyRefusal, request_id: &str) -> HttpResponse {
    let (reason, resp) = match refusal {
        BodyRefusal::TooLarge => (WebhookRefusal::TooLarge, too_large()),
        BodyRefusal::Busy => (WebhookRefusal::BodiesBusy, bodies_busy()),
        BodyRefusal::TooSlow => (
            WebhookRefusal::TooSlow,
            text(StatusCode::REQUEST_TIMEOUT, "request timeout\n"),
        ),
        BodyRefusal::Unreadable => (
            WebhookRefusal::UnreadableBody,
            text(StatusCode::BAD_REQUEST, "bad request\n"),
        ),
    };
    tracing::warn!(request_id, reason = reason.as_str(), "webhook_body_refused");
    state.metrics.record_refusal(reason);
    resp
}

/// Prepares and commits a verified body; 200 only once it is committed.
async fn store_delivery(state: &AppState, body: Bytes, request_id: &str) -> HttpResponse {
    let prepared = prepare(body, request_id.to_owned()).await;
    log_contents(&prepared);
    match state.store.commit_delivery(prepared).await {
        Ok(report) => {
            state.metrics.record_delivery(&report);
            match report.outcome {
                Outcome::Duplicate => {
                    tracing::info!(request_id, event = report.event_id, "webhook_duplicate")
                }
                Outcome::Failed => tracing::warn!(
                    request_id,
                    event = report.event_id,
                    error = report.error.as_deref().unwrap_or(""),
                    "webhook_failed"
                ),
                outcome => tracing::info!(
                    request_id,
                    event = report.event_id,
                    outcome = outcome.as_str(),
                    messages = report.new_messages,
                    statuses = report.new_statuses,
                    duplicates = report.duplicates,
                    "webhook_delivery"
                ),
            }
            text(StatusCode::OK, "ok\n")
        }
        Err(StoreError::Saturated) => {
            // Shedding load keeps memory bounded; Meta delivers it again later.
            tracing::warn!(request_id, "webhook_saturated");
            state.metrics.record_refusal(WebhookRefusal::Saturated);
            let mut resp = text(StatusCode::SERVICE_UNAVAILABLE, "busy\n");
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            resp
        }
        Err(e) => {
            // Not stored: a non-200 makes Meta deliver it again later.
            tracing::error!(request_id, error = %e, "webhook_not_stored");
            state.metrics.record_refusal(WebhookRefusal::NotStored);
            let mut resp = text(StatusCode::SERVICE_UNAVAILABLE, "unavailable\n");
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("5"));
            resp
        }
    }
}

async fn prepare(body: Bytes, request_id: String) -> PreparedDelivery {
    let received_at = now_micros();
    if body.len() <= INLINE_PARSE_BYTES {
        return prepare_delivery(&body, request_id, received_at);
    }
    let rid = request_id.clone();
    let body_for_task = body.clone();
    tokio::task::spawn_blocking(move || prepare_delivery(&body_for_task, rid, received_at))
        .await
        .unwrap_or_else(|_| prepare_delivery(&body, request_id, received_at))
}

fn log_contents(d: &PreparedDelivery) {
    let Ok(delivery) = &d.parsed else { return };
    for field in &delivery.ignored_fields {
        tracing::info!(request_id = %d.request_id, field = %field, "webhook_field_ignored");
    }
    for e in &delivery.value_errors {
        tracing::warn!(request_id = %d.request_id, code = %e.code, title = %e.title, "webhook_value_error");
    }
}

fn too_large() -> HttpResponse {
    text(StatusCode::PAYLOAD_TOO_LARGE, "payload too large\n")
}

/// 503 for a body no permit had room for: Meta delivers it again later.
fn bodies_busy() -> HttpResponse {
    let mut resp = text(StatusCode::SERVICE_UNAVAILABLE, "busy\n");
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
    resp
}

/// `application/x-www-form-urlencoded` pairs of a query string.
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i + 1..i + 3) {
            Some(&[hi, lo]) if bytes[i] == b'%' => hex_digit(hi).zip(hex_digit(lo)),
            _ => None,
        };
        match (bytes[i], escaped) {
            (b'%', Some((hi, lo))) => {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_pairs() {
        let pairs = parse_query(
            "hub.mode=subscribe&hub.verify_token=a%20b+c%2B&hub.challenge=1158201444&x",
        );
        assert_eq!(pairs[1], ("hub.verify_token".into(), "a b c+".into()));
        assert_eq!(pairs[2].1, "1158201444");
        assert_eq!(pairs[3], ("x".into(), String::new()));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
