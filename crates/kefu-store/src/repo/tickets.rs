//! Tickets and what hangs off them: tags, followers and links.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kefu_domain::{AgentId, CustomerId, LinkKind, NewTicket, Tag, Ticket, TicketId, TicketLink, TicketNumber};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Order,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
};

use super::{Cursor, Page, TicketFilter, TicketSort, Visibility, json_map, paginate, parse_stored};
use crate::entities::{customer, ticket, ticket_follower, ticket_link, ticket_sla, ticket_tag};
use crate::write_behind::statement_list;
use crate::{Backend, Repo, Result, StoreError};

const TABLE: &str = "tickets";

fn to_domain(row: ticket::Model, tags: Vec<Tag>) -> Result<Ticket> {
    Ok(Ticket {
        id: TicketId(row.id),
        number: TicketNumber(row.number),
        subject: row.subject,
        status: parse_stored(TABLE, &row.status)?,
        priority: parse_stored(TABLE, &row.priority)?,
        category_id: row.category_id.map(Into::into),
        channel: parse_stored(TABLE, &row.channel)?,
        requester_id: CustomerId(row.requester_id),
        assignee_id: row.assignee_id.map(Into::into),
        group_id: row.group_id.map(Into::into),
        tags,
        custom_fields: json_map(TABLE, row.custom_fields)?,
        merged_into_id: row.merged_into_id.map(Into::into),
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
        solved_at: row.solved_at,
        closed_at: row.closed_at,
    })
}

fn custom_fields_json(ticket_fields: &std::collections::BTreeMap<String, serde_json::Value>) -> serde_json::Value {
    serde_json::Value::Object(ticket_fields.clone().into_iter().collect())
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Stores a validated new ticket under the next ticket number; returns it as stored (version 1). The
    /// number is taken by the insert itself (from the sequence, or from the counter row bumped by the
    /// statement before it, sent along with it), so the database is asked once, not twice.
    pub async fn insert_ticket(&self, draft: &NewTicket, now: DateTime<Utc>) -> Result<Ticket> {
        let number = match self.backend {
            Backend::Postgres => "nextval('ticket_number_seq')",
            Backend::Sqlite => "(SELECT value FROM counters WHERE name = 'ticket_number')",
        };
        let insert = Query::insert()
            .into_table(ticket::Entity)
            .columns([
                ticket::Column::Number,
                ticket::Column::Subject,
                ticket::Column::Status,
                ticket::Column::Priority,
                ticket::Column::CategoryId,
                ticket::Column::Channel,
                ticket::Column::RequesterId,
                ticket::Column::AssigneeId,
                ticket::Column::GroupId,
                ticket::Column::CustomFields,
                ticket::Column::Version,
                ticket::Column::CreatedAt,
                ticket::Column::UpdatedAt,
                ticket::Column::StatusChangedAt,
            ])
            .values_panic([
                Expr::cust(number),
                draft.subject.clone().into(),
                draft.status.as_str().into(),
                draft.priority.as_str().into(),
                draft.category_id.map(|id| id.0).into(),
                draft.channel.as_str().into(),
                draft.requester_id.0.into(),
                draft.assignee_id.map(|id| id.0).into(),
                draft.group_id.map(|id| id.0).into(),
                custom_fields_json(&draft.custom_fields).into(),
                1i64.into(),
                now.into(),
                now.into(),
                now.into(),
            ])
            .returning_all()
            .to_owned();
        let insert = self.db_backend().build(&insert);
        let statement = match self.backend {
            Backend::Postgres => insert,
            Backend::Sqlite => statement_list([
                Statement::from_string(
                    DbBackend::Sqlite,
                    "UPDATE counters SET value = value + 1 WHERE name = 'ticket_number'",
                ),
                insert,
            ]),
        };
        let rows = self.conn.query_all_raw(statement).await?;
        let Some(row) = rows.last() else {
            return Err(StoreError::Corrupt { table: "counters", message: "ticket number counter missing".into() });
        };
        let inserted = ticket::Model::from_query_result(row, "")?;
        self.insert_tags(TicketId(inserted.id), draft.tags.iter()).await?;
        to_domain(inserted, draft.tags.clone())
    }

    async fn insert_tags(&self, ticket_id: TicketId, tags: impl Iterator<Item = &Tag>) -> Result<()> {
        let rows: Vec<_> = tags
            .map(|tag| ticket_tag::ActiveModel { ticket_id: Set(ticket_id.0), tag: Set(tag.as_str().to_owned()) })
            .collect();
        if !rows.is_empty() {
            self.write_behind(ticket_tag::Entity::insert_many(rows)).await?;
        }
        Ok(())
    }

    async fn tags_of(&self, ticket_ids: &[i64]) -> Result<HashMap<i64, Vec<Tag>>> {
        let mut by_ticket: HashMap<i64, Vec<Tag>> = HashMap::new();
        if ticket_ids.is_empty() {
            return Ok(by_ticket);
        }
        self.flush_written_behind().await?;
        let rows = ticket_tag::Entity::find()
            .filter(ticket_tag::Column::TicketId.is_in(ticket_ids.iter().copied()))
            .order_by_asc(ticket_tag::Column::Tag)
            .all(self.conn)
            .await?;
        for row in rows {
            let tag = Tag::parse(&row.tag)
                .map_err(|error| StoreError::Corrupt { table: "ticket_tags", message: error.to_string() })?;
            by_ticket.entry(row.ticket_id).or_default().push(tag);
        }
        Ok(by_ticket)
    }

    async fn with_tags(&self, rows: Vec<ticket::Model>) -> Result<Vec<Ticket>> {
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let mut tags = self.tags_of(&ids).await?;
        rows.into_iter()
            .map(|row| {
                let row_tags = tags.remove(&row.id).unwrap_or_default();
                to_domain(row, row_tags)
            })
            .collect()
    }

    /// One ticket by id.
    pub async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        let Some(row) = ticket::Entity::find_by_id(id.0).one(self.conn).await? else {
            return Ok(None);
        };
        Ok(self.with_tags(vec![row]).await?.pop())
    }

    /// One ticket by id, locked for the rest of the transaction on PostgreSQL (SQLite's writer lock already
    /// serializes writers).
    pub async fn lock_ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        let Some(row) = ticket::Entity::find_by_id(id.0).lock_exclusive().one(self.conn).await? else {
            return Ok(None);
        };
        Ok(self.with_tags(vec![row]).await?.pop())
    }

    /// Several tickets by id (missing ones left out), in id order.
    pub async fn tickets_by_ids(&self, ids: &[TicketId]) -> Result<Vec<Ticket>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = ticket::Entity::find()
            .filter(ticket::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .order_by_asc(ticket::Column::Id)
            .all(self.conn)
            .await?;
        self.with_tags(rows).await
    }

    /// Ticket ids after `after` in id order (for rebuilding the search index in batches).
    pub async fn ticket_ids_after(&self, after: i64, limit: u64) -> Result<Vec<TicketId>> {
        let ids: Vec<i64> = ticket::Entity::find()
            .select_only()
            .column(ticket::Column::Id)
            .filter(ticket::Column::Id.gt(after))
            .order_by_asc(ticket::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(self.conn)
            .await?;
        Ok(ids.into_iter().map(TicketId).collect())
    }

    /// One ticket by its human number.
    pub async fn ticket_by_number(&self, number: TicketNumber) -> Result<Option<Ticket>> {
        let Some(row) = ticket::Entity::find().filter(ticket::Column::Number.eq(number.0)).one(self.conn).await? else {
            return Ok(None);
        };
        Ok(self.with_tags(vec![row]).await?.pop())
    }

    /// Writes a changed ticket over `previous` (what the caller read) if the stored version is still
    /// `previous.version`; false when someone else changed it first (the caller answers with a conflict).
    /// Tags are written only when they differ from `previous.tags`.
    pub async fn save_ticket(&self, ticket: &Ticket, previous: &Ticket) -> Result<bool> {
        let result = ticket::Entity::update_many()
            .col_expr(ticket::Column::Subject, Expr::val(ticket.subject.clone()))
            .col_expr(ticket::Column::Status, Expr::val(ticket.status.as_str()))
            .col_expr(ticket::Column::Priority, Expr::val(ticket.priority.as_str()))
            .col_expr(ticket::Column::CategoryId, Expr::val(ticket.category_id.map(|id| id.0)))
            .col_expr(ticket::Column::RequesterId, Expr::val(ticket.requester_id.0))
            .col_expr(ticket::Column::AssigneeId, Expr::val(ticket.assignee_id.map(|id| id.0)))
            .col_expr(ticket::Column::GroupId, Expr::val(ticket.group_id.map(|id| id.0)))
            .col_expr(ticket::Column::CustomFields, Expr::val(custom_fields_json(&ticket.custom_fields)))
            .col_expr(ticket::Column::MergedIntoId, Expr::val(ticket.merged_into_id.map(|id| id.0)))
            .col_expr(ticket::Column::Version, Expr::val(ticket.version))
            .col_expr(ticket::Column::UpdatedAt, Expr::val(ticket.updated_at))
            .col_expr(ticket::Column::SolvedAt, Expr::val(ticket.solved_at))
            .col_expr(ticket::Column::ClosedAt, Expr::val(ticket.closed_at))
            .col_expr(
                ticket::Column::StatusChangedAt,
                Expr::case(ticket::Column::Status.ne(ticket.status.as_str()), Expr::val(ticket.updated_at))
                    .finally(Expr::col(ticket::Column::StatusChangedAt))
                    .into(),
            )
            .filter(ticket::Column::Id.eq(ticket.id.0))
            .filter(ticket::Column::Version.eq(previous.version))
            .exec(self.conn)
            .await?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        let removed: Vec<&str> =
            previous.tags.iter().filter(|tag| !ticket.tags.contains(tag)).map(Tag::as_str).collect();
        if !removed.is_empty() {
            self.flush_written_behind().await?;
            ticket_tag::Entity::delete_many()
                .filter(ticket_tag::Column::TicketId.eq(ticket.id.0))
                .filter(ticket_tag::Column::Tag.is_in(removed))
                .exec(self.conn)
                .await?;
        }
        self.insert_tags(ticket.id, ticket.tags.iter().filter(|tag| !previous.tags.contains(tag))).await?;
        Ok(true)
    }

    /// A page of tickets matching `filter`, in `sort` order, after `cursor`. Fetches `limit + 1` rows to know
    /// whether a next page exists, and the tags of the page in one more query.
    pub async fn list_tickets(
        &self,
        filter: &TicketFilter,
        sort: TicketSort,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Page<Ticket>> {
        // The filters may read tags and SLA rows.
        self.flush_written_behind().await?;
        let by_updated = matches!(sort, TicketSort::UpdatedDesc | TicketSort::UpdatedAsc);
        let mut statuses = filter.statuses.clone();
        statuses.sort_by_key(|status| status.as_str());
        statuses.dedup();
        // Several statuses: one query per status, merged here. A single `status IN (…)` query cannot walk the
        // (status, updated_at, id) index in order, so it sorts every matching row (a quarter of a second with a
        // million tickets); each per-status query reads at most `limit + 1` rows off its index.
        let rows = if statuses.len() > 1 {
            let mut rows = Vec::new();
            for status in statuses {
                let single = TicketFilter { statuses: vec![status], ..filter.clone() };
                rows.extend(self.ticket_rows(&single, sort, limit, cursor).await?);
            }
            let descending = matches!(sort, TicketSort::CreatedDesc | TicketSort::UpdatedDesc);
            rows.sort_by(|a, b| {
                let order = if by_updated { (a.updated_at, a.id).cmp(&(b.updated_at, b.id)) } else { a.id.cmp(&b.id) };
                if descending { order.reverse() } else { order }
            });
            rows.truncate(usize::try_from(limit + 1).unwrap_or(usize::MAX));
            rows
        } else {
            self.ticket_rows(filter, sort, limit, cursor).await?
        };
        let page = paginate(rows, limit, |row| {
            if by_updated { Cursor::after(row.updated_at, row.id) } else { Cursor::after_id(row.id) }
        });
        Ok(Page { items: self.with_tags(page.items).await?, next_cursor: page.next_cursor })
    }

    /// The first `limit + 1` rows matching `filter` in `sort` order after `cursor`.
    async fn ticket_rows(
        &self,
        filter: &TicketFilter,
        sort: TicketSort,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Vec<ticket::Model>> {
        let mut select = filtered_tickets(filter);

        let descending = matches!(sort, TicketSort::CreatedDesc | TicketSort::UpdatedDesc);
        let order = if descending { Order::Desc } else { Order::Asc };
        let by_updated = matches!(sort, TicketSort::UpdatedDesc | TicketSort::UpdatedAsc);
        if let Some(cursor) = cursor {
            let past_id = if descending { ticket::Column::Id.lt(cursor.id) } else { ticket::Column::Id.gt(cursor.id) };
            if by_updated {
                let at =
                    cursor.at().ok_or_else(|| StoreError::Unsupported("the cursor belongs to another sort".into()))?;
                let past_at =
                    if descending { ticket::Column::UpdatedAt.lt(at) } else { ticket::Column::UpdatedAt.gt(at) };
                select =
                    select.filter(Condition::any().add(past_at).add(ticket::Column::UpdatedAt.eq(at).and(past_id)));
            } else {
                if cursor.at_micros.is_some() {
                    return Err(StoreError::Unsupported("the cursor belongs to another sort".into()));
                }
                select = select.filter(past_id);
            }
        }
        if by_updated {
            select = select.order_by(ticket::Column::UpdatedAt, order.clone());
        }
        select = select.order_by(ticket::Column::Id, order).limit(limit + 1);
        Ok(select.all(self.conn).await?)
    }

    /// How many tickets match `filter`: one `COUNT(*)` served by the same indexes as the list.
    pub async fn count_tickets(&self, filter: &TicketFilter) -> Result<u64> {
        self.flush_written_behind().await?;
        Ok(sea_orm::PaginatorTrait::count(filtered_tickets(filter), self.conn).await?)
    }

    /// When each ticket's status last changed (its creation, when it never did).
    pub async fn status_changed_at(&self, ids: &[TicketId]) -> Result<HashMap<TicketId, DateTime<Utc>>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(i64, Option<DateTime<Utc>>, DateTime<Utc>)> = ticket::Entity::find()
            .select_only()
            .column(ticket::Column::Id)
            .column(ticket::Column::StatusChangedAt)
            .column(ticket::Column::CreatedAt)
            .filter(ticket::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .into_tuple()
            .all(self.conn)
            .await?;
        Ok(rows.into_iter().map(|(id, changed, created)| (TicketId(id), changed.unwrap_or(created))).collect())
    }

    /// Tickets in one of `statuses` that have not changed since `updated_before`, oldest change first: the
    /// candidates of time-based automations, read through the `(status, updated_at)` index.
    pub async fn stale_tickets(
        &self,
        statuses: &[kefu_domain::Status],
        updated_before: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Ticket>> {
        let rows = ticket::Entity::find()
            .filter(ticket::Column::Status.is_in(statuses.iter().map(|status| status.as_str())))
            .filter(ticket::Column::UpdatedAt.lte(updated_before))
            .order_by_asc(ticket::Column::UpdatedAt)
            .limit(limit)
            .all(self.conn)
            .await?;
        self.with_tags(rows).await
    }

    /// Moves every ticket of one requester to another (customer merge); returns the moved tickets' ids.
    pub async fn move_requester_tickets(&self, from: CustomerId, to: CustomerId) -> Result<Vec<TicketId>> {
        let ids: Vec<i64> = ticket::Entity::find()
            .select_only()
            .column(ticket::Column::Id)
            .filter(ticket::Column::RequesterId.eq(from.0))
            .into_tuple()
            .all(self.conn)
            .await?;
        ticket::Entity::update_many()
            .col_expr(ticket::Column::RequesterId, Expr::val(to.0))
            .col_expr(ticket::Column::Version, Expr::col(ticket::Column::Version).add(1))
            .filter(ticket::Column::RequesterId.eq(from.0))
            .exec(self.conn)
            .await?;
        Ok(ids.into_iter().map(TicketId).collect())
    }

    /// Adds a follower; false if they already followed.
    pub async fn add_follower(&self, ticket_id: TicketId, agent_id: AgentId, now: DateTime<Utc>) -> Result<bool> {
        let row = ticket_follower::ActiveModel {
            ticket_id: Set(ticket_id.0),
            agent_id: Set(agent_id.0),
            created_at: Set(now),
        };
        let inserted = ticket_follower::Entity::insert(row).on_conflict_do_nothing().exec(self.conn).await?;
        Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
    }

    /// Removes a follower; false if they did not follow.
    pub async fn remove_follower(&self, ticket_id: TicketId, agent_id: AgentId) -> Result<bool> {
        let result = ticket_follower::Entity::delete_many()
            .filter(ticket_follower::Column::TicketId.eq(ticket_id.0))
            .filter(ticket_follower::Column::AgentId.eq(agent_id.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// The agents following a ticket, in the order they started.
    pub async fn followers(&self, ticket_id: TicketId) -> Result<Vec<AgentId>> {
        let rows = ticket_follower::Entity::find()
            .filter(ticket_follower::Column::TicketId.eq(ticket_id.0))
            .order_by_asc(ticket_follower::Column::CreatedAt)
            .order_by_asc(ticket_follower::Column::AgentId)
            .all(self.conn)
            .await?;
        Ok(rows.into_iter().map(|row| AgentId(row.agent_id)).collect())
    }

    /// Adds a link; false if it already existed.
    pub async fn add_link(&self, link: TicketLink, now: DateTime<Utc>) -> Result<bool> {
        let row = ticket_link::ActiveModel {
            source_id: Set(link.source_id.0),
            target_id: Set(link.target_id.0),
            kind: Set(link.kind.as_str().to_owned()),
            created_at: Set(now),
        };
        let inserted = ticket_link::Entity::insert(row).on_conflict_do_nothing().exec(self.conn).await?;
        Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
    }

    /// Removes a link; false if there was none.
    pub async fn remove_link(&self, link: TicketLink) -> Result<bool> {
        let result = ticket_link::Entity::delete_many()
            .filter(ticket_link::Column::SourceId.eq(link.source_id.0))
            .filter(ticket_link::Column::TargetId.eq(link.target_id.0))
            .filter(ticket_link::Column::Kind.eq(link.kind.as_str()))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Every link touching a ticket, in either direction.
    pub async fn links(&self, ticket_id: TicketId) -> Result<Vec<TicketLink>> {
        let rows = ticket_link::Entity::find()
            .filter(
                Condition::any()
                    .add(ticket_link::Column::SourceId.eq(ticket_id.0))
                    .add(ticket_link::Column::TargetId.eq(ticket_id.0)),
            )
            .order_by_asc(ticket_link::Column::CreatedAt)
            .all(self.conn)
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(TicketLink {
                    source_id: TicketId(row.source_id),
                    target_id: TicketId(row.target_id),
                    kind: parse_stored::<LinkKind>("ticket_links", &row.kind)?,
                })
            })
            .collect()
    }
}

/// The tickets matching `filter`, before sorting and paging (shared by the list and the count).
fn filtered_tickets(filter: &TicketFilter) -> sea_orm::Select<ticket::Entity> {
    let mut select = ticket::Entity::find();
    if !filter.statuses.is_empty() {
        select = select.filter(ticket::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    match filter.assignee {
        Some(Some(agent)) => select = select.filter(ticket::Column::AssigneeId.eq(agent.0)),
        Some(None) => select = select.filter(ticket::Column::AssigneeId.is_null()),
        None => {}
    }
    match filter.group {
        Some(Some(group)) => select = select.filter(ticket::Column::GroupId.eq(group.0)),
        Some(None) => select = select.filter(ticket::Column::GroupId.is_null()),
        None => {}
    }
    if let Some(requester) = filter.requester {
        select = select.filter(ticket::Column::RequesterId.eq(requester.0));
    }
    if let Some(organization) = filter.organization {
        select = select.filter(
            ticket::Column::RequesterId.in_subquery(
                Query::select()
                    .column(customer::Column::Id)
                    .from(customer::Entity)
                    .and_where(customer::Column::OrganizationId.eq(organization.0))
                    .to_owned(),
            ),
        );
    }
    if let Visibility::Restricted { agent_id, group_ids } = &filter.visibility {
        let mut visible = Condition::any().add(ticket::Column::AssigneeId.eq(agent_id.0));
        if !group_ids.is_empty() {
            visible = visible.add(ticket::Column::GroupId.is_in(group_ids.iter().map(|g| g.0)));
        }
        select = select.filter(visible);
    }
    if let Some(before) = filter.sla_due_before {
        select = select.filter(
            ticket::Column::Id.in_subquery(
                Query::select()
                    .column(ticket_sla::Column::TicketId)
                    .from(ticket_sla::Entity)
                    .and_where(ticket_sla::Column::NextDueAt.lte(before))
                    .to_owned(),
            ),
        );
    }
    if let Some(tag) = &filter.tag {
        QueryTrait::query(&mut select).inner_join(
            ticket_tag::Entity,
            Expr::col((ticket_tag::Entity, ticket_tag::Column::TicketId))
                .equals((ticket::Entity, ticket::Column::Id))
                .and(Expr::col((ticket_tag::Entity, ticket_tag::Column::Tag)).eq(tag.as_str())),
        );
    }
    select
}
