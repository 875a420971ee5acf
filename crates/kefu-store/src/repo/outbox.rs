//! The outbox: notices written in the same transaction as the change they announce, relayed to the event
//! bus after commit, so a crash between commit and publish loses nothing.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde_json::Value;

use crate::entities::outbox;
use crate::{Repo, Result};

/// One notice waiting to be relayed.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// Id; rows are relayed in id order.
    pub id: i64,
    /// What kind of notice (`ticket`, ...).
    pub topic: String,
    /// The notice.
    pub payload: Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Queues a notice.
    pub async fn insert_outbox(&self, topic: &str, payload: &Value, now: DateTime<Utc>) -> Result<()> {
        let row = outbox::ActiveModel {
            topic: Set(topic.to_owned()),
            payload: Set(payload.clone()),
            created_at: Set(now),
            delivered_at: Set(None),
            ..Default::default()
        };
        // Nothing reads a notice in the transaction that writes it: it can wait for the commit.
        self.write_behind(outbox::Entity::insert(row)).await
    }

    /// The oldest undelivered notices.
    pub async fn undelivered_outbox(&self, limit: u64) -> Result<Vec<OutboxRow>> {
        self.flush_written_behind().await?;
        let rows = outbox::Entity::find()
            .filter(outbox::Column::DeliveredAt.is_null())
            .order_by_asc(outbox::Column::Id)
            .limit(limit)
            .all(self.conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| OutboxRow { id: row.id, topic: row.topic, payload: row.payload, created_at: row.created_at })
            .collect())
    }

    /// Notices after `after_id` in id order, delivered or not: the change feed other consumers (the search
    /// index of each node) follow with their own position.
    pub async fn outbox_after(&self, after_id: i64, limit: u64) -> Result<Vec<OutboxRow>> {
        self.flush_written_behind().await?;
        let rows = outbox::Entity::find()
            .filter(outbox::Column::Id.gt(after_id))
            .order_by_asc(outbox::Column::Id)
            .limit(limit)
            .all(self.conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| OutboxRow { id: row.id, topic: row.topic, payload: row.payload, created_at: row.created_at })
            .collect())
    }

    /// The lowest and highest notice ids still kept (both 0 when the outbox is empty). Two subqueries, each
    /// one step along the primary key: `MIN` and `MAX` in one select make SQLite scan the whole table.
    pub async fn outbox_bounds(&self) -> Result<(i64, i64)> {
        self.flush_written_behind().await?;
        let sql = "SELECT (SELECT MIN(id) FROM outbox) AS low, (SELECT MAX(id) FROM outbox) AS high";
        let row = self.conn.query_one_raw(Statement::from_string(self.db_backend(), sql)).await?;
        let bound = |name: &str| -> Result<i64> {
            Ok(match &row {
                Some(row) => row.try_get::<Option<i64>>("", name)?.unwrap_or(0),
                None => 0,
            })
        };
        Ok((bound("low")?, bound("high")?))
    }

    /// Marks notices as delivered.
    pub async fn mark_outbox_delivered(&self, ids: &[i64], now: DateTime<Utc>) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.flush_written_behind().await?;
        outbox::Entity::update_many()
            .col_expr(outbox::Column::DeliveredAt, Expr::val(now))
            .filter(outbox::Column::Id.is_in(ids.iter().copied()))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Deletes delivered notices older than `before`; returns how many.
    pub async fn prune_outbox(&self, before: DateTime<Utc>) -> Result<u64> {
        self.flush_written_behind().await?;
        let result =
            outbox::Entity::delete_many().filter(outbox::Column::DeliveredAt.lt(before)).exec(self.conn).await?;
        Ok(result.rows_affected)
    }
}
