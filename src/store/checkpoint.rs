//! WAL checkpoints on a connection of their own, so the writer's commits never pay
//! for one. SQLite's automatic checkpoint runs inside the committing connection and
//! drives the commit tail latency; the writer's is turned off and this thread copies
//! the WAL back into the database instead.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How often the WAL is copied back while the database is busy.
const INTERVAL: Duration = Duration::from_millis(500);

/// Runs until `stop` is dropped or signalled: a PASSIVE checkpoint every interval
/// (never blocks a writer or a reader), and a TRUNCATE when a checkpoint found nothing
/// new, which keeps an idle database's WAL file small.
pub(super) fn run_checkpointer(path: &Path, stop: Receiver<()>) {
    let conn = match Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %e, "checkpointer_unavailable: the writer checkpoints instead");
            return;
        }
    };
    // A checkpoint waits briefly for a lock rather than failing at once; it never holds
    // up a commit for long because PASSIVE takes no writer lock.
    let _ = conn.busy_timeout(Duration::from_millis(100));
    let mut last_log = -1;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(INTERVAL) {
        let log = checkpoint(&conn, "PASSIVE").unwrap_or(-1);
        if log == last_log && log > 0 {
            // Nothing was written since the last round: shrink the WAL file.
            let _ = checkpoint(&conn, "TRUNCATE");
            last_log = 0;
        } else {
            last_log = log;
        }
    }
    let _ = checkpoint(&conn, "PASSIVE");
}

/// Runs one checkpoint and returns the WAL's size in frames.
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<i64> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        r.get::<_, i64>(1)
    })
}
