//! The use-case error: domain refusals, missing or forbidden things, conflicts, and infrastructure failures.

use kefu_domain::DomainError;
use kefu_store::StoreError;

/// The kinds of things a use case can fail to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entity {
    /// A ticket.
    Ticket,
    /// A message.
    Message,
    /// A customer.
    Customer,
    /// A customer identity.
    Identity,
    /// An organization.
    Organization,
    /// An agent.
    Agent,
    /// A group.
    Group,
    /// A category.
    Category,
    /// A custom field.
    CustomField,
    /// An attachment.
    Attachment,
    /// An API token.
    ApiToken,
    /// A mailbox.
    Mailbox,
    /// A stored inbound email.
    InboundMail,
    /// A business-hours calendar.
    Calendar,
    /// An SLA policy.
    SlaPolicy,
    /// A trigger or automation.
    Rule,
    /// A macro.
    Macro,
    /// A saved view.
    View,
    /// A notification.
    Notification,
    /// A knowledge-base category.
    KbCategory,
    /// A knowledge-base article.
    Article,
    /// A logged search.
    SearchLog,
}

impl Entity {
    /// The lower-case name used in error codes (`ticket.not_found`).
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Ticket => "ticket",
            Entity::Message => "message",
            Entity::Customer => "customer",
            Entity::Identity => "identity",
            Entity::Organization => "organization",
            Entity::Agent => "agent",
            Entity::Group => "group",
            Entity::Category => "category",
            Entity::CustomField => "custom_field",
            Entity::Attachment => "attachment",
            Entity::ApiToken => "api_token",
            Entity::Calendar => "calendar",
            Entity::SlaPolicy => "sla_policy",
            Entity::Rule => "rule",
            Entity::Macro => "macro",
            Entity::View => "view",
            Entity::Notification => "notification",
            Entity::KbCategory => "kb_category",
            Entity::Article => "article",
            Entity::SearchLog => "search",
            Entity::Mailbox => "mailbox",
            Entity::InboundMail => "inbound_mail",
        }
    }
}

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// A domain rule refused the change.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The thing does not exist, or the caller may not know it does.
    #[error("{} not found", .0.as_str())]
    NotFound(Entity),
    /// The caller may not do this; the text is the stable reason code (`ticket.edit_forbidden`).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The ticket changed since the caller read it (`If-Match` did not match).
    #[error("the ticket changed since version {expected}; it is now at version {current}")]
    VersionConflict {
        /// The version the caller had.
        expected: i64,
        /// The version stored now.
        current: i64,
    },
    /// A unique value is already taken (an email, a name, an identity).
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// A referenced thing is unusable (an inactive assignee, an attachment already used ...).
    #[error("{field}: {message}")]
    InvalidReference {
        /// The input field at fault.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// Email or password wrong, or the account cannot sign in.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The password was right and the account has two-factor authentication: a TOTP code is needed.
    #[error("a two-factor code is required")]
    TotpRequired,
    /// The TOTP code was wrong.
    #[error("the two-factor code is wrong")]
    TotpInvalid,
    /// An upload is larger than the configured limit.
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Too many attempts from one address or for one account (help-center forms, sign-in mail).
    #[error("too many attempts; try again in {retry_after_seconds} seconds")]
    RateLimited {
        /// How long to wait.
        retry_after_seconds: u64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
    /// The attachment store failed.
    #[error("attachment storage: {0}")]
    Files(String),
    /// Something that should not fail did (a corrupt secret, a crashed worker thread).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(what) => AppError::AlreadyExists(what),
            other => AppError::Store(other),
        }
    }
}

/// Shorthand for use-case results.
pub type Result<T, E = AppError> = std::result::Result<T, E>;
