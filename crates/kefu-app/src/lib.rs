//! Kefu's use cases: everything a person or a channel can do, each as one transaction.
//!
//! [`App`] holds the store, the clock, the event bus and the attachment store. Its methods are the use cases,
//! grouped by resource in the modules below (`tickets`, `customers`, `agents`, `auth` ...). Each one takes the
//! acting [`kefu_domain::Agent`] (or runs as the system), checks what that agent may do, validates input into
//! domain values, and then, in exactly one transaction: loads, calls a pure `kefu-domain` function, saves,
//! appends ticket events and an outbox row, and commits. After the commit the [`outbox`] relay publishes the
//! notice on the [`bus::EventBus`], which feeds agents' live screens.
//!
//! The HTTP API, the CLI and (later) mail import and channel webhooks all call these same methods, so a rule
//! lives in one place. Methods return domain values; turning them into JSON is `kefu-http`'s job.
//!
//! What this crate is not: it speaks no HTTP and no SQL. Time comes from the [`clock::Clock`] it was given,
//! never from the wall clock directly, so tests can drive it.

pub mod agents;
pub mod attachments;
pub mod auth;
mod auth_cache;
pub mod automation;
pub mod bus;
pub mod clock;
pub mod customers;
mod error;
pub mod fields;
pub mod help;
pub mod idempotency;
pub mod kb;
pub mod mail;
pub mod outbox;
pub mod portal;
pub mod presence;
pub mod rules;
pub mod sanitize;
pub mod search;
pub mod sessions;
pub mod tickets;
pub mod views;

use std::sync::Arc;

use kefu_domain::Agent;
use kefu_store::Store;
use tokio::sync::Notify;

pub use error::{AppError, Entity, Result};
/// The search engine's query and result types, re-exported so callers need not depend on `kefu-search`.
pub use kefu_search::{DocKind, Hit, SearchQuery};
/// Storage values the use cases hand back, re-exported so callers need not depend on `kefu-store`.
pub use kefu_store::{
    AUTOMATION, ApiTokenRecord, ArticleFilter, AttachmentRecord, CalendarRecord, Cursor, CustomerFilter, MacroRecord,
    NotificationRecord, Page, RevisionRecord, RuleRecord, SearchStats, SlaPolicyRecord, TRIGGER, TicketBrief,
    TicketSort, ViewRecord,
};

/// Limits and settings the use cases need.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The largest attachment accepted, in bytes.
    pub max_attachment_bytes: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig { max_attachment_bytes: 25 * 1024 * 1024 }
    }
}

/// The application: every use case hangs off it. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Store,
    clock: Arc<dyn clock::Clock>,
    bus: Arc<dyn bus::EventBus>,
    files: Arc<dyn object_store::ObjectStore>,
    config: AppConfig,
    outbox_ready: Arc<Notify>,
    rules: Arc<rules::RuleCache>,
    webhooks_ready: Arc<Notify>,
    search: Arc<kefu_search::SearchIndex>,
    index_ready: Arc<Notify>,
    /// Serializes index writers (a rebuild and the change follower must not commit each other's halves) and
    /// holds what the follower applied past the index's committed position.
    index_lock: Arc<tokio::sync::Mutex<search::Applied>>,
    /// Who recent tokens and sessions belong to, for a second or two ([`auth_cache`]).
    auth_cache: Arc<auth_cache::AuthCache>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("store", &self.store).field("config", &self.config).finish_non_exhaustive()
    }
}

impl App {
    /// Assembles the application from its parts.
    pub fn new(
        store: Store,
        clock: Arc<dyn clock::Clock>,
        bus: Arc<dyn bus::EventBus>,
        files: Arc<dyn object_store::ObjectStore>,
        config: AppConfig,
    ) -> App {
        App {
            store,
            clock,
            bus,
            files,
            config,
            outbox_ready: Arc::new(Notify::new()),
            rules: Arc::default(),
            webhooks_ready: Arc::new(Notify::new()),
            search: Arc::new(kefu_search::SearchIndex::in_memory().expect("an in-memory index always opens")),
            index_ready: Arc::new(Notify::new()),
            index_lock: Arc::default(),
            auth_cache: Arc::default(),
        }
    }

    /// Uses this search index (on disk) instead of the in-memory one `new` starts with.
    pub fn with_search_index(mut self, index: Arc<kefu_search::SearchIndex>) -> App {
        self.search = index;
        self
    }

    /// The store, for health checks and metrics.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The event bus live screens subscribe to.
    pub fn bus(&self) -> &Arc<dyn bus::EventBus> {
        &self.bus
    }

    /// The configuration.
    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    /// The time now, from the app's clock (a manual one in tests).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Wakes the outbox relay after a commit that wrote notices.
    fn outbox_written(&self) {
        self.outbox_ready.notify_one();
        self.index_ready.notify_one();
    }
}

/// Refuses the call unless `allowed`.
fn require(allowed: bool, what: &'static str) -> Result<()> {
    if allowed { Ok(()) } else { Err(AppError::Forbidden(what)) }
}

/// Refuses a deactivated agent (their session or token may outlive the deactivation).
fn require_active(agent: &Agent) -> Result<()> {
    require(agent.active, "agent.inactive")
}
