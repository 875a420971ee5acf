//! `/api/v1/views`: saved ticket filters with live counts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_app::rules::ViewInput;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentAgent};
use crate::pagination::PageQuery;
use crate::state::AppState;
use crate::tickets::TicketPageDto;

/// A saved view.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ViewDto {
    /// Id (ignored on input).
    #[serde(default, skip_deserializing)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// `{"status": ["open"], "assignee": "me"|"none"|id, "group": "none"|id, "tag": "vip",
    /// "sla_due_within_minutes": 60}`.
    #[schema(value_type = Object)]
    pub filters: Value,
    /// `-created_at` (default), `created_at`, `-updated_at` or `updated_at`.
    #[serde(default = "default_sort")]
    pub sort: String,
    /// Shared with everyone (admins and supervisors) or personal.
    #[serde(default)]
    pub shared: bool,
    /// Order in the list.
    #[serde(default)]
    pub position: i64,
    /// How many tickets it shows you now (ignored on input).
    #[serde(default, skip_deserializing)]
    pub count: Option<u64>,
}

fn default_sort() -> String {
    "-created_at".into()
}

fn to_dto(record: kefu_app::ViewRecord, count: Option<u64>) -> ViewDto {
    ViewDto {
        id: record.id,
        name: record.name,
        filters: record.filters,
        sort: record.sort,
        shared: record.owner_agent_id.is_none(),
        position: record.position,
        count,
    }
}

impl ViewDto {
    fn into_input(self) -> ViewInput {
        ViewInput {
            name: self.name,
            filters: self.filters,
            sort: self.sort,
            shared: self.shared,
            position: self.position,
        }
    }
}

/// Your views (shared ones and your own), each with its count.
#[utoipa::path(get, path = "/views", tag = "automation", responses((status = 200, body = Vec<ViewDto>)))]
pub async fn list_views(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<Json<Vec<ViewDto>>> {
    Ok(Json(
        state.app.list_views(&agent).await?.into_iter().map(|(record, count)| to_dto(record, Some(count))).collect(),
    ))
}

/// Creates a view (shared ones: admins and supervisors).
#[utoipa::path(post, path = "/views", tag = "automation", request_body = ViewDto,
    responses((status = 201, body = ViewDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_view(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<ViewDto>,
) -> ApiResult<(StatusCode, Json<ViewDto>)> {
    Ok((StatusCode::CREATED, Json(to_dto(state.app.save_view(&agent, None, input.into_input()).await?, None))))
}

/// Replaces a view.
#[utoipa::path(put, path = "/views/{id}", tag = "automation", params(("id" = i64, Path)), request_body = ViewDto,
    responses((status = 200, body = ViewDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_view(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ViewDto>,
) -> ApiResult<Json<ViewDto>> {
    Ok(Json(to_dto(state.app.save_view(&agent, Some(id), input.into_input()).await?, None)))
}

/// Deletes a view.
#[utoipa::path(delete, path = "/views/{id}", tag = "automation", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_view(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.app.delete_view(&agent, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of a view's tickets.
#[utoipa::path(get, path = "/views/{id}/tickets", tag = "automation", params(("id" = i64, Path), PageQuery),
    responses((status = 200, body = TicketPageDto), (status = 404, body = Problem)))]
pub async fn list_view_tickets(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<TicketPageDto>> {
    let (limit, cursor) = query.parse()?;
    let page = state.app.view_tickets(&agent, id, limit, cursor).await?;
    Ok(Json(TicketPageDto::of(&state.app, page).await?))
}
