//! `Idempotency-Key` support: the first request with a key runs, a retry with the same key and body gets
//! the stored response, and a reuse of the key for a different request is refused.

use chrono::Duration;
use kefu_domain::Agent;

use crate::{App, Result};

/// How long keys (and their stored responses) are kept.
pub const KEEP_KEYS: Duration = Duration::hours(24);
/// A claim still running after this long is considered abandoned (its process died) and can be retried.
const STALE_CLAIM: Duration = Duration::minutes(2);

/// What to do with a request carrying an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// First time: run it, then [`App::complete_idempotency`] (or [`App::release_idempotency`] on failure).
    Proceed,
    /// Seen before with the same request: answer with the stored response.
    Replay {
        /// Stored status.
        status: u16,
        /// Stored body.
        body: String,
    },
    /// The first request with this key is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

impl App {
    /// Claims a key for `request_hash` (a digest of method, path and body).
    pub async fn claim_idempotency(&self, agent: &Agent, key: &str, request_hash: &str) -> Result<IdempotencyClaim> {
        let now = self.now();
        let tx = self.store.begin().await?;
        let existing = tx.repo().claim_idempotency_key(agent.id, key, request_hash, now).await?;
        let claim = match existing {
            None => IdempotencyClaim::Proceed,
            Some(record) if record.request_hash != request_hash => IdempotencyClaim::Mismatch,
            Some(record) => match (record.status_code, record.response_body) {
                (Some(status), Some(body)) => IdempotencyClaim::Replay { status, body },
                _ if now - record.created_at > STALE_CLAIM => {
                    tx.repo().release_idempotency_key(agent.id, key).await?;
                    tx.repo().claim_idempotency_key(agent.id, key, request_hash, now).await?;
                    IdempotencyClaim::Proceed
                }
                _ => IdempotencyClaim::InProgress,
            },
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Stores the response of a request that ran under a claimed key.
    pub async fn complete_idempotency(&self, agent: &Agent, key: &str, status: u16, body: &str) -> Result<()> {
        let tx = self.store.begin().await?;
        tx.repo().complete_idempotency_key(agent.id, key, status, body).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Frees a key whose request failed unexpectedly, so the client can retry it.
    pub async fn release_idempotency(&self, agent: &Agent, key: &str) -> Result<()> {
        let tx = self.store.begin().await?;
        tx.repo().release_idempotency_key(agent.id, key).await?;
        tx.commit().await?;
        Ok(())
    }
}
