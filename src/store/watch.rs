//! The commit signal: a counter that moves whenever something new may be in the file,
//! so callers that wait for data (`wait_for_messages`, resource subscriptions) query
//! only when there is a reason to.
//!
//! Two sources feed it. This process's writer bumps it after every committed batch, at
//! once. Commits by other processes sharing the file (a `serve` daemon while `mcp`
//! waits) are seen by one watcher thread per [`Store`](super::Store): it holds one
//! read-only connection and asks `PRAGMA data_version` a few times a second, which
//! costs no I/O and changes when another connection has committed (and once when the
//! checkpointer empties the WAL after writes stop: a spare wake-up, never a loop). The
//! watcher starts with the first subscriber, wakes everyone once it has its starting
//! point, and stops when the store is dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::watch;

/// How often the watcher looks for commits made by other processes.
pub const CROSS_PROCESS_POLL: Duration = Duration::from_millis(200);

/// The counter's sending side, shared by the writer and the watcher.
#[derive(Clone)]
pub(super) struct CommitSignal {
    tx: Arc<watch::Sender<u64>>,
}

impl CommitSignal {
    pub(super) fn new() -> CommitSignal {
        CommitSignal {
            tx: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Tells every subscriber that new data may be visible.
    pub(super) fn bump(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }
}

/// The running cross-process watcher.
pub(super) struct Watcher {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Watcher {
    /// Stops the watcher and waits until its connection is closed.
    pub(super) fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}

/// Starts the cross-process watcher on `path`.
pub(super) fn spawn_watcher(path: &Path, signal: CommitSignal) -> std::io::Result<Watcher> {
    let (stop, stopped) = std::sync::mpsc::channel();
    let path: PathBuf = path.to_path_buf();
    let thread = std::thread::Builder::new()
        .name("wa-mcp-commit-watch".into())
        .spawn(move || run_watcher(&path, &signal, &stopped))?;
    Ok(Watcher { stop, thread })
}

fn run_watcher(path: &Path, signal: &CommitSignal, stop: &Receiver<()>) {
    let conn = match Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %e, "commit_watcher_unavailable: commits by other processes are not seen");
            return;
        }
    };
    let _ = conn.busy_timeout(Duration::from_millis(100));
    let mut last = data_version(&conn);
    // Whatever committed between the first subscription and this starting point is
    // in `last` and would never be signalled: one wake-up makes every subscriber look
    // again now, and every later commit moves `data_version`.
    signal.bump();
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(CROSS_PROCESS_POLL) {
        let now = data_version(&conn);
        if now != last {
            last = now;
            signal.bump();
        }
    }
}

/// SQLite's count of commits by other connections, as this connection sees it.
fn data_version(conn: &Connection) -> Option<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_version_moves_when_another_connection_commits() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("w.db");
        let writer = Connection::open(&path).expect("open");
        writer
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x);")
            .expect("schema");
        let reader = Connection::open(&path).expect("open reader");
        let before = data_version(&reader);
        assert_eq!(before, data_version(&reader), "no commit, no change");
        writer
            .execute("INSERT INTO t VALUES (1)", [])
            .expect("insert");
        assert_ne!(before, data_version(&reader));
    }

    fn write_something(store: &crate::store::Store) {
        store
            .write_blocking(|ctx| {
                ctx.exec("UPDATE write_clock SET last_us = last_us WHERE id = 1", [])?;
                Ok(())
            })
            .expect("write");
    }

    /// Waits for the watcher's start-up wake-up and marks it seen.
    fn settled(rx: &mut watch::Receiver<u64>) {
        let mut polls = 0;
        while !rx.has_changed().expect("open") {
            polls += 1;
            assert!(polls < 100, "the watcher never started");
            std::thread::sleep(CROSS_PROCESS_POLL / 2);
        }
        rx.borrow_and_update();
    }

    #[test]
    fn a_commit_by_this_store_or_another_on_the_file_moves_the_signal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.db");
        let here = crate::store::Store::open(&path).expect("store");
        let other = crate::store::Store::open(&path).expect("second store");
        let mut local = here.subscribe_commits();
        let mut remote = other.subscribe_commits();
        // Each watcher wakes its subscribers once when it starts; past that, only
        // commits move the signal.
        settled(&mut local);
        settled(&mut remote);
        write_something(&here);
        assert!(
            local.has_changed().expect("open"),
            "signalled by the time the write is answered"
        );
        local.borrow_and_update();
        // The other store hears of it through its watcher, within a few polls.
        let mut polls = 0;
        while !remote.has_changed().expect("open") {
            polls += 1;
            assert!(
                polls < 100,
                "the watcher never saw the other store's commit"
            );
            std::thread::sleep(CROSS_PROCESS_POLL / 2);
        }
        remote.borrow_and_update();
        drop(other);
        assert!(
            remote.has_changed().is_err(),
            "dropping the store stops its writer and its watcher, the signal's last senders"
        );
    }

    #[test]
    fn a_commit_by_another_connection_right_after_subscribing_is_signalled() {
        // The watcher starts on another thread; a commit made between the first
        // subscription and the watcher's first look at `data_version` was counted in
        // its starting point and never signalled: the waiter slept through it.
        for round in 0..10 {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("r.db");
            // No checkpointer: its truncation of the WAL would move `data_version` a
            // second later and hide the miss.
            let options = crate::store::StoreOptions {
                background_checkpoints: false,
                ..crate::store::StoreOptions::default()
            };
            let store = crate::store::Store::open_with(&path, options).expect("store");
            let other = Connection::open(&path).expect("another connection");
            other
                .execute_batch("PRAGMA synchronous = OFF; SELECT 1 FROM write_clock;")
                .expect("ready");
            let commits = store.subscribe_commits();
            other
                .execute(
                    "UPDATE write_clock SET last_us = last_us + 1 WHERE id = 1",
                    [],
                )
                .expect("commit");
            let mut polls = 0;
            while !commits.has_changed().expect("open") {
                polls += 1;
                assert!(
                    polls < 50,
                    "round {round}: a commit made just after subscribing was never signalled"
                );
                std::thread::sleep(CROSS_PROCESS_POLL / 2);
            }
        }
    }
}
