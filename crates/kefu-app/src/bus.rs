//! The event bus: how committed changes reach agents' live screens.
//!
//! Use cases never publish directly: they write an outbox row in their transaction, and the [`crate::outbox`]
//! relay publishes it here after the commit. [`EventBus`] is a trait so that a cluster can swap the
//! in-process [`LocalBus`] for NATS without touching a use case.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// What changed on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketChange {
    /// A ticket was opened.
    Created,
    /// Fields changed.
    Updated,
    /// A reply or note was added.
    MessageAdded,
    /// The ticket was merged into another.
    Merged,
    /// Followers or links changed.
    Related,
}

/// A committed change to one ticket, with what a subscriber needs to decide who may see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketNotice {
    /// The ticket.
    pub ticket_id: i64,
    /// Its number.
    pub number: i64,
    /// Its version after the change.
    pub version: i64,
    /// What changed.
    pub change: TicketChange,
    /// Its group after the change.
    pub group_id: Option<i64>,
    /// Its assignee after the change.
    pub assignee_id: Option<i64>,
    /// Its group before the change, when it moved: agents who saw it there learn it left.
    pub previous_group_id: Option<i64>,
    /// Its assignee before the change, when it moved.
    pub previous_assignee_id: Option<i64>,
    /// The agent who made the change, if an agent did.
    pub actor_agent_id: Option<i64>,
    /// The events the change appended.
    pub event_ids: Vec<i64>,
    /// For [`TicketChange::MessageAdded`]: whether the message is an internal note.
    pub internal: Option<bool>,
    /// When it was committed.
    pub at: DateTime<Utc>,
}

/// What an agent is doing on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceState {
    /// Has the ticket open.
    Viewing,
    /// Is writing a reply or note on it.
    Typing,
    /// Closed it (or disconnected).
    Left,
}

/// An agent's presence on a ticket. Published straight on the bus, never through the outbox: it is
/// ephemeral, and a lost one is repeated by the next heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceNotice {
    /// The ticket.
    pub ticket_id: i64,
    /// Its group, to decide who may hear of it.
    pub group_id: Option<i64>,
    /// Its assignee, to decide who may hear of it.
    pub assignee_id: Option<i64>,
    /// The agent.
    pub agent_id: i64,
    /// Their display name.
    pub agent_name: String,
    /// What they are doing.
    pub state: PresenceState,
    /// The agent just arrived: others already there answer with their own presence.
    pub fresh: bool,
    /// When.
    pub at: DateTime<Utc>,
}

/// Agents mentioned in an internal note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MentionNotice {
    /// The ticket.
    pub ticket_id: i64,
    /// Its number.
    pub number: i64,
    /// The note.
    pub message_id: i64,
    /// Its group, to decide who may hear of it.
    pub group_id: Option<i64>,
    /// Its assignee, to decide who may hear of it.
    pub assignee_id: Option<i64>,
    /// Who wrote the note.
    pub actor_agent_id: i64,
    /// The agents mentioned (active, able to see the ticket, not the author).
    pub mentioned_agent_ids: Vec<i64>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A notification recorded for one agent (assignment, SLA warning or breach, a rule's message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationNotice {
    /// The stored notification.
    pub notification_id: i64,
    /// Who it is for.
    pub agent_id: i64,
    /// `assigned`, `sla_warning`, `sla_breach`, `rule` ...
    pub kind: String,
    /// The ticket it is about.
    pub ticket_id: Option<i64>,
    /// One line.
    pub title: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Something published on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "topic", rename_all = "snake_case")]
pub enum Notice {
    /// A ticket changed.
    Ticket(TicketNotice),
    /// An agent's presence on a ticket (in memory only).
    Presence(PresenceNotice),
    /// Agents were mentioned in a note.
    Mention(MentionNotice),
    /// An agent got a notification.
    Notification(NotificationNotice),
    /// A customer's profile or identities changed (for the search index; screens ignore it).
    Customer {
        /// The customer.
        customer_id: i64,
    },
    /// A knowledge-base article changed (for the search index and the help center).
    Article {
        /// The article.
        article_id: i64,
    },
}

/// Publishes notices to every subscriber of this node (and, in a cluster, of every node).
pub trait EventBus: Send + Sync {
    /// Publishes a notice; never blocks. Subscribers that fall too far behind miss notices and are told so
    /// by their receiver (they then reload).
    fn publish(&self, notice: Notice);
    /// A new subscription receiving every notice published from now on.
    fn subscribe(&self) -> broadcast::Receiver<Notice>;
}

/// The in-process bus of a single node: a tokio broadcast channel.
#[derive(Debug)]
pub struct LocalBus {
    sender: broadcast::Sender<Notice>,
}

impl LocalBus {
    /// A bus that buffers up to `capacity` notices per slow subscriber.
    pub fn new(capacity: usize) -> LocalBus {
        LocalBus { sender: broadcast::channel(capacity).0 }
    }
}

impl Default for LocalBus {
    fn default() -> Self {
        LocalBus::new(1024)
    }
}

impl EventBus for LocalBus {
    fn publish(&self, notice: Notice) {
        // An error only means nobody is subscribed right now.
        let _ = self.sender.send(notice);
    }

    fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.sender.subscribe()
    }
}
