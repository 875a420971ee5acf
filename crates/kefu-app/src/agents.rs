//! Agent and group use cases: the team, their roles and memberships.

use kefu_domain::{Agent, AgentId, DomainError, Group, GroupId, Identity, Role};
use kefu_store::Tx;

use crate::auth::{check_password_strength, hash_password};
use crate::{App, AppError, Entity, Result, require, require_active};

/// An agent to create.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAgent {
    /// Sign-in address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Initial password; without one the agent cannot sign in until an admin sets it.
    pub password: Option<String>,
    /// Whether the agent sees only their groups' tickets.
    pub restricted_to_groups: bool,
    /// Groups.
    pub group_ids: Vec<GroupId>,
}

/// Changes to an agent; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentChanges {
    /// New sign-in address.
    pub email: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New restriction.
    pub restricted_to_groups: Option<bool>,
    /// New set of groups.
    pub group_ids: Option<Vec<GroupId>>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// A new password set by an admin.
    pub password: Option<String>,
}

fn normalize_agent_email(email: &str) -> Result<String> {
    Ok(Identity::email(email).map_err(|_| DomainError::invalid("email", "not an email address"))?.value)
}

fn normalize_agent_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(DomainError::invalid("name", "a name is 1-200 characters").into());
    }
    Ok(name.to_owned())
}

fn normalize_group_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("name", "a group name is 1-100 characters").into());
    }
    Ok(name.to_owned())
}

async fn check_groups(tx: &Tx, group_ids: &[GroupId]) -> Result<Vec<GroupId>> {
    let mut group_ids = group_ids.to_vec();
    group_ids.sort();
    group_ids.dedup();
    for id in &group_ids {
        if tx.repo().group(*id).await?.is_none() {
            return Err(AppError::InvalidReference { field: "group_ids", message: format!("there is no group {id}") });
        }
    }
    Ok(group_ids)
}

impl App {
    /// Creates an agent. `actor` is the admin doing it, or `None` for the command line (which is how the
    /// first admin of a fresh install is made).
    pub async fn create_agent(&self, actor: Option<&Agent>, command: CreateAgent) -> Result<Agent> {
        if let Some(actor) = actor {
            require_active(actor)?;
            require(actor.role.manages_settings(), "agent.manage_forbidden")?;
        }
        let email = normalize_agent_email(&command.email)?;
        let name = normalize_agent_name(&command.name)?;
        let password_hash = match &command.password {
            Some(password) => {
                check_password_strength(password)?;
                Some(hash_password(password.clone()).await?)
            }
            None => None,
        };
        let tx = self.store.begin().await?;
        let group_ids = check_groups(&tx, &command.group_ids).await?;
        let mut agent = Agent {
            id: AgentId(0),
            email,
            name,
            role: command.role,
            restricted_to_groups: command.restricted_to_groups,
            group_ids,
            active: true,
        };
        agent.id =
            tx.repo().insert_agent(&agent, password_hash.as_deref(), self.now()).await.map_err(
                |error| match error {
                    kefu_store::StoreError::Conflict(_) => AppError::AlreadyExists(format!("agent {}", agent.email)),
                    other => other.into(),
                },
            )?;
        tx.commit().await?;
        Ok(agent)
    }

    /// One agent (any active agent may look up colleagues).
    pub async fn agent(&self, actor: &Agent, id: AgentId) -> Result<Agent> {
        require_active(actor)?;
        Ok(self.store.repo().agent(id).await?.ok_or(AppError::NotFound(Entity::Agent))?.agent)
    }

    /// Every agent.
    pub async fn list_agents(&self, actor: &Agent) -> Result<Vec<Agent>> {
        require_active(actor)?;
        Ok(self.store.repo().list_agents().await?)
    }

    /// Changes an agent (admins). The last active admin cannot be demoted or deactivated, so an install is
    /// never left without one.
    pub async fn update_agent(&self, actor: &Agent, id: AgentId, changes: AgentChanges) -> Result<Agent> {
        require_active(actor)?;
        require(actor.role.manages_settings(), "agent.manage_forbidden")?;
        let password_hash = match &changes.password {
            Some(password) => {
                check_password_strength(password)?;
                Some(hash_password(password.clone()).await?)
            }
            None => None,
        };
        let now = self.now();
        let tx = self.store.begin().await?;
        let mut agent = tx.repo().agent(id).await?.ok_or(AppError::NotFound(Entity::Agent))?.agent;
        let was_active_admin = agent.active && agent.role == Role::Admin;
        if let Some(email) = &changes.email {
            agent.email = normalize_agent_email(email)?;
        }
        if let Some(name) = &changes.name {
            agent.name = normalize_agent_name(name)?;
        }
        if let Some(role) = changes.role {
            agent.role = role;
        }
        if let Some(restricted) = changes.restricted_to_groups {
            agent.restricted_to_groups = restricted;
        }
        if let Some(group_ids) = &changes.group_ids {
            agent.group_ids = check_groups(&tx, group_ids).await?;
        }
        if let Some(active) = changes.active {
            agent.active = active;
        }
        let still_active_admin = agent.active && agent.role == Role::Admin;
        if was_active_admin && !still_active_admin && tx.repo().count_active_admins().await? <= 1 {
            return Err(DomainError::invalid("role", "the last active admin cannot be demoted or deactivated").into());
        }
        tx.repo().save_agent(&agent, now).await.map_err(|error| match error {
            kefu_store::StoreError::Conflict(_) => AppError::AlreadyExists(format!("agent {}", agent.email)),
            other => other.into(),
        })?;
        if let Some(hash) = &password_hash {
            tx.repo().set_password_hash(agent.id, Some(hash), now).await?;
        }
        tx.commit().await?;
        self.agents_changed();
        Ok(agent)
    }

    /// Creates a group (admins and supervisors).
    pub async fn create_group(&self, actor: &Agent, name: &str, description: &str) -> Result<Group> {
        require_active(actor)?;
        require(actor.role.manages_team(), "group.manage_forbidden")?;
        let name = normalize_group_name(name)?;
        let tx = self.store.begin().await?;
        let group = tx.repo().insert_group(&name, description.trim(), self.now()).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// One group.
    pub async fn group(&self, actor: &Agent, id: GroupId) -> Result<Group> {
        require_active(actor)?;
        self.store.repo().group(id).await?.ok_or(AppError::NotFound(Entity::Group))
    }

    /// Every group.
    pub async fn list_groups(&self, actor: &Agent) -> Result<Vec<Group>> {
        require_active(actor)?;
        Ok(self.store.repo().list_groups().await?)
    }

    /// Renames or redescribes a group (admins and supervisors).
    pub async fn update_group(
        &self,
        actor: &Agent,
        id: GroupId,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Group> {
        require_active(actor)?;
        require(actor.role.manages_team(), "group.manage_forbidden")?;
        let tx = self.store.begin().await?;
        let mut group = tx.repo().group(id).await?.ok_or(AppError::NotFound(Entity::Group))?;
        if let Some(name) = name {
            group.name = normalize_group_name(name)?;
        }
        if let Some(description) = description {
            group.description = description.trim().to_owned();
        }
        tx.repo().save_group(&group, self.now()).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// The members of a group.
    pub async fn group_members(&self, actor: &Agent, id: GroupId) -> Result<Vec<AgentId>> {
        require_active(actor)?;
        let repo = self.store.repo();
        repo.group(id).await?.ok_or(AppError::NotFound(Entity::Group))?;
        Ok(repo.group_members(id).await?)
    }

    /// Adds an agent to a group, or removes them (admins and supervisors).
    pub async fn set_group_member(
        &self,
        actor: &Agent,
        group_id: GroupId,
        agent_id: AgentId,
        member: bool,
    ) -> Result<Vec<AgentId>> {
        require_active(actor)?;
        require(actor.role.manages_team(), "group.manage_forbidden")?;
        let tx = self.store.begin().await?;
        tx.repo().group(group_id).await?.ok_or(AppError::NotFound(Entity::Group))?;
        let mut agent = tx.repo().agent(agent_id).await?.ok_or(AppError::NotFound(Entity::Agent))?.agent;
        agent.group_ids.retain(|id| *id != group_id);
        if member {
            agent.group_ids.push(group_id);
            agent.group_ids.sort();
        }
        tx.repo().set_agent_groups(agent.id, &agent.group_ids).await?;
        let members = tx.repo().group_members(group_id).await?;
        tx.commit().await?;
        self.agents_changed();
        Ok(members)
    }

    /// Whether the install has no active admin yet (the console then says how to create one).
    pub async fn needs_first_admin(&self) -> Result<bool> {
        Ok(self.store.repo().count_active_admins().await? == 0)
    }
}
