//! The media folder on disk: where a downloaded file goes, how it gets there without a
//! half-written file ever carrying its final name, and how a saved file is checked.
//!
//! The folder is `media/` beside the database (mode 0700). A download is written to a
//! hidden temp file in that folder (mode 0600) while being hashed, fsynced, checked
//! against the SHA-256 Meta announced, and only then renamed to its final name; the
//! folder is fsynced so the rename survives power loss. Any failure deletes the temp file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The media folder for the database at `db_path`: `media/` in the same folder.
pub fn media_dir(db_path: &Path) -> PathBuf {
    match db_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("media"),
        _ => PathBuf::from("media"),
    }
}

/// Creates the media folder (mode 0700) if needed, and tightens it if it is looser.
pub(super) fn ensure_media_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A file name made only from a Meta media id (ASCII letters and digits, checked by the
/// caller) and an extension from our own table: nothing a sender wrote reaches the path.
pub(super) fn file_name_for(media_id: &str, mime_type: &str) -> String {
    format!("{media_id}.{}", extension_for(mime_type))
}

/// The usual extension for a MIME type WhatsApp carries; `bin` for anything else.
pub(super) fn extension_for(mime_type: &str) -> &'static str {
    let essence = mime_type.split(';').next().unwrap_or("").trim();
    match essence.to_ascii_lowercase().as_str() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "audio/ogg" | "audio/opus" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "audio/aac" => "aac",
        "audio/amr" => "amr",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.ms-powerpoint" => "ppt",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => "pptx",
        _ => "bin",
    }
}

/// A file's SHA-256 and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Digested {
    pub size: u64,
    pub sha256: [u8; 32],
}

/// Hashes the regular file at `path`; `None` when it is missing, not a regular file
/// (a symlink is not followed) or unreadable.
pub(super) fn digest_file(path: &Path) -> Option<Digested> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() {
        return None;
    }
    let mut file = File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Some(Digested {
        size,
        sha256: hasher.finalize().into(),
    })
}

/// A temp file in the media folder, deleted when dropped unless it was renamed into place.
pub(super) struct TempMedia {
    path: PathBuf,
    writer: Option<HashingWriter<BufWriter<File>>>,
}

impl TempMedia {
    /// Creates a new hidden temp file (mode 0600) in `dir`; `stem` names what it becomes.
    pub fn create(dir: &Path, stem: &str) -> io::Result<TempMedia> {
        let path = dir.join(format!(".{stem}.{}.part", uuid::Uuid::new_v4().simple()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        Ok(TempMedia {
            path,
            writer: Some(HashingWriter::new(BufWriter::new(file))),
        })
    }

    /// Where the bytes go; it hashes what passes through.
    pub fn writer(&mut self) -> io::Result<&mut HashingWriter<BufWriter<File>>> {
        self.writer
            .as_mut()
            .ok_or_else(|| io::Error::other("the temp media file is already closed"))
    }

    /// Flushes and fsyncs the bytes written, and returns their size and SHA-256.
    pub fn finish(&mut self) -> io::Result<Digested> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| io::Error::other("the temp media file is already closed"))?;
        let (buffered, digested) = writer.into_parts();
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(digested)
    }

    /// Renames the finished file to `dir/name` (replacing any older copy) and fsyncs
    /// the folder so the rename is durable.
    pub fn persist(mut self, dir: &Path, name: &str) -> io::Result<PathBuf> {
        let target = dir.join(name);
        fs::rename(&self.path, &target)?;
        // Renamed: nothing is left to delete.
        self.path = PathBuf::new();
        File::open(dir)?.sync_all()?;
        Ok(target)
    }
}

impl Drop for TempMedia {
    fn drop(&mut self) {
        drop(self.writer.take());
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A writer that hashes and counts every byte it passes on.
pub(super) struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    fn into_parts(self) -> (W, Digested) {
        let digested = Digested {
            size: self.size,
            sha256: self.hasher.finalize().into(),
        };
        (self.inner, digested)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

// Lowercase hex of a digest: the encoding the signature check already uses.
pub(super) use crate::hex::to_hex;

/// Standard base64 (with padding) of a digest, the form Meta's webhooks use.
fn to_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// True when `expected` (as Meta wrote it: hex in the media metadata, base64 in the
/// webhook) names this digest.
pub(super) fn sha256_matches(expected: &str, digest: &[u8; 32]) -> bool {
    let expected = expected.trim();
    if expected.eq_ignore_ascii_case(&to_hex(digest)) {
        return true;
    }
    let standard = to_base64(digest);
    let url_safe = standard.replace('+', "-").replace('/', "_");
    let unpadded = expected.trim_end_matches('=');
    unpadded == standard.trim_end_matches('=') || unpadded == url_safe.trim_end_matches('=')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    #[test]
    fn hashes_match_in_hex_and_base64() {
        let d = digest(b"hello");
        let hex = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert!(sha256_matches(hex, &d));
        assert!(sha256_matches(&hex.to_uppercase(), &d));
        assert!(sha256_matches(
            "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
            &d
        ));
        assert!(sha256_matches(
            "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ",
            &d
        ));
        assert!(!sha256_matches(
            "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCA=",
            &d
        ));
        assert!(!sha256_matches("", &d));
    }

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(to_base64(b""), "");
        assert_eq!(to_base64(b"f"), "Zg==");
        assert_eq!(to_base64(b"fo"), "Zm8=");
        assert_eq!(to_base64(b"foo"), "Zm9v");
        assert_eq!(to_base64(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn extensions_come_from_our_table_only() {
        assert_eq!(extension_for("image/jpeg"), "jpg");
        assert_eq!(extension_for("audio/ogg; codecs=opus"), "ogg");
        assert_eq!(extension_for("application/pdf"), "pdf");
        assert_eq!(extension_for("../../etc/passwd"), "bin");
        assert_eq!(file_name_for("123", "image/webp"), "123.webp");
    }

    #[test]
    fn media_folder_sits_beside_the_database() {
        assert_eq!(media_dir(Path::new("/d/wa.db")), Path::new("/d/media"));
        assert_eq!(media_dir(Path::new("wa.db")), Path::new("media"));
    }

    #[test]
    fn a_dropped_temp_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut temp = TempMedia::create(dir.path(), "42").expect("created");
        temp.writer()
            .expect("open")
            .write_all(b"partial")
            .expect("written");
        drop(temp);
        assert_eq!(fs::read_dir(dir.path()).expect("listed").count(), 0);
    }

    #[test]
    fn a_persisted_file_has_its_bytes_hash_and_mode() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut temp = TempMedia::create(dir.path(), "42").expect("created");
        temp.writer()
            .expect("open")
            .write_all(b"hello")
            .expect("written");
        let d = temp.finish().expect("finished");
        assert_eq!((d.size, d.sha256), (5, digest(b"hello")));
        let path = temp.persist(dir.path(), "42.txt").expect("persisted");
        assert_eq!(fs::read(&path).expect("read"), b"hello");
        let mode = fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(digest_file(&path), Some(d));
        assert_eq!(fs::read_dir(dir.path()).expect("listed").count(), 1);
    }
}
