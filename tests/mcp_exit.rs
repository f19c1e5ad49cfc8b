//! `wa-mcp mcp` exits soon after its client closes stdin, even with a call to Meta that
//! never answers still in flight (the client has quit: nobody is left to tell).

mod common;

use std::io::Write;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::mcp_client::wa_mcp_command;
use serde_json::json;

/// Meta's per-attempt timeout in the binary is 30 s and the MCP transport gives running
/// handlers 5 s after end of file: exiting within this bound means the process did not
/// sit out the hung call.
const EXIT_WITHIN: Duration = Duration::from_secs(15);

#[test]
fn exits_soon_after_stdin_closes_with_a_send_to_a_hung_meta_in_flight() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (graph, requests) = common::hung_server();
    let mut child = wa_mcp_command(&dir.path().join("wa.db"), &graph)
        .args(["mcp", "--no-http"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("wa-mcp mcp starts");
    let mut stdin = child.stdin.take().expect("stdin");
    for message in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "exit-tests", "version": "1.0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "send_message", "arguments": {"to": "447700900123", "body": "hello"}}}),
    ] {
        writeln!(stdin, "{message}").expect("written");
    }
    let started = Instant::now();
    while requests.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the send never reached Meta"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    drop(stdin);
    let closed = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break Some(status);
        }
        if closed.elapsed() > EXIT_WITHIN {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    let status = status.unwrap_or_else(|| {
        panic!("still running {EXIT_WITHIN:?} after stdin closed: it waited for the hung call")
    });
    assert!(status.success(), "{status:?}");
}
