//! The database's process lock: every wa-mcp process that opens the database holds a
//! shared lock on `<database>.lock` (beside it) for as long as it has the file open, and
//! `restore` takes it exclusively, so a restore never swaps the file under a running
//! `serve` or `mcp`, and a process that starts during a restore waits for it to finish.
//!
//! The lock is `flock(2)` on a file of its own (never deleted, so no two processes can
//! lock different inodes of it): the kernel drops it when the process ends, however it
//! ends, so a crash leaves nothing stale. SQLite's own locks live on the database file
//! itself and are not touched.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::StoreError;

/// How often a waiting opener looks again while a restore holds the lock.
const POLL: Duration = Duration::from_millis(50);

/// A held lock on the database; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
}

/// The lock file of the database at `db_path`: `<file name>.lock` in the same folder.
pub fn lock_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    db_path.with_file_name(name)
}

fn open_lock_file(db_path: &Path) -> Result<File, StoreError> {
    let path = lock_path(db_path);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|source| StoreError::Io { path, source })
}

impl DatabaseLock {
    /// The shared lock every process using the database holds. Waits up to `wait` while
    /// a restore holds the lock exclusively, then fails with [`StoreError::Restoring`].
    pub fn shared(db_path: &Path, wait: Duration) -> Result<DatabaseLock, StoreError> {
        let file = open_lock_file(db_path)?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock_shared() {
                Ok(()) => return Ok(DatabaseLock { _file: file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(POLL);
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::Restoring(db_path.to_path_buf()));
                }
                Err(TryLockError::Error(source)) => {
                    return Err(StoreError::Io {
                        path: lock_path(db_path),
                        source,
                    });
                }
            }
        }
    }

    /// The exclusive lock `restore` holds while it replaces the file, or `None` at once
    /// when any other process holds the lock (it has the database open).
    pub fn exclusive_now(db_path: &Path) -> Result<Option<DatabaseLock>, StoreError> {
        let file = open_lock_file(db_path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(DatabaseLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(StoreError::Io {
                path: lock_path(db_path),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_sits_beside_the_database() {
        assert_eq!(
            lock_path(Path::new("/d/wa-mcp.db")),
            Path::new("/d/wa-mcp.db.lock")
        );
    }

    #[test]
    fn a_shared_holder_keeps_the_exclusive_lock_away_until_it_drops() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("wa.db");
        let first = DatabaseLock::shared(&db, Duration::ZERO).expect("shared");
        let second = DatabaseLock::shared(&db, Duration::ZERO).expect("shared twice");
        assert!(DatabaseLock::exclusive_now(&db).expect("tries").is_none());
        drop(first);
        assert!(DatabaseLock::exclusive_now(&db).expect("tries").is_none());
        drop(second);
        let held = DatabaseLock::exclusive_now(&db).expect("tries");
        assert!(held.is_some());
        let refused = DatabaseLock::shared(&db, Duration::from_millis(120));
        assert!(
            matches!(refused, Err(StoreError::Restoring(_))),
            "{refused:?}"
        );
    }
}
