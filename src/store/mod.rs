//! The one SQLite file: every write goes through the writer thread, every read
//! through a small pool of read-only connections. Nothing outside this module
//! writes SQL.

pub mod backup;
mod checkpoint;
mod contacts;
pub mod context;
pub mod conversations;
pub mod directory;
mod ingest;
pub mod inspect;
pub mod lock;
pub mod media;
pub mod oauth;
mod open;
pub mod outbound;
pub mod owner;
pub mod prune;
mod pulse;
pub mod reactions;
pub mod read;
pub mod recipients;
pub mod reprocess;
pub mod restore;
pub mod retention;
pub mod search;
mod statuses;
pub mod synthetic;
pub mod threads;
pub mod uploads;
mod watch;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;
use tokio::sync::mpsc;

pub use media::SavedMedia;
pub use outbound::{BeginSend, NewOutbound};
pub use pulse::WriterHealth;
pub use read::{EventRow, MessageFilter};
pub use reprocess::ReprocessReport;
pub use statuses::StatusEffect;
pub use writer::WriteCtx;

use crate::model::{DeliveryReport, PreparedDelivery};

/// Everything that can go wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("cannot use the database file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("the database refused WAL mode (journal_mode is {0})")]
    NotWal(String),
    #[error("the write was not committed: {0}")]
    CommitFailed(String),
    #[error("the database writer has stopped")]
    WriterGone,
    /// The writer's queue is full: the caller should shed load (503) rather than wait.
    #[error("the database writer is saturated; try again shortly")]
    Saturated,
    /// A restore holds the database's lock: the file is being replaced.
    #[error("{0} is being restored from a backup; try again once the restore has finished")]
    Restoring(PathBuf),
    /// `events reprocess` on a delivery whose payload the log no longer holds.
    #[error("delivery {event_id} cannot be reprocessed: {reason}")]
    PayloadNotKept { event_id: i64, reason: String },
    #[error("{0}")]
    Internal(String),
}

impl StoreError {
    /// True for a failure that says nothing about the data being written: the disk is
    /// full or failing, memory ran out, another process held the lock past the busy
    /// timeout, or the writer could not commit or is gone. Trying again later may
    /// succeed, so a webhook answers 503 (Meta retries) instead of logging the delivery
    /// `failed`.
    pub fn is_transient(&self) -> bool {
        use rusqlite::ErrorCode;
        match self {
            StoreError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(
                    ErrorCode::DiskFull
                        | ErrorCode::SystemIoFailure
                        | ErrorCode::OutOfMemory
                        | ErrorCode::DatabaseBusy
                        | ErrorCode::DatabaseLocked
                        | ErrorCode::CannotOpen
                )
            ),
            StoreError::Pool(_)
            | StoreError::Io { .. }
            | StoreError::CommitFailed(_)
            | StoreError::WriterGone
            | StoreError::Saturated
            | StoreError::Restoring(_) => true,
            StoreError::Migration(_)
            | StoreError::NotWal(_)
            | StoreError::PayloadNotKept { .. }
            | StoreError::Internal(_) => false,
        }
    }
}

/// How the store is tuned. The defaults suit a laptop or a Raspberry Pi.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most jobs committed in one transaction (1 = one commit per job).
    pub max_batch: usize,
    /// Jobs that may wait for the writer before senders wait too.
    pub queue_capacity: usize,
    /// Read-only connections in the pool.
    pub readers: u32,
    /// How long any connection waits for another process's lock.
    pub busy_timeout: Duration,
    /// Checkpoint the WAL from a connection of its own instead of inside commits.
    pub background_checkpoints: bool,
    /// Index messages older than the search index in the background (see
    /// [`search::backfill_batch`]); tests turn it off to drive batches themselves.
    pub search_backfill: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_batch: 256,
            queue_capacity: 4096,
            readers: 4,
            busy_timeout: Duration::from_secs(30),
            background_checkpoints: true,
            search_backfill: true,
        }
    }
}

/// A handle on the database; clones share the writer and the pool.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    jobs: Option<writer::JobSender>,
    pool: Option<r2d2::Pool<SqliteConnectionManager>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Dropping it stops the checkpointer.
    checkpointer: Option<std::sync::mpsc::Sender<()>>,
    /// What the writer last did (see [`pulse`]).
    pulse: Arc<pulse::WriterPulse>,
    /// Dropping it stops the writer's heartbeat.
    heartbeat: Option<std::sync::mpsc::Sender<()>>,
    /// Moves after every commit this process makes or sees (see [`watch`]).
    commits: watch::CommitSignal,
    /// The cross-process commit watcher, started by the first subscriber.
    commit_watcher: Mutex<Option<watch::Watcher>>,
    /// Held while this store has the file open, so `restore` refuses to replace it;
    /// declared last so it is released only after every connection has closed.
    _lock: lock::DatabaseLock,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Readers close first so the writer's connection is the last one and
        // checkpoints the WAL into the main file; closing the queue then lets the
        // writer finish what it holds and stop.
        self.pool.take();
        if let Some(watcher) = self.commit_watcher.lock().ok().and_then(|mut w| w.take()) {
            watcher.stop();
        }
        self.checkpointer.take();
        self.heartbeat.take();
        self.jobs.take();
        let handle = self.writer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

/// Indexes messages that a tool other than the writer inserted without indexing them
/// (the writer indexes its own before each commit): a store that opens finds every
/// message searchable. (New contacts may wait for a batch: `find_contacts` reads them
/// where they wait.) Takes the write lock only when there is something to index.
fn index_leftover_rows(conn: &mut rusqlite::Connection) -> Result<(), StoreError> {
    if search::due(conn)? {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        search::index_pending(&tx, search::Contacts::Batched)?;
        tx.commit()?;
    }
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path` with default options.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, StoreOptions::default())
    }

    /// Opens the database: folder and file modes, WAL, migrations, the writer thread
    /// and the reader pool.
    pub fn open_with(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        open::prepare_file(path)?;
        let held = lock::DatabaseLock::shared(path, options.busy_timeout)?;
        let mut conn = open::open_writer(path, options.busy_timeout)?;
        let applied = open::migrate(&mut conn)?;
        index_leftover_rows(&mut conn)?;
        let checkpointer = options
            .background_checkpoints
            .then(|| checkpoint::start(path, &conn))
            .flatten();
        if !applied.is_empty() {
            tracing::info!(path = %path.display(), ?applied, "migrations_applied");
        }
        let (jobs, rx) = mpsc::channel(options.queue_capacity.max(1));
        let max_batch = options.max_batch.max(1);
        let commits = watch::CommitSignal::new();
        let on_commit = commits.clone();
        let pulse = Arc::new(pulse::WriterPulse::new());
        let writer_pulse = Arc::clone(&pulse);
        let handle = std::thread::Builder::new()
            .name("wa-mcp-writer".into())
            .spawn(move || writer::run_writer(conn, rx, max_batch, on_commit, writer_pulse))
            .map_err(|source| StoreError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        // A weak handle: the heartbeat never keeps the writer's queue open.
        let weak_jobs = jobs.downgrade();
        let heartbeat = pulse::start_heartbeat(Arc::clone(&pulse), move || {
            let Some(jobs) = weak_jobs.upgrade() else {
                return false;
            };
            // Its answer is not awaited: the pulse records how the batch ended.
            let (job, _answer) = writer::job(|_ctx| Ok(()));
            let _ = jobs.try_send(job);
            true
        });
        let busy = options.busy_timeout;
        let manager = SqliteConnectionManager::file(path)
            .with_flags(
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .with_init(move |c| open::init_reader(c, busy));
        let pool = r2d2::Pool::builder()
            .max_size(options.readers.max(1))
            .min_idle(Some(1))
            .build(manager)?;
        let store = Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                jobs: Some(jobs),
                pool: Some(pool),
                writer: Mutex::new(Some(handle)),
                checkpointer,
                heartbeat,
                pulse,
                commits,
                commit_watcher: Mutex::new(None),
                _lock: held,
            }),
        };
        if options.search_backfill {
            search::spawn_backfill(&store)?;
        }
        Ok(store)
    }

    /// Applies pending migrations to the file at `path` without starting a store.
    pub fn migrate_file(path: &Path) -> Result<Vec<String>, StoreError> {
        open::prepare_file(path)?;
        let busy = StoreOptions::default().busy_timeout;
        let _held = lock::DatabaseLock::shared(path, busy)?;
        let mut conn = open::open_writer(path, busy)?;
        open::migrate(&mut conn)
    }

    /// The newest schema version this binary knows.
    pub fn schema_version() -> i32 {
        open::latest_version()
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `work` in the writer's next transaction and returns its result once that
    /// transaction is committed.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (job, rx) = writer::job(work);
        let jobs = self.inner.jobs.as_ref().ok_or(StoreError::WriterGone)?;
        jobs.send(job).await.map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// [`Store::write`] for callers outside an async runtime (the CLI, tests).
    pub fn write_blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.run_blocking(writer::job(work))
    }

    /// Queues `job`, waiting for room, and waits for its result.
    fn run_blocking<T>(
        &self,
        (job, rx): (
            Box<dyn writer::Job>,
            tokio::sync::oneshot::Receiver<Result<T, StoreError>>,
        ),
    ) -> Result<T, StoreError> {
        let jobs = self.inner.jobs.as_ref().ok_or(StoreError::WriterGone)?;
        jobs.blocking_send(job)
            .map_err(|_| StoreError::WriterGone)?;
        rx.blocking_recv().map_err(|_| StoreError::WriterGone)?
    }

    /// Runs `query` on a pooled read-only connection, off the async runtime.
    pub async fn read<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(query))
            .await
            .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?
    }

    /// [`Store::read`] on the calling thread.
    pub fn read_blocking<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError>,
    {
        let pool = self.inner.pool.as_ref().ok_or(StoreError::WriterGone)?;
        let conn = pool.get()?;
        query(&conn)
    }

    /// Durably stores one verified webhook delivery: its log row, idempotency claims,
    /// contacts, messages and statuses, together or not at all, in a group commit.
    /// When the writer's queue is full it refuses at once with [`StoreError::Saturated`]
    /// instead of queueing more: memory stays bounded and Meta retries later.
    pub async fn commit_delivery(
        &self,
        delivery: PreparedDelivery,
    ) -> Result<DeliveryReport, StoreError> {
        let (job, rx) = writer::replayable_job(move |ctx| ingest::write_delivery(ctx, &delivery));
        let jobs = self.inner.jobs.as_ref().ok_or(StoreError::WriterGone)?;
        jobs.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::Saturated,
            mpsc::error::TrySendError::Closed(_) => StoreError::WriterGone,
        })?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// [`Store::commit_delivery`] outside an async runtime (waiting for room in the
    /// writer's queue instead of refusing).
    pub fn commit_delivery_blocking(
        &self,
        delivery: PreparedDelivery,
    ) -> Result<DeliveryReport, StoreError> {
        self.run_blocking(writer::replayable_job(move |ctx| {
            ingest::write_delivery(ctx, &delivery)
        }))
    }

    /// True when the database answers a query.
    pub async fn is_healthy(&self) -> bool {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .is_ok()
    }
}

impl Store {
    /// A receiver whose value changes after every commit to the file: this process's
    /// at once, another process's within 200 ms (one poll of the watcher). A change means
    /// "look again", not that anything of interest was written. The first call starts
    /// the one cross-process watcher this store has (it wakes every subscriber once when
    /// it has its starting point, so nothing committed meanwhile goes unseen); it stops
    /// when the store is dropped.
    pub fn subscribe_commits(&self) -> tokio::sync::watch::Receiver<u64> {
        let rx = self.inner.commits.subscribe();
        if let Ok(mut watcher) = self.inner.commit_watcher.lock()
            && watcher.is_none()
        {
            match watch::spawn_watcher(&self.inner.path, self.inner.commits.clone()) {
                Ok(started) => *watcher = Some(started),
                Err(e) => {
                    tracing::warn!(error = %e, "commit_watcher_unavailable: commits by other processes are not seen");
                }
            }
        }
        rx
    }
}
