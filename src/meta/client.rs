//! The Graph API client: blocking (callers run it on tokio's blocking pool), retried by
//! the contract's rules, and careful never to leak the token or to send a message twice.
//!
//! Retries happen on 429, 5xx and connection failures before the request went out. A
//! send that went out without an answer is never retried ([`MetaError::NoAnswer`]);
//! `mark_read` and `phone_number_info` are idempotent and retry that too.

use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::envelope::error_from_answer;
use super::error::MetaError;
use super::retry::{self, RetryPolicy};
use super::transport::{self, Answer, Failure, Method};
use super::wire::{self, PhoneNumberInfo, Recipient, SendText, SentMessage};
use crate::config::{DEFAULT_GRAPH_API_VERSION, DEFAULT_GRAPH_BASE_URL, Secret};
use crate::metrics::{MetaAttemptResult, MetaOperation, Metrics};

/// Account-level reads (`GET /app`, `subscribed_apps`), kept in their own file.
#[path = "account.rs"]
pub mod account;

/// Block users and message templates, kept in their own file.
#[path = "business.rs"]
pub mod business;

/// How a [`MetaClient`] talks to Meta.
#[derive(Debug, Clone)]
pub struct MetaClientOptions {
    /// The Graph API host, e.g. `https://graph.facebook.com` (a trailing `/` is ignored).
    pub base_url: String,
    /// The Graph API version, e.g. `v26.0`.
    pub api_version: String,
    /// The bearer token; without one every call fails with [`MetaError::NoToken`].
    pub token: Option<Secret>,
    /// The most one attempt may take, from resolving the host to reading the answer.
    pub timeout: Duration,
    /// When and how patiently to retry.
    pub retry: RetryPolicy,
}

impl MetaClientOptions {
    /// Meta's production host and the default version, a 30 s timeout and the default
    /// retry policy.
    pub fn new(token: Option<Secret>) -> MetaClientOptions {
        MetaClientOptions {
            base_url: DEFAULT_GRAPH_BASE_URL.to_owned(),
            api_version: DEFAULT_GRAPH_API_VERSION.to_owned(),
            token,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// A Graph API client; cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct MetaClient {
    pub(super) inner: Arc<Inner>,
}

#[derive(Clone)]
pub(super) struct Inner {
    pub(super) agent: ureq::Agent,
    pub(super) base_url: String,
    pub(super) api_version: String,
    pub(super) token: Option<Secret>,
    pub(super) retry: RetryPolicy,
    /// The most one attempt may take (an upload: the most it may wait for Meta's
    /// answer once the file is sent, or for Meta to take more of it).
    pub(super) timeout: Duration,
    /// Every attempt's latency and result is recorded here; a fresh instance unless
    /// [`MetaClient::with_metrics`] shares the process's.
    pub(super) metrics: Arc<Metrics>,
}

impl fmt::Debug for MetaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetaClient")
            .field("base_url", &self.inner.base_url)
            .field("api_version", &self.inner.api_version)
            .field("token", &self.inner.token)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// One logical call: what to send and whether repeating it after it went out is harmless.
pub(super) struct Call {
    pub(super) method: Method,
    /// `/{version}/{id}[/edge]`, without the query; this is what gets logged.
    pub(super) path: String,
    pub(super) query: String,
    pub(super) body: Option<String>,
    pub(super) idempotent: bool,
}

impl MetaClient {
    /// A client for these options; no request is made until a method is called.
    pub fn new(options: MetaClientOptions) -> MetaClient {
        let inner = Inner {
            agent: transport::build_agent(options.timeout),
            base_url: options.base_url.trim_end_matches('/').to_owned(),
            api_version: options.api_version,
            token: options.token,
            retry: options.retry,
            timeout: options.timeout,
            metrics: Arc::new(Metrics::new()),
        };
        MetaClient {
            inner: Arc::new(inner),
        }
    }

    /// This client recording into `metrics` (the process's shared instance, so that
    /// `GET /metrics` shows Graph API latencies and the sends built on this client).
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> MetaClient {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.metrics = metrics;
        MetaClient {
            inner: Arc::new(inner),
        }
    }

    /// The metrics this client records into; the messaging layer counts sends there.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Sends a text message: `POST {base}/{version}/{phone_number_id}/messages` with
    /// `type: text`, `text: {body, preview_url}` and `context.message_id` for a reply.
    /// Not retried once the request went out ([`MetaError::NoAnswer`]).
    pub fn send_text(
        &self,
        phone_number_id: &str,
        req: &SendText,
    ) -> Result<SentMessage, MetaError> {
        self.send_message(phone_number_id, &req.to, wire::text_message(req))
    }

    /// Sends any message kind: `message` (a JSON object such as `{"type":"reaction",
    /// "reaction":{..}}`) is merged into the envelope `messaging_product`,
    /// `recipient_type` and `to` or `recipient`. Retried like [`MetaClient::send_text`].
    pub fn send_message(
        &self,
        phone_number_id: &str,
        to: &Recipient,
        message: Value,
    ) -> Result<SentMessage, MetaError> {
        let body =
            wire::send_body(to, message).map_err(|detail| MetaError::InvalidRequest { detail })?;
        let call = self.messages_call(phone_number_id, &body, false)?;
        let answer = self.inner.execute(&call)?;
        // Meta said yes without a wamid: it may well have sent it, so the outcome is unknown.
        wire::parse_sent(&answer.body).map_err(|detail| MetaError::NoAnswer {
            detail: format!("HTTP {} without a message id: {detail}", answer.status),
        })
    }

    /// Marks an inbound message (by wamid) read, which shows blue ticks to the sender.
    /// Idempotent, so retried even after a request went out without an answer.
    pub fn mark_read(&self, phone_number_id: &str, wamid: &str) -> Result<(), MetaError> {
        self.mark_read_with(phone_number_id, wamid, false)
    }

    /// [`MetaClient::mark_read`], with `typing_indicator: {type: text}` when `typing`:
    /// the person sees "typing…" until the reply or for 25 seconds. Idempotent.
    pub fn mark_read_with(
        &self,
        phone_number_id: &str,
        wamid: &str,
        typing: bool,
    ) -> Result<(), MetaError> {
        let mut body = wire::read_receipt(wamid);
        if typing {
            body["typing_indicator"] = serde_json::json!({"type": "text"});
        }
        let call = self.messages_call(phone_number_id, &body, true)?;
        self.inner.execute(&call).map(|_| ())
    }

    /// `GET {base}/{version}/{phone_number_id}?fields=display_phone_number,verified_name,
    /// quality_rating`: checks the token and the id. Idempotent.
    pub fn phone_number_info(&self, phone_number_id: &str) -> Result<PhoneNumberInfo, MetaError> {
        let call = Call {
            method: Method::Get,
            path: self.path(phone_number_id, "")?,
            query: "?fields=display_phone_number,verified_name,quality_rating".into(),
            body: None,
            idempotent: true,
        };
        let answer = self.inner.execute(&call)?;
        wire::parse_phone_number(&answer.body).map_err(|detail| MetaError::InvalidResponse {
            status: answer.status,
            detail,
        })
    }

    fn messages_call(
        &self,
        phone_number_id: &str,
        body: &Value,
        idempotent: bool,
    ) -> Result<Call, MetaError> {
        Ok(Call {
            method: Method::Post,
            path: self.path(phone_number_id, "/messages")?,
            query: String::new(),
            body: Some(body.to_string()),
            idempotent,
        })
    }

    /// `/{version}/{id}{edge}`; the id must be a plain Graph id so it cannot change the path.
    pub(super) fn path(&self, id: &str, edge: &str) -> Result<String, MetaError> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MetaError::InvalidRequest {
                detail: format!("{id:?} is not a phone number id (Meta's ids are digits)"),
            });
        }
        Ok(format!("/{}/{id}{edge}", self.inner.api_version))
    }
}

impl Inner {
    /// Runs a call to a 2xx answer or the error that ends it, retrying by the policy.
    pub(super) fn execute(&self, call: &Call) -> Result<Answer, MetaError> {
        let token = self.token.as_ref().ok_or(MetaError::NoToken)?.expose();
        let url = format!("{}{}{}", self.base_url, call.path, call.query);
        let mut retry = 0;
        loop {
            let started = Instant::now();
            let result =
                transport::exchange(&self.agent, call.method, &url, call.body.as_deref(), token);
            let elapsed = started.elapsed();
            log_attempt(call, retry + 1, &result, elapsed);
            let attempt_result = attempt_result(&result);
            self.metrics
                .observe_meta_attempt(operation(call), attempt_result, elapsed);
            let (error, retry_after) = match result {
                Ok(answer) if (200..300).contains(&answer.status) => return Ok(answer),
                Ok(answer) => {
                    let error = error_from_answer(answer.status, &answer.body, token);
                    if !retry::is_retryable_status(answer.status) {
                        return Err(error);
                    }
                    (error, answer.retry_after)
                }
                Err(failure) => match after_failure(failure, call.idempotent, retry + 1) {
                    ControlFlow::Continue(error) => (error, None),
                    ControlFlow::Break(error) => return Err(error),
                },
            };
            let unit = retry::jitter_unit();
            let Some(delay) = retry::delay_before_retry(&self.retry, retry, retry_after, unit)
            else {
                return Err(error);
            };
            thread::sleep(delay);
            retry += 1;
        }
    }
}

/// The error a failed attempt stands for, and whether another attempt may follow
/// (`Continue`) or the call ends here (`Break`).
pub(super) fn after_failure(
    failure: Failure,
    idempotent: bool,
    attempts: u32,
) -> ControlFlow<MetaError, MetaError> {
    match failure {
        Failure::NotSent(detail) => {
            ControlFlow::Continue(MetaError::Unreachable { attempts, detail })
        }
        Failure::Unsendable(detail) => ControlFlow::Break(MetaError::InvalidRequest { detail }),
        Failure::NoAnswer(detail) if idempotent => ControlFlow::Continue(MetaError::Unreachable {
            attempts,
            detail: format!("no answer: {detail}"),
        }),
        Failure::NoAnswer(detail) => ControlFlow::Break(MetaError::NoAnswer { detail }),
    }
}

/// The metrics label of a call: every GET reads a Graph object; the one idempotent
/// POST to `/messages` is the read receipt; every other POST sends a message.
fn operation(call: &Call) -> MetaOperation {
    match (call.method, call.idempotent) {
        (Method::Get, _) => MetaOperation::Lookup,
        (Method::Post, true) => MetaOperation::MarkRead,
        (Method::Post | Method::Delete, false) => MetaOperation::Send,
        (Method::Delete, true) => MetaOperation::Lookup,
    }
}

fn attempt_result(result: &Result<Answer, Failure>) -> MetaAttemptResult {
    match result {
        Ok(answer) if (200..300).contains(&answer.status) => MetaAttemptResult::Success,
        Ok(_) => MetaAttemptResult::HttpError,
        Err(Failure::NotSent(_) | Failure::Unsendable(_)) => MetaAttemptResult::NotSent,
        Err(Failure::NoAnswer(_)) => MetaAttemptResult::NoAnswer,
    }
}

/// One line per attempt: method, path (no query), status, attempt, latency; nothing else.
fn log_attempt(call: &Call, attempt: u32, result: &Result<Answer, Failure>, latency: Duration) {
    let method = call.method.as_str();
    let path = call.path.as_str();
    let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(answer) if (200..300).contains(&answer.status) => {
            tracing::debug!(
                method,
                path,
                status = answer.status,
                attempt,
                latency_ms,
                "graph api call"
            );
        }
        Ok(answer) => {
            tracing::warn!(
                method,
                path,
                status = answer.status,
                attempt,
                latency_ms,
                "graph api error"
            );
        }
        Err(failure) => {
            let outcome = match failure {
                Failure::NotSent(_) => "not sent",
                Failure::Unsendable(_) => "not sendable",
                Failure::NoAnswer(_) => "no answer",
            };
            tracing::warn!(
                method,
                path,
                outcome,
                attempt,
                latency_ms,
                "graph api call failed"
            );
        }
    }
}
