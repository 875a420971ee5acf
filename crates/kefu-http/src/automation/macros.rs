//! `/api/v1/macros`: canned replies with placeholders, locale variants and actions; preview and apply.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kefu_app::rules::MacroInput;
use kefu_domain::{Tag, TicketId, TicketUpdate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentAgent};
use crate::state::AppState;
use crate::tickets::{MessageDto, etag_header};

/// A macro.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MacroDto {
    /// Id (ignored on input).
    #[serde(default, skip_deserializing)]
    pub id: i64,
    /// Title.
    pub title: String,
    /// Body templates by locale: `{"en": "Hi {{ customer.name }}, ...", "zh-CN": "您好 {{ customer.name }} ..."}`.
    /// Placeholders: `ticket.number`, `ticket.subject`, `ticket.status`, `customer.name`, `agent.name` ...
    pub bodies: BTreeMap<String, String>,
    /// Actions like a trigger's, limited to ticket fields: set_status, set_priority, set_group, add_tags ...
    #[serde(default = "no_actions")]
    #[schema(value_type = Vec<Object>)]
    pub actions: Value,
    /// Shared with everyone (admins and supervisors) or personal.
    #[serde(default)]
    pub shared: bool,
    /// Offered to agents.
    #[serde(default = "yes")]
    pub active: bool,
    /// How often it was used (ignored on input).
    #[serde(default, skip_deserializing)]
    pub usage_count: i64,
}

fn yes() -> bool {
    true
}

fn no_actions() -> Value {
    json!([])
}

impl From<kefu_app::MacroRecord> for MacroDto {
    fn from(record: kefu_app::MacroRecord) -> Self {
        MacroDto {
            id: record.id,
            title: record.title,
            bodies: serde_json::from_value(record.bodies).unwrap_or_default(),
            actions: record.actions,
            shared: record.owner_agent_id.is_none(),
            active: record.active,
            usage_count: record.usage_count,
        }
    }
}

impl MacroDto {
    fn into_input(self) -> MacroInput {
        MacroInput {
            title: self.title,
            bodies: self.bodies,
            actions: self.actions,
            shared: self.shared,
            active: self.active,
        }
    }
}

/// The macros you may use (shared ones and your own).
#[utoipa::path(get, path = "/macros", tag = "automation", responses((status = 200, body = Vec<MacroDto>)))]
pub async fn list_macros(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<Json<Vec<MacroDto>>> {
    Ok(Json(state.app.list_macros(&agent).await?.into_iter().map(MacroDto::from).collect()))
}

/// Creates a macro (shared ones: admins and supervisors).
#[utoipa::path(post, path = "/macros", tag = "automation", request_body = MacroDto,
    responses((status = 201, body = MacroDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_macro(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<MacroDto>,
) -> ApiResult<(StatusCode, Json<MacroDto>)> {
    Ok((StatusCode::CREATED, Json(state.app.save_macro(&agent, None, input.into_input()).await?.into())))
}

/// Replaces a macro.
#[utoipa::path(put, path = "/macros/{id}", tag = "automation", params(("id" = i64, Path)), request_body = MacroDto,
    responses((status = 200, body = MacroDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_macro(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<MacroDto>,
) -> ApiResult<Json<MacroDto>> {
    Ok(Json(state.app.save_macro(&agent, Some(id), input.into_input()).await?.into()))
}

/// Deletes a macro.
#[utoipa::path(delete, path = "/macros/{id}", tag = "automation", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_macro(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.app.delete_macro(&agent, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A macro applied to a ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroUse {
    /// The ticket.
    pub ticket_id: i64,
    /// The body variant to use (default: the requester's locale, then English).
    pub locale: Option<String>,
    /// For apply: post the body as an internal note instead of a public reply.
    #[serde(default)]
    pub internal: bool,
}

/// What a macro would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct MacroPreviewDto {
    /// The rendered body.
    pub body: String,
    /// The changes it would make: `status`, `priority`, `group_id`, `assignee_id`, `tags` ... (absent ones stay).
    #[schema(value_type = Object)]
    pub changes: Value,
}

fn changes_json(update: &TicketUpdate) -> Value {
    let mut changes = serde_json::Map::new();
    if let Some(status) = update.status {
        changes.insert("status".into(), json!(status.as_str()));
    }
    if let Some(priority) = update.priority {
        changes.insert("priority".into(), json!(priority.as_str()));
    }
    if let Some(group) = update.group_id {
        changes.insert("group_id".into(), json!(group.map(|id| id.0)));
    }
    if let Some(assignee) = update.assignee_id {
        changes.insert("assignee_id".into(), json!(assignee.map(|id| id.0)));
    }
    if let Some(category) = update.category_id {
        changes.insert("category_id".into(), json!(category.map(|id| id.0)));
    }
    if let Some(tags) = &update.tags {
        changes.insert("tags".into(), json!(tags.iter().map(Tag::as_str).collect::<Vec<_>>()));
    }
    if let Some(fields) = &update.custom_fields {
        changes.insert("custom_fields".into(), json!(fields));
    }
    Value::Object(changes)
}

/// Renders a macro for a ticket without changing anything.
#[utoipa::path(post, path = "/macros/{id}/preview", tag = "automation", params(("id" = i64, Path)), request_body = MacroUse,
    responses((status = 200, body = MacroPreviewDto), (status = 404, body = Problem)))]
pub async fn preview_macro(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<MacroUse>,
) -> ApiResult<Json<MacroPreviewDto>> {
    let (body, update) =
        state.app.preview_macro(&agent, id, TicketId(input.ticket_id), input.locale.as_deref()).await?;
    Ok(Json(MacroPreviewDto { body, changes: changes_json(&update) }))
}

/// Applies a macro to a ticket: its body as a reply (or note) and its changes, in one change.
#[utoipa::path(post, path = "/macros/{id}/apply", tag = "automation", params(("id" = i64, Path)), request_body = MacroUse,
    responses((status = 201, body = MessageDto, headers(("ETag" = String))), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn apply_macro(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<MacroUse>,
) -> ApiResult<(StatusCode, HeaderMap, Json<MessageDto>)> {
    let (message, ticket, attachments) =
        state.app.apply_macro(&agent, id, TicketId(input.ticket_id), input.internal, input.locale.as_deref()).await?;
    Ok((StatusCode::CREATED, etag_header(ticket.version), Json(MessageDto::new(message, &attachments))))
}
