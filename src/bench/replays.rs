//! `bench replays`: one large signed delivery, then the same bytes again and again (Meta
//! retrying, or someone replaying a captured body), and how much the database file
//! grows for the replays. Sizes are measured with the server stopped, so the WAL has
//! been folded into the file.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;

use super::BenchError;
use super::payload::{Delivery, delivery};
use super::server::{BENCH_SECRET, ServerProcess};
use crate::store::synthetic::{LogFootprint, delivery_log_footprint};

#[derive(Debug, Args)]
pub struct ReplaysArgs {
    /// Replays of the one delivery
    #[arg(long, default_value_t = 10_000)]
    pub replays: usize,
    /// Size of the delivery in KiB (text messages of 1 to 3 KB each)
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub size_kib: u32,
    /// Connections sending at once
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Growth of the file the run must stay under, in MiB (the target of the review)
    #[arg(long, default_value_t = 2.0)]
    pub max_growth_mib: f64,
}

pub fn run(args: &ReplaysArgs) -> Result<ExitCode, BenchError> {
    let dir = super::load::tempfile_dir()?;
    let db = dir.join("replays.db");
    let result = measure(&db, args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(db: &Path, args: &ReplaysArgs) -> Result<ExitCode, BenchError> {
    let one = large_delivery(args.size_kib as usize * 1024);
    let server = ServerProcess::start(db, None, &[])?;
    let first = send(&server.webhook_url(), &one, 1, 1);
    server.stop();
    if first.ok != 1 {
        return Err(BenchError::Failed(
            "the first delivery was not answered 200".into(),
        ));
    }
    let before = delivery_log_footprint(db)?;
    let server = ServerProcess::start(db, None, &[])?;
    let replays = send(&server.webhook_url(), &one, args.replays, args.concurrency);
    server.stop();
    let after = delivery_log_footprint(db)?;
    report(args, &one, &replays, &before, &after)
}

/// A delivery of at least `bytes` bytes, from the load benchmark's builder.
fn large_delivery(bytes: usize) -> Delivery {
    let mut k = (bytes / 1024).max(1);
    loop {
        let d = delivery(BENCH_SECRET.as_bytes(), "REPLAY", 0, k);
        if d.body.len() >= bytes {
            return d;
        }
        k += k.div_ceil(10);
    }
}

/// What sending one delivery `times` times got back.
struct Sent {
    ok: usize,
    other: usize,
    elapsed: Duration,
}

/// Posts `d` `times` times over `concurrency` keep-alive connections.
fn send(url: &str, d: &Delivery, times: usize, concurrency: usize) -> Sent {
    let next = AtomicUsize::new(0);
    let ok = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..concurrency.max(1) {
            s.spawn(|| {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(60)))
                    .build()
                    .into();
                while next.fetch_add(1, Ordering::Relaxed) < times {
                    let answered = agent
                        .post(url)
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", &d.signature)
                        .send(&d.body[..]);
                    if answered.is_ok_and(|r| r.status() == 200) {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let ok = ok.into_inner();
    Sent {
        ok,
        other: times - ok,
        elapsed: started.elapsed(),
    }
}

fn report(
    args: &ReplaysArgs,
    one: &Delivery,
    replays: &Sent,
    before: &LogFootprint,
    after: &LogFootprint,
) -> Result<ExitCode, BenchError> {
    let growth = after.file_bytes as i64 - before.file_bytes as i64;
    let mib = |b: i64| b as f64 / (1024.0 * 1024.0);
    println!(
        "replays: one delivery of {} bytes ({} messages), then {} replays over {} connections",
        one.body.len(),
        one.wamids.len(),
        args.replays,
        args.concurrency
    );
    println!(
        "  {} answered 200, {} otherwise, in {:.1} s",
        replays.ok,
        replays.other,
        replays.elapsed.as_secs_f64()
    );
    println!(
        "  file: {} -> {} bytes: grew {growth} bytes ({:.2} MiB, {:.0} bytes per replay); \
         free pages after: {} bytes",
        before.file_bytes,
        after.file_bytes,
        mib(growth),
        growth as f64 / args.replays.max(1) as f64,
        after.free_bytes
    );
    println!(
        "  delivery log: {} rows, {} payload(s) kept, {} bytes of payload",
        after.deliveries, after.payloads_kept, after.payload_bytes_kept
    );
    let met = mib(growth) < args.max_growth_mib && replays.other == 0;
    println!(
        "  target (< {} MiB, every replay answered 200): {}",
        args.max_growth_mib,
        if met { "met" } else { "NOT met" }
    );
    Ok(if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
