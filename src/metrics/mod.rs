//! Process-local counters and latency histograms, served as Prometheus text (exposition
//! format 0.0.4) at `GET /metrics`.
//!
//! One [`Metrics`] is made per process (or per test server) and shared as
//! `Arc<Metrics>` by the webhook handler, the Graph API client and the messaging
//! layer. Everything is an atomic or a fixed array of atomics: recording never takes a
//! lock, and a scrape never blocks a delivery. Counts start at zero with the process;
//! Prometheus reads the restart as a counter reset. The list of metrics and what each
//! counts is in `docs/api/metrics.md`.

mod histogram;

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use histogram::{Histogram, HistogramSnapshot};

use crate::store::{DeliveryReport, Outcome, SendOutcome};

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why a webhook POST was answered with something other than 200 or the signature 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookRefusal {
    /// `WA_APP_SECRET` is not set, so nothing can be verified (404).
    NoAppSecret,
    /// The body passed 5 MiB (413).
    TooLarge,
    /// The body could not be read in time or at all (400, 408).
    UnreadableBody,
    /// The writer's queue was full (503, `Retry-After: 1`).
    Saturated,
    /// The database could not commit (503, `Retry-After: 5`).
    NotStored,
}

impl WebhookRefusal {
    const ALL: [WebhookRefusal; 5] = [
        WebhookRefusal::NoAppSecret,
        WebhookRefusal::TooLarge,
        WebhookRefusal::UnreadableBody,
        WebhookRefusal::Saturated,
        WebhookRefusal::NotStored,
    ];

    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookRefusal::NoAppSecret => "no_app_secret",
            WebhookRefusal::TooLarge => "too_large",
            WebhookRefusal::UnreadableBody => "unreadable_body",
            WebhookRefusal::Saturated => "saturated",
            WebhookRefusal::NotStored => "not_stored",
        }
    }
}

/// Which kind of Graph API call an attempt belonged to (the `operation` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaOperation {
    /// `POST /{phone_number_id}/messages` that sends something (text, template, reaction...).
    Send,
    /// `POST /{phone_number_id}/messages` with `status: read`.
    MarkRead,
    /// A `GET` of a Graph object (the phone number check, media look-ups).
    Lookup,
}

impl MetaOperation {
    const ALL: [MetaOperation; 3] = [
        MetaOperation::Send,
        MetaOperation::MarkRead,
        MetaOperation::Lookup,
    ];

    /// The `operation` label.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaOperation::Send => "send",
            MetaOperation::MarkRead => "mark_read",
            MetaOperation::Lookup => "lookup",
        }
    }
}

/// How one Graph API attempt ended (the `result` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaAttemptResult {
    /// A 2xx answer.
    Success,
    /// An answer with an error status (4xx, 5xx).
    HttpError,
    /// Nothing reached Meta (DNS, refused connection, connect timeout, bad request).
    NotSent,
    /// The request went out and no answer came back.
    NoAnswer,
}

impl MetaAttemptResult {
    const ALL: [MetaAttemptResult; 4] = [
        MetaAttemptResult::Success,
        MetaAttemptResult::HttpError,
        MetaAttemptResult::NotSent,
        MetaAttemptResult::NoAnswer,
    ];

    /// The `result` label.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaAttemptResult::Success => "success",
            MetaAttemptResult::HttpError => "http_error",
            MetaAttemptResult::NotSent => "not_sent",
            MetaAttemptResult::NoAnswer => "no_answer",
        }
    }
}

const OUTCOMES: [Outcome; 4] = [
    Outcome::Processed,
    Outcome::Duplicate,
    Outcome::Ignored,
    Outcome::Failed,
];
const SEND_OUTCOMES: [&str; 3] = ["sent", "failed", "unknown"];

/// Every counter and histogram of one process. Cheap to record into from any thread.
#[derive(Debug)]
pub struct Metrics {
    deliveries: [AtomicU64; OUTCOMES.len()],
    signature_rejections: AtomicU64,
    duplicates: AtomicU64,
    new_messages: AtomicU64,
    new_statuses: AtomicU64,
    refusals: [AtomicU64; WebhookRefusal::ALL.len()],
    webhook_duration: Histogram,
    meta_duration: [Histogram; MetaOperation::ALL.len()],
    meta_attempts: [[AtomicU64; MetaAttemptResult::ALL.len()]; MetaOperation::ALL.len()],
    sends: [AtomicU64; SEND_OUTCOMES.len()],
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every count at zero.
    pub fn new() -> Metrics {
        Metrics {
            deliveries: Default::default(),
            signature_rejections: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            new_messages: AtomicU64::new(0),
            new_statuses: AtomicU64::new(0),
            refusals: Default::default(),
            webhook_duration: Histogram::new(histogram::WEBHOOK_BOUNDS_MICROS),
            meta_duration: MetaOperation::ALL
                .map(|_| Histogram::new(histogram::META_BOUNDS_MICROS)),
            meta_attempts: Default::default(),
            sends: Default::default(),
        }
    }

    /// A committed delivery: its outcome, the rows it added and the items it skipped
    /// as already stored.
    pub fn record_delivery(&self, report: &DeliveryReport) {
        bump(&self.deliveries[outcome_slot(report.outcome)]);
        add(&self.duplicates, report.duplicates);
        add(&self.new_messages, report.new_messages);
        add(&self.new_statuses, report.new_statuses);
    }

    /// A POST refused for a missing, malformed or wrong signature.
    pub fn record_signature_rejection(&self) {
        bump(&self.signature_rejections);
    }

    /// A POST answered neither 200 nor the signature 404.
    pub fn record_refusal(&self, reason: WebhookRefusal) {
        bump(&self.refusals[reason as usize]);
    }

    /// How long a signed POST took, from the handler's start to its answer.
    pub fn observe_webhook(&self, elapsed: Duration) {
        self.webhook_duration.observe(elapsed);
    }

    /// One Graph API attempt (each retry is an attempt of its own).
    pub fn observe_meta_attempt(
        &self,
        operation: MetaOperation,
        result: MetaAttemptResult,
        elapsed: Duration,
    ) {
        self.meta_duration[operation as usize].observe(elapsed);
        bump(&self.meta_attempts[operation as usize][result as usize]);
    }

    /// A send whose row just reached its final status.
    pub fn record_send(&self, outcome: &SendOutcome) {
        let slot = match outcome {
            SendOutcome::Sent { .. } => 0,
            SendOutcome::Failed { .. } => 1,
            SendOutcome::Unknown { .. } => 2,
        };
        bump(&self.sends[slot]);
    }

    /// Every metric as Prometheus text, exposition format 0.0.4: `# HELP` and `# TYPE`
    /// per family, histograms as cumulative `_bucket{le}` with `+Inf`, `_sum`, `_count`.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        self.render_webhook(&mut out);
        self.render_meta(&mut out);
        family(
            &mut out,
            "wa_mcp_sends_total",
            "counter",
            "Sends settled, by the status their row ended in (sent, failed, or unknown when the request went out and no answer came).",
        );
        for (name, count) in SEND_OUTCOMES.iter().zip(&self.sends) {
            sample(
                &mut out,
                "wa_mcp_sends_total",
                &format!("outcome=\"{name}\""),
                load(count),
            );
        }
        family(
            &mut out,
            "wa_mcp_build_info",
            "gauge",
            "Always 1; the version label says which wa-mcp runs.",
        );
        sample(
            &mut out,
            "wa_mcp_build_info",
            concat!("version=\"", env!("CARGO_PKG_VERSION"), "\""),
            1,
        );
        out
    }

    fn render_webhook(&self, out: &mut String) {
        let name = "wa_mcp_webhook_deliveries_total";
        family(
            out,
            name,
            "counter",
            "Signed webhook deliveries committed, by the outcome kept in the delivery log.",
        );
        for (outcome, count) in OUTCOMES.iter().zip(&self.deliveries) {
            sample(
                out,
                name,
                &format!("outcome=\"{}\"", outcome.as_str()),
                load(count),
            );
        }
        let counters = [
            (
                "wa_mcp_webhook_signature_rejections_total",
                &self.signature_rejections,
                "Webhook POSTs answered 404 for a missing, malformed or wrong X-Hub-Signature-256.",
            ),
            (
                "wa_mcp_webhook_duplicates_total",
                &self.duplicates,
                "Messages and statuses in signed deliveries that were already stored (replays), skipped.",
            ),
            (
                "wa_mcp_webhook_messages_total",
                &self.new_messages,
                "Inbound messages newly stored from webhook deliveries.",
            ),
            (
                "wa_mcp_webhook_statuses_total",
                &self.new_statuses,
                "Status notifications newly stored from webhook deliveries.",
            ),
        ];
        for (name, count, help) in counters {
            family(out, name, "counter", help);
            sample(out, name, "", load(count));
        }
        let name = "wa_mcp_webhook_refusals_total";
        family(
            out,
            name,
            "counter",
            "Webhook POSTs answered neither 200 nor the signature 404, by reason (Meta delivers them again).",
        );
        for (reason, count) in WebhookRefusal::ALL.iter().zip(&self.refusals) {
            sample(
                out,
                name,
                &format!("reason=\"{}\"", reason.as_str()),
                load(count),
            );
        }
        let name = "wa_mcp_webhook_request_duration_seconds";
        family(
            out,
            name,
            "histogram",
            "Time from receiving a correctly signed webhook POST to answering it, the commit included.",
        );
        self.webhook_duration.render_samples(out, name, "");
    }

    fn render_meta(&self, out: &mut String) {
        let name = "wa_mcp_meta_request_duration_seconds";
        family(
            out,
            name,
            "histogram",
            "Duration of each Graph API attempt (a retried call counts every attempt), by operation.",
        );
        for (op, h) in MetaOperation::ALL.iter().zip(&self.meta_duration) {
            h.render_samples(out, name, &format!("operation=\"{}\",", op.as_str()));
        }
        let name = "wa_mcp_meta_requests_total";
        family(
            out,
            name,
            "counter",
            "Graph API attempts by operation and how each ended.",
        );
        for (op, row) in MetaOperation::ALL.iter().zip(&self.meta_attempts) {
            for (result, count) in MetaAttemptResult::ALL.iter().zip(row) {
                let labels = format!(
                    "operation=\"{}\",result=\"{}\"",
                    op.as_str(),
                    result.as_str()
                );
                sample(out, name, &labels, load(count));
            }
        }
    }
}

fn outcome_slot(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Processed => 0,
        Outcome::Duplicate => 1,
        Outcome::Ignored => 2,
        Outcome::Failed => 3,
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::Relaxed);
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: u64) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: Outcome, messages: usize, statuses: usize, dups: usize) -> DeliveryReport {
        DeliveryReport {
            event_id: 1,
            outcome,
            new_messages: messages,
            new_statuses: statuses,
            duplicates: dups,
            error: None,
        }
    }

    #[test]
    fn counts_land_under_their_labels() {
        let m = Metrics::new();
        m.record_delivery(&report(Outcome::Processed, 2, 1, 0));
        m.record_delivery(&report(Outcome::Duplicate, 0, 0, 3));
        m.record_signature_rejection();
        m.record_refusal(WebhookRefusal::Saturated);
        m.record_send(&SendOutcome::Unknown { detail: "x".into() });
        m.observe_meta_attempt(
            MetaOperation::MarkRead,
            MetaAttemptResult::NoAnswer,
            Duration::from_millis(30),
        );
        let text = m.render();
        for line in [
            "wa_mcp_webhook_deliveries_total{outcome=\"processed\"} 1",
            "wa_mcp_webhook_deliveries_total{outcome=\"duplicate\"} 1",
            "wa_mcp_webhook_deliveries_total{outcome=\"failed\"} 0",
            "wa_mcp_webhook_duplicates_total 3",
            "wa_mcp_webhook_messages_total 2",
            "wa_mcp_webhook_statuses_total 1",
            "wa_mcp_webhook_signature_rejections_total 1",
            "wa_mcp_webhook_refusals_total{reason=\"saturated\"} 1",
            "wa_mcp_sends_total{outcome=\"unknown\"} 1",
            "wa_mcp_sends_total{outcome=\"sent\"} 0",
            "wa_mcp_meta_requests_total{operation=\"mark_read\",result=\"no_answer\"} 1",
            "wa_mcp_meta_request_duration_seconds_bucket{operation=\"mark_read\",le=\"0.05\"} 1",
            "wa_mcp_meta_request_duration_seconds_bucket{operation=\"mark_read\",le=\"0.025\"} 0",
            "wa_mcp_meta_request_duration_seconds_count{operation=\"send\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn instances_do_not_share_counts() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.record_signature_rejection();
        assert!(
            b.render()
                .contains("wa_mcp_webhook_signature_rejections_total 0\n")
        );
    }
}
