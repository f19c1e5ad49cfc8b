//! `bench webhook`: concurrent signed deliveries, latency percentiles, and a check
//! through the database that every delivery answered 200 is stored exactly once.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;

use super::BenchError;
use super::payload::{Delivery, delivery};
use super::server::{BENCH_SECRET, ServerProcess};
use super::stats::Summary;
use crate::config::Config;
use crate::store::synthetic;

#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// Where to POST; without it the bench starts its own server on a temp database
    #[arg(long)]
    pub url: Option<String>,
    /// Deliveries to send
    #[arg(long, default_value_t = 20_000)]
    pub deliveries: usize,
    /// Connections sending at once
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Messages in each delivery
    #[arg(long, default_value_t = 1)]
    pub messages_per_delivery: usize,
    /// Send at this many deliveries per second (default: as fast as answered); latency
    /// is then measured from each delivery's scheduled time
    #[arg(long)]
    pub rate: Option<u32>,
    /// With its own server: run again with one commit per request and print the ratio
    #[arg(long)]
    pub baseline: bool,
}

/// What one run measured.
pub struct LoadReport {
    pub elapsed: Duration,
    pub ok: usize,
    pub refused: usize,
    pub failed: usize,
    pub latency: Option<Summary>,
    /// Indices of the deliveries answered 200.
    pub acknowledged: Vec<usize>,
}

impl LoadReport {
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub fn run(config: &Config, args: &WebhookArgs) -> Result<ExitCode, BenchError> {
    let run_id = format!("{:06X}", crate::timefmt::now_micros() % 0xFF_FFFF);
    if let Some(url) = &args.url {
        let secret = config.app_secret.as_ref().ok_or_else(|| {
            BenchError::Failed("WA_APP_SECRET must match the server's to sign deliveries".into())
        })?;
        let deliveries = build(secret.expose().as_bytes(), &run_id, args);
        let report = send_all(url, &deliveries, args.concurrency, args.rate);
        print_report("server at --url", args, &report);
        return verify_and_exit(&config.db_path, &deliveries, &report);
    }
    let dir = tempfile_dir()?;
    let deliveries = build(BENCH_SECRET.as_bytes(), &run_id, args);
    let batched = run_own_server(&dir.join("batched.db"), &[], &deliveries, args)?;
    if args.baseline {
        let one = run_own_server(
            &dir.join("baseline.db"),
            &["--max-batch".into(), "1".into()],
            &deliveries,
            args,
        )?;
        println!(
            "group commit vs one commit per request: {:.1}x the throughput",
            batched.throughput() / one.throughput().max(1e-9)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ExitCode::SUCCESS)
}

fn run_own_server(
    db: &Path,
    extra: &[String],
    deliveries: &[Delivery],
    args: &WebhookArgs,
) -> Result<LoadReport, BenchError> {
    let server = ServerProcess::start(db, None, extra)?;
    let idle = server.rss_kib();
    let peak = Arc::new(AtomicUsize::new(0));
    let watcher = rss_watcher(server.pid(), Arc::clone(&peak));
    let report = send_all(
        &server.webhook_url(),
        deliveries,
        args.concurrency,
        args.rate,
    );
    let label = if extra.is_empty() {
        "group commit (default)"
    } else {
        "one commit per request (--max-batch 1)"
    };
    print_report(label, args, &report);
    println!(
        "  server: ready {:.1} ms after start; RSS idle {} KiB, peak under load {} KiB",
        server.ready_after.as_secs_f64() * 1000.0,
        idle.unwrap_or(0),
        peak.load(Ordering::Relaxed)
    );
    drop(watcher);
    server.stop();
    verify(db, deliveries, &report)?;
    Ok(report)
}

/// Samples the server's RSS every 50 ms into `peak` until dropped.
pub(super) fn rss_watcher(pid: u32, peak: Arc<AtomicUsize>) -> impl Drop {
    struct Stop(Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            if let Some(kib) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("VmRSS:").map(str::to_owned))
                })
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
            {
                peak.fetch_max(kib, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    Stop(stop)
}

fn build(secret: &[u8], run_id: &str, args: &WebhookArgs) -> Vec<Delivery> {
    let k = args.messages_per_delivery.max(1);
    (0..args.deliveries)
        .map(|i| delivery(secret, run_id, i, k))
        .collect()
}

/// Sends every delivery over `concurrency` keep-alive connections, driven by one
/// async thread so the load generator costs far less CPU than the server it loads.
pub fn send_all(
    url: &str,
    deliveries: &[Delivery],
    concurrency: usize,
    rate: Option<u32>,
) -> LoadReport {
    let started = Instant::now();
    let results = match Target::parse(url) {
        Ok(target) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| rt.block_on(drive(&target, deliveries, concurrency, rate, started)))
            .unwrap_or_default(),
        Err(e) => {
            eprintln!("{e}");
            Vec::new()
        }
    };
    summarise(results, started.elapsed())
}

/// Where the load goes: plain HTTP on loopback or a LAN address.
struct Target {
    authority: String,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or("bench URLs must be http://host:port/path")?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        Ok(Target {
            authority: authority.to_owned(),
            path: format!("/{path}"),
        })
    }
}

type Outcome = (usize, u16, Duration);

async fn drive(
    target: &Target,
    deliveries: &[Delivery],
    concurrency: usize,
    rate: Option<u32>,
    started: Instant,
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let interval = rate.map(|r| Duration::from_secs_f64(1.0 / f64::from(r.max(1))));
    let workers =
        (0..concurrency.max(1)).map(|_| connection(target, deliveries, &next, interval, started));
    let mut all = Vec::with_capacity(deliveries.len());
    for part in futures_join_all(workers).await {
        all.extend(part);
    }
    all
}

/// Awaits every future, polling them together (no extra crate for `join_all`).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// One keep-alive connection sending deliveries until none are left; reconnects after
/// a failure (the crash test kills the server under it).
async fn connection(
    target: &Target,
    deliveries: &[Delivery],
    next: &AtomicUsize,
    interval: Option<Duration>,
    started: Instant,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut sender = None;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(d) = deliveries.get(i) else { break };
        let due = interval.map(|iv| started + iv.mul_f64(i as f64));
        if let Some(due) = due {
            tokio::time::sleep_until(due.into()).await;
        }
        let sent = due.unwrap_or_else(Instant::now);
        if sender.is_none() {
            sender = connect(&target.authority).await;
        }
        let status = match sender.as_mut() {
            Some(s) => post(s, target, d).await,
            None => None,
        };
        if status.is_none() {
            sender = None;
        }
        out.push((i, status.unwrap_or(0), sent.elapsed()));
    }
    out
}

type Sender = hyper::client::conn::http1::SendRequest<http_body_util::Full<hyper::body::Bytes>>;

async fn connect(authority: &str) -> Option<Sender> {
    let stream = tokio::net::TcpStream::connect(authority).await.ok()?;
    let _ = stream.set_nodelay(true);
    let io = hyper_util::rt::TokioIo::new(stream);
    let (sender, conn) = hyper::client::conn::http1::handshake(io).await.ok()?;
    tokio::spawn(conn);
    Some(sender)
}

async fn post(sender: &mut Sender, target: &Target, d: &Delivery) -> Option<u16> {
    use http_body_util::BodyExt;
    sender.ready().await.ok()?;
    let request = hyper::Request::post(target.path.as_str())
        .header("host", target.authority.as_str())
        .header("content-type", "application/json")
        .header("x-hub-signature-256", d.signature.as_str())
        .body(http_body_util::Full::new(
            hyper::body::Bytes::copy_from_slice(&d.body),
        ))
        .ok()?;
    let response = sender.send_request(request).await.ok()?;
    let status = response.status().as_u16();
    response.into_body().collect().await.ok()?;
    Some(status)
}

fn summarise(results: Vec<Outcome>, elapsed: Duration) -> LoadReport {
    let mut latencies = Vec::new();
    let (mut ok, mut refused, mut failed, mut acknowledged) = (0, 0, 0, Vec::new());
    for (i, status, latency) in results {
        match status {
            200 => {
                ok += 1;
                acknowledged.push(i);
                latencies.push(latency);
            }
            503 => refused += 1,
            _ => failed += 1,
        }
    }
    acknowledged.sort_unstable();
    LoadReport {
        elapsed,
        ok,
        refused,
        failed,
        latency: Summary::of(&mut latencies),
        acknowledged,
    }
}

fn print_report(label: &str, args: &WebhookArgs, r: &LoadReport) {
    println!(
        "{label}: {} deliveries x {} message(s), concurrency {}{}",
        args.deliveries,
        args.messages_per_delivery.max(1),
        args.concurrency,
        args.rate
            .map(|r| format!(", rate {r}/s"))
            .unwrap_or_default()
    );
    println!(
        "  {} answered 200, {} answered 503, {} failed, in {:.2} s: {:.0} deliveries/s",
        r.ok,
        r.refused,
        r.failed,
        r.elapsed.as_secs_f64(),
        r.throughput()
    );
    if let Some(l) = &r.latency {
        println!("  latency of 200s: {l}");
    }
}

/// Checks that every acknowledged delivery's messages are stored, each exactly once.
pub fn verify(db: &Path, deliveries: &[Delivery], report: &LoadReport) -> Result<(), BenchError> {
    let wamids = report
        .acknowledged
        .iter()
        .flat_map(|&i| deliveries[i].wamids.iter().map(String::as_str));
    let counts = synthetic::rows_per_wamid(db, wamids)
        .map_err(|e| BenchError::Failed(format!("cannot verify {}: {e}", db.display())))?;
    let missing = counts.iter().filter(|&&n| n == 0).count();
    let duplicated = counts.iter().filter(|&&n| n > 1).count();
    println!(
        "  verified: {} acknowledged deliveries, {missing} message(s) missing, {duplicated} duplicated",
        report.acknowledged.len()
    );
    if missing + duplicated > 0 {
        return Err(BenchError::Failed(
            "verification failed: an acknowledged delivery is not stored exactly once".into(),
        ));
    }
    Ok(())
}

fn verify_and_exit(
    db: &Path,
    deliveries: &[Delivery],
    report: &LoadReport,
) -> Result<ExitCode, BenchError> {
    verify(db, deliveries, report)?;
    Ok(ExitCode::SUCCESS)
}

/// A fresh folder for the bench's databases.
pub fn tempfile_dir() -> Result<PathBuf, BenchError> {
    let dir = std::env::temp_dir().join(format!("wa-mcp-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
