//! Messages: public replies and internal notes, in the order they were written.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kefu_domain::{AgentId, AttachmentId, AuthorKind, CustomerId, Message, MessageDraft, MessageId, TicketId};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Cursor, Page, paginate};
use crate::entities::{attachment, message};
use crate::{Repo, Result, StoreError};

fn author_columns(author: AuthorKind) -> (&'static str, Option<i64>) {
    match author {
        AuthorKind::Customer(id) => ("customer", Some(id.0)),
        AuthorKind::Agent(id) => ("agent", Some(id.0)),
        AuthorKind::System => ("system", None),
    }
}

fn author_from(kind: &str, id: Option<i64>) -> Result<AuthorKind> {
    match (kind, id) {
        ("customer", Some(id)) => Ok(AuthorKind::Customer(CustomerId(id))),
        ("agent", Some(id)) => Ok(AuthorKind::Agent(AgentId(id))),
        ("system", _) => Ok(AuthorKind::System),
        _ => Err(StoreError::Corrupt { table: "messages", message: format!("bad author {kind} {id:?}") }),
    }
}

fn to_domain(row: message::Model, attachment_ids: Vec<AttachmentId>) -> Result<Message> {
    Ok(Message {
        id: MessageId(row.id),
        ticket_id: TicketId(row.ticket_id),
        author: author_from(&row.author_kind, row.author_id)?,
        internal: row.internal,
        body_text: row.body_text,
        body_html: row.body_html,
        attachment_ids,
        created_at: row.created_at,
    })
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Stores a validated message on a ticket and claims its attachments (uploaded, not yet on a message).
    /// Fails with [`StoreError::MissingReference`] if an attachment is unknown or already used.
    pub async fn insert_message(
        &self,
        ticket_id: TicketId,
        draft: &MessageDraft,
        now: DateTime<Utc>,
    ) -> Result<Message> {
        let (author_kind, author_id) = author_columns(draft.author);
        let row = message::ActiveModel {
            ticket_id: Set(ticket_id.0),
            original_ticket_id: Set(ticket_id.0),
            author_kind: Set(author_kind.to_owned()),
            author_id: Set(author_id),
            internal: Set(draft.internal),
            body_text: Set(draft.body_text.clone()),
            body_html: Set(draft.body_html.clone()),
            created_at: Set(now),
            ..Default::default()
        };
        let inserted = message::Entity::insert(row).exec_with_returning(self.conn).await?;
        if !draft.attachment_ids.is_empty() {
            let claimed = attachment::Entity::update_many()
                .col_expr(attachment::Column::MessageId, Expr::val(inserted.id))
                .filter(attachment::Column::Id.is_in(draft.attachment_ids.iter().map(|id| id.0)))
                .filter(attachment::Column::MessageId.is_null())
                .exec(self.conn)
                .await?;
            if claimed.rows_affected != draft.attachment_ids.len() as u64 {
                return Err(StoreError::MissingReference("an attachment is unknown or already on a message".into()));
            }
        }
        to_domain(inserted, draft.attachment_ids.clone())
    }

    /// A page of a ticket's messages, oldest first; internal notes only when `include_internal`.
    pub async fn messages(
        &self,
        ticket_id: TicketId,
        include_internal: bool,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Page<Message>> {
        let mut select = message::Entity::find().filter(message::Column::TicketId.eq(ticket_id.0));
        if !include_internal {
            select = select.filter(message::Column::Internal.eq(false));
        }
        if let Some(cursor) = cursor {
            select = select.filter(message::Column::Id.gt(cursor.id));
        }
        let rows = select.order_by_asc(message::Column::Id).limit(limit + 1).all(self.conn).await?;
        let page = paginate(rows, limit, |row| Cursor::after_id(row.id));
        let ids: Vec<i64> = page.items.iter().map(|row| row.id).collect();
        let mut attachments: HashMap<i64, Vec<AttachmentId>> = HashMap::new();
        if !ids.is_empty() {
            let rows: Vec<(i64, Option<i64>)> = attachment::Entity::find()
                .select_only()
                .column(attachment::Column::Id)
                .column(attachment::Column::MessageId)
                .filter(attachment::Column::MessageId.is_in(ids))
                .order_by_asc(attachment::Column::Id)
                .into_tuple()
                .all(self.conn)
                .await?;
            for (attachment_id, message_id) in rows {
                if let Some(message_id) = message_id {
                    attachments.entry(message_id).or_default().push(AttachmentId(attachment_id));
                }
            }
        }
        let items = page
            .items
            .into_iter()
            .map(|row| {
                let ids = attachments.remove(&row.id).unwrap_or_default();
                to_domain(row, ids)
            })
            .collect::<Result<_>>()?;
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    /// The text of every message of these tickets, oldest first per ticket (for the search index).
    pub async fn message_texts(&self, ticket_ids: &[TicketId]) -> Result<HashMap<TicketId, Vec<String>>> {
        let mut texts: HashMap<TicketId, Vec<String>> = HashMap::new();
        if ticket_ids.is_empty() {
            return Ok(texts);
        }
        let rows: Vec<(i64, String)> = message::Entity::find()
            .select_only()
            .column(message::Column::TicketId)
            .column(message::Column::BodyText)
            .filter(message::Column::TicketId.is_in(ticket_ids.iter().map(|id| id.0)))
            .order_by_asc(message::Column::Id)
            .into_tuple()
            .all(self.conn)
            .await?;
        for (ticket_id, text) in rows {
            texts.entry(TicketId(ticket_id)).or_default().push(text);
        }
        Ok(texts)
    }

    /// One message by id.
    pub async fn message(&self, id: MessageId) -> Result<Option<Message>> {
        let Some(row) = message::Entity::find_by_id(id.0).one(self.conn).await? else {
            return Ok(None);
        };
        let attachment_ids: Vec<i64> = attachment::Entity::find()
            .select_only()
            .column(attachment::Column::Id)
            .filter(attachment::Column::MessageId.eq(id.0))
            .order_by_asc(attachment::Column::Id)
            .into_tuple()
            .all(self.conn)
            .await?;
        to_domain(row, attachment_ids.into_iter().map(AttachmentId).collect()).map(Some)
    }

    /// Moves some messages to another ticket (ticket split).
    pub async fn move_messages_by_id(&self, ids: &[MessageId], to: TicketId) -> Result<u64> {
        let result = message::Entity::update_many()
            .col_expr(message::Column::TicketId, Expr::val(to.0))
            .filter(message::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected)
    }

    /// Moves every message of `from` to `to` (ticket merge); each keeps its `original_ticket_id`.
    pub async fn move_messages(&self, from: TicketId, to: TicketId) -> Result<u64> {
        let result = message::Entity::update_many()
            .col_expr(message::Column::TicketId, Expr::val(to.0))
            .filter(message::Column::TicketId.eq(from.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected)
    }
}
