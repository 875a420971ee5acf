//! Group commit for SQLite: write transactions that queue up behind each other share one database commit.
//!
//! SQLite has one writer at a time, and on a busy server a commit's cost is mostly the pages it writes to the
//! WAL: every table and index a use case touches is at least one page, rewritten for every commit although
//! the next transaction changes the same pages again. So while other writers are waiting, a finished
//! transaction (a `SAVEPOINT` inside one open outer transaction) is released but not yet committed; the
//! waiting ones run inside the same outer transaction, and the outer one is committed when nobody else is
//! waiting (or the batch is full). Every member learns the outcome of that commit before its own
//! [`Tx::commit`](crate::Tx::commit) returns, so nothing is acknowledged before it is durable, and a member
//! that fails rolls back to its savepoint without touching the others.
//!
//! With no other writer waiting, a transaction commits at once, as it would without batching. PostgreSQL,
//! with many concurrent writers, does not use this.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionOptions, TransactionTrait};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::{Result, StoreError};

/// A batch commits once it holds this many transactions, even if more are waiting.
const MAX_BATCH: usize = 64;

/// How long a writer waits for the write slot before giving up (as long as the pools wait for a connection).
const SLOT_TIMEOUT: Duration = Duration::from_secs(30);

/// The outer transaction of the batch being filled, and the members waiting for its commit.
#[derive(Default)]
struct Batch {
    outer: Option<DatabaseTransaction>,
    members: Vec<oneshot::Sender<Result<(), String>>>,
    /// A task that will commit this batch is queued for the lock.
    flush_queued: bool,
}

/// The single writer of a SQLite store: hands out the write slot in arrival order and batches commits.
pub(crate) struct GroupCommit {
    writer: DatabaseConnection,
    batch: Arc<Mutex<Batch>>,
    /// Writers waiting for the slot right now.
    waiting: Arc<AtomicUsize>,
    usage: Arc<Usage>,
}

/// How much the write slot has been used since start: SQLite's write capacity is the slot's time, so the
/// time a use case holds it is what bounds its throughput.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSlotUse {
    /// Transactions that held the slot.
    pub transactions: u64,
    /// How long the slot was held, by transactions and by the commits of their batches.
    pub held: Duration,
}

#[derive(Default)]
struct Usage {
    transactions: AtomicU64,
    held_nanos: AtomicU64,
}

impl Usage {
    fn add(&self, since: Instant) {
        let nanos = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.held_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// The write slot held by one transaction; released when dropped.
pub(crate) struct Slot {
    guard: OwnedMutexGuard<Batch>,
    batch: Arc<Mutex<Batch>>,
    waiting: Arc<AtomicUsize>,
    released: bool,
    usage: Arc<Usage>,
    taken_at: Instant,
}

/// Counts a writer as waiting for as long as it is (also when its future is dropped while waiting).
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl GroupCommit {
    pub(crate) fn new(writer: DatabaseConnection) -> GroupCommit {
        GroupCommit { writer, batch: Arc::default(), waiting: Arc::default(), usage: Arc::default() }
    }

    /// The slot's use so far.
    pub(crate) fn usage(&self) -> WriteSlotUse {
        WriteSlotUse {
            transactions: self.usage.transactions.load(Ordering::Relaxed),
            held: Duration::from_nanos(self.usage.held_nanos.load(Ordering::Relaxed)),
        }
    }

    /// Waits for the write slot and opens a savepoint in the batch's outer transaction (opening that first
    /// with `BEGIN IMMEDIATE` when no batch is open). Runs as a task of its own, so that a caller that gives
    /// up half-way (a dropped request) cannot leave a half-opened transaction on the connection: the task
    /// finishes, and what it opened is rolled back and released when its result is dropped.
    pub(crate) async fn begin(&self) -> Result<(DatabaseTransaction, Slot)> {
        let (writer, batch, waiting) = (self.writer.clone(), self.batch.clone(), self.waiting.clone());
        tokio::spawn(open(writer, batch, waiting, self.usage.clone())).await.map_err(abandoned)?
    }
}

async fn open(
    writer: DatabaseConnection,
    batch: Arc<Mutex<Batch>>,
    waiting: Arc<AtomicUsize>,
    usage: Arc<Usage>,
) -> Result<(DatabaseTransaction, Slot)> {
    waiting.fetch_add(1, Ordering::SeqCst);
    let counted = Waiting(waiting.clone());
    let mut guard = tokio::time::timeout(SLOT_TIMEOUT, batch.clone().lock_owned())
        .await
        .map_err(|_| StoreError::Database("timed out waiting for the database's write slot".into()))?;
    drop(counted);
    let taken_at = Instant::now();
    if guard.outer.is_none() {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        guard.outer = Some(writer.begin_with_options(options).await?);
    }
    let outer = guard.outer.as_ref().expect("the outer transaction was just opened");
    let savepoint = match outer.begin().await {
        Ok(savepoint) => savepoint,
        Err(error) => {
            // The outer transaction is unusable: end it, failing whoever waits on it.
            finish(&mut guard).await;
            usage.add(taken_at);
            return Err(error.into());
        }
    };
    usage.transactions.fetch_add(1, Ordering::Relaxed);
    Ok((savepoint, Slot { guard, batch, waiting, released: false, usage, taken_at }))
}

fn abandoned(error: tokio::task::JoinError) -> StoreError {
    StoreError::Database(format!("a write was abandoned: {error}"))
}

impl Slot {
    /// Releases a finished transaction's savepoint into the batch and waits until the batch is committed.
    /// The release runs as a task of its own, for the same reason as [`GroupCommit::begin`].
    pub(crate) async fn commit(self, savepoint: DatabaseTransaction) -> Result<()> {
        let outcome = tokio::spawn(self.release(savepoint)).await.map_err(abandoned)??;
        match outcome.await {
            Ok(result) => result.map_err(StoreError::Database),
            Err(_) => Err(StoreError::Database("the batch's commit was abandoned".into())),
        }
    }

    async fn release(mut self, savepoint: DatabaseTransaction) -> Result<oneshot::Receiver<Result<(), String>>> {
        savepoint.commit().await?;
        let (sender, outcome) = oneshot::channel();
        self.guard.members.push(sender);
        if self.guard.members.len() >= MAX_BATCH || self.waiting.load(Ordering::SeqCst) == 0 {
            finish(&mut self.guard).await;
        } else if !self.guard.flush_queued {
            // Whoever is waiting now joins this batch; the flush queues behind them and commits it.
            self.guard.flush_queued = true;
            spawn_flush(self.batch.clone(), self.usage.clone());
        }
        self.released = true;
        Ok(outcome)
    }
}

impl Drop for Slot {
    /// A transaction dropped without commit has rolled back to its savepoint (SeaORM queues that on the
    /// connection before this runs); the outer transaction must still be committed or closed, so a flush
    /// is queued unless one already is.
    fn drop(&mut self) {
        if !self.released && !self.guard.flush_queued {
            self.guard.flush_queued = true;
            spawn_flush(self.batch.clone(), self.usage.clone());
        }
        self.usage.add(self.taken_at);
    }
}

/// Queues a task that takes the slot after everyone now waiting for it and commits the open batch.
fn spawn_flush(batch: Arc<Mutex<Batch>>, usage: Arc<Usage>) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(async move {
                let mut guard = batch.lock_owned().await;
                let taken_at = Instant::now();
                finish(&mut guard).await;
                usage.add(taken_at);
            });
        }
        Err(_) => tracing::error!("a write batch was left open outside a runtime; its members will fail"),
    }
}

/// Commits the open outer transaction, if any, and tells every member how it went.
async fn finish(batch: &mut Batch) {
    batch.flush_queued = false;
    let members = std::mem::take(&mut batch.members);
    let Some(outer) = batch.outer.take() else { return };
    let outcome = outer.commit().await.map_err(|error| {
        tracing::error!(%error, members = members.len(), "committing a write batch failed");
        error.to_string()
    });
    for member in members {
        let _ = member.send(outcome.clone());
    }
}
