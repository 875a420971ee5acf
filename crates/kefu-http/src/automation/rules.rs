//! `/api/v1/triggers` (with `POST /triggers/dry-run`) and `/api/v1/automations`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_app::rules::RuleInput;
use kefu_domain::TicketId;
use kefu_domain::triggers::TriggerEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentAgent};
use crate::state::AppState;

const TRIGGER: &str = kefu_app::TRIGGER;
const AUTOMATION: &str = kefu_app::AUTOMATION;

/// A trigger (runs on events) or an automation (runs every minute on the clock).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RuleDto {
    /// Id (ignored on input).
    #[serde(default, skip_deserializing)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Order; lower runs first.
    #[serde(default)]
    pub position: i64,
    /// Whether it runs.
    #[serde(default = "yes")]
    pub active: bool,
    /// Triggers: `ticket_created`, `ticket_updated`, `customer_replied`, `agent_replied`, `note_added`,
    /// `sla_warning`, `sla_breach`. Automations: none.
    #[serde(default)]
    pub events: Vec<String>,
    /// `{"all": [...], "any": [...]}`; each `{"field", "operator", "value"}`. Fields: subject, body, channel,
    /// status, priority, category_id, tags, group_id, assignee_id, customer_tier, organization_id,
    /// custom_fields.<key>, within_business_hours; automations also minutes_since_created,
    /// minutes_since_updated, minutes_since_status_changed. Operators: is, is_not, contains, not_contains,
    /// starts_with, in, not_in, greater_than, less_than; triggers also changed, changed_to, changed_from.
    #[schema(value_type = Object)]
    pub conditions: Value,
    /// `[{"type": ...}]`: set_status, set_priority, set_category, set_group, set_assignee, assign_round_robin,
    /// assign_least_loaded (value: group id), add_tags, remove_tags, set_custom_field (key, value), add_note
    /// (body template), notify (to: requester|assignee|agent|group, value, subject, body templates), webhook
    /// (url, secret; the secret is shown masked).
    #[schema(value_type = Vec<Object>)]
    pub actions: Value,
}

fn yes() -> bool {
    true
}

impl From<kefu_app::RuleRecord> for RuleDto {
    fn from(record: kefu_app::RuleRecord) -> Self {
        RuleDto {
            id: record.id,
            name: record.name,
            position: record.position,
            active: record.active,
            events: serde_json::from_value(record.events).unwrap_or_default(),
            conditions: record.conditions,
            actions: record.actions,
        }
    }
}

impl RuleDto {
    fn into_input(self) -> RuleInput {
        RuleInput {
            name: self.name,
            position: self.position,
            active: self.active,
            events: self.events,
            conditions: self.conditions,
            actions: self.actions,
        }
    }
}

/// Every trigger, in order.
#[utoipa::path(get, path = "/triggers", tag = "automation", responses((status = 200, body = Vec<RuleDto>)))]
pub async fn list_triggers(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<Json<Vec<RuleDto>>> {
    Ok(Json(state.app.list_rules(&agent, TRIGGER).await?.into_iter().map(RuleDto::from).collect()))
}

/// Creates a trigger (admins); a bad rule is refused here with the field at fault, never at run time.
#[utoipa::path(post, path = "/triggers", tag = "automation", request_body = RuleDto,
    responses((status = 201, body = RuleDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_trigger(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<RuleDto>,
) -> ApiResult<(StatusCode, Json<RuleDto>)> {
    Ok((StatusCode::CREATED, Json(state.app.save_rule(&agent, TRIGGER, None, input.into_input()).await?.into())))
}

/// Replaces a trigger (admins).
#[utoipa::path(put, path = "/triggers/{id}", tag = "automation", params(("id" = i64, Path)), request_body = RuleDto,
    responses((status = 200, body = RuleDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_trigger(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RuleDto>,
) -> ApiResult<Json<RuleDto>> {
    Ok(Json(state.app.save_rule(&agent, TRIGGER, Some(id), input.into_input()).await?.into()))
}

/// Deletes a trigger (admins).
#[utoipa::path(delete, path = "/triggers/{id}", tag = "automation", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_trigger(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.app.delete_rule(&agent, TRIGGER, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every automation, in order.
#[utoipa::path(get, path = "/automations", tag = "automation", responses((status = 200, body = Vec<RuleDto>)))]
pub async fn list_automations(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<Json<Vec<RuleDto>>> {
    Ok(Json(state.app.list_rules(&agent, AUTOMATION).await?.into_iter().map(RuleDto::from).collect()))
}

/// Creates an automation (admins): it needs a `minutes_since_*` condition in `all`.
#[utoipa::path(post, path = "/automations", tag = "automation", request_body = RuleDto,
    responses((status = 201, body = RuleDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_automation(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<RuleDto>,
) -> ApiResult<(StatusCode, Json<RuleDto>)> {
    Ok((StatusCode::CREATED, Json(state.app.save_rule(&agent, AUTOMATION, None, input.into_input()).await?.into())))
}

/// Replaces an automation (admins).
#[utoipa::path(put, path = "/automations/{id}", tag = "automation", params(("id" = i64, Path)), request_body = RuleDto,
    responses((status = 200, body = RuleDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_automation(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RuleDto>,
) -> ApiResult<Json<RuleDto>> {
    Ok(Json(state.app.save_rule(&agent, AUTOMATION, Some(id), input.into_input()).await?.into()))
}

/// Deletes an automation (admins).
#[utoipa::path(delete, path = "/automations/{id}", tag = "automation", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_automation(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.app.delete_rule(&agent, AUTOMATION, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which ticket and event to try the triggers on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunInput {
    /// The ticket.
    pub ticket_id: i64,
    /// The event (default `ticket_updated`).
    pub event: Option<String>,
}

/// One condition's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConditionOutcome {
    /// The condition.
    #[schema(value_type = Object)]
    pub condition: Value,
    /// Whether it held.
    pub matched: bool,
}

/// One trigger's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunDto {
    /// The trigger.
    pub rule_id: i64,
    /// Its name.
    pub name: String,
    /// Active.
    pub active: bool,
    /// Listens to the event.
    pub listens: bool,
    /// Would fire (active, listening, conditions met).
    pub would_fire: bool,
    /// The `all` conditions.
    pub all: Vec<ConditionOutcome>,
    /// The `any` conditions.
    pub any: Vec<ConditionOutcome>,
}

/// Shows which triggers would fire on a ticket for an event, and why, condition by condition. Changes nothing.
#[utoipa::path(post, path = "/triggers/dry-run", tag = "automation", request_body = DryRunInput,
    responses((status = 200, body = Vec<DryRunDto>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn dry_run_triggers(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<DryRunInput>,
) -> ApiResult<Json<Vec<DryRunDto>>> {
    let event: TriggerEvent = input.event.as_deref().unwrap_or("ticket_updated").parse()?;
    let entries = state.app.dry_run_triggers(&agent, TicketId(input.ticket_id), event).await?;
    let outcomes = |list: Vec<(kefu_domain::rules::Condition, bool)>| {
        list.into_iter()
            .map(|(condition, matched)| ConditionOutcome { condition: condition.to_json(), matched })
            .collect()
    };
    Ok(Json(
        entries
            .into_iter()
            .map(|entry| DryRunDto {
                rule_id: entry.rule_id,
                name: entry.name,
                active: entry.active,
                listens: entry.listens,
                would_fire: entry.active && entry.listens && entry.evaluation.matched,
                all: outcomes(entry.evaluation.all),
                any: outcomes(entry.evaluation.any),
            })
            .collect(),
    ))
}
