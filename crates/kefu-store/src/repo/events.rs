//! The append-only ticket event log.

use chrono::{DateTime, Utc};
use kefu_domain::{Actor, AgentId, CustomerId, EventId, EventKind, TicketEvent, TicketEventDraft, TicketId};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Cursor, Page, paginate, parse_stored};
use crate::entities::ticket_event;
use crate::{Repo, Result, StoreError};

/// A page of events.
pub type EventPage = Page<TicketEvent>;

fn actor_columns(actor: Actor) -> (&'static str, Option<i64>) {
    match actor {
        Actor::Agent(id) => ("agent", Some(id.0)),
        Actor::Customer(id) => ("customer", Some(id.0)),
        Actor::System => ("system", None),
    }
}

fn to_domain(row: ticket_event::Model) -> Result<TicketEvent> {
    let actor = match (row.actor_kind.as_str(), row.actor_id) {
        ("agent", Some(id)) => Actor::Agent(AgentId(id)),
        ("customer", Some(id)) => Actor::Customer(CustomerId(id)),
        ("system", _) => Actor::System,
        (kind, id) => {
            return Err(StoreError::Corrupt { table: "ticket_events", message: format!("bad actor {kind} {id:?}") });
        }
    };
    Ok(TicketEvent {
        id: EventId(row.id),
        ticket_id: TicketId(row.ticket_id),
        actor,
        created_at: row.created_at,
        kind: parse_stored::<EventKind>("ticket_events", &row.kind)?,
        field: row.field,
        before: row.before,
        after: row.after,
    })
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Appends events to a ticket's history in one statement; returns them as stored.
    pub async fn append_events(
        &self,
        ticket_id: TicketId,
        actor: Actor,
        now: DateTime<Utc>,
        drafts: &[TicketEventDraft],
    ) -> Result<Vec<TicketEvent>> {
        let entries: Vec<(Actor, &TicketEventDraft)> = drafts.iter().map(|draft| (actor, draft)).collect();
        self.append_event_log(ticket_id, now, &entries).await
    }

    /// Appends events by several actors (an agent's change and what the rules did after it) in one statement.
    pub async fn append_event_log(
        &self,
        ticket_id: TicketId,
        now: DateTime<Utc>,
        entries: &[(Actor, &TicketEventDraft)],
    ) -> Result<Vec<TicketEvent>> {
        if entries.is_empty() {
            return Ok(vec![]);
        }
        let rows = entries.iter().map(|(actor, draft)| {
            let (actor_kind, actor_id) = actor_columns(*actor);
            ticket_event::ActiveModel {
                ticket_id: Set(ticket_id.0),
                actor_kind: Set(actor_kind.to_owned()),
                actor_id: Set(actor_id),
                kind: Set(draft.kind.as_str().to_owned()),
                field: Set(draft.field.clone()),
                before: Set(draft.before.clone()),
                after: Set(draft.after.clone()),
                created_at: Set(now),
                ..Default::default()
            }
        });
        let stored = ticket_event::Entity::insert_many(rows).exec_with_returning(self.conn).await?;
        stored.into_iter().map(to_domain).collect()
    }

    /// A page of a ticket's history, oldest first.
    pub async fn events(&self, ticket_id: TicketId, limit: u64, cursor: Option<Cursor>) -> Result<EventPage> {
        let mut select = ticket_event::Entity::find().filter(ticket_event::Column::TicketId.eq(ticket_id.0));
        if let Some(cursor) = cursor {
            select = select.filter(ticket_event::Column::Id.gt(cursor.id));
        }
        let rows = select.order_by_asc(ticket_event::Column::Id).limit(limit + 1).all(self.conn).await?;
        let page = paginate(rows, limit, |row| Cursor::after_id(row.id));
        Ok(Page { items: page.items.into_iter().map(to_domain).collect::<Result<_>>()?, next_cursor: page.next_cursor })
    }
}
