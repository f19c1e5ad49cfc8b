//! `wa-mcp backup`: the real binary copying a database that a real `serve` keeps writing,
//! the saved media beside the copy, the file modes, and retention.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::listener::{NO_META, SECRET, serve};
use common::mcp_client::wa_mcp_command;
use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use sha2::{Digest, Sha256};
use wa_mcp::store::Store;
use wa_mcp::store::media::{SavedMedia, record_saved_media};

fn run_backup(db: &Path, args: &[&str]) -> Output {
    wa_mcp_command(db, NO_META)
        .arg("backup")
        .args(args)
        .output()
        .expect("backup runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn backups_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("reads dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "db"))
        .collect();
    found.sort();
    found
}

fn read_only(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("opens copy")
}

/// Posts one signed text delivery and returns its wamid and the status code.
fn post_one(agent: &ureq::Agent, port: u16, n: usize) -> (String, u16) {
    let body = wa_mcp::cli::simulated_text_delivery(
        "15551230001",
        "Load",
        &format!("message {n}"),
        "106540352242922",
        "1",
        1_749_416_383,
    );
    let wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        .as_str()
        .expect("wamid")
        .to_owned();
    let bytes = body.to_string();
    let signature = wa_mcp::webhook::signature::signature_header(SECRET, bytes.as_bytes());
    let status = agent
        .post(&format!("http://127.0.0.1:{port}/webhook/meta"))
        .header("x-hub-signature-256", &signature)
        .send(bytes.as_bytes())
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    (wamid, status)
}

#[test]
fn a_backup_under_load_holds_every_delivery_acked_before_it_began() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("data").join("wa.db");
    let (_serve, port) = serve(&db);
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let posters: Vec<_> = (0..3)
        .map(|t| {
            let (acked, stop) = (acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                let mut n = t * 1_000_000;
                while !stop.load(Ordering::SeqCst) {
                    let (wamid, status) = post_one(&agent, port, n);
                    if status == 200 {
                        acked.lock().expect("lock").push(wamid);
                    }
                    n += 1;
                }
            })
        })
        .collect();
    while acked.lock().expect("lock").len() < 200 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let before: Vec<String> = acked.lock().expect("lock").clone();
    let out = run_backup(&db, &[dir.path().join("backups").to_str().expect("utf-8")]);
    let during = acked.lock().expect("lock").len() - before.len();
    stop.store(true, Ordering::SeqCst);
    for p in posters {
        p.join().expect("poster");
    }
    assert!(out.status.success(), "{}", text(&out));
    let files = backups_in(&dir.path().join("backups"));
    assert_eq!(files.len(), 1, "{files:?}");
    let copy = read_only(&files[0]);
    let mut missing = Vec::new();
    for wamid in &before {
        let found: i64 = copy
            .query_row(
                "SELECT count(*) FROM messages WHERE wamid = ?1",
                [wamid],
                |r| r.get(0),
            )
            .expect("query");
        if found != 1 {
            missing.push(wamid.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} acked rows missing: {missing:?}",
        missing.len()
    );
    let held: i64 = copy
        .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .expect("count");
    let report = text(&out);
    assert!(report.contains(&format!("{held} messages")), "{report}");
    assert!(report.contains("integrity ok"), "{report}");
    eprintln!(
        "{} acked before the backup, {during} while it ran, {held} in it",
        before.len()
    );
}

/// A database with `names.len()` inbound images, each with a saved media file.
fn db_with_media(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let db = dir.join("wa.db");
    let store = Store::open(&db).expect("store");
    let media = wa_mcp::messaging::media_dir(&db);
    std::fs::create_dir_all(&media).expect("media dir");
    for (i, (name, bytes)) in files.iter().enumerate() {
        let wamid = format!("wamid.MEDIA{i}");
        let image =
            json!({"type": "image", "image": {"id": format!("m{i}"), "mime_type": "image/jpeg"}});
        let delivery = common::inbound::inbound("15550001111", "Ann", &wamid, 1_749_416_383, image);
        store.commit_delivery_blocking(delivery).expect("stored");
        std::fs::write(media.join(name), bytes).expect("media file");
        let saved = SavedMedia {
            message_id: message_id(&db, &wamid),
            media_id: format!("m{i}"),
            file_name: (*name).into(),
            mime_type: "image/jpeg".into(),
            size: bytes.len() as u64,
            sha256: wa_mcp::hex::to_hex(Sha256::digest(bytes).as_slice()),
        };
        store
            .write_blocking(move |ctx| record_saved_media(ctx, &saved))
            .expect("recorded");
    }
    db
}

fn message_id(db: &Path, wamid: &str) -> String {
    read_only(db)
        .query_row("SELECT id FROM messages WHERE wamid = ?1", [wamid], |r| {
            r.get(0)
        })
        .expect("message id")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
}

#[test]
fn backups_carry_the_media_privately_and_only_the_newest_are_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = db_with_media(
        dir.path(),
        &[("m0.jpg", b"first photo"), ("m1.jpg", b"second")],
    );
    let target = dir.path().join("nested").join("backups");
    let arg = target.to_str().expect("utf-8");
    for _ in 0..3 {
        let out = run_backup(&db, &[arg, "--keep", "2"]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("2 files"), "{}", text(&out));
    }
    assert_eq!(mode(&target), 0o700);
    let files = backups_in(&target);
    assert_eq!(files.len(), 2, "{files:?}");
    let leftovers: Vec<_> = std::fs::read_dir(&target)
        .expect("reads")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let media_dirs: Vec<PathBuf> = files.iter().map(|f| f.with_extension("media")).collect();
    for (file, media) in files.iter().zip(&media_dirs) {
        assert_eq!(mode(file), 0o600, "{}", file.display());
        assert_eq!(mode(media), 0o700, "{}", media.display());
        assert_eq!(
            std::fs::read(media.join("m0.jpg")).expect("copied"),
            b"first photo"
        );
        assert_eq!(mode(&media.join("m1.jpg")), 0o600);
        let rows: i64 = read_only(file)
            .query_row("SELECT count(*) FROM media_files", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 2);
    }
    let ino = |p: PathBuf| std::fs::metadata(p).expect("meta").ino();
    assert_eq!(
        ino(media_dirs[0].join("m0.jpg")),
        ino(media_dirs[1].join("m0.jpg")),
        "an unchanged file is stored once"
    );
}

#[test]
fn a_missing_database_or_an_unwritable_target_fails_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nothing = dir.path().join("none.db");
    let out = run_backup(&nothing, &[dir.path().join("b").to_str().expect("utf-8")]);
    assert!(!out.status.success());
    assert!(text(&out).contains("nothing to back up"), "{}", text(&out));
    assert!(!nothing.exists(), "a backup never creates the database");
    let db = db_with_media(dir.path(), &[]);
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"x").expect("writes");
    let out = run_backup(&db, &[blocker.to_str().expect("utf-8")]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("a-file"), "{}", text(&out));
}
