//! `GET /api/v1/tickets/{id}/events`: the append-only history.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use kefu_domain::{TicketEvent, TicketId};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::ActorDto;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiPath, ApiQuery, CurrentAgent};
use crate::pagination::{PageDto, PageQuery};
use crate::state::AppState;

/// One entry of a ticket's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    /// Id; increasing in the order things happened.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// Who.
    pub actor: ActorDto,
    /// What: `created`, `field_changed`, `message_added`, `merged_into`, `merged_from`, `split_off`,
    /// `follower_added`, `follower_removed`, `link_added`, `link_removed`.
    pub kind: String,
    /// The field, for `field_changed`.
    pub field: Option<String>,
    /// The value before.
    pub before: Option<Value>,
    /// The value after (or the details).
    pub after: Option<Value>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<TicketEvent> for EventDto {
    fn from(event: TicketEvent) -> Self {
        EventDto {
            id: event.id.0,
            ticket_id: event.ticket_id.0,
            actor: event.actor.into(),
            kind: event.kind.as_str().to_owned(),
            field: event.field,
            before: event.before,
            after: event.after,
            created_at: event.created_at,
        }
    }
}

/// A page of a ticket's history, oldest first.
#[utoipa::path(get, path = "/tickets/{id}/events", tag = "tickets", params(("id" = i64, Path), PageQuery),
    responses((status = 200, body = PageDto<EventDto>), (status = 404, body = Problem)))]
pub async fn list_ticket_events(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<PageDto<EventDto>>> {
    let (limit, cursor) = query.parse()?;
    let page = state.app.ticket_events(&agent, TicketId(id), limit, cursor).await?;
    Ok(Json(PageDto::from_page(page, EventDto::from)))
}
