//! `/api/v1/sla-policies` and a ticket's SLA (`/api/v1/tickets/{id}/sla`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kefu_app::rules::SlaPolicyInput;
use kefu_domain::TicketId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentAgent};
use crate::state::AppState;

/// An SLA policy. The first active policy (by `position`) whose conditions match a ticket applies to it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SlaPolicyDto {
    /// Id (ignored on input).
    #[serde(default, skip_deserializing)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Order; lower first.
    #[serde(default)]
    pub position: i64,
    /// Whether it applies.
    #[serde(default = "yes")]
    pub active: bool,
    /// `{"all": [{"field": "priority", "operator": "is", "value": "urgent"}], "any": [...]}` over priority,
    /// category_id, group_id, channel, customer_tier, organization_id, tags, custom_fields.<key> ...
    #[schema(value_type = Object)]
    pub conditions: Value,
    /// `{"first_response_minutes": 60, "next_response_minutes": 240, "resolution_minutes": 2880,
    /// "business_hours": true, "warning_minutes": 30}` (at least one target).
    #[schema(value_type = Object)]
    pub targets: Value,
    /// The calendar for business-hours targets.
    pub calendar_id: Option<i64>,
}

fn yes() -> bool {
    true
}

impl From<kefu_app::SlaPolicyRecord> for SlaPolicyDto {
    fn from(record: kefu_app::SlaPolicyRecord) -> Self {
        SlaPolicyDto {
            id: record.id,
            name: record.name,
            position: record.position,
            active: record.active,
            conditions: record.conditions,
            targets: record.targets,
            calendar_id: record.calendar_id,
        }
    }
}

impl SlaPolicyDto {
    fn into_input(self) -> SlaPolicyInput {
        SlaPolicyInput {
            name: self.name,
            position: self.position,
            active: self.active,
            conditions: self.conditions,
            targets: self.targets,
            calendar_id: self.calendar_id,
        }
    }
}

/// Every SLA policy, in order.
#[utoipa::path(get, path = "/sla-policies", tag = "automation", responses((status = 200, body = Vec<SlaPolicyDto>)))]
pub async fn list_sla_policies(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<Json<Vec<SlaPolicyDto>>> {
    Ok(Json(state.app.list_sla_policies(&agent).await?.into_iter().map(SlaPolicyDto::from).collect()))
}

/// Creates an SLA policy (admins); bad conditions or targets are refused here, never at run time.
#[utoipa::path(post, path = "/sla-policies", tag = "automation", request_body = SlaPolicyDto,
    responses((status = 201, body = SlaPolicyDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_sla_policy(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<SlaPolicyDto>,
) -> ApiResult<(StatusCode, Json<SlaPolicyDto>)> {
    Ok((StatusCode::CREATED, Json(state.app.save_sla_policy(&agent, None, input.into_input()).await?.into())))
}

/// Replaces an SLA policy (admins). Tickets that already have it keep the targets that applied to them.
#[utoipa::path(put, path = "/sla-policies/{id}", tag = "automation", params(("id" = i64, Path)), request_body = SlaPolicyDto,
    responses((status = 200, body = SlaPolicyDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_sla_policy(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<SlaPolicyDto>,
) -> ApiResult<Json<SlaPolicyDto>> {
    Ok(Json(state.app.save_sla_policy(&agent, Some(id), input.into_input()).await?.into()))
}

/// Deletes an SLA policy (admins).
#[utoipa::path(delete, path = "/sla-policies/{id}", tag = "automation", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_sla_policy(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.app.delete_sla_policy(&agent, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One SLA clock.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaMetricDto {
    /// `first_response`, `next_response` or `resolution`.
    pub metric: String,
    /// The target in minutes.
    pub target_minutes: i64,
    /// When the clock started.
    pub started_at: DateTime<Utc>,
    /// When it is (or was) due; absent while paused or once met in time.
    pub due_at: Option<DateTime<Utc>>,
    /// When it was met.
    pub fulfilled_at: Option<DateTime<Utc>>,
    /// The target was missed.
    pub breached: bool,
    /// The clock is paused (pending, on hold).
    pub paused: bool,
    /// Running time used, in seconds.
    pub elapsed_seconds: i64,
}

/// A ticket's SLA.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSlaDto {
    /// The policy that applies, if any.
    pub policy_id: Option<i64>,
    /// Its targets as applied to this ticket.
    #[schema(value_type = Option<Object>)]
    pub targets: Option<Value>,
    /// Each clock.
    pub metrics: Vec<SlaMetricDto>,
}

/// A ticket's SLA clocks now.
#[utoipa::path(get, path = "/tickets/{id}/sla", tag = "automation", params(("id" = i64, Path)),
    responses((status = 200, body = TicketSlaDto), (status = 404, body = Problem)))]
pub async fn get_ticket_sla(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<TicketSlaDto>> {
    let sla = state.app.ticket_sla(&agent, TicketId(id)).await?;
    Ok(Json(TicketSlaDto {
        policy_id: sla.policy_id,
        targets: sla.targets.map(|targets| targets.to_json()),
        metrics: sla
            .metrics
            .into_iter()
            .map(|state| SlaMetricDto {
                metric: state.metric.as_str().to_owned(),
                target_minutes: state.target.num_minutes(),
                started_at: state.started_at,
                due_at: state.due_at,
                fulfilled_at: state.fulfilled_at,
                breached: state.breached,
                paused: state.paused,
                elapsed_seconds: state.elapsed.num_seconds(),
            })
            .collect(),
    }))
}
