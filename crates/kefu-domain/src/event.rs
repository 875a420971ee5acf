//! The append-only ticket history: who changed what, when, from what to what.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::ticket::named_enum;
use crate::{AgentId, CustomerId, EventId, TicketId};

named_enum!(
    /// What kind of thing happened to a ticket.
    EventKind, "kind" {
        /// The ticket was opened; `after` holds its initial fields.
        Created = "created",
        /// One field changed; `field`, `before` and `after` say which and how.
        FieldChanged = "field_changed",
        /// A public reply or internal note was added; `after` holds the message id and visibility.
        MessageAdded = "message_added",
        /// This ticket was merged into another; `after` names the target.
        MergedInto = "merged_into",
        /// Another ticket was merged into this one; `after` names the source.
        MergedFrom = "merged_from",
        /// A new ticket was split off this one; `after` names it.
        SplitOff = "split_off",
        /// An agent started following the ticket.
        FollowerAdded = "follower_added",
        /// An agent stopped following the ticket.
        FollowerRemoved = "follower_removed",
        /// A link to another ticket was added.
        LinkAdded = "link_added",
        /// A link to another ticket was removed.
        LinkRemoved = "link_removed",
        /// A trigger or automation fired; `after` names it, the changes it made follow as their own events.
        RuleFired = "rule_fired",
        /// An SLA policy now applies (or a different one); `after` holds the policy and its targets.
        SlaApplied = "sla_applied",
        /// An SLA deadline is near; `after` names the metric and the due time.
        SlaWarning = "sla_warning",
        /// An SLA deadline passed; `after` names the metric and the due time.
        SlaBreach = "sla_breach",
    }
);

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A staff user.
    Agent(AgentId),
    /// A customer (through a channel or the portal).
    Customer(CustomerId),
    /// Kefu itself (automations, merges, imports).
    System,
}

/// An event before it is stored: the use case adds the ticket, the actor and the time.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketEventDraft {
    /// What happened.
    pub kind: EventKind,
    /// The field concerned, for field changes.
    pub field: Option<String>,
    /// The value before.
    pub before: Option<Value>,
    /// The value after.
    pub after: Option<Value>,
}

impl TicketEventDraft {
    /// A `field_changed` event.
    pub fn field_changed(field: &str, before: Value, after: Value) -> Self {
        Self { kind: EventKind::FieldChanged, field: Some(field.to_owned()), before: Some(before), after: Some(after) }
    }

    /// An event of `kind` whose `after` is `details`.
    pub fn with_details(kind: EventKind, details: Value) -> Self {
        Self { kind, field: None, before: None, after: Some(details) }
    }
}

/// An event as stored, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketEvent {
    /// Id; increasing in the order of writing.
    pub id: EventId,
    /// The ticket whose history this is.
    pub ticket_id: TicketId,
    /// Who did it.
    pub actor: Actor,
    /// When.
    pub created_at: DateTime<Utc>,
    /// What.
    pub kind: EventKind,
    /// The field concerned.
    pub field: Option<String>,
    /// The value before.
    pub before: Option<Value>,
    /// The value after.
    pub after: Option<Value>,
}
