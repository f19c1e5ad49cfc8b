//! The database checks: its folder, the file's mode, that it opens for writing, WAL,
//! and the schema version against this binary's.
//!
//! Doctor looks and never changes: it does not create the file, migrate it or tighten
//! its mode (every start of wa-mcp does those), so what it reports is what is there.
//! The one thing it writes is a probe file in the folder, removed at once, because
//! SQLite needs to create the WAL and shared-memory files beside the database.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Check;
use crate::store::Store;
use crate::store::inspect::{FileInspection, inspect_file};

/// How long the inspection waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The folder, the file's mode, then what SQLite sees inside it.
pub fn database_checks(path: &Path) -> Vec<Check> {
    let mut checks = vec![folder_check(path)];
    checks.extend(folder_mode_check(path));
    if !path.exists() {
        checks.push(Check::warn(
            "database file",
            format!("{} does not exist yet", path.display()),
            "it is created (mode 0600) at the first start; `wa-mcp migrate` creates it now",
        ));
        return checks;
    }
    checks.push(mode_check(path));
    checks.extend(wal_mode_checks(path));
    match inspect_file(path, BUSY_TIMEOUT) {
        Ok(seen) => checks.extend(inspection_checks(path, &seen)),
        Err(e) => checks.push(Check::fail(
            "database file",
            format!("{} does not open: {e}", path.display()),
            "check that it is a wa-mcp database and this user owns it; move a damaged file \
             aside and run `wa-mcp migrate` to start a new one",
        )),
    }
    checks
}

fn folder_check(path: &Path) -> Check {
    const NAME: &str = "database folder";
    let folder = folder_of(path);
    if folder.is_dir() {
        return match probe_writable(&folder) {
            Ok(()) => Check::pass(NAME, format!("{} is writable", folder.display())),
            Err(e) => Check::fail(
                NAME,
                format!("{} is not writable: {e}", folder.display()),
                "SQLite writes its WAL files beside the database: make the folder writable \
                 by this user, or set WA_DB_PATH to a folder that is",
            ),
        };
    }
    let Some(existing) = folder.ancestors().skip(1).find(|a| a.is_dir()) else {
        return Check::fail(
            NAME,
            format!("{} has no existing parent", folder.display()),
            "set WA_DB_PATH to a path under an existing folder",
        );
    };
    match probe_writable(existing) {
        Ok(()) => Check::pass(
            NAME,
            format!(
                "{} will be created (mode 0700) at the first start",
                folder.display()
            ),
        ),
        Err(e) => Check::fail(
            NAME,
            format!(
                "{} does not exist and cannot be created in {}: {e}",
                folder.display(),
                existing.display()
            ),
            "create the folder for this user, or set WA_DB_PATH to a folder it can write",
        ),
    }
}

/// The folder the database is in, `.` for a bare file name.
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A warning when other users may list or enter the database's folder (one wa-mcp
/// created is 0700; one that existed, perhaps the owner's home, is never changed).
/// Nothing when the folder is private or does not exist yet.
fn folder_mode_check(path: &Path) -> Option<Check> {
    let folder = folder_of(path);
    let mode = fs::metadata(&folder).ok()?.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return Some(Check::pass(
            "database folder mode",
            format!("{mode:04o} (only this user can look inside)"),
        ));
    }
    let who = if mode & 0o022 != 0 {
        "other users of this machine can add or replace files in it"
    } else {
        "other users of this machine can list it and read any file in it that is not 0600"
    };
    Some(Check::warn(
        "database folder mode",
        format!("{} is {mode:04o}: {who}", folder.display()),
        format!(
            "wa-mcp never changes a folder it did not create: chmod 700 '{}', or set \
             WA_DB_PATH to a file in a folder of its own (wa-mcp creates that one 0700)",
            folder.display()
        ),
    ))
}

/// A failure for each `-wal` or `-shm` beside the database that others may read (the
/// WAL holds recent messages in full); nothing for those that are private or absent.
fn wal_mode_checks(path: &Path) -> Vec<Check> {
    ["-wal", "-shm"]
        .into_iter()
        .filter_map(|suffix| {
            let mut beside = path.as_os_str().to_owned();
            beside.push(suffix);
            let beside = PathBuf::from(beside);
            let mode = fs::metadata(&beside).ok()?.permissions().mode() & 0o777;
            (mode & 0o077 != 0).then(|| {
                Check::fail(
                    format!("database {suffix} mode"),
                    format!("{mode:04o}: other users of this machine can read recent messages"),
                    format!(
                        "chmod 600 '{}' (wa-mcp also tightens it at its next start)",
                        beside.display()
                    ),
                )
            })
        })
        .collect()
}

/// Creates and removes a uniquely named empty file in `folder`.
fn probe_writable(folder: &Path) -> std::io::Result<()> {
    let probe = folder.join(format!(".wa-mcp-doctor-{}", uuid::Uuid::new_v4().simple()));
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}

fn mode_check(path: &Path) -> Check {
    const NAME: &str = "database mode";
    match fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 == 0 {
                Check::pass(NAME, format!("{mode:04o} (only this user can read it)"))
            } else {
                Check::fail(
                    NAME,
                    format!("{mode:04o}: other users of this machine can read your messages"),
                    format!(
                        "chmod 600 '{}' (wa-mcp also tightens it at its next start)",
                        path.display()
                    ),
                )
            }
        }
        Err(e) => Check::fail(
            NAME,
            format!("cannot read its metadata: {e}"),
            "check the path",
        ),
    }
}

fn inspection_checks(path: &Path, seen: &FileInspection) -> Vec<Check> {
    let open = if seen.read_only {
        Check::fail(
            "database file",
            format!("{} opens read-only for this user", path.display()),
            "run wa-mcp as the user that owns the file, or chown it to this user",
        )
    } else {
        Check::pass(
            "database file",
            format!("{} opens for writing", path.display()),
        )
    };
    let journal = if seen.journal_mode == "wal" {
        Check::pass("journal mode", "wal")
    } else {
        Check::warn(
            "journal mode",
            format!("{} (wa-mcp switches it to WAL at start)", seen.journal_mode),
            "run `wa-mcp migrate`; if it still is not WAL, the filesystem cannot share memory \
             (a network mount?): set WA_DB_PATH to a local disk",
        )
    };
    vec![open, journal, schema_check(seen.schema_version)]
}

fn schema_check(found: Option<i32>) -> Check {
    const NAME: &str = "schema version";
    let ours = Store::schema_version();
    match found {
        Some(v) if v == ours => Check::pass(NAME, format!("{v} (current)")),
        Some(v) if v > ours => Check::fail(
            NAME,
            format!("{v}, newer than this binary's {ours}: a newer wa-mcp wrote this file"),
            "run the newer wa-mcp (check which binary Claude Desktop or systemd starts)",
        ),
        Some(v) => Check::warn(
            NAME,
            format!("{v}, this binary's is {ours}: migrations are pending"),
            "they are applied at the next start; `wa-mcp migrate` applies them now",
        ),
        None => Check::warn(
            NAME,
            format!("no migration has run yet (this binary's is {ours})"),
            "`wa-mcp migrate` (or any start) creates the tables",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Outcome;

    #[test]
    fn a_migrated_private_database_passes_every_check() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("data").join("wa.db");
        Store::migrate_file(&path).expect("migrates");
        let checks = database_checks(&path);
        assert!(
            checks.iter().all(|c| c.outcome == Outcome::Pass),
            "{checks:#?}"
        );
        let leftovers: Vec<_> = fs::read_dir(path.parent().expect("folder"))
            .expect("lists")
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".wa-mcp-doctor")
            })
            .collect();
        assert!(leftovers.is_empty(), "the write probe is removed");
    }

    #[test]
    fn a_missing_file_is_not_created_and_a_readable_one_fails() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("new").join("wa.db");
        let checks = database_checks(&path);
        assert_eq!(checks[0].outcome, Outcome::Pass, "{checks:#?}");
        assert_eq!(checks[1].outcome, Outcome::Warn);
        assert!(!path.parent().expect("folder").exists());

        let path = dir.path().join("wa.db");
        Store::migrate_file(&path).expect("migrates");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let mode = mode_check(&path);
        assert_eq!(mode.outcome, Outcome::Fail);
        assert!(mode.remedy.unwrap_or_default().contains("chmod 600"));
    }

    /// Guards finding 11 of the hardening review: an existing folder others can read
    /// is reported (and left as it is), and so is a loose `-wal`.
    #[test]
    fn a_folder_others_can_read_and_a_loose_wal_are_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wa.db");
        Store::migrate_file(&path).expect("migrates");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let wal = dir.path().join("wa.db-wal");
        fs::write(&wal, b"").expect("wal");
        fs::set_permissions(&wal, fs::Permissions::from_mode(0o644)).expect("chmod");
        let checks = database_checks(&path);
        let named = |name: &str| checks.iter().find(|c| c.name == name).cloned();
        let folder = named("database folder mode").expect("a folder mode check");
        assert_eq!(folder.outcome, Outcome::Warn, "{folder:?}");
        assert!(folder.detail.contains("0755"), "{folder:?}");
        assert!(folder.remedy.unwrap_or_default().contains("chmod 700"));
        let loose = named("database -wal mode").expect("a -wal mode check");
        assert_eq!(loose.outcome, Outcome::Fail, "{loose:?}");
        assert_eq!(
            fs::metadata(dir.path()).expect("dir").permissions().mode() & 0o777,
            0o755,
            "doctor changes nothing"
        );
    }

    #[test]
    fn schema_versions_compare_to_the_binary() {
        let ours = Store::schema_version();
        assert_eq!(schema_check(Some(ours)).outcome, Outcome::Pass);
        assert_eq!(schema_check(Some(ours + 1)).outcome, Outcome::Fail);
        assert_eq!(schema_check(Some(ours - 1)).outcome, Outcome::Warn);
        assert_eq!(schema_check(None).outcome, Outcome::Warn);
    }
}
