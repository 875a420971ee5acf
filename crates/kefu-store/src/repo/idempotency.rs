//! Idempotency keys: the first request with a key claims it, later ones get the stored response.

use chrono::{DateTime, Utc};
use kefu_domain::AgentId;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::entities::idempotency_key;
use crate::{Repo, Result};

/// A key already claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Hash of the request that claimed it.
    pub request_hash: String,
    /// The stored response status; `None` while the first request is still running.
    pub status_code: Option<u16>,
    /// The stored response body.
    pub response_body: Option<String>,
    /// When it was claimed.
    pub created_at: DateTime<Utc>,
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Claims `key` for `agent_id`. Returns `None` when this call claimed it, or the existing record.
    pub async fn claim_idempotency_key(
        &self,
        agent_id: AgentId,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>> {
        let row = idempotency_key::ActiveModel {
            agent_id: Set(agent_id.0),
            key: Set(key.to_owned()),
            request_hash: Set(request_hash.to_owned()),
            status_code: Set(None),
            response_body: Set(None),
            created_at: Set(now),
        };
        let inserted = idempotency_key::Entity::insert(row).on_conflict_do_nothing().exec(self.conn).await?;
        if matches!(inserted, sea_orm::TryInsertResult::Inserted(_)) {
            return Ok(None);
        }
        let existing = idempotency_key::Entity::find_by_id((agent_id.0, key.to_owned())).one(self.conn).await?;
        Ok(existing.map(|row| IdempotencyRecord {
            request_hash: row.request_hash,
            status_code: row.status_code.and_then(|code| u16::try_from(code).ok()),
            response_body: row.response_body,
            created_at: row.created_at,
        }))
    }

    /// Stores the response of the request that claimed `key`.
    pub async fn complete_idempotency_key(&self, agent_id: AgentId, key: &str, status: u16, body: &str) -> Result<()> {
        idempotency_key::Entity::update_many()
            .col_expr(idempotency_key::Column::StatusCode, Expr::val(i32::from(status)))
            .col_expr(idempotency_key::Column::ResponseBody, Expr::val(body.to_owned()))
            .filter(idempotency_key::Column::AgentId.eq(agent_id.0))
            .filter(idempotency_key::Column::Key.eq(key))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Releases a claim whose request failed, so a retry can run it again; also takes over a stale claim.
    pub async fn release_idempotency_key(&self, agent_id: AgentId, key: &str) -> Result<()> {
        idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::AgentId.eq(agent_id.0))
            .filter(idempotency_key::Column::Key.eq(key))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Deletes keys older than `before`.
    pub async fn prune_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64> {
        let result = idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::CreatedAt.lt(before))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected)
    }
}
