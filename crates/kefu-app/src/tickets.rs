//! Ticket use cases: open, read, list, update, reply or note, merge, split, follow and link.

use std::collections::BTreeMap;

use kefu_domain::{
    Actor, Agent, AgentId, AttachmentId, AuthorKind, CategoryId, Channel, CustomerId, EventKind, GroupId, Identity,
    LinkKind, Message, MessageDraft, MessageId, NewTicket, Priority, Status, Tag, Ticket, TicketEvent,
    TicketEventDraft, TicketId, TicketLink, TicketUpdate,
};
use kefu_store::StoreConnection as Conn;
use kefu_store::{AttachmentRecord, Cursor, Page, Repo, TicketFilter, TicketSort, Tx, Visibility};
use serde_json::{Value, json};

use crate::automation::{Change, CreationPlan, Requester as RequesterFacts, triggers_read_loads};
use crate::bus::{MentionNotice, Notice, TicketChange, TicketNotice};
use crate::sanitize::clean_html;
use crate::{App, AppError, Entity, Result, require, require_active};
use kefu_domain::triggers::TriggerEvent;

/// Who asked for a ticket: an existing customer, or someone known by an identity (found or created).
#[derive(Debug, Clone, PartialEq)]
pub enum Requester {
    /// A customer by id.
    Existing(CustomerId),
    /// Whoever owns this identity; a new customer with this name if nobody does.
    Identity {
        /// The identity (email, phone, external id).
        identity: Identity,
        /// The name for a new customer; derived from the identity when absent.
        name: Option<String>,
    },
}

/// A message to add: public reply or internal note.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewMessage {
    /// Plain text.
    pub body_text: String,
    /// HTML, sanitized before it is stored.
    pub body_html: Option<String>,
    /// Internal note (true) or public reply.
    pub internal: bool,
    /// Uploaded attachments to put on the message.
    pub attachment_ids: Vec<AttachmentId>,
}

/// What it takes to open a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTicket {
    /// One-line summary.
    pub subject: String,
    /// Initial status (default `new`).
    pub status: Option<Status>,
    /// Priority (default `normal`).
    pub priority: Option<Priority>,
    /// Category.
    pub category_id: Option<CategoryId>,
    /// Channel (default `api`).
    pub channel: Option<Channel>,
    /// Requester.
    pub requester: Requester,
    /// Assignee.
    pub assignee_id: Option<AgentId>,
    /// Group.
    pub group_id: Option<GroupId>,
    /// Tags (normalized on the way in).
    pub tags: Vec<String>,
    /// Custom field values.
    pub custom_fields: BTreeMap<String, Value>,
    /// The first message, usually the customer's description.
    pub first_message: Option<NewMessage>,
}

/// Filters of a ticket list as a caller gives them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketQuery {
    /// Any of these statuses.
    pub statuses: Vec<Status>,
    /// `Some(None)`: unassigned.
    pub assignee: Option<Option<AgentId>>,
    /// `Some(None)`: no group.
    pub group: Option<Option<GroupId>>,
    /// A tag.
    pub tag: Option<String>,
    /// One requester.
    pub requester: Option<CustomerId>,
    /// One organization.
    pub organization: Option<kefu_domain::OrganizationId>,
    /// Tickets with an SLA deadline at or before this instant.
    pub sla_due_before: Option<chrono::DateTime<chrono::Utc>>,
}

fn visibility_of(agent: &Agent) -> Visibility {
    if agent.role.sees_all_tickets() || !agent.restricted_to_groups {
        Visibility::All
    } else {
        Visibility::Restricted { agent_id: agent.id, group_ids: agent.group_ids.clone() }
    }
}

/// The store filter for a query as `agent` sees it.
fn ticket_filter(agent: &Agent, query: &TicketQuery) -> Result<TicketFilter> {
    Ok(TicketFilter {
        statuses: query.statuses.clone(),
        assignee: query.assignee,
        group: query.group,
        tag: query.tag.as_deref().map(Tag::parse).transpose()?,
        requester: query.requester,
        organization: query.organization,
        sla_due_before: query.sla_due_before,
        visibility: visibility_of(agent),
    })
}

/// The notice announcing a change to `ticket` (which was `previous` before it) made by `actor`.
pub(crate) fn ticket_notice(
    ticket: &Ticket,
    change: TicketChange,
    previous: Option<&Ticket>,
    actor: &Agent,
    events: &[TicketEvent],
) -> TicketNotice {
    TicketNotice {
        ticket_id: ticket.id.0,
        number: ticket.number.0,
        version: ticket.version,
        change,
        group_id: ticket.group_id.map(|id| id.0),
        assignee_id: ticket.assignee_id.map(|id| id.0),
        previous_group_id: previous.filter(|p| p.group_id != ticket.group_id).and_then(|p| p.group_id.map(|id| id.0)),
        previous_assignee_id: previous
            .filter(|p| p.assignee_id != ticket.assignee_id)
            .and_then(|p| p.assignee_id.map(|id| id.0)),
        actor_agent_id: Some(actor.id.0),
        event_ids: events.iter().map(|event| event.id.0).collect(),
        internal: None,
        at: ticket.updated_at,
    }
}

fn notice(
    ticket: &Ticket,
    change: TicketChange,
    previous: Option<&Ticket>,
    actor: &Agent,
    events: &[TicketEvent],
) -> Notice {
    Notice::Ticket(ticket_notice(ticket, change, previous, actor, events))
}

/// The custom-field rules for a ticket in `category_id`, from the cached rule set.
struct LoadedRules {
    set: std::sync::Arc<crate::rules::RuleSet>,
    category_id: Option<CategoryId>,
}

impl LoadedRules {
    async fn load(app: &App, category_id: Option<CategoryId>) -> Result<LoadedRules> {
        let mut set = app.rule_set().await?;
        if let Some(id) = category_id
            && !set.categories.iter().any(|category| category.id == id)
        {
            // A category made a moment ago on another node: read again before refusing.
            app.invalidate_rules().await;
            set = app.rule_set().await?;
            if !set.categories.iter().any(|category| category.id == id) {
                return Err(AppError::InvalidReference {
                    field: "category_id",
                    message: format!("there is no category {id}"),
                });
            }
        }
        Ok(LoadedRules { set, category_id })
    }

    fn rules(&self) -> kefu_domain::FieldRules<'_> {
        kefu_domain::FieldRules {
            definitions: &self.set.definitions,
            category: self.category_id.and_then(|id| self.set.categories.iter().find(|category| category.id == id)),
        }
    }
}

/// Checks that an assignee and a group exist and fit together: the assignee is an active agent who may
/// work tickets, and a member of the group when there is one.
async fn check_assignment<C: Conn>(
    repo: &Repo<'_, C>,
    assignee_id: Option<AgentId>,
    group_id: Option<GroupId>,
) -> Result<()> {
    if let Some(group_id) = group_id
        && repo.group(group_id).await?.is_none()
    {
        return Err(AppError::InvalidReference { field: "group_id", message: format!("there is no group {group_id}") });
    }
    if let Some(assignee_id) = assignee_id {
        let invalid = |message: String| AppError::InvalidReference { field: "assignee_id", message };
        let record =
            repo.agent(assignee_id).await?.ok_or_else(|| invalid(format!("there is no agent {assignee_id}")))?;
        if !record.agent.active {
            return Err(invalid(format!("agent {assignee_id} is deactivated")));
        }
        if !record.agent.role.edits_tickets() {
            return Err(invalid(format!("agent {assignee_id} is a collaborator and cannot be assigned tickets")));
        }
        if let Some(group_id) = group_id
            && !record.agent.group_ids.contains(&group_id)
        {
            return Err(invalid(format!("agent {assignee_id} is not a member of group {group_id}")));
        }
    }
    Ok(())
}

/// A requester as read before the write transaction: see [`App::look_up_requester`].
pub(crate) enum RequesterLookup {
    /// An existing customer (the one merged into, when merged).
    Known(kefu_store::CustomerBrief),
    /// Nobody has this identity yet: the customer to create with it.
    Unknown {
        /// The identity the customer is known by.
        identity: kefu_domain::Identity,
        /// Name and organization (from the email domain).
        draft: kefu_store::NewCustomer,
    },
}

impl RequesterLookup {
    /// The customer's id, when known.
    fn customer_id(&self) -> Option<CustomerId> {
        match self {
            RequesterLookup::Known(brief) => Some(brief.id),
            RequesterLookup::Unknown { .. } => None,
        }
    }

    /// The tier and organization rules see: the customer's, or those the new customer will have.
    fn facts(&self) -> RequesterFacts {
        match self {
            RequesterLookup::Known(brief) => RequesterFacts::of(brief),
            RequesterLookup::Unknown { draft, .. } => {
                RequesterFacts { tier: draft.tier.clone(), organization_id: draft.organization_id }
            }
        }
    }
}

/// The customer a merged customer now lives on (the customer itself when not merged).
async fn merge_target<C: Conn>(
    repo: &Repo<'_, C>,
    brief: kefu_store::CustomerBrief,
) -> Result<kefu_store::CustomerBrief> {
    match brief.merged_into_id {
        Some(target) => Ok(repo.customer_brief(target).await?.unwrap_or(brief)),
        None => Ok(brief),
    }
}

/// Saves a changed ticket over `previous` if nobody changed it since, or reports the conflict.
pub(crate) async fn save_over(tx: &Tx, ticket: &Ticket, previous: &Ticket) -> Result<()> {
    if tx.repo().save_ticket(ticket, previous).await? {
        Ok(())
    } else {
        Err(AppError::VersionConflict { expected: previous.version, current: previous.version + 1 })
    }
}

/// Reopens a solved or pending ticket because its requester wrote again (any other status stays); returns
/// the ticket as saved and the history of the change, still to be written.
pub(crate) async fn reopen_for_reply(
    tx: &Tx,
    ticket: &Ticket,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Ticket, Vec<TicketEventDraft>)> {
    if ticket.status != Status::Solved && ticket.status != Status::Pending {
        return Ok((ticket.clone(), vec![]));
    }
    let definitions = tx.repo().active_custom_fields().await?;
    let category = match ticket.category_id {
        Some(id) => tx.repo().category(id).await?,
        None => None,
    };
    let rules = kefu_domain::FieldRules { definitions: &definitions, category: category.as_ref() };
    let update = TicketUpdate { status: Some(Status::Open), ..TicketUpdate::default() };
    let (reopened, drafts) = ticket.apply(&update, rules, now)?;
    save_over(tx, &reopened, ticket).await?;
    Ok((reopened, drafts))
}

/// Moves a ticket's version and `updated_at` on because something on it changed (a message, a merge, a split),
/// so screens holding the old version learn they are stale; returns the saved ticket.
pub(crate) async fn touch(tx: &Tx, ticket: &Ticket, now: chrono::DateTime<chrono::Utc>) -> Result<Ticket> {
    let mut touched = ticket.clone();
    touched.version += 1;
    touched.updated_at = now;
    save_over(tx, &touched, ticket).await?;
    Ok(touched)
}

impl App {
    /// Loads a ticket the agent may see; a ticket they may not see is reported as not found, so its
    /// existence does not leak.
    pub(crate) async fn visible_ticket<C: Conn>(
        &self,
        repo: &Repo<'_, C>,
        agent: &Agent,
        id: TicketId,
        lock: bool,
    ) -> Result<Ticket> {
        let ticket = if lock { repo.lock_ticket(id).await? } else { repo.ticket(id).await? };
        match ticket {
            Some(ticket) if agent.can_view(&ticket) => Ok(ticket),
            _ => Err(AppError::NotFound(Entity::Ticket)),
        }
    }

    /// Finds the customer for a requester, creating one for an unknown identity; with the tier and
    /// organization rules look at.
    pub(crate) async fn resolve_requester_brief(
        &self,
        tx: &Tx,
        requester: &Requester,
    ) -> Result<kefu_store::CustomerBrief> {
        // Read in the transaction: a second connection from the pool while this one is held could wait for
        // ever on PostgreSQL when every connection is held this way.
        let lookup = self.look_up_requester(&tx.repo(), requester).await?;
        self.settle_requester(tx, lookup).await
    }

    /// The first half of resolving a requester: the customer if known, else the customer to create. Use
    /// cases that can read it before their write transaction do (on SQLite the one write slot is then held for
    /// writes only); the customer may have been created since, which [`App::settle_requester`] handles.
    pub(crate) async fn look_up_requester<C: Conn>(
        &self,
        repo: &Repo<'_, C>,
        requester: &Requester,
    ) -> Result<RequesterLookup> {
        let found = match requester {
            Requester::Existing(id) => Some(repo.customer_brief(*id).await?.ok_or_else(|| {
                AppError::InvalidReference { field: "requester_id", message: format!("there is no customer {id}") }
            })?),
            Requester::Identity { identity, .. } => repo.customer_brief_by_identity(identity).await?,
        };
        match (found, requester) {
            (Some(brief), _) => Ok(RequesterLookup::Known(merge_target(repo, brief).await?)),
            (None, Requester::Identity { identity, name }) => {
                let name = match name {
                    Some(name) => kefu_domain::Customer::normalize_name(name)?,
                    None => kefu_domain::Customer::default_name(identity),
                };
                let organization_id = match identity.email_domain() {
                    Some(domain) => repo.organization_by_domain(domain).await?,
                    None => None,
                };
                let draft = kefu_store::NewCustomer { name, organization_id, ..Default::default() };
                Ok(RequesterLookup::Unknown { identity: identity.clone(), draft })
            }
            (None, Requester::Existing(id)) => {
                Err(AppError::InvalidReference { field: "requester_id", message: format!("there is no customer {id}") })
            }
        }
    }

    /// The second half, inside the transaction: a known customer as found, an unknown one created, or, when
    /// someone created them since the lookup, read again.
    pub(crate) async fn settle_requester(&self, tx: &Tx, lookup: RequesterLookup) -> Result<kefu_store::CustomerBrief> {
        let (identity, draft) = match lookup {
            RequesterLookup::Known(brief) => return Ok(brief),
            RequesterLookup::Unknown { identity, draft } => (identity, draft),
        };
        if let Some(brief) = tx.repo().insert_customer_claiming(&draft, &identity, self.now()).await? {
            return Ok(brief);
        }
        let brief =
            tx.repo().customer_brief_by_identity(&identity).await?.ok_or(AppError::NotFound(Entity::Customer))?;
        merge_target(&tx.repo(), brief).await
    }

    /// Opens a ticket, with its first message if given. One transaction: the customer (if new), the ticket,
    /// its `created` event, the message and its event, and the outbox notice.
    pub async fn create_ticket(&self, agent: &Agent, command: CreateTicket) -> Result<Ticket> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "ticket.create_forbidden")?;
        let tags = Tag::parse_set(&command.tags)?;
        let mut first_message = match &command.first_message {
            Some(message) => {
                let mut draft = self.message_draft(agent, message)?;
                // A ticket's description is the requester's words, unless the agent writes it as a note (the
                // requester's id is filled in once the customer is settled).
                if !draft.internal {
                    draft.author = AuthorKind::Customer(CustomerId(0));
                }
                Some(draft)
            }
            None => None,
        };
        let now = self.now();
        // What can be read or worked out is, before the write transaction, so the write slot is held for
        // writes only: the requester, the assignment, the rules, and what the creation triggers and the SLA
        // make of the ticket.
        let lookup = self.look_up_requester(&self.store.repo(), &command.requester).await?;
        check_assignment(&self.store.repo(), command.assignee_id, command.group_id).await?;
        let rules = LoadedRules::load(self, command.category_id).await?;
        let mut draft = NewTicket {
            subject: command.subject,
            status: command.status.unwrap_or(Status::New),
            priority: command.priority.unwrap_or(Priority::Normal),
            category_id: command.category_id,
            channel: command.channel.unwrap_or(Channel::Api),
            requester_id: lookup.customer_id().unwrap_or(CustomerId(0)),
            assignee_id: command.assignee_id,
            group_id: command.group_id,
            tags,
            custom_fields: command.custom_fields,
        }
        .validate(rules.rules())?;
        let early_plan = if triggers_read_loads(&rules.set, TriggerEvent::TicketCreated) {
            None
        } else {
            let repo = self.store.repo();
            Some(self.plan_creation(&repo, &rules.set, &draft, now, first_message.as_ref(), lookup.facts()).await?)
        };
        let tx = self.store.begin().await?;
        let requester = self.settle_requester(&tx, lookup).await?;
        draft.requester_id = requester.id;
        if let Some(message) = first_message.as_mut()
            && matches!(message.author, AuthorKind::Customer(_))
        {
            message.author = AuthorKind::Customer(requester.id);
        }
        let facts = RequesterFacts::of(&requester);
        let plan = match early_plan {
            Some(plan) if plan.requester == facts => plan,
            // The customer was created or changed since the lookup, or the triggers read agents' loads.
            _ => self.plan_creation(&tx.repo(), &rules.set, &draft, now, first_message.as_ref(), facts).await?,
        };
        let CreationPlan { ticket: mut stored_draft, planned, .. } = plan;
        stored_draft.requester_id = requester.id;
        let ticket = tx.repo().insert_ticket(&stored_draft, now).await?;
        let mut drafts = vec![draft.created_event()];
        let mut stored_message = None;
        if let Some(message) = first_message {
            let stored = self.insert_message(&tx, ticket.id, &message, Some(agent.id)).await?;
            drafts.push(message_event(&stored));
            stored_message = Some(stored);
        }
        let change = Change {
            event: TriggerEvent::TicketCreated,
            previous: None,
            message: stored_message.as_ref(),
            requester: Some(&requester),
            unwritten: drafts,
            actor: Actor::Agent(agent.id),
            planned: Some(planned),
        };
        let (ticket, events) = self.after_change(&tx, ticket, change).await?;
        self.queue_notice(&tx, &notice(&ticket, TicketChange::Created, None, agent, &events)).await?;
        tx.commit().await?;
        self.outbox_written();
        Ok(ticket)
    }

    /// One ticket.
    pub async fn ticket(&self, agent: &Agent, id: TicketId) -> Result<Ticket> {
        require_active(agent)?;
        self.visible_ticket(&self.store.repo(), agent, id, false).await
    }

    /// One ticket by its human number.
    pub async fn ticket_by_number(&self, agent: &Agent, number: kefu_domain::TicketNumber) -> Result<Ticket> {
        require_active(agent)?;
        match self.store.repo().ticket_by_number(number).await? {
            Some(ticket) if agent.can_view(&ticket) => Ok(ticket),
            _ => Err(AppError::NotFound(Entity::Ticket)),
        }
    }

    /// A page of the tickets the agent may see.
    pub async fn list_tickets(
        &self,
        agent: &Agent,
        query: &TicketQuery,
        sort: TicketSort,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Page<Ticket>> {
        require_active(agent)?;
        let filter = ticket_filter(agent, query)?;
        self.store.repo().list_tickets(&filter, sort, limit, cursor).await.map_err(|error| match error {
            kefu_store::StoreError::Unsupported(message) => {
                AppError::Domain(kefu_domain::DomainError::invalid("cursor", message))
            }
            other => other.into(),
        })
    }

    /// How many tickets the agent may see match the query (the counts beside inbox views).
    pub async fn count_tickets(&self, agent: &Agent, query: &TicketQuery) -> Result<u64> {
        require_active(agent)?;
        Ok(self.store.repo().count_tickets(&ticket_filter(agent, query)?).await?)
    }

    /// Changes a ticket. With `expected_version` (the `If-Match` ETag), refuses with
    /// [`AppError::VersionConflict`] when someone else changed it first.
    pub async fn update_ticket(
        &self,
        agent: &Agent,
        id: TicketId,
        update: TicketUpdate,
        expected_version: Option<i64>,
    ) -> Result<Ticket> {
        require_active(agent)?;
        let tx = self.store.begin().await?;
        let ticket = self.visible_ticket(&tx.repo(), agent, id, true).await?;
        require(agent.role.edits_tickets(), "ticket.edit_forbidden")?;
        if let Some(expected) = expected_version
            && expected != ticket.version
        {
            return Err(AppError::VersionConflict { expected, current: ticket.version });
        }
        let (next, mut events) = self.apply_update(&tx, agent, &ticket, &update).await?;
        if events.is_empty() {
            return Ok(next);
        }
        let change = Change::written(TriggerEvent::TicketUpdated, Some(&ticket), None);
        let (next, rule_events) = self.after_change(&tx, next, change).await?;
        events.extend(rule_events);
        self.queue_notice(&tx, &notice(&next, TicketChange::Updated, Some(&ticket), agent, &events)).await?;
        tx.commit().await?;
        self.outbox_written();
        Ok(next)
    }

    /// Applies an update inside `tx`: references, domain rules, save, events. The caller announces it.
    async fn apply_update(
        &self,
        tx: &Tx,
        agent: &Agent,
        ticket: &Ticket,
        update: &TicketUpdate,
    ) -> Result<(Ticket, Vec<TicketEvent>)> {
        let now = self.now();
        if let Some(requester_id) = update.requester_id
            && tx.repo().customer(requester_id).await?.is_none()
        {
            return Err(AppError::InvalidReference {
                field: "requester_id",
                message: format!("there is no customer {requester_id}"),
            });
        }
        let mut update = update.clone();
        // Moving a ticket to a group its assignee is not in unassigns it, as agents expect.
        if let (Some(Some(group_id)), None, Some(assignee_id)) =
            (update.group_id, update.assignee_id, ticket.assignee_id)
        {
            let member =
                tx.repo().agent(assignee_id).await?.is_some_and(|record| record.agent.group_ids.contains(&group_id));
            if !member {
                update.assignee_id = Some(None);
            }
        }
        let category_id = update.category_id.unwrap_or(ticket.category_id);
        let rules = LoadedRules::load(self, category_id).await?;
        let (next, drafts) = ticket.apply(&update, rules.rules(), now)?;
        if drafts.is_empty() {
            return Ok((next, vec![]));
        }
        if next.assignee_id != ticket.assignee_id || next.group_id != ticket.group_id {
            check_assignment(&tx.repo(), next.assignee_id, next.group_id).await?;
        }
        save_over(tx, &next, ticket).await?;
        let events = tx.repo().append_events(ticket.id, Actor::Agent(agent.id), now, &drafts).await?;
        Ok((next, events))
    }

    fn message_draft(&self, agent: &Agent, message: &NewMessage) -> Result<MessageDraft> {
        let body_html = message.body_html.as_deref().map(clean_html).filter(|html| !html.trim().is_empty());
        Ok(MessageDraft {
            author: AuthorKind::Agent(agent.id),
            internal: message.internal,
            body_text: message.body_text.clone(),
            body_html,
            attachment_ids: message.attachment_ids.clone(),
        }
        .validate(Some(agent.role))?)
    }

    /// Stores a message and claims its attachments, checking that each is an unused upload of `uploader` (the
    /// agent writing or entering it).
    async fn insert_message(
        &self,
        tx: &Tx,
        ticket_id: TicketId,
        draft: &MessageDraft,
        uploader: Option<AgentId>,
    ) -> Result<Message> {
        if !draft.attachment_ids.is_empty() {
            let uploads = tx.repo().attachments(&draft.attachment_ids).await?;
            let usable = uploads.len() == draft.attachment_ids.len()
                && uploads.iter().all(|upload| upload.message_id.is_none() && upload.uploaded_by == uploader);
            if !usable {
                return Err(AppError::InvalidReference {
                    field: "attachment_ids",
                    message: "every attachment must be your own upload, not yet on a message".into(),
                });
            }
        }
        Ok(tx.repo().insert_message(ticket_id, draft, self.now()).await?)
    }

    /// Adds a public reply or an internal note, and optionally changes the ticket in the same change
    /// ("send and set to pending", or a macro's actions).
    pub async fn add_message(
        &self,
        agent: &Agent,
        ticket_id: TicketId,
        message: NewMessage,
        update: TicketUpdate,
    ) -> Result<(Message, Ticket, Vec<AttachmentRecord>)> {
        require_active(agent)?;
        let draft = self.message_draft(agent, &message)?;
        let now = self.now();
        let tx = self.store.begin().await?;
        let ticket = self.visible_ticket(&tx.repo(), agent, ticket_id, true).await?;
        if ticket.status == Status::Closed {
            return Err(kefu_domain::DomainError::TicketClosed.into());
        }
        let (mut next, mut events) = if update.is_empty() {
            (ticket.clone(), vec![])
        } else {
            require(agent.role.edits_tickets(), "ticket.edit_forbidden")?;
            self.apply_update(&tx, agent, &ticket, &update).await?
        };
        let stored = self.insert_message(&tx, ticket.id, &draft, Some(agent.id)).await?;
        next = touch(&tx, &next, now).await?;
        let message_events =
            tx.repo().append_events(ticket.id, Actor::Agent(agent.id), now, &[message_event(&stored)]).await?;
        events.extend(message_events);
        let event = if stored.internal { TriggerEvent::NoteAdded } else { TriggerEvent::AgentReplied };
        let (next, rule_events) =
            self.after_change(&tx, next, Change::written(event, Some(&ticket), Some(&stored))).await?;
        events.extend(rule_events);
        let mut message_notice = ticket_notice(&next, TicketChange::MessageAdded, Some(&ticket), agent, &events);
        message_notice.internal = Some(stored.internal);
        self.queue_notice(&tx, &Notice::Ticket(message_notice)).await?;
        if stored.internal {
            let mentioned = self.mentioned_agents(&tx, &next, agent, &stored.body_text).await?;
            if !mentioned.is_empty() {
                let mention = MentionNotice {
                    ticket_id: next.id.0,
                    number: next.number.0,
                    message_id: stored.id.0,
                    group_id: next.group_id.map(|id| id.0),
                    assignee_id: next.assignee_id.map(|id| id.0),
                    actor_agent_id: agent.id.0,
                    mentioned_agent_ids: mentioned.iter().map(|id| id.0).collect(),
                    at: now,
                };
                self.queue_notice(&tx, &Notice::Mention(mention)).await?;
            }
        }
        let attachments = tx.repo().attachments(&stored.attachment_ids).await?;
        tx.commit().await?;
        self.outbox_written();
        Ok((stored, next, attachments))
    }

    /// A page of a ticket's messages, oldest first, notes included (agents see notes), with the metadata of
    /// their attachments.
    pub async fn list_messages(
        &self,
        agent: &Agent,
        ticket_id: TicketId,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<(Page<Message>, Vec<AttachmentRecord>)> {
        require_active(agent)?;
        let repo = self.store.repo();
        self.visible_ticket(&repo, agent, ticket_id, false).await?;
        let page = repo.messages(ticket_id, true, limit, cursor).await?;
        let ids: Vec<AttachmentId> =
            page.items.iter().flat_map(|message| message.attachment_ids.iter().copied()).collect();
        let attachments = repo.attachments(&ids).await?;
        Ok((page, attachments))
    }

    /// A page of a ticket's history, oldest first.
    pub async fn ticket_events(
        &self,
        agent: &Agent,
        ticket_id: TicketId,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Page<TicketEvent>> {
        require_active(agent)?;
        let repo = self.store.repo();
        self.visible_ticket(&repo, agent, ticket_id, false).await?;
        Ok(repo.events(ticket_id, limit, cursor).await?)
    }

    /// Merges `source` into `target`: the source is closed and points at the target, and its messages move
    /// to the target (each remembering where it was written). Returns the closed source and the target.
    pub async fn merge_tickets(
        &self,
        agent: &Agent,
        source_id: TicketId,
        target_id: TicketId,
    ) -> Result<(Ticket, Ticket)> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "ticket.edit_forbidden")?;
        if source_id == target_id {
            return Err(kefu_domain::DomainError::SelfReference.into());
        }
        let now = self.now();
        let tx = self.store.begin().await?;
        // Lock in id order so two opposite merges cannot deadlock.
        let (first, second) = if source_id < target_id { (source_id, target_id) } else { (target_id, source_id) };
        let first = self.visible_ticket(&tx.repo(), agent, first, true).await?;
        let second = self.visible_ticket(&tx.repo(), agent, second, true).await?;
        let (source, target) = if first.id == source_id { (first, second) } else { (second, first) };
        let (closed, into_event, from_event) = source.merge_into(&target, now)?;
        save_over(&tx, &closed, &source).await?;
        let grown = touch(&tx, &target, now).await?;
        let moved = tx.repo().move_messages(source.id, target.id).await?;
        let mut from_event = from_event;
        if let Some(Value::Object(details)) = &mut from_event.after {
            details.insert("messages_moved".into(), json!(moved));
        }
        let source_events = tx.repo().append_events(source.id, Actor::Agent(agent.id), now, &[into_event]).await?;
        let target_events = tx.repo().append_events(target.id, Actor::Agent(agent.id), now, &[from_event]).await?;
        self.queue_notice(&tx, &notice(&closed, TicketChange::Merged, Some(&source), agent, &source_events)).await?;
        self.queue_notice(&tx, &notice(&grown, TicketChange::Updated, Some(&target), agent, &target_events)).await?;
        tx.commit().await?;
        self.outbox_written();
        Ok((closed, grown))
    }

    /// Splits a message off into a new ticket for the same requester, linked to the original
    /// (`split_from`). The message moves to the new ticket. Returns the new ticket.
    pub async fn split_ticket(
        &self,
        agent: &Agent,
        ticket_id: TicketId,
        message_id: MessageId,
        subject: Option<String>,
    ) -> Result<Ticket> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "ticket.edit_forbidden")?;
        let now = self.now();
        let tx = self.store.begin().await?;
        let source = self.visible_ticket(&tx.repo(), agent, ticket_id, true).await?;
        let message = tx
            .repo()
            .message(message_id)
            .await?
            .filter(|m| m.ticket_id == source.id)
            .ok_or(AppError::NotFound(Entity::Message))?;
        let rules = LoadedRules::load(self, source.category_id).await?;
        let draft = source.split_draft(subject.as_deref())?.validate(rules.rules())?;
        let split = tx.repo().insert_ticket(&draft, now).await?;
        tx.repo().move_messages_by_id(&[message.id], split.id).await?;
        tx.repo().add_link(TicketLink::new(split.id, source.id, LinkKind::SplitFrom)?, now).await?;
        let mut created = draft.created_event();
        if let Some(Value::Object(details)) = &mut created.after {
            details.insert(
                "split_from".into(),
                json!({ "ticket_id": source.id.0, "number": source.number.0, "message_id": message.id.0 }),
            );
        }
        let split_events = tx.repo().append_events(split.id, Actor::Agent(agent.id), now, &[created]).await?;
        let touched = touch(&tx, &source, now).await?;
        let off = TicketEventDraft::with_details(
            EventKind::SplitOff,
            json!({ "ticket_id": split.id.0, "number": split.number.0, "message_id": message.id.0 }),
        );
        let source_events = tx.repo().append_events(source.id, Actor::Agent(agent.id), now, &[off]).await?;
        self.queue_notice(&tx, &notice(&split, TicketChange::Created, None, agent, &split_events)).await?;
        self.queue_notice(&tx, &notice(&touched, TicketChange::Updated, Some(&source), agent, &source_events)).await?;
        tx.commit().await?;
        self.outbox_written();
        Ok(split)
    }

    /// The agents following a ticket.
    pub async fn followers(&self, agent: &Agent, ticket_id: TicketId) -> Result<Vec<AgentId>> {
        require_active(agent)?;
        let repo = self.store.repo();
        self.visible_ticket(&repo, agent, ticket_id, false).await?;
        Ok(repo.followers(ticket_id).await?)
    }

    /// Adds (`follow = true`) or removes a follower. Anyone who sees a ticket may follow or unfollow it
    /// themselves; changing someone else's following takes the right to edit tickets.
    pub async fn set_follower(
        &self,
        agent: &Agent,
        ticket_id: TicketId,
        follower: AgentId,
        follow: bool,
    ) -> Result<Vec<AgentId>> {
        require_active(agent)?;
        if follower != agent.id {
            require(agent.role.edits_tickets(), "ticket.edit_forbidden")?;
        }
        let now = self.now();
        let tx = self.store.begin().await?;
        let ticket = self.visible_ticket(&tx.repo(), agent, ticket_id, true).await?;
        let follower_record = tx.repo().agent(follower).await?.filter(|record| record.agent.active);
        if follower_record.is_none() {
            return Err(AppError::InvalidReference {
                field: "agent_id",
                message: format!("there is no active agent {follower}"),
            });
        }
        let changed = if follow {
            tx.repo().add_follower(ticket.id, follower, now).await?
        } else {
            tx.repo().remove_follower(ticket.id, follower).await?
        };
        if changed {
            let kind = if follow { EventKind::FollowerAdded } else { EventKind::FollowerRemoved };
            let events = tx
                .repo()
                .append_events(
                    ticket.id,
                    Actor::Agent(agent.id),
                    now,
                    &[TicketEventDraft::with_details(kind, json!({ "agent_id": follower.0 }))],
                )
                .await?;
            self.queue_notice(&tx, &notice(&ticket, TicketChange::Related, None, agent, &events)).await?;
        }
        let followers = tx.repo().followers(ticket.id).await?;
        tx.commit().await?;
        if changed {
            self.outbox_written();
        }
        Ok(followers)
    }

    /// Every link touching a ticket; links to tickets the agent cannot see are left out.
    pub async fn links(&self, agent: &Agent, ticket_id: TicketId) -> Result<Vec<TicketLink>> {
        require_active(agent)?;
        let repo = self.store.repo();
        self.visible_ticket(&repo, agent, ticket_id, false).await?;
        let mut visible = Vec::new();
        for link in repo.links(ticket_id).await? {
            let other = if link.source_id == ticket_id { link.target_id } else { link.source_id };
            if repo.ticket(other).await?.is_some_and(|ticket| agent.can_view(&ticket)) {
                visible.push(link);
            }
        }
        Ok(visible)
    }

    /// Adds or removes a link between two tickets the agent can see; records an event on both.
    pub async fn set_link(&self, agent: &Agent, link: TicketLink, present: bool) -> Result<()> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "ticket.edit_forbidden")?;
        let now = self.now();
        let tx = self.store.begin().await?;
        let (first, second) = if link.source_id < link.target_id {
            (link.source_id, link.target_id)
        } else {
            (link.target_id, link.source_id)
        };
        let first = self.visible_ticket(&tx.repo(), agent, first, true).await?;
        let second = self.visible_ticket(&tx.repo(), agent, second, true).await?;
        let changed = if present { tx.repo().add_link(link, now).await? } else { tx.repo().remove_link(link).await? };
        if changed {
            let kind = if present { EventKind::LinkAdded } else { EventKind::LinkRemoved };
            for (ticket, other) in [(&first, &second), (&second, &first)] {
                let details = json!({
                    "ticket_id": other.id.0,
                    "number": other.number.0,
                    "kind": link.kind.as_str(),
                    "direction": if link.source_id == ticket.id { "outgoing" } else { "incoming" },
                });
                let events = tx
                    .repo()
                    .append_events(
                        ticket.id,
                        Actor::Agent(agent.id),
                        now,
                        &[TicketEventDraft::with_details(kind, details)],
                    )
                    .await?;
                self.queue_notice(&tx, &notice(ticket, TicketChange::Related, None, agent, &events)).await?;
            }
        }
        tx.commit().await?;
        if changed {
            self.outbox_written();
        }
        Ok(())
    }
}

pub(crate) fn message_event(message: &Message) -> TicketEventDraft {
    TicketEventDraft::with_details(
        EventKind::MessageAdded,
        json!({
            "message_id": message.id.0,
            "internal": message.internal,
            "author": match message.author {
                AuthorKind::Customer(id) => json!({ "kind": "customer", "id": id.0 }),
                AuthorKind::Agent(id) => json!({ "kind": "agent", "id": id.0 }),
                AuthorKind::System => json!({ "kind": "system" }),
            },
            "attachments": message.attachment_ids.len(),
        }),
    )
}
