//! The real binary: `serve` in the background, `simulate inbound` against it,
//! `events`, and a clean exit on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::listener::KillOnDrop;

const BIN: &str = env!("CARGO_BIN_EXE_wa-mcp");

fn wa_mcp(db: &std::path::Path, port: u16) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("WA_DB_PATH", db)
        .env("WA_APP_SECRET", "cli-secret")
        .env("WA_WEBHOOK_VERIFY_TOKEN", "cli-verify")
        .env("WA_ACCESS_TOKEN", "EAAG-cli-token-value")
        .env("APP_HTTP_PORT", port.to_string());
    cmd
}

fn wait_for_health(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("serve exited early: {status}");
        }
        let health = ureq::get(&format!("http://127.0.0.1:{port}/health")).call();
        if health.is_ok_and(|resp| resp.status() == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("serve never became healthy");
}

#[test]
fn simulate_inbound_reaches_serve_and_sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let port = common::free_port();
    let mut serve = wa_mcp(&db, port)
        .args(["--log-format", "json", "serve"])
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve starts");
    wait_for_health(port, &mut serve);

    let out = simulate(&db, port, "+44 7700 900123", "hello from the shell");
    assert!(String::from_utf8_lossy(&out.stdout).contains("answered 200"));

    let events = wa_mcp(&db, port)
        .arg("events")
        .output()
        .expect("events runs");
    let listing = String::from_utf8_lossy(&events.stdout);
    assert!(listing.contains("processed"), "{listing}");

    let pid = serve.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = serve.wait().expect("serve exits");
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");

    let stderr = BufReader::new(serve.stderr.take().expect("stderr"));
    let lines: Vec<String> = stderr.lines().map_while(Result::ok).collect();
    let requests: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "request")
        .collect();
    let post = requests
        .iter()
        .find(|v| v["method"] == "POST")
        .expect("one JSON log line for the POST");
    assert_eq!(post["path"], "/webhook/meta");
    assert_eq!(post["status"], 200);
    assert!(post["request_id"].is_string() && post["latency_us"].is_u64());
    let all = lines.join("\n");
    for secret in ["cli-secret", "cli-verify", "EAAG-cli-token-value"] {
        assert!(!all.contains(secret), "a secret reached the log");
    }

    let conn = rusqlite::Connection::open(&db).expect("db");
    let body: String = conn
        .query_row(
            "SELECT body FROM messages WHERE contact_wa_id = '447700900123'",
            [],
            |r| r.get(0),
        )
        .expect("message stored");
    assert_eq!(body, "hello from the shell");
}

#[test]
fn simulate_without_an_app_secret_names_the_variable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = wa_mcp(&dir.path().join("wa.db"), common::free_port())
        .env_remove("WA_APP_SECRET")
        .args([
            "simulate",
            "inbound",
            "--from",
            "447700900123",
            "--text",
            "x",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("WA_APP_SECRET"));
}

#[test]
fn help_never_shows_secret_values() {
    let out = wa_mcp(std::path::Path::new("/nonexistent/x.db"), 1)
        .arg("--help")
        .output()
        .expect("help runs");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("WA_APP_SECRET"));
    for secret in ["cli-secret", "cli-verify", "EAAG-cli-token-value"] {
        assert!(!help.contains(secret), "{secret} shown in --help");
    }
}

/// The permission bits of `path`.
fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    meta.permissions().mode() & 0o777
}

/// Guards finding 11 of the hardening review: the folders wa-mcp creates are 0700
/// whatever the umask; a folder that existed keeps its mode; a `-wal` or `-shm` left
/// loose beside the file (SQLite gives them the file's mode, so an older, looser file
/// leaves looser ones) is tightened to 0600 at the next start.
#[test]
fn created_folders_are_private_existing_ones_are_kept_and_loose_wal_files_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("made").join("by").join("wa.db");
    let umask_0 = Command::new("sh")
        .args(["-c", "umask 000 && exec \"$0\" migrate", BIN])
        .env("WA_DB_PATH", &db)
        .output()
        .expect("sh runs");
    assert!(
        umask_0.status.success(),
        "{}",
        String::from_utf8_lossy(&umask_0.stderr)
    );
    assert_eq!(mode_of(&dir.path().join("made")), 0o700);
    assert_eq!(mode_of(&dir.path().join("made/by")), 0o700);
    assert_eq!(mode_of(&db), 0o600);

    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let db = shared.join("wa.db");
    // Left by an earlier run: SQLite fixes the mode of an empty one itself, not of these.
    for (name, len) in [("wa.db", 0), ("wa.db-wal", 4096), ("wa.db-shm", 32768)] {
        let file = shared.join(name);
        std::fs::write(&file, vec![0u8; len]).expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let store = wa_mcp::store::Store::open(&db).expect("opens");
    for name in ["wa.db", "wa.db-wal", "wa.db-shm"] {
        assert_eq!(mode_of(&shared.join(name)), 0o600, "{name}");
    }
    assert_eq!(
        mode_of(&shared),
        0o755,
        "an existing folder is never changed"
    );
    drop(store);
}

#[test]
fn migrate_creates_a_private_database() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("nested").join("wa.db");
    let out = wa_mcp(&db, 1)
        .arg("migrate")
        .output()
        .expect("migrate runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::metadata(&db).expect("db").permissions().mode() & 0o777,
        0o600
    );
    let again = wa_mcp(&db, 1)
        .arg("migrate")
        .output()
        .expect("migrate runs");
    assert!(String::from_utf8_lossy(&again.stdout).contains("current"));
}

#[test]
fn the_claude_desktop_snippet_is_json_and_names_the_binary() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("packaging/claude_desktop_config.json");
    let snippet: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("snippet")).expect("valid JSON");
    let server = &snippet["mcpServers"]["whatsapp"];
    // Claude Desktop starts servers without the user's shell PATH: a bare name is not found.
    let command = server["command"].as_str().expect("command is a string");
    assert!(
        command.starts_with('/') && command.ends_with("/wa-mcp"),
        "the command must be the binary's absolute path, got {command:?}"
    );
    assert_eq!(server["args"], serde_json::json!(["mcp"]));
    for doc in [
        "README.md",
        "packaging/README.md",
        "docs/guides/meta-setup.md",
    ] {
        let text =
            std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(doc))
                .expect("doc");
        assert!(
            text.contains(&format!("\"command\": \"{command}\"")),
            "{doc} carries the same snippet"
        );
    }
}

/// Runs `wa-mcp simulate inbound` from `from` with `text` against the server on `port`,
/// asserts it succeeded and returns its output.
fn simulate(db: &std::path::Path, port: u16, from: &str, text: &str) -> Output {
    let out = wa_mcp(db, port)
        .args(["simulate", "inbound", "--from", from, "--text", text])
        .output()
        .expect("simulate runs");
    assert!(
        out.status.success(),
        "simulate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn messages_follow_prints_what_another_process_stores_while_it_waits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let port = common::free_port();
    let mut serve = wa_mcp(&db, port)
        .arg("serve")
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("serve starts");
    wait_for_health(port, &mut serve);
    let _serve = KillOnDrop(serve);
    simulate(&db, port, "+44 7700 900123", "before the follow started");

    let mut follow = wa_mcp(&db, port)
        .args(["messages", "--follow"])
        .stderr(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("messages --follow starts");
    let stdout = follow.stdout.take().expect("stdout");
    let _follow = KillOnDrop(follow);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let next_line = || {
        rx.recv_timeout(Duration::from_secs(20))
            .expect("messages --follow printed a line")
    };
    assert!(next_line().contains("before the follow started"));

    // Written by two other processes (simulate posts, serve commits) while it waits.
    simulate(&db, port, "+1 650 555 1234", "after the follow started");
    let line = next_line();
    assert!(line.contains("after the follow started"), "{line}");
    assert!(
        line.contains("16505551234") && line.contains("inbound"),
        "{line}"
    );
}

/// A text that tries to retitle the terminal, rewrite the line and reverse what follows.
const HOSTILE: &str = "hi\u{1b}]0;pwned\u{7}\r\u{202e}gpj.exe\u{9b}2J";

/// Guards finding 9 of the hardening review: what a sender wrote reaches the owner's
/// terminal with every control character and bidi override escaped, in `messages` (as
/// a table and as JSON) and in `events`.
#[test]
fn peer_text_is_printed_with_controls_and_bidi_overrides_escaped() {
    let mut delivery = common::inbound::inbound(
        "447700900123",
        "Eve",
        "wamid.EVE1",
        1_795_428_000,
        serde_json::json!({"type": "text", "text": {"body": HOSTILE}}),
    );
    delivery.request_id = format!("req\u{1b}[2K{HOSTILE}");
    let (_dir, db) = common::seed::db_with(vec![delivery]);
    let unsafe_char = |c: char| wa_mcp::terminal::is_unsafe_for_terminal(c);
    for args in [vec!["messages"], vec!["messages", "--json"], vec!["events"]] {
        let out = wa_mcp(&db, 1).args(&args).output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        let stdout = String::from_utf8(out.stdout).expect("UTF-8");
        let printed: String = stdout.lines().collect();
        assert!(!printed.chars().any(unsafe_char), "{args:?}: {stdout:?}");
        assert!(
            stdout.contains("pwned"),
            "{args:?} still shows the text: {stdout:?}"
        );
    }
    let json = wa_mcp(&db, 1)
        .args(["messages", "--json"])
        .output()
        .expect("runs");
    let row: serde_json::Value = serde_json::from_slice(&json.stdout).expect("a JSON line");
    assert_eq!(row["body"], HOSTILE, "the JSON line means what was stored");
    let table = wa_mcp(&db, 1).arg("messages").output().expect("runs");
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("hi\\x1b]0;pwned\\x07\\r\\u{202e}gpj.exe"),
        "{table}"
    );
}
