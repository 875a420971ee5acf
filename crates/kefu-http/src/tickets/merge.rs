//! `POST /api/v1/tickets/{id}/merge` and `POST /api/v1/tickets/{id}/split`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_domain::{MessageId, TicketId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::TicketDto;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentAgent};
use crate::state::AppState;

/// Where to merge a ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The ticket that stays; this one closes and its messages move there.
    pub target_id: i64,
}

/// Both tickets after a merge.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeResult {
    /// The merged ticket, now closed, pointing at the target.
    pub source: TicketDto,
    /// The ticket that received the messages.
    pub target: TicketDto,
}

/// Merges this ticket into `target_id`: it closes, points at the target, and its messages show in the
/// target.
#[utoipa::path(post, path = "/tickets/{id}/merge", tag = "tickets", params(("id" = i64, Path)), request_body = MergeInput,
    responses((status = 200, body = MergeResult), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn merge_ticket(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<MergeInput>,
) -> ApiResult<Json<MergeResult>> {
    let (source, target) = state.app.merge_tickets(&agent, TicketId(id), TicketId(input.target_id)).await?;
    Ok(Json(MergeResult { source: source.into(), target: target.into() }))
}

/// Which message to split off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitInput {
    /// A message of this ticket; it moves to the new ticket.
    pub message_id: i64,
    /// Subject of the new ticket (default: this ticket's subject, marked as split).
    pub subject: Option<String>,
}

/// Splits a message off into a new ticket for the same requester, linked back (`split_from`).
#[utoipa::path(post, path = "/tickets/{id}/split", tag = "tickets", params(("id" = i64, Path)), request_body = SplitInput,
    responses((status = 201, body = TicketDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn split_ticket(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<SplitInput>,
) -> ApiResult<(StatusCode, Json<TicketDto>)> {
    let ticket = state.app.split_ticket(&agent, TicketId(id), MessageId(input.message_id), input.subject).await?;
    Ok((StatusCode::CREATED, Json(ticket.into())))
}
