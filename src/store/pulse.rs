//! The writer's pulse: what it last did, kept in atomics so that reading it (`/health`,
//! however often it is asked) puts no work on the writer; and a heartbeat that commits
//! an empty job when nothing else has for a while, so a writer that can no longer commit
//! (a full disk, a dead card, a lock held by another process) is noticed even when no
//! delivery arrives, and its recovery too.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Store;
use crate::timefmt::now_micros;

/// How often the heartbeat looks at the pulse.
const TICK: Duration = Duration::from_secs(1);
/// An idle writer commits an empty job after this long without an attempt.
const IDLE_BEAT: Duration = Duration::from_secs(60);
/// A failing writer is tried again this often, so its recovery is seen.
const RETRY_BEAT: Duration = Duration::from_secs(5);
/// A batch still running after this long means the writer cannot commit now (it waits
/// on another process's lock, or on a disk that no longer answers).
const STUCK_AFTER: Duration = Duration::from_secs(15);

/// What the writer last did. Written by the writer thread, read by anyone.
pub(super) struct WriterPulse {
    /// When the store was opened: the heartbeat counts idleness from here at first.
    opened_us: i64,
    /// When the last batch committed (microseconds since the epoch; 0: never).
    last_ok_us: AtomicI64,
    /// When the last batch failed, or committed while a job in it hit a transient error.
    last_err_us: AtomicI64,
    /// When the batch in progress started (0: idle).
    busy_since_us: AtomicI64,
    /// The writer thread has ended.
    stopped: AtomicBool,
    /// The last failure's text.
    last_error: Mutex<Option<String>>,
}

/// Marks the writer stopped when dropped, however the thread ends.
pub(super) struct StopGuard<'p>(&'p WriterPulse);

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::Release);
    }
}

impl WriterPulse {
    pub(super) fn new() -> WriterPulse {
        WriterPulse {
            opened_us: now_micros(),
            last_ok_us: AtomicI64::new(0),
            last_err_us: AtomicI64::new(0),
            busy_since_us: AtomicI64::new(0),
            stopped: AtomicBool::new(false),
            last_error: Mutex::new(None),
        }
    }

    pub(super) fn stop_guard(&self) -> StopGuard<'_> {
        StopGuard(self)
    }

    pub(super) fn batch_started(&self) {
        self.busy_since_us.store(now_micros(), Ordering::Release);
    }

    /// `Ok(None)`: committed; `Ok(Some(e))`: committed, but a job hit transient error
    /// `e`; `Err(e)`: not committed.
    pub(super) fn batch_ended(&self, result: &Result<Option<String>, String>) {
        let now = now_micros();
        match result {
            Ok(None) => self.last_ok_us.store(now, Ordering::Release),
            Ok(Some(e)) | Err(e) => {
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(e.clone());
                }
                self.last_err_us.store(now, Ordering::Release);
            }
        }
        self.busy_since_us.store(0, Ordering::Release);
    }

    fn failing(&self) -> bool {
        self.last_err_us.load(Ordering::Acquire) > self.last_ok_us.load(Ordering::Acquire)
    }

    fn last_attempt_us(&self) -> i64 {
        let ok = self.last_ok_us.load(Ordering::Acquire);
        ok.max(self.last_err_us.load(Ordering::Acquire))
            .max(self.opened_us)
    }
}

/// The writer's state as `/health` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterHealth {
    /// False when the last batch failed, a batch has run for more than 15 s, or the
    /// writer has stopped: a delivery would not be committed now.
    pub can_commit: bool,
    /// Since the last commit that succeeded (`None`: none yet by this process).
    pub last_commit_age: Option<Duration>,
    /// How long the batch in progress has run (`None`: idle).
    pub busy_for: Option<Duration>,
    /// Jobs waiting for the writer, and how many may wait before deliveries get 503.
    pub queue_depth: usize,
    pub queue_capacity: usize,
    /// The last failure, while it is newer than the last success.
    pub last_error: Option<String>,
}

impl Store {
    /// The writer's liveness, read from its pulse: no query, no job, nothing the writer
    /// has to do, however often it is asked.
    pub fn writer_health(&self) -> WriterHealth {
        let pulse = &self.inner.pulse;
        let now = now_micros();
        let age = |us: i64| (us > 0).then(|| micros(now.saturating_sub(us)));
        let busy_for = age(pulse.busy_since_us.load(Ordering::Acquire));
        let failing = pulse.failing();
        let (queue_depth, queue_capacity) = match &self.inner.jobs {
            Some(jobs) => (jobs.max_capacity() - jobs.capacity(), jobs.max_capacity()),
            None => (0, 0),
        };
        let gone = self.inner.jobs.as_ref().is_none_or(|j| j.is_closed());
        WriterHealth {
            can_commit: !failing
                && !gone
                && !pulse.stopped.load(Ordering::Acquire)
                && busy_for.is_none_or(|b| b < STUCK_AFTER),
            last_commit_age: age(pulse.last_ok_us.load(Ordering::Acquire)),
            busy_for,
            queue_depth,
            queue_capacity,
            last_error: failing
                .then(|| pulse.last_error.lock().ok().and_then(|e| e.clone()))
                .flatten(),
        }
    }
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

/// Starts the heartbeat thread; it ends when the returned sender is dropped, or when
/// `send_beat` (which queues an empty job without waiting for it) returns `false`
/// because the writer is gone.
pub(super) fn start_heartbeat(
    pulse: Arc<WriterPulse>,
    send_beat: impl Fn() -> bool + Send + 'static,
) -> Option<std::sync::mpsc::Sender<()>> {
    let (stop, stopped) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("wa-mcp-heartbeat".into())
        .spawn(move || beat(&pulse, send_beat, &stopped))
        .map_err(|e| tracing::warn!(error = %e, "writer_heartbeat_unavailable"))
        .ok()?;
    Some(stop)
}

fn beat(pulse: &WriterPulse, send_beat: impl Fn() -> bool, stop: &Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(TICK) {
        let due = if pulse.failing() {
            RETRY_BEAT
        } else {
            IDLE_BEAT
        };
        let idle = micros(now_micros().saturating_sub(pulse.last_attempt_us()));
        if idle >= due && pulse.busy_since_us.load(Ordering::Acquire) == 0 && !send_beat() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_for_the_writers_health_puts_no_work_on_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("p.db")).expect("opens");
        let commits = store.inner.commits.subscribe();
        let before = *commits.borrow();
        for _ in 0..10_000 {
            assert!(store.writer_health().can_commit);
        }
        assert_eq!(*commits.borrow(), before, "no commit was made");
        store.write_blocking(|_| Ok(())).expect("a write");
        let health = store.writer_health();
        assert_ne!(*commits.borrow(), before);
        assert!(health.last_commit_age.is_some() && health.busy_for.is_none());
    }

    #[test]
    fn a_failed_batch_means_cannot_commit_until_one_succeeds() {
        let pulse = WriterPulse::new();
        pulse.batch_started();
        pulse.batch_ended(&Err("database or disk is full".into()));
        assert!(pulse.failing());
        pulse.batch_ended(&Ok(Some("disk I/O error".into())));
        assert!(pulse.failing(), "a job's transient error counts too");
        std::thread::sleep(Duration::from_millis(2));
        pulse.batch_ended(&Ok(None));
        assert!(!pulse.failing());
    }
}
