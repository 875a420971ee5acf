//! tower-sessions' store on Kefu's database (through `kefu-app`), so sessions survive restarts and are
//! shared by every node of a cluster.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kefu_app::App;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

/// Sessions in the `sessions` table.
#[derive(Clone)]
pub struct DbSessionStore {
    app: App,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

impl DbSessionStore {
    /// A store on this application's database.
    pub fn new(app: App) -> DbSessionStore {
        DbSessionStore { app }
    }
}

fn to_chrono(time: OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(time.unix_timestamp(), time.nanosecond()).unwrap_or_default()
}

fn to_time(time: DateTime<Utc>) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(time.timestamp()).map_err(|error| Error::Decode(error.to_string()))
}

fn backend(error: kefu_app::AppError) -> Error {
    Error::Backend(error.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|error| Error::Encode(error.to_string()))?;
        // A random 128-bit id colliding is astronomically unlikely, but the contract is to pick another.
        while !self
            .app
            .create_session(&record.id.to_string(), &data, to_chrono(record.expiry_date))
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|error| Error::Encode(error.to_string()))?;
        self.app.save_session(&record.id.to_string(), &data, to_chrono(record.expiry_date)).await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some((data, expires_at)) = self.app.load_session(&id.to_string()).await.map_err(backend)? else {
            return Ok(None);
        };
        let data = serde_json::from_str(&data).map_err(|error| Error::Decode(error.to_string()))?;
        Ok(Some(Record { id: *id, data, expiry_date: to_time(expires_at)? }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.app.delete_session(&id.to_string()).await.map_err(backend)
    }
}
