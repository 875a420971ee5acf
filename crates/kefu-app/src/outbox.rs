//! The outbox relay: publishes committed notices on the bus, in order, at least once.
//!
//! Use cases write [`Notice`]s into the `outbox` table inside their transaction and wake the relay. The
//! relay reads undelivered rows in id order, publishes them, and marks them delivered. If the process dies
//! between commit and publish, the rows are still there and go out on the next start.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::bus::Notice;
use crate::{App, Result};

const BATCH: u64 = 200;
const IDLE_POLL: Duration = Duration::from_secs(2);
/// After a wake-up the relay waits this long before its pass, so that under load one pass (and its one write
/// marking the rows delivered) carries the notices of many commits rather than a few; live screens see a
/// change this much later, which nobody notices.
const GATHER: Duration = Duration::from_millis(50);
const KEEP_DELIVERED: chrono::Duration = chrono::Duration::hours(24);

impl App {
    /// Queues a notice inside a transaction; it is published after the transaction commits.
    pub(crate) async fn queue_notice(&self, tx: &kefu_store::Tx, notice: &Notice) -> Result<()> {
        let payload = serde_json::to_value(notice).unwrap_or(serde_json::Value::Null);
        tx.repo().insert_outbox("notice", &payload, self.now()).await?;
        Ok(())
    }

    /// Publishes the undelivered notices, batch by batch while batches come full; returns how many went out.
    pub async fn relay_outbox(&self) -> Result<usize> {
        let mut relayed = 0;
        loop {
            let rows = self.store.repo().undelivered_outbox(BATCH).await?;
            if rows.is_empty() {
                return Ok(relayed);
            }
            for row in &rows {
                match serde_json::from_value::<Notice>(row.payload.clone()) {
                    Ok(notice) => self.bus.publish(notice),
                    Err(error) => {
                        tracing::error!(outbox_id = row.id, %error, "unreadable outbox row skipped")
                    }
                }
            }
            let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
            let tx = self.store.begin().await?;
            tx.repo().mark_outbox_delivered(&ids, self.now()).await?;
            tx.commit().await?;
            relayed += rows.len();
            if (rows.len() as u64) < BATCH {
                // What arrived meanwhile waits for the next pass, so that passes stay few under load.
                return Ok(relayed);
            }
        }
    }

    /// Runs the relay until `shutdown`: on every wake-up after a commit, and every few seconds in case a
    /// wake-up was missed (or another process wrote the rows).
    pub async fn run_outbox_relay(&self, shutdown: CancellationToken) {
        let mut last_prune = self.now();
        loop {
            if let Err(error) = self.relay_outbox().await {
                tracing::warn!(%error, "outbox relay failed; retrying");
            }
            if self.now() - last_prune > chrono::Duration::hours(1) {
                last_prune = self.now();
                if let Err(error) = self.prune_housekeeping().await {
                    tracing::warn!(%error, "housekeeping failed");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.outbox_ready.notified() => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(GATHER) => {}
            }
        }
        // One last pass so nothing committed before shutdown waits for the next start.
        let _ = self.relay_outbox().await;
    }

    /// Deletes delivered outbox rows, expired sessions and old idempotency keys.
    pub async fn prune_housekeeping(&self) -> Result<()> {
        let now = self.now();
        let tx = self.store.begin().await?;
        tx.repo().prune_outbox(now - KEEP_DELIVERED).await?;
        tx.repo().delete_expired_sessions(now).await?;
        tx.repo().prune_idempotency_keys(now - crate::idempotency::KEEP_KEYS).await?;
        tx.commit().await?;
        Ok(())
    }
}
