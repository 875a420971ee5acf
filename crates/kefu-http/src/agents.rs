//! `/api/v1/agents` and `/api/v1/groups`: the team, roles and group membership.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_app::agents::{AgentChanges, CreateAgent};
use kefu_domain::{Agent, AgentId, Group, GroupId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::dto::RoleDto;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentAgent};
use crate::state::AppState;

/// A staff user.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentDto {
    /// Id.
    pub id: i64,
    /// Sign-in address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: RoleDto,
    /// Sees only their groups' tickets (and tickets assigned to them).
    pub restricted_to_groups: bool,
    /// Groups.
    pub group_ids: Vec<i64>,
    /// Deactivated agents cannot sign in.
    pub active: bool,
}

impl From<&Agent> for AgentDto {
    fn from(agent: &Agent) -> Self {
        AgentDto {
            id: agent.id.0,
            email: agent.email.clone(),
            name: agent.name.clone(),
            role: agent.role.into(),
            restricted_to_groups: agent.restricted_to_groups,
            group_ids: agent.group_ids.iter().map(|id| id.0).collect(),
            active: agent.active,
        }
    }
}

/// A new agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgentDto {
    /// Sign-in address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: RoleDto,
    /// Initial password (at least 10 characters); without one the agent cannot sign in yet.
    #[serde(default)]
    pub password: Option<String>,
    /// See only their groups' tickets.
    #[serde(default)]
    pub restricted_to_groups: bool,
    /// Groups.
    #[serde(default)]
    pub group_ids: Vec<i64>,
}

/// Changes to an agent; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentPatch {
    /// New sign-in address.
    pub email: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<RoleDto>,
    /// New restriction.
    pub restricted_to_groups: Option<bool>,
    /// The full new set of groups.
    pub group_ids: Option<Vec<i64>>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// A new password.
    pub password: Option<String>,
}

/// Every agent.
#[utoipa::path(get, path = "/agents", tag = "agents", responses((status = 200, body = Vec<AgentDto>)))]
async fn list_agents(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<Json<Vec<AgentDto>>> {
    Ok(Json(state.app.list_agents(&agent).await?.iter().map(AgentDto::from).collect()))
}

/// Creates an agent (admins).
#[utoipa::path(post, path = "/agents", tag = "agents", request_body = NewAgentDto,
    responses((status = 201, body = AgentDto), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn create_agent(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
    ApiJson(input): ApiJson<NewAgentDto>,
) -> ApiResult<(StatusCode, Json<AgentDto>)> {
    let command = CreateAgent {
        email: input.email,
        name: input.name,
        role: input.role.into(),
        password: input.password,
        restricted_to_groups: input.restricted_to_groups,
        group_ids: input.group_ids.into_iter().map(GroupId).collect(),
    };
    let agent = state.app.create_agent(Some(&actor), command).await?;
    Ok((StatusCode::CREATED, Json(AgentDto::from(&agent))))
}

/// The signed-in agent.
#[utoipa::path(get, path = "/agents/me", tag = "agents", responses((status = 200, body = AgentDto)))]
async fn get_me(CurrentAgent(agent): CurrentAgent) -> Json<AgentDto> {
    Json(AgentDto::from(&agent))
}

/// One agent.
#[utoipa::path(get, path = "/agents/{id}", tag = "agents", params(("id" = i64, Path)),
    responses((status = 200, body = AgentDto), (status = 404, body = Problem)))]
async fn get_agent(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AgentDto>> {
    Ok(Json(AgentDto::from(&state.app.agent(&actor, AgentId(id)).await?)))
}

/// Changes an agent (admins). The last active admin cannot be demoted or deactivated.
#[utoipa::path(patch, path = "/agents/{id}", tag = "agents", params(("id" = i64, Path)), request_body = AgentPatch,
    responses((status = 200, body = AgentDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn update_agent(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<AgentPatch>,
) -> ApiResult<Json<AgentDto>> {
    let changes = AgentChanges {
        email: input.email,
        name: input.name,
        role: input.role.map(Into::into),
        restricted_to_groups: input.restricted_to_groups,
        group_ids: input.group_ids.map(|ids| ids.into_iter().map(GroupId).collect()),
        active: input.active,
        password: input.password,
    };
    Ok(Json(AgentDto::from(&state.app.update_agent(&actor, AgentId(id), changes).await?)))
}

/// A group of agents.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// What it handles.
    pub description: String,
}

impl From<Group> for GroupDto {
    fn from(group: Group) -> Self {
        GroupDto { id: group.id.0, name: group.name, description: group.description }
    }
}

/// A new group, or changes to one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    /// Name (required when creating).
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// Every group.
#[utoipa::path(get, path = "/groups", tag = "groups", responses((status = 200, body = Vec<GroupDto>)))]
async fn list_groups(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<Json<Vec<GroupDto>>> {
    Ok(Json(state.app.list_groups(&agent).await?.into_iter().map(GroupDto::from).collect()))
}

/// Creates a group (admins and supervisors).
#[utoipa::path(post, path = "/groups", tag = "groups", request_body = GroupInput,
    responses((status = 201, body = GroupDto), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn create_group(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<GroupInput>,
) -> ApiResult<(StatusCode, Json<GroupDto>)> {
    let group = state
        .app
        .create_group(
            &agent,
            input.name.as_deref().unwrap_or_default(),
            input.description.as_deref().unwrap_or_default(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(group.into())))
}

/// One group.
#[utoipa::path(get, path = "/groups/{id}", tag = "groups", params(("id" = i64, Path)),
    responses((status = 200, body = GroupDto), (status = 404, body = Problem)))]
async fn get_group(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<GroupDto>> {
    Ok(Json(state.app.group(&agent, GroupId(id)).await?.into()))
}

/// Renames or redescribes a group.
#[utoipa::path(patch, path = "/groups/{id}", tag = "groups", params(("id" = i64, Path)), request_body = GroupInput,
    responses((status = 200, body = GroupDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn update_group(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<GroupInput>,
) -> ApiResult<Json<GroupDto>> {
    let group =
        state.app.update_group(&agent, GroupId(id), input.name.as_deref(), input.description.as_deref()).await?;
    Ok(Json(group.into()))
}

/// The ids of a group's members.
#[utoipa::path(get, path = "/groups/{id}/members", tag = "groups", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<i64>), (status = 404, body = Problem)))]
async fn list_group_members(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<i64>>> {
    Ok(Json(state.app.group_members(&agent, GroupId(id)).await?.into_iter().map(|id| id.0).collect()))
}

/// Adds an agent to a group; returns the members.
#[utoipa::path(put, path = "/groups/{id}/members/{agent_id}", tag = "groups", params(("id" = i64, Path), ("agent_id" = i64, Path)),
    responses((status = 200, body = Vec<i64>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn add_group_member(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath((id, agent_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Vec<i64>>> {
    let members = state.app.set_group_member(&agent, GroupId(id), AgentId(agent_id), true).await?;
    Ok(Json(members.into_iter().map(|id| id.0).collect()))
}

/// Removes an agent from a group; returns the members.
#[utoipa::path(delete, path = "/groups/{id}/members/{agent_id}", tag = "groups", params(("id" = i64, Path), ("agent_id" = i64, Path)),
    responses((status = 200, body = Vec<i64>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_group_member(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath((id, agent_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Vec<i64>>> {
    let members = state.app.set_group_member(&agent, GroupId(id), AgentId(agent_id), false).await?;
    Ok(Json(members.into_iter().map(|id| id.0).collect()))
}

/// The agent and group routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(get_me))
        .routes(routes!(get_agent, update_agent))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, update_group))
        .routes(routes!(list_group_members))
        .routes(routes!(add_group_member, remove_group_member))
}
