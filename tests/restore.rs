//! `wa-mcp restore`: the real binary refusing while `serve`, `mcp` or any other
//! connection has the database open, refusing files that are not intact wa-mcp databases,
//! and replacing the database (and its media) safely when it may.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::listener::{NO_META, post_text, serve};
use common::mcp_client::{McpClient, wa_mcp_command};
use rusqlite::{Connection, OpenFlags};

fn run(db: &Path, args: &[&str]) -> Output {
    wa_mcp_command(db, NO_META)
        .args(args)
        .output()
        .expect("wa-mcp runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn bodies(db: &Path) -> Vec<String> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("opens");
    let mut stmt = conn
        .prepare("SELECT body FROM messages ORDER BY created_at")
        .expect("prepares");
    stmt.query_map([], |r| r.get(0))
        .expect("queries")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Takes a backup of `db` into `dir` with the real binary and returns its file.
fn backup(db: &Path, dir: &Path) -> PathBuf {
    let out = run(db, &["backup", dir.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("reads")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "db"))
        .collect();
    files.sort();
    files.pop().expect("a backup file")
}

fn assert_refused_in_use(db: &Path, file: &Path, who: &str) {
    let out = run(db, &["restore", file.to_str().expect("utf-8")]);
    assert!(!out.status.success(), "restored while {who} had it open");
    assert!(
        text(&out).contains("another process has"),
        "{who}: {}",
        text(&out)
    );
}

#[test]
fn restore_waits_for_every_process_to_close_the_database_then_replaces_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("data").join("wa.db");
    let (serve_process, port) = serve(&db);
    post_text(port, "15550001111", "Ann", "kept by the backup");
    let file = backup(&db, &dir.path().join("backups"));
    post_text(port, "15550001111", "Ann", "written after the backup");

    assert_refused_in_use(&db, &file, "serve");
    // Killed, not stopped: its WAL is left behind for the restore to deal with.
    drop(serve_process);
    let (client, _) = McpClient::start(&db, NO_META);
    assert_refused_in_use(&db, &file, "mcp");
    client.finish();
    let other = Connection::open(&db).expect("a connection of another program");
    other
        .query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0))
        .expect("reads");
    assert_refused_in_use(&db, &file, "a plain SQLite connection");
    drop(other);
    assert_eq!(bodies(&db).len(), 2, "nothing was changed by the refusals");

    let out = run(&db, &["restore", file.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("holds 1 messages"), "{}", text(&out));
    assert_eq!(bodies(&db), ["kept by the backup"]);
    for suffix in ["-wal", "-shm"] {
        assert!(!sidecar(&db, suffix).exists(), "a stale {suffix} was left");
    }
    let mode = std::fs::metadata(&db).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let aside: Vec<PathBuf> = std::fs::read_dir(db.parent().expect("folder"))
        .expect("reads")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().contains(".before-restore-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        bodies(&aside[0]).len(),
        2,
        "the replaced database is kept whole"
    );

    let (_serve, port) = serve(&db);
    post_text(port, "15550001111", "Ann", "after the restore");
    assert_eq!(bodies(&db), ["kept by the backup", "after the restore"]);
}

#[test]
fn restore_refuses_files_that_are_not_intact_wa_mcp_databases() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_keep, db) = common::seed::db_with(vec![common::inbound::text(
        "15550001111",
        "Ann",
        "wamid.LIVE",
        1_749_416_383,
        "the live one",
    )]);
    let plain = dir.path().join("plain.db");
    Connection::open(&plain)
        .and_then(|c| c.execute_batch("CREATE TABLE messages (body TEXT)"))
        .expect("plain database");
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x42; 10_000]).expect("junk");
    let good = backup(&db, &dir.path().join("backups"));
    let truncated = dir.path().join("truncated.db");
    let bytes = std::fs::read(&good).expect("reads backup");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("truncated copy");
    let before = std::fs::read(&db).expect("reads db");
    for (file, why) in [
        (&plain, "not a wa-mcp database"),
        (&junk, "refusing to restore"),
        (&truncated, "refusing to restore"),
        (&dir.path().join("absent.db"), "no such file"),
        (&db, "the database itself"),
    ] {
        let out = run(&db, &["restore", file.to_str().expect("utf-8")]);
        assert!(!out.status.success(), "{} was restored", file.display());
        assert!(
            text(&out).contains(why),
            "{}: {}",
            file.display(),
            text(&out)
        );
    }
    assert_eq!(std::fs::read(&db).expect("reads db"), before);
    assert_eq!(bodies(&db), ["the live one"]);
}

#[test]
fn restore_puts_back_the_media_the_backup_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_keep, db) = common::seed::db_with(vec![common::inbound::inbound(
        "15550001111",
        "Ann",
        "wamid.PHOTO",
        1_749_416_383,
        serde_json::json!({"type": "image", "image": {"id": "m1", "mime_type": "image/jpeg"}}),
    )]);
    let media = wa_mcp::messaging::media_dir(&db);
    std::fs::create_dir_all(&media).expect("media dir");
    std::fs::write(media.join("m1.jpg"), b"a photo Meta no longer has").expect("writes");
    let store = wa_mcp::store::Store::open(&db).expect("store");
    let id: String = Connection::open(&db)
        .and_then(|c| c.query_row("SELECT id FROM messages", [], |r| r.get(0)))
        .expect("message id");
    let saved = wa_mcp::store::SavedMedia {
        message_id: id,
        media_id: "m1".into(),
        file_name: "m1.jpg".into(),
        mime_type: "image/jpeg".into(),
        size: 26,
        sha256: wa_mcp::hex::to_hex(
            <sha2::Sha256 as sha2::Digest>::digest(b"a photo Meta no longer has").as_slice(),
        ),
    };
    store
        .write_blocking(move |ctx| wa_mcp::store::media::record_saved_media(ctx, &saved))
        .expect("recorded");
    drop(store);
    let file = backup(&db, &dir.path().join("backups"));
    std::fs::remove_dir_all(&media).expect("the media folder is lost");

    let out = run(&db, &["restore", file.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 files put back"), "{}", text(&out));
    assert_eq!(
        std::fs::read(media.join("m1.jpg")).expect("put back"),
        b"a photo Meta no longer has"
    );
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&media), 0o700);
    assert_eq!(mode(&media.join("m1.jpg")), 0o600);
}
