//! "Now" for decisions that depend on the time of day, such as whether a contact's
//! 24-hour customer-service window is still open. Production reads the wall clock;
//! tests pin it so they can stand on either side of a boundary without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::timefmt::now_micros;

/// A source of the current time in microseconds since the Unix epoch. Clones share
/// the pinned value, so a test can move a clock it already handed to [`super::Messaging`].
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the wall clock. `Some`: a pinned instant, moved only by [`Clock::set`].
    pinned: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The wall clock.
    pub fn system() -> Clock {
        Clock { pinned: None }
    }

    /// A clock that always says `micros` until [`Clock::set`] moves it.
    pub fn pinned(micros: i64) -> Clock {
        Clock {
            pinned: Some(Arc::new(AtomicI64::new(micros))),
        }
    }

    /// Moves a pinned clock (and every clone of it) to `micros`; the wall clock ignores it.
    pub fn set(&self, micros: i64) {
        if let Some(p) = &self.pinned {
            p.store(micros, Ordering::SeqCst);
        }
    }

    /// The current time in microseconds since the Unix epoch.
    pub fn now_micros(&self) -> i64 {
        match &self.pinned {
            Some(p) => p.load(Ordering::SeqCst),
            None => now_micros(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_clock_moves_only_when_set_and_clones_follow() {
        let clock = Clock::pinned(1_000);
        let clone = clock.clone();
        assert_eq!(clone.now_micros(), 1_000);
        clock.set(2_000);
        assert_eq!(clone.now_micros(), 2_000);
        let wall = Clock::system();
        wall.set(5);
        assert!(wall.now_micros() > 1_700_000_000_000_000);
    }
}
