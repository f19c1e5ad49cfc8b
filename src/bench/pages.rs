//! `bench pages`: keyset pages of `get_messages` on a database of a million messages,
//! timed in the store and as whole MCP tool calls over stdio.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Args;

use super::BenchError;
use super::stats::Summary;
use crate::model::PageCursor;
use crate::store::synthetic::{self, SyntheticMessage};
use crate::store::{MessageFilter, read};
use crate::timefmt::format_micros;

#[derive(Debug, Args)]
pub struct PagesArgs {
    /// Messages in the database
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    /// Pages timed at each position
    #[arg(long, default_value_t = 2_000)]
    pub iterations: usize,
    /// Tool calls timed over stdio
    #[arg(long, default_value_t = 500)]
    pub calls: usize,
}

const BASE_US: i64 = 1_764_000_000_000_000;

pub fn run(args: &PagesArgs) -> Result<ExitCode, BenchError> {
    let dir = super::load::tempfile_dir()?;
    let db = dir.join("pages.db");
    let started = Instant::now();
    fill(&db, args.rows)?;
    println!(
        "filled {} messages in {:.1} s",
        args.rows,
        started.elapsed().as_secs_f64()
    );
    let conn = synthetic::open_read_only(&db)?;
    let positions = [
        ("start", None),
        ("middle", Some(args.rows / 2)),
        ("end", Some(args.rows.saturating_sub(10))),
    ];
    for (name, at) in positions {
        let cursor = at.map(|i| PageCursor {
            created_at: format_micros(BASE_US + i as i64),
            id: row_id(i),
        });
        for (label, filter) in [
            ("all", MessageFilter::default()),
            (
                "one contact",
                MessageFilter {
                    contact: Some(contact(7)),
                    ..MessageFilter::default()
                },
            ),
        ] {
            let mut samples = Vec::with_capacity(args.iterations);
            for _ in 0..args.iterations {
                let t = Instant::now();
                let page =
                    read::page_messages(&conn, cursor.as_ref(), &filter, 21).map_err(store_err)?;
                samples.push(t.elapsed());
                std::hint::black_box(page);
            }
            if let Some(s) = Summary::of(&mut samples) {
                println!("store page of 20 at {name:<6} ({label}): {s}");
            }
        }
    }
    drop(conn);
    let since = format_micros(BASE_US + (args.rows / 2) as i64);
    let mut samples = time_tool_calls(&db, &since, &row_id(args.rows / 2), args.calls)?;
    if let Some(s) = Summary::of(&mut samples) {
        println!("get_messages tool call over stdio (middle, limit 20): {s}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ExitCode::SUCCESS)
}

fn row_id(i: usize) -> String {
    format!("{i:012}")
}

fn contact(i: usize) -> String {
    format!("4477009{:05}", i % 1000)
}

/// Writes `rows` messages (1,000 contacts, both directions) with increasing created_at.
fn fill(db: &Path, rows: usize) -> Result<(), BenchError> {
    let messages = (0..rows).map(|i| SyntheticMessage {
        id: row_id(i),
        inbound: i % 2 == 0,
        wamid: format!("wamid.P{i}"),
        contact: contact(i),
        body: format!("message number {i}"),
        at: format_micros(BASE_US + i as i64),
        raw: None,
    });
    synthetic::fill(
        db,
        (0..1000).map(contact),
        &format_micros(BASE_US),
        messages,
    )?;
    Ok(())
}

/// Round trips of `tools/call get_messages` against `wa-mcp mcp --no-http` on `db`.
pub(super) fn time_tool_calls(
    db: &Path,
    since: &str,
    since_id: &str,
    calls: usize,
) -> Result<Vec<Duration>, BenchError> {
    let mut child = Command::new(std::env::current_exe()?)
        .env("WA_DB_PATH", db)
        .env("RUST_LOG", "warn")
        .args(["mcp", "--no-http"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(BenchError::Failed("no pipes to the MCP child".into()));
    };
    let mut lines = BufReader::new(stdout).lines();
    // Sends a request (with `id`) and waits for its answer, or a notification (without).
    let mut call =
        |id: Option<usize>, method: &str, params: serde_json::Value| -> Result<(), BenchError> {
            let mut msg = serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params});
            if let Some(id) = id {
                msg["id"] = id.into();
            }
            writeln!(stdin, "{msg}")?;
            stdin.flush()?;
            let Some(id) = id else { return Ok(()) };
            loop {
                let line = lines
                    .next()
                    .ok_or_else(|| BenchError::Failed("the MCP child closed stdout".into()))??;
                if line.contains(&format!("\"id\":{id}")) {
                    return Ok(());
                }
            }
        };
    call(
        Some(0),
        "initialize",
        serde_json::json!({"protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"}}),
    )?;
    call(None, "notifications/initialized", serde_json::json!({}))?;
    let mut samples = Vec::with_capacity(calls);
    for i in 1..=calls {
        let params = serde_json::json!({"name": "get_messages",
            "arguments": {"since": since, "sinceId": since_id, "limit": 20}});
        let t = Instant::now();
        call(Some(i), "tools/call", params)?;
        samples.push(t.elapsed());
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(samples)
}

fn store_err(e: crate::store::StoreError) -> BenchError {
    BenchError::Store(e)
}
