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
mod labels;

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use histogram::{Histogram, HistogramSnapshot};
pub use labels::{MetaAttemptResult, MetaOperation, WebhookRefusal};

use crate::model::{DeliveryReport, Outcome, SendOutcome};

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

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
    connections_refused: AtomicU64,
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
            connections_refused: AtomicU64::new(0),
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

    /// A connection closed unread because the listener had as many open as it allows.
    pub fn record_connection_refused(&self) {
        bump(&self.connections_refused);
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
        let name = "wa_mcp_http_connections_refused_total";
        family(
            &mut out,
            name,
            "counter",
            "Connections answered 503 and closed unread because as many as allowed were open.",
        );
        sample(&mut out, name, "", load(&self.connections_refused));
        labelled_counter(
            &mut out,
            "wa_mcp_sends_total",
            "Sends settled, by the status their row ended in (sent, failed, or unknown when the request went out and no answer came).",
            "outcome",
            SEND_OUTCOMES.into_iter().zip(&self.sends),
        );
        let version = concat!("version=\"", env!("CARGO_PKG_VERSION"), "\"");
        family(
            &mut out,
            "wa_mcp_build_info",
            "gauge",
            "Always 1; the version label says which wa-mcp runs.",
        );
        sample(&mut out, "wa_mcp_build_info", version, 1);
        out
    }

    fn render_webhook(&self, out: &mut String) {
        labelled_counter(
            out,
            "wa_mcp_webhook_deliveries_total",
            "Signed webhook deliveries committed, by the outcome kept in the delivery log.",
            "outcome",
            OUTCOMES
                .map(Outcome::as_str)
                .into_iter()
                .zip(&self.deliveries),
        );
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
        labelled_counter(
            out,
            "wa_mcp_webhook_refusals_total",
            "Webhook POSTs answered neither 200 nor the signature 404, by reason (Meta delivers them again).",
            "reason",
            WebhookRefusal::ALL
                .map(WebhookRefusal::as_str)
                .into_iter()
                .zip(&self.refusals),
        );
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

/// A counter family with one label, a sample per `(label value, counter)`.
fn labelled_counter<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    counters: impl Iterator<Item = (&'static str, &'a AtomicU64)>,
) {
    family(out, name, "counter", help);
    for (value, count) in counters {
        sample(out, name, &format!("{label}=\"{value}\""), load(count));
    }
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
        m.record_refusal(WebhookRefusal::BodiesBusy);
        m.record_connection_refused();
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
            "wa_mcp_webhook_refusals_total{reason=\"bodies_busy\"} 1",
            "wa_mcp_webhook_refusals_total{reason=\"too_slow\"} 0",
            "wa_mcp_http_connections_refused_total 1",
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
