//! A `wa-mcp serve` child process for the benchmarks: this same binary, a port of its
//! own, a database path, and a clean stop (SIGTERM) or a crash (SIGKILL).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::BenchError;

/// The app secret the spawned servers verify deliveries with.
pub const BENCH_SECRET: &str = "bench-app-secret";

pub struct ServerProcess {
    child: Child,
    pub port: u16,
    /// From spawn to the first 200 on `/health`.
    pub ready_after: Duration,
}

impl ServerProcess {
    /// Starts `serve` on a free port over `db`, with `extra` arguments, and waits for
    /// `/health` to answer 200.
    pub fn start(
        db: &Path,
        port: Option<u16>,
        extra: &[String],
    ) -> Result<ServerProcess, BenchError> {
        ServerProcess::start_with_env(db, port, extra, &[])
    }

    /// [`ServerProcess::start`] with `env` added to the child's environment.
    pub fn start_with_env(
        db: &Path,
        port: Option<u16>,
        extra: &[String],
        env: &[(&str, &str)],
    ) -> Result<ServerProcess, BenchError> {
        let port = match port {
            Some(p) => p,
            None => TcpListener::bind("127.0.0.1:0")?.local_addr()?.port(),
        };
        let started = Instant::now();
        let child = Command::new(std::env::current_exe()?)
            .env("WA_APP_SECRET", BENCH_SECRET)
            .env("WA_DB_PATH", db)
            .env("APP_HTTP_PORT", port.to_string())
            .env("APP_BIND", "127.0.0.1")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .arg("serve")
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut server = ServerProcess {
            child,
            port,
            ready_after: Duration::ZERO,
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(200)))
            .build()
            .into();
        let url = format!("http://127.0.0.1:{port}/health");
        while started.elapsed() < Duration::from_secs(30) {
            if agent.get(&url).call().is_ok_and(|r| r.status() == 200) {
                server.ready_after = started.elapsed();
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(BenchError::Failed(format!(
                    "the bench server exited early: {status}"
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Err(BenchError::Failed(
            "the bench server never became healthy".into(),
        ))
    }

    pub fn webhook_url(&self) -> String {
        format!("http://127.0.0.1:{}/webhook/meta", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size in KiB, from /proc (Linux).
    pub fn rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.child.id(), "VmRSS:")
    }

    /// The highest resident set size since the process started, in KiB (Linux).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.child.id(), "VmHWM:")
    }

    /// SIGKILL: the power cut of the crash test.
    pub fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// A size line of `/proc/<pid>/status` (`field` with its colon, e.g. `VmRSS:`), in KiB;
/// `None` when the process is gone or this is not Linux.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
