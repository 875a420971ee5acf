//! `GET /api/v1/tickets`: filtered, sorted, keyset-paginated.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use kefu_app::TicketSort;
use kefu_app::tickets::TicketQuery;
use kefu_domain::{Agent, AgentId, CustomerId, GroupId, OrganizationId, Status};
use serde::Deserialize;
use utoipa::IntoParams;

use super::TicketPageDto;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiQuery, CurrentAgent};
use crate::pagination::PageQuery;
use crate::state::AppState;

/// Ticket list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketListQuery {
    /// Comma-separated statuses: `open,pending`.
    pub status: Option<String>,
    /// `me`, `none` or an agent id.
    pub assignee: Option<String>,
    /// `none` or a group id.
    pub group: Option<String>,
    /// A tag.
    pub tag: Option<String>,
    /// A requester's customer id.
    pub requester: Option<i64>,
    /// An organization id.
    pub organization: Option<i64>,
    /// Only tickets with a running SLA clock due at or before this RFC 3339 time (already-breached ones
    /// included; paused and met clocks are not due).
    pub sla_due_before: Option<DateTime<Utc>>,
    /// `-created_at` (default), `created_at`, `-updated_at` or `updated_at`.
    pub sort: Option<String>,
    /// Page size, 1 to 100.
    pub limit: Option<u64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

fn id_or_none(name: &str, text: &str) -> Result<Option<i64>, ApiError> {
    if text == "none" {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| ApiError::bad_request("request.invalid_query", format!("{name} must be an id or none")))
}

/// A page of tickets the signed-in agent may see.
#[utoipa::path(get, path = "/tickets", tag = "tickets", params(TicketListQuery),
    responses((status = 200, body = TicketPageDto), (status = 400, body = Problem)))]
pub async fn list_tickets(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiQuery(query): ApiQuery<TicketListQuery>,
) -> ApiResult<Json<TicketPageDto>> {
    let sort = match query.sort.as_deref() {
        None | Some("-created_at") => TicketSort::CreatedDesc,
        Some("created_at") => TicketSort::CreatedAsc,
        Some("-updated_at") => TicketSort::UpdatedDesc,
        Some("updated_at") => TicketSort::UpdatedAsc,
        Some(other) => {
            return Err(ApiError::bad_request(
                "request.invalid_query",
                format!("unknown sort {other:?}; use -created_at, created_at, -updated_at or updated_at"),
            ));
        }
    };
    let (limit, cursor) = PageQuery { limit: query.limit, cursor: query.cursor.clone() }.parse()?;
    let filter = ticket_query(
        &agent,
        FilterParams {
            status: query.status.as_deref(),
            assignee: query.assignee.as_deref(),
            group: query.group.as_deref(),
            tag: query.tag.as_deref(),
            requester: query.requester,
            organization: query.organization,
            sla_due_before: query.sla_due_before,
        },
    )?;
    let page = state.app.list_tickets(&agent, &filter, sort, limit, cursor).await?;
    Ok(Json(TicketPageDto::of(&state.app, page).await?))
}

/// The filter parameters shared by the list and the count.
pub(super) struct FilterParams<'a> {
    pub status: Option<&'a str>,
    pub assignee: Option<&'a str>,
    pub group: Option<&'a str>,
    pub tag: Option<&'a str>,
    pub requester: Option<i64>,
    pub organization: Option<i64>,
    pub sla_due_before: Option<DateTime<Utc>>,
}

/// Parses the filter parameters into a use-case query (`assignee=me` is the signed-in agent).
pub(super) fn ticket_query(agent: &Agent, params: FilterParams<'_>) -> Result<TicketQuery, ApiError> {
    let statuses = match params.status.filter(|s| !s.is_empty()) {
        Some(list) => list
            .split(',')
            .map(|status| status.trim().parse::<Status>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| ApiError::bad_request("request.invalid_query", error.to_string()))?,
        None => vec![],
    };
    let assignee = match params.assignee {
        Some("me") => Some(Some(agent.id)),
        Some(text) => Some(id_or_none("assignee", text)?.map(AgentId)),
        None => None,
    };
    let group = params.group.map(|text| id_or_none("group", text)).transpose()?.map(|id| id.map(GroupId));
    Ok(TicketQuery {
        statuses,
        assignee,
        group,
        tag: params.tag.filter(|tag| !tag.is_empty()).map(str::to_owned),
        requester: params.requester.map(CustomerId),
        organization: params.organization.map(OrganizationId),
        sla_due_before: params.sla_due_before,
    })
}
