//! The append-only ticket event log.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use kefu_domain::{Actor, AgentId, CustomerId, EventId, EventKind, TicketEvent, TicketEventDraft, TicketId};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};

use super::{Cursor, Page, paginate, parse_stored};
use crate::entities::ticket_event;
use crate::{Repo, Result, StoreError};

/// A page of events.
pub type EventPage = Page<TicketEvent>;

/// The parameters each new event row binds besides the ticket and the time, which all rows share.
const ROW_PARAMETERS: usize = 6;

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
    /// Only the new ids are read back: the rest of each event is what was written.
    pub async fn append_event_log(
        &self,
        ticket_id: TicketId,
        now: DateTime<Utc>,
        entries: &[(Actor, &TicketEventDraft)],
    ) -> Result<Vec<TicketEvent>> {
        if entries.is_empty() {
            return Ok(vec![]);
        }
        // Written as plain SQL: the query builder's cost per row was most of what a row of history cost. The
        // ticket and the time are bound once for every row (`?1`, `?2`: numbered parameters, which both
        // databases let a statement use more than once), and the JSON goes as text serialized here: a
        // `Value::Json` is cloned by the driver layer and serialized again on every bind.
        let backend = self.db_backend();
        let (mark, json_cast) = match backend {
            DbBackend::Postgres => ('$', "::jsonb"),
            _ => ('?', ""),
        };
        let mut sql = String::from(
            "INSERT INTO ticket_events (ticket_id, actor_kind, actor_id, kind, field, before, after, created_at) VALUES ",
        );
        let mut values: Vec<Value> = Vec::with_capacity(2 + entries.len() * ROW_PARAMETERS);
        values.extend([ticket_id.0.into(), now.into()]);
        for (row, (actor, draft)) in entries.iter().enumerate() {
            let (actor_kind, actor_id) = actor_columns(*actor);
            let first = 3 + row * ROW_PARAMETERS;
            let [actor_kind_at, actor_id_at, kind_at, field_at, before_at, after_at]: [usize; ROW_PARAMETERS] =
                std::array::from_fn(|n| first + n);
            write!(
                sql,
                "{comma}({mark}1, {mark}{actor_kind_at}, {mark}{actor_id_at}, {mark}{kind_at}, {mark}{field_at}, \
                 {mark}{before_at}{json_cast}, {mark}{after_at}{json_cast}, {mark}2)",
                comma = if row == 0 { "" } else { ", " },
            )
            .expect("writing to a string");
            values.extend([
                actor_kind.into(),
                actor_id.into(),
                draft.kind.as_str().into(),
                draft.field.clone().into(),
                draft.before.as_ref().map(serde_json::Value::to_string).into(),
                draft.after.as_ref().map(serde_json::Value::to_string).into(),
            ]);
        }
        sql.push_str(" RETURNING id");
        let rows = self.conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        let mut ids =
            rows.iter().map(|row| row.try_get_by_index::<i64>(0)).collect::<std::result::Result<Vec<_>, _>>()?;
        if ids.len() != entries.len() {
            return Err(StoreError::Corrupt {
                table: "ticket_events",
                message: format!("{} rows inserted, {} ids returned", entries.len(), ids.len()),
            });
        }
        // Both databases number the rows of one insert in the order of its values.
        ids.sort_unstable();
        Ok(ids
            .into_iter()
            .zip(entries)
            .map(|(id, (actor, draft))| TicketEvent {
                id: EventId(id),
                ticket_id,
                actor: *actor,
                created_at: now,
                kind: draft.kind,
                field: draft.field.clone(),
                before: draft.before.clone(),
                after: draft.after.clone(),
            })
            .collect())
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
