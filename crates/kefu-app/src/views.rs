//! Saved views: named ticket filters (my open tickets, unassigned, breaching within the hour ...), shared or
//! personal, listed with live counts.

use chrono::{DateTime, Duration, Utc};
use kefu_domain::{Agent, AgentId, DomainError, GroupId, Status, Ticket};
use kefu_store::{Cursor, Page, TicketSort, ViewRecord};
use serde_json::Value;

use crate::tickets::TicketQuery;
use crate::{App, AppError, Entity, Result, require_active};

/// Parses a view's filters into a ticket query for `agent` at `now`:
/// `{"status": ["open", "pending"], "assignee": "me" | "none" | 12, "group": "none" | 3, "tag": "vip",
/// "sla_due_within_minutes": 60}`. Unknown keys are refused.
pub(crate) fn parse_view_filters(agent: &Agent, raw: &Value, now: DateTime<Utc>) -> Result<TicketQuery> {
    let object = raw.as_object().ok_or_else(|| DomainError::invalid("filters", "filters are a JSON object"))?;
    let mut query = TicketQuery::default();
    for (key, value) in object {
        let invalid = |message: &str| DomainError::invalid(format!("filters.{key}"), message.to_owned());
        match key.as_str() {
            "status" => {
                let items = value.as_array().ok_or_else(|| invalid("expected a list of statuses"))?;
                query.statuses = items
                    .iter()
                    .map(|item| item.as_str().unwrap_or_default().parse::<Status>())
                    .collect::<kefu_domain::Result<_>>()?;
            }
            "assignee" => {
                query.assignee = Some(match value {
                    Value::String(text) if text == "me" => Some(agent.id),
                    Value::String(text) if text == "none" => None,
                    Value::Number(number) => Some(AgentId(number.as_i64().ok_or_else(|| invalid("expected an id"))?)),
                    _ => return Err(invalid("expected \"me\", \"none\" or an agent id").into()),
                });
            }
            "group" => {
                query.group = Some(match value {
                    Value::String(text) if text == "none" => None,
                    Value::Number(number) => Some(GroupId(number.as_i64().ok_or_else(|| invalid("expected an id"))?)),
                    _ => return Err(invalid("expected \"none\" or a group id").into()),
                });
            }
            "tag" => {
                let tag = value.as_str().ok_or_else(|| invalid("expected a tag"))?;
                kefu_domain::Tag::parse(tag)?;
                query.tag = Some(tag.to_owned());
            }
            "sla_due_within_minutes" => {
                let minutes = value
                    .as_i64()
                    .filter(|minutes| (0..=60 * 24 * 30).contains(minutes))
                    .ok_or_else(|| invalid("expected minutes, 0 to 30 days"))?;
                query.sla_due_before = Some(now + Duration::minutes(minutes));
            }
            _ => {
                return Err(
                    invalid("unknown filter; use status, assignee, group, tag or sla_due_within_minutes").into()
                );
            }
        }
    }
    Ok(query)
}

fn sort_of(record: &ViewRecord) -> TicketSort {
    match record.sort.as_str() {
        "created_at" => TicketSort::CreatedAsc,
        "-updated_at" => TicketSort::UpdatedDesc,
        "updated_at" => TicketSort::UpdatedAsc,
        _ => TicketSort::CreatedDesc,
    }
}

impl App {
    /// The views the agent may use, each with how many tickets it shows them now.
    pub async fn list_views(&self, actor: &Agent) -> Result<Vec<(ViewRecord, u64)>> {
        require_active(actor)?;
        let now = self.now();
        let mut views = Vec::new();
        for record in self.store.repo().views(actor.id).await? {
            let query = parse_view_filters(actor, &record.filters, now)?;
            let count = self.count_tickets(actor, &query).await?;
            views.push((record, count));
        }
        Ok(views)
    }

    /// A page of a view's tickets, in the view's order.
    pub async fn view_tickets(
        &self,
        actor: &Agent,
        id: i64,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Page<Ticket>> {
        require_active(actor)?;
        let record = self
            .store
            .repo()
            .view_by_id(id)
            .await?
            .filter(|record| record.owner_agent_id.is_none_or(|owner| owner == actor.id))
            .ok_or(AppError::NotFound(Entity::View))?;
        let query = parse_view_filters(actor, &record.filters, self.now())?;
        self.list_tickets(actor, &query, sort_of(&record), limit, cursor).await
    }
}
