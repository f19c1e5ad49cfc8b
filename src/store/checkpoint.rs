//! WAL checkpoints on a connection of their own, so the writer's commits never pay
//! for one. SQLite's automatic checkpoint runs inside the committing connection and
//! drives the commit tail latency; the writer's is turned off and this thread copies
//! the WAL back into the database instead.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How often the WAL is copied back while the database is busy.
const INTERVAL: Duration = Duration::from_millis(500);

/// SQLite's own threshold for an automatic checkpoint, in WAL pages.
const AUTOCHECKPOINT_PAGES: i64 = 1000;

/// Starts the checkpointer for the database at `path` and only then turns off the
/// writer's automatic checkpoints. The returned sender stops it when dropped. When it
/// cannot start (its connection does not open, its thread cannot be spawned), the
/// writer keeps SQLite's automatic checkpoints, `None` is returned, and the log says so:
/// the WAL never grows without bound.
pub(super) fn start(path: &Path, writer: &Connection) -> Option<Sender<()>> {
    let cp_path = path.to_path_buf();
    start_with(writer, move || {
        Connection::open_with_flags(
            &cp_path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    })
}

/// [`start`] with the checkpointer's connection opened by `open`.
fn start_with(
    writer: &Connection,
    open: impl FnOnce() -> rusqlite::Result<Connection>,
) -> Option<Sender<()>> {
    let started = open().map_err(|e| e.to_string()).and_then(|conn| {
        let (stop, stopped) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("wa-mcp-checkpoint".into())
            .spawn(move || run_checkpointer(conn, stopped))
            .map(|_| stop)
            .map_err(|e| e.to_string())
    });
    let (pages, stop) = match started {
        Ok(stop) => (0, Some(stop)),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "checkpointer_unavailable: automatic checkpoints stay on in the writer \
                 (a commit that takes the WAL past 1000 pages checkpoints it)"
            );
            (AUTOCHECKPOINT_PAGES, None)
        }
    };
    if let Err(e) = writer.execute_batch(&format!("PRAGMA wal_autocheckpoint = {pages}")) {
        tracing::warn!(error = %e, pages, "wal_autocheckpoint_not_set");
    }
    stop
}

/// Runs until `stop` is dropped or signalled: a PASSIVE checkpoint every interval
/// (never blocks a writer or a reader), and a TRUNCATE when a checkpoint found nothing
/// new, which keeps an idle database's WAL file small.
fn run_checkpointer(conn: Connection, stop: Receiver<()>) {
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Everything logged while `f` runs, as text.
    fn logs_of<T>(f: impl FnOnce() -> T) -> (T, String) {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .map_err(|_| std::io::ErrorKind::Other)?
                    .extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let out = tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8_lossy(&buf.0.lock().expect("log buffer")).into_owned();
        (out, text)
    }

    /// A new database file and its writer connection.
    fn writer_in(dir: &tempfile::TempDir) -> (std::path::PathBuf, Connection) {
        let path = dir.path().join("cp.db");
        super::super::open::prepare_file(&path).expect("file");
        let writer = super::super::open::open_writer(&path, Duration::from_secs(1)).expect("opens");
        (path, writer)
    }

    fn autocheckpoint(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .expect("pragma")
    }

    #[test]
    fn a_checkpointer_that_cannot_start_leaves_automatic_checkpoints_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_path, writer) = writer_in(&dir);
        let (stop, logs) = logs_of(|| {
            start_with(&writer, || {
                Err(rusqlite::Error::InvalidPath("no checkpointer here".into()))
            })
        });
        assert!(stop.is_none());
        assert_eq!(autocheckpoint(&writer), AUTOCHECKPOINT_PAGES);
        assert!(
            logs.contains("checkpointer_unavailable") && logs.contains("stay on in the writer"),
            "{logs}"
        );
    }

    #[test]
    fn a_running_checkpointer_takes_over_from_the_writer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, writer) = writer_in(&dir);
        let stop = start(&path, &writer);
        assert!(stop.is_some());
        assert_eq!(autocheckpoint(&writer), 0);
    }
}
