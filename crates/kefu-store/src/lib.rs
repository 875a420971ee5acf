//! Kefu's storage: every table, every query, on SQLite and PostgreSQL, through SeaORM.
//!
//! [`Store`] owns the connection pools; [`Store::repo`] reads outside a transaction and [`Store::begin`] opens
//! a write transaction ([`Tx`]) whose [`Tx::repo`] sees its own writes. Both hand out the same [`Repo`], whose
//! methods are grouped by table in the `repo` modules and return `kefu-domain` values, never SeaORM models.
//!
//! ```no_run
//! # async fn example() -> Result<(), kefu_store::StoreError> {
//! let store = kefu_store::Store::connect("sqlite://data/kefu.db?mode=rwc").await?;
//! store.migrate().await?;
//! let tx = store.begin().await?;
//! let open = tx.repo().ticket_by_number(kefu_domain::TicketNumber(1)).await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```
//!
//! On SQLite, writes go through a single-connection writer pool (one writer at a time is all SQLite allows;
//! queueing is cheaper than busy-waiting on the file lock), and transactions that queue up share one commit
//! (`group_commit`), while reads use a pool of readers in WAL mode. On PostgreSQL both are one pool. The same migrations ([`migration::Migrator`]) run on both.
//!
//! What this crate is not: it holds no business rules (those are `kefu-domain`) and decides nothing about
//! when to write (that is `kefu-app`). `sea_orm::DbErr` never leaves it: every error is a [`StoreError`].

use std::sync::Arc;
use std::time::Duration;

use group_commit::GroupCommit;
pub use group_commit::WriteSlotUse;
use write_behind::WriteBehind;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqlErr,
    TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

mod entities;
mod group_commit;
pub mod migration;
mod repo;
#[cfg(feature = "testing")]
pub mod testing;
mod write_behind;

pub use repo::HelpEntry;
pub use repo::{
    AUTOMATION, CalendarRecord, MacroRecord, NotificationRecord, RuleRecord, SlaPolicyRecord, TRIGGER, TicketSlaRecord,
    ViewRecord, WebhookDelivery,
};
pub use repo::{
    AgentRecord, ApiTokenRecord, AttachmentRecord, Cursor, CustomerBrief, CustomerFilter, EventPage, IdempotencyRecord,
    NewAttachment, NewCustomer, OutboxRow, Page, TicketFilter, TicketSort, Visibility,
};
pub use repo::{ArticleFilter, RevisionRecord, SearchStats, TicketBrief, TranslationText};
pub use repo::{
    InboundFilter, InboundMailRecord, MailMessageRecord, MailServerSettings, MailboxRecord, OutboundMailRecord,
};

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique constraint refused the write (an email, a name, an identity already taken).
    #[error("already exists: {0}")]
    Conflict(String),
    /// A row refers to another that does not exist.
    #[error("refers to a record that does not exist: {0}")]
    MissingReference(String),
    /// A stored value could not be read back into a domain value (a corrupted or hand-edited row).
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        /// The table holding the row.
        table: &'static str,
        /// What could not be read.
        message: String,
    },
    /// The configuration asks for something the backend cannot do.
    #[error("{0}")]
    Unsupported(String),
    /// The database failed or is unreachable.
    #[error("database error: {0}")]
    Database(String),
}

impl From<DbErr> for StoreError {
    fn from(error: DbErr) -> Self {
        match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => StoreError::Conflict(detail),
            Some(SqlErr::ForeignKeyConstraintViolation(detail)) => StoreError::MissingReference(detail),
            _ => StoreError::Database(error.to_string()),
        }
    }
}

/// Shorthand for storage results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database engine the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file in WAL mode.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Connection pool figures for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
}

/// The database: a writer pool and a reader pool (the same pool on PostgreSQL).
#[derive(Clone)]
pub struct Store {
    writer: DatabaseConnection,
    reader: DatabaseConnection,
    backend: Backend,
    /// SQLite's single writer, batching commits ([`group_commit`]); `None` on PostgreSQL.
    group_commit: Option<Arc<GroupCommit>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish()
    }
}

/// How long a SQLite connection beyond the first may stay unused in its pool before it is closed.
const READER_IDLE: Duration = Duration::from_secs(30);

fn sqlite_options(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .pragma("temp_store", "memory")
        .pragma("cache_size", "-65536")
}

impl Store {
    /// Connects to `url`: `sqlite://path/to/kefu.db` (created if missing) or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(url, 16).await
    }

    /// Connects with at most `max_connections` pooled connections (readers, on SQLite).
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Store> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Unsupported(format!(
                "unsupported database URL {:?}: use sqlite://... or postgres://...",
                redact(url)
            )));
        };
        let options = |max: u32| {
            let mut options = ConnectOptions::new(url.to_owned());
            options
                .max_connections(max)
                .min_connections(1)
                .connect_timeout(Duration::from_secs(10))
                .acquire_timeout(Duration::from_secs(30))
                // Every statement is logged only when the log filter asks for it (`KEFU_LOG=info,sqlx=info`):
                // building the log line costs each statement time otherwise.
                .sqlx_logging(tracing::enabled!(target: "sqlx::query", tracing::Level::INFO))
                .map_sqlx_sqlite_opts(sqlite_options);
            if backend == Backend::Sqlite {
                // A SQLite connection is a file handle in this process: it does not go stale the way a network
                // connection does, and the ping sqlx sends on every acquire is one more round trip to its
                // worker thread per query.
                options.test_before_acquire(false);
                // An idle server goes back to one reader: each keeps its own page cache (up to 64 MiB) and
                // worker thread, and opening one again takes about a millisecond.
                options.idle_timeout(READER_IDLE);
            }
            options
        };
        match backend {
            Backend::Sqlite => {
                let writer = Database::connect(options(1)).await?;
                let reader = Database::connect(options(max_connections.max(2))).await?;
                let group_commit = Some(Arc::new(GroupCommit::new(writer.clone())));
                Ok(Store { writer, reader, backend, group_commit })
            }
            Backend::Postgres => {
                let pool = Database::connect(options(max_connections)).await?;
                Ok(Store { writer: pool.clone(), reader: pool, backend, group_commit: None })
            }
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<()> {
        migration::Migrator::up(&self.writer, None).await?;
        Ok(())
    }

    /// The number of migrations not yet applied.
    pub async fn pending_migrations(&self) -> Result<usize> {
        Ok(migration::Migrator::get_pending_migrations(&self.writer).await?.len())
    }

    /// Reads outside a transaction.
    pub fn repo(&self) -> Repo<'_, DatabaseConnection> {
        Repo { conn: &self.reader, backend: self.backend, write_behind: None }
    }

    /// Starts a write transaction. On SQLite it is a savepoint in a batch of transactions that share one
    /// commit (`BEGIN IMMEDIATE`, so it never has to upgrade a read lock): see [`group_commit`].
    pub async fn begin(&self) -> Result<Tx> {
        match &self.group_commit {
            Some(group_commit) => {
                let (inner, slot) = group_commit.begin().await?;
                Ok(Tx { inner, backend: self.backend, write_behind: Some(WriteBehind::default()), slot: Some(slot) })
            }
            None => Ok(Tx { inner: self.writer.begin().await?, backend: self.backend, write_behind: None, slot: None }),
        }
    }

    /// How much SQLite's write slot has been used since start; `None` on PostgreSQL, which has no such slot.
    pub fn write_slot_use(&self) -> Option<WriteSlotUse> {
        self.group_commit.as_ref().map(|group_commit| group_commit.usage())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        self.reader.ping().await?;
        if self.backend == Backend::Sqlite {
            self.writer.ping().await?;
        }
        Ok(())
    }

    /// Current pool figures (of the reader pool on SQLite).
    pub fn pool_stats(&self) -> PoolStats {
        match self.backend {
            Backend::Sqlite => {
                let pool = self.reader.get_sqlite_connection_pool();
                PoolStats { size: pool.size(), idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX) }
            }
            Backend::Postgres => {
                let pool = self.reader.get_postgres_connection_pool();
                PoolStats { size: pool.size(), idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX) }
            }
        }
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        let _ = self.reader.close_by_ref().await;
        if self.backend == Backend::Sqlite {
            let _ = self.writer.close_by_ref().await;
        }
    }
}

/// Hides the password of a database URL for logs and errors.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// A write transaction. Dropping it without [`Tx::commit`] rolls it back.
pub struct Tx {
    // Dropped first: rolls back (to the savepoint on SQLite) before the slot is released.
    inner: DatabaseTransaction,
    backend: Backend,
    /// Writes queued until the commit (SQLite): see [`write_behind`].
    write_behind: Option<WriteBehind>,
    slot: Option<group_commit::Slot>,
}

impl Tx {
    /// Reads and writes inside the transaction.
    pub fn repo(&self) -> Repo<'_, DatabaseTransaction> {
        Repo { conn: &self.inner, backend: self.backend, write_behind: self.write_behind.as_ref() }
    }

    /// Commits: returns once the writes are committed (on SQLite, with the batch they joined, after the
    /// writes queued behind). If a queued write fails, the transaction rolls back whole.
    pub async fn commit(self) -> Result<()> {
        if let Some(write_behind) = &self.write_behind {
            write_behind.flush(&self.inner).await?;
        }
        match self.slot {
            Some(slot) => slot.commit(self.inner).await,
            None => Ok(self.inner.commit().await?),
        }
    }
}

/// The connections a [`Repo`] runs on: a pool or a transaction. Sealed; lets callers write code generic over
/// both without naming SeaORM.
pub trait StoreConnection: ConnectionTrait + sealed::Sealed {}
impl StoreConnection for DatabaseConnection {}
impl StoreConnection for DatabaseTransaction {}
mod sealed {
    pub trait Sealed {}
    impl Sealed for sea_orm::DatabaseConnection {}
    impl Sealed for sea_orm::DatabaseTransaction {}
}

/// Every query, on a pool ([`Store::repo`]) or inside a transaction ([`Tx::repo`]).
pub struct Repo<'c, C> {
    conn: &'c C,
    backend: Backend,
    /// Inside a SQLite transaction: where writes nobody reads back wait for the commit.
    write_behind: Option<&'c WriteBehind>,
}

impl<C: ConnectionTrait> Repo<'_, C> {
    fn db_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Runs a write whose result nobody reads: inside a SQLite transaction it waits for the commit with the
    /// others ([`write_behind`]), elsewhere it runs now. Only for the tables that [`write_behind`] names.
    async fn write_behind(&self, statement: impl sea_orm::QueryTrait) -> Result<()> {
        let statement = statement.build(self.db_backend());
        match self.write_behind {
            Some(write_behind) => write_behind.push(statement),
            None => {
                self.conn.execute_raw(statement).await?;
            }
        }
        Ok(())
    }

    /// Runs the writes queued behind now: called before reading (or writing in place) a table written behind.
    async fn flush_written_behind(&self) -> Result<()> {
        match self.write_behind {
            Some(write_behind) => write_behind.flush(self.conn).await,
            None => Ok(()),
        }
    }
}
