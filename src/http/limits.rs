//! What the listener holds for peers it has not verified yet, bounded in total: open
//! connections, and the bytes of webhook bodies in flight.
//!
//! Every limit is a permit taken before anything is read and given back when the
//! connection or the request ends, so the memory they guard stays bounded however many
//! peers arrive at once, and a peer over a limit is refused at once rather than queued.
//! A webhook body is held in one of three tiers by its size (declared, or read so far):
//!
//! - up to [`LimitSettings::free_body_bytes`]: nothing to take. Meta's deliveries (a few
//!   KB) are here, so they never wait on, or are refused because of, anything else in
//!   flight; the connection cap bounds what these hold together.
//! - up to [`LimitSettings::large_body_bytes`]: its bytes beyond the free ones come out
//!   of a budget shared by every body in flight ([`LimitSettings::shared_body_bytes`]).
//! - larger (up to 5 MiB): one of [`LimitSettings::large_bodies`] permits.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::MAX_BODY_BYTES;

/// The limits, as numbers; [`Limits::new`] turns them into permits.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Connections open at once; the next one is answered 503 and closed unread.
    pub max_connections: usize,
    /// What any one body may hold without taking anything.
    pub free_body_bytes: usize,
    /// What bodies between the free size and the large size hold together, beyond
    /// their free bytes.
    pub shared_body_bytes: usize,
    /// Above this a body needs a large-body permit.
    pub large_body_bytes: usize,
    /// Large-body permits: how many bodies over [`Self::large_body_bytes`] are read at once.
    pub large_bodies: usize,
    /// The slowest a body may arrive, in bytes per second averaged from the start of the
    /// body after [`Self::body_grace`]; 0 for no floor.
    pub min_body_rate: u32,
    /// How long a body may send nothing before the floor applies.
    pub body_grace: Duration,
    /// The longest a whole body may take, however fast it arrives.
    pub body_timeout: Duration,
}

impl Default for LimitSettings {
    /// 512 connections (well under the usual 1024 open files); 16 KiB free per body, 8
    /// MiB shared, 4 bodies over 256 KiB; at least 4 KiB/s after 5 s, and 60 s in all.
    fn default() -> Self {
        LimitSettings {
            max_connections: 512,
            free_body_bytes: 16 * 1024,
            shared_body_bytes: 8 * 1024 * 1024,
            large_body_bytes: 256 * 1024,
            large_bodies: 4,
            min_body_rate: 4 * 1024,
            body_grace: Duration::from_secs(5),
            body_timeout: Duration::from_secs(60),
        }
    }
}

/// The shared budget's permits each stand for this many bytes.
const UNIT: usize = 1024;
/// A body grows its share of the budget in steps of this many bytes.
const STEP: usize = 16 * 1024;

/// The permits behind [`LimitSettings`], shared by every connection of one listener.
#[derive(Debug)]
pub struct Limits {
    settings: LimitSettings,
    connections: Arc<Semaphore>,
    shared: Arc<Semaphore>,
    large: Arc<Semaphore>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(LimitSettings::default())
    }
}

/// No permit was free for a body: the request is answered 503 and not read further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodiesBusy;

impl Limits {
    pub fn new(settings: LimitSettings) -> Limits {
        let units = settings.shared_body_bytes / UNIT;
        Limits {
            connections: Arc::new(Semaphore::new(settings.max_connections)),
            shared: Arc::new(Semaphore::new(units.min(Semaphore::MAX_PERMITS))),
            large: Arc::new(Semaphore::new(settings.large_bodies)),
            settings,
        }
    }

    pub fn settings(&self) -> &LimitSettings {
        &self.settings
    }

    /// A place for one more connection, held for as long as it is open; `None` at the cap.
    pub(super) fn admit_connection(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.connections).try_acquire_owned().ok()
    }

    /// Room for a body that declares `declared` bytes (or nothing, when chunked), taken
    /// before any of it is read.
    pub(super) fn reserve_body(
        &self,
        declared: Option<u64>,
    ) -> Result<BodyReservation<'_>, BodiesBusy> {
        let mut reservation = BodyReservation {
            limits: self,
            covered: self.settings.free_body_bytes,
            shared: None,
            large: None,
        };
        if let Some(n) = declared {
            reservation.cover(usize::try_from(n).unwrap_or(usize::MAX))?;
        }
        Ok(reservation)
    }
}

/// What one body holds; given back when dropped.
#[derive(Debug)]
pub(super) struct BodyReservation<'a> {
    limits: &'a Limits,
    /// The size this reservation lets the body reach.
    covered: usize,
    shared: Option<OwnedSemaphorePermit>,
    large: Option<OwnedSemaphorePermit>,
}

impl BodyReservation<'_> {
    /// Makes room for the body to reach `len` bytes, taking from the shared budget or a
    /// large-body permit as its size needs; [`BodiesBusy`] when neither can give it.
    pub(super) fn cover(&mut self, len: usize) -> Result<(), BodiesBusy> {
        if len <= self.covered {
            return Ok(());
        }
        let settings = &self.limits.settings;
        if len > settings.large_body_bytes {
            let permit = Arc::clone(&self.limits.large).try_acquire_owned();
            self.large = Some(permit.map_err(|_| BodiesBusy)?);
            // The large permit covers the body from here on; its share goes back.
            self.shared = None;
            self.covered = MAX_BODY_BYTES;
            return Ok(());
        }
        let wanted = (len - settings.free_body_bytes).div_ceil(STEP) * STEP;
        let held = self.shared.as_ref().map_or(0, |p| p.num_permits() * UNIT);
        let more = u32::try_from((wanted - held) / UNIT).map_err(|_| BodiesBusy)?;
        let extra = Arc::clone(&self.limits.shared)
            .try_acquire_many_owned(more)
            .map_err(|_| BodiesBusy)?;
        match &mut self.shared {
            Some(permit) => permit.merge(extra),
            None => self.shared = Some(extra),
        }
        self.covered = settings.free_body_bytes + wanted;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits::new(LimitSettings {
            max_connections: 2,
            free_body_bytes: 16 * 1024,
            shared_body_bytes: 64 * 1024,
            large_body_bytes: 128 * 1024,
            large_bodies: 1,
            ..LimitSettings::default()
        })
    }

    #[test]
    fn free_bodies_take_nothing_and_are_never_refused() {
        let limits = small();
        let _all_shared = limits
            .reserve_body(Some(16 * 1024 + 64 * 1024))
            .expect("the whole budget");
        let _large = limits
            .reserve_body(Some(1 << 20))
            .expect("the one large permit");
        let held: Vec<_> = (0..1000)
            .map(|_| limits.reserve_body(Some(16 * 1024)).expect("free"))
            .collect();
        assert_eq!(held.len(), 1000);
    }

    #[test]
    fn the_shared_budget_is_spent_and_given_back() {
        let limits = small();
        let a = limits.reserve_body(Some(48 * 1024)).expect("32 KiB shared");
        let b = limits.reserve_body(Some(48 * 1024)).expect("32 KiB shared");
        assert_eq!(limits.reserve_body(Some(17 * 1024)).err(), Some(BodiesBusy));
        drop(a);
        let c = limits.reserve_body(Some(17 * 1024)).expect("room again");
        drop((b, c));
        assert_eq!(limits.shared.available_permits(), 64);
    }

    #[test]
    fn a_chunked_body_grows_into_the_budget_then_a_large_permit() {
        let limits = small();
        let mut r = limits.reserve_body(None).expect("nothing taken");
        r.cover(10 * 1024).expect("free");
        assert_eq!(limits.shared.available_permits(), 64);
        r.cover(20 * 1024).expect("one step");
        assert_eq!(limits.shared.available_permits(), 48);
        r.cover(80 * 1024).expect("the whole budget");
        assert_eq!(limits.shared.available_permits(), 0);
        r.cover(200 * 1024).expect("the large permit");
        assert_eq!(limits.shared.available_permits(), 64, "its share went back");
        let mut other = limits.reserve_body(None).expect("nothing taken");
        assert_eq!(other.cover(129 * 1024), Err(BodiesBusy));
        drop(r);
        assert_eq!(other.cover(129 * 1024), Ok(()));
    }

    #[test]
    fn connections_are_capped_until_one_closes() {
        let limits = small();
        let (a, _b) = (limits.admit_connection(), limits.admit_connection());
        assert!(a.is_some() && limits.admit_connection().is_none());
        drop(a);
        assert!(limits.admit_connection().is_some());
    }
}
