//! `GET /api/v1/tickets/count`: how many tickets match a list's filters (the counts beside inbox views).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::list::{FilterParams, ticket_query};
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, CurrentAgent};
use crate::state::AppState;

/// Ticket count filters: the same as the list's, without sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketCountQuery {
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
    /// included).
    pub sla_due_before: Option<DateTime<Utc>>,
}

/// A number of tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketCountDto {
    /// How many tickets the signed-in agent may see match the filters.
    pub count: u64,
}

/// Counts the tickets the signed-in agent may see that match the filters.
#[utoipa::path(get, path = "/tickets/count", tag = "tickets", params(TicketCountQuery),
    responses((status = 200, body = TicketCountDto), (status = 400, body = Problem)))]
pub async fn count_tickets(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiQuery(query): ApiQuery<TicketCountQuery>,
) -> ApiResult<Json<TicketCountDto>> {
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
    let count = state.app.count_tickets(&agent, &filter).await?;
    Ok(Json(TicketCountDto { count }))
}
