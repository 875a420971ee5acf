//! Kefu's help-desk model: what a ticket, a message, a customer and an agent are, and the rules that bind them.
//!
//! Everything here is pure: no IO, no async, no SQL, no clock. Time comes in as a parameter (`now`), so the
//! same inputs always give the same outputs and every rule can be tested with a plain `#[test]`.
//!
//! The main types:
//! - [`Ticket`] with its [`Status`] state machine ([`Status::can_transition_to`]), [`Priority`] and [`Channel`];
//!   [`TicketUpdate`] is a validated change and [`Ticket::apply`] turns it into the next ticket plus the
//!   [`TicketEventDraft`]s that record it in the append-only history.
//! - [`MessageDraft`]: a public reply or an internal note, checked by [`MessageDraft::validate`].
//! - [`Customer`] with many [`Identity`]s (email, phone, or a typed external id such as a WeChat openid),
//!   normalized by [`Identity::parse`].
//! - [`Agent`] with a [`Role`]; [`Agent::can_view`] is the one rule that decides who sees which ticket.
//! - [`CustomFieldDefinition`] and [`Category`]: per-category required fields, checked by
//!   [`check_custom_fields`], whose error lists every missing field at once.
//!
//! ```
//! use kefu_domain::Status;
//! assert!(Status::New.can_transition_to(Status::Open));
//! assert!(!Status::Closed.can_transition_to(Status::Open));
//! ```
//!
//! What this crate is not: it does not load or save anything (that is `kefu-store`), it does not decide when
//! things happen (that is `kefu-app`), and it never serializes itself for the API (that is `kefu-http`).
#![deny(missing_docs)]

mod agent;
mod calendar;
mod customer;
mod error;
mod event;
mod fields;
mod ids;
pub mod kb;
mod mention;
mod message;
pub mod rules;
pub mod sla;
pub mod template;
mod ticket;
pub mod triggers;

pub use agent::{Agent, Group, Role};
pub use calendar::{BusinessCalendar, WorkingHours};
pub use customer::{Customer, Identity, IdentityKind, Organization};
pub use error::DomainError;
pub use event::{Actor, EventKind, TicketEvent, TicketEventDraft};
pub use fields::{Category, CustomFieldDefinition, FieldType, check_custom_fields, validate_field_key};
pub use ids::{
    AgentId, ApiTokenId, AttachmentId, CategoryId, CustomFieldId, CustomerId, EventId, GroupId, IdentityId, MessageId,
    OrganizationId, TicketId, TicketNumber,
};
pub use mention::{MAX_MENTIONS, Mention, parse_mentions};
pub use message::{AuthorKind, MAX_MESSAGE_BODY_BYTES, Message, MessageDraft};
pub use ticket::{
    Channel, FieldRules, LinkKind, MAX_SUBJECT_CHARS, NewTicket, Priority, Status, Tag, Ticket, TicketLink,
    TicketUpdate,
};

/// The result type of fallible domain functions.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;
