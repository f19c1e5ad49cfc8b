//! Reading a webhook body within its limits: 5 MiB, the room its reservation can cover
//! (see [`super::limits`]), a minimum rate and a total time. Every piece is hashed as it
//! arrives, so the signature is known the moment the last byte is.

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::{Bytes, Incoming};

use super::MAX_BODY_BYTES;
use super::limits::{BodyReservation, LimitSettings};
use crate::webhook::SignatureVerifier;

/// Why a body was not read to its end. Whatever was read is dropped with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BodyRefusal {
    /// It passed 5 MiB (413).
    TooLarge,
    /// It grew past what its reservation could cover, and nothing more was free (503).
    Busy,
    /// It arrived slower than the floor rate, or not within the total time (408).
    TooSlow,
    /// The peer broke it off, or sent what is not a valid HTTP body (400).
    Unreadable,
}

/// Reads the whole body, giving every piece to `verifier` as it arrives.
///
/// The contract: nothing past 5 MiB is read; before the body may reach a size,
/// `reservation` must cover it; by `grace + n / min_rate` after the first poll the body
/// must have sent more than `n` bytes, or it is cut off, and the whole of it must come
/// within the total timeout. The buffer grows with what arrived (never past a declared
/// length), not with what was promised.
pub(super) async fn read_body(
    mut body: Incoming,
    settings: &LimitSettings,
    reservation: &mut BodyReservation<'_>,
    verifier: &mut SignatureVerifier,
    declared: Option<u64>,
) -> Result<Bytes, BodyRefusal> {
    let started = Instant::now();
    let mut buf = Vec::new();
    loop {
        let deadline = started + allowed_time(settings, buf.len());
        let frame = match tokio::time::timeout_at(deadline.into(), body.frame()).await {
            Err(_elapsed) => return Err(BodyRefusal::TooSlow),
            Ok(None) => return Ok(Bytes::from(buf)),
            Ok(Some(Err(e))) => {
                tracing::debug!(error = %e, "webhook_body_unreadable");
                return Err(BodyRefusal::Unreadable);
            }
            Ok(Some(Ok(frame))) => frame,
        };
        // Trailers carry nothing a delivery needs.
        let Ok(piece) = frame.into_data() else {
            continue;
        };
        let len = buf.len() + piece.len();
        if len > MAX_BODY_BYTES {
            return Err(BodyRefusal::TooLarge);
        }
        reservation.cover(len).map_err(|_| BodyRefusal::Busy)?;
        verifier.update(&piece);
        make_room(&mut buf, piece.len(), declared);
        buf.extend_from_slice(&piece);
    }
}

/// How long after its start a body that has sent `received` bytes may wait for more:
/// the grace, then the time those bytes take at the floor rate, within the total timeout.
fn allowed_time(settings: &LimitSettings, received: usize) -> Duration {
    if settings.min_body_rate == 0 {
        return settings.body_timeout;
    }
    let at_floor = received as f64 / f64::from(settings.min_body_rate);
    (settings.body_grace + Duration::from_secs_f64(at_floor)).min(settings.body_timeout)
}

/// Makes room in `buf` for `more` bytes, growing by a quarter at a time (so it holds at
/// most a quarter more than arrived) and never past a declared length.
fn make_room(buf: &mut Vec<u8>, more: usize, declared: Option<u64>) {
    let need = buf.len() + more;
    if need <= buf.capacity() {
        return;
    }
    let mut target = need.max(buf.capacity() + buf.capacity() / 4).max(8 * 1024);
    if let Some(declared) = declared.and_then(|d| usize::try_from(d).ok()) {
        target = target.min(declared).max(need);
    }
    buf.reserve_exact(target - buf.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_starts_after_the_grace_and_stops_at_the_timeout() {
        let settings = LimitSettings {
            min_body_rate: 1000,
            body_grace: Duration::from_secs(5),
            body_timeout: Duration::from_secs(60),
            ..LimitSettings::default()
        };
        let at = |n| allowed_time(&settings, n).as_secs_f64();
        assert_eq!(at(0), 5.0);
        assert_eq!(at(2000), 7.0);
        assert_eq!(at(10_000_000), 60.0);
        let no_floor = LimitSettings {
            min_body_rate: 0,
            ..settings
        };
        assert_eq!(allowed_time(&no_floor, 0), Duration::from_secs(60));
    }

    #[test]
    fn the_buffer_follows_what_arrived_and_never_passes_a_declared_length() {
        let mut buf = Vec::new();
        for _ in 0..1000 {
            make_room(&mut buf, 5000, Some(5_000_000));
            buf.extend_from_slice(&[0; 5000]);
            assert!(buf.capacity() <= 5_000_000);
            assert!(buf.capacity() <= (buf.len() + buf.len() / 4).max(8 * 1024));
        }
        let mut chunked = Vec::new();
        for _ in 0..1000 {
            make_room(&mut chunked, 5000, None);
            chunked.extend_from_slice(&[0; 5000]);
            assert!(chunked.capacity() <= (chunked.len() + chunked.len() / 4) + 5000);
        }
    }
}
