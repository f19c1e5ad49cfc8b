//! The benchmark and crash tools stay working: small runs of each, checked by their
//! own verification (exit status) and output. The full-size runs are in
//! docs/performance.md and docs/reliability.md, not in CI.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_wa-mcp");

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn bench_webhook_measures_both_writers_and_verifies_every_acknowledged_delivery() {
    let out = run(&[
        "bench",
        "webhook",
        "--deliveries",
        "300",
        "--concurrency",
        "8",
        "--messages-per-delivery",
        "2",
        "--baseline",
    ]);
    assert_eq!(out.matches("300 answered 200").count(), 2, "{out}");
    assert_eq!(
        out.matches("0 message(s) missing, 0 duplicated").count(),
        2,
        "{out}"
    );
    assert!(out.contains("x the throughput"), "{out}");
}

#[test]
fn bench_crash_survives_kills_without_losing_an_acknowledged_delivery() {
    let out = run(&[
        "bench",
        "crash",
        "--kills",
        "2",
        "--deliveries-per-round",
        "400",
        "--concurrency",
        "8",
        "--max-kill-ms",
        "150",
    ]);
    assert!(
        out.contains("2 kills: no acknowledged delivery lost"),
        "{out}"
    );
    assert!(
        out.contains("messages stored: 800 for 800 deliveries"),
        "{out}"
    );
}

#[test]
fn bench_pages_times_the_store_and_the_tool_call() {
    let out = run(&[
        "bench",
        "pages",
        "--rows",
        "2000",
        "--iterations",
        "20",
        "--calls",
        "5",
    ]);
    assert_eq!(out.matches("store page of 20 at").count(), 6, "{out}");
    assert!(out.contains("get_messages tool call over stdio"), "{out}");
}

#[test]
fn bench_search_builds_a_multilingual_inbox_once_reuses_it_and_times_every_kind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = dir.path().join("inbox.db");
    let corpus = corpus.to_str().expect("utf-8 path");
    let args = [
        "bench",
        "search",
        "--rows",
        "20000",
        "--contacts",
        "1000",
        "--queries",
        "10",
        "--repeat",
        "1",
        "--corpus",
        corpus,
    ];
    let out = run(&args);
    assert!(
        out.contains("built 20000 messages and 1000 contacts"),
        "{out}"
    );
    assert!(out.contains("search index: "), "{out}");
    assert_eq!(out.matches("search_messages ").count(), 7, "{out}");
    assert_eq!(out.matches("find_contacts ").count(), 3, "{out}");
    let again = run(&args);
    assert!(
        again.contains("reusing") && again.contains("(20000 messages, 1000 contacts)"),
        "{again}"
    );
}

#[test]
fn bench_search_never_touches_a_database_it_did_not_build() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    drop(wa_mcp::store::Store::open(&db).expect("an owner's database"));
    // What the file holds: its mark and every table, index and trigger.
    let contents = || -> (i64, String) {
        let conn = rusqlite::Connection::open(&db).expect("opens");
        conn.query_row(
            "SELECT (SELECT application_id FROM pragma_application_id()),
                    (SELECT group_concat(name) FROM sqlite_schema)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("reads")
    };
    let before = contents();
    let out = Command::new(BIN)
        .args(["bench", "search", "--rows", "100", "--corpus"])
        .arg(&db)
        .env("RUST_LOG", "warn")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("was not built by `wa-mcp bench search`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(contents(), before);
}

#[test]
fn bench_upload_measures_the_memory_of_a_streamed_upload_and_checks_the_bytes() {
    let out = run(&["bench", "upload", "--size-mib", "3"]);
    assert!(
        out.contains("3145728 bytes of the file received, SHA-256 matches"),
        "{out}"
    );
    assert!(out.contains("target < 32 MiB met"), "{out}");
    assert!(out.contains("MiB/s"), "{out}");
}

#[test]
fn bench_slow_bodies_measures_memory_and_verifies_the_ordinary_deliveries() {
    let out = run(&[
        "bench",
        "slow-bodies",
        "--connections",
        "24",
        "--duration-secs",
        "3",
        "--rate",
        "20",
        // A shared, unoptimised test build: the latency target is for the release run.
        "--max-p99-ms",
        "10000",
    ]);
    assert!(
        out.contains("60 answered 200, 0 answered 503, 0 failed"),
        "{out}"
    );
    assert!(out.contains("0 message(s) missing, 0 duplicated"), "{out}");
    assert!(out.contains("server RSS: idle"), "{out}");
    assert!(out.contains("answered 404 "), "{out}");
    assert!(out.contains(": met"), "{out}");
}

#[test]
fn bench_remote_times_a_tool_call_over_mcp_and_over_stdio() {
    let out = run(&["bench", "remote", "--rows", "500", "--calls", "20"]);
    assert!(
        out.contains("get_messages tool call over /mcp (loopback, bearer checked): p50"),
        "{out}"
    );
    assert!(out.contains("get_messages tool call over stdio"), "{out}");
    assert!(
        out.contains("target: p99 < 5 ms over /mcp on loopback"),
        "{out}"
    );
}
