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
