//! The media a restore puts back: every file the restored database's `media_files` rows
//! name that the live media folder lacks (or holds at another size) is copied from the
//! backup's `.media` folder, checked against its recorded SHA-256, fsynced and renamed into
//! place. Files already there are left alone, and so are files no row names (the folder
//! is a cache; `get_media` ignores them).

use std::fs::{self, File};
use std::io;
use std::path::Path;

use super::backup_media::{copy_checked, is_plain_name, same_size_file};
use crate::store::backup::MediaEntry;

/// What a restore did with the media folder.
#[derive(Debug, Default)]
pub struct MediaRestore {
    /// Files copied from the backup.
    pub copied: usize,
    /// Files that were already in place.
    pub present: usize,
    /// Files neither the backup nor the live folder has intact.
    pub missing: Vec<String>,
}

/// Puts back into `live` the files `entries` name, from `from` (the backup's media folder,
/// which may not exist). Creates `live` (mode 0700) only when there is something to copy.
pub fn restore_media(entries: &[MediaEntry], from: &Path, live: &Path) -> io::Result<MediaRestore> {
    let mut report = MediaRestore::default();
    for entry in entries {
        if !is_plain_name(&entry.file_name) {
            report.missing.push(entry.file_name.clone());
            continue;
        }
        let target = live.join(&entry.file_name);
        if same_size_file(&target, entry.size) {
            report.present += 1;
            continue;
        }
        let source = from.join(&entry.file_name);
        if !same_size_file(&source, entry.size) {
            report.missing.push(entry.file_name.clone());
            continue;
        }
        ensure_private_dir(live)?;
        let temp = live.join(format!(
            ".{}.{}.restore",
            entry.file_name,
            std::process::id()
        ));
        let _ = fs::remove_file(&temp);
        if copy_checked(&source, &temp, entry)? {
            fs::rename(&temp, &target)?;
            report.copied += 1;
        } else {
            report.missing.push(entry.file_name.clone());
        }
    }
    if report.copied > 0 {
        File::open(live)?.sync_all()?;
    }
    Ok(report)
}

fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}
