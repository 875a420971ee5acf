//! Agents (staff users), their roles, groups, and the rule deciding which tickets an agent may see.

use crate::ticket::named_enum;
use crate::{AgentId, GroupId, Ticket};

named_enum!(
    /// What a staff user may do.
    Role, "role" {
        /// Everything, including agents, groups, fields and settings.
        Admin = "admin",
        /// Every ticket, and the team: groups and their members.
        Supervisor = "supervisor",
        /// Works tickets: replies, notes, updates.
        Agent = "agent",
        /// Reads tickets and adds internal notes; changes nothing else (light agent).
        Collaborator = "collaborator",
    }
);

impl Role {
    /// May manage agents, custom fields, categories and settings.
    pub fn manages_settings(self) -> bool {
        self == Role::Admin
    }

    /// May manage groups and their members, and merge customers.
    pub fn manages_team(self) -> bool {
        matches!(self, Role::Admin | Role::Supervisor)
    }

    /// May change tickets (fields, status, merge, split, links) and customers.
    pub fn edits_tickets(self) -> bool {
        self != Role::Collaborator
    }

    /// May send public replies.
    pub fn replies_publicly(self) -> bool {
        self != Role::Collaborator
    }

    /// Sees every ticket whatever its group.
    pub fn sees_all_tickets(self) -> bool {
        matches!(self, Role::Admin | Role::Supervisor)
    }
}

/// A staff user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Id.
    pub id: AgentId,
    /// Sign-in address, lower-case, unique.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// When true, the agent sees only tickets of their groups (and tickets assigned to them).
    pub restricted_to_groups: bool,
    /// Groups the agent belongs to.
    pub group_ids: Vec<GroupId>,
    /// Deactivated agents cannot sign in and keep their history.
    pub active: bool,
}

impl Agent {
    /// The one visibility rule: admins and supervisors see everything; an agent or collaborator sees
    /// everything unless restricted to groups, in which case they see tickets of their groups and tickets
    /// assigned to them.
    pub fn can_view(&self, ticket: &Ticket) -> bool {
        self.can_view_parts(ticket.group_id, ticket.assignee_id)
    }

    /// [`Agent::can_view`] on the two fields it depends on, for callers holding only those (live updates).
    pub fn can_view_parts(&self, group_id: Option<GroupId>, assignee_id: Option<AgentId>) -> bool {
        if self.role.sees_all_tickets() || !self.restricted_to_groups {
            return true;
        }
        assignee_id == Some(self.id) || group_id.is_some_and(|group| self.group_ids.contains(&group))
    }
}

/// A team of agents (tier 1, tier 2, finance ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Id.
    pub id: GroupId,
    /// Unique name.
    pub name: String,
    /// What the group handles.
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(role: Role, restricted: bool) -> Agent {
        Agent {
            id: AgentId(1),
            email: "a@example.com".into(),
            name: "A".into(),
            role,
            restricted_to_groups: restricted,
            group_ids: vec![GroupId(10)],
            active: true,
        }
    }

    #[test]
    fn restricted_agents_see_their_groups_and_their_assignments() {
        let restricted = agent(Role::Agent, true);
        assert!(restricted.can_view_parts(Some(GroupId(10)), None));
        assert!(!restricted.can_view_parts(Some(GroupId(11)), None));
        assert!(!restricted.can_view_parts(None, None));
        assert!(restricted.can_view_parts(Some(GroupId(11)), Some(AgentId(1))));
        assert!(agent(Role::Agent, false).can_view_parts(Some(GroupId(11)), None));
        assert!(agent(Role::Supervisor, true).can_view_parts(None, None));
        assert!(!agent(Role::Collaborator, true).can_view_parts(None, None));
    }
}
