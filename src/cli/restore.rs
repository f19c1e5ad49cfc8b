//! `wa-mcp restore FILE`: replaces the database with a backup after checking it, only
//! while no other process has the database open.
//!
//! Two checks say the database is not in use: the process lock every wa-mcp process
//! holds (taken exclusively here, and held until the end, so a `serve` or `mcp` that
//! starts meanwhile waits and then opens the restored file), and SQLite's own locks (see
//! [`crate::store::restore`]), which also see an older wa-mcp or a `sqlite3` shell.
//!
//! The backup is copied into the database's folder under a hidden name (0600), checked,
//! fsynced, and renamed over the database; the folder is fsynced. The database it
//! replaces is kept beside it as `<name>.before-restore-<UTC time>` with its `-wal` (if
//! SQLite could not fold it in), and no `-wal` or `-shm` is left for the restored file.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::CliError;
use super::backup::{create_private_dir, describe, io_failure, sync_dir};
use super::backup_media::media_folder_of;
use super::restore_media::{MediaRestore, restore_media};
use crate::config::Config;
use crate::store::backup::{FileSummary, check_file, saved_media_in, snapshot_into};
use crate::store::lock::DatabaseLock;
use crate::store::restore::{LiveState, fold_wal_if_unused};
use crate::timefmt::{format_micros, now_micros};

/// How long the SQLite check waits for a lock before calling the file in use.
const LOCK_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore (a `wa-mcp-….db` file that `wa-mcp backup` wrote); its
    /// `.media` folder, when beside it, is restored too
    pub file: PathBuf,
}

pub fn restore(config: &Config, args: &RestoreArgs) -> Result<ExitCode, CliError> {
    let db = &config.db_path;
    let backup = &args.file;
    if !backup.is_file() {
        return Err(CliError::Failed(format!(
            "{}: no such file",
            backup.display()
        )));
    }
    if same_file(backup, db) {
        return Err(CliError::Failed(format!(
            "{} is the database itself; restore a backup of it",
            backup.display()
        )));
    }
    let summary = check_file(backup)
        .map_err(|e| CliError::Failed(format!("refusing to restore {}: {e}", backup.display())))?;
    let folder = db_folder(db);
    create_private_dir(&folder)?;
    let _lock = DatabaseLock::exclusive_now(db)?.ok_or_else(|| in_use(db))?;
    let damaged = match db.exists() {
        true => match fold_wal_if_unused(db, LOCK_WAIT) {
            LiveState::Quiet => None,
            LiveState::InUse => return Err(in_use(db)),
            LiveState::Unusable(why) => Some(why),
        },
        false => None,
    };
    let staged = stage_copy(backup, &folder)?;
    let aside = replace(db, staged)?;
    let media = restore_media(
        &saved_media_in(db)?,
        &media_folder_of(backup),
        &crate::messaging::media_dir(db),
    )
    .map_err(|e| io_failure(&crate::messaging::media_dir(db), e))?;
    print_report(
        db,
        backup,
        &summary,
        aside.as_deref(),
        damaged.as_deref(),
        &media,
    );
    Ok(ExitCode::SUCCESS)
}

fn in_use(db: &Path) -> CliError {
    CliError::Failed(format!(
        "refusing to restore: another process has {} open (wa-mcp serve, or a wa-mcp mcp that \
         Claude Desktop or Claude Code started); stop it (systemctl stop wa-mcp, quit the MCP \
         client) and run restore again",
        db.display()
    ))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn db_folder(db: &Path) -> PathBuf {
    match db.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A checked, fsynced copy of `backup` in `folder` under a hidden name, deleted on drop
/// unless it was renamed into place.
struct Staged {
    path: PathBuf,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn stage_copy(backup: &Path, folder: &Path) -> Result<Staged, CliError> {
    let staged = Staged {
        path: folder.join(format!(".wa-mcp-restore.{}.partial", std::process::id())),
    };
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&staged.path)
        .map_err(|e| io_failure(&staged.path, e))?;
    snapshot_into(backup, &staged.path, LOCK_WAIT)?;
    check_file(&staged.path)
        .map_err(|e| CliError::Failed(format!("the copy of the backup failed its check: {e}")))?;
    File::open(&staged.path)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_failure(&staged.path, e))?;
    Ok(staged)
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Keeps the current database (and any `-wal` SQLite could not fold in) under an
/// aside name, renames the staged copy over it, removes a stale `-shm`, and fsyncs the
/// folder. Returns the aside name when there was a database to keep.
fn replace(db: &Path, mut staged: Staged) -> Result<Option<PathBuf>, CliError> {
    let stamp: String = format_micros(now_micros())[..19]
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let aside = with_suffix(
        db,
        &format!(".before-restore-{}T{}Z", &stamp[..8], &stamp[8..]),
    );
    let kept = match fs::metadata(db) {
        Ok(meta) if meta.len() > 0 => {
            // A link keeps a database at `db` until the rename below replaces it; where
            // the file system has no links, a rename (the lock keeps everyone out).
            fs::hard_link(db, &aside)
                .or_else(|_| fs::rename(db, &aside))
                .map_err(|e| io_failure(&aside, e))?;
            let wal = with_suffix(db, "-wal");
            if wal.exists() {
                let aside_wal = with_suffix(&aside, "-wal");
                fs::rename(&wal, &aside_wal).map_err(|e| io_failure(&aside_wal, e))?;
            }
            Some(aside)
        }
        _ => None,
    };
    let shm = with_suffix(db, "-shm");
    match fs::remove_file(&shm) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_failure(&shm, e)),
    }
    fs::rename(&staged.path, db).map_err(|e| io_failure(db, e))?;
    staged.path = PathBuf::new();
    sync_dir(&db_folder(db))?;
    Ok(kept)
}

fn print_report(
    db: &Path,
    backup: &Path,
    summary: &FileSummary,
    aside: Option<&Path>,
    damaged: Option<&str>,
    media: &MediaRestore,
) {
    println!(
        "restored {} from {} (integrity ok, schema version {})",
        db.display(),
        backup.display(),
        summary.schema_version
    );
    println!("  holds {}", describe(summary));
    println!(
        "  media: {} files put back, {} already in place",
        media.copied, media.present
    );
    if !media.missing.is_empty() {
        println!(
            "  {} saved media files are in neither the backup nor the media folder; get_media \
             downloads them again while Meta still has them",
            media.missing.len()
        );
    }
    if let Some(why) = damaged {
        eprintln!("warning: the database it replaced could not be opened ({why})");
    }
    match aside {
        Some(path) => println!(
            "  the database it replaced is kept as {} (delete it once you are satisfied)",
            path.display()
        ),
        None => println!("  there was no database there before"),
    }
}
