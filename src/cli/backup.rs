//! `wa-mcp backup DIR [--keep N]`: a consistent, checked copy of the live database (safe
//! while `serve` and `mcp` run) as a new dated file in DIR, with its saved media beside it;
//! then only the newest N backups are kept.
//!
//! Nothing carries a backup's final name before it is complete: the snapshot and the
//! media are written under hidden `.partial` names, fsynced and checked, then renamed
//! (media folder first, database file last) and DIR fsynced. A backup is its
//! `wa-mcp-<UTC time>.db` file; retention only ever touches files named that way.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::CliError;
use super::backup_media::{MediaCopy, copy_media, media_folder_of};
use crate::config::Config;
use crate::store::backup::{FileSummary, check_file, saved_media_in, snapshot_into};
use crate::store::lock::DatabaseLock;
use crate::timefmt::{format_micros, now_micros};

/// How long a backup waits for a lock held by another process.
const WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The folder to write the backup into (created with mode 0700 if missing)
    pub dir: PathBuf,
    /// How many backups to keep in DIR, the new one included; older ones are removed
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: u32,
}

pub fn backup(config: &Config, args: &BackupArgs) -> Result<ExitCode, CliError> {
    let db = &config.db_path;
    if !db.is_file() {
        return Err(CliError::Failed(format!(
            "no database at {} (WA_DB_PATH): nothing to back up",
            db.display()
        )));
    }
    let _lock = DatabaseLock::shared(db, WAIT)?;
    create_private_dir(&args.dir)?;
    let previous = list_backups(&args.dir)?.pop();
    let stem = free_stem(&args.dir, &format_stamp(now_micros()));
    let partial = Partial::new(&args.dir, &stem);
    let summary = snapshot(db, &partial.db)?;
    let media = backup_media(db, &partial, previous.as_deref())?;
    let (file, folder) = partial.commit(&args.dir, &stem)?;
    let removed = keep_newest(&args.dir, args.keep as usize)?;
    print_report(&file, &folder, &summary, &media, args.keep, &removed);
    Ok(ExitCode::SUCCESS)
}

/// Creates `dir` (and its parents) with mode 0700 when missing; an existing folder is
/// left as the owner set it (every file written into it is 0600).
pub(super) fn create_private_dir(dir: &Path) -> Result<(), CliError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_failure(dir, e))
}

/// Takes the snapshot into the empty file `dest` (created here, mode 0600), checks it
/// and fsyncs it.
fn snapshot(db: &Path, dest: &Path) -> Result<FileSummary, CliError> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dest)
        .map_err(|e| io_failure(dest, e))?;
    snapshot_into(db, dest, WAIT)?;
    let summary = check_file(dest).map_err(|e| {
        CliError::Failed(format!("the copy {} failed its check: {e}", dest.display()))
    })?;
    File::open(dest)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_failure(dest, e))?;
    Ok(summary)
}

fn backup_media(
    db: &Path,
    partial: &Partial,
    previous: Option<&Path>,
) -> Result<MediaCopy, CliError> {
    let entries = saved_media_in(&partial.db)?;
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&partial.media)
        .map_err(|e| io_failure(&partial.media, e))?;
    let live = crate::messaging::media_dir(db);
    let previous_media = previous.map(media_folder_of);
    copy_media(&entries, &live, previous_media.as_deref(), &partial.media)
        .map_err(|e| io_failure(&partial.media, e))
}

/// `wa-mcp-YYYYMMDDTHHMMSSZ` for the UTC time `micros`.
fn format_stamp(micros: i64) -> String {
    let t = format_micros(micros);
    let digits: String = t[..19].chars().filter(char::is_ascii_digit).collect();
    format!("wa-mcp-{}T{}Z", &digits[..8], &digits[8..])
}

/// `stem`, or `stem-2`, `stem-3`, ... when a backup of that second already exists.
fn free_stem(dir: &Path, stem: &str) -> String {
    let taken =
        |s: &str| dir.join(format!("{s}.db")).exists() || dir.join(format!("{s}.media")).exists();
    let mut candidate = stem.to_owned();
    let mut n = 2;
    while taken(&candidate) {
        candidate = format!("{stem}-{n}");
        n += 1;
    }
    candidate
}

/// The sort key of a backup file name: its time stamp and same-second counter, or
/// `None` for any other name.
fn backup_key(name: &str) -> Option<(String, u32)> {
    let rest = name.strip_prefix("wa-mcp-")?.strip_suffix(".db")?;
    let (stamp, counter) = match rest.split_once('-') {
        Some((stamp, n)) => (stamp, n.parse::<u32>().ok()?),
        None => (rest, 1),
    };
    let b = stamp.as_bytes();
    let shaped = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    shaped.then(|| (stamp.to_owned(), counter))
}

/// The backup files in `dir`, oldest first.
pub(super) fn list_backups(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_failure(dir, e))? {
        let entry = entry.map_err(|e| io_failure(dir, e))?;
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if let Some(key) = entry.file_name().to_str().and_then(backup_key)
            && is_file
        {
            found.push((key, entry.path()));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, path)| path).collect())
}

/// Removes every backup (file and media folder) but the newest `keep`; returns the
/// names of the files removed.
fn keep_newest(dir: &Path, keep: usize) -> Result<Vec<String>, CliError> {
    let all = list_backups(dir)?;
    let excess = all.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for old in &all[..excess] {
        let folder = media_folder_of(old);
        if folder.is_dir() {
            fs::remove_dir_all(&folder).map_err(|e| io_failure(&folder, e))?;
        }
        fs::remove_file(old).map_err(|e| io_failure(old, e))?;
        removed.push(
            old.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        );
    }
    if !removed.is_empty() {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// The hidden names a backup is written under; removed on drop unless committed.
struct Partial {
    db: PathBuf,
    media: PathBuf,
    committed: bool,
}

impl Partial {
    fn new(dir: &Path, stem: &str) -> Partial {
        let pid = std::process::id();
        Partial {
            db: dir.join(format!(".{stem}.db.{pid}.partial")),
            media: dir.join(format!(".{stem}.media.{pid}.partial")),
            committed: false,
        }
    }

    /// Renames the media folder, then the file, to their final names and fsyncs `dir`.
    fn commit(mut self, dir: &Path, stem: &str) -> Result<(PathBuf, PathBuf), CliError> {
        let file = dir.join(format!("{stem}.db"));
        let folder = media_folder_of(&file);
        fs::rename(&self.media, &folder).map_err(|e| io_failure(&folder, e))?;
        fs::rename(&self.db, &file).map_err(|e| io_failure(&file, e))?;
        self.committed = true;
        sync_dir(dir)?;
        Ok((file, folder))
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.db);
            let _ = fs::remove_dir_all(&self.media);
        }
    }
}

pub(super) fn sync_dir(dir: &Path) -> Result<(), CliError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_failure(dir, e))
}

pub(super) fn io_failure(path: &Path, e: std::io::Error) -> CliError {
    CliError::Failed(format!("{}: {e}", path.display()))
}

/// `1.5 MiB`-style sizes for people.
pub(super) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// What a database file holds, in the words `backup` and `restore` both print.
pub(super) fn describe(summary: &FileSummary) -> String {
    format!(
        "{} messages, {} contacts, {} deliveries logged, {} saved media files ({}); newest message {}",
        summary.messages,
        summary.contacts,
        summary.deliveries,
        summary.media_files,
        human_bytes(u64::try_from(summary.media_bytes).unwrap_or(0)),
        summary.newest_message_at.as_deref().unwrap_or("none"),
    )
}

fn print_report(
    file: &Path,
    folder: &Path,
    summary: &FileSummary,
    media: &MediaCopy,
    keep: u32,
    removed: &[String],
) {
    let size = fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!(
        "backup {} ({}, integrity ok, schema version {})",
        file.display(),
        human_bytes(size),
        summary.schema_version
    );
    println!("  holds {}", describe(summary));
    println!(
        "  media: {} files ({}) in {} ({} copied, {} unchanged since the previous backup)",
        media.copied + media.linked,
        human_bytes(media.bytes),
        folder.display(),
        media.copied,
        media.linked
    );
    for name in &media.missing {
        eprintln!("warning: media file {name} is not in the media folder; not in this backup");
    }
    for name in &media.altered {
        eprintln!(
            "warning: media file {name} no longer matches its recorded SHA-256; not in this backup"
        );
    }
    match removed {
        [] => println!("  kept every backup (at most {keep})"),
        _ => println!("  kept the newest {keep}; removed {}", removed.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_sort_as_time_and_only_our_names_count() {
        assert_eq!(format_stamp(0), "wa-mcp-19700101T000000Z");
        assert_eq!(
            backup_key("wa-mcp-20261202T031500Z.db"),
            Some(("20261202T031500Z".into(), 1))
        );
        assert_eq!(
            backup_key("wa-mcp-20261202T031500Z-3.db"),
            Some(("20261202T031500Z".into(), 3))
        );
        for other in [
            "wa-mcp.db",
            "wa-mcp-20261202T031500Z.db-wal",
            "wa-mcp-2026-12-02.db",
            ".wa-mcp-20261202T031500Z.db.7.partial",
            "wa-mcp-20261202T031500Z-x.db",
        ] {
            assert_eq!(backup_key(other), None, "{other}");
        }
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
