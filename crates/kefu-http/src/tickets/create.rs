//! `POST /api/v1/tickets`: opens a ticket, honouring `Idempotency-Key`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use kefu_app::tickets::{CreateTicket, Requester};
use kefu_domain::{AgentId, CategoryId, CustomerId, DomainError, GroupId, Identity};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::TicketDto;
use super::messages::NewMessageDto;
use crate::dto::{ChannelDto, PriorityDto, StatusDto};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{CurrentAgent, DigestedJson, IdempotencyKey, etag};
use crate::idempotency::run_once;
use crate::state::AppState;

/// The requester of a new ticket when there is no customer id: found by identity, created if new.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequesterInput {
    /// Name for a new customer.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Issuer of an external id (`wechat`, `crm` ...); with `external_id`.
    pub provider: Option<String>,
    /// The external id.
    pub external_id: Option<String>,
}

impl RequesterInput {
    fn to_requester(&self) -> Result<Requester, ApiError> {
        let identity = match (&self.email, &self.phone, &self.provider, &self.external_id) {
            (Some(email), None, None, None) => Identity::email(email)?,
            (None, Some(phone), None, None) => Identity::phone(phone)?,
            (None, None, Some(provider), Some(value)) => Identity::external(provider, value)?,
            _ => {
                return Err(ApiError::invalid(
                    "requester",
                    "give exactly one of email, phone, or provider with external_id",
                ));
            }
        };
        Ok(Requester::Identity { identity, name: self.name.clone() })
    }
}

/// A new ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketDto {
    /// Summary.
    pub subject: String,
    /// Initial status (default `new`).
    pub status: Option<StatusDto>,
    /// Priority (default `normal`).
    pub priority: Option<PriorityDto>,
    /// Category.
    pub category_id: Option<i64>,
    /// Channel (default `api`).
    pub channel: Option<ChannelDto>,
    /// An existing customer; or give `requester`.
    pub requester_id: Option<i64>,
    /// Someone known by an identity, found or created.
    pub requester: Option<RequesterInput>,
    /// Assignee.
    pub assignee_id: Option<i64>,
    /// Group.
    pub group_id: Option<i64>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom field values.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, Value>,
    /// The first message (usually the customer's description).
    pub message: Option<NewMessageDto>,
}

/// Opens a ticket. With an `Idempotency-Key` header, a retry returns the first response instead of
/// opening a second ticket.
#[utoipa::path(post, path = "/tickets", tag = "tickets", request_body = NewTicketDto,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = TicketDto, headers(("ETag" = String))),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_ticket(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    IdempotencyKey(key): IdempotencyKey,
    request: DigestedJson<NewTicketDto>,
) -> ApiResult<Response> {
    let input = request.body;
    let requester = match (input.requester_id, &input.requester) {
        (Some(id), None) => Requester::Existing(CustomerId(id)),
        (None, Some(requester)) => requester.to_requester()?,
        _ => {
            return Err(DomainError::invalid("requester_id", "give either requester_id or requester").into());
        }
    };
    let command = CreateTicket {
        subject: input.subject,
        status: input.status.map(Into::into),
        priority: input.priority.map(Into::into),
        category_id: input.category_id.map(CategoryId),
        channel: input.channel.map(Into::into),
        requester,
        assignee_id: input.assignee_id.map(AgentId),
        group_id: input.group_id.map(GroupId),
        tags: input.tags,
        custom_fields: input.custom_fields,
        first_message: match input.message.map(NewMessageDto::into_parts) {
            Some((_, Some(_))) => {
                return Err(ApiError::invalid("message.status", "set a new ticket's status with the top-level status"));
            }
            Some((message, None)) => Some(message),
            None => None,
        },
    };
    run_once(&state, &agent, key, &request.digest, || async {
        let ticket = state.app.create_ticket(&agent, command).await?;
        let headers =
            vec![(header::ETAG, etag(ticket.version)), (header::LOCATION, format!("/api/v1/tickets/{}", ticket.id))];
        let body = serde_json::to_value(TicketDto::from(ticket)).map_err(ApiError::internal)?;
        Ok((StatusCode::CREATED, headers, body))
    })
    .await
}
