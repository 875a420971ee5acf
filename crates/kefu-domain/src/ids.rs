//! Newtype identifiers, one per entity, so a `TicketId` can never be passed where a `CustomerId` is expected.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(value: i64) -> Self {
                Self(value)
            }
        }
    };
}

id_type!(
    /// Identifies a ticket; internal and stable. Humans use the [`TicketNumber`].
    TicketId
);
id_type!(
    /// The human ticket number (`#1042`): sequential, never reused.
    TicketNumber
);
id_type!(
    /// Identifies a customer (a requester).
    CustomerId
);
id_type!(
    /// Identifies one of a customer's identities (an email address, a phone number, an external id).
    IdentityId
);
id_type!(
    /// Identifies an organization.
    OrganizationId
);
id_type!(
    /// Identifies an agent (a staff user of any role).
    AgentId
);
id_type!(
    /// Identifies a group (team) of agents.
    GroupId
);
id_type!(
    /// Identifies a message (public reply or internal note).
    MessageId
);
id_type!(
    /// Identifies an uploaded attachment.
    AttachmentId
);
id_type!(
    /// Identifies a ticket category.
    CategoryId
);
id_type!(
    /// Identifies a custom field definition.
    CustomFieldId
);
id_type!(
    /// Identifies one event in a ticket's history.
    EventId
);
id_type!(
    /// Identifies an API token.
    ApiTokenId
);
