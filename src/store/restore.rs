//! The SQLite side of `restore`: whether anything else still has the live database open,
//! and folding its WAL into the file so the copy kept aside is complete on its own.
//!
//! The process lock ([`super::lock`]) is the first check and covers every wa-mcp process
//! of this version. This one also covers anything else that opened the file (an older
//! wa-mcp, a `sqlite3` shell): a connection in WAL mode holds a shared lock on the
//! database file for as long as it is open, and leaving WAL mode needs the exclusive lock,
//! so `PRAGMA journal_mode = DELETE` succeeds only when no other connection exists.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

/// What the live database file looks like to `restore`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveState {
    /// No other connection has it open; its WAL (if any) is now in the file and gone.
    Quiet,
    /// Another connection (in this or any process) has it open.
    InUse,
    /// SQLite cannot use it (damaged, not a database): nothing could be checked or folded.
    Unusable(String),
}

/// Leaves WAL mode on the database at `db_path` if no other connection has it open, which
/// checkpoints the WAL into the file and deletes the `-wal` and `-shm` files. Never creates
/// the file. Waits `busy_timeout` at most for a lock before calling the file in use.
pub fn fold_wal_if_unused(db_path: &Path, busy_timeout: Duration) -> LiveState {
    let conn = match Connection::open_with_flags(
        db_path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        Ok(conn) => conn,
        Err(e) => return classify(e),
    };
    if let Err(e) = conn.busy_timeout(busy_timeout) {
        return classify(e);
    }
    match conn.query_row("PRAGMA journal_mode = DELETE", [], |r| {
        r.get::<_, String>(0)
    }) {
        Ok(mode) if mode.eq_ignore_ascii_case("delete") => match conn.close() {
            Ok(()) => LiveState::Quiet,
            Err((_, e)) => classify(e),
        },
        // SQLite answers the mode it kept when it could not change it.
        Ok(_) => LiveState::InUse,
        Err(e) => classify(e),
    }
}

fn classify(e: rusqlite::Error) -> LiveState {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => LiveState::InUse,
        _ => LiveState::Unusable(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn wal_sidecars(db: &Path) -> Vec<bool> {
        ["-wal", "-shm"]
            .iter()
            .map(|s| {
                let mut name = db.as_os_str().to_owned();
                name.push(s);
                Path::new(&name).exists()
            })
            .collect()
    }

    #[test]
    fn an_open_connection_keeps_the_file_in_use_and_a_closed_one_lets_it_fold() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("wa.db");
        // Migrated by one connection, closed on return (a dropped Store's checkpointer
        // thread lets go of its connection a moment later).
        Store::migrate_file(&db).expect("migrates");
        let other = Connection::open(&db).expect("another connection");
        other
            .query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0))
            .expect("reads");
        assert_eq!(fold_wal_if_unused(&db, Duration::ZERO), LiveState::InUse);
        drop(other);
        assert_eq!(fold_wal_if_unused(&db, Duration::ZERO), LiveState::Quiet);
        assert_eq!(wal_sidecars(&db), [false, false]);
    }

    #[test]
    fn a_running_store_is_in_use_and_garbage_is_unusable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("wa.db");
        let store = Store::open(&db).expect("store");
        assert_eq!(fold_wal_if_unused(&db, Duration::ZERO), LiveState::InUse);
        drop(store);
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![1u8; 4096]).expect("writes");
        assert!(matches!(
            fold_wal_if_unused(&junk, Duration::ZERO),
            LiveState::Unusable(_)
        ));
    }
}
