//! Browser session records for the HTTP layer's session store: opaque ids, JSON data, expiry.

use chrono::{DateTime, Utc};

use crate::{App, Result};

impl App {
    /// The data of an unexpired session.
    pub async fn load_session(&self, id: &str) -> Result<Option<(String, DateTime<Utc>)>> {
        Ok(self.store.repo().session(id, self.now()).await?)
    }

    /// Creates a session record; false when the id is taken (the caller picks another).
    pub async fn create_session(&self, id: &str, data: &str, expires_at: DateTime<Utc>) -> Result<bool> {
        let tx = self.store.begin().await?;
        let created = tx.repo().create_session(id, data, expires_at).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Creates or replaces a session record.
    pub async fn save_session(&self, id: &str, data: &str, expires_at: DateTime<Utc>) -> Result<()> {
        let tx = self.store.begin().await?;
        tx.repo().save_session(id, data, expires_at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a session record.
    pub async fn delete_session(&self, id: &str) -> Result<()> {
        let tx = self.store.begin().await?;
        tx.repo().delete_session(id).await?;
        tx.commit().await?;
        Ok(())
    }
}
