//! `bench upload`: how much memory `send_media` takes to upload a large local file.
//!
//! A generated PDF (100 MiB by default, Meta's document limit) sits in a temp folder
//! that `WA_MEDIA_SEND_DIRS` lists; a `wa-mcp mcp --no-http` child, pointed by
//! `WA_GRAPH_BASE_URL` at a local sink standing in for Meta ([`upload_sink`]), is asked
//! over stdio to `send_media` it. The child's resident memory is read from
//! `/proc/<pid>/status` after `initialize` (the baseline), every few milliseconds
//! during the call, and as `VmHWM` (its high-water mark) before it exits. The sink
//! hashes the file part as it arrives, so the run also proves the bytes Meta would get
//! are the file's.
//!
//! [`upload_sink`]: super::upload_sink

use std::io::{BufRead, BufReader, Lines, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::BenchError;
use super::server::proc_status_kib;
use super::upload_sink::{SINK_MEDIA_ID, Seen, Sink};

const MIB: u64 = 1024 * 1024;

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Size of the generated PDF in MiB (Meta takes documents up to 100)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub size_mib: u64,
    /// Growth of the child's resident memory the upload must stay under, in MiB
    #[arg(long, default_value_t = 32.0)]
    pub max_growth_mib: f64,
}

/// What the child's memory did, in KiB.
struct Memory {
    baseline: u64,
    sampled_peak: u64,
    high_water: u64,
}

impl Memory {
    /// The larger of the two peaks over the baseline (the high-water mark also counts
    /// anything before the baseline, so this can only overstate the upload's cost).
    fn growth_kib(&self) -> u64 {
        self.sampled_peak
            .max(self.high_water)
            .saturating_sub(self.baseline)
    }
}

pub fn run(args: &UploadArgs) -> Result<ExitCode, BenchError> {
    let dir = super::load::tempfile_dir()?;
    let result = measure(&dir, args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(dir: &Path, args: &UploadArgs) -> Result<ExitCode, BenchError> {
    let outbox = dir.join("outbox");
    std::fs::create_dir_all(&outbox)?;
    let file = outbox.join("bench.pdf");
    let sha256 = write_pdf(&file, args.size_mib * MIB)?;
    let sink = Sink::start()?;
    let mut child = McpChild::spawn(dir, &outbox, &sink.url)?;
    child.call(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "bench", "version": "1"}}),
    )?;
    child.notify("notifications/initialized")?;
    std::thread::sleep(Duration::from_millis(200));
    let pid = child.pid();
    let baseline = proc_status_kib(pid, "VmRSS:").ok_or_else(no_proc)?;
    let sampler = Sampler::start(pid);
    let started = Instant::now();
    let answer = child.call(
        "tools/call",
        json!({"name": "send_media", "arguments": {"to": "447700900123",
               "path": file, "type": "document"}}),
    )?;
    let call_time = started.elapsed();
    let high_water = proc_status_kib(pid, "VmHWM:").ok_or_else(no_proc)?;
    let memory = Memory {
        baseline,
        sampled_peak: sampler.stop(),
        high_water,
    };
    child.finish();
    let seen = sink.seen();
    verify(&answer, &seen, args.size_mib * MIB, &sha256)?;
    Ok(report(args, &memory, &seen, call_time))
}

fn no_proc() -> BenchError {
    BenchError::Failed("the child's /proc/<pid>/status could not be read (Linux only)".into())
}

/// Writes `size` bytes that are a PDF by their magic (`%PDF-1.7`, then pseudo-random
/// bytes), 1 MiB at a time; returns their SHA-256 (hex).
fn write_pdf(path: &Path, size: u64) -> Result<String, BenchError> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut hasher = Sha256::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; MIB as usize];
    let mut written = 0u64;
    while written < size {
        for word in chunk.chunks_exact_mut(8) {
            // xorshift64: cheap bytes that do not compress, so nothing on the way can
            // shrink them.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        if written == 0 {
            chunk[..9].copy_from_slice(b"%PDF-1.7\n");
        }
        let n = (size - written).min(MIB) as usize;
        out.write_all(&chunk[..n])?;
        hasher.update(&chunk[..n]);
        written += n as u64;
    }
    out.flush()?;
    Ok(crate::hex::to_hex(&hasher.finalize()))
}

/// The tool answered `sent` with the sink's media id, and the sink got every byte of
/// the file, the right ones, then one send naming that id.
fn verify(answer: &Value, seen: &Seen, size: u64, sha256: &str) -> Result<(), BenchError> {
    let result = &answer["result"];
    let fail = |what: String| Err(BenchError::Failed(what));
    if result["isError"] != false || result["structuredContent"]["status"] != "sent" {
        return fail(format!("send_media did not end sent: {answer}"));
    }
    if result["structuredContent"]["mediaId"] != SINK_MEDIA_ID {
        return fail(format!(
            "send_media did not use the sink's media id: {answer}"
        ));
    }
    if !seen.problems.is_empty() {
        return fail(format!("the sink refused: {}", seen.problems.join("; ")));
    }
    if seen.file_bytes != size || seen.file_sha256.as_deref() != Some(sha256) {
        return fail(format!(
            "the sink got {} bytes hashing to {:?}; the file is {size} bytes, {sha256}",
            seen.file_bytes, seen.file_sha256
        ));
    }
    if seen.sends != 1 || !seen.send_named_media {
        return fail(format!(
            "{} send(s) reached the sink, naming the media id: {}",
            seen.sends, seen.send_named_media
        ));
    }
    Ok(())
}

fn report(args: &UploadArgs, memory: &Memory, seen: &Seen, call_time: Duration) -> ExitCode {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let growth = mib(memory.growth_kib());
    let met = growth < args.max_growth_mib;
    println!(
        "send_media of a {}-byte PDF (wa-mcp mcp over stdio; a local sink as Meta)",
        seen.file_bytes
    );
    println!(
        "  sink: {} bytes of the file received, SHA-256 matches the file's; one send named \
         its media id",
        seen.file_bytes
    );
    println!(
        "  child RSS: baseline {} KiB after initialize; peak {} KiB sampled during the call; \
         VmHWM {} KiB",
        memory.baseline, memory.sampled_peak, memory.high_water
    );
    println!(
        "  growth: {} KiB ({growth:.1} MiB): target < {} MiB {}",
        memory.growth_kib(),
        args.max_growth_mib,
        if met { "met" } else { "NOT met" }
    );
    let seconds = seen.upload_time.as_secs_f64().max(1e-9);
    println!(
        "  tool call {:.2} s (check, hash, upload, send); upload body ({} bytes) read by the \
         sink in {seconds:.2} s: {:.1} MiB/s",
        call_time.as_secs_f64(),
        seen.body_bytes,
        seen.body_bytes as f64 / MIB as f64 / seconds
    );
    if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Reads a process's `VmRSS` every 5 ms, keeping the largest, until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (flag, max) = (Arc::clone(&stop), Arc::clone(&peak));
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if let Some(kib) = proc_status_kib(pid, "VmRSS:") {
                    max.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Sampler { stop, peak, thread }
    }

    /// Stops sampling; the largest `VmRSS` seen, in KiB.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed)
    }
}

/// `wa-mcp mcp --no-http` on a database in `dir`, sending to the sink, with `outbox`
/// as the one folder of `WA_MEDIA_SEND_DIRS`, and nothing else from this environment.
struct McpChild {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl McpChild {
    fn spawn(dir: &Path, outbox: &Path, graph: &str) -> Result<McpChild, BenchError> {
        let mut child = Command::new(std::env::current_exe()?)
            .env_clear()
            .env("WA_DB_PATH", dir.join("bench.db"))
            .env("WA_ACCESS_TOKEN", "bench-upload-token")
            .env("WA_DEFAULT_PHONE_NUMBER_ID", "106540352242922")
            .env("WA_GRAPH_BASE_URL", graph)
            .env("WA_MEDIA_SEND_DIRS", outbox)
            .env("RUST_LOG", "warn")
            .args(["mcp", "--no-http"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(BenchError::Failed("no pipes to the MCP child".into()));
        };
        Ok(McpChild {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
            next_id: 0,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a request and waits for its answer.
    fn call(&mut self, method: &str, params: Value) -> Result<Value, BenchError> {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        writeln!(self.stdin, "{request}")?;
        self.stdin.flush()?;
        loop {
            let line = self
                .lines
                .next()
                .ok_or_else(|| BenchError::Failed("the MCP child closed stdout".into()))??;
            let answer: Value = serde_json::from_str(&line).unwrap_or_default();
            if answer["id"] == id {
                return Ok(answer);
            }
        }
    }

    fn notify(&mut self, method: &str) -> Result<(), BenchError> {
        let note = json!({"jsonrpc": "2.0", "method": method, "params": {}});
        writeln!(self.stdin, "{note}")?;
        Ok(self.stdin.flush()?)
    }

    /// Closes stdin (the child exits) and waits, killing it after 10 s.
    fn finish(self) {
        let McpChild {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
