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
/// within the total timeout. What is held grows with what arrived (never past a
/// declared length), not with what was promised.
pub(super) async fn read_body(
    mut body: Incoming,
    settings: &LimitSettings,
    reservation: &mut BodyReservation<'_>,
    verifier: &mut SignatureVerifier,
    declared: Option<u64>,
) -> Result<BodyBuffer, BodyRefusal> {
    let started = Instant::now();
    let mut buf = BodyBuffer::new(declared);
    loop {
        let deadline = started + allowed_time(settings, buf.len());
        let frame = match tokio::time::timeout_at(deadline.into(), body.frame()).await {
            Err(_elapsed) => return Err(BodyRefusal::TooSlow),
            Ok(None) => return Ok(buf),
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
        buf.push(&piece);
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

/// The most one block of a [`BodyBuffer`] holds.
const BLOCK: usize = 64 * 1024;

/// A body's bytes as they arrive, in blocks of at most 64 KiB, each grown by a quarter
/// at a time (so it holds at most about a quarter more than arrived) and never past a
/// declared length.
///
/// Why blocks: large bodies that come and go (a peer sending 5 MiB under a wrong
/// signature, again and again) would otherwise leave freed buffers of every size up to
/// 5 MiB in the allocator's heaps, which the process keeps; blocks of one size are
/// reused by the next body instead. Only a body whose signature is good is ever made
/// contiguous, by [`BodyBuffer::into_bytes`]; a small one (Meta's) is one block and is
/// handed on without a copy.
pub(super) struct BodyBuffer {
    blocks: Vec<Vec<u8>>,
    len: usize,
    /// What the body declared and has not yet sent, so no block is grown past it.
    promised: Option<usize>,
}

impl BodyBuffer {
    fn new(declared: Option<u64>) -> BodyBuffer {
        BodyBuffer {
            blocks: Vec::new(),
            len: 0,
            promised: declared.and_then(|d| usize::try_from(d).ok()),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, mut piece: &[u8]) {
        while !piece.is_empty() {
            let block = match self.blocks.last_mut() {
                Some(block) if block.len() < BLOCK => block,
                _ => {
                    self.blocks.push(Vec::new());
                    continue;
                }
            };
            let take = piece.len().min(BLOCK - block.len());
            let remaining = self.promised.map(|p| p.saturating_sub(self.len));
            make_room(block, take, remaining);
            block.extend_from_slice(&piece[..take]);
            self.len += take;
            piece = &piece[take..];
        }
    }

    /// The whole body in one piece: the single block as it is, or the blocks copied
    /// into one buffer, each freed as soon as it is copied.
    pub(super) fn into_bytes(self) -> Bytes {
        let mut blocks = self.blocks;
        if blocks.len() <= 1 {
            return Bytes::from(blocks.pop().unwrap_or_default());
        }
        let mut all = Vec::with_capacity(self.len);
        for block in blocks {
            all.extend_from_slice(&block);
        }
        Bytes::from(all)
    }
}

/// Makes room in `block` for `more` bytes: a quarter more than it holds (at least 8
/// KiB), within one block and within `remaining` more when the body declared its length.
fn make_room(block: &mut Vec<u8>, more: usize, remaining: Option<usize>) {
    let need = block.len() + more;
    if need <= block.capacity() {
        return;
    }
    let mut target = need
        .max(block.capacity() + block.capacity() / 4)
        .clamp(8 * 1024, BLOCK);
    if let Some(remaining) = remaining {
        target = target.min(block.len() + remaining);
    }
    block.reserve_exact(target.max(need) - block.len());
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

    fn filled(declared: Option<u64>, pieces: usize, size: usize) -> BodyBuffer {
        let mut buf = BodyBuffer::new(declared);
        for i in 0..pieces {
            buf.push(&vec![(i % 251) as u8; size]);
            let held: usize = buf.blocks.iter().map(Vec::capacity).sum();
            assert!(held <= buf.len() + buf.len() / 4 + 8 * 1024, "{held}");
            assert!(buf.blocks.iter().all(|b| b.capacity() <= BLOCK));
        }
        buf
    }

    #[test]
    fn blocks_follow_what_arrived_and_never_pass_a_declared_length() {
        let declared = filled(Some(5_000_000), 1000, 5000);
        let held: usize = declared.blocks.iter().map(Vec::capacity).sum();
        assert_eq!((declared.len(), held), (5_000_000, 5_000_000));
        let chunked = filled(None, 1000, 4999);
        assert_eq!(chunked.len(), 4_999_000);
    }

    #[test]
    fn the_whole_body_comes_back_in_order() {
        let mut buf = BodyBuffer::new(None);
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        for piece in body.chunks(7777) {
            buf.push(piece);
        }
        assert_eq!(&buf.into_bytes()[..], &body[..]);
    }

    #[test]
    fn a_small_body_is_handed_on_without_a_copy() {
        let mut buf = BodyBuffer::new(Some(3000));
        buf.push(&[b'x'; 3000]);
        let at = buf.blocks[0].as_ptr();
        let bytes = buf.into_bytes();
        assert_eq!((bytes.as_ptr(), bytes.len()), (at, 3000));
        assert!(BodyBuffer::new(None).into_bytes().is_empty());
    }
}
