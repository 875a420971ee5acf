//! Each ticket's SLA state (the policy and targets that apply, due times, when to look again), the alerts
//! already fired (the primary key makes each fire exactly once, whatever the number of workers), and when
//! each automation last fired on each ticket.

use chrono::{DateTime, Utc};
use kefu_domain::TicketId;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

use crate::entities::{automation_run, sla_alert, ticket_sla};
use crate::{Repo, Result};

/// A ticket's SLA state as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketSlaRecord {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The policy that applies (kept even if the policy is deleted later).
    pub policy_id: Option<i64>,
    /// The targets that applied when the policy was attached, as JSON.
    pub targets: Option<Value>,
    /// The calendar of those targets.
    pub calendar_id: Option<i64>,
    /// When the first response is due (unfulfilled, running or overdue).
    pub first_response_due_at: Option<DateTime<Utc>>,
    /// When the next response is due.
    pub next_response_due_at: Option<DateTime<Utc>>,
    /// When resolution is due.
    pub resolution_due_at: Option<DateTime<Utc>>,
    /// The earliest of the three, for "breaching soon" views.
    pub next_due_at: Option<DateTime<Utc>>,
    /// Whether any target was missed.
    pub breached: bool,
    /// When the timer should look at the ticket again (next warning or breach).
    pub next_check_at: Option<DateTime<Utc>>,
}

fn to_record(row: ticket_sla::Model) -> TicketSlaRecord {
    TicketSlaRecord {
        ticket_id: TicketId(row.ticket_id),
        policy_id: row.policy_id,
        targets: row.targets,
        calendar_id: row.calendar_id,
        first_response_due_at: row.first_response_due_at,
        next_response_due_at: row.next_response_due_at,
        resolution_due_at: row.resolution_due_at,
        next_due_at: row.next_due_at,
        breached: row.breached,
        next_check_at: row.next_check_at,
    }
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// A ticket's SLA state.
    pub async fn ticket_sla(&self, ticket_id: TicketId) -> Result<Option<TicketSlaRecord>> {
        self.flush_written_behind().await?;
        Ok(ticket_sla::Entity::find_by_id(ticket_id.0).one(self.conn).await?.map(to_record))
    }

    /// Writes a ticket's SLA state (behind, with the transaction's commit: see `write_behind`).
    pub async fn save_ticket_sla(&self, record: &TicketSlaRecord, now: DateTime<Utc>) -> Result<()> {
        let row = ticket_sla::ActiveModel {
            ticket_id: Set(record.ticket_id.0),
            policy_id: Set(record.policy_id),
            targets: Set(record.targets.clone()),
            calendar_id: Set(record.calendar_id),
            first_response_due_at: Set(record.first_response_due_at),
            next_response_due_at: Set(record.next_response_due_at),
            resolution_due_at: Set(record.resolution_due_at),
            next_due_at: Set(record.next_due_at),
            breached: Set(record.breached),
            next_check_at: Set(record.next_check_at),
            updated_at: Set(now),
        };
        let upsert = ticket_sla::Entity::insert(row).on_conflict(
            OnConflict::column(ticket_sla::Column::TicketId)
                .update_columns([
                    ticket_sla::Column::PolicyId,
                    ticket_sla::Column::Targets,
                    ticket_sla::Column::CalendarId,
                    ticket_sla::Column::FirstResponseDueAt,
                    ticket_sla::Column::NextResponseDueAt,
                    ticket_sla::Column::ResolutionDueAt,
                    ticket_sla::Column::NextDueAt,
                    ticket_sla::Column::Breached,
                    ticket_sla::Column::NextCheckAt,
                    ticket_sla::Column::UpdatedAt,
                ])
                .to_owned(),
        );
        self.write_behind(upsert).await
    }

    /// Tickets whose SLA check time has come, earliest first: one range scan of the `next_check_at` index,
    /// so the cost follows the number of due tickets, not of open ones.
    pub async fn tickets_due_for_sla_check(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<TicketId>> {
        self.flush_written_behind().await?;
        let ids: Vec<i64> = ticket_sla::Entity::find()
            .select_only()
            .column(ticket_sla::Column::TicketId)
            .filter(ticket_sla::Column::NextCheckAt.lte(now))
            .order_by_asc(ticket_sla::Column::NextCheckAt)
            .limit(limit)
            .into_tuple()
            .all(self.conn)
            .await?;
        Ok(ids.into_iter().map(TicketId).collect())
    }

    /// Records an SLA alert; true only for the one call that recorded it (so it fires exactly once).
    pub async fn record_sla_alert(
        &self,
        ticket_id: TicketId,
        metric: &str,
        kind: &str,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let row = sla_alert::ActiveModel {
            ticket_id: Set(ticket_id.0),
            metric: Set(metric.to_owned()),
            kind: Set(kind.to_owned()),
            due_at: Set(due_at),
            fired_at: Set(now),
        };
        let inserted = sla_alert::Entity::insert(row).on_conflict_do_nothing().exec(self.conn).await?;
        Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
    }

    /// Whether an alert was already recorded.
    pub async fn sla_alert_fired(
        &self,
        ticket_id: TicketId,
        metric: &str,
        kind: &str,
        due_at: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(sla_alert::Entity::find_by_id((ticket_id.0, metric.to_owned(), kind.to_owned(), due_at))
            .one(self.conn)
            .await?
            .is_some())
    }

    /// When an automation last fired on a ticket.
    pub async fn automation_fired_at(&self, rule_id: i64, ticket_id: TicketId) -> Result<Option<DateTime<Utc>>> {
        Ok(automation_run::Entity::find_by_id((rule_id, ticket_id.0)).one(self.conn).await?.map(|row| row.fired_at))
    }

    /// Records that an automation fired on a ticket.
    pub async fn record_automation_run(&self, rule_id: i64, ticket_id: TicketId, now: DateTime<Utc>) -> Result<()> {
        let row =
            automation_run::ActiveModel { rule_id: Set(rule_id), ticket_id: Set(ticket_id.0), fired_at: Set(now) };
        automation_run::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([automation_run::Column::RuleId, automation_run::Column::TicketId])
                    .update_column(automation_run::Column::FiredAt)
                    .to_owned(),
            )
            .exec(self.conn)
            .await?;
        Ok(())
    }
}
