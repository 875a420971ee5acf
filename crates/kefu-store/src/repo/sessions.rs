//! Browser sessions: an opaque id, the session's JSON data and its expiry.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::entities::session;
use crate::{Repo, Result};

impl<C: ConnectionTrait> Repo<'_, C> {
    /// The data of an unexpired session.
    pub async fn session(&self, id: &str, now: DateTime<Utc>) -> Result<Option<(String, DateTime<Utc>)>> {
        Ok(session::Entity::find_by_id(id.to_owned())
            .filter(session::Column::ExpiresAt.gt(now))
            .one(self.conn)
            .await?
            .map(|row| (row.data, row.expires_at)))
    }

    /// Creates a session; false if the id already exists.
    pub async fn create_session(&self, id: &str, data: &str, expires_at: DateTime<Utc>) -> Result<bool> {
        let row =
            session::ActiveModel { id: Set(id.to_owned()), data: Set(data.to_owned()), expires_at: Set(expires_at) };
        let inserted = session::Entity::insert(row).on_conflict_do_nothing().exec(self.conn).await?;
        Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
    }

    /// Creates or replaces a session.
    pub async fn save_session(&self, id: &str, data: &str, expires_at: DateTime<Utc>) -> Result<()> {
        let row =
            session::ActiveModel { id: Set(id.to_owned()), data: Set(data.to_owned()), expires_at: Set(expires_at) };
        session::Entity::insert(row)
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([session::Column::Data, session::Column::ExpiresAt])
                    .to_owned(),
            )
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Deletes a session.
    pub async fn delete_session(&self, id: &str) -> Result<()> {
        session::Entity::delete_by_id(id.to_owned()).exec(self.conn).await?;
        Ok(())
    }

    /// Deletes expired sessions; returns how many.
    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        Ok(session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(now))
            .exec(self.conn)
            .await?
            .rows_affected)
    }
}
