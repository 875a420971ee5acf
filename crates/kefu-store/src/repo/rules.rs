//! Business calendars, SLA policies, triggers and automations, macros and saved views: admin-defined rules,
//! stored in their JSON rule format. `kefu-app` parses and checks them into `kefu-domain` values (it knows the
//! custom field definitions they refer to); this module only stores and returns them.

use chrono::{DateTime, Utc};
use kefu_domain::{AgentId, BusinessCalendar};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use crate::entities::{calendar, macro_entry, rule, sla_policy, view};
use crate::{Repo, Result, StoreError};

/// A stored calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarRecord {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// The calendar.
    pub calendar: BusinessCalendar,
}

/// A stored trigger or automation, its fields in the JSON rule format.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRecord {
    /// Id.
    pub id: i64,
    /// [`TRIGGER`] or [`AUTOMATION`].
    pub kind: &'static str,
    /// Name.
    pub name: String,
    /// Order.
    pub position: i64,
    /// Whether it runs.
    pub active: bool,
    /// The trigger events (empty for automations).
    pub events: Value,
    /// `{"all": [...], "any": [...]}`.
    pub conditions: Value,
    /// `[{"type": ...}, ...]`.
    pub actions: Value,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A stored SLA policy.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicyRecord {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Order: the first matching policy applies.
    pub position: i64,
    /// Whether it applies.
    pub active: bool,
    /// `{"all": [...], "any": [...]}`.
    pub conditions: Value,
    /// The targets' JSON form.
    pub targets: Value,
    /// Its business-hours calendar.
    pub calendar_id: Option<i64>,
}

/// A stored macro.
#[derive(Debug, Clone, PartialEq)]
pub struct MacroRecord {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Body templates by locale: `{"en": "...", "zh-CN": "..."}`.
    pub bodies: Value,
    /// Actions it applies.
    pub actions: Value,
    /// The owner of a personal macro; `None` when shared.
    pub owner_agent_id: Option<AgentId>,
    /// Offered to agents.
    pub active: bool,
    /// How often it was used.
    pub usage_count: i64,
}

/// A stored view (saved ticket filter).
#[derive(Debug, Clone, PartialEq)]
pub struct ViewRecord {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The filters' JSON form.
    pub filters: Value,
    /// The sort (`-created_at` ...).
    pub sort: String,
    /// The owner of a personal view; `None` when shared.
    pub owner_agent_id: Option<AgentId>,
    /// Order in the list.
    pub position: i64,
}

/// The kinds of rules in the generic `rules` table.
pub const TRIGGER: &str = "trigger";
/// See [`TRIGGER`].
pub const AUTOMATION: &str = "automation";

fn calendar_record(row: calendar::Model) -> Result<CalendarRecord> {
    let raw = serde_json::json!({
        "time_zone": row.time_zone,
        "weekly": row.weekly,
        "holidays": row.holidays,
        "extra_workdays": row.extra_workdays,
    });
    let calendar = BusinessCalendar::parse(&raw)
        .map_err(|error| StoreError::Corrupt { table: "calendars", message: error.to_string() })?;
    Ok(CalendarRecord { id: row.id, name: row.name, calendar })
}

fn rule_record(row: rule::Model) -> RuleRecord {
    RuleRecord {
        id: row.id,
        kind: if row.kind == TRIGGER { TRIGGER } else { AUTOMATION },
        name: row.name,
        position: row.position,
        active: row.active,
        events: row.events,
        conditions: row.conditions,
        actions: row.actions,
        updated_at: row.updated_at,
    }
}

fn policy_record(row: sla_policy::Model) -> SlaPolicyRecord {
    SlaPolicyRecord {
        id: row.id,
        name: row.name,
        position: row.position,
        active: row.active,
        conditions: row.conditions,
        targets: row.targets,
        calendar_id: row.calendar_id,
    }
}

fn macro_record(row: macro_entry::Model) -> MacroRecord {
    MacroRecord {
        id: row.id,
        title: row.title,
        bodies: row.bodies,
        actions: row.actions,
        owner_agent_id: row.owner_agent_id.map(AgentId),
        active: row.active,
        usage_count: row.usage_count,
    }
}

fn view_record(row: view::Model) -> ViewRecord {
    ViewRecord {
        id: row.id,
        name: row.name,
        filters: row.filters,
        sort: row.sort,
        owner_agent_id: row.owner_agent_id.map(AgentId),
        position: row.position,
    }
}

fn visible_to(owner: impl ColumnTrait, agent_id: AgentId) -> Condition {
    Condition::any().add(owner.is_null()).add(owner.eq(agent_id.0))
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Creates a calendar; [`StoreError::Conflict`] if the name is taken.
    pub async fn insert_calendar(&self, name: &str, calendar: &BusinessCalendar, now: DateTime<Utc>) -> Result<i64> {
        let json = calendar.to_json();
        let row = calendar::ActiveModel {
            name: Set(name.to_owned()),
            time_zone: Set(calendar.time_zone.name().to_owned()),
            weekly: Set(json["weekly"].clone()),
            holidays: Set(json["holidays"].clone()),
            extra_workdays: Set(json["extra_workdays"].clone()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        Ok(calendar::Entity::insert(row).exec_with_returning(self.conn).await?.id)
    }

    /// Replaces a calendar; false if there is none.
    pub async fn save_calendar(
        &self,
        id: i64,
        name: &str,
        calendar: &BusinessCalendar,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let json = calendar.to_json();
        let result = calendar::Entity::update_many()
            .col_expr(calendar::Column::Name, Expr::val(name))
            .col_expr(calendar::Column::TimeZone, Expr::val(calendar.time_zone.name()))
            .col_expr(calendar::Column::Weekly, Expr::val(json["weekly"].clone()))
            .col_expr(calendar::Column::Holidays, Expr::val(json["holidays"].clone()))
            .col_expr(calendar::Column::ExtraWorkdays, Expr::val(json["extra_workdays"].clone()))
            .col_expr(calendar::Column::UpdatedAt, Expr::val(now))
            .filter(calendar::Column::Id.eq(id))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Every calendar, by name.
    pub async fn calendars(&self) -> Result<Vec<CalendarRecord>> {
        let rows = calendar::Entity::find().order_by_asc(calendar::Column::Name).all(self.conn).await?;
        rows.into_iter().map(calendar_record).collect()
    }

    /// Deletes a calendar; [`StoreError::MissingReference`] while a policy uses it.
    pub async fn delete_calendar(&self, id: i64) -> Result<bool> {
        Ok(calendar::Entity::delete_by_id(id).exec(self.conn).await?.rows_affected == 1)
    }

    /// Creates an SLA policy.
    pub async fn insert_sla_policy(&self, record: &SlaPolicyRecord, now: DateTime<Utc>) -> Result<i64> {
        let row = sla_policy::ActiveModel {
            name: Set(record.name.clone()),
            position: Set(record.position),
            active: Set(record.active),
            conditions: Set(record.conditions.clone()),
            targets: Set(record.targets.clone()),
            calendar_id: Set(record.calendar_id),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        Ok(sla_policy::Entity::insert(row).exec_with_returning(self.conn).await?.id)
    }

    /// Replaces an SLA policy; false if there is none.
    pub async fn save_sla_policy(&self, record: &SlaPolicyRecord, now: DateTime<Utc>) -> Result<bool> {
        let result = sla_policy::Entity::update_many()
            .col_expr(sla_policy::Column::Name, Expr::val(record.name.clone()))
            .col_expr(sla_policy::Column::Position, Expr::val(record.position))
            .col_expr(sla_policy::Column::Active, Expr::val(record.active))
            .col_expr(sla_policy::Column::Conditions, Expr::val(record.conditions.clone()))
            .col_expr(sla_policy::Column::Targets, Expr::val(record.targets.clone()))
            .col_expr(sla_policy::Column::CalendarId, Expr::val(record.calendar_id))
            .col_expr(sla_policy::Column::UpdatedAt, Expr::val(now))
            .filter(sla_policy::Column::Id.eq(record.id))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Every SLA policy, in order.
    pub async fn sla_policies(&self) -> Result<Vec<SlaPolicyRecord>> {
        let rows = sla_policy::Entity::find()
            .order_by_asc(sla_policy::Column::Position)
            .order_by_asc(sla_policy::Column::Id)
            .all(self.conn)
            .await?;
        Ok(rows.into_iter().map(policy_record).collect())
    }

    /// Deletes an SLA policy (tickets keep the targets that applied to them).
    pub async fn delete_sla_policy(&self, id: i64) -> Result<bool> {
        Ok(sla_policy::Entity::delete_by_id(id).exec(self.conn).await?.rows_affected == 1)
    }

    /// Creates a trigger or automation (`record.kind`).
    pub async fn insert_rule(&self, record: &RuleRecord, now: DateTime<Utc>) -> Result<i64> {
        let row = rule::ActiveModel {
            kind: Set(record.kind.to_owned()),
            name: Set(record.name.clone()),
            position: Set(record.position),
            active: Set(record.active),
            events: Set(record.events.clone()),
            conditions: Set(record.conditions.clone()),
            actions: Set(record.actions.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        Ok(rule::Entity::insert(row).exec_with_returning(self.conn).await?.id)
    }

    /// Replaces a trigger or automation of `record.kind`; false if there is none.
    pub async fn save_rule(&self, record: &RuleRecord, now: DateTime<Utc>) -> Result<bool> {
        let result = rule::Entity::update_many()
            .col_expr(rule::Column::Name, Expr::val(record.name.clone()))
            .col_expr(rule::Column::Position, Expr::val(record.position))
            .col_expr(rule::Column::Active, Expr::val(record.active))
            .col_expr(rule::Column::Events, Expr::val(record.events.clone()))
            .col_expr(rule::Column::Conditions, Expr::val(record.conditions.clone()))
            .col_expr(rule::Column::Actions, Expr::val(record.actions.clone()))
            .col_expr(rule::Column::UpdatedAt, Expr::val(now))
            .filter(rule::Column::Id.eq(record.id))
            .filter(rule::Column::Kind.eq(record.kind))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Every trigger or automation, in order.
    pub async fn rules(&self, kind: &str) -> Result<Vec<RuleRecord>> {
        let rows = rule::Entity::find()
            .filter(rule::Column::Kind.eq(kind))
            .order_by_asc(rule::Column::Position)
            .order_by_asc(rule::Column::Id)
            .all(self.conn)
            .await?;
        Ok(rows.into_iter().map(rule_record).collect())
    }

    /// Deletes a trigger or automation.
    pub async fn delete_rule(&self, kind: &str, id: i64) -> Result<bool> {
        let result = rule::Entity::delete_many()
            .filter(rule::Column::Id.eq(id))
            .filter(rule::Column::Kind.eq(kind))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Creates a macro (`owner_agent_id` for a personal one).
    pub async fn insert_macro(&self, record: &MacroRecord, now: DateTime<Utc>) -> Result<i64> {
        let row = macro_entry::ActiveModel {
            title: Set(record.title.clone()),
            bodies: Set(record.bodies.clone()),
            actions: Set(record.actions.clone()),
            owner_agent_id: Set(record.owner_agent_id.map(|id| id.0)),
            active: Set(record.active),
            usage_count: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        Ok(macro_entry::Entity::insert(row).exec_with_returning(self.conn).await?.id)
    }

    /// Replaces a macro's title, bodies, actions and activity; false if there is none.
    pub async fn save_macro(&self, record: &MacroRecord, now: DateTime<Utc>) -> Result<bool> {
        let result = macro_entry::Entity::update_many()
            .col_expr(macro_entry::Column::Title, Expr::val(record.title.clone()))
            .col_expr(macro_entry::Column::Bodies, Expr::val(record.bodies.clone()))
            .col_expr(macro_entry::Column::Actions, Expr::val(record.actions.clone()))
            .col_expr(macro_entry::Column::Active, Expr::val(record.active))
            .col_expr(macro_entry::Column::UpdatedAt, Expr::val(now))
            .filter(macro_entry::Column::Id.eq(record.id))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// The macros an agent may use: shared ones and their own, by title.
    pub async fn macros(&self, agent_id: AgentId) -> Result<Vec<MacroRecord>> {
        let rows = macro_entry::Entity::find()
            .filter(visible_to(macro_entry::Column::OwnerAgentId, agent_id))
            .order_by_asc(macro_entry::Column::Title)
            .all(self.conn)
            .await?;
        Ok(rows.into_iter().map(macro_record).collect())
    }

    /// One macro.
    pub async fn macro_by_id(&self, id: i64) -> Result<Option<MacroRecord>> {
        Ok(macro_entry::Entity::find_by_id(id).one(self.conn).await?.map(macro_record))
    }

    /// Counts one use of a macro.
    pub async fn count_macro_use(&self, id: i64) -> Result<()> {
        macro_entry::Entity::update_many()
            .col_expr(macro_entry::Column::UsageCount, Expr::col(macro_entry::Column::UsageCount).add(1))
            .filter(macro_entry::Column::Id.eq(id))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Deletes a macro.
    pub async fn delete_macro(&self, id: i64) -> Result<bool> {
        Ok(macro_entry::Entity::delete_by_id(id).exec(self.conn).await?.rows_affected == 1)
    }

    /// Creates a view (`owner_agent_id` for a personal one).
    pub async fn insert_view(&self, record: &ViewRecord, now: DateTime<Utc>) -> Result<i64> {
        let row = view::ActiveModel {
            name: Set(record.name.clone()),
            filters: Set(record.filters.clone()),
            sort: Set(record.sort.clone()),
            owner_agent_id: Set(record.owner_agent_id.map(|id| id.0)),
            position: Set(record.position),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        Ok(view::Entity::insert(row).exec_with_returning(self.conn).await?.id)
    }

    /// Replaces a view's name, filters, sort and position; false if there is none.
    pub async fn save_view(&self, record: &ViewRecord, now: DateTime<Utc>) -> Result<bool> {
        let result = view::Entity::update_many()
            .col_expr(view::Column::Name, Expr::val(record.name.clone()))
            .col_expr(view::Column::Filters, Expr::val(record.filters.clone()))
            .col_expr(view::Column::Sort, Expr::val(record.sort.clone()))
            .col_expr(view::Column::Position, Expr::val(record.position))
            .col_expr(view::Column::UpdatedAt, Expr::val(now))
            .filter(view::Column::Id.eq(record.id))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// The views an agent may use: shared ones and their own, in order.
    pub async fn views(&self, agent_id: AgentId) -> Result<Vec<ViewRecord>> {
        let rows = view::Entity::find()
            .filter(visible_to(view::Column::OwnerAgentId, agent_id))
            .order_by_asc(view::Column::Position)
            .order_by_asc(view::Column::Id)
            .all(self.conn)
            .await?;
        Ok(rows.into_iter().map(view_record).collect())
    }

    /// One view.
    pub async fn view_by_id(&self, id: i64) -> Result<Option<ViewRecord>> {
        Ok(view::Entity::find_by_id(id).one(self.conn).await?.map(view_record))
    }

    /// Deletes a view.
    pub async fn delete_view(&self, id: i64) -> Result<bool> {
        Ok(view::Entity::delete_by_id(id).exec(self.conn).await?.rows_affected == 1)
    }
}
