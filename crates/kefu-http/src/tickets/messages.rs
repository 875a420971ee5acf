//! `GET` and `POST /api/v1/tickets/{id}/messages`: the conversation, public replies and internal notes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use kefu_app::tickets::NewMessage;
use kefu_domain::{AttachmentId, Message, TicketId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ActorDto;
use super::get::etag_header;
use crate::attachments::AttachmentDto;
use crate::dto::StatusDto;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentAgent};
use crate::pagination::{PageDto, PageQuery};
use crate::state::AppState;

/// A new message: a public reply or an internal note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessageDto {
    /// Plain text.
    pub body: String,
    /// HTML (sanitized before it is stored).
    pub html: Option<String>,
    /// An internal note (only agents see it) instead of a public reply.
    #[serde(default)]
    pub internal: bool,
    /// Uploaded attachments (`POST /api/v1/attachments`) to put on the message.
    #[serde(default)]
    pub attachment_ids: Vec<i64>,
    /// When adding to a ticket: set its status in the same change ("send and set pending").
    pub status: Option<StatusDto>,
}

impl NewMessageDto {
    /// The use-case input, and the status to set with it.
    pub fn into_parts(self) -> (NewMessage, Option<kefu_domain::Status>) {
        let message = NewMessage {
            body_text: self.body,
            body_html: self.html,
            internal: self.internal,
            attachment_ids: self.attachment_ids.into_iter().map(AttachmentId).collect(),
        };
        (message, self.status.map(Into::into))
    }
}

/// A message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDto {
    /// Id.
    pub id: i64,
    /// The ticket it is on now.
    pub ticket_id: i64,
    /// Who wrote it.
    pub author: ActorDto,
    /// Internal note (agents only) or public reply.
    pub internal: bool,
    /// Plain text.
    pub body: String,
    /// Sanitized HTML; render it in a sandboxed frame.
    pub html: Option<String>,
    /// Attachments.
    pub attachments: Vec<AttachmentDto>,
    /// Written.
    pub created_at: DateTime<Utc>,
}

impl MessageDto {
    /// Builds the DTO from a message and the metadata of (at least) its attachments.
    pub fn new(message: Message, attachments: &[kefu_app::AttachmentRecord]) -> MessageDto {
        let attachments = message
            .attachment_ids
            .iter()
            .filter_map(|id| attachments.iter().find(|record| record.id == *id))
            .cloned()
            .map(AttachmentDto::from)
            .collect();
        MessageDto {
            id: message.id.0,
            ticket_id: message.ticket_id.0,
            author: message.author.into(),
            internal: message.internal,
            body: message.body_text,
            html: message.body_html,
            attachments,
            created_at: message.created_at,
        }
    }
}

/// A page of a ticket's conversation, oldest first (internal notes included).
#[utoipa::path(get, path = "/tickets/{id}/messages", tag = "tickets", params(("id" = i64, Path), PageQuery),
    responses((status = 200, body = PageDto<MessageDto>), (status = 404, body = Problem)))]
pub async fn list_messages(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<PageDto<MessageDto>>> {
    let (limit, cursor) = query.parse()?;
    let (page, attachments) = state.app.list_messages(&agent, TicketId(id), limit, cursor).await?;
    Ok(Json(PageDto::from_page(page, |message| MessageDto::new(message, &attachments))))
}

/// Adds a public reply or an internal note. Collaborators may only add notes
/// (`403 message.public_reply_forbidden`). Returns the message; the ticket's new version is the `ETag`.
#[utoipa::path(post, path = "/tickets/{id}/messages", tag = "tickets", params(("id" = i64, Path)), request_body = NewMessageDto,
    responses((status = 201, body = MessageDto, headers(("ETag" = String))), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_message(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<NewMessageDto>,
) -> ApiResult<(StatusCode, HeaderMap, Json<MessageDto>)> {
    let (message, status) = input.into_parts();
    let update = kefu_domain::TicketUpdate { status, ..kefu_domain::TicketUpdate::default() };
    let (message, ticket, attachments) = state.app.add_message(&agent, TicketId(id), message, update).await?;
    Ok((StatusCode::CREATED, etag_header(ticket.version), Json(MessageDto::new(message, &attachments))))
}
