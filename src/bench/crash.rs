//! `bench crash`: load the server, SIGKILL it mid-load, restart, and check that every
//! delivery answered 200 survived; after every round, replay everything and check each
//! delivery is stored exactly once.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::BenchError;
use super::load::{LoadReport, send_all, tempfile_dir, verify};
use super::payload::{Delivery, delivery};
use super::server::{BENCH_SECRET, ServerProcess};

#[derive(Debug, Args)]
pub struct CrashArgs {
    /// How many times the server is killed
    #[arg(long, default_value_t = 10)]
    pub kills: usize,
    /// Deliveries offered in each round (the kill lands part-way through)
    #[arg(long, default_value_t = 5_000)]
    pub deliveries_per_round: usize,
    /// Connections sending at once
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Kill between 50 ms and this many milliseconds into the load
    #[arg(long, default_value_t = 400)]
    pub max_kill_ms: u64,
}

pub fn run(args: &CrashArgs) -> Result<ExitCode, BenchError> {
    let dir = tempfile_dir()?;
    let db = dir.join("crash.db");
    let run_id = format!("{:06X}", crate::timefmt::now_micros() % 0xFF_FFFF);
    let total = args.kills * args.deliveries_per_round;
    let deliveries: Vec<Delivery> = (0..total)
        .map(|i| delivery(BENCH_SECRET.as_bytes(), &run_id, i, 1))
        .collect();
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut acknowledged = Vec::new();
    println!("round  acknowledged  refused/failed  kill after  stored after restart");
    for round in 0..args.kills {
        crash_round(args, &db, port, round, &deliveries, &mut acknowledged)?;
    }
    let outcome = replay_everything(args, &db, port, &deliveries);
    let _ = std::fs::remove_dir_all(&dir);
    outcome?;
    println!(
        "{} kills: no acknowledged delivery lost, every delivery stored exactly once",
        args.kills
    );
    Ok(ExitCode::SUCCESS)
}

/// One round: starts the server, sends this round's slice of `deliveries` while a
/// thread SIGKILLs it at a random moment, restarts it and checks that every delivery
/// acknowledged so far (added to `acknowledged`) is stored.
fn crash_round(
    args: &CrashArgs,
    db: &Path,
    port: u16,
    round: usize,
    deliveries: &[Delivery],
    acknowledged: &mut Vec<usize>,
) -> Result<(), BenchError> {
    let server = ServerProcess::start(db, Some(port), &[])?;
    let url = server.webhook_url();
    let kill_after =
        Duration::from_millis(50 + random_below(args.max_kill_ms.saturating_sub(50).max(1)));
    let killer = std::thread::spawn(move || {
        std::thread::sleep(kill_after);
        server.crash();
    });
    let from = round * args.deliveries_per_round;
    let slice = &deliveries[from..from + args.deliveries_per_round];
    let mut report = send_all(&url, slice, args.concurrency, None);
    let _ = killer.join();
    report.acknowledged.iter_mut().for_each(|i| *i += from);
    acknowledged.extend_from_slice(&report.acknowledged);
    // Restarting recovers the database; then every acknowledged delivery must be there.
    let restarted = ServerProcess::start(db, Some(port), &[])?;
    let so_far = LoadReport {
        acknowledged: acknowledged.clone(),
        ..report_stub()
    };
    let verdict = verify(db, deliveries, &so_far);
    restarted.stop();
    println!(
        "{:>5}  {:>12}  {:>14}  {:>7} ms  {}",
        round + 1,
        report.ok,
        report.refused + report.failed,
        kill_after.as_millis(),
        if verdict.is_ok() { "all" } else { "LOST SOME" }
    );
    verdict
}

/// Sends every delivery once more to a fresh server: each must be answered 200 and
/// the database must then hold each exactly once.
fn replay_everything(
    args: &CrashArgs,
    db: &Path,
    port: u16,
    deliveries: &[Delivery],
) -> Result<(), BenchError> {
    let total = deliveries.len();
    let server = ServerProcess::start(db, Some(port), &[])?;
    let replay = send_all(&server.webhook_url(), deliveries, args.concurrency, None);
    server.stop();
    println!(
        "replayed all {total} deliveries: {} answered 200",
        replay.ok
    );
    let everything = LoadReport {
        acknowledged: (0..total).collect(),
        ..report_stub()
    };
    verify(db, deliveries, &everything)?;
    let rows = crate::store::synthetic::count_messages(db)?;
    println!("messages stored: {rows} for {total} deliveries of one message each");
    if rows != total as i64 {
        return Err(BenchError::Failed(
            "a delivery was stored more or less than once".into(),
        ));
    }
    if replay.ok != total {
        return Err(BenchError::Failed(
            "some replays were not answered 200".into(),
        ));
    }
    Ok(())
}

fn report_stub() -> LoadReport {
    LoadReport {
        elapsed: Duration::ZERO,
        ok: 0,
        refused: 0,
        failed: 0,
        latency: None,
        acknowledged: Vec::new(),
    }
}

fn random_below(n: u64) -> u64 {
    (uuid::Uuid::new_v4().as_u128() % u128::from(n.max(1))) as u64
}
