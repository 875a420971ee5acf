//! Agent notifications (assignment, @mention, SLA warning and breach, rule notifications) and the outgoing
//! webhook queue with its retries.

use chrono::{DateTime, Utc};
use kefu_domain::{AgentId, TicketId};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Cursor, Page, paginate};
use crate::entities::{notification, webhook_delivery};
use crate::{Repo, Result};

/// A notification to an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// Id.
    pub id: i64,
    /// Who it is for.
    pub agent_id: AgentId,
    /// `assigned`, `mention`, `sla_warning`, `sla_breach`, `rule` ...
    pub kind: String,
    /// The ticket it is about.
    pub ticket_id: Option<TicketId>,
    /// One line.
    pub title: String,
    /// Details.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When the agent read it.
    pub read_at: Option<DateTime<Utc>>,
}

/// A webhook call waiting to be made (or made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// Id.
    pub id: i64,
    /// Where.
    pub url: String,
    /// The signing secret.
    pub secret: String,
    /// The JSON body.
    pub body: String,
    /// Attempts so far.
    pub attempts: i64,
}

fn to_record(row: notification::Model) -> NotificationRecord {
    NotificationRecord {
        id: row.id,
        agent_id: AgentId(row.agent_id),
        kind: row.kind,
        ticket_id: row.ticket_id.map(TicketId),
        title: row.title,
        body: row.body,
        created_at: row.created_at,
        read_at: row.read_at,
    }
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Records a notification; returns it.
    pub async fn insert_notification(
        &self,
        agent_id: AgentId,
        kind: &str,
        ticket_id: Option<TicketId>,
        title: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<NotificationRecord> {
        let row = notification::ActiveModel {
            agent_id: Set(agent_id.0),
            kind: Set(kind.to_owned()),
            ticket_id: Set(ticket_id.map(|id| id.0)),
            title: Set(title.to_owned()),
            body: Set(body.to_owned()),
            created_at: Set(now),
            read_at: Set(None),
            ..Default::default()
        };
        Ok(to_record(notification::Entity::insert(row).exec_with_returning(self.conn).await?))
    }

    /// A page of an agent's notifications, newest first.
    pub async fn notifications(
        &self,
        agent_id: AgentId,
        unread_only: bool,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Page<NotificationRecord>> {
        let mut select = notification::Entity::find().filter(notification::Column::AgentId.eq(agent_id.0));
        if unread_only {
            select = select.filter(notification::Column::ReadAt.is_null());
        }
        if let Some(cursor) = cursor {
            select = select.filter(notification::Column::Id.lt(cursor.id));
        }
        let rows = select.order_by_desc(notification::Column::Id).limit(limit + 1).all(self.conn).await?;
        let page = paginate(rows, limit, |row| Cursor::after_id(row.id));
        Ok(Page { items: page.items.into_iter().map(to_record).collect(), next_cursor: page.next_cursor })
    }

    /// Marks one of an agent's notifications read; false if there is no such notification.
    pub async fn mark_notification_read(&self, agent_id: AgentId, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let result = notification::Entity::update_many()
            .col_expr(notification::Column::ReadAt, Expr::val(now))
            .filter(notification::Column::Id.eq(id))
            .filter(notification::Column::AgentId.eq(agent_id.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Queues a webhook call.
    pub async fn queue_webhook(
        &self,
        rule_id: i64,
        ticket_id: TicketId,
        url: &str,
        secret: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let row = webhook_delivery::ActiveModel {
            rule_id: Set(Some(rule_id)),
            ticket_id: Set(Some(ticket_id.0)),
            url: Set(url.to_owned()),
            secret: Set(secret.to_owned()),
            body: Set(body.to_owned()),
            status: Set("pending".into()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            last_error: Set(None),
            created_at: Set(now),
            delivered_at: Set(None),
            ..Default::default()
        };
        webhook_delivery::Entity::insert(row).exec(self.conn).await?;
        Ok(())
    }

    /// Pending webhook calls whose time has come.
    pub async fn due_webhooks(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<WebhookDelivery>> {
        let rows = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.eq("pending"))
            .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
            .order_by_asc(webhook_delivery::Column::NextAttemptAt)
            .limit(limit)
            .all(self.conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| WebhookDelivery {
                id: row.id,
                url: row.url,
                secret: row.secret,
                body: row.body,
                attempts: row.attempts,
            })
            .collect())
    }

    /// Records the outcome of a webhook attempt: delivered, retry at `retry_at`, or (without one) failed for good.
    pub async fn record_webhook_attempt(
        &self,
        id: i64,
        delivered: bool,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let status = match (delivered, retry_at) {
            (true, _) => "delivered",
            (false, Some(_)) => "pending",
            (false, None) => "failed",
        };
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Status, Expr::val(status))
            .col_expr(webhook_delivery::Column::Attempts, Expr::col(webhook_delivery::Column::Attempts).add(1))
            .col_expr(webhook_delivery::Column::LastError, Expr::val(error.map(str::to_owned)))
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::val(retry_at.unwrap_or(now)))
            .col_expr(webhook_delivery::Column::DeliveredAt, Expr::val(delivered.then_some(now)))
            .filter(webhook_delivery::Column::Id.eq(id))
            .exec(self.conn)
            .await?;
        Ok(())
    }
}
