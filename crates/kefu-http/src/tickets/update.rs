//! `PATCH /api/v1/tickets/{id}`: changes fields, honouring `If-Match`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use kefu_domain::{AgentId, CategoryId, CustomerId, GroupId, Tag, TicketId, TicketUpdate};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::TicketDto;
use super::get::etag_header;
use crate::dto::{PriorityDto, StatusDto, nullable};
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentAgent, IfMatch};
use crate::state::AppState;

/// Changes to a ticket; absent fields stay, `null` clears a clearable field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    /// New subject.
    pub subject: Option<String>,
    /// New status (checked against the transition table).
    pub status: Option<StatusDto>,
    /// New priority.
    pub priority: Option<PriorityDto>,
    /// New or cleared category.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub category_id: Option<Option<i64>>,
    /// New requester.
    pub requester_id: Option<i64>,
    /// New or cleared assignee.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
    /// New or cleared group (moving to a group the assignee is not in unassigns the ticket).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub group_id: Option<Option<i64>>,
    /// The full new set of tags.
    pub tags: Option<Vec<String>>,
    /// Custom field values to set (`null` removes one).
    pub custom_fields: Option<BTreeMap<String, Value>>,
}

/// Changes a ticket. Send the `ETag` you read as `If-Match` to be told (`412 ticket.version_conflict`)
/// instead of overwriting someone else's change.
#[utoipa::path(patch, path = "/tickets/{id}", tag = "tickets", params(("id" = i64, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag you read")),
    request_body = TicketPatch,
    responses((status = 200, body = TicketDto, headers(("ETag" = String))), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_ticket(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    IfMatch(expected_version): IfMatch,
    ApiJson(input): ApiJson<TicketPatch>,
) -> ApiResult<(HeaderMap, Json<TicketDto>)> {
    let update = TicketUpdate {
        subject: input.subject,
        status: input.status.map(Into::into),
        priority: input.priority.map(Into::into),
        category_id: input.category_id.map(|id| id.map(CategoryId)),
        requester_id: input.requester_id.map(CustomerId),
        assignee_id: input.assignee_id.map(|id| id.map(AgentId)),
        group_id: input.group_id.map(|id| id.map(GroupId)),
        tags: input.tags.as_deref().map(Tag::parse_set).transpose()?,
        custom_fields: input.custom_fields,
    };
    let ticket = state.app.update_ticket(&agent, TicketId(id), update, expected_version).await?;
    Ok((etag_header(ticket.version), Json(ticket.into())))
}
