//! A Claude Code session that stops reading while a flood arrives: the channel keeps
//! its place in the inbox instead of queueing notifications, and once the client reads
//! again every message arrives, once and in commit order.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::listener::{self, KillOnDrop, NO_META, post_text};
use common::mcp_client::wa_mcp_command;
use rusqlite::Connection;
use serde_json::{Value, json};

const FRIEND: &str = "447700900002";
/// Enough notifications (about 500 bytes each) to fill a pipe many times over.
const FLOOD: usize = 1500;

/// The resident set of `pid` in KiB, where /proc says it.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_client_that_stops_reading_is_caught_up_from_the_cursor() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let (_serve, port) = listener::serve(&db);
    let child = wa_mcp_command(&db, NO_META)
        .env("WA_CHANNEL_SENDERS", FRIEND)
        .args(["mcp", "--no-http", "--channel"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mcp starts");
    let mut child = KillOnDrop(child);
    let pid = child.0.id();
    let mut stdin = child.0.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.0.stdout.take().expect("stdout"));
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "wa-mcp-tests", "version": "1.0"}}});
    writeln!(stdin, "{init}").expect("write");
    let mut line = String::new();
    stdout.read_line(&mut line).expect("initialize answered");
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    )
    .expect("write");
    stdin.flush().expect("flush");

    // The client reads nothing while the flood is stored.
    let before = rss_kib(pid);
    for i in 0..FLOOD {
        post_text(
            port,
            FRIEND,
            "Friend",
            &format!("flood {i} {}", "x".repeat(300)),
        );
    }
    let during = rss_kib(pid);

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut pushed = Vec::new();
    while pushed.len() < FLOOD {
        assert!(
            Instant::now() < deadline,
            "only {} of {FLOOD} arrived",
            pushed.len()
        );
        line.clear();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "stdout ended"
        );
        let v: Value = serde_json::from_str(&line).expect("JSON-RPC");
        if v["method"] == "notifications/claude/channel" {
            pushed.push(
                v["params"]["meta"]["message_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    let conn = Connection::open(&db).expect("db");
    let mut stmt = conn
        .prepare("SELECT id FROM messages WHERE body LIKE 'flood %' ORDER BY created_at, id")
        .expect("query");
    let committed: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("ids");
    assert_eq!(pushed, committed, "all of them, once, in commit order");
    // For docs/performance.md: the process's memory before and while the client did not read.
    eprintln!("channel_backpressure rss_kib before={before:?} unread_flood={during:?}");
}
