//! Copies of the database file for `backup` and `restore`: a consistent snapshot of a
//! live database taken without stopping its writers, and the checks that say a file is
//! an intact wa-mcp database and what it holds.
//!
//! The snapshot is `VACUUM INTO` on a read-only connection: one read transaction, so the
//! copy is exactly the database as of one commit, while `serve` keeps committing into the
//! WAL (a WAL reader never blocks the writer). The copy is rebuilt page by page, so it
//! holds no free pages and no WAL, and is a plain rollback-journal file on its own.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::StoreError;
use super::open::known_migrations;

/// What a wa-mcp database file holds, as `backup` and `restore` print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// The newest migration applied to it.
    pub schema_version: i32,
    pub messages: i64,
    pub contacts: i64,
    /// Rows of the delivery log.
    pub deliveries: i64,
    /// Rows of `media_files`: media saved in the media folder.
    pub media_files: i64,
    /// The sum of those files' sizes as recorded.
    pub media_bytes: i64,
    /// `created_at` of the newest message, if any.
    pub newest_message_at: Option<String>,
}

/// A media file a database says is saved in its media folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaEntry {
    /// The file's name inside the media folder (checked to be a plain name by the caller).
    pub file_name: String,
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// Why a file is not a database `restore` may use.
#[derive(Debug, thiserror::Error)]
pub enum FileCheckError {
    #[error("not a SQLite database, or unreadable: {0}")]
    Unreadable(rusqlite::Error),
    #[error("the database is damaged: integrity_check says {0}")]
    Damaged(String),
    #[error("not a wa-mcp database: it has no migration history")]
    NotWaMcp,
    #[error(
        "its schema was made by a different or newer wa-mcp: migration {0} is not one this binary knows"
    )]
    UnknownSchema(String),
}

impl From<rusqlite::Error> for FileCheckError {
    fn from(e: rusqlite::Error) -> Self {
        FileCheckError::Unreadable(e)
    }
}

/// Writes a consistent copy of the database at `db_path` into `dest`, which must not
/// exist or be an empty file (create it empty with the mode you want first). Waits up to
/// `busy_timeout` for a lock; never blocks the live database's writer. SQLite does not
/// fsync the copy: the caller does, before it renames the copy into place.
pub fn snapshot_into(
    db_path: &Path,
    dest: &Path,
    busy_timeout: Duration,
) -> Result<(), StoreError> {
    let target = dest.to_str().ok_or_else(|| {
        StoreError::Internal(format!("the path {} is not valid UTF-8", dest.display()))
    })?;
    let conn = Connection::open_with_flags(
        db_path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    conn.execute("VACUUM INTO ?1", [target])?;
    Ok(())
}

/// Opens a copy at `path` (never creating it), checks it with `PRAGMA integrity_check`,
/// checks that its migration history is one this binary knows (same versions, names and
/// checksums, none newer), and counts what it holds.
pub fn check_file(path: &Path) -> Result<FileSummary, FileCheckError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let verdict = integrity(&conn)?;
    if verdict != "ok" {
        return Err(FileCheckError::Damaged(verdict));
    }
    let schema_version = known_schema_version(&conn)?;
    summarise(&conn, schema_version).map_err(FileCheckError::from)
}

/// The first lines of `PRAGMA integrity_check`, joined (`ok` when the file is intact).
fn integrity(conn: &Connection) -> rusqlite::Result<String> {
    let mut stmt = conn.prepare("PRAGMA integrity_check(5)")?;
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(lines.join("; "))
}

/// The newest applied migration, once every applied one is found among this binary's.
fn known_schema_version(conn: &Connection) -> Result<i32, FileCheckError> {
    let has_history: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master
         WHERE type = 'table' AND name = 'refinery_schema_history'",
        [],
        |r| r.get(0),
    )?;
    if !has_history {
        return Err(FileCheckError::NotWaMcp);
    }
    let known = known_migrations();
    let mut stmt = conn.prepare("SELECT version, name, checksum FROM refinery_schema_history")?;
    let applied = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i32>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if applied.is_empty() {
        return Err(FileCheckError::NotWaMcp);
    }
    for (version, name, checksum) in &applied {
        let matches = known
            .iter()
            .any(|(v, n, c)| v == version && n == name && checksum.parse::<u64>().ok() == Some(*c));
        if !matches {
            return Err(FileCheckError::UnknownSchema(format!("V{version}__{name}")));
        }
    }
    Ok(applied.iter().map(|(v, _, _)| *v).max().unwrap_or(0))
}

fn summarise(conn: &Connection, schema_version: i32) -> rusqlite::Result<FileSummary> {
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    let (media_files, media_bytes) = conn.query_row(
        "SELECT count(*), coalesce(sum(size), 0) FROM media_files",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(FileSummary {
        schema_version,
        messages: count("SELECT count(*) FROM messages")?,
        contacts: count("SELECT count(*) FROM contacts")?,
        deliveries: count("SELECT count(*) FROM webhook_events")?,
        media_files,
        media_bytes,
        newest_message_at: conn
            .query_row("SELECT max(created_at) FROM messages", [], |r| r.get(0))
            .optional()?
            .flatten(),
    })
}

/// Every media file the database at `path` records as saved, by file name.
pub fn saved_media_in(path: &Path) -> Result<Vec<MediaEntry>, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut stmt =
        conn.prepare("SELECT file_name, size, sha256 FROM media_files ORDER BY file_name")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(MediaEntry {
                file_name: r.get(0)?,
                size: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                sha256: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn live_db(dir: &Path) -> std::path::PathBuf {
        let db = dir.join("wa.db");
        let store = Store::open(&db).expect("store");
        store
            .write_blocking(|ctx| {
                ctx.exec(
                    "INSERT INTO contacts (wa_id, first_seen_at, updated_at) VALUES ('1', 'a', 'a')",
                    [],
                )?;
                Ok(())
            })
            .expect("writes");
        db
    }

    #[test]
    fn a_snapshot_is_a_checked_plain_file_with_what_the_live_one_holds() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = live_db(dir.path());
        let copy = dir.path().join("copy.db");
        snapshot_into(&db, &copy, Duration::from_secs(1)).expect("snapshot");
        let summary = check_file(&copy).expect("checks");
        assert_eq!(summary.contacts, 1);
        assert_eq!(summary.schema_version, Store::schema_version());
        let conn = Connection::open(&copy).expect("opens");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "delete");
    }

    #[test]
    fn a_file_without_wa_mcp_history_or_with_a_foreign_migration_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let plain = dir.path().join("plain.db");
        Connection::open(&plain)
            .and_then(|c| c.execute_batch("CREATE TABLE t (x)"))
            .expect("plain file");
        assert!(matches!(check_file(&plain), Err(FileCheckError::NotWaMcp)));
        let db = live_db(dir.path());
        Connection::open(&db)
            .and_then(|c| {
                c.execute(
                    "INSERT INTO refinery_schema_history (version, name, applied_on, checksum)
                     VALUES (99, 'future', 'x', '1')",
                    [],
                )
            })
            .expect("adds a foreign migration");
        let refused = check_file(&db);
        assert!(
            matches!(&refused, Err(FileCheckError::UnknownSchema(m)) if m == "V99__future"),
            "{refused:?}"
        );
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![7u8; 8192]).expect("writes");
        assert!(matches!(
            check_file(&junk),
            Err(FileCheckError::Unreadable(_))
        ));
    }
}
