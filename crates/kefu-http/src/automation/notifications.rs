//! `/api/v1/notifications` and agents' availability for assignment rules.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kefu_domain::AgentId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentAgent};
use crate::pagination::{PageDto, PageQuery};
use crate::state::AppState;

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    /// Id.
    pub id: i64,
    /// `assigned`, `sla_warning`, `sla_breach`, `rule`.
    pub kind: String,
    /// The ticket it is about.
    pub ticket_id: Option<i64>,
    /// One line.
    pub title: String,
    /// Details.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When you read it.
    pub read_at: Option<DateTime<Utc>>,
}

/// Notification list parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Only unread ones.
    #[serde(default)]
    pub unread: bool,
    /// Page size.
    pub limit: Option<u64>,
    /// Cursor.
    pub cursor: Option<String>,
}

/// Your notifications, newest first.
#[utoipa::path(get, path = "/notifications", tag = "automation", params(NotificationQuery),
    responses((status = 200, body = PageDto<NotificationDto>)))]
pub async fn list_notifications(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiQuery(query): ApiQuery<NotificationQuery>,
) -> ApiResult<Json<PageDto<NotificationDto>>> {
    let (limit, cursor) = PageQuery { limit: query.limit, cursor: query.cursor }.parse()?;
    let page = state.app.list_notifications(&agent, query.unread, limit, cursor).await?;
    Ok(Json(PageDto::from_page(page, |record| NotificationDto {
        id: record.id,
        kind: record.kind,
        ticket_id: record.ticket_id.map(|id| id.0),
        title: record.title,
        body: record.body,
        created_at: record.created_at,
        read_at: record.read_at,
    })))
}

/// Marks one of your notifications read.
#[utoipa::path(post, path = "/notifications/{id}/read", tag = "automation", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn read_notification(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.app.mark_notification_read(&agent, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether an agent takes tickets from assignment rules, and how many unresolved ones at most.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityDto {
    /// Takes new tickets from round-robin and least-loaded rules.
    pub available: bool,
    /// The most unresolved tickets they should hold; null for no limit.
    pub capacity: Option<u32>,
}

/// An agent's availability.
#[utoipa::path(get, path = "/agents/{id}/availability", tag = "agents", params(("id" = i64, Path)),
    responses((status = 200, body = AvailabilityDto), (status = 404, body = Problem)))]
pub async fn get_availability(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AvailabilityDto>> {
    let (available, capacity) = state.app.availability(&agent, AgentId(id)).await?;
    Ok(Json(AvailabilityDto { available, capacity }))
}

/// Sets an agent's availability (yourself, or anyone as admin or supervisor).
#[utoipa::path(put, path = "/agents/{id}/availability", tag = "agents", params(("id" = i64, Path)), request_body = AvailabilityDto,
    responses((status = 200, body = AvailabilityDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn set_availability(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<AvailabilityDto>,
) -> ApiResult<Json<AvailabilityDto>> {
    state.app.set_availability(&agent, AgentId(id), input.available, input.capacity).await?;
    Ok(Json(input))
}
