//! The one writer: a thread that owns the read-write connection and commits the jobs
//! sent to it, several at a time.
//!
//! A job that fails is rolled back alone and its neighbours still commit. Callers hear
//! back only after the commit that holds their work (or its failure), so an answer is a
//! durable fact.
//!
//! Isolating a job takes a savepoint, and a savepoint is not free: SQLite copies every
//! page a job changes into the savepoint's journal first, on the webhook path about as
//! much work as the rows themselves. So a batch of jobs that can run twice (webhook
//! deliveries, [`replayable_job`]) runs without savepoints first; if one of them fails,
//! the whole transaction is rolled back and the batch runs again, each job in its own
//! savepoint as any other batch does. Jobs fail rarely, and a failure costs one more run.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::StoreError;
use super::pulse::WriterPulse;
use super::watch::CommitSignal;
use crate::timefmt::{format_micros, now_micros};

/// What a job sees while it runs: the connection, inside the batch transaction, and the
/// clock that hands out `created_at` values.
pub struct WriteCtx<'c> {
    conn: &'c Connection,
    last_us: i64,
    now: String,
    /// Whether this job runs in a savepoint of its own (see the module docs); without
    /// one, a job that fails must leave its failure to the writer, which runs the batch
    /// again with savepoints.
    isolated: bool,
    /// The last transient error a job of this batch hit (a full disk, say), even when
    /// the batch itself commits: the writer's pulse reports it.
    transient: Option<String>,
}

impl WriteCtx<'_> {
    pub fn conn(&self) -> &Connection {
        self.conn
    }

    /// A `created_at` value greater than every one handed out before, by this or any
    /// other process sharing the file: the write lock is held from the read of the
    /// clock to the commit, so commit order equals `created_at` order.
    pub fn next_created_at(&mut self) -> String {
        self.last_us = now_micros().max(self.last_us + 1);
        format_micros(self.last_us)
    }

    /// Runs one statement through the connection's statement cache: the hot path parses
    /// each distinct SQL text once per connection, not once per call.
    pub fn exec(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(params)
    }

    /// [`WriteCtx::exec`] for a query of one row.
    pub fn row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.conn.prepare_cached(sql)?.query_row(params, f)
    }

    /// The batch's wall-clock time, for `updated_at`-style columns.
    pub fn now(&self) -> &str {
        &self.now
    }

    /// Whether the job runs in a savepoint of its own, so that it may roll back part of
    /// its work and go on. When it does not, any error must be returned as it is: the
    /// writer then runs the job again, isolated.
    pub fn isolated(&self) -> bool {
        self.isolated
    }
}

/// A unit of work for the writer, with the means to report its result.
pub(super) trait Job: Send {
    /// Does the work; `false` means it failed and its savepoint is rolled back (or, in a
    /// batch without savepoints, the whole transaction).
    fn run(&mut self, ctx: &mut WriteCtx<'_>) -> bool;
    /// Whether [`Job::run`] may be called again after a run whose transaction was rolled
    /// back, doing the same work.
    fn replayable(&self) -> bool;
    /// Reports the outcome once the batch is committed (`Ok`) or lost (`Err`).
    fn finish(self: Box<Self>, committed: Result<(), String>);
}

/// A job's work: run once (`FnOnce`), or as often as the writer needs (`FnMut`).
enum Work<F, G> {
    Once(Option<F>),
    Replayable(G),
}

struct TypedJob<T, F, G> {
    work: Work<F, G>,
    output: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F, G> Job for TypedJob<T, F, G>
where
    T: Send,
    F: FnOnce(&mut WriteCtx<'_>) -> Result<T, StoreError> + Send,
    G: FnMut(&mut WriteCtx<'_>) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, ctx: &mut WriteCtx<'_>) -> bool {
        let result = match &mut self.work {
            Work::Once(work) => match work.take() {
                Some(work) => catch_unwind(AssertUnwindSafe(|| work(ctx))),
                None => return false,
            },
            Work::Replayable(work) => catch_unwind(AssertUnwindSafe(|| work(ctx))),
        }
        .unwrap_or_else(|_| Err(StoreError::Internal("a write job panicked".into())));
        if let Err(e) = &result
            && e.is_transient()
        {
            ctx.transient = Some(e.to_string());
        }
        let ok = result.is_ok();
        self.output = Some(result);
        ok
    }

    fn replayable(&self) -> bool {
        matches!(self.work, Work::Replayable(_))
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let result = match (committed, self.output) {
            (Ok(()), Some(out)) => out,
            (Ok(()), None) => Err(StoreError::Internal("write job never ran".into())),
            (Err(e), _) => Err(StoreError::CommitFailed(e)),
        };
        // The caller may have gone away (client disconnected); nothing to tell then.
        let _ = self.reply.send(result);
    }
}

/// The type of the work variant a run-once job does not use, and the reverse.
type NeverReplayed<T> = fn(&mut WriteCtx<'_>) -> Result<T, StoreError>;

pub(super) type JobSender = mpsc::Sender<Box<dyn Job>>;

/// Wraps `work` as a job and the receiver its result arrives on.
pub(super) fn job<T, F>(work: F) -> (Box<dyn Job>, oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnOnce(&mut WriteCtx<'_>) -> Result<T, StoreError> + Send + 'static,
{
    let (reply, rx) = oneshot::channel();
    let job: TypedJob<T, F, NeverReplayed<T>> = TypedJob {
        work: Work::Once(Some(work)),
        output: None,
        reply,
    };
    (Box::new(job), rx)
}

/// [`job`] for work that may run more than once: each run after the first follows a
/// rollback of everything the run before it wrote, and must do the same work again
/// (nothing it does outside the transaction may depend on how often it ran). In return
/// it may run without a savepoint; see the module docs.
pub(super) fn replayable_job<T, G>(
    work: G,
) -> (Box<dyn Job>, oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    G: FnMut(&mut WriteCtx<'_>) -> Result<T, StoreError> + Send + 'static,
{
    let (reply, rx) = oneshot::channel();
    let job: TypedJob<T, NeverReplayed<T>, G> = TypedJob {
        work: Work::Replayable(work),
        output: None,
        reply,
    };
    (Box::new(job), rx)
}

/// Runs until every sender is gone: takes the first queued job, everything else queued
/// up to `max_batch`, and commits them together. `on_commit` is bumped after each
/// committed batch, once its callers can see it; `pulse` hears of every batch's start
/// and end, and of the writer stopping.
pub(super) fn run_writer(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
    on_commit: CommitSignal,
    pulse: Arc<WriterPulse>,
) {
    let _stopped = pulse.stop_guard();
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        pulse.batch_started();
        let result = commit_batch(&mut conn, &mut batch).map_err(|e| {
            tracing::error!(error = %e, jobs = batch.len(), "write batch lost");
            e.to_string()
        });
        pulse.batch_ended(&result);
        let committed = result.map(|_| ());
        if committed.is_ok() {
            on_commit.bump();
        }
        for job in batch.drain(..) {
            job.finish(committed.clone());
        }
    }
}

/// Commits `batch`; `Ok(Some(error))` when it committed but a job in it hit a
/// transient error (its own work was rolled back). A batch of replayable jobs is tried
/// without savepoints first (see the module docs).
fn commit_batch(
    conn: &mut Connection,
    batch: &mut [Box<dyn Job>],
) -> Result<Option<String>, StoreError> {
    if batch.iter().all(|job| job.replayable()) {
        if let Some(committed) = commit_unisolated(conn, batch)? {
            return Ok(committed);
        }
        tracing::debug!(
            jobs = batch.len(),
            "write batch runs again, a job in savepoints"
        );
    }
    commit_isolated(conn, batch)
}

/// Runs every job of `batch` with no savepoint and commits; `Ok(None)`, with everything
/// rolled back, when a job failed.
fn commit_unisolated(
    conn: &mut Connection,
    batch: &mut [Box<dyn Job>],
) -> Result<Option<Option<String>>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut ctx = WriteCtx::begin(&tx, false)?;
    for job in batch.iter_mut() {
        if !job.run(&mut ctx) {
            drop(ctx);
            return match tx.rollback() {
                Ok(()) => Ok(None),
                // SQLite may have rolled the transaction back itself (it may after
                // SQLITE_FULL, IOERR, NOMEM or BUSY): nothing is left to undo.
                Err(_) if conn.is_autocommit() => Ok(None),
                Err(e) => Err(e.into()),
            };
        }
    }
    let (last_us, transient) = (ctx.last_us, ctx.transient.take());
    finish_transaction(tx, last_us, transient).map(Some)
}

/// Runs every job of `batch` in a savepoint of its own and commits.
fn commit_isolated(
    conn: &mut Connection,
    batch: &mut [Box<dyn Job>],
) -> Result<Option<String>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut ctx = WriteCtx::begin(&tx, true)?;
    for job in batch.iter_mut() {
        ctx.exec("SAVEPOINT job", [])?;
        if job.run(&mut ctx) {
            ctx.exec("RELEASE job", [])?;
        } else {
            ctx.exec("ROLLBACK TO job", [])?;
            ctx.exec("RELEASE job", [])?;
        }
    }
    let (last_us, transient) = (ctx.last_us, ctx.transient.take());
    finish_transaction(tx, last_us, transient)
}

impl<'c> WriteCtx<'c> {
    /// The context of a new batch transaction: the clock as the last commit left it.
    fn begin(tx: &'c Connection, isolated: bool) -> Result<Self, StoreError> {
        let last_us: i64 =
            tx.query_row("SELECT last_us FROM write_clock WHERE id = 1", [], |r| {
                r.get(0)
            })?;
        Ok(WriteCtx {
            conn: tx,
            last_us,
            now: format_micros(now_micros()),
            isolated,
            transient: None,
        })
    }
}

/// Indexes what the batch wrote, saves the clock and commits.
fn finish_transaction(
    tx: rusqlite::Transaction<'_>,
    last_us: i64,
    transient: Option<String>,
) -> Result<Option<String>, StoreError> {
    super::search::index_pending(&tx, super::search::Contacts::Batched)?;
    tx.execute(
        "UPDATE write_clock SET last_us = ?1 WHERE id = 1",
        [last_us],
    )?;
    tx.commit()?;
    Ok(transient)
}
