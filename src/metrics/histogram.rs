//! A latency histogram on fixed buckets of atomics: recording is two relaxed
//! increments and a binary search, with no lock, so the hot path never waits on a
//! scrape.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bounds for the webhook: a commit with `synchronous=FULL` takes a few milliseconds on
/// a laptop and tens to hundreds on a Raspberry Pi's SD card. Microseconds, ascending.
pub const WEBHOOK_BOUNDS_MICROS: &[u64] = &[
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000,
];

/// Bounds for one Graph API attempt: tens to hundreds of milliseconds when healthy, up
/// to the 30 s per-attempt timeout when not. Microseconds, ascending.
pub const META_BOUNDS_MICROS: &[u64] = &[
    25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
    20_000_000, 30_000_000, 60_000_000,
];

/// Observations counted per bucket (not cumulative: rendering adds them up), one
/// overflow bucket for `+Inf`, and the sum in microseconds.
#[derive(Debug)]
pub struct Histogram {
    /// Upper bounds (inclusive, as Prometheus's `le`), microseconds, ascending.
    bounds: &'static [u64],
    /// `counts[i]` holds observations in `(bounds[i-1], bounds[i]]`; the last slot those
    /// above every bound.
    counts: Box<[AtomicU64]>,
    sum_micros: AtomicU64,
}

/// A point-in-time reading of a [`Histogram`], cumulative as Prometheus shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(le in seconds, observations <= le)`, ascending; `+Inf` is `count`.
    pub buckets: Vec<(f64, u64)>,
    /// Every observation; always equal to the `+Inf` bucket.
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    /// An empty histogram over `bounds` (microseconds, strictly ascending).
    pub fn new(bounds: &'static [u64]) -> Histogram {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]), "bounds ascend");
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one duration.
    pub fn observe(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        // The first bound >= micros; past the end means the overflow slot.
        let slot = self.bounds.partition_point(|&bound| bound < micros);
        if let Some(count) = self.counts.get(slot) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The cumulative buckets, count and sum. The count is the sum of the buckets read,
    /// so `_count` always equals the `+Inf` bucket even while observations race in.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(self.bounds.len());
        for (bound, count) in self.bounds.iter().zip(self.counts.iter()) {
            cumulative += count.load(Ordering::Relaxed);
            buckets.push((micros_to_seconds(*bound), cumulative));
        }
        let overflow = self.counts.last().map_or(0, |c| c.load(Ordering::Relaxed));
        HistogramSnapshot {
            buckets,
            count: cumulative + overflow,
            sum_seconds: micros_to_seconds(self.sum_micros.load(Ordering::Relaxed)),
        }
    }

    /// Appends the `_bucket`, `_sum` and `_count` samples of family `name`; `labels`
    /// is either empty or `key="value",` pairs each ending in a comma.
    pub fn render_samples(&self, out: &mut String, name: &str, labels: &str) {
        let snap = self.snapshot();
        for (le, count) in &snap.buckets {
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{le}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {}", snap.count);
        let plain = labels.trim_end_matches(',');
        let braces = if plain.is_empty() {
            String::new()
        } else {
            format!("{{{plain}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", snap.sum_seconds);
        let _ = writeln!(out, "{name}_count{braces} {}", snap.count);
    }
}

fn micros_to_seconds(micros: u64) -> f64 {
    micros as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: &[u64] = &[1_000, 10_000, 100_000];

    #[test]
    fn a_value_on_a_bound_counts_in_that_bucket() {
        let h = Histogram::new(BOUNDS);
        h.observe(Duration::from_millis(1));
        h.observe(Duration::from_millis(10));
        let snap = h.snapshot();
        assert_eq!(snap.buckets, vec![(0.001, 1), (0.01, 2), (0.1, 2)]);
        assert_eq!(snap.count, 2);
    }

    #[test]
    fn buckets_are_cumulative_and_overflow_counts_only_in_inf() {
        let h = Histogram::new(BOUNDS);
        for micros in [0, 999, 1_001, 50_000, 100_001, 5_000_000] {
            h.observe(Duration::from_micros(micros));
        }
        let snap = h.snapshot();
        assert_eq!(snap.buckets, vec![(0.001, 2), (0.01, 3), (0.1, 4)]);
        assert_eq!(snap.count, 6);
        let expected_sum = (999 + 1_001 + 50_000 + 100_001 + 5_000_000) as f64 / 1e6;
        assert!((snap.sum_seconds - expected_sum).abs() < 1e-9);
    }

    #[test]
    fn a_huge_duration_saturates_instead_of_panicking() {
        let h = Histogram::new(BOUNDS);
        h.observe(Duration::MAX);
        assert_eq!(h.snapshot().count, 1);
        assert_eq!(h.snapshot().buckets[2].1, 0);
    }

    #[test]
    fn renders_labelled_and_plain_samples() {
        let h = Histogram::new(BOUNDS);
        h.observe(Duration::from_millis(5));
        let mut out = String::new();
        h.render_samples(&mut out, "x_seconds", "op=\"send\",");
        assert!(out.contains("x_seconds_bucket{op=\"send\",le=\"0.01\"} 1\n"));
        assert!(out.contains("x_seconds_bucket{op=\"send\",le=\"+Inf\"} 1\n"));
        assert!(out.contains("x_seconds_sum{op=\"send\"} 0.005\n"));
        assert!(out.contains("x_seconds_count{op=\"send\"} 1\n"));
        let mut plain = String::new();
        h.render_samples(&mut plain, "y_seconds", "");
        assert!(plain.contains("y_seconds_bucket{le=\"0.001\"} 0\n"));
        assert!(plain.contains("y_seconds_count 1\n"));
    }

    #[test]
    fn shipped_bounds_ascend() {
        for bounds in [WEBHOOK_BOUNDS_MICROS, META_BOUNDS_MICROS] {
            assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
