//! Admin-defined rules: business calendars, SLA policies, triggers, time-based automations, macros and
//! views. Every save parses the rule into `kefu-domain` values first, so a bad rule (unknown field, wrong
//! operator for the type, bad template) is refused at save time and never at run time.
//!
//! The rules the engine runs are read through [`App::rule_set`], an in-memory copy refreshed after every
//! change on this node and at least every few seconds (for changes made on other nodes).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration as StdDuration, Instant};

use kefu_domain::rules::{Action, Conditions};
use kefu_domain::sla::{SlaPolicy, SlaTargets};
use kefu_domain::triggers::{Rule, TriggerEvent};
use kefu_domain::{Agent, BusinessCalendar, Category, CustomFieldDefinition, DomainError};
use kefu_store::{AUTOMATION, CalendarRecord, MacroRecord, RuleRecord, SlaPolicyRecord, TRIGGER, ViewRecord};
use serde_json::{Value, json};

use crate::{App, AppError, Entity, Result, require, require_active};

/// How long the in-memory rule set is trusted before it is read again.
const RULE_SET_TTL: StdDuration = StdDuration::from_secs(5);
/// What API output shows instead of a webhook secret.
pub const SECRET_MASK: &str = "********";

/// Every rule the engine needs, parsed.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Active and inactive triggers, in order.
    pub triggers: Vec<Rule>,
    /// Active and inactive automations, in order.
    pub automations: Vec<Rule>,
    /// Active SLA policies, in order.
    pub policies: Vec<SlaPolicy>,
    /// Calendars by id.
    pub calendars: HashMap<i64, BusinessCalendar>,
    /// Active custom field definitions.
    pub definitions: Vec<CustomFieldDefinition>,
    /// Categories.
    pub categories: Vec<Category>,
}

impl RuleSet {
    /// The calendar `within_business_hours` conditions use: the first one created.
    pub fn default_calendar(&self) -> Option<&BusinessCalendar> {
        self.calendars.iter().min_by_key(|(id, _)| **id).map(|(_, calendar)| calendar)
    }
}

/// The shared, refreshable copy of the rule set.
#[derive(Debug, Default)]
pub(crate) struct RuleCache {
    /// The set and when it was read.
    current: tokio::sync::RwLock<Option<(Instant, std::sync::Arc<RuleSet>)>>,
    /// Held while the set is read again, so that callers who find it stale at once read it once.
    loading: tokio::sync::Mutex<()>,
    /// Bumped by every admin change; a set read before a change is not kept after it.
    generation: std::sync::atomic::AtomicU64,
}

impl RuleCache {
    async fn fresh(&self) -> Option<std::sync::Arc<RuleSet>> {
        match self.current.read().await.as_ref() {
            Some((loaded, set)) if loaded.elapsed() < RULE_SET_TTL => Some(set.clone()),
            _ => None,
        }
    }
}

/// A trigger or automation as given by an admin.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInput {
    /// Name.
    pub name: String,
    /// Order.
    pub position: i64,
    /// Whether it runs.
    pub active: bool,
    /// Trigger events (`ticket_created` ...); must be empty for automations.
    pub events: Vec<String>,
    /// `{"all": [...], "any": [...]}`.
    pub conditions: Value,
    /// `[{"type": ...}]`.
    pub actions: Value,
}

/// An SLA policy as given by an admin.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicyInput {
    /// Name.
    pub name: String,
    /// Order.
    pub position: i64,
    /// Whether it applies.
    pub active: bool,
    /// Which tickets it covers.
    pub conditions: Value,
    /// Targets (`first_response_minutes` ...).
    pub targets: Value,
    /// The calendar for business-hours targets.
    pub calendar_id: Option<i64>,
}

/// A macro as given by an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct MacroInput {
    /// Title.
    pub title: String,
    /// Body templates by locale (`en`, `zh-CN`, `zh-TW` ...); at least one.
    pub bodies: BTreeMap<String, String>,
    /// Actions (status, priority, group, tags ...); no notifications or webhooks.
    pub actions: Value,
    /// Shared with everyone (admins and supervisors only) or personal.
    pub shared: bool,
    /// Offered to agents.
    pub active: bool,
}

/// A view as given by an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewInput {
    /// Name.
    pub name: String,
    /// `{"status": ["open"], "assignee": "me"|"none"|id, "group": "none"|id, "tag": "...",
    /// "sla_due_within_minutes": 60}`.
    pub filters: Value,
    /// `-created_at`, `created_at`, `-updated_at` or `updated_at`.
    pub sort: String,
    /// Shared with everyone (admins and supervisors only) or personal.
    pub shared: bool,
    /// Order.
    pub position: i64,
}

fn parse_events(events: &[String]) -> Result<Vec<TriggerEvent>> {
    events.iter().map(|event| Ok(event.parse::<TriggerEvent>()?)).collect()
}

fn parse_actions(raw: &Value, definitions: &[CustomFieldDefinition]) -> Result<Vec<Action>> {
    let items = raw.as_array().ok_or_else(|| DomainError::invalid("actions", "actions are a list"))?;
    if items.len() > 50 {
        return Err(DomainError::invalid("actions", "a rule has at most 50 actions").into());
    }
    Ok(items.iter().map(|item| Action::parse(item, definitions)).collect::<kefu_domain::Result<_>>()?)
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(DomainError::invalid("name", "a name is 1-200 characters").into());
    }
    Ok(name.to_owned())
}

/// Masks webhook secrets in a rule's actions for API output.
pub fn mask_secrets(actions: &Value) -> Value {
    match actions {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| {
                    let mut item = item.clone();
                    if item.get("type") == Some(&json!("webhook")) {
                        item["secret"] = json!(SECRET_MASK);
                    }
                    item
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Puts back stored webhook secrets where an admin sent the mask back unchanged.
fn restore_secrets(actions: &Value, stored: Option<&Value>) -> Value {
    let mut actions = actions.clone();
    if let (Value::Array(items), Some(Value::Array(stored))) = (&mut actions, stored) {
        for item in items.iter_mut().filter(|item| item.get("secret") == Some(&json!(SECRET_MASK))) {
            if let Some(secret) = stored
                .iter()
                .find(|old| old.get("type") == Some(&json!("webhook")) && old.get("url") == item.get("url"))
                .and_then(|old| old.get("secret"))
            {
                item["secret"] = secret.clone();
            }
        }
    }
    actions
}

impl App {
    /// The rules the engine runs, read from the database at most every few seconds.
    pub async fn rule_set(&self) -> Result<std::sync::Arc<RuleSet>> {
        use std::sync::atomic::Ordering;
        if let Some(set) = self.rules.fresh().await {
            return Ok(set);
        }
        let _loading = self.rules.loading.lock().await;
        if let Some(set) = self.rules.fresh().await {
            return Ok(set);
        }
        let generation = self.rules.generation.load(Ordering::SeqCst);
        let set = std::sync::Arc::new(self.load_rule_set().await?);
        let mut current = self.rules.current.write().await;
        if self.rules.generation.load(Ordering::SeqCst) == generation {
            *current = Some((Instant::now(), set.clone()));
        }
        Ok(set)
    }

    /// Forgets the cached rule set (after any admin change).
    pub(crate) async fn invalidate_rules(&self) {
        let mut current = self.rules.current.write().await;
        self.rules.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *current = None;
    }

    async fn load_rule_set(&self) -> Result<RuleSet> {
        let repo = self.store.repo();
        let all_definitions: Vec<CustomFieldDefinition> =
            repo.custom_fields().await?.into_iter().map(|(_, definition, _)| definition).collect();
        let definitions = repo.active_custom_fields().await?;
        let parse_rule = |record: RuleRecord, time_based: bool| -> Option<Rule> {
            let parsed = (|| -> Result<Rule> {
                let events: Vec<String> = serde_json::from_value(record.events.clone()).unwrap_or_default();
                Ok(Rule {
                    id: record.id,
                    name: record.name.clone(),
                    position: record.position,
                    active: record.active,
                    events: parse_events(&events)?,
                    conditions: Conditions::parse(&record.conditions, &all_definitions, time_based, !time_based)?,
                    actions: parse_actions(&record.actions, &all_definitions)?,
                })
            })();
            parsed
                .inspect_err(
                    |error| tracing::error!(rule_id = record.id, %error, "stored rule no longer parses; skipped"),
                )
                .ok()
        };
        let triggers = repo.rules(TRIGGER).await?.into_iter().filter_map(|record| parse_rule(record, false)).collect();
        let automations =
            repo.rules(AUTOMATION).await?.into_iter().filter_map(|record| parse_rule(record, true)).collect();
        let mut policies = Vec::new();
        for record in repo.sla_policies().await?.into_iter().filter(|record| record.active) {
            let policy = (|| -> Result<SlaPolicy> {
                Ok(SlaPolicy {
                    id: record.id,
                    name: record.name.clone(),
                    position: record.position,
                    conditions: Conditions::parse(&record.conditions, &all_definitions, false, false)?,
                    targets: SlaTargets::parse(&record.targets)?,
                    calendar_id: record.calendar_id,
                })
            })();
            match policy {
                Ok(policy) => policies.push(policy),
                Err(error) => {
                    tracing::error!(policy_id = record.id, %error, "stored SLA policy no longer parses; skipped")
                }
            }
        }
        let calendars = repo.calendars().await?.into_iter().map(|record| (record.id, record.calendar)).collect();
        Ok(RuleSet { triggers, automations, policies, calendars, definitions, categories: repo.categories().await? })
    }

    fn require_admin(actor: &Agent) -> Result<()> {
        require_active(actor)?;
        require(actor.role.manages_settings(), "settings.forbidden")
    }

    /// Every calendar.
    pub async fn list_calendars(&self, actor: &Agent) -> Result<Vec<CalendarRecord>> {
        require_active(actor)?;
        Ok(self.store.repo().calendars().await?)
    }

    /// Creates (`id = None`) or replaces a calendar (admins).
    pub async fn save_calendar(
        &self,
        actor: &Agent,
        id: Option<i64>,
        name: &str,
        raw: &Value,
    ) -> Result<CalendarRecord> {
        Self::require_admin(actor)?;
        let name = check_name(name)?;
        let calendar = BusinessCalendar::parse(raw)?;
        let now = self.now();
        let tx = self.store.begin().await?;
        let id = match id {
            Some(id) => {
                if !tx.repo().save_calendar(id, &name, &calendar, now).await? {
                    return Err(AppError::NotFound(Entity::Calendar));
                }
                id
            }
            None => tx.repo().insert_calendar(&name, &calendar, now).await?,
        };
        tx.commit().await?;
        self.invalidate_rules().await;
        Ok(CalendarRecord { id, name, calendar })
    }

    /// Deletes a calendar no SLA policy uses (admins).
    pub async fn delete_calendar(&self, actor: &Agent, id: i64) -> Result<()> {
        Self::require_admin(actor)?;
        let tx = self.store.begin().await?;
        match tx.repo().delete_calendar(id).await {
            Ok(true) => {}
            Ok(false) => return Err(AppError::NotFound(Entity::Calendar)),
            Err(kefu_store::StoreError::MissingReference(_)) => {
                return Err(AppError::InvalidReference {
                    field: "id",
                    message: "an SLA policy still uses this calendar".into(),
                });
            }
            Err(error) => return Err(error.into()),
        }
        tx.commit().await?;
        self.invalidate_rules().await;
        Ok(())
    }

    /// Every SLA policy, in order.
    pub async fn list_sla_policies(&self, actor: &Agent) -> Result<Vec<SlaPolicyRecord>> {
        require_active(actor)?;
        Ok(self.store.repo().sla_policies().await?)
    }

    /// Creates (`id = None`) or replaces an SLA policy (admins).
    pub async fn save_sla_policy(
        &self,
        actor: &Agent,
        id: Option<i64>,
        input: SlaPolicyInput,
    ) -> Result<SlaPolicyRecord> {
        Self::require_admin(actor)?;
        let set = self.rule_set().await?;
        let conditions = Conditions::parse(&input.conditions, &set.definitions, false, false)?;
        let targets = SlaTargets::parse(&input.targets)?;
        if targets.business_hours && input.calendar_id.is_none() {
            return Err(DomainError::invalid("calendar_id", "business-hours targets need a calendar").into());
        }
        let tx = self.store.begin().await?;
        if let Some(calendar_id) = input.calendar_id
            && !tx.repo().calendars().await?.iter().any(|record| record.id == calendar_id)
        {
            return Err(AppError::InvalidReference {
                field: "calendar_id",
                message: format!("there is no calendar {calendar_id}"),
            });
        }
        let mut record = SlaPolicyRecord {
            id: id.unwrap_or_default(),
            name: check_name(&input.name)?,
            position: input.position,
            active: input.active,
            conditions: conditions.to_json(),
            targets: targets.to_json(),
            calendar_id: input.calendar_id,
        };
        let now = self.now();
        match id {
            Some(_) => {
                if !tx.repo().save_sla_policy(&record, now).await? {
                    return Err(AppError::NotFound(Entity::SlaPolicy));
                }
            }
            None => record.id = tx.repo().insert_sla_policy(&record, now).await?,
        }
        tx.commit().await?;
        self.invalidate_rules().await;
        Ok(record)
    }

    /// Deletes an SLA policy (tickets keep the targets that applied to them).
    pub async fn delete_sla_policy(&self, actor: &Agent, id: i64) -> Result<()> {
        Self::require_admin(actor)?;
        let tx = self.store.begin().await?;
        if !tx.repo().delete_sla_policy(id).await? {
            return Err(AppError::NotFound(Entity::SlaPolicy));
        }
        tx.commit().await?;
        self.invalidate_rules().await;
        Ok(())
    }

    /// Every trigger (`kind = TRIGGER`) or automation (`AUTOMATION`), in order, secrets masked.
    pub async fn list_rules(&self, actor: &Agent, kind: &'static str) -> Result<Vec<RuleRecord>> {
        require_active(actor)?;
        let mut records = self.store.repo().rules(kind).await?;
        for record in &mut records {
            record.actions = mask_secrets(&record.actions);
        }
        Ok(records)
    }

    /// Creates (`id = None`) or replaces a trigger or automation (admins), checking it completely first.
    pub async fn save_rule(
        &self,
        actor: &Agent,
        kind: &'static str,
        id: Option<i64>,
        input: RuleInput,
    ) -> Result<RuleRecord> {
        Self::require_admin(actor)?;
        let set = self.rule_set().await?;
        let time_based = kind == AUTOMATION;
        let events = parse_events(&input.events)?;
        match (time_based, events.is_empty()) {
            (true, false) => {
                return Err(DomainError::invalid("events", "automations run on the clock and take no events").into());
            }
            (false, true) => return Err(DomainError::invalid("events", "a trigger needs at least one event").into()),
            _ => {}
        }
        let conditions = Conditions::parse(&input.conditions, &set.definitions, time_based, !time_based)?;
        if time_based && !conditions.all.iter().any(|condition| condition.field.is_time_based()) {
            return Err(DomainError::invalid(
                "conditions",
                "an automation needs a minutes_since_* condition in `all`, so it waits before acting",
            )
            .into());
        }
        let tx = self.store.begin().await?;
        let stored = match id {
            Some(id) => Some(
                tx.repo()
                    .rules(kind)
                    .await?
                    .into_iter()
                    .find(|record| record.id == id)
                    .ok_or(AppError::NotFound(Entity::Rule))?,
            ),
            None => None,
        };
        let raw_actions = restore_secrets(&input.actions, stored.as_ref().map(|record| &record.actions));
        let actions = parse_actions(&raw_actions, &set.definitions)?;
        if actions.is_empty() {
            return Err(DomainError::invalid("actions", "a rule needs at least one action").into());
        }
        let mut record = RuleRecord {
            id: id.unwrap_or_default(),
            kind,
            name: check_name(&input.name)?,
            position: input.position,
            active: input.active,
            events: json!(events.iter().map(|event| event.as_str()).collect::<Vec<_>>()),
            conditions: conditions.to_json(),
            actions: json!(actions.iter().map(Action::to_json).collect::<Vec<_>>()),
            updated_at: self.now(),
        };
        match id {
            Some(_) => {
                tx.repo().save_rule(&record, record.updated_at).await?;
            }
            None => record.id = tx.repo().insert_rule(&record, record.updated_at).await?,
        }
        tx.commit().await?;
        self.invalidate_rules().await;
        record.actions = mask_secrets(&record.actions);
        Ok(record)
    }

    /// Deletes a trigger or automation (admins).
    pub async fn delete_rule(&self, actor: &Agent, kind: &'static str, id: i64) -> Result<()> {
        Self::require_admin(actor)?;
        let tx = self.store.begin().await?;
        if !tx.repo().delete_rule(kind, id).await? {
            return Err(AppError::NotFound(Entity::Rule));
        }
        tx.commit().await?;
        self.invalidate_rules().await;
        Ok(())
    }

    /// The macros the agent may use: shared ones and their own.
    pub async fn list_macros(&self, actor: &Agent) -> Result<Vec<MacroRecord>> {
        require_active(actor)?;
        Ok(self.store.repo().macros(actor.id).await?)
    }

    /// Creates (`id = None`) or replaces a macro. Anyone may keep personal macros; shared ones are for admins
    /// and supervisors. Actions are limited to ticket fields (no notifications or webhooks).
    pub async fn save_macro(&self, actor: &Agent, id: Option<i64>, input: MacroInput) -> Result<MacroRecord> {
        require_active(actor)?;
        if input.shared {
            require(actor.role.manages_team(), "macro.share_forbidden")?;
        }
        let set = self.rule_set().await?;
        if input.bodies.is_empty() || input.bodies.len() > 10 {
            return Err(DomainError::invalid("bodies", "a macro has 1 to 10 locale variants").into());
        }
        for (locale, body) in &input.bodies {
            if locale.is_empty() || locale.len() > 16 || !locale.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(DomainError::invalid("bodies", format!("{locale:?} is not a locale such as zh-CN")).into());
            }
            kefu_domain::template::check(body)?;
        }
        let actions = parse_actions(&input.actions, &set.definitions)?;
        if actions
            .iter()
            .any(|action| matches!(action, Action::Notify { .. } | Action::Webhook { .. } | Action::AddNote(_)))
        {
            return Err(DomainError::invalid(
                "actions",
                "macros change ticket fields; notifications and webhooks belong to triggers",
            )
            .into());
        }
        let tx = self.store.begin().await?;
        let stored = match id {
            Some(id) => Some(
                tx.repo()
                    .macro_by_id(id)
                    .await?
                    .filter(|record| record.owner_agent_id.is_none_or(|owner| owner == actor.id))
                    .ok_or(AppError::NotFound(Entity::Macro))?,
            ),
            None => None,
        };
        if stored.as_ref().is_some_and(|record| record.owner_agent_id.is_none()) {
            require(actor.role.manages_team(), "macro.share_forbidden")?;
        }
        let mut record = MacroRecord {
            id: id.unwrap_or_default(),
            title: check_name(&input.title)?,
            bodies: json!(input.bodies),
            actions: json!(actions.iter().map(Action::to_json).collect::<Vec<_>>()),
            owner_agent_id: if input.shared {
                None
            } else {
                stored.as_ref().and_then(|record| record.owner_agent_id).or(Some(actor.id))
            },
            active: input.active,
            usage_count: stored.as_ref().map(|record| record.usage_count).unwrap_or(0),
        };
        let now = self.now();
        match id {
            Some(_) => {
                tx.repo().save_macro(&record, now).await?;
            }
            None => record.id = tx.repo().insert_macro(&record, now).await?,
        }
        tx.commit().await?;
        Ok(record)
    }

    /// Deletes a macro (its owner, or admins and supervisors for shared ones).
    pub async fn delete_macro(&self, actor: &Agent, id: i64) -> Result<()> {
        require_active(actor)?;
        let tx = self.store.begin().await?;
        let record = tx
            .repo()
            .macro_by_id(id)
            .await?
            .filter(|record| record.owner_agent_id.is_none_or(|owner| owner == actor.id))
            .ok_or(AppError::NotFound(Entity::Macro))?;
        if record.owner_agent_id.is_none() {
            require(actor.role.manages_team(), "macro.share_forbidden")?;
        }
        tx.repo().delete_macro(id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One macro the agent may use.
    pub(crate) async fn usable_macro(&self, actor: &Agent, id: i64) -> Result<MacroRecord> {
        self.store
            .repo()
            .macro_by_id(id)
            .await?
            .filter(|record| record.active && record.owner_agent_id.is_none_or(|owner| owner == actor.id))
            .ok_or(AppError::NotFound(Entity::Macro))
    }

    /// Creates (`id = None`) or replaces a view; shared views are for admins and supervisors.
    pub async fn save_view(&self, actor: &Agent, id: Option<i64>, input: ViewInput) -> Result<ViewRecord> {
        require_active(actor)?;
        if input.shared {
            require(actor.role.manages_team(), "view.share_forbidden")?;
        }
        crate::views::parse_view_filters(actor, &input.filters, self.now())?;
        if !matches!(input.sort.as_str(), "-created_at" | "created_at" | "-updated_at" | "updated_at") {
            return Err(DomainError::invalid("sort", "use -created_at, created_at, -updated_at or updated_at").into());
        }
        let tx = self.store.begin().await?;
        let stored = match id {
            Some(id) => Some(
                tx.repo()
                    .view_by_id(id)
                    .await?
                    .filter(|record| record.owner_agent_id.is_none_or(|owner| owner == actor.id))
                    .ok_or(AppError::NotFound(Entity::View))?,
            ),
            None => None,
        };
        if stored.as_ref().is_some_and(|record| record.owner_agent_id.is_none()) {
            require(actor.role.manages_team(), "view.share_forbidden")?;
        }
        let mut record = ViewRecord {
            id: id.unwrap_or_default(),
            name: check_name(&input.name)?,
            filters: input.filters,
            sort: input.sort,
            owner_agent_id: if input.shared { None } else { Some(actor.id) },
            position: input.position,
        };
        let now = self.now();
        match id {
            Some(_) => {
                tx.repo().save_view(&record, now).await?;
            }
            None => record.id = tx.repo().insert_view(&record, now).await?,
        }
        tx.commit().await?;
        Ok(record)
    }

    /// Deletes a view (its owner, or admins and supervisors for shared ones).
    pub async fn delete_view(&self, actor: &Agent, id: i64) -> Result<()> {
        require_active(actor)?;
        let tx = self.store.begin().await?;
        let record = tx
            .repo()
            .view_by_id(id)
            .await?
            .filter(|record| record.owner_agent_id.is_none_or(|owner| owner == actor.id))
            .ok_or(AppError::NotFound(Entity::View))?;
        if record.owner_agent_id.is_none() {
            require(actor.role.manages_team(), "view.share_forbidden")?;
        }
        tx.repo().delete_view(id).await?;
        tx.commit().await?;
        Ok(())
    }
}
