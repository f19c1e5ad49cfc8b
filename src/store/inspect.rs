//! Looking at a database file without changing it: no file or folder is created, no
//! migration runs and no setting is changed, so `doctor` can report what it finds
//! (journal mode, schema version) as it is, before any start would fix it.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::StoreError;

/// What an existing database file looks like from this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInspection {
    /// SQLite opened it read-only: this user cannot write it (or its folder).
    pub read_only: bool,
    /// `PRAGMA journal_mode` as stored in the file, lowercase (`wal` once wa-mcp opened it).
    pub journal_mode: String,
    /// The newest migration applied, or `None` when no migration ever ran on it.
    pub schema_version: Option<i32>,
}

/// Opens the existing file at `path` read-write (never creating it) and reads its
/// journal mode and applied schema version; waits up to `busy_timeout` for a writer.
pub fn inspect_file(path: &Path, busy_timeout: Duration) -> Result<FileInspection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    let journal_mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    let has_history: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master
         WHERE type = 'table' AND name = 'refinery_schema_history'",
        [],
        |r| r.get(0),
    )?;
    let schema_version = if has_history {
        conn.query_row(
            "SELECT max(version) FROM refinery_schema_history",
            [],
            |r| r.get::<_, Option<i32>>(0),
        )
        .optional()?
        .flatten()
    } else {
        None
    };
    Ok(FileInspection {
        read_only: conn.is_readonly("main")?,
        journal_mode: journal_mode.to_ascii_lowercase(),
        schema_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_migrated_store_is_wal_at_the_binary_version() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wa.db");
        Store::migrate_file(&path).expect("migrates");
        let seen = inspect_file(&path, Duration::from_secs(1)).expect("inspects");
        assert_eq!(
            seen,
            FileInspection {
                read_only: false,
                journal_mode: "wal".into(),
                schema_version: Some(Store::schema_version()),
            }
        );
    }

    #[test]
    fn a_fresh_file_has_no_schema_and_a_missing_one_is_not_created() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("plain.db");
        Connection::open(&path).expect("creates a plain file");
        let seen = inspect_file(&path, Duration::from_secs(1)).expect("inspects");
        assert_eq!(seen.schema_version, None);
        assert_eq!(seen.journal_mode, "delete");
        let missing = dir.path().join("missing.db");
        assert!(inspect_file(&missing, Duration::from_secs(1)).is_err());
        assert!(!missing.exists());
    }
}
