//! Repositories: the queries of each table group, as `impl Repo` blocks, plus the paging types they share.

use chrono::{DateTime, TimeZone, Utc};
use kefu_domain::{AgentId, CustomerId, GroupId, OrganizationId, Status, Tag};

use crate::StoreError;

mod agents;
mod attachments;
mod customers;
mod events;
mod fields;
mod idempotency;
mod kb;
mod mail;
mod messages;
mod notifications;
mod organizations;
mod outbox;
mod portal;
mod rules;
mod search;
mod sessions;
mod sla;
mod tickets;

pub use agents::{AgentRecord, ApiTokenRecord};
pub use attachments::{AttachmentRecord, NewAttachment};
pub use customers::{CustomerBrief, CustomerFilter, NewCustomer};
pub use events::EventPage;
pub use idempotency::IdempotencyRecord;
pub use kb::{ArticleFilter, RevisionRecord, SearchStats, TranslationText};
pub use mail::{
    InboundFilter, InboundMailRecord, MailMessageRecord, MailServerSettings, MailboxRecord, OutboundMailRecord,
};
pub use notifications::{NotificationRecord, WebhookDelivery};
pub use outbox::OutboxRow;
pub use portal::HelpEntry;
pub use rules::{AUTOMATION, CalendarRecord, MacroRecord, RuleRecord, SlaPolicyRecord, TRIGGER, ViewRecord};
pub use search::TicketBrief;
pub use sla::TicketSlaRecord;

/// One page of a keyset-paginated list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// A position in a keyset-paginated list: the sort key of the last row seen. Its text form
/// ([`Cursor::encode`]) is what the API hands out; it is opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The timestamp of the last row, for lists sorted by a timestamp, in microseconds since the epoch.
    pub at_micros: Option<i64>,
    /// The id of the last row.
    pub id: i64,
}

impl Cursor {
    /// A cursor after the row with this id.
    pub fn after_id(id: i64) -> Cursor {
        Cursor { at_micros: None, id }
    }

    /// A cursor after the row with this timestamp and id.
    pub fn after(at: DateTime<Utc>, id: i64) -> Cursor {
        Cursor { at_micros: Some(at.timestamp_micros()), id }
    }

    /// The text form: `i42` or `t1732359283123456.42`.
    pub fn encode(&self) -> String {
        match self.at_micros {
            None => format!("i{}", self.id),
            Some(micros) => format!("t{micros}.{}", self.id),
        }
    }

    /// Parses the text form; `None` for anything else.
    pub fn decode(text: &str) -> Option<Cursor> {
        if let Some(id) = text.strip_prefix('i') {
            return id.parse().ok().map(Cursor::after_id);
        }
        let (micros, id) = text.strip_prefix('t')?.split_once('.')?;
        Some(Cursor { at_micros: Some(micros.parse().ok()?), id: id.parse().ok()? })
    }

    fn at(&self) -> Option<DateTime<Utc>> {
        self.at_micros.and_then(|micros| Utc.timestamp_micros(micros).single())
    }
}

/// Which tickets a reader may see; applied inside the query so a page is never short of visible rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Every ticket.
    All,
    /// Tickets of these groups, and tickets assigned to this agent.
    Restricted {
        /// The reading agent.
        agent_id: AgentId,
        /// The agent's groups.
        group_ids: Vec<GroupId>,
    },
}

/// How to order a ticket list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketSort {
    /// Newest first (the default).
    #[default]
    CreatedDesc,
    /// Oldest first.
    CreatedAsc,
    /// Most recently changed first.
    UpdatedDesc,
    /// Least recently changed first.
    UpdatedAsc,
}

/// Filters of a ticket list; every one is backed by an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFilter {
    /// Any of these statuses; empty for all.
    pub statuses: Vec<Status>,
    /// `Some(None)` for unassigned tickets, `Some(Some(id))` for one agent's.
    pub assignee: Option<Option<AgentId>>,
    /// `Some(None)` for tickets without a group, `Some(Some(id))` for one group's.
    pub group: Option<Option<GroupId>>,
    /// Tickets carrying this tag.
    pub tag: Option<Tag>,
    /// One requester's tickets.
    pub requester: Option<CustomerId>,
    /// Tickets of the customers of one organization.
    pub organization: Option<OrganizationId>,
    /// Tickets with an SLA deadline at or before this instant (breaching soon, or breached).
    pub sla_due_before: Option<DateTime<Utc>>,
    /// What the reader may see.
    pub visibility: Visibility,
}

impl Default for TicketFilter {
    fn default() -> Self {
        TicketFilter {
            statuses: vec![],
            assignee: None,
            group: None,
            tag: None,
            requester: None,
            organization: None,
            sla_due_before: None,
            visibility: Visibility::All,
        }
    }
}

/// Reads a stored enum name back, reporting a corrupt row instead of panicking.
fn parse_stored<T: std::str::FromStr>(table: &'static str, text: &str) -> Result<T, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt { table, message: format!("unexpected value {text:?}") })
}

/// Reads a stored JSON object into a map.
fn json_map(
    table: &'static str,
    value: serde_json::Value,
) -> Result<std::collections::BTreeMap<String, serde_json::Value>, StoreError> {
    match value {
        serde_json::Value::Object(map) => Ok(map.into_iter().collect()),
        serde_json::Value::Null => Ok(Default::default()),
        other => Err(StoreError::Corrupt { table, message: format!("expected a JSON object, found {other}") }),
    }
}

/// Reads a stored JSON array of strings.
fn json_strings(table: &'static str, value: serde_json::Value) -> Result<Vec<String>, StoreError> {
    serde_json::from_value(value).map_err(|error| StoreError::Corrupt { table, message: error.to_string() })
}

/// Splits one more row than the page size off the end: its presence means there is a next page.
fn paginate<T>(mut rows: Vec<T>, limit: u64, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(cursor_of)
    } else {
        None
    };
    Page { items: rows, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for cursor in [Cursor::after_id(42), Cursor { at_micros: Some(1_732_359_283_123_456), id: 7 }] {
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        for junk in ["", "x1", "i", "t12", "t1.x", "i1.5"] {
            assert_eq!(Cursor::decode(junk), None, "{junk:?}");
        }
    }
}
