//! `bench slow-bodies`: many connections trickling large bodies under no signature or a
//! wrong one, while another client posts ordinary signed deliveries at a steady rate.
//! It reports how much the server's memory grew (VmRSS sampled, and VmHWM), how the
//! ordinary deliveries fared, and checks through the database that every one answered
//! 200 is stored exactly once.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;

use super::BenchError;
use super::attackers::{Attack, Tally};
use super::load::{LoadReport, rss_watcher, send_all, tempfile_dir, verify};
use super::payload::{Delivery, delivery};
use super::server::{BENCH_SECRET, ServerProcess};

#[derive(Debug, Args)]
pub struct SlowBodiesArgs {
    /// Hostile connections kept going at once: half send no signature, half a wrong one
    /// (of those, half declare their length and half are chunked)
    #[arg(long, default_value_t = 300)]
    pub connections: usize,
    /// Size of each hostile body, in KiB
    #[arg(long, default_value_t = 5 * 1024)]
    pub body_kib: usize,
    /// How fast each hostile connection sends its body, in KiB/s
    #[arg(long, default_value_t = 64)]
    pub trickle_kib: usize,
    /// How long a hostile peer waits after an answer before connecting again, in ms
    #[arg(long, default_value_t = 250)]
    pub pause_ms: u64,
    /// Ordinary signed deliveries (1 to 3 KB) per second, from another client
    #[arg(long, default_value_t = 50)]
    pub rate: u32,
    /// How long the ordinary deliveries go on, once the hostile connections are up, in s
    #[arg(long, default_value_t = 60)]
    pub duration_secs: u64,
    /// The most RSS the server may add, in MiB (the target)
    #[arg(long, default_value_t = 64.0)]
    pub max_rss_growth_mib: f64,
    /// The slowest p99 the ordinary deliveries may have, in ms (the target)
    #[arg(long, default_value_t = 100.0)]
    pub max_p99_ms: f64,
}

/// How long the hostile connections run before the ordinary deliveries start.
const RAMP: Duration = Duration::from_secs(3);
/// Deliveries sent before the idle RSS is read, so the server is warm.
const WARM_UP: usize = 100;

pub fn run(args: &SlowBodiesArgs) -> Result<ExitCode, BenchError> {
    let dir = tempfile_dir()?;
    let result = measure(&dir.join("slow-bodies.db"), args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// What the server's memory did.
struct Memory {
    idle_kib: usize,
    sampled_peak_kib: usize,
    hwm_kib: usize,
}

impl Memory {
    fn added_mib(&self) -> f64 {
        let peak = self.sampled_peak_kib.max(self.hwm_kib);
        peak.saturating_sub(self.idle_kib) as f64 / 1024.0
    }
}

fn measure(db: &Path, args: &SlowBodiesArgs) -> Result<ExitCode, BenchError> {
    let server = ServerProcess::start(db, None, &[])?;
    let run_id = format!("{:06X}", crate::timefmt::now_micros() % 0xFF_FFFF);
    let secret = BENCH_SECRET.as_bytes();
    let warm: Vec<Delivery> = (0..WARM_UP)
        .map(|i| delivery(secret, &format!("W{run_id}"), i, 1))
        .collect();
    if send_all(&server.webhook_url(), &warm, 4, None).ok != WARM_UP {
        return Err(BenchError::Failed(
            "the warm-up was not answered 200".into(),
        ));
    }
    std::thread::sleep(Duration::from_millis(200));
    let idle_kib = server.rss_kib().unwrap_or(0) as usize;
    let peak = Arc::new(AtomicUsize::new(idle_kib));
    let watcher = rss_watcher(server.pid(), Arc::clone(&peak));

    let duration = Duration::from_secs(args.duration_secs);
    let attack = Arc::new(Attack {
        authority: format!("127.0.0.1:{}", server.port),
        connections: args.connections,
        body_bytes: args.body_kib * 1024,
        rate: args.trickle_kib * 1024,
        pause: Duration::from_millis(args.pause_ms),
        until: Instant::now() + RAMP + duration + Duration::from_secs(1),
    });
    let tally = Arc::new(Tally::default());
    let attackers = {
        let (attack, tally) = (Arc::clone(&attack), Arc::clone(&tally));
        std::thread::spawn(move || super::attackers::run(attack, tally))
    };
    std::thread::sleep(RAMP);
    let count = (u64::from(args.rate) * args.duration_secs).max(1) as usize;
    let ordinary: Vec<Delivery> = (0..count)
        .map(|i| delivery(secret, &run_id, i, 1))
        .collect();
    let report = send_all(&server.webhook_url(), &ordinary, 4, Some(args.rate));
    let _ = attackers.join();
    let memory = Memory {
        idle_kib,
        sampled_peak_kib: peak.load(Ordering::Relaxed),
        hwm_kib: server.peak_rss_kib().unwrap_or(0) as usize,
    };
    drop(watcher);
    server.stop();
    print_report(args, &tally, &report, &memory);
    verify(db, &ordinary, &report)?;
    judge(args, &report, &memory, count)
}

fn print_report(args: &SlowBodiesArgs, tally: &Tally, report: &LoadReport, memory: &Memory) {
    let wrong = args.connections / 2;
    println!(
        "slow-bodies: {} connections trickling {} KiB bodies at {} KiB/s each ({} without a \
         signature, {wrong} with a wrong one: {} declared, {} chunked), pause {} ms, for {} s",
        args.connections,
        args.body_kib,
        args.trickle_kib,
        args.connections - wrong,
        wrong.div_ceil(2),
        wrong / 2,
        args.pause_ms,
        args.duration_secs + RAMP.as_secs()
    );
    println!("  hostile: {tally}");
    println!(
        "  ordinary: {} signed deliveries at {}/s: {} answered 200, {} answered 503, {} failed",
        report.ok + report.refused + report.failed,
        args.rate,
        report.ok,
        report.refused,
        report.failed
    );
    if let Some(l) = &report.latency {
        println!("  latency of 200s: {l}");
    }
    println!(
        "  server RSS: idle {} KiB, peak sampled {} KiB, VmHWM {} KiB: added {:.1} MiB",
        memory.idle_kib,
        memory.sampled_peak_kib,
        memory.hwm_kib,
        memory.added_mib()
    );
}

/// Whether the targets were met: the exit status says it.
fn judge(
    args: &SlowBodiesArgs,
    report: &LoadReport,
    memory: &Memory,
    sent: usize,
) -> Result<ExitCode, BenchError> {
    let p99_ms = report
        .latency
        .map_or(f64::INFINITY, |l| l.p99.as_secs_f64() * 1000.0);
    let met = memory.added_mib() < args.max_rss_growth_mib
        && p99_ms < args.max_p99_ms
        && report.ok == sent;
    println!(
        "  target (< {} MiB added, ordinary p99 < {} ms, every ordinary delivery 200): {}",
        args.max_rss_growth_mib,
        args.max_p99_ms,
        if met { "met" } else { "NOT met" }
    );
    Ok(if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
