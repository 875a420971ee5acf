//! `/api/v1/tickets`: one file per action, and the ticket DTOs they share.

mod count;
mod create;
mod events;
mod get;
mod list;
mod merge;
mod messages;
mod related;
mod update;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kefu_app::{App, Page};
use kefu_domain::{Actor, AuthorKind, Ticket};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::dto::{ChannelDto, PriorityDto, StatusDto};
use crate::error::ApiResult;
use crate::pagination::PageDto;
use crate::state::AppState;

pub use get::etag_header;
pub use messages::MessageDto;

/// A page of tickets, with the names of their requesters, so that a list draws every row without asking for
/// each row's customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketPageDto {
    /// The tickets of this page.
    pub items: Vec<TicketDto>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// The requester of each ticket on the page, once each, in id order.
    pub requesters: Vec<RequesterNameDto>,
}

/// A requester's id and display name.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequesterNameDto {
    /// The customer id.
    pub id: i64,
    /// The customer's display name.
    pub name: String,
}

impl TicketPageDto {
    /// The page as the API sends it, its requesters' names read in one query.
    pub async fn of(app: &App, page: Page<Ticket>) -> ApiResult<TicketPageDto> {
        let requesters = app.requester_names(&page.items).await?;
        let page = PageDto::from_page(page, TicketDto::from);
        Ok(TicketPageDto {
            items: page.items,
            next_cursor: page.next_cursor,
            requesters: requesters.into_iter().map(|(id, name)| RequesterNameDto { id: id.0, name }).collect(),
        })
    }
}

/// A ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDto {
    /// Internal id.
    pub id: i64,
    /// Human number (`#1042`).
    pub number: i64,
    /// Summary.
    pub subject: String,
    /// Status.
    pub status: StatusDto,
    /// Priority.
    pub priority: PriorityDto,
    /// Category.
    pub category_id: Option<i64>,
    /// Channel it came in through.
    pub channel: ChannelDto,
    /// The customer who asked.
    pub requester_id: i64,
    /// Assignee.
    pub assignee_id: Option<i64>,
    /// Group.
    pub group_id: Option<i64>,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom field values.
    pub custom_fields: BTreeMap<String, Value>,
    /// Set when merged into another ticket.
    pub merged_into_id: Option<i64>,
    /// Bumped on every change; also the `ETag`.
    pub version: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Last solved.
    pub solved_at: Option<DateTime<Utc>>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<Ticket> for TicketDto {
    fn from(ticket: Ticket) -> Self {
        TicketDto {
            id: ticket.id.0,
            number: ticket.number.0,
            subject: ticket.subject,
            status: ticket.status.into(),
            priority: ticket.priority.into(),
            category_id: ticket.category_id.map(|id| id.0),
            channel: ticket.channel.into(),
            requester_id: ticket.requester_id.0,
            assignee_id: ticket.assignee_id.map(|id| id.0),
            group_id: ticket.group_id.map(|id| id.0),
            tags: ticket.tags.iter().map(|tag| tag.as_str().to_owned()).collect(),
            custom_fields: ticket.custom_fields,
            merged_into_id: ticket.merged_into_id.map(|id| id.0),
            version: ticket.version,
            created_at: ticket.created_at,
            updated_at: ticket.updated_at,
            solved_at: ticket.solved_at,
            closed_at: ticket.closed_at,
        }
    }
}

/// Who did or wrote something.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ActorDto {
    /// `agent`, `customer` or `system`.
    pub kind: String,
    /// The agent's or customer's id; absent for the system.
    pub id: Option<i64>,
}

impl From<Actor> for ActorDto {
    fn from(actor: Actor) -> Self {
        match actor {
            Actor::Agent(id) => ActorDto { kind: "agent".into(), id: Some(id.0) },
            Actor::Customer(id) => ActorDto { kind: "customer".into(), id: Some(id.0) },
            Actor::System => ActorDto { kind: "system".into(), id: None },
        }
    }
}

impl From<AuthorKind> for ActorDto {
    fn from(author: AuthorKind) -> Self {
        match author {
            AuthorKind::Agent(id) => Actor::Agent(id).into(),
            AuthorKind::Customer(id) => Actor::Customer(id).into(),
            AuthorKind::System => Actor::System.into(),
        }
    }
}

/// The ticket routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_tickets, create::create_ticket))
        .routes(routes!(get::get_ticket, update::update_ticket))
        .routes(routes!(get::get_ticket_by_number))
        .routes(routes!(count::count_tickets))
        .routes(routes!(messages::list_messages, messages::add_message))
        .routes(routes!(events::list_ticket_events))
        .routes(routes!(merge::merge_ticket))
        .routes(routes!(merge::split_ticket))
        .routes(routes!(related::list_followers))
        .routes(routes!(related::follow_ticket, related::unfollow_ticket))
        .routes(routes!(related::list_links, related::add_link))
        .routes(routes!(related::remove_link))
}
