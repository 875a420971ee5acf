//! DTO pieces shared by several resources: the API's enums (mirrors of the domain's, with the same
//! spellings) and the "absent vs null" helper of PATCH bodies.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Declares an API enum mirroring a domain enum variant for variant, converting both ways. Serde's
/// snake_case spelling equals the domain's `as_str`, which a test in `tests/api` pins.
macro_rules! mirror_enum {
    ($(#[$doc:meta])* $name:ident => $domain:path { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(#[allow(missing_docs)] $variant),+
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => <$domain>::$variant),+
                }
            }
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value {
                    $(<$domain>::$variant => $name::$variant),+
                }
            }
        }
    };
}

mirror_enum!(
    /// Ticket status: new, open, pending, on_hold, solved, closed.
    StatusDto => kefu_domain::Status { New, Open, Pending, OnHold, Solved, Closed }
);
mirror_enum!(
    /// Ticket priority.
    PriorityDto => kefu_domain::Priority { Urgent, High, Normal, Low }
);
mirror_enum!(
    /// The channel a ticket came in through.
    ChannelDto => kefu_domain::Channel { Email, Web, Chat, Api, Phone, Wechat, Wecom, Whatsapp, Telegram, Line, Messenger }
);
mirror_enum!(
    /// An agent's role.
    RoleDto => kefu_domain::Role { Admin, Supervisor, Agent, Collaborator }
);
mirror_enum!(
    /// How two tickets are linked.
    LinkKindDto => kefu_domain::LinkKind { Related, ParentOf, SplitFrom }
);
mirror_enum!(
    /// The type of a custom field.
    FieldTypeDto => kefu_domain::FieldType { Text, Number, Checkbox, Date, Dropdown }
);

/// For PATCH fields that can be cleared: absent is `None`, `null` is `Some(None)`, a value is
/// `Some(Some(value))`. Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}
