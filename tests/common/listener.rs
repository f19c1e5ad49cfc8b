//! The real binary's webhook listener, from outside: `wa-mcp serve` or `wa-mcp mcp`
//! listening on a free loopback port, and signed deliveries posted to it as Meta would.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::mcp_client::{McpClient, wa_mcp_command};

/// The app secret [`wa_mcp_command`] configures, which signs every posted delivery.
pub const SECRET: &[u8] = b"mcp-app-secret";
/// A Graph API address nothing answers at: for tests that must never reach Meta.
pub const NO_META: &str = "http://127.0.0.1:9";

/// A child process that cannot outlive a failed test: killed and reaped on drop.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `wa-mcp mcp` over `db` (Graph API at [`NO_META`]) with its own webhook listener on a
/// free port, spawned but not yet initialized.
pub fn mcp_with_listener(db: &Path) -> (McpClient, u16) {
    let port = super::free_port();
    let mut cmd = wa_mcp_command(db, NO_META);
    cmd.env("APP_HTTP_PORT", port.to_string());
    (McpClient::spawn(cmd, &["mcp"]), port)
}

/// `wa-mcp serve` over `db` on a free port, returned once its `/health` answers; the
/// test fails if it does not within 30 s. The process is killed when dropped.
pub fn serve(db: &Path) -> (KillOnDrop, u16) {
    let port = super::free_port();
    let child = wa_mcp_command(db, NO_META)
        .env("APP_HTTP_PORT", port.to_string())
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let child = KillOnDrop(child);
    wait_for_health(port);
    (child, port)
}

/// Returns once `GET /health` on `port` answers at all; fails the test after 30 s.
pub fn wait_for_health(port: u16) {
    let health = format!("http://127.0.0.1:{port}/health");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ureq::get(&health).call().is_err() {
        assert!(Instant::now() < deadline, "serve never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// POSTs `body` to the listener on `port`, signed with [`SECRET`], and asserts the
/// answer is 200 (the delivery is committed).
pub fn post_signed(port: u16, body: &[u8]) {
    let signature = wa_mcp::webhook::signature::signature_header(SECRET, body);
    let status = ureq::post(&format!("http://127.0.0.1:{port}/webhook/meta"))
        .header("x-hub-signature-256", &signature)
        .send(body)
        .expect("webhook answered")
        .status();
    assert_eq!(status, 200);
}

/// POSTs a signed text delivery `text` from `from` (profile `name`) to the business
/// number and asserts the answer is 200.
pub fn post_text(port: u16, from: &str, name: &str, text: &str) {
    let body = wa_mcp::cli::simulated_text_delivery(
        from,
        name,
        text,
        "106540352242922",
        "1",
        1_749_416_383,
    )
    .to_string();
    post_signed(port, body.as_bytes());
}
