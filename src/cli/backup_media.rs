//! The saved media a backup carries: every file the snapshot's `media_files` rows name,
//! copied from the live media folder into the backup's own folder, each checked against
//! the size and SHA-256 its row recorded (after Meta's 30 days these copies are the only
//! ones). A file unchanged since the previous backup (same name and size; media files
//! are never rewritten in place) is hard-linked to that backup's copy instead, so a week
//! of nightly backups stores each file once; where links are impossible it is copied.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::hex::to_hex;
use crate::store::backup::MediaEntry;

/// What went into a backup's media folder.
#[derive(Debug, Default)]
pub struct MediaCopy {
    /// Files copied from the live folder.
    pub copied: usize,
    /// Files hard-linked to the previous backup's copy.
    pub linked: usize,
    /// Bytes of every file the backup holds.
    pub bytes: u64,
    /// Files a row names that are not in the live folder (or are not regular files).
    pub missing: Vec<String>,
    /// Files whose size or SHA-256 differs from their row: not copied.
    pub altered: Vec<String>,
}

/// Fills `dest` (an empty folder) with the files `entries` name, taken from `live` or
/// linked from `previous`; fsyncs every file and the folder. I/O errors on the backup's
/// side fail the whole copy; a file absent or altered on the live side is reported.
pub fn copy_media(
    entries: &[MediaEntry],
    live: &Path,
    previous: Option<&Path>,
    dest: &Path,
) -> io::Result<MediaCopy> {
    let mut report = MediaCopy::default();
    for entry in entries {
        if !is_plain_name(&entry.file_name) {
            report.missing.push(entry.file_name.clone());
            continue;
        }
        let target = dest.join(&entry.file_name);
        if let Some(prev) = previous.map(|p| p.join(&entry.file_name))
            && same_size_file(&prev, entry.size)
            && fs::hard_link(&prev, &target).is_ok()
        {
            report.linked += 1;
            report.bytes += entry.size;
            continue;
        }
        let source = live.join(&entry.file_name);
        if !is_regular(&source) {
            report.missing.push(entry.file_name.clone());
            continue;
        }
        match copy_checked(&source, &target, entry)? {
            true => {
                report.copied += 1;
                report.bytes += entry.size;
            }
            false => report.altered.push(entry.file_name.clone()),
        }
    }
    File::open(dest)?.sync_all()?;
    Ok(report)
}

/// A name the media folder could hold: no directory part, nothing hidden or special.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains('/') && !name.contains('\0')
}

fn is_regular(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

fn same_size_file(path: &Path, size: u64) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file() && m.len() == size)
}

/// Copies `source` to the new file `target` (mode 0600), hashing on the way, and fsyncs
/// it. `false` (and no file left) when the bytes are not the ones `entry` recorded.
fn copy_checked(source: &Path, target: &Path, entry: &MediaEntry) -> io::Result<bool> {
    let mut input = match File::open(source) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut output = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(target)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output.write_all(&buf[..n])?;
        size += n as u64;
    }
    let digest: [u8; 32] = hasher.finalize().into();
    if size != entry.size || !to_hex(&digest).eq_ignore_ascii_case(&entry.sha256) {
        drop(output);
        fs::remove_file(target)?;
        return Ok(false);
    }
    output.sync_all()?;
    Ok(true)
}

/// The media folder that goes with the backup file `db_file`: `<stem>.media` beside it.
pub fn media_folder_of(db_file: &Path) -> PathBuf {
    db_file.with_extension("media")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, bytes: &[u8]) -> MediaEntry {
        MediaEntry {
            file_name: name.into(),
            size: bytes.len() as u64,
            sha256: to_hex(Sha256::digest(bytes).as_slice()),
        }
    }

    #[test]
    fn files_are_copied_checked_and_linked_to_the_previous_copy() {
        let root = tempfile::tempdir().expect("temp dir");
        let [live, first, second] = ["live", "first", "second"].map(|n| root.path().join(n));
        for d in [&live, &first, &second] {
            fs::create_dir(d).expect("dir");
        }
        fs::write(live.join("a.jpg"), b"photo").expect("writes");
        fs::write(live.join("b.pdf"), b"changed").expect("writes");
        let entries = [
            entry("a.jpg", b"photo"),
            entry("b.pdf", b"original"),
            entry("c.ogg", b"gone"),
            entry("../escape", b"x"),
        ];
        let one = copy_media(&entries, &live, None, &first).expect("copies");
        assert_eq!((one.copied, one.linked, one.bytes), (1, 0, 5));
        assert_eq!(one.altered, ["b.pdf"]);
        assert_eq!(one.missing, ["c.ogg", "../escape"]);
        assert_eq!(fs::read(first.join("a.jpg")).expect("reads"), b"photo");
        assert!(!first.join("b.pdf").exists());
        let two = copy_media(&entries[..1], &live, Some(&first), &second).expect("copies");
        assert_eq!((two.copied, two.linked), (0, 1));
        use std::os::unix::fs::MetadataExt;
        let ino = |p: &Path| fs::metadata(p).expect("meta").ino();
        assert_eq!(ino(&first.join("a.jpg")), ino(&second.join("a.jpg")));
    }
}
