//! `bench search`: `search_messages` and `find_contacts` on a realistic inbox of a million
//! messages and 50,000 contacts (see [`super::corpus`]), timed through the messaging
//! layer the tools call, and the search index's size next to the text it indexes.
//!
//! Building the inbox takes minutes, so `--corpus PATH` keeps it: a later run reuses the file
//! when it holds the same corpus at the same size, and replaces it when it holds another
//! of this bench's corpora. A file this bench did not build is never touched.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use super::BenchError;
use super::corpus::Corpus;
use super::search_queries::{contact_kinds, search_kinds};
use super::stats::{Summary, process_cpu_time};
use crate::config::Config;
use crate::messaging::Messaging;
use crate::model::search_query::compile_query;
use crate::store::Store;
use crate::store::synthetic::{self, SearchFootprint};
use crate::timefmt::format_micros;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Messages in the inbox
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    /// Contacts in the inbox
    #[arg(long, default_value_t = 50_000)]
    pub contacts: usize,
    /// Keep the inbox in this file and reuse it on later runs (built when missing). Not
    /// `--db`: that names the owner's database, which this bench never opens
    #[arg(long, value_name = "PATH")]
    pub corpus: Option<PathBuf>,
    /// Distinct queries of each kind
    #[arg(long, default_value_t = 100)]
    pub queries: usize,
    /// Times each query is run (round robin over the kind's queries)
    #[arg(long, default_value_t = 10)]
    pub repeat: usize,
}

/// `application_id` of a database this bench built: the high bits say it is one, the
/// low byte which version of the corpus it holds (2: its search index has the prefix
/// index of migration V14; an older corpus is built again rather than timed while its
/// index is refilled).
const MARK_BASE: i32 = 0x7761_5300;
const CORPUS_VERSION: i32 = 2;
/// 2025-12-01T00:00:00Z: the inbox spans the year after it.
const BASE_US: i64 = 1_764_547_200_000_000;
const YEAR_US: i64 = 365 * 86_400 * 1_000_000;

pub fn run(config: &Config, args: &SearchArgs) -> Result<ExitCode, BenchError> {
    let (db, temp) = match &args.corpus {
        Some(path) => (path.clone(), None),
        None => {
            let dir = super::load::tempfile_dir()?;
            (dir.join("search.db"), Some(dir))
        }
    };
    prepare(&db, args)?;
    print_footprint(&synthetic::search_footprint(&db)?);
    let corpus = Corpus::new(args.contacts);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let messaging = Messaging::new(Store::open(&db)?, meta_client(config), config);
    let counter = synthetic::open_read_only(&db)?;
    for kind in search_kinds(&corpus, args.rows, args.queries) {
        let inputs = &kind.queries;
        let counts = inputs
            .iter()
            .map(|q| {
                let query =
                    compile_query(&q.query).map_err(|e| BenchError::Failed(e.to_string()))?;
                Ok(synthetic::count_matches(&counter, &query)?)
            })
            .collect::<Result<Vec<i64>, BenchError>>()?;
        if let Some(i) = counts.iter().position(|&c| c == 0)
            && kind.drawn_from_messages
        {
            return Err(BenchError::Failed(format!(
                "{:?} was taken from a stored message and finds nothing",
                inputs[i].query
            )));
        }
        let timings = time_each(inputs, args.repeat, |q| {
            runtime
                .block_on(messaging.search_messages(q.clone()))
                .map(|r| r.hits.len())
        })?;
        // (`counts` are of the whole inbox: a search within one thread may rightly find
        // none.)
        let missed = (0..inputs.len())
            .find(|&i| counts[i] > 0 && timings.answers[i] == 0 && inputs[i].contact.is_none());
        if let Some(i) = missed {
            return Err(BenchError::Failed(format!(
                "{:?} matches {} messages but the search returned none",
                inputs[i].query, counts[i]
            )));
        }
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        timings.print(&format!(
            "search_messages {} (matches: median {}, max {})",
            kind.label,
            sorted.get(sorted.len() / 2).copied().unwrap_or(0),
            sorted.last().copied().unwrap_or(0)
        ));
        if let Some((i, median)) = timings.slowest() {
            println!(
                "    slowest query: {:?} ({} matches), median {:.3} ms",
                inputs[i].query,
                counts[i],
                median.as_secs_f64() * 1000.0
            );
        }
    }
    for (label, queries) in contact_kinds(&corpus, args.queries) {
        let timings = time_each(&queries, args.repeat, |q| {
            runtime
                .block_on(messaging.find_contacts(q.clone(), None))
                .map(|c| c.len())
        })?;
        timings.print(&format!("find_contacts {label}"));
        if let Some((i, median)) = timings.slowest() {
            println!(
                "    slowest query: {:?}, median {:.3} ms",
                queries[i].as_deref().unwrap_or("(none)"),
                median.as_secs_f64() * 1000.0
            );
        }
    }
    drop(messaging);
    if let Some(dir) = temp {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(ExitCode::SUCCESS)
}

/// What [`time_each`] measured.
struct Timings {
    /// Every timed call.
    wall: Vec<Duration>,
    /// Each item's median.
    per_item: Vec<Duration>,
    /// CPU time of the whole process over the timed calls, divided by their number.
    cpu_mean: Option<Duration>,
    /// What each item's first call returned (how many results).
    answers: Vec<usize>,
}

impl Timings {
    fn print(&self, label: &str) {
        let mut wall = self.wall.clone();
        if let Some(s) = Summary::of(&mut wall) {
            let cpu = self.cpu_mean.map_or_else(
                || "n/a".to_owned(),
                |d| format!("{:.3} ms", d.as_secs_f64() * 1000.0),
            );
            println!("{label}:\n    {s}; CPU per call (mean) {cpu}");
        }
    }

    /// The item with the largest median, and that median.
    fn slowest(&self) -> Option<(usize, Duration)> {
        self.per_item
            .iter()
            .copied()
            .enumerate()
            .max_by_key(|(_, d)| *d)
    }
}

/// Runs every item once untimed (to warm the caches as a running server's are), then
/// `repeat` timed rounds over them all.
fn time_each<T, E: std::fmt::Display>(
    items: &[T],
    repeat: usize,
    mut call: impl FnMut(&T) -> Result<usize, E>,
) -> Result<Timings, BenchError> {
    let mut per_item: Vec<Vec<Duration>> = vec![Vec::with_capacity(repeat); items.len()];
    let mut answers = Vec::with_capacity(items.len());
    let mut cpu_start = None;
    for round in 0..=repeat {
        if round == 1 {
            cpu_start = process_cpu_time();
        }
        for (i, item) in items.iter().enumerate() {
            let t = Instant::now();
            let answered = call(item).map_err(|e| BenchError::Failed(e.to_string()))?;
            if round > 0 {
                per_item[i].push(t.elapsed());
            } else {
                answers.push(answered);
            }
        }
    }
    let calls = (items.len() * repeat).max(1) as u32;
    let cpu_mean = cpu_start
        .zip(process_cpu_time())
        .map(|(a, b)| b.saturating_sub(a) / calls);
    let wall = per_item.iter().flatten().copied().collect();
    let per_item = per_item
        .into_iter()
        .map(|mut v| {
            v.sort_unstable();
            v.get(v.len() / 2).copied().unwrap_or_default()
        })
        .collect();
    Ok(Timings {
        wall,
        per_item,
        cpu_mean,
        answers,
    })
}

/// Makes sure `db` holds this corpus at this size: reuses it, builds it, or replaces an
/// older build of this bench; refuses any other file.
fn prepare(db: &Path, args: &SearchArgs) -> Result<(), BenchError> {
    let mark = MARK_BASE | CORPUS_VERSION;
    if db.exists() {
        let found = synthetic::bench_database(db)?;
        if found.mark & !0xff != MARK_BASE {
            return Err(BenchError::Failed(format!(
                "{} exists and was not built by `wa-mcp bench search`: choose another --corpus path",
                db.display()
            )));
        }
        if found.mark == mark
            && found.messages == args.rows as i64
            && found.contacts == args.contacts as i64
        {
            println!(
                "reusing {} ({} messages, {} contacts)",
                db.display(),
                found.messages,
                found.contacts
            );
            return Ok(());
        }
        remove_database(db)?;
    }
    let partial = db.with_extension("partial");
    remove_database(&partial)?;
    let started = Instant::now();
    build(&partial, args.rows, args.contacts)?;
    synthetic::mark_bench_database(&partial, mark)?;
    std::fs::rename(&partial, db)?;
    println!(
        "built {} messages and {} contacts in {:.1} s: {}",
        args.rows,
        args.contacts,
        started.elapsed().as_secs_f64(),
        db.display()
    );
    Ok(())
}

/// Removes a database file this bench built, with its WAL and shared-memory files.
fn remove_database(db: &Path) -> Result<(), BenchError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn build(db: &Path, rows: usize, contacts: usize) -> Result<(), BenchError> {
    let corpus = Corpus::new(contacts);
    let step = (YEAR_US / rows.max(1) as i64).max(1);
    let messages = (0..rows).map(|i| {
        let us = BASE_US + i as i64 * step;
        corpus.row(i, &format_micros(us), us / 1_000_000)
    });
    let people: Vec<_> = corpus.contacts().iter().map(|c| c.row.clone()).collect();
    synthetic::fill(db, people, &format_micros(BASE_US), messages)?;
    Ok(())
}

fn print_footprint(f: &SearchFootprint) {
    let mib = |b: i64| b as f64 / (1024.0 * 1024.0);
    println!(
        "search index: {:.1} MiB ({:.1} MiB term index, {:.1} MiB per-row sizes for bm25) for \
         {:.1} MiB of text in {} rows ({:.2} bytes of index per byte of text); messages table \
         and its indexes {:.1} MiB",
        mib(f.index_bytes),
        mib(f.term_index_bytes),
        mib(f.index_bytes - f.term_index_bytes),
        mib(f.text_bytes),
        f.indexed_rows,
        f.index_bytes as f64 / f.text_bytes.max(1) as f64,
        mib(f.messages_bytes)
    );
}

fn meta_client(config: &Config) -> crate::meta::MetaClient {
    crate::meta::MetaClient::new(crate::meta::MetaClientOptions {
        base_url: config.graph_base_url.clone(),
        api_version: config.graph_api_version.clone(),
        token: config.access_token.clone(),
        timeout: Duration::from_secs(30),
        retry: crate::meta::RetryPolicy::default(),
    })
}
