//! Tickets: the status state machine, priorities, channels, tags, and how an update becomes events.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::event::{EventKind, TicketEventDraft};
use crate::fields::{Category, CustomFieldDefinition, check_custom_fields};
use crate::{AgentId, CategoryId, CustomerId, DomainError, GroupId, Result, TicketId, TicketNumber};

/// The longest subject we accept, in characters.
pub const MAX_SUBJECT_CHARS: usize = 500;
/// The longest tag we accept, in characters.
const MAX_TAG_CHARS: usize = 64;
/// The most tags one ticket may carry.
const MAX_TAGS: usize = 50;

/// Declares a closed set of string-named values with `as_str`, `ALL`, `Display` and `FromStr`,
/// so every enum of the API round-trips through the same spelling.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable lower-case name used in the API and the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::DomainError;

            fn from_str(text: &str) -> $crate::Result<Self> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::DomainError::invalid(
                        $field,
                        format!(
                            "unknown value {other:?}; expected one of {}",
                            [$($text),+].join(", ")
                        ),
                    )),
                }
            }
        }
    };
}
pub(crate) use named_enum;

named_enum!(
    /// Where a ticket is in its life. See [`Status::can_transition_to`] for the allowed moves.
    Status, "status" {
        /// Just arrived; nobody has worked on it yet.
        New = "new",
        /// Being worked on by the support team.
        Open = "open",
        /// Waiting for the customer; the SLA clock pauses.
        Pending = "pending",
        /// Waiting for a third party; the SLA clock pauses.
        OnHold = "on_hold",
        /// Answered; reopens if the customer writes back.
        Solved = "solved",
        /// Final: takes no more changes. Set after solved, or when merged into another ticket.
        Closed = "closed",
    }
);

impl Status {
    /// The transition table. Staying in the same status is always allowed (a no-op).
    ///
    /// | from      | to                                   |
    /// |-----------|--------------------------------------|
    /// | new       | open, pending, on_hold, solved       |
    /// | open      | pending, on_hold, solved             |
    /// | pending   | open, on_hold, solved                |
    /// | on_hold   | open, pending, solved                |
    /// | solved    | open (reopen), closed                |
    /// | closed    | nothing                              |
    ///
    /// Nothing goes back to `new`. Merging closes a ticket from any open status; that is
    /// [`Ticket::merge_into`], not a transition an agent can request.
    pub fn can_transition_to(self, to: Status) -> bool {
        use Status::*;
        if self == to {
            return self != Closed;
        }
        matches!(
            (self, to),
            (New, Open | Pending | OnHold | Solved)
                | (Open, Pending | OnHold | Solved)
                | (Pending, Open | OnHold | Solved)
                | (OnHold, Open | Pending | Solved)
                | (Solved, Open | Closed)
        )
    }

    /// True while the ticket still needs work from someone (not solved, not closed).
    pub fn is_unresolved(self) -> bool {
        !matches!(self, Status::Solved | Status::Closed)
    }
}

named_enum!(
    /// How urgent a ticket is.
    Priority, "priority" {
        /// Drop everything.
        Urgent = "urgent",
        /// Before normal work.
        High = "high",
        /// The default.
        Normal = "normal",
        /// When there is time.
        Low = "low",
    }
);

named_enum!(
    /// The channel a ticket came in through.
    Channel, "channel" {
        /// Inbound email.
        Email = "email",
        /// The web request form or help center.
        Web = "web",
        /// The live chat widget.
        Chat = "chat",
        /// The REST API (and agents creating tickets by hand).
        Api = "api",
        /// A logged phone call.
        Phone = "phone",
        /// WeChat Official Account.
        Wechat = "wechat",
        /// WeCom (WeChat Work).
        Wecom = "wecom",
        /// WhatsApp.
        Whatsapp = "whatsapp",
        /// Telegram.
        Telegram = "telegram",
        /// LINE.
        Line = "line",
        /// Facebook Messenger.
        Messenger = "messenger",
    }
);

named_enum!(
    /// How two tickets are linked.
    LinkKind, "kind" {
        /// About the same thing; symmetric.
        Related = "related",
        /// The source ticket is the parent of the target (an incident and its problem, a work order ...).
        ParentOf = "parent_of",
        /// The target was split off the source.
        SplitFrom = "split_from",
    }
);

/// A normalized tag: trimmed, lower-case, inner whitespace replaced by `_`, at most 64 characters.
/// Chinese tags (`退款`) are welcome.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    /// Normalizes and checks a tag.
    pub fn parse(text: &str) -> Result<Tag> {
        let normalized: String = text.split_whitespace().collect::<Vec<_>>().join("_").to_lowercase();
        if normalized.is_empty() {
            return Err(DomainError::invalid("tags", "a tag cannot be empty"));
        }
        if normalized.chars().count() > MAX_TAG_CHARS {
            return Err(DomainError::invalid("tags", format!("a tag is at most {MAX_TAG_CHARS} characters")));
        }
        if normalized.chars().any(|c| c.is_control() || c == ',') {
            return Err(DomainError::invalid("tags", "a tag cannot contain commas or control characters"));
        }
        Ok(Tag(normalized))
    }

    /// Parses a list of tags into a sorted set without duplicates.
    pub fn parse_set<S: AsRef<str>>(texts: &[S]) -> Result<Vec<Tag>> {
        let mut tags = texts.iter().map(|t| Tag::parse(t.as_ref())).collect::<Result<Vec<_>>>()?;
        tags.sort();
        tags.dedup();
        if tags.len() > MAX_TAGS {
            return Err(DomainError::invalid("tags", format!("a ticket carries at most {MAX_TAGS} tags")));
        }
        Ok(tags)
    }

    /// The normalized text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A ticket as stored. Changed only through [`Ticket::apply`] and [`Ticket::merge_into`], which also
/// return the events that explain the change.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// Internal id.
    pub id: TicketId,
    /// Human number.
    pub number: TicketNumber,
    /// One-line summary.
    pub subject: String,
    /// Lifecycle status.
    pub status: Status,
    /// Urgency.
    pub priority: Priority,
    /// Category, which decides the required custom fields.
    pub category_id: Option<CategoryId>,
    /// Where it came in.
    pub channel: Channel,
    /// The customer who asked.
    pub requester_id: CustomerId,
    /// The agent working on it.
    pub assignee_id: Option<AgentId>,
    /// The team responsible for it.
    pub group_id: Option<GroupId>,
    /// Sorted, without duplicates.
    pub tags: Vec<Tag>,
    /// Custom field values by field key.
    pub custom_fields: BTreeMap<String, Value>,
    /// Set when this ticket was merged into another one (it is then closed).
    pub merged_into_id: Option<TicketId>,
    /// Bumped on every change; the API's ETag.
    pub version: i64,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was last solved.
    pub solved_at: Option<DateTime<Utc>>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
}

/// Everything needed to open a ticket, before it has an id and a number.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    /// One-line summary (required, at most [`MAX_SUBJECT_CHARS`]).
    pub subject: String,
    /// Initial status: `new` unless the creator says otherwise; `closed` is refused.
    pub status: Status,
    /// Urgency.
    pub priority: Priority,
    /// Category.
    pub category_id: Option<CategoryId>,
    /// Channel it came in through.
    pub channel: Channel,
    /// The customer.
    pub requester_id: CustomerId,
    /// Initial assignee.
    pub assignee_id: Option<AgentId>,
    /// Initial group.
    pub group_id: Option<GroupId>,
    /// Initial tags (normalized).
    pub tags: Vec<Tag>,
    /// Initial custom field values.
    pub custom_fields: BTreeMap<String, Value>,
}

/// The custom-field rules that apply to a ticket: the definitions, and its category if it has one.
#[derive(Debug, Clone, Copy)]
pub struct FieldRules<'a> {
    /// Every active custom field definition.
    pub definitions: &'a [CustomFieldDefinition],
    /// The ticket's category after the change, if any.
    pub category: Option<&'a Category>,
}

impl NewTicket {
    /// Checks the subject, the initial status and the custom fields, and returns the normalized draft.
    pub fn validate(mut self, rules: FieldRules<'_>) -> Result<NewTicket> {
        self.subject = normalize_subject(&self.subject)?;
        if matches!(self.status, Status::Closed) {
            return Err(DomainError::invalid("status", "a new ticket cannot be closed"));
        }
        self.custom_fields = check_custom_fields(&self.custom_fields, rules.definitions, rules.category)?;
        Ok(self)
    }

    /// The ticket this draft becomes, before it is stored (id 0): what creation-time rules look at.
    pub fn provisional(&self, number: TicketNumber, now: DateTime<Utc>) -> Ticket {
        Ticket {
            id: TicketId(0),
            number,
            subject: self.subject.clone(),
            status: self.status,
            priority: self.priority,
            category_id: self.category_id,
            channel: self.channel,
            requester_id: self.requester_id,
            assignee_id: self.assignee_id,
            group_id: self.group_id,
            tags: self.tags.clone(),
            custom_fields: self.custom_fields.clone(),
            merged_into_id: None,
            version: 1,
            created_at: now,
            updated_at: now,
            solved_at: (self.status == Status::Solved).then_some(now),
            closed_at: None,
        }
    }

    /// The draft to store for a provisional ticket that creation-time rules changed.
    pub fn from_provisional(ticket: &Ticket) -> NewTicket {
        NewTicket {
            subject: ticket.subject.clone(),
            status: ticket.status,
            priority: ticket.priority,
            category_id: ticket.category_id,
            channel: ticket.channel,
            requester_id: ticket.requester_id,
            assignee_id: ticket.assignee_id,
            group_id: ticket.group_id,
            tags: ticket.tags.clone(),
            custom_fields: ticket.custom_fields.clone(),
        }
    }

    /// The history entry that records the creation.
    pub fn created_event(&self) -> TicketEventDraft {
        TicketEventDraft {
            kind: EventKind::Created,
            field: None,
            before: None,
            after: Some(serde_json::json!({
                "subject": self.subject,
                "status": self.status.as_str(),
                "priority": self.priority.as_str(),
                "channel": self.channel.as_str(),
                "requester_id": self.requester_id.0,
                "assignee_id": self.assignee_id.map(|id| id.0),
                "group_id": self.group_id.map(|id| id.0),
                "category_id": self.category_id.map(|id| id.0),
                "tags": self.tags.iter().map(Tag::as_str).collect::<Vec<_>>(),
            })),
        }
    }
}

/// A partial change to a ticket. `None` leaves a field alone; for nullable fields `Some(None)` clears it.
/// Custom fields are merged key by key; a JSON `null` value removes a key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketUpdate {
    /// New subject.
    pub subject: Option<String>,
    /// New status (checked against the transition table).
    pub status: Option<Status>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New or cleared category.
    pub category_id: Option<Option<CategoryId>>,
    /// New requester.
    pub requester_id: Option<CustomerId>,
    /// New or cleared assignee.
    pub assignee_id: Option<Option<AgentId>>,
    /// New or cleared group.
    pub group_id: Option<Option<GroupId>>,
    /// The full new tag set.
    pub tags: Option<Vec<Tag>>,
    /// Custom field values to set (or, with `null`, remove).
    pub custom_fields: Option<BTreeMap<String, Value>>,
}

impl TicketUpdate {
    /// True when the update changes nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == TicketUpdate::default()
    }
}

fn normalize_subject(subject: &str) -> Result<String> {
    let subject = subject.trim();
    if subject.is_empty() {
        return Err(DomainError::invalid("subject", "the subject cannot be empty"));
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(DomainError::invalid("subject", format!("the subject is at most {MAX_SUBJECT_CHARS} characters")));
    }
    if subject.chars().any(|c| c.is_control()) {
        return Err(DomainError::invalid("subject", "the subject cannot contain control characters"));
    }
    Ok(subject.to_owned())
}

fn json<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Records one field change into `events` when `before != after`.
fn record(events: &mut Vec<TicketEventDraft>, field: &str, before: Value, after: Value) {
    if before != after {
        events.push(TicketEventDraft::field_changed(field, before, after));
    }
}

fn tag_list(tags: &[Tag]) -> Value {
    json(tags.iter().map(Tag::as_str).collect::<Vec<_>>())
}

impl Ticket {
    /// Applies an update at `now`: checks the transition and the required fields, and returns the changed
    /// ticket with one `field_changed` event per field that really changed. An update that changes nothing
    /// returns the ticket as it was and no events.
    ///
    /// Required custom fields are checked when the category or the fields change and when the ticket is
    /// solved, so an admin tightening a category's rules does not block unrelated edits of old tickets.
    pub fn apply(
        &self,
        update: &TicketUpdate,
        rules: FieldRules<'_>,
        now: DateTime<Utc>,
    ) -> Result<(Ticket, Vec<TicketEventDraft>)> {
        if self.status == Status::Closed {
            return Err(DomainError::TicketClosed);
        }
        let mut next = self.clone();
        let mut events = Vec::new();

        if let Some(subject) = &update.subject {
            next.subject = normalize_subject(subject)?;
            record(&mut events, "subject", json(&self.subject), json(&next.subject));
        }
        if let Some(status) = update.status {
            if !self.status.can_transition_to(status) {
                return Err(DomainError::InvalidTransition { from: self.status, to: status });
            }
            next.status = status;
            match status {
                Status::Solved if self.status != Status::Solved => next.solved_at = Some(now),
                Status::Closed => next.closed_at = Some(now),
                _ => {}
            }
            record(&mut events, "status", json(self.status.as_str()), json(status.as_str()));
        }
        if let Some(priority) = update.priority {
            next.priority = priority;
            record(&mut events, "priority", json(self.priority.as_str()), json(priority.as_str()));
        }
        if let Some(category_id) = update.category_id {
            next.category_id = category_id;
            record(&mut events, "category_id", json(self.category_id), json(category_id));
        }
        if let Some(requester_id) = update.requester_id {
            next.requester_id = requester_id;
            record(&mut events, "requester_id", json(self.requester_id), json(requester_id));
        }
        if let Some(assignee_id) = update.assignee_id {
            next.assignee_id = assignee_id;
            record(&mut events, "assignee_id", json(self.assignee_id), json(assignee_id));
        }
        if let Some(group_id) = update.group_id {
            next.group_id = group_id;
            record(&mut events, "group_id", json(self.group_id), json(group_id));
        }
        if let Some(tags) = &update.tags {
            let mut tags = tags.clone();
            tags.sort();
            tags.dedup();
            next.tags = tags;
            record(&mut events, "tags", tag_list(&self.tags), tag_list(&next.tags));
        }
        if let Some(changes) = &update.custom_fields {
            for (key, value) in changes {
                let before = self.custom_fields.get(key).cloned().unwrap_or(Value::Null);
                if value.is_null() {
                    next.custom_fields.remove(key);
                } else {
                    next.custom_fields.insert(key.clone(), value.clone());
                }
                record(&mut events, &format!("custom_fields.{key}"), before, value.clone());
            }
        }

        let fields_touched = next.category_id != self.category_id || next.custom_fields != self.custom_fields;
        let solving = next.status == Status::Solved && self.status != Status::Solved;
        if fields_touched || solving {
            next.custom_fields = check_custom_fields(&next.custom_fields, rules.definitions, rules.category)?;
        }

        if !events.is_empty() {
            next.version += 1;
            next.updated_at = now;
        }
        Ok((next, events))
    }

    /// Merges this ticket (the source) into `target`: the source is closed and points at the target.
    /// Returns the closed source, the event for the source's history and the event for the target's.
    /// Moving the messages is the caller's job (it is storage).
    pub fn merge_into(
        &self,
        target: &Ticket,
        now: DateTime<Utc>,
    ) -> Result<(Ticket, TicketEventDraft, TicketEventDraft)> {
        if self.id == target.id {
            return Err(DomainError::SelfReference);
        }
        if self.status == Status::Closed || target.status == Status::Closed {
            return Err(DomainError::TicketClosed);
        }
        let mut source = self.clone();
        source.status = Status::Closed;
        source.closed_at = Some(now);
        source.merged_into_id = Some(target.id);
        source.version += 1;
        source.updated_at = now;
        let into = TicketEventDraft {
            kind: EventKind::MergedInto,
            field: Some("status".into()),
            before: Some(json(self.status.as_str())),
            after: Some(serde_json::json!({ "status": "closed", "ticket_id": target.id.0, "number": target.number.0 })),
        };
        let from = TicketEventDraft {
            kind: EventKind::MergedFrom,
            field: None,
            before: None,
            after: Some(serde_json::json!({ "ticket_id": self.id.0, "number": self.number.0 })),
        };
        Ok((source, into, from))
    }

    /// The draft of a ticket split off this one, for the requester of this one, keeping its priority,
    /// category, group, tags and custom fields.
    pub fn split_draft(&self, subject: Option<&str>) -> Result<NewTicket> {
        if self.status == Status::Closed {
            return Err(DomainError::TicketClosed);
        }
        let subject = match subject {
            Some(subject) => subject.to_owned(),
            None => format!("{} (split from #{})", self.subject, self.number),
        };
        let mut subject = subject.trim().to_owned();
        if subject.chars().count() > MAX_SUBJECT_CHARS {
            subject = subject.chars().take(MAX_SUBJECT_CHARS).collect();
        }
        Ok(NewTicket {
            subject,
            status: Status::Open,
            priority: self.priority,
            category_id: self.category_id,
            channel: self.channel,
            requester_id: self.requester_id,
            assignee_id: None,
            group_id: self.group_id,
            tags: self.tags.clone(),
            custom_fields: self.custom_fields.clone(),
        })
    }
}

/// A link between two tickets, as stored: `source` -[kind]-> `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketLink {
    /// The ticket the link starts at (the parent for [`LinkKind::ParentOf`], the new ticket for
    /// [`LinkKind::SplitFrom`]).
    pub source_id: TicketId,
    /// The ticket the link points to.
    pub target_id: TicketId,
    /// What the link means.
    pub kind: LinkKind,
}

impl TicketLink {
    /// Checks a link: a ticket cannot be linked to itself. Related links are stored with the smaller id
    /// first so that A-B and B-A are the same link.
    pub fn new(source_id: TicketId, target_id: TicketId, kind: LinkKind) -> Result<TicketLink> {
        if source_id == target_id {
            return Err(DomainError::SelfReference);
        }
        let (source_id, target_id) = match kind {
            LinkKind::Related if target_id < source_id => (target_id, source_id),
            _ => (source_id, target_id),
        };
        Ok(TicketLink { source_id, target_id, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldType;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, hour, 0, 0).single().expect("valid time")
    }

    fn ticket() -> Ticket {
        Ticket {
            id: TicketId(1),
            number: TicketNumber(1001),
            subject: "Refund please".into(),
            status: Status::New,
            priority: Priority::Normal,
            category_id: None,
            channel: Channel::Email,
            requester_id: CustomerId(7),
            assignee_id: None,
            group_id: None,
            tags: vec![],
            custom_fields: BTreeMap::new(),
            merged_into_id: None,
            version: 1,
            created_at: at(9),
            updated_at: at(9),
            solved_at: None,
            closed_at: None,
        }
    }

    const NO_RULES: FieldRules<'static> = FieldRules { definitions: &[], category: None };

    fn check_transition(from: Status, to: Status, expect: bool) {
        assert_eq!(from.can_transition_to(to), expect, "{from} -> {to}");
    }

    #[test]
    fn transition_table() {
        use Status::*;
        let allowed = [
            (New, &[New, Open, Pending, OnHold, Solved][..]),
            (Open, &[Open, Pending, OnHold, Solved]),
            (Pending, &[Pending, Open, OnHold, Solved]),
            (OnHold, &[OnHold, Open, Pending, Solved]),
            (Solved, &[Solved, Open, Closed]),
            (Closed, &[]),
        ];
        for (from, targets) in allowed {
            for &to in Status::ALL {
                check_transition(from, to, targets.contains(&to));
            }
        }
    }

    #[test]
    fn enums_round_trip_through_their_names() {
        for &status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        for &channel in Channel::ALL {
            assert_eq!(channel.as_str().parse::<Channel>(), Ok(channel));
        }
        let error = "urgentish".parse::<Priority>().expect_err("unknown priority");
        assert!(matches!(error, DomainError::Invalid { ref field, .. } if field == "priority"));
    }

    #[test]
    fn tags_are_normalized_and_deduplicated() {
        let tags = Tag::parse_set(&["  VIP ", "vip", "退款", "Needs  Reply"]).expect("valid tags");
        let names: Vec<_> = tags.iter().map(Tag::as_str).collect();
        assert_eq!(names, ["needs_reply", "vip", "退款"]);
        assert!(Tag::parse("   ").is_err());
        assert!(Tag::parse("a,b").is_err());
    }

    #[test]
    fn update_records_one_event_per_changed_field() {
        let update = TicketUpdate {
            status: Some(Status::Open),
            priority: Some(Priority::Normal),
            assignee_id: Some(Some(AgentId(3))),
            tags: Some(Tag::parse_set(&["vip"]).expect("tag")),
            ..TicketUpdate::default()
        };
        let (next, events) = ticket().apply(&update, NO_RULES, at(10)).expect("valid update");
        let fields: Vec<_> = events.iter().map(|e| e.field.clone().unwrap_or_default()).collect();
        assert_eq!(fields, ["status", "assignee_id", "tags"]);
        assert_eq!(events[0].before, Some(json("new")));
        assert_eq!(events[0].after, Some(json("open")));
        assert_eq!(next.version, 2);
        assert_eq!(next.updated_at, at(10));
    }

    #[test]
    fn update_that_changes_nothing_keeps_version() {
        let update = TicketUpdate { priority: Some(Priority::Normal), ..TicketUpdate::default() };
        let (next, events) = ticket().apply(&update, NO_RULES, at(10)).expect("valid update");
        assert!(events.is_empty());
        assert_eq!(next, ticket());
    }

    #[test]
    fn invalid_transition_is_refused() {
        let mut closed = ticket();
        closed.status = Status::Solved;
        let update = TicketUpdate { status: Some(Status::Pending), ..TicketUpdate::default() };
        assert_eq!(
            closed.apply(&update, NO_RULES, at(10)),
            Err(DomainError::InvalidTransition { from: Status::Solved, to: Status::Pending })
        );
        closed.status = Status::Closed;
        let update = TicketUpdate { subject: Some("x".into()), ..TicketUpdate::default() };
        assert_eq!(closed.apply(&update, NO_RULES, at(10)), Err(DomainError::TicketClosed));
    }

    #[test]
    fn solving_checks_required_fields_and_stamps_solved_at() {
        let definitions = vec![CustomFieldDefinition {
            key: "order_id".into(),
            label: "Order".into(),
            field_type: FieldType::Text,
            options: vec![],
        }];
        let category = Category { id: CategoryId(1), name: "Refunds".into(), required_fields: vec!["order_id".into()] };
        let mut refund = ticket();
        refund.category_id = Some(CategoryId(1));
        let rules = FieldRules { definitions: &definitions, category: Some(&category) };
        let solve = TicketUpdate { status: Some(Status::Solved), ..TicketUpdate::default() };
        assert_eq!(
            refund.apply(&solve, rules, at(10)),
            Err(DomainError::MissingRequiredFields { fields: vec!["order_id".into()] })
        );
        // Unrelated edits of a ticket that predates the rule still go through.
        let retitle = TicketUpdate { subject: Some("Refund for order 1".into()), ..TicketUpdate::default() };
        assert!(refund.apply(&retitle, rules, at(10)).is_ok());

        refund.custom_fields.insert("order_id".into(), json("A-1"));
        let (solved, _) = refund.apply(&solve, rules, at(11)).expect("fields present");
        assert_eq!(solved.solved_at, Some(at(11)));
    }

    #[test]
    fn custom_field_null_removes_the_value() {
        let mut with_field = ticket();
        with_field.custom_fields.insert("order_id".into(), json("A-1"));
        let definitions = vec![CustomFieldDefinition {
            key: "order_id".into(),
            label: "Order".into(),
            field_type: FieldType::Text,
            options: vec![],
        }];
        let rules = FieldRules { definitions: &definitions, category: None };
        let update = TicketUpdate {
            custom_fields: Some(BTreeMap::from([("order_id".into(), Value::Null)])),
            ..TicketUpdate::default()
        };
        let (next, events) = with_field.apply(&update, rules, at(10)).expect("valid");
        assert!(next.custom_fields.is_empty());
        assert_eq!(events[0].field.as_deref(), Some("custom_fields.order_id"));
    }

    #[test]
    fn merge_closes_the_source_and_points_at_the_target() {
        let source = ticket();
        let mut target = ticket();
        target.id = TicketId(2);
        target.number = TicketNumber(1002);
        let (closed, into, from) = source.merge_into(&target, at(12)).expect("merge");
        assert_eq!(closed.status, Status::Closed);
        assert_eq!(closed.merged_into_id, Some(TicketId(2)));
        assert_eq!(into.kind, EventKind::MergedInto);
        assert_eq!(from.kind, EventKind::MergedFrom);
        assert_eq!(source.merge_into(&source, at(12)).map(|_| ()), Err(DomainError::SelfReference));
        assert_eq!(closed.merge_into(&target, at(12)).map(|_| ()), Err(DomainError::TicketClosed));
    }

    #[test]
    fn related_links_are_symmetric() {
        let forward = TicketLink::new(TicketId(5), TicketId(3), LinkKind::Related).expect("link");
        let backward = TicketLink::new(TicketId(3), TicketId(5), LinkKind::Related).expect("link");
        assert_eq!(forward, backward);
        assert_eq!(TicketLink::new(TicketId(3), TicketId(3), LinkKind::Related), Err(DomainError::SelfReference));
    }

    fn any_status() -> impl Strategy<Value = Status> {
        proptest::sample::select(Status::ALL.to_vec())
    }

    proptest! {
        /// Whatever sequence of requested statuses, a ticket only ever moves along the table, never returns
        /// to `new`, and once closed refuses every further change.
        #[test]
        fn status_walks_follow_the_table(walk in proptest::collection::vec(any_status(), 1..30)) {
            let mut current = ticket();
            for (step, requested) in walk.into_iter().enumerate() {
                let update = TicketUpdate { status: Some(requested), ..TicketUpdate::default() };
                let before = current.status;
                match current.apply(&update, NO_RULES, at(10) + chrono::Duration::minutes(step as i64)) {
                    Ok((next, events)) => {
                        prop_assert!(before.can_transition_to(requested));
                        prop_assert_eq!(next.status, requested);
                        prop_assert_eq!(events.len(), usize::from(before != requested));
                        prop_assert!(requested != Status::New || before == Status::New);
                        current = next;
                    }
                    Err(error) => {
                        prop_assert!(before == Status::Closed || !before.can_transition_to(requested));
                        let expected = matches!(error, DomainError::InvalidTransition { .. } | DomainError::TicketClosed);
                        prop_assert!(expected, "unexpected error {:?}", error);
                    }
                }
            }
        }

        /// Version grows by exactly one per effective change and never otherwise.
        #[test]
        fn version_counts_effective_changes(subjects in proptest::collection::vec("[a-c]{1,2}", 1..10)) {
            let mut current = ticket();
            for subject in subjects {
                let update = TicketUpdate { subject: Some(subject.clone()), ..TicketUpdate::default() };
                let (next, events) = current.apply(&update, NO_RULES, at(10)).expect("valid subject");
                prop_assert_eq!(next.version, current.version + events.len() as i64);
                current = next;
            }
        }

        /// Tag normalization is idempotent.
        #[test]
        fn tag_normalization_is_idempotent(text in "\\PC{1,40}") {
            if let Ok(tag) = Tag::parse(&text) {
                prop_assert_eq!(Tag::parse(tag.as_str()), Ok(tag.clone()));
            }
        }
    }
}
