//! Followers (`/tickets/{id}/followers`) and links (`/tickets/{id}/links`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_domain::{AgentId, LinkKind, TicketId, TicketLink};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::LinkKindDto;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentAgent};
use crate::state::AppState;

/// The ids of the agents following a ticket.
#[utoipa::path(get, path = "/tickets/{id}/followers", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<i64>), (status = 404, body = Problem)))]
pub async fn list_followers(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<i64>>> {
    Ok(Json(state.app.followers(&agent, TicketId(id)).await?.into_iter().map(|id| id.0).collect()))
}

/// Makes an agent (yourself, or anyone if you may edit tickets) follow the ticket; returns the followers.
#[utoipa::path(put, path = "/tickets/{id}/followers/{agent_id}", tag = "tickets", params(("id" = i64, Path), ("agent_id" = i64, Path)),
    responses((status = 200, body = Vec<i64>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn follow_ticket(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath((id, agent_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Vec<i64>>> {
    let followers = state.app.set_follower(&agent, TicketId(id), AgentId(agent_id), true).await?;
    Ok(Json(followers.into_iter().map(|id| id.0).collect()))
}

/// Stops an agent following the ticket; returns the followers.
#[utoipa::path(delete, path = "/tickets/{id}/followers/{agent_id}", tag = "tickets", params(("id" = i64, Path), ("agent_id" = i64, Path)),
    responses((status = 200, body = Vec<i64>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn unfollow_ticket(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath((id, agent_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Vec<i64>>> {
    let followers = state.app.set_follower(&agent, TicketId(id), AgentId(agent_id), false).await?;
    Ok(Json(followers.into_iter().map(|id| id.0).collect()))
}

/// A link from the ticket in the path to another, seen from the path's ticket.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkDto {
    /// The other ticket.
    pub ticket_id: i64,
    /// `related`; `parent_of` (this ticket is the parent) or `child_of` (the other one is);
    /// `split_from` (this ticket was split off the other) or `split_into`.
    pub relation: String,
}

fn to_link(ticket_id: TicketId, input: &LinkDto) -> Result<TicketLink, crate::error::ApiError> {
    let other = TicketId(input.ticket_id);
    let (source, target, kind) = match input.relation.as_str() {
        "related" => (ticket_id, other, LinkKind::Related),
        "parent_of" => (ticket_id, other, LinkKind::ParentOf),
        "child_of" => (other, ticket_id, LinkKind::ParentOf),
        "split_from" => (ticket_id, other, LinkKind::SplitFrom),
        "split_into" => (other, ticket_id, LinkKind::SplitFrom),
        other => {
            return Err(crate::error::ApiError::invalid(
                "relation",
                format!("unknown relation {other:?}; use related, parent_of, child_of, split_from or split_into"),
            ));
        }
    };
    Ok(TicketLink::new(source, target, kind)?)
}

fn from_link(ticket_id: TicketId, link: TicketLink) -> LinkDto {
    let outgoing = link.source_id == ticket_id;
    let other = if outgoing { link.target_id } else { link.source_id };
    let relation = match (LinkKindDto::from(link.kind), outgoing) {
        (LinkKindDto::Related, _) => "related",
        (LinkKindDto::ParentOf, true) => "parent_of",
        (LinkKindDto::ParentOf, false) => "child_of",
        (LinkKindDto::SplitFrom, true) => "split_from",
        (LinkKindDto::SplitFrom, false) => "split_into",
    };
    LinkDto { ticket_id: other.0, relation: relation.to_owned() }
}

/// The ticket's links (to tickets you may see).
#[utoipa::path(get, path = "/tickets/{id}/links", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<LinkDto>), (status = 404, body = Problem)))]
pub async fn list_links(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<LinkDto>>> {
    let ticket_id = TicketId(id);
    let links = state.app.links(&agent, ticket_id).await?;
    Ok(Json(links.into_iter().map(|link| from_link(ticket_id, link)).collect()))
}

/// Links the ticket to another.
#[utoipa::path(post, path = "/tickets/{id}/links", tag = "tickets", params(("id" = i64, Path)), request_body = LinkDto,
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_link(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<LinkDto>,
) -> ApiResult<StatusCode> {
    state.app.set_link(&agent, to_link(TicketId(id), &input)?, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a link.
#[utoipa::path(delete, path = "/tickets/{id}/links", tag = "tickets", params(("id" = i64, Path)), request_body = LinkDto,
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn remove_link(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<LinkDto>,
) -> ApiResult<StatusCode> {
    state.app.set_link(&agent, to_link(TicketId(id), &input)?, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
