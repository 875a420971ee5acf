//! The one error type of the domain, in help-desk words.

use crate::Status;

/// Why a domain rule refused a change. Each variant maps to one stable API error code in `kefu-http`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// A single value is malformed (empty subject, bad email address, unknown enum value ...).
    #[error("{field}: {message}")]
    Invalid {
        /// The input field at fault, as the API names it.
        field: String,
        /// What is wrong with it, for a human.
        message: String,
    },
    /// The ticket's status cannot move from `from` to `to`.
    #[error("a ticket cannot go from {from} to {to}")]
    InvalidTransition {
        /// The current status.
        from: Status,
        /// The requested status.
        to: Status,
    },
    /// Custom fields required by the ticket's category are missing; lists every one of them.
    #[error("required fields are missing: {}", fields.join(", "))]
    MissingRequiredFields {
        /// The keys of the missing fields, in the category's order.
        fields: Vec<String>,
    },
    /// The ticket is closed (or merged) and takes no more changes.
    #[error("ticket is closed")]
    TicketClosed,
    /// Collaborators may only write internal notes.
    #[error("collaborators may only add internal notes")]
    PublicReplyNotAllowed,
    /// A ticket cannot be merged into itself, nor linked to itself.
    #[error("a ticket cannot be merged into or linked to itself")]
    SelfReference,
    /// Two customers are the same customer; merging one into itself is refused.
    #[error("a customer cannot be merged into itself")]
    SameCustomer,
}

impl DomainError {
    /// Shorthand for [`DomainError::Invalid`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }
}
