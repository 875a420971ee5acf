//! The rule engine at work: triggers after every ticket change, SLA clocks kept on the ticket, the SLA timer
//! (warnings and breaches, each fired exactly once), time-based automations, webhook delivery, macros,
//! agent notifications and availability.
//!
//! Everything a rule does happens inside the transaction of the change that set it off, so a ticket, its
//! history and its SLA state never disagree. A run of rules is recorded as one `rule_fired` event (the rules
//! that fired, in order, and the fields each changed) followed by one change per field, with the system as the
//! actor.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use kefu_domain::rules::{Candidate, Effect, Recipient, RuleContext, plan_actions};
use kefu_domain::sla::{MetricState, SlaFact, SlaMetric, SlaTargets};
use kefu_domain::triggers::{Rule, TriggerEvent, run_rules};
use kefu_domain::{
    Actor, Agent, AgentId, AuthorKind, BusinessCalendar, EventKind, FieldRules, GroupId, Message, MessageDraft,
    NewTicket, Status, Ticket, TicketEvent, TicketEventDraft, TicketId, TicketUpdate,
};
use kefu_store::StoreConnection as Conn;
use kefu_store::{Cursor, NotificationRecord, Page, Repo, TicketSlaRecord, Tx};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

use crate::bus::{Notice, NotificationNotice, TicketChange, TicketNotice};
use crate::rules::RuleSet;
use crate::tickets::{NewMessage, message_event};
use crate::{App, AppError, Entity, Result, require_active};

/// What triggers did: the history entries to write and the side effects to carry out, by rule.
pub(crate) type TriggerOutcome = (Vec<TicketEventDraft>, Vec<(i64, Effect)>);

/// What the caller of [`App::after_change`] worked out before storing a new ticket: the creation triggers'
/// outcome and the ticket's SLA.
pub(crate) struct Planned {
    pub triggers: TriggerOutcome,
    pub sla: Option<SlaPlan>,
}

/// A ticket about to be created as the creation triggers leave it, with its SLA, worked out before the write
/// transaction ([`App::plan_creation`]).
pub(crate) struct CreationPlan {
    /// What to store: the draft with the triggers' changes.
    pub ticket: NewTicket,
    /// The requester facts the rules saw; a plan made for other facts is made again.
    pub requester: Requester,
    pub planned: Planned,
}

/// What set the engine off.
pub(crate) struct Change<'a> {
    /// The trigger event.
    pub event: TriggerEvent,
    /// The ticket before the change (for `changed` conditions).
    pub previous: Option<&'a Ticket>,
    /// The message the change added.
    pub message: Option<&'a Message>,
    /// The requester's tier and organization, when the caller has them already.
    pub requester: Option<&'a kefu_store::CustomerBrief>,
    /// History entries of the change itself, by `actor`, not yet written: they are written in one statement
    /// with what the rules add.
    pub unwritten: Vec<TicketEventDraft>,
    /// Who made the change.
    pub actor: Actor,
    /// What the triggers did and the SLA, when the caller worked them out before saving (a new ticket is
    /// stored with the triggers' changes already in it).
    pub planned: Option<Planned>,
}

impl<'a> Change<'a> {
    /// A change whose own history is already written.
    pub fn written(event: TriggerEvent, previous: Option<&'a Ticket>, message: Option<&'a Message>) -> Change<'a> {
        Change { event, previous, message, requester: None, unwritten: vec![], actor: Actor::System, planned: None }
    }
}

/// The requester facts rules look at.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Requester {
    pub tier: Option<String>,
    pub organization_id: Option<kefu_domain::OrganizationId>,
}

impl Requester {
    /// What rules see of a stored customer.
    pub(crate) fn of(brief: &kefu_store::CustomerBrief) -> Requester {
        Requester { tier: brief.tier.clone(), organization_id: brief.organization_id }
    }
}

/// Placeholders available to rule and macro templates.
#[derive(Serialize)]
struct TemplateContext<'a> {
    ticket: Value,
    customer: Value,
    agent: Value,
    #[serde(skip)]
    _marker: std::marker::PhantomData<&'a ()>,
}

fn ticket_placeholders(ticket: &Ticket) -> Value {
    json!({
        "id": ticket.id.0,
        "number": ticket.number.0,
        "subject": ticket.subject,
        "status": ticket.status.as_str(),
        "priority": ticket.priority.as_str(),
        "channel": ticket.channel.as_str(),
        "tags": ticket.tags.iter().map(|tag| tag.as_str()).collect::<Vec<_>>(),
    })
}

/// How long webhook retries back off: 30 s, 1 min, 2 min ... up to 8 attempts.
fn webhook_retry_delay(attempts: i64) -> Option<Duration> {
    (attempts < 8).then(|| Duration::seconds(30 * (1 << attempts.clamp(0, 10))))
}

/// The signature header value of a webhook body: `sha256=<hex HMAC-SHA256 of the body>`.
pub fn webhook_signature(secret: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The SLA facts in a ticket's history.
fn sla_facts(events: &[TicketEvent]) -> Vec<SlaFact> {
    events
        .iter()
        .filter_map(|event| {
            let at = event.created_at;
            match event.kind {
                EventKind::Created => {
                    let status = event.after.as_ref()?.get("status")?.as_str()?.parse().ok()?;
                    Some(SlaFact::Created { at, status })
                }
                EventKind::FieldChanged if event.field.as_deref() == Some("status") => {
                    Some(SlaFact::StatusChanged { at, to: event.after.as_ref()?.as_str()?.parse().ok()? })
                }
                EventKind::MessageAdded => {
                    let details = event.after.as_ref()?;
                    let author = details.get("author")?.get("kind")?.as_str()?;
                    reply_fact(at, author, details.get("internal").and_then(Value::as_bool).unwrap_or(false))
                }
                _ => None,
            }
        })
        .collect()
}

/// What a message means for SLA clocks: a customer message, a public agent reply, or nothing.
fn reply_fact(at: DateTime<Utc>, author_kind: &str, internal: bool) -> Option<SlaFact> {
    match (author_kind, internal) {
        ("customer", _) => Some(SlaFact::CustomerMessage { at }),
        ("agent", false) => Some(SlaFact::AgentReply { at }),
        _ => None,
    }
}

/// [`reply_fact`] for a message by `author`.
fn authored_fact(at: DateTime<Utc>, author: AuthorKind, internal: bool) -> Option<SlaFact> {
    let author = match author {
        AuthorKind::Customer(_) => "customer",
        AuthorKind::Agent(_) => "agent",
        AuthorKind::System => "system",
    };
    reply_fact(at, author, internal)
}

/// [`reply_fact`] for a stored message.
fn message_fact(message: &Message) -> Option<SlaFact> {
    authored_fact(message.created_at, message.author, message.internal)
}

/// A new ticket's SLA, worked out before it is stored ([`App::plan_new_ticket_sla`]): the history entry of the
/// policy attached and the row to store (its ticket id set once the ticket has one).
pub(crate) struct SlaPlan {
    pub drafts: Vec<TicketEventDraft>,
    pub record: TicketSlaRecord,
}

/// Which SLA policy applies to a ticket and the targets it keeps, with the history entry of a change of
/// policy. A ticket keeps the targets that applied when its policy was attached; only a different policy
/// (because the ticket changed) replaces them.
struct SlaChoice {
    policy_id: Option<i64>,
    targets_json: Option<Value>,
    targets: Option<SlaTargets>,
    calendar_id: Option<i64>,
    drafts: Vec<TicketEventDraft>,
}

impl SlaChoice {
    fn of(
        set: &RuleSet,
        ticket: &Ticket,
        requester: &Requester,
        stored: Option<&TicketSlaRecord>,
        now: DateTime<Utc>,
    ) -> SlaChoice {
        let context = RuleContext {
            ticket,
            previous: None,
            message: None,
            customer_tier: requester.tier.as_deref(),
            organization_id: requester.organization_id,
            // SLA conditions cannot use time-based fields.
            status_changed_at: ticket.updated_at,
            now,
            calendar: set.default_calendar(),
        };
        let matched = set.policies.iter().find(|policy| policy.conditions.matches(&context));
        let mut drafts = Vec::new();
        let (policy_id, targets_json, calendar_id) = match (matched, stored) {
            (Some(policy), Some(record)) if record.policy_id == Some(policy.id) => {
                (record.policy_id, record.targets.clone(), record.calendar_id)
            }
            (Some(policy), _) => {
                let targets = policy.targets.to_json();
                let draft = TicketEventDraft::with_details(
                    EventKind::SlaApplied,
                    json!({ "policy_id": policy.id, "name": policy.name, "targets": targets, "calendar_id": policy.calendar_id }),
                );
                drafts.push(draft);
                (Some(policy.id), Some(targets), policy.calendar_id)
            }
            (None, Some(record)) if record.policy_id.is_some() => {
                drafts.push(TicketEventDraft::with_details(EventKind::SlaApplied, json!({ "policy_id": null })));
                (None, None, None)
            }
            (None, _) => (None, None, None),
        };
        let targets = targets_json.as_ref().and_then(|raw| SlaTargets::parse(raw).ok());
        SlaChoice { policy_id, targets_json, targets, calendar_id, drafts }
    }

    /// Each metric's clock, replayed from the ticket's history.
    fn evaluate(&self, set: &RuleSet, facts: &[SlaFact], now: DateTime<Utc>) -> Vec<MetricState> {
        match &self.targets {
            Some(targets) => {
                kefu_domain::sla::evaluate(facts, targets, self.calendar_id.and_then(|id| set.calendars.get(&id)), now)
            }
            None => vec![],
        }
    }

    fn lead(&self) -> Duration {
        self.targets.as_ref().map(|targets| targets.warning_lead).unwrap_or_default()
    }

    /// The alerts (metric, kind, due time) of running clocks whose time has come: whether each has fired
    /// decides when the timer looks next.
    fn alerts_due(&self, states: &[MetricState], now: DateTime<Utc>) -> Vec<(SlaMetric, &'static str, DateTime<Utc>)> {
        let lead = self.lead();
        states
            .iter()
            .filter(|state| state.fulfilled_at.is_none())
            .filter_map(|state| state.due_at.map(|due| (state.metric, due)))
            .flat_map(|(metric, due)| [(metric, "warning", due, due - lead), (metric, "breach", due, due)])
            .filter(|(.., at)| *at <= now)
            .map(|(metric, kind, due, _)| (metric, kind, due))
            .collect()
    }

    /// The row to store: due times, and the next check (the earliest alert not yet fired, never in the past).
    fn record(
        &self,
        ticket_id: TicketId,
        states: &[MetricState],
        fired: &[(SlaMetric, &'static str, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> TicketSlaRecord {
        let lead = self.lead();
        let mut next_check = None::<DateTime<Utc>>;
        for state in states.iter().filter(|state| state.fulfilled_at.is_none()) {
            let Some(due) = state.due_at else { continue };
            for (at, kind) in [(due - lead, "warning"), (due, "breach")] {
                if at > now || !fired.contains(&(state.metric, kind, due)) {
                    next_check = Some(next_check.map_or(at.max(now), |next: DateTime<Utc>| next.min(at.max(now))));
                    break;
                }
            }
        }
        let due = |metric: SlaMetric| {
            states
                .iter()
                .find(|state| state.metric == metric && state.fulfilled_at.is_none())
                .and_then(|state| state.due_at)
        };
        TicketSlaRecord {
            ticket_id,
            policy_id: self.policy_id,
            targets: self.targets_json.clone(),
            calendar_id: self.calendar_id,
            first_response_due_at: due(SlaMetric::FirstResponse),
            next_response_due_at: due(SlaMetric::NextResponse),
            resolution_due_at: due(SlaMetric::Resolution),
            next_due_at: [SlaMetric::FirstResponse, SlaMetric::NextResponse, SlaMetric::Resolution]
                .into_iter()
                .filter_map(due)
                .min(),
            breached: states.iter().any(|state| state.breached),
            next_check_at: next_check,
        }
    }
}

/// Whether a trigger listening to `event` assigns by round-robin or by load: it reads the agents' current
/// loads, which only the write transaction sees as they are, so such triggers run inside it.
pub(crate) fn triggers_read_loads(set: &RuleSet, event: TriggerEvent) -> bool {
    listening(set, event)
        .any(|rule| rule.actions.iter().any(|action| kefu_domain::rules::Action::assignment_group(action).is_some()))
}

/// The active triggers that listen to `event`.
fn listening(set: &RuleSet, event: TriggerEvent) -> impl Iterator<Item = &Rule> {
    set.triggers.iter().filter(move |rule| rule.active && rule.events.contains(&event))
}

/// The SLA state of a ticket, for the API.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketSla {
    /// The policy that applies.
    pub policy_id: Option<i64>,
    /// Its targets, as applied to this ticket.
    pub targets: Option<SlaTargets>,
    /// Each metric's clock.
    pub metrics: Vec<MetricState>,
}

/// One trigger's outcome in a dry run.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRunEntry {
    /// The trigger.
    pub rule_id: i64,
    /// Its name.
    pub name: String,
    /// Whether it is active.
    pub active: bool,
    /// Whether it listens to the event.
    pub listens: bool,
    /// How its conditions came out.
    pub evaluation: kefu_domain::rules::Evaluation,
}

impl App {
    async fn requester_of(&self, tx: &Tx, ticket: &Ticket) -> Result<Requester> {
        let brief = tx.repo().customer_brief(ticket.requester_id).await?;
        Ok(brief.as_ref().map(Requester::of).unwrap_or_default())
    }

    async fn candidates_for<C: Conn>(
        &self,
        repo: &Repo<'_, C>,
        rules: &[&Rule],
    ) -> Result<BTreeMap<GroupId, Vec<Candidate>>> {
        let mut groups: Vec<GroupId> = rules
            .iter()
            .flat_map(|rule| rule.actions.iter().filter_map(kefu_domain::rules::Action::assignment_group))
            .collect();
        groups.sort();
        groups.dedup();
        let mut candidates = BTreeMap::new();
        for group_id in groups {
            candidates.insert(group_id, repo.assignment_candidates(group_id).await?);
        }
        Ok(candidates)
    }

    /// Runs the triggers listening to `event` on `ticket` (stored or about to be), without saving anything;
    /// `None` when nothing fired.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn run_triggers<C: Conn>(
        &self,
        repo: &Repo<'_, C>,
        set: &RuleSet,
        event: TriggerEvent,
        ticket: &Ticket,
        previous: Option<&Ticket>,
        message: Option<&str>,
        requester: &Requester,
    ) -> Result<Option<kefu_domain::triggers::RuleRun>> {
        let listening: Vec<&Rule> = listening(set, event).collect();
        if listening.is_empty() {
            return Ok(None);
        }
        let candidates = self.candidates_for(repo, &listening).await?;
        let now = self.now();
        let context = RuleContext {
            ticket,
            previous,
            message,
            customer_tier: requester.tier.as_deref(),
            organization_id: requester.organization_id,
            // Triggers cannot use time-based fields, so the status timing does not matter here.
            status_changed_at: ticket.updated_at,
            now,
            calendar: set.default_calendar(),
        };
        let run = run_rules(
            &set.triggers,
            Some(event),
            context,
            |category_id| field_rules(set, category_id),
            &candidates,
            now,
        );
        for (rule_id, error) in &run.refused {
            tracing::warn!(rule_id, ticket_id = ticket.id.0, %error, "a trigger's change was refused");
        }
        Ok((!run.events.is_empty()).then_some(run))
    }

    /// Runs the triggers for a change (unless the caller already did), applies what they do, refreshes the
    /// SLA, writes the history of it all in one statement, and returns the ticket as it stands after, with
    /// the events written.
    pub(crate) async fn after_change(
        &self,
        tx: &Tx,
        ticket: Ticket,
        change: Change<'_>,
    ) -> Result<(Ticket, Vec<TicketEvent>)> {
        let set = self.rule_set().await?;
        let requester = match change.requester {
            Some(brief) => Requester::of(brief),
            None => self.requester_of(tx, &ticket).await?,
        };
        let mut current = ticket;
        let (triggers, sla) = match change.planned {
            Some(Planned { triggers, sla }) => (Some(triggers), Some(sla)),
            None => (None, None),
        };
        let (mut drafts, effects) = match triggers {
            Some(ran) => ran,
            None => {
                let message = change.message.map(|message| message.body_text.as_str());
                let repo = tx.repo();
                match self
                    .run_triggers(&repo, &set, change.event, &current, change.previous, message, &requester)
                    .await?
                {
                    Some(run) => {
                        if run.ticket != current {
                            crate::tickets::save_over(tx, &run.ticket, &current).await?;
                        }
                        current = run.ticket;
                        (run.events, run.effects)
                    }
                    None => (vec![], vec![]),
                }
            }
        };
        match sla {
            Some(Some(SlaPlan { drafts: applied, mut record })) => {
                record.ticket_id = current.id;
                tx.repo().save_ticket_sla(&record, self.now()).await?;
                drafts.extend(applied);
            }
            Some(None) => {}
            None => {
                // A new ticket's history is known without reading it back.
                let history = match (change.event, change.previous) {
                    (TriggerEvent::TicketCreated, None) => {
                        let mut facts = vec![SlaFact::Created { at: current.created_at, status: current.status }];
                        facts.extend(change.message.and_then(message_fact));
                        Some(facts)
                    }
                    _ => None,
                };
                drafts.extend(self.refresh_sla(tx, &current, &set, &requester, history).await?);
            }
        }
        let entries: Vec<(Actor, &TicketEventDraft)> = change
            .unwritten
            .iter()
            .map(|draft| (change.actor, draft))
            .chain(drafts.iter().map(|draft| (Actor::System, draft)))
            .collect();
        let mut events = tx.repo().append_event_log(current.id, self.now(), &entries).await?;
        events.extend(self.carry_out(tx, &current, &requester, effects).await?);
        Ok((current, events))
    }

    /// Carries out rule side effects: notes, notifications, webhooks, and the round-robin bookkeeping.
    async fn carry_out(
        &self,
        tx: &Tx,
        ticket: &Ticket,
        requester: &Requester,
        effects: Vec<(i64, Effect)>,
    ) -> Result<Vec<TicketEvent>> {
        if effects.is_empty() {
            return Ok(vec![]);
        }
        let now = self.now();
        let mut events = Vec::new();
        let assignee = match ticket.assignee_id {
            Some(id) => tx.repo().agent(id).await?.map(|record| record.agent),
            None => None,
        };
        let customer = tx.repo().customer(ticket.requester_id).await?;
        let customer = json!({
            "name": customer.as_ref().map(|customer| customer.name.clone()),
            "email": customer.as_ref().and_then(|customer| {
                customer
                    .identities
                    .iter()
                    .find(|(_, identity)| identity.kind == kefu_domain::IdentityKind::Email)
                    .map(|(_, identity)| identity.value.clone())
            }),
            "tier": requester.tier,
        });
        let context = TemplateContext {
            ticket: ticket_placeholders(ticket),
            customer: customer.clone(),
            agent: json!({ "name": assignee.as_ref().map(|agent| agent.name.clone()), "email": assignee.as_ref().map(|agent| agent.email.clone()) }),
            _marker: std::marker::PhantomData,
        };
        let render = |template: &str| {
            kefu_domain::template::render(template, &context).unwrap_or_else(|error| {
                tracing::warn!(%error, "a rule template failed to render");
                template.to_owned()
            })
        };
        for (rule_id, effect) in effects {
            let effect_kind = if matches!(effect, Effect::Note(_)) { EffectKind::Note } else { EffectKind::Other };
            match effect {
                // A note stays internal; a notification to the requester is a public message from the system,
                // which the ticket's channel (email, WeChat ...) delivers like any public reply.
                Effect::Note(template) | Effect::Notify { to: Recipient::Requester, body: template, .. } => {
                    let draft = MessageDraft {
                        author: AuthorKind::System,
                        internal: matches!(effect_kind, EffectKind::Note),
                        body_text: render(&template),
                        body_html: None,
                        attachment_ids: vec![],
                    };
                    let stored = tx.repo().insert_message(ticket.id, &draft, now).await?;
                    events.extend(
                        tx.repo().append_events(ticket.id, Actor::System, now, &[message_event(&stored)]).await?,
                    );
                }
                Effect::Notify { to, subject, body } => {
                    let recipients: Vec<AgentId> = match to {
                        Recipient::Assignee => ticket.assignee_id.into_iter().collect(),
                        Recipient::Agent(id) => vec![id],
                        Recipient::Group(id) => tx.repo().group_members(id).await?,
                        Recipient::Requester => vec![],
                    };
                    for agent_id in recipients {
                        self.notify_agent(tx, agent_id, "rule", Some(ticket), &render(&subject), &render(&body))
                            .await?;
                    }
                }
                Effect::Webhook { url, secret } => {
                    let body = json!({
                        "event": "ticket",
                        "rule_id": rule_id,
                        "ticket": ticket_placeholders(ticket),
                        "requester": customer,
                        "group_id": ticket.group_id.map(|id| id.0),
                        "assignee_id": ticket.assignee_id.map(|id| id.0),
                        "at": now,
                    });
                    tx.repo().queue_webhook(rule_id, ticket.id, &url, &secret, &body.to_string(), now).await?;
                    self.webhooks_ready.notify_one();
                }
                Effect::Assigned(agent_id) => {
                    tx.repo().touch_last_assigned(agent_id, now).await?;
                    self.notify_agent(
                        tx,
                        agent_id,
                        "assigned",
                        Some(ticket),
                        &format!("#{} assigned to you", ticket.number),
                        &ticket.subject,
                    )
                    .await?;
                }
            }
        }
        Ok(events)
    }

    /// Records a notification for an agent (who must be able to see the ticket) and tells them live.
    pub(crate) async fn notify_agent(
        &self,
        tx: &Tx,
        agent_id: AgentId,
        kind: &str,
        ticket: Option<&Ticket>,
        title: &str,
        body: &str,
    ) -> Result<()> {
        let Some(record) = tx.repo().agent(agent_id).await?.filter(|record| record.agent.active) else { return Ok(()) };
        if ticket.is_some_and(|ticket| !record.agent.can_view(ticket)) {
            return Ok(());
        }
        let stored = tx
            .repo()
            .insert_notification(agent_id, kind, ticket.map(|ticket| ticket.id), title, body, self.now())
            .await?;
        let notice = NotificationNotice {
            notification_id: stored.id,
            agent_id: agent_id.0,
            kind: stored.kind,
            ticket_id: stored.ticket_id.map(|id| id.0),
            title: stored.title,
            at: stored.created_at,
        };
        self.queue_notice(tx, &Notice::Notification(notice)).await
    }

    /// Matches the SLA policy, keeps the targets that applied, replays the history to the due times, and
    /// stores them with the next time the timer must look. Returns the history entries to append (a change of
    /// policy), for the caller to write with its own.
    async fn refresh_sla(
        &self,
        tx: &Tx,
        ticket: &Ticket,
        set: &RuleSet,
        requester: &Requester,
        history: Option<Vec<SlaFact>>,
    ) -> Result<Vec<TicketEventDraft>> {
        let now = self.now();
        let stored = if history.is_some() { None } else { tx.repo().ticket_sla(ticket.id).await? };
        if set.policies.is_empty() && stored.as_ref().is_none_or(|record| record.targets.is_none()) {
            return Ok(vec![]);
        }
        let choice = SlaChoice::of(set, ticket, requester, stored.as_ref(), now);
        let facts = match (&choice.targets, history) {
            (None, _) => vec![],
            (Some(_), Some(facts)) => facts,
            (Some(_), None) => sla_facts(&tx.repo().events(ticket.id, 5000, None).await?.items),
        };
        let states = choice.evaluate(set, &facts, now);
        // Of the alerts whose time has come, which have fired (each is looked up once).
        let mut fired = Vec::new();
        for (metric, kind, due) in choice.alerts_due(&states, now) {
            if tx.repo().sla_alert_fired(ticket.id, metric.as_str(), kind, due).await? {
                fired.push((metric, kind, due));
            }
        }
        let record = choice.record(ticket.id, &states, &fired, now);
        if stored.as_ref() != Some(&record) {
            tx.repo().save_ticket_sla(&record, now).await?;
        }
        Ok(choice.drafts)
    }

    /// The SLA of a ticket about to be created, worked out from what it will be stored as and its first
    /// facts, without the database (no policy is attached yet and no alert has fired): the caller works it
    /// out before its write transaction and stores it inside. `None` when there are no policies.
    fn plan_new_ticket_sla(
        &self,
        set: &RuleSet,
        ticket: &Ticket,
        requester: &Requester,
        facts: &[SlaFact],
    ) -> Option<SlaPlan> {
        if set.policies.is_empty() {
            return None;
        }
        let now = self.now();
        let choice = SlaChoice::of(set, ticket, requester, None, now);
        let states = choice.evaluate(set, facts, now);
        let record = choice.record(ticket.id, &states, &[], now);
        Some(SlaPlan { drafts: choice.drafts, record })
    }

    /// Runs the creation triggers on a ticket about to be created and works out its SLA, reading through
    /// `repo`: before the write transaction when nothing the triggers read can change under them (on SQLite
    /// the one write slot is then held for writes only), inside it otherwise ([`triggers_read_loads`]).
    /// `now` is the ticket's creation time; `first_message` its first message, as it will be stored.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn plan_creation<C: Conn>(
        &self,
        repo: &Repo<'_, C>,
        set: &RuleSet,
        draft: &NewTicket,
        now: DateTime<Utc>,
        first_message: Option<&MessageDraft>,
        requester: Requester,
    ) -> Result<CreationPlan> {
        let provisional = draft.provisional(kefu_domain::TicketNumber(0), now);
        let text = first_message.map(|message| message.body_text.as_str());
        let run = self.run_triggers(repo, set, TriggerEvent::TicketCreated, &provisional, None, text, &requester);
        let (ticket, triggers) = match run.await? {
            Some(run) => (run.ticket, (run.events, run.effects)),
            None => (provisional, (vec![], vec![])),
        };
        let mut facts = vec![SlaFact::Created { at: now, status: ticket.status }];
        facts.extend(first_message.and_then(|message| authored_fact(now, message.author, message.internal)));
        let sla = self.plan_new_ticket_sla(set, &ticket, &requester, &facts);
        Ok(CreationPlan { ticket: NewTicket::from_provisional(&ticket), requester, planned: Planned { triggers, sla } })
    }

    /// One pass of the SLA timer: every ticket whose check time has come gets its warnings and breaches
    /// fired (each exactly once, even with several workers), the matching triggers run, and the assignee (or
    /// the group) notified. Returns how many alerts fired.
    pub async fn run_sla_timers(&self) -> Result<usize> {
        let mut fired = 0;
        let due = self.store.repo().tickets_due_for_sla_check(self.now(), 200).await?;
        for ticket_id in due {
            match self.check_ticket_sla(ticket_id).await {
                Ok(count) => fired += count,
                Err(error) => {
                    tracing::warn!(ticket_id = ticket_id.0, %error, "SLA check failed; retried on the next pass")
                }
            }
        }
        if fired > 0 {
            self.outbox_written();
        }
        Ok(fired)
    }

    async fn check_ticket_sla(&self, ticket_id: TicketId) -> Result<usize> {
        let set = self.rule_set().await?;
        let now = self.now();
        let tx = self.store.begin().await?;
        let Some(ticket) = tx.repo().lock_ticket(ticket_id).await? else { return Ok(0) };
        let Some(record) = tx.repo().ticket_sla(ticket_id).await? else { return Ok(0) };
        let Some(targets) = record.targets.as_ref().and_then(|raw| SlaTargets::parse(raw).ok()) else { return Ok(0) };
        let history = tx.repo().events(ticket_id, 5000, None).await?.items;
        let calendar: Option<&BusinessCalendar> = record.calendar_id.and_then(|id| set.calendars.get(&id));
        let states = kefu_domain::sla::evaluate(&sla_facts(&history), &targets, calendar, now);
        let requester = self.requester_of(&tx, &ticket).await?;
        let mut fired = 0;
        let mut current = ticket;
        for state in states.iter().filter(|state| state.fulfilled_at.is_none()) {
            let Some(due) = state.due_at else { continue };
            for (at, kind, event, event_kind) in [
                (due - targets.warning_lead, "warning", TriggerEvent::SlaWarning, EventKind::SlaWarning),
                (due, "breach", TriggerEvent::SlaBreach, EventKind::SlaBreach),
            ] {
                if at > now || !tx.repo().record_sla_alert(current.id, state.metric.as_str(), kind, due, now).await? {
                    continue;
                }
                fired += 1;
                let draft = TicketEventDraft::with_details(
                    event_kind,
                    json!({ "metric": state.metric.as_str(), "due_at": due }),
                );
                let alert_events = tx.repo().append_events(current.id, Actor::System, now, &[draft]).await?;
                let title = format!(
                    "#{} {} {} ({})",
                    current.number,
                    state.metric.as_str().replace('_', " "),
                    if kind == "breach" { "breached" } else { "due soon" },
                    due.format("%Y-%m-%d %H:%M UTC")
                );
                let recipients = match (current.assignee_id, current.group_id) {
                    (Some(assignee), _) => vec![assignee],
                    (None, Some(group)) => tx.repo().group_members(group).await?,
                    (None, None) => vec![],
                };
                for agent_id in recipients {
                    self.notify_agent(&tx, agent_id, &format!("sla_{kind}"), Some(&current), &title, &current.subject)
                        .await?;
                }
                let before = current.clone();
                let (after, rule_events) =
                    self.after_change(&tx, current, Change::written(event, Some(&before), None)).await?;
                current = after;
                let mut all_events = alert_events;
                all_events.extend(rule_events);
                self.queue_notice(&tx, &Notice::Ticket(system_notice(&current, None, &all_events))).await?;
            }
        }
        // Recompute the due times and the next check now that the alerts are recorded.
        let drafts = self.refresh_sla(&tx, &current, &set, &requester, None).await?;
        tx.repo().append_events(current.id, Actor::System, now, &drafts).await?;
        tx.commit().await?;
        Ok(fired)
    }

    /// One pass of the time-based automations over the tickets their conditions can match. Each fires at most
    /// once per ticket until the ticket changes again. Returns how many times automations fired.
    pub async fn run_automations(&self) -> Result<usize> {
        let set = self.rule_set().await?;
        let now = self.now();
        let mut fired = 0;
        for automation in set.automations.iter().filter(|rule| rule.active) {
            let statuses = automation_statuses(automation);
            let updated_before = automation_updated_before(automation, now);
            let candidates = self.store.repo().stale_tickets(&statuses, updated_before, 500).await?;
            for ticket in candidates {
                match self.run_automation_on(&set, automation, ticket.id).await {
                    Ok(true) => fired += 1,
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(rule_id = automation.id, ticket_id = ticket.id.0, %error, "automation failed")
                    }
                }
            }
        }
        if fired > 0 {
            self.outbox_written();
        }
        Ok(fired)
    }

    async fn run_automation_on(&self, set: &RuleSet, automation: &Rule, ticket_id: TicketId) -> Result<bool> {
        let now = self.now();
        let tx = self.store.begin().await?;
        let Some(ticket) = tx.repo().lock_ticket(ticket_id).await? else { return Ok(false) };
        if tx
            .repo()
            .automation_fired_at(automation.id, ticket.id)
            .await?
            .is_some_and(|fired| fired >= ticket.updated_at)
        {
            return Ok(false);
        }
        let requester = self.requester_of(&tx, &ticket).await?;
        let status_changed_at =
            tx.repo().status_changed_at(&[ticket.id]).await?.get(&ticket.id).copied().unwrap_or(ticket.created_at);
        let context = RuleContext {
            ticket: &ticket,
            previous: None,
            message: None,
            customer_tier: requester.tier.as_deref(),
            organization_id: requester.organization_id,
            status_changed_at,
            now,
            calendar: set.default_calendar(),
        };
        if !automation.conditions.matches(&context) {
            return Ok(false);
        }
        let candidates = self.candidates_for(&tx.repo(), &[automation]).await?;
        let run = run_rules(
            std::slice::from_ref(automation),
            None,
            context,
            |category_id| field_rules(set, category_id),
            &candidates,
            now,
        );
        if run.events.is_empty() {
            return Ok(false);
        }
        if run.ticket != ticket {
            crate::tickets::save_over(&tx, &run.ticket, &ticket).await?;
        }
        let mut events = tx.repo().append_events(ticket.id, Actor::System, now, &run.events).await?;
        events.extend(self.carry_out(&tx, &run.ticket, &requester, run.effects).await?);
        let (after, rule_events) = if run.ticket != ticket {
            self.after_change(&tx, run.ticket, Change::written(TriggerEvent::TicketUpdated, Some(&ticket), None))
                .await?
        } else {
            (run.ticket, vec![])
        };
        events.extend(rule_events);
        tx.repo().record_automation_run(automation.id, ticket.id, now.max(after.updated_at)).await?;
        self.queue_notice(&tx, &Notice::Ticket(system_notice(&after, Some(&ticket), &events))).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// One pass of webhook delivery: POSTs each due call, signed, and records the outcome with backoff.
    pub async fn deliver_webhooks(&self) -> Result<usize> {
        let due = self.store.repo().due_webhooks(self.now(), 50).await?;
        let client = reqwest::Client::builder()
            .timeout(StdDuration::from_secs(10))
            .build()
            .map_err(|error| AppError::Internal(error.to_string()))?;
        let mut delivered = 0;
        for delivery in due {
            let outcome = client
                .post(&delivery.url)
                .header("content-type", "application/json")
                .header("x-kefu-signature", webhook_signature(&delivery.secret, &delivery.body))
                .header("x-kefu-delivery", delivery.id.to_string())
                .body(delivery.body.clone())
                .send()
                .await;
            let error = match outcome {
                Ok(response) if response.status().is_success() => None,
                Ok(response) => Some(format!("HTTP {}", response.status())),
                Err(error) => Some(error.to_string()),
            };
            let now = self.now();
            let retry_at = error.as_ref().and_then(|_| webhook_retry_delay(delivery.attempts)).map(|delay| now + delay);
            if error.is_none() {
                delivered += 1;
            } else {
                tracing::warn!(delivery_id = delivery.id, url = %delivery.url, error = ?error, "webhook delivery failed");
            }
            let tx = self.store.begin().await?;
            tx.repo().record_webhook_attempt(delivery.id, error.is_none(), error.as_deref(), retry_at, now).await?;
            tx.commit().await?;
        }
        Ok(delivered)
    }

    /// Runs the SLA timer, the automations and webhook delivery until `shutdown`.
    pub async fn run_rule_workers(&self, shutdown: CancellationToken) {
        let mut sla = tokio::time::interval(StdDuration::from_secs(10));
        let mut automations = tokio::time::interval(StdDuration::from_secs(60));
        let mut webhooks = tokio::time::interval(StdDuration::from_secs(15));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = sla.tick() => {
                    if let Err(error) = self.run_sla_timers().await {
                        tracing::warn!(%error, "SLA timer pass failed");
                    }
                }
                _ = automations.tick() => {
                    if let Err(error) = self.run_automations().await {
                        tracing::warn!(%error, "automation pass failed");
                    }
                }
                _ = webhooks.tick() => {
                    if let Err(error) = self.deliver_webhooks().await {
                        tracing::warn!(%error, "webhook pass failed");
                    }
                }
                _ = self.webhooks_ready.notified() => {
                    if let Err(error) = self.deliver_webhooks().await {
                        tracing::warn!(%error, "webhook pass failed");
                    }
                }
            }
        }
    }

    /// Which triggers would fire on a ticket for an event, and why (each condition's outcome). Changes nothing.
    pub async fn dry_run_triggers(
        &self,
        actor: &Agent,
        ticket_id: TicketId,
        event: TriggerEvent,
    ) -> Result<Vec<DryRunEntry>> {
        require_active(actor)?;
        let ticket = self.ticket(actor, ticket_id).await?;
        let set = self.rule_set().await?;
        let tx = self.store.begin().await?;
        let requester = self.requester_of(&tx, &ticket).await?;
        let status_changed_at =
            tx.repo().status_changed_at(&[ticket.id]).await?.get(&ticket.id).copied().unwrap_or(ticket.created_at);
        drop(tx);
        let context = RuleContext {
            ticket: &ticket,
            previous: None,
            message: None,
            customer_tier: requester.tier.as_deref(),
            organization_id: requester.organization_id,
            status_changed_at,
            now: self.now(),
            calendar: set.default_calendar(),
        };
        Ok(set
            .triggers
            .iter()
            .map(|rule| DryRunEntry {
                rule_id: rule.id,
                name: rule.name.clone(),
                active: rule.active,
                listens: rule.events.contains(&event),
                evaluation: rule.conditions.evaluate(&context),
            })
            .collect())
    }

    /// A ticket's SLA: the policy, the targets that apply to it, and each metric's clock now.
    pub async fn ticket_sla(&self, actor: &Agent, ticket_id: TicketId) -> Result<TicketSla> {
        let ticket = self.ticket(actor, ticket_id).await?;
        let repo = self.store.repo();
        let Some(record) = repo.ticket_sla(ticket.id).await? else {
            return Ok(TicketSla { policy_id: None, targets: None, metrics: vec![] });
        };
        let targets = record.targets.as_ref().and_then(|raw| SlaTargets::parse(raw).ok());
        let metrics = match &targets {
            Some(targets) => {
                let set = self.rule_set().await?;
                let history = repo.events(ticket.id, 5000, None).await?.items;
                kefu_domain::sla::evaluate(
                    &sla_facts(&history),
                    targets,
                    record.calendar_id.and_then(|id| set.calendars.get(&id)),
                    self.now(),
                )
            }
            None => vec![],
        };
        Ok(TicketSla { policy_id: record.policy_id, targets, metrics })
    }

    /// Renders a macro for a ticket without changing anything: the body (in `locale`, else the requester's,
    /// else English, else the first variant) and the changes it would make.
    pub async fn preview_macro(
        &self,
        actor: &Agent,
        macro_id: i64,
        ticket_id: TicketId,
        locale: Option<&str>,
    ) -> Result<(String, TicketUpdate)> {
        let record = self.usable_macro(actor, macro_id).await?;
        let ticket = self.ticket(actor, ticket_id).await?;
        let set = self.rule_set().await?;
        let customer = self.store.repo().customer(ticket.requester_id).await?;
        let bodies: BTreeMap<String, String> = serde_json::from_value(record.bodies.clone()).unwrap_or_default();
        let customer_locale = customer.as_ref().and_then(|customer| customer.locale.clone());
        let body = [locale.map(str::to_owned), customer_locale, Some("en".to_owned())]
            .into_iter()
            .flatten()
            .find_map(|wanted| bodies.get(&wanted).cloned())
            .or_else(|| bodies.values().next().cloned())
            .unwrap_or_default();
        let context = TemplateContext {
            ticket: ticket_placeholders(&ticket),
            customer: json!({
                "name": customer.as_ref().map(|customer| customer.name.clone()),
                "tier": customer.as_ref().and_then(|customer| customer.tier.clone()),
            }),
            agent: json!({ "name": actor.name, "email": actor.email }),
            _marker: std::marker::PhantomData,
        };
        let rendered = kefu_domain::template::render(&body, &context)?;
        let actions: Vec<kefu_domain::rules::Action> = record
            .actions
            .as_array()
            .map(|items| {
                items.iter().filter_map(|item| kefu_domain::rules::Action::parse(item, &set.definitions).ok()).collect()
            })
            .unwrap_or_default();
        let plan = plan_actions(&actions, &ticket, &BTreeMap::new());
        Ok((rendered, plan.update))
    }

    /// Applies a macro: its rendered body as a public reply (or a note) and its changes, in one change, and
    /// counts the use.
    pub async fn apply_macro(
        &self,
        actor: &Agent,
        macro_id: i64,
        ticket_id: TicketId,
        internal: bool,
        locale: Option<&str>,
    ) -> Result<(Message, Ticket, Vec<kefu_store::AttachmentRecord>)> {
        let (body, update) = self.preview_macro(actor, macro_id, ticket_id, locale).await?;
        let message = NewMessage { body_text: body, body_html: None, internal, attachment_ids: vec![] };
        let result = self.add_message(actor, ticket_id, message, update).await?;
        let tx = self.store.begin().await?;
        tx.repo().count_macro_use(macro_id).await?;
        tx.commit().await?;
        Ok(result)
    }

    /// A page of the agent's notifications, newest first.
    pub async fn list_notifications(
        &self,
        actor: &Agent,
        unread_only: bool,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Page<NotificationRecord>> {
        require_active(actor)?;
        Ok(self.store.repo().notifications(actor.id, unread_only, limit, cursor).await?)
    }

    /// Marks one of the agent's notifications read.
    pub async fn mark_notification_read(&self, actor: &Agent, id: i64) -> Result<()> {
        require_active(actor)?;
        let tx = self.store.begin().await?;
        if !tx.repo().mark_notification_read(actor.id, id, self.now()).await? {
            return Err(AppError::NotFound(Entity::Notification));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets whether an agent takes tickets from assignment rules and how many unresolved ones at most: the
    /// agent themself, or admins and supervisors for anyone.
    pub async fn set_availability(
        &self,
        actor: &Agent,
        agent_id: AgentId,
        available: bool,
        capacity: Option<u32>,
    ) -> Result<()> {
        require_active(actor)?;
        if actor.id != agent_id {
            crate::require(actor.role.manages_team(), "agent.manage_forbidden")?;
        }
        let tx = self.store.begin().await?;
        if !tx.repo().set_availability(agent_id, available, capacity, self.now()).await? {
            return Err(AppError::NotFound(Entity::Agent));
        }
        tx.commit().await?;
        Ok(())
    }

    /// An agent's availability and capacity.
    pub async fn availability(&self, actor: &Agent, agent_id: AgentId) -> Result<(bool, Option<u32>)> {
        require_active(actor)?;
        self.store.repo().availability(agent_id).await?.ok_or(AppError::NotFound(Entity::Agent))
    }
}

/// Whether a side effect is an internal note (the rest of the message-writing effects are public).
enum EffectKind {
    Note,
    Other,
}

/// The field rules for a ticket in `category_id`, from the rule set.
fn field_rules(set: &RuleSet, category_id: Option<kefu_domain::CategoryId>) -> FieldRules<'_> {
    FieldRules {
        definitions: &set.definitions,
        category: category_id.and_then(|id| set.categories.iter().find(|category| category.id == id)),
    }
}

/// A notice for a change the system made (rules, timers).
fn system_notice(ticket: &Ticket, previous: Option<&Ticket>, events: &[TicketEvent]) -> TicketNotice {
    TicketNotice {
        ticket_id: ticket.id.0,
        number: ticket.number.0,
        version: ticket.version,
        change: TicketChange::Updated,
        group_id: ticket.group_id.map(|id| id.0),
        assignee_id: ticket.assignee_id.map(|id| id.0),
        previous_group_id: previous.filter(|p| p.group_id != ticket.group_id).and_then(|p| p.group_id.map(|id| id.0)),
        previous_assignee_id: previous
            .filter(|p| p.assignee_id != ticket.assignee_id)
            .and_then(|p| p.assignee_id.map(|id| id.0)),
        actor_agent_id: None,
        event_ids: events.iter().map(|event| event.id.0).collect(),
        internal: None,
        at: ticket.updated_at,
    }
}

/// The statuses an automation's conditions allow (from `status is/in`), or every status but closed.
fn automation_statuses(rule: &Rule) -> Vec<Status> {
    use kefu_domain::rules::{ConditionField, Operator};
    for condition in &rule.conditions.all {
        if condition.field == ConditionField::Status {
            let names: Vec<&Value> = match condition.operator {
                Operator::Is => vec![&condition.value],
                Operator::In => condition.value.as_array().map(|items| items.iter().collect()).unwrap_or_default(),
                _ => continue,
            };
            return names.into_iter().filter_map(|name| name.as_str()?.parse().ok()).collect();
        }
    }
    vec![Status::New, Status::Open, Status::Pending, Status::OnHold, Status::Solved]
}

/// The latest `updated_at` a ticket may have for the automation to match (from `minutes_since_updated >`).
fn automation_updated_before(rule: &Rule, now: DateTime<Utc>) -> DateTime<Utc> {
    use kefu_domain::rules::{ConditionField, Operator};
    rule.conditions
        .all
        .iter()
        .filter(|condition| {
            condition.field == ConditionField::MinutesSinceUpdated && condition.operator == Operator::GreaterThan
        })
        .filter_map(|condition| condition.value.as_i64())
        .map(|minutes| now - Duration::minutes(minutes))
        .min()
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signatures_are_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            webhook_signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn webhook_retries_back_off_then_stop() {
        assert_eq!(webhook_retry_delay(0), Some(Duration::seconds(30)));
        assert_eq!(webhook_retry_delay(3), Some(Duration::seconds(240)));
        assert_eq!(webhook_retry_delay(8), None);
    }
}
