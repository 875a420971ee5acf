//! What search results show of the tickets they found, in one query: each ticket's current state and what
//! [`Agent::can_view_parts`](kefu_domain::Agent::can_view_parts) needs, without the subject, tags and custom
//! fields a whole [`Ticket`](kefu_domain::Ticket) carries (a page of hits read them twice over, in two
//! queries, for nothing).

use chrono::{DateTime, Utc};
use kefu_domain::{AgentId, CustomerId, GroupId, Priority, Status, TicketId, TicketNumber};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::parse_stored;
use crate::entities::ticket;
use crate::{Repo, Result};

/// A ticket's current state, as a search hit shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketBrief {
    /// Id.
    pub id: TicketId,
    /// Human number.
    pub number: TicketNumber,
    /// Status.
    pub status: Status,
    /// Priority.
    pub priority: Priority,
    /// The customer who asked.
    pub requester_id: CustomerId,
    /// The agent working on it.
    pub assignee_id: Option<AgentId>,
    /// The team responsible for it.
    pub group_id: Option<GroupId>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

type BriefRow = (i64, i64, String, String, i64, Option<i64>, Option<i64>, DateTime<Utc>);

impl<C: ConnectionTrait> Repo<'_, C> {
    /// The current state of several tickets by id (missing ones left out), in id order; one query.
    pub async fn ticket_briefs_by_ids(&self, ids: &[TicketId]) -> Result<Vec<TicketBrief>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows: Vec<BriefRow> = ticket::Entity::find()
            .select_only()
            .columns([
                ticket::Column::Id,
                ticket::Column::Number,
                ticket::Column::Status,
                ticket::Column::Priority,
                ticket::Column::RequesterId,
                ticket::Column::AssigneeId,
                ticket::Column::GroupId,
                ticket::Column::UpdatedAt,
            ])
            .filter(ticket::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .order_by_asc(ticket::Column::Id)
            .into_tuple()
            .all(self.conn)
            .await?;
        rows.into_iter()
            .map(|(id, number, status, priority, requester_id, assignee_id, group_id, updated_at)| {
                Ok(TicketBrief {
                    id: TicketId(id),
                    number: TicketNumber(number),
                    status: parse_stored("tickets", &status)?,
                    priority: parse_stored("tickets", &priority)?,
                    requester_id: CustomerId(requester_id),
                    assignee_id: assignee_id.map(AgentId),
                    group_id: group_id.map(GroupId),
                    updated_at,
                })
            })
            .collect()
    }
}
