//! When a Graph API call is tried again and how long to wait first, as pure functions
//! so the policy is tested without a network: which statuses are worth another attempt,
//! exponential backoff with equal jitter, and Meta's `Retry-After`.
//!
//! Which *failures* may be retried (a send that went out is never repeated) is decided
//! by the caller, in [`super::client`]; this module only answers "wait how long?".

use std::time::Duration;

/// How often and how patiently a call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt: 3 means at most 4 attempts.
    pub max_retries: u32,
    /// The backoff ceiling before the first retry; it doubles for each further retry.
    pub base_delay: Duration,
    /// No backoff ceiling exceeds this.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the error is returned instead,
    /// so a tool call never hangs for minutes on a rate limit.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// The contract's policy: 3 retries, 500 ms doubling up to 8 s, `Retry-After` up to 30 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// True for the HTTP statuses worth another attempt: 429 (rate limited) and every 5xx
/// (Meta had a problem). Every other 4xx is Meta saying no, and asking again will not help.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// The longest wait before retry number `retry` (0 for the first retry):
/// `base_delay * 2^retry`, capped at `max_delay`.
pub fn backoff_ceiling(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
    policy
        .base_delay
        .checked_mul(factor)
        .unwrap_or(policy.max_delay)
        .min(policy.max_delay)
}

/// Equal jitter: half the ceiling for sure, plus `unit` (in `0.0..=1.0`, clamped) of the
/// other half, so the wait is always within `ceiling / 2 ..= ceiling` and never zero.
pub fn jittered(ceiling: Duration, unit: f64) -> Duration {
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let half = ceiling / 2;
    half + (ceiling - half).mul_f64(unit)
}

/// How long to wait before retry number `retry` (0 for the first), or `None` to stop
/// and return the last error: no retries are left, or Meta's `retry_after` is longer than
/// `max_retry_after`. A `retry_after` within the cap is waited for at least.
pub fn delay_before_retry(
    policy: &RetryPolicy,
    retry: u32,
    retry_after: Option<Duration>,
    unit: f64,
) -> Option<Duration> {
    if retry >= policy.max_retries {
        return None;
    }
    let backoff = jittered(backoff_ceiling(policy, retry), unit);
    match retry_after {
        Some(wait) if wait > policy.max_retry_after => None,
        Some(wait) => Some(wait.max(backoff)),
        None => Some(backoff),
    }
}

/// A `Retry-After` header value in whole seconds. The HTTP-date form (which Meta does not
/// send) and anything unparsable count as "not given".
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A random number in `0.0..1.0` for [`jittered`], from the 48 low bits of a v4 UUID
/// (all random: the version and variant bits sit in bytes 6 and 8).
pub fn jitter_unit() -> f64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let random = bytes[10..]
        .iter()
        .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
    random as f64 / (1u64 << 48) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
    }

    #[test]
    fn retries_server_errors_and_rate_limits_only() {
        for status in [500, 502, 503, 504, 429] {
            assert!(is_retryable_status(status), "{status} should retry");
        }
        for status in [200, 400, 401, 403, 404, 409, 422] {
            assert!(!is_retryable_status(status), "{status} should not retry");
        }
    }

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        let p = policy();
        assert_eq!(backoff_ceiling(&p, 0), Duration::from_millis(500));
        assert_eq!(backoff_ceiling(&p, 1), Duration::from_millis(1000));
        assert_eq!(backoff_ceiling(&p, 2), Duration::from_millis(2000));
        assert_eq!(backoff_ceiling(&p, 4), Duration::from_secs(8));
        assert_eq!(backoff_ceiling(&p, 10), Duration::from_secs(8));
        assert_eq!(backoff_ceiling(&p, 40), Duration::from_secs(8));
    }

    #[test]
    fn jitter_stays_between_half_and_the_whole_ceiling() {
        let ceiling = Duration::from_millis(1000);
        assert_eq!(jittered(ceiling, 0.0), Duration::from_millis(500));
        assert_eq!(jittered(ceiling, 1.0), ceiling);
        assert_eq!(jittered(ceiling, 7.0), ceiling);
        assert_eq!(jittered(ceiling, f64::NAN), Duration::from_millis(500));
        for _ in 0..1000 {
            let unit = jitter_unit();
            assert!((0.0..1.0).contains(&unit));
            let wait = jittered(ceiling, unit);
            assert!(wait >= ceiling / 2 && wait <= ceiling, "{wait:?}");
        }
    }

    #[test]
    fn delays_follow_the_sequence_then_stop_after_max_retries() {
        let p = policy();
        let waits: Vec<_> = (0..4)
            .map(|retry| delay_before_retry(&p, retry, None, 1.0))
            .collect();
        assert_eq!(
            waits,
            [
                Some(Duration::from_millis(500)),
                Some(Duration::from_millis(1000)),
                Some(Duration::from_millis(2000)),
                None
            ]
        );
        let low = delay_before_retry(&p, 2, None, 0.0);
        assert_eq!(low, Some(Duration::from_millis(1000)));
    }

    #[test]
    fn retry_after_is_waited_for_at_least() {
        let p = policy();
        let wait = delay_before_retry(&p, 0, Some(Duration::from_secs(3)), 0.5);
        assert_eq!(wait, Some(Duration::from_secs(3)));
        // A Retry-After shorter than the backoff does not shorten it.
        let wait = delay_before_retry(&p, 2, Some(Duration::from_millis(10)), 1.0);
        assert_eq!(wait, Some(Duration::from_secs(2)));
        let at_cap = delay_before_retry(&p, 0, Some(Duration::from_secs(30)), 0.0);
        assert_eq!(at_cap, Some(Duration::from_secs(30)));
    }

    #[test]
    fn retry_after_above_the_cap_stops_retrying() {
        let p = policy();
        assert_eq!(
            delay_before_retry(&p, 0, Some(Duration::from_secs(31)), 0.0),
            None
        );
        assert_eq!(
            delay_before_retry(&p, 0, Some(Duration::from_secs(3600)), 0.0),
            None
        );
    }

    #[test]
    fn retry_after_takes_seconds_and_ignores_dates() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-5"), None);
        assert_eq!(parse_retry_after("1.5"), None);
        assert_eq!(parse_retry_after(""), None);
    }
}
