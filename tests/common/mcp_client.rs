//! A minimal MCP client over the real binary's stdin/stdout, speaking newline-delimited
//! JSON-RPC as Claude Desktop does.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_wa-mcp");
pub const TOKEN: &str = "EAAG-test-token-6f1c2";

pub struct McpClient {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Everything the server wrote to stderr so far, read as it comes so the pipe never fills.
    stderr: Arc<Mutex<String>>,
    next_id: u64,
    /// Every line the server wrote to stdout, for the "nothing but protocol" check.
    pub stdout_lines: Vec<String>,
}

/// The binary with a clean environment pointing at `db` and a Graph API at `graph_url`.
pub fn wa_mcp_command(db: &Path, graph_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("WA_DB_PATH", db)
        .env("WA_ACCESS_TOKEN", TOKEN)
        .env("WA_APP_SECRET", "mcp-app-secret")
        .env("WA_DEFAULT_PHONE_NUMBER_ID", "106540352242922")
        .env("WA_GRAPH_BASE_URL", graph_url)
        .env("RUST_LOG", "debug");
    cmd
}

impl McpClient {
    /// Spawns `wa-mcp mcp --no-http` and performs the `initialize` handshake.
    pub fn start(db: &Path, graph_url: &str) -> (McpClient, Value) {
        let mut client = McpClient::spawn(wa_mcp_command(db, graph_url), &["mcp", "--no-http"]);
        let init = client.initialize();
        (client, init)
    }

    /// The `initialize` handshake of the 2025-11-25 generation.
    pub fn initialize(&mut self) -> Value {
        let init = self.request(
            "initialize",
            json!({
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "wa-mcp-tests", "version": "1.0"}
            }),
        );
        self.notify("notifications/initialized", json!({}));
        init
    }

    /// Spawns `command` with `args`, with no handshake yet.
    pub fn spawn(mut command: Command, args: &[&str]) -> McpClient {
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wa-mcp mcp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let err_pipe = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        McpClient {
            child,
            stdin: Some(stdin),
            lines,
            stderr,
            next_id: 1,
            stdout_lines: Vec::new(),
        }
    }

    /// What the server wrote to stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn write_line(&mut self, msg: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin open until finish");
        writeln!(stdin, "{msg}").expect("write to the server");
        stdin.flush().expect("flush");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        let msg = json!({"jsonrpc": "2.0", "method": method, "params": params});
        self.write_line(&msg);
    }

    /// Answers the server's request `id` with `result`.
    pub fn reply(&mut self, id: &Value, result: Value) {
        let msg = json!({"jsonrpc": "2.0", "id": id, "result": result});
        self.write_line(&msg);
    }

    /// Sends a request and returns the whole response object (`result` or `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.write_line(&msg);
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no answer to {method}"));
            self.stdout_lines.push(line.clone());
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout carried a non-JSON line ({e}): {line}"));
            if value["id"] == json!(id) {
                return value;
            }
        }
    }

    /// Sends a request without waiting for its answer; returns its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.write_line(&msg);
        id
    }

    /// The first message (already received or arriving within `timeout`) that `wanted`
    /// accepts; every line read is kept in `stdout_lines`.
    pub fn find_message(
        &mut self,
        timeout: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let seen = self
            .stdout_lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| wanted(v));
        if seen.is_some() {
            return seen;
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.lines.recv_timeout(left).ok()?;
            self.stdout_lines.push(line.clone());
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout carried a non-JSON line ({e}): {line}"));
            if wanted(&value) {
                return Some(value);
            }
        }
    }

    /// The answer to request `id`, already received or arriving within 60 s.
    pub fn response_to(&mut self, id: u64) -> Value {
        self.find_message(Duration::from_secs(60), |v| {
            v["id"] == json!(id) && v.get("method").is_none()
        })
        .unwrap_or_else(|| panic!("no answer to request {id}"))
    }

    /// `tools/call`, returning its `result`.
    pub fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let response = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        assert!(
            response.get("error").is_none(),
            "JSON-RPC error from {tool}: {response}"
        );
        response["result"].clone()
    }

    /// Closes stdin, waits for the server to exit, checks that stdout carried only
    /// JSON-RPC, and returns what the server wrote to stderr.
    pub fn finish(mut self) -> String {
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(50));
        let rest: Vec<String> = self.lines.try_iter().collect();
        self.stdout_lines.extend(rest);
        for line in &self.stdout_lines {
            assert!(
                serde_json::from_str::<Value>(line).is_ok(),
                "stdout carried: {line}"
            );
        }
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for McpClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
