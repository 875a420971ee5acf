//! Search: the index each node keeps, fed from the outbox (the change table every use case writes in its
//! transaction), and the searches agents and the public run against it.
//!
//! The indexer reads notices after its position (stored in the index's own commit, so it resumes after a
//! crash), loads the current state of each ticket, customer or article they name, and replaces its document.
//! On PostgreSQL it advances its position only past notices older than a few seconds, since a transaction
//! may commit a lower outbox id after a higher one was read; the window is read again on each pass, and only
//! the rows this process has not applied yet are indexed (`Applied`), so a busy server indexes each change
//! once. Passes gather the changes of a short while, one index commit per batch; after half a minute without
//! changes the indexer lets the index writer go, and the next change makes a new one. A new or stale index (the outbox is pruned after a day) is rebuilt
//! from the database, which stays the source of truth; `kefu reindex` does the same on demand.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use kefu_domain::{Agent, CustomerId, IdentityKind, TicketId};
use kefu_search::{Audience, CustomerDoc, DocKind, SearchIndex, SearchQuery, SearchResults, TicketDoc};
use kefu_store::TicketBrief;
use tokio_util::sync::CancellationToken;

use crate::bus::Notice;
use crate::{App, AppError, Result, require_active};

/// Opens (or creates) the search index kept in `dir`; fails clearly if another process holds it.
pub fn open_index(dir: &std::path::Path) -> Result<Arc<SearchIndex>> {
    SearchIndex::open(dir).map(Arc::new).map_err(search_error)
}

/// An agent's search results, with the current state of the tickets found.
#[derive(Debug, Clone)]
pub struct AgentResults {
    /// The hits, best first (tickets the agent may not open are never among them).
    pub hits: Vec<kefu_search::Hit>,
    /// How many documents match in all.
    pub total: usize,
    /// The current state of the tickets among the hits, as stored now.
    pub tickets: std::collections::BTreeMap<TicketId, TicketBrief>,
    /// The article translations among the hits, by translation id.
    pub translations: std::collections::BTreeMap<i64, kefu_domain::kb::Translation>,
}

/// On PostgreSQL, notices younger than this are read again on the next pass before the position moves past
/// them (a transaction may commit a lower outbox id after a higher one was read). SQLite has one writer, so
/// its outbox ids become visible in order and the position moves at once.
const SETTLE: Duration = Duration::seconds(5);
/// Notices per index commit at most.
const BATCH: u64 = 2000;
/// After a wake-up, the indexer waits this long for more changes, so that a busy server makes one index
/// commit (one new segment, its files written and later merged) per second of writes rather than per write:
/// a change is searchable about a second after it is made.
const GATHER: StdDuration = StdDuration::from_secs(1);
/// After this long without index writes the indexer lets the index writer go (its threads and buffers);
/// the next change makes a new one, which takes a few milliseconds.
const WRITER_QUIET: StdDuration = StdDuration::from_secs(30);

/// The outbox rows past the index's committed position that this process has already applied (read in
/// the unsettled window): re-reading the window applies only the rows that were not there before.
#[derive(Debug, Default)]
pub(crate) struct Applied(BTreeSet<i64>);

fn search_error(error: kefu_search::SearchError) -> AppError {
    AppError::Internal(error.to_string())
}

/// Runs blocking index work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|error| AppError::Internal(error.to_string()))?
}

impl App {
    /// The search index of this node.
    pub fn search_index(&self) -> &Arc<SearchIndex> {
        &self.search
    }

    /// Builds the index documents of some tickets from the database, and with `with_requesters` those of
    /// their requesters too (a rebuild leaves them to its pass over every customer).
    async fn index_tickets(&self, ids: &[TicketId], with_requesters: bool) -> Result<()> {
        let repo = self.store.repo();
        let tickets = repo.tickets_by_ids(ids).await?;
        let mut texts = repo.message_texts(ids).await?;
        let requester_ids: Vec<CustomerId> =
            tickets.iter().map(|ticket| ticket.requester_id).collect::<BTreeSet<_>>().into_iter().collect();
        let customers = repo.customers_by_ids(&requester_ids).await?;
        let mut documents = Vec::with_capacity(tickets.len());
        for ticket in tickets {
            let requester = customers.iter().find(|customer| customer.id == ticket.requester_id);
            documents.push(TicketDoc {
                id: ticket.id.0,
                number: ticket.number.0,
                subject: ticket.subject.clone(),
                messages: texts.remove(&ticket.id).unwrap_or_default(),
                requester_name: requester.map(|customer| customer.name.clone()).unwrap_or_default(),
                requester_identities: requester
                    .map(|customer| customer.identities.iter().map(|(_, identity)| identity.value.clone()).collect())
                    .unwrap_or_default(),
                status: ticket.status.as_str().to_owned(),
                group_id: ticket.group_id.map(|id| id.0),
                assignee_id: ticket.assignee_id.map(|id| id.0),
                requester_id: ticket.requester_id.0,
                tags: ticket.tags.iter().map(|tag| tag.as_str().to_owned()).collect(),
                created_at: ticket.created_at,
                updated_at: ticket.updated_at,
            });
        }
        let customer_documents = if with_requesters { self.customer_documents(&customers).await? } else { Vec::new() };
        let index = self.search.clone();
        blocking(move || {
            for document in &documents {
                index.upsert_ticket(document).map_err(search_error)?;
            }
            for document in &customer_documents {
                index.upsert_customer(document).map_err(search_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn customer_documents(&self, customers: &[kefu_domain::Customer]) -> Result<Vec<CustomerDoc>> {
        let mut documents = Vec::with_capacity(customers.len());
        // Each organization's name is read once per batch, however many of its members are in it.
        let mut organizations: std::collections::BTreeMap<kefu_domain::OrganizationId, Option<String>> =
            Default::default();
        for customer in customers.iter().filter(|customer| customer.merged_into_id.is_none()) {
            let organization = match customer.organization_id {
                Some(id) => match organizations.get(&id) {
                    Some(name) => name.clone(),
                    None => {
                        let name = self.store.repo().organization(id).await?.map(|organization| organization.name);
                        organizations.insert(id, name.clone());
                        name
                    }
                },
                None => None,
            };
            let mut identities: Vec<String> =
                customer.identities.iter().map(|(_, identity)| identity.value.clone()).collect();
            // Email local parts on their own, so `wang.fang` finds `wang.fang@example.cn` by words too.
            identities.extend(
                customer
                    .identities
                    .iter()
                    .filter(|(_, identity)| identity.kind == IdentityKind::Email)
                    .filter_map(|(_, identity)| identity.value.split('@').next().map(str::to_owned)),
            );
            documents.push(CustomerDoc {
                id: customer.id.0,
                name: customer.name.clone(),
                identities,
                organization,
                created_at: customer.created_at,
            });
        }
        Ok(documents)
    }

    async fn index_customers(&self, ids: &[CustomerId]) -> Result<()> {
        let customers = self.store.repo().customers_by_ids(ids).await?;
        let merged: Vec<i64> = customers
            .iter()
            .filter(|customer| customer.merged_into_id.is_some())
            .map(|customer| customer.id.0)
            .collect();
        let documents = self.customer_documents(&customers).await?;
        let index = self.search.clone();
        blocking(move || {
            for id in merged {
                index.delete(DocKind::Customer, id).map_err(search_error)?;
            }
            for document in &documents {
                index.upsert_customer(document).map_err(search_error)?;
            }
            Ok(())
        })
        .await
    }

    /// Rebuilds the whole index from the database; returns how many tickets and customers it holds.
    pub async fn reindex_all(&self) -> Result<(usize, usize)> {
        let mut applied = self.index_lock.lock().await;
        self.rebuild_index(&mut applied).await
    }

    async fn rebuild_index(&self, applied: &mut Applied) -> Result<(usize, usize)> {
        applied.0.clear();
        let (_, high) = self.store.repo().outbox_bounds().await?;
        let index = self.search.clone();
        blocking(move || index.clear().map_err(search_error)).await?;
        let (mut tickets, mut customers) = (0, 0);
        let mut after = 0;
        loop {
            let ids = self.store.repo().ticket_ids_after(after, BATCH).await?;
            let Some(last) = ids.last() else { break };
            after = last.0;
            tickets += ids.len();
            self.index_tickets(&ids, false).await?;
        }
        let mut after = 0;
        loop {
            let ids = self.store.repo().customer_ids_after(after, BATCH).await?;
            let Some(last) = ids.last() else { break };
            after = last.0;
            customers += ids.len();
            self.index_customers(&ids).await?;
        }
        self.reindex_articles().await?;
        let index = self.search.clone();
        blocking(move || index.commit(high).map_err(search_error)).await?;
        tracing::info!(tickets, customers, position = high, "search index rebuilt");
        Ok((tickets, customers))
    }

    /// Starts a rebuild of the index in the background (admins).
    pub fn start_reindex(&self, agent: &Agent) -> Result<()> {
        require_active(agent)?;
        crate::require(agent.role.manages_settings(), "search.reindex_forbidden")?;
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(error) = app.reindex_all().await {
                tracing::error!(%error, "search index rebuild failed");
            }
        });
        Ok(())
    }

    /// Applies the notices written since the index's position, a batch (one index commit) at a time until
    /// none is left; returns how many documents it refreshed.
    pub async fn index_changes(&self) -> Result<usize> {
        let mut refreshed = 0;
        loop {
            let (count, more) = self.index_batch().await?;
            refreshed += count;
            if !more {
                return Ok(refreshed);
            }
        }
    }

    /// Applies up to [`BATCH`] notices not applied yet and commits them; returns how many documents it
    /// refreshed and whether more notices may be waiting.
    async fn index_batch(&self) -> Result<(usize, bool)> {
        let mut applied = self.index_lock.lock().await;
        let position = self.search.position().map_err(search_error)?;
        let (low, _) = self.store.repo().outbox_bounds().await?;
        let Some(position) = position.filter(|position| low == 0 || *position + 1 >= low) else {
            // A new index, or one that fell behind the outbox's retention: rebuild it.
            let (tickets, customers) = self.rebuild_index(&mut applied).await?;
            return Ok((tickets + customers, false));
        };
        // Everything after the position, page by page, until a batch of rows not yet applied is found.
        let mut rows = Vec::new();
        let more = loop {
            let after = rows.last().map_or(position, |row: &kefu_store::OutboxRow| row.id);
            let page = self.store.repo().outbox_after(after, BATCH).await?;
            let full = page.len() as u64 == BATCH;
            rows.extend(page);
            if !full || rows.iter().filter(|row| !applied.0.contains(&row.id)).count() as u64 >= BATCH {
                break full;
            }
        };
        if rows.is_empty() {
            return Ok((0, false));
        }
        let settle = if self.store.backend() == kefu_store::Backend::Sqlite { Duration::zero() } else { SETTLE };
        let settled_before = self.now() - settle;
        let mut tickets = BTreeSet::new();
        let mut customers = BTreeSet::new();
        let mut articles = BTreeSet::new();
        let mut next_position = position;
        let mut settled = true;
        for row in &rows {
            settled &= row.created_at <= settled_before;
            if settled {
                next_position = row.id;
            }
            if !applied.0.insert(row.id) {
                continue;
            }
            match serde_json::from_value::<Notice>(row.payload.clone()) {
                Ok(Notice::Ticket(notice)) => {
                    tickets.insert(TicketId(notice.ticket_id));
                }
                Ok(Notice::Mention(notice)) => {
                    tickets.insert(TicketId(notice.ticket_id));
                }
                Ok(Notice::Customer { customer_id }) => {
                    customers.insert(CustomerId(customer_id));
                }
                Ok(Notice::Article { article_id }) => {
                    articles.insert(article_id);
                }
                Ok(_) | Err(_) => {}
            }
        }
        let refreshed = tickets.len() + customers.len() + articles.len();
        if refreshed == 0 && next_position == position {
            return Ok((0, more));
        }
        let tickets: Vec<TicketId> = tickets.into_iter().collect();
        let customers: Vec<CustomerId> = customers.into_iter().collect();
        let articles: Vec<i64> = articles.into_iter().collect();
        let outcome = async {
            self.index_tickets(&tickets, true).await?;
            self.index_customers(&customers).await?;
            self.index_articles(&articles).await?;
            let index = self.search.clone();
            blocking(move || index.commit(next_position).map_err(search_error)).await
        }
        .await;
        match outcome {
            Ok(()) => {
                applied.0 = applied.0.split_off(&(next_position + 1));
                Ok((refreshed, more))
            }
            Err(error) => {
                // Nothing of this pass counts as applied: the next pass reads it all again.
                applied.0.clear();
                Err(error)
            }
        }
    }

    /// Keeps the index current until `shutdown`: after every commit that wrote notices, and every second.
    pub async fn run_search_indexer(&self, shutdown: CancellationToken) {
        loop {
            if let Err(error) = self.index_changes().await {
                tracing::warn!(%error, "search indexing failed; retrying");
            }
            if self.search.writer_idle_for(WRITER_QUIET) {
                let index = self.search.clone();
                if let Err(error) =
                    blocking(move || index.release_idle_writer(WRITER_QUIET).map_err(search_error)).await
                {
                    tracing::warn!(%error, "letting the idle search index writer go failed");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.index_ready.notified() => {}
                _ = tokio::time::sleep(StdDuration::from_secs(1)) => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(GATHER) => {}
            }
        }
    }

    /// Searches tickets, customers and articles as the agent. The index filters by permission; the tickets found
    /// are then read from the database, which drops any the agent can no longer open (moved to another group
    /// since the index last caught up) and gives their current status.
    pub async fn search(&self, agent: &Agent, mut query: SearchQuery) -> Result<AgentResults> {
        require_active(agent)?;
        query.audience = if agent.role.sees_all_tickets() || !agent.restricted_to_groups {
            Audience::Agent
        } else {
            Audience::RestrictedAgent {
                agent_id: agent.id.0,
                group_ids: agent.group_ids.iter().map(|id| id.0).collect(),
            }
        };
        let index = self.search.clone();
        let results = blocking(move || index.search(&query).map_err(search_error)).await?;
        let ticket_ids: Vec<TicketId> =
            results.hits.iter().filter(|hit| hit.kind == DocKind::Ticket).map(|hit| TicketId(hit.id)).collect();
        let tickets: std::collections::BTreeMap<TicketId, TicketBrief> = self
            .store
            .repo()
            .ticket_briefs_by_ids(&ticket_ids)
            .await?
            .into_iter()
            .filter(|ticket| agent.can_view_parts(ticket.group_id, ticket.assignee_id))
            .map(|ticket| (ticket.id, ticket))
            .collect();
        let found = results.hits.len();
        let hits: Vec<kefu_search::Hit> = results
            .hits
            .into_iter()
            .filter(|hit| hit.kind != DocKind::Ticket || tickets.contains_key(&TicketId(hit.id)))
            .collect();
        let total = results.total - (found - hits.len());
        let translation_ids: Vec<i64> =
            hits.iter().filter(|hit| hit.kind == DocKind::Article).map(|hit| hit.id).collect();
        let translations = self
            .store
            .repo()
            .kb_translations_by_ids(&translation_ids)
            .await?
            .into_iter()
            .map(|translation| (translation.id, translation))
            .collect();
        Ok(AgentResults { hits, total, tickets, translations })
    }

    /// Searches published public articles, as a customer or visitor.
    pub async fn search_public(&self, mut query: SearchQuery) -> Result<SearchResults> {
        query.audience = Audience::Public;
        let index = self.search.clone();
        blocking(move || index.search(&query).map_err(search_error)).await
    }
}
