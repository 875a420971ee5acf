//! Agents, groups and their membership, and API tokens.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kefu_domain::{Agent, AgentId, ApiTokenId, Group, GroupId, Role};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::parse_stored;
use crate::entities::{agent, agent_group, api_token, group};
use crate::{Repo, Result};

/// An agent with the secrets that never leave the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    /// The agent.
    pub agent: Agent,
    /// The argon2id PHC string; `None` for agents who cannot sign in with a password.
    pub password_hash: Option<String>,
    /// The base32 TOTP secret, once set up.
    pub totp_secret: Option<String>,
    /// True once the agent confirmed a TOTP code: sign-in then needs one.
    pub totp_enabled: bool,
    /// The last TOTP time step accepted, so a code cannot be used twice.
    pub totp_last_step: Option<i64>,
}

/// An API token as stored (only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    /// Id.
    pub id: ApiTokenId,
    /// Owner.
    pub agent_id: AgentId,
    /// Label given at creation.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

fn token_record(row: api_token::Model) -> ApiTokenRecord {
    ApiTokenRecord {
        id: ApiTokenId(row.id),
        agent_id: AgentId(row.agent_id),
        name: row.name,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    }
}

fn group_from(row: group::Model) -> Group {
    Group { id: GroupId(row.id), name: row.name, description: row.description }
}

impl<C: ConnectionTrait> Repo<'_, C> {
    async fn with_groups(&self, rows: Vec<agent::Model>) -> Result<Vec<AgentRecord>> {
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let mut groups: HashMap<i64, Vec<GroupId>> = HashMap::new();
        if !ids.is_empty() {
            let memberships = agent_group::Entity::find()
                .filter(agent_group::Column::AgentId.is_in(ids))
                .order_by_asc(agent_group::Column::GroupId)
                .all(self.conn)
                .await?;
            for row in memberships {
                groups.entry(row.agent_id).or_default().push(GroupId(row.group_id));
            }
        }
        rows.into_iter()
            .map(|row| {
                Ok(AgentRecord {
                    agent: Agent {
                        id: AgentId(row.id),
                        email: row.email,
                        name: row.name,
                        role: parse_stored::<Role>("agents", &row.role)?,
                        restricted_to_groups: row.restricted_to_groups,
                        group_ids: groups.remove(&row.id).unwrap_or_default(),
                        active: row.active,
                    },
                    password_hash: row.password_hash,
                    totp_secret: row.totp_secret,
                    totp_enabled: row.totp_enabled,
                    totp_last_step: row.totp_last_step,
                })
            })
            .collect()
    }

    /// Creates an agent; [`crate::StoreError::Conflict`] if the email is taken.
    pub async fn insert_agent(
        &self,
        agent: &Agent,
        password_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AgentId> {
        let row = agent::ActiveModel {
            email: Set(agent.email.clone()),
            name: Set(agent.name.clone()),
            role: Set(agent.role.as_str().to_owned()),
            password_hash: Set(password_hash.map(str::to_owned)),
            totp_secret: Set(None),
            totp_enabled: Set(false),
            totp_last_step: Set(None),
            restricted_to_groups: Set(agent.restricted_to_groups),
            active: Set(agent.active),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let id = AgentId(agent::Entity::insert(row).exec_with_returning(self.conn).await?.id);
        self.set_agent_groups(id, &agent.group_ids).await?;
        Ok(id)
    }

    /// One agent.
    pub async fn agent(&self, id: AgentId) -> Result<Option<AgentRecord>> {
        let Some(row) = agent::Entity::find_by_id(id.0).one(self.conn).await? else {
            return Ok(None);
        };
        Ok(self.with_groups(vec![row]).await?.pop())
    }

    /// One agent by sign-in address (lower-case).
    pub async fn agent_by_email(&self, email: &str) -> Result<Option<AgentRecord>> {
        let Some(row) = agent::Entity::find().filter(agent::Column::Email.eq(email)).one(self.conn).await? else {
            return Ok(None);
        };
        Ok(self.with_groups(vec![row]).await?.pop())
    }

    /// Every agent, by id.
    pub async fn list_agents(&self) -> Result<Vec<Agent>> {
        let rows = agent::Entity::find().order_by_asc(agent::Column::Id).all(self.conn).await?;
        Ok(self.with_groups(rows).await?.into_iter().map(|record| record.agent).collect())
    }

    /// How many active admins exist (zero on a fresh install).
    pub async fn count_active_admins(&self) -> Result<u64> {
        Ok(agent::Entity::find()
            .filter(agent::Column::Role.eq(Role::Admin.as_str()))
            .filter(agent::Column::Active.eq(true))
            .count(self.conn)
            .await?)
    }

    /// Writes an agent's profile, role, restriction and activity, and replaces their groups.
    pub async fn save_agent(&self, agent: &Agent, now: DateTime<Utc>) -> Result<bool> {
        let result = agent::Entity::update_many()
            .col_expr(agent::Column::Email, Expr::val(agent.email.clone()))
            .col_expr(agent::Column::Name, Expr::val(agent.name.clone()))
            .col_expr(agent::Column::Role, Expr::val(agent.role.as_str()))
            .col_expr(agent::Column::RestrictedToGroups, Expr::val(agent.restricted_to_groups))
            .col_expr(agent::Column::Active, Expr::val(agent.active))
            .col_expr(agent::Column::UpdatedAt, Expr::val(now))
            .filter(agent::Column::Id.eq(agent.id.0))
            .exec(self.conn)
            .await?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        self.set_agent_groups(agent.id, &agent.group_ids).await?;
        Ok(true)
    }

    /// Replaces an agent's group memberships.
    pub async fn set_agent_groups(&self, agent_id: AgentId, group_ids: &[GroupId]) -> Result<()> {
        agent_group::Entity::delete_many().filter(agent_group::Column::AgentId.eq(agent_id.0)).exec(self.conn).await?;
        if !group_ids.is_empty() {
            let rows = group_ids
                .iter()
                .map(|group| agent_group::ActiveModel { agent_id: Set(agent_id.0), group_id: Set(group.0) });
            agent_group::Entity::insert_many(rows).exec(self.conn).await?;
        }
        Ok(())
    }

    /// Sets (or clears) an agent's password hash.
    pub async fn set_password_hash(&self, agent_id: AgentId, hash: Option<&str>, now: DateTime<Utc>) -> Result<bool> {
        let result = agent::Entity::update_many()
            .col_expr(agent::Column::PasswordHash, Expr::val(hash.map(str::to_owned)))
            .col_expr(agent::Column::UpdatedAt, Expr::val(now))
            .filter(agent::Column::Id.eq(agent_id.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Sets an agent's TOTP secret and whether it is enforced.
    pub async fn set_totp(
        &self,
        agent_id: AgentId,
        secret: Option<&str>,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let result = agent::Entity::update_many()
            .col_expr(agent::Column::TotpSecret, Expr::val(secret.map(str::to_owned)))
            .col_expr(agent::Column::TotpEnabled, Expr::val(enabled))
            .col_expr(agent::Column::UpdatedAt, Expr::val(now))
            .filter(agent::Column::Id.eq(agent_id.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Records the TOTP step just accepted, unless a later one already was; false for a replayed code.
    pub async fn use_totp_step(&self, agent_id: AgentId, step: i64) -> Result<bool> {
        let result = agent::Entity::update_many()
            .col_expr(agent::Column::TotpLastStep, Expr::val(step))
            .filter(agent::Column::Id.eq(agent_id.0))
            .filter(
                sea_orm::Condition::any()
                    .add(agent::Column::TotpLastStep.is_null())
                    .add(agent::Column::TotpLastStep.lt(step)),
            )
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Sets whether an agent takes new tickets from assignment rules, and how many unresolved ones at most.
    pub async fn set_availability(
        &self,
        agent_id: AgentId,
        available: bool,
        capacity: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let result = agent::Entity::update_many()
            .col_expr(agent::Column::Available, Expr::val(available))
            .col_expr(
                agent::Column::Capacity,
                Expr::val(capacity.map(|capacity| i32::try_from(capacity).unwrap_or(i32::MAX))),
            )
            .col_expr(agent::Column::UpdatedAt, Expr::val(now))
            .filter(agent::Column::Id.eq(agent_id.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// An agent's availability and capacity.
    pub async fn availability(&self, agent_id: AgentId) -> Result<Option<(bool, Option<u32>)>> {
        Ok(agent::Entity::find_by_id(agent_id.0)
            .one(self.conn)
            .await?
            .map(|row| (row.available, row.capacity.and_then(|capacity| u32::try_from(capacity).ok()))))
    }

    /// Records that a rule just assigned a ticket to the agent (round-robin goes to whoever waited longest).
    pub async fn touch_last_assigned(&self, agent_id: AgentId, now: DateTime<Utc>) -> Result<()> {
        agent::Entity::update_many()
            .col_expr(agent::Column::LastAssignedAt, Expr::val(now))
            .filter(agent::Column::Id.eq(agent_id.0))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// The active ticket-working members of a group as assignment candidates, each with their number of
    /// unresolved tickets: one query for the members, one grouped count.
    pub async fn assignment_candidates(&self, group_id: GroupId) -> Result<Vec<kefu_domain::rules::Candidate>> {
        let members = agent::Entity::find()
            .filter(
                agent::Column::Id.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(agent_group::Column::AgentId)
                        .from(agent_group::Entity)
                        .and_where(agent_group::Column::GroupId.eq(group_id.0))
                        .to_owned(),
                ),
            )
            .filter(agent::Column::Active.eq(true))
            .filter(agent::Column::Role.ne(Role::Collaborator.as_str()))
            .order_by_asc(agent::Column::Id)
            .all(self.conn)
            .await?;
        let ids: Vec<i64> = members.iter().map(|row| row.id).collect();
        let counts: Vec<(Option<i64>, i64)> = if ids.is_empty() {
            vec![]
        } else {
            crate::entities::ticket::Entity::find()
                .select_only()
                .column(crate::entities::ticket::Column::AssigneeId)
                .column_as(crate::entities::ticket::Column::Id.count(), "open")
                .filter(crate::entities::ticket::Column::AssigneeId.is_in(ids))
                .filter(crate::entities::ticket::Column::Status.is_in(["new", "open", "pending", "on_hold"]))
                .group_by(crate::entities::ticket::Column::AssigneeId)
                .into_tuple()
                .all(self.conn)
                .await?
        };
        Ok(members
            .into_iter()
            .map(|row| kefu_domain::rules::Candidate {
                agent_id: AgentId(row.id),
                available: row.available,
                capacity: row.capacity.and_then(|capacity| u32::try_from(capacity).ok()),
                open_tickets: counts
                    .iter()
                    .find(|(assignee, _)| *assignee == Some(row.id))
                    .map(|(_, open)| u32::try_from(*open).unwrap_or(u32::MAX))
                    .unwrap_or(0),
                last_assigned_at: row.last_assigned_at,
            })
            .collect())
    }

    /// Creates a group; [`crate::StoreError::Conflict`] if the name is taken.
    pub async fn insert_group(&self, name: &str, description: &str, now: DateTime<Utc>) -> Result<Group> {
        let row = group::ActiveModel {
            name: Set(name.to_owned()),
            description: Set(description.to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        Ok(group_from(group::Entity::insert(row).exec_with_returning(self.conn).await?))
    }

    /// One group.
    pub async fn group(&self, id: GroupId) -> Result<Option<Group>> {
        Ok(group::Entity::find_by_id(id.0).one(self.conn).await?.map(group_from))
    }

    /// Every group, by name.
    pub async fn list_groups(&self) -> Result<Vec<Group>> {
        Ok(group::Entity::find()
            .order_by_asc(group::Column::Name)
            .all(self.conn)
            .await?
            .into_iter()
            .map(group_from)
            .collect())
    }

    /// Writes a group's name and description.
    pub async fn save_group(&self, group: &Group, now: DateTime<Utc>) -> Result<bool> {
        let result = group::Entity::update_many()
            .col_expr(group::Column::Name, Expr::val(group.name.clone()))
            .col_expr(group::Column::Description, Expr::val(group.description.clone()))
            .col_expr(group::Column::UpdatedAt, Expr::val(now))
            .filter(group::Column::Id.eq(group.id.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// The members of a group.
    pub async fn group_members(&self, group_id: GroupId) -> Result<Vec<AgentId>> {
        let rows = agent_group::Entity::find()
            .filter(agent_group::Column::GroupId.eq(group_id.0))
            .order_by_asc(agent_group::Column::AgentId)
            .all(self.conn)
            .await?;
        Ok(rows.into_iter().map(|row| AgentId(row.agent_id)).collect())
    }

    /// Records a new API token by its hash.
    pub async fn insert_api_token(
        &self,
        agent_id: AgentId,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<ApiTokenRecord> {
        let row = api_token::ActiveModel {
            agent_id: Set(agent_id.0),
            name: Set(name.to_owned()),
            token_hash: Set(token_hash.to_owned()),
            created_at: Set(now),
            last_used_at: Set(None),
            revoked_at: Set(None),
            ..Default::default()
        };
        Ok(token_record(api_token::Entity::insert(row).exec_with_returning(self.conn).await?))
    }

    /// The unrevoked token with this hash.
    pub async fn active_api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>> {
        Ok(api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(token_hash))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(self.conn)
            .await?
            .map(token_record))
    }

    /// An agent's tokens, newest first.
    pub async fn api_tokens(&self, agent_id: AgentId) -> Result<Vec<ApiTokenRecord>> {
        let rows = api_token::Entity::find()
            .filter(api_token::Column::AgentId.eq(agent_id.0))
            .order_by_desc(api_token::Column::Id)
            .all(self.conn)
            .await?;
        Ok(rows.into_iter().map(token_record).collect())
    }

    /// Revokes one of an agent's tokens; false if there is no such unrevoked token.
    pub async fn revoke_api_token(&self, agent_id: AgentId, id: ApiTokenId, now: DateTime<Utc>) -> Result<bool> {
        let result = api_token::Entity::update_many()
            .col_expr(api_token::Column::RevokedAt, Expr::val(now))
            .filter(api_token::Column::Id.eq(id.0))
            .filter(api_token::Column::AgentId.eq(agent_id.0))
            .filter(api_token::Column::RevokedAt.is_null())
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Records that a token was used.
    pub async fn touch_api_token(&self, id: ApiTokenId, now: DateTime<Utc>) -> Result<()> {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::val(now))
            .filter(api_token::Column::Id.eq(id.0))
            .exec(self.conn)
            .await?;
        Ok(())
    }
}
