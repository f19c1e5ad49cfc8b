//! Opening the database file: its folder and mode, the connection settings every
//! connection gets, and the embedded migrations.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Creates the database's folder (mode 0700, whatever the umask) and the file itself
/// (mode 0600) when they do not exist, and tightens an existing file, and any `-wal` or
/// `-shm` beside it, to 0600. SQLite creates those two with the database file's mode,
/// so a file that was looser once may have left looser ones behind. A folder that
/// already existed is never changed: it may be the owner's home (`doctor` warns instead).
pub fn prepare_file(path: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(io)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    tighten_to_owner_only(path).map_err(io)?;
    for suffix in ["-wal", "-shm"] {
        let mut beside = path.as_os_str().to_owned();
        beside.push(suffix);
        match tighten_to_owner_only(Path::new(&beside)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => other.map_err(io)?,
        }
    }
    Ok(())
}

/// Creates `dir` and any missing parent, each mode 0700; folders that exist are left
/// as they are.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // The umask and a default ACL may have widened what mkdir was asked for.
    for created in missing {
        fs::set_permissions(created, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Sets a file that group or others may use to 0600.
fn tighten_to_owner_only(path: &Path) -> std::io::Result<()> {
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Opens the one read-write connection: WAL, `synchronous=FULL` (a commit survives
/// power loss before we answer 200), foreign keys, and a busy timeout long enough that
/// writers in other processes are waited for rather than reported as `database is locked`.
pub fn open_writer(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NotWal(mode));
    }
    // Savepoints (one per job, one per delivery) keep their undo pages in a
    // sub-journal; in memory it costs no syscalls, on disk it cost dozens per delivery.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
    )?;
    // Every statement of the write path stays prepared.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Settings for a pooled reader: it can never write, waits out a checkpoint, and has the
/// functions searches use.
pub fn init_reader(conn: &mut Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA foreign_keys = ON;")?;
    super::search::top::register(conn)
}

/// Applies every embedded migration not yet applied and returns the names applied.
/// Two processes starting at once may race; the loser sees the winner's schema and
/// succeeds on its retry.
pub fn migrate(conn: &mut Connection) -> Result<Vec<String>, StoreError> {
    let mut last_err = None;
    for attempt in 0..5 {
        let run = embedded::migrations::runner().set_grouped(true).run(conn);
        // V13 edits the schema with `writable_schema` on; a run that fails halfway rolls
        // its writes back but not that setting, and this connection goes on to write.
        conn.execute_batch("PRAGMA writable_schema = OFF")?;
        match run {
            Ok(report) => {
                return Ok(report
                    .applied_migrations()
                    .iter()
                    .map(|m| m.to_string())
                    .collect());
            }
            Err(e) => {
                last_err = Some(e);
                std::thread::sleep(Duration::from_millis(50 * (attempt + 1)));
            }
        }
    }
    Err(StoreError::Migration(
        last_err.map(|e| e.to_string()).unwrap_or_default(),
    ))
}

/// The newest migration version embedded in this binary.
pub fn latest_version() -> i32 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| m.version())
        .max()
        .unwrap_or(0)
}

/// Every migration embedded in this binary: `(version, name, checksum)`, as refinery
/// records them in `refinery_schema_history` once applied.
pub fn known_migrations() -> Vec<(i32, String, u64)> {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| (m.version(), m.name().to_owned(), m.checksum()))
        .collect()
}

/// Applies the embedded migrations up to and including `version` only: a database as an
/// older release left it, for upgrade tests.
#[cfg(test)]
pub fn migrate_to(conn: &mut Connection, version: i32) -> Result<(), StoreError> {
    embedded::migrations::runner()
        .set_grouped(true)
        .set_target(refinery::Target::Version(version))
        .run(conn)
        .map(drop)
        .map_err(|e| StoreError::Migration(e.to_string()))
}

#[cfg(test)]
mod tests;
