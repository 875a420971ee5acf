//! Rules: the conditions shared by SLA policies, triggers, time-based automations and views, and the actions
//! triggers, automations and macros perform.
//!
//! A [`Condition`] names a [`ConditionField`], an [`Operator`] and a JSON value. [`Condition::parse`] checks
//! all three together when a rule is saved (unknown field, wrong operator for the type, wrong value type are
//! refused then, never at run time). [`Conditions::evaluate`] runs against a [`RuleContext`] and says which
//! condition matched and which did not (the dry-run explanation). An [`Action`] is parsed the same way;
//! [`plan_actions`] turns a list of them into a [`TicketUpdate`] plus the side effects (notes, notifications,
//! webhooks) that the application layer carries out.
//!
//! The JSON forms are the rule format stored in the database and accepted by the API:
//! `{"field": "subject", "operator": "contains", "value": "退款"}` and `{"type": "set_group", "value": 3}`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::{
    AgentId, BusinessCalendar, CategoryId, Channel, CustomFieldDefinition, DomainError, FieldType, GroupId,
    OrganizationId, Priority, Result, Status, Tag, Ticket, TicketUpdate,
};

/// What a condition looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionField {
    /// The ticket's subject.
    Subject,
    /// The text of the message that set the rule off (empty when none).
    Body,
    /// The channel.
    Channel,
    /// The status.
    Status,
    /// The priority.
    Priority,
    /// The category id (or null).
    Category,
    /// The tags.
    Tags,
    /// The group id (or null).
    Group,
    /// The assignee id (or null).
    Assignee,
    /// The requester's tier, such as `vip` (or null).
    CustomerTier,
    /// The requester's organization id (or null).
    Organization,
    /// A custom field by key.
    CustomField(String),
    /// Minutes since the ticket was created.
    MinutesSinceCreated,
    /// Minutes since the ticket last changed.
    MinutesSinceUpdated,
    /// Minutes since the ticket's status last changed.
    MinutesSinceStatusChanged,
    /// Whether now is within the business hours of the rule's calendar.
    WithinBusinessHours,
}

/// The kind of value a field holds, which decides the operators it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Text,
    Status,
    Priority,
    Channel,
    Id,
    Tags,
    Tier,
    Number,
    Boolean,
    Custom(FieldType),
}

impl ConditionField {
    /// Parses a field name: `subject`, `status`, `custom_fields.order_id` ...
    pub fn parse(name: &str) -> Result<ConditionField> {
        Ok(match name {
            "subject" => ConditionField::Subject,
            "body" => ConditionField::Body,
            "channel" => ConditionField::Channel,
            "status" => ConditionField::Status,
            "priority" => ConditionField::Priority,
            "category_id" => ConditionField::Category,
            "tags" => ConditionField::Tags,
            "group_id" => ConditionField::Group,
            "assignee_id" => ConditionField::Assignee,
            "customer_tier" => ConditionField::CustomerTier,
            "organization_id" => ConditionField::Organization,
            "minutes_since_created" => ConditionField::MinutesSinceCreated,
            "minutes_since_updated" => ConditionField::MinutesSinceUpdated,
            "minutes_since_status_changed" => ConditionField::MinutesSinceStatusChanged,
            "within_business_hours" => ConditionField::WithinBusinessHours,
            other => match other.strip_prefix("custom_fields.") {
                Some(key) if !key.is_empty() => ConditionField::CustomField(key.to_owned()),
                _ => {
                    return Err(DomainError::invalid(
                        "field",
                        format!(
                            "unknown field {other:?}; use subject, body, channel, status, priority, category_id, tags, \
                             group_id, assignee_id, customer_tier, organization_id, custom_fields.<key>, \
                             minutes_since_created, minutes_since_updated, minutes_since_status_changed or \
                             within_business_hours"
                        ),
                    ));
                }
            },
        })
    }

    /// The field's name.
    pub fn name(&self) -> String {
        match self {
            ConditionField::Subject => "subject".into(),
            ConditionField::Body => "body".into(),
            ConditionField::Channel => "channel".into(),
            ConditionField::Status => "status".into(),
            ConditionField::Priority => "priority".into(),
            ConditionField::Category => "category_id".into(),
            ConditionField::Tags => "tags".into(),
            ConditionField::Group => "group_id".into(),
            ConditionField::Assignee => "assignee_id".into(),
            ConditionField::CustomerTier => "customer_tier".into(),
            ConditionField::Organization => "organization_id".into(),
            ConditionField::CustomField(key) => format!("custom_fields.{key}"),
            ConditionField::MinutesSinceCreated => "minutes_since_created".into(),
            ConditionField::MinutesSinceUpdated => "minutes_since_updated".into(),
            ConditionField::MinutesSinceStatusChanged => "minutes_since_status_changed".into(),
            ConditionField::WithinBusinessHours => "within_business_hours".into(),
        }
    }

    fn kind(&self, definitions: &[CustomFieldDefinition]) -> Result<ValueKind> {
        Ok(match self {
            ConditionField::Subject | ConditionField::Body => ValueKind::Text,
            ConditionField::Channel => ValueKind::Channel,
            ConditionField::Status => ValueKind::Status,
            ConditionField::Priority => ValueKind::Priority,
            ConditionField::Category
            | ConditionField::Group
            | ConditionField::Assignee
            | ConditionField::Organization => ValueKind::Id,
            ConditionField::Tags => ValueKind::Tags,
            ConditionField::CustomerTier => ValueKind::Tier,
            ConditionField::MinutesSinceCreated
            | ConditionField::MinutesSinceUpdated
            | ConditionField::MinutesSinceStatusChanged => ValueKind::Number,
            ConditionField::WithinBusinessHours => ValueKind::Boolean,
            ConditionField::CustomField(key) => {
                let definition = definitions
                    .iter()
                    .find(|d| &d.key == key)
                    .ok_or_else(|| DomainError::invalid("field", format!("there is no custom field {key:?}")))?;
                ValueKind::Custom(definition.field_type)
            }
        })
    }

    /// Whether the field depends on the passage of time (so only automations may use it).
    pub fn is_time_based(&self) -> bool {
        matches!(
            self,
            ConditionField::MinutesSinceCreated
                | ConditionField::MinutesSinceUpdated
                | ConditionField::MinutesSinceStatusChanged
        )
    }
}

crate::ticket::named_enum!(
    /// How a condition compares.
    Operator, "operator" {
        /// Equal.
        Is = "is",
        /// Not equal.
        IsNot = "is_not",
        /// Text contains (case-insensitive, any script), or the tags include.
        Contains = "contains",
        /// The negation of `contains`.
        NotContains = "not_contains",
        /// Text starts with (case-insensitive).
        StartsWith = "starts_with",
        /// One of a list.
        In = "in",
        /// None of a list.
        NotIn = "not_in",
        /// Changed in this update (triggers only).
        Changed = "changed",
        /// Changed to the value in this update (triggers only).
        ChangedTo = "changed_to",
        /// Changed from the value in this update (triggers only).
        ChangedFrom = "changed_from",
        /// Greater than (numbers).
        GreaterThan = "greater_than",
        /// Less than (numbers).
        LessThan = "less_than",
    }
);

fn operators_for(kind: ValueKind) -> &'static [Operator] {
    use Operator::*;
    match kind {
        ValueKind::Text => &[Is, IsNot, Contains, NotContains, StartsWith, Changed],
        ValueKind::Status | ValueKind::Priority | ValueKind::Channel | ValueKind::Id | ValueKind::Tier => {
            &[Is, IsNot, In, NotIn, Changed, ChangedTo, ChangedFrom]
        }
        ValueKind::Tags => &[Contains, NotContains, Changed],
        ValueKind::Number => &[Is, GreaterThan, LessThan],
        ValueKind::Boolean => &[Is],
        ValueKind::Custom(FieldType::Text) => &[Is, IsNot, Contains, NotContains, StartsWith, Changed, ChangedTo],
        ValueKind::Custom(FieldType::Number) => &[Is, IsNot, GreaterThan, LessThan, Changed],
        ValueKind::Custom(FieldType::Checkbox) => &[Is, Changed, ChangedTo],
        ValueKind::Custom(FieldType::Date) => &[Is, IsNot, GreaterThan, LessThan, Changed],
        ValueKind::Custom(FieldType::Dropdown) => &[Is, IsNot, In, NotIn, Changed, ChangedTo, ChangedFrom],
    }
}

/// Normalizes one comparison value for a kind, or explains why it does not fit.
fn normalize_value(kind: ValueKind, value: &Value) -> std::result::Result<Value, String> {
    match kind {
        ValueKind::Text | ValueKind::Custom(FieldType::Text) => {
            value.as_str().map(|text| json!(text)).ok_or_else(|| "expected text".into())
        }
        ValueKind::Status => value
            .as_str()
            .and_then(|text| text.parse::<Status>().ok())
            .map(|status| json!(status.as_str()))
            .ok_or_else(|| "expected a status".into()),
        ValueKind::Priority => value
            .as_str()
            .and_then(|text| text.parse::<Priority>().ok())
            .map(|priority| json!(priority.as_str()))
            .ok_or_else(|| "expected a priority".into()),
        ValueKind::Channel => value
            .as_str()
            .and_then(|text| text.parse::<Channel>().ok())
            .map(|channel| json!(channel.as_str()))
            .ok_or_else(|| "expected a channel".into()),
        ValueKind::Id => match value {
            Value::Null => Ok(Value::Null),
            Value::Number(number) if number.as_i64().is_some() => Ok(value.clone()),
            _ => Err("expected an id or null".into()),
        },
        ValueKind::Tags => value
            .as_str()
            .and_then(|text| Tag::parse(text).ok())
            .map(|tag| json!(tag.as_str()))
            .ok_or_else(|| "expected a tag".into()),
        ValueKind::Tier => match value {
            Value::Null => Ok(Value::Null),
            Value::String(text) => Ok(json!(text.trim().to_lowercase())),
            _ => Err("expected a tier or null".into()),
        },
        ValueKind::Number | ValueKind::Custom(FieldType::Number) => {
            if value.is_number() {
                Ok(value.clone())
            } else {
                Err("expected a number".into())
            }
        }
        ValueKind::Boolean | ValueKind::Custom(FieldType::Checkbox) => {
            if value.is_boolean() {
                Ok(value.clone())
            } else {
                Err("expected true or false".into())
            }
        }
        ValueKind::Custom(FieldType::Date) => value
            .as_str()
            .filter(|text| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok())
            .map(|text| json!(text))
            .ok_or_else(|| "expected a date as YYYY-MM-DD".into()),
        ValueKind::Custom(FieldType::Dropdown) => {
            value.as_str().map(|text| json!(text)).ok_or_else(|| "expected one of the dropdown's options".into())
        }
    }
}

/// One test of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// What it looks at.
    pub field: ConditionField,
    /// How it compares.
    pub operator: Operator,
    /// What it compares with (normalized); `null` for `changed`.
    pub value: Value,
}

impl Condition {
    /// Parses and checks a condition from its JSON form against the custom field definitions.
    pub fn parse(raw: &Value, definitions: &[CustomFieldDefinition]) -> Result<Condition> {
        let text = |key: &str| raw.get(key).and_then(Value::as_str).unwrap_or_default();
        let field = ConditionField::parse(text("field"))?;
        let operator: Operator = text("operator").parse()?;
        let kind = field.kind(definitions)?;
        let allowed = operators_for(kind);
        if !allowed.contains(&operator) {
            let names: Vec<&str> = allowed.iter().map(|op| op.as_str()).collect();
            return Err(DomainError::invalid(
                "operator",
                format!("{} does not take {operator}; use {}", field.name(), names.join(", ")),
            ));
        }
        let raw_value = raw.get("value").cloned().unwrap_or(Value::Null);
        let invalid = |message: String| DomainError::invalid("value", format!("{}: {message}", field.name()));
        let value = match operator {
            Operator::Changed => Value::Null,
            Operator::In | Operator::NotIn => {
                let items = raw_value.as_array().ok_or_else(|| invalid("expected a list".into()))?;
                Value::Array(
                    items
                        .iter()
                        .map(|item| normalize_value(kind, item))
                        .collect::<std::result::Result<_, _>>()
                        .map_err(invalid)?,
                )
            }
            _ => normalize_value(kind, &raw_value).map_err(invalid)?,
        };
        Ok(Condition { field, operator, value })
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        json!({ "field": self.field.name(), "operator": self.operator.as_str(), "value": self.value })
    }
}

/// What a rule is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct RuleContext<'a> {
    /// The ticket as it is now.
    pub ticket: &'a Ticket,
    /// The ticket before the change that set the rule off (for `changed` operators).
    pub previous: Option<&'a Ticket>,
    /// The text of the message that set the rule off.
    pub message: Option<&'a str>,
    /// The requester's tier.
    pub customer_tier: Option<&'a str>,
    /// The requester's organization.
    pub organization_id: Option<OrganizationId>,
    /// When the status last changed.
    pub status_changed_at: DateTime<Utc>,
    /// Now.
    pub now: DateTime<Utc>,
    /// The calendar for `within_business_hours` (always open when absent).
    pub calendar: Option<&'a BusinessCalendar>,
}

/// A field's value as a condition sees it: borrowed from the ticket and the context, so matching builds
/// nothing. Custom fields come as the JSON they are stored as, mapped onto the same variants.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Actual<'a> {
    Null,
    Text(&'a str),
    Tags(&'a [Tag]),
    Integer(i64),
    Boolean(bool),
    /// A custom field value with no variant of its own (a fractional number, a list).
    Json(&'a Value),
}

impl<'a> Actual<'a> {
    fn id(id: Option<i64>) -> Actual<'a> {
        id.map_or(Actual::Null, Actual::Integer)
    }

    fn json(value: Option<&'a Value>) -> Actual<'a> {
        match value {
            None | Some(Value::Null) => Actual::Null,
            Some(Value::String(text)) => Actual::Text(text),
            Some(Value::Bool(flag)) => Actual::Boolean(*flag),
            Some(other @ Value::Number(number)) => number.as_i64().map_or(Actual::Json(other), Actual::Integer),
            Some(other) => Actual::Json(other),
        }
    }

    fn number(self) -> Option<f64> {
        match self {
            Actual::Integer(number) => Some(number as f64),
            Actual::Json(Value::Number(number)) => number.as_f64(),
            _ => None,
        }
    }
}

fn field_value<'a>(field: &'a ConditionField, ticket: &'a Ticket, context: &RuleContext<'a>) -> Actual<'a> {
    let minutes = |since: DateTime<Utc>| Actual::Integer((context.now - since).num_minutes());
    match field {
        ConditionField::Subject => Actual::Text(&ticket.subject),
        ConditionField::Body => Actual::Text(context.message.unwrap_or_default()),
        ConditionField::Channel => Actual::Text(ticket.channel.as_str()),
        ConditionField::Status => Actual::Text(ticket.status.as_str()),
        ConditionField::Priority => Actual::Text(ticket.priority.as_str()),
        ConditionField::Category => Actual::id(ticket.category_id.map(|id| id.0)),
        ConditionField::Tags => Actual::Tags(&ticket.tags),
        ConditionField::Group => Actual::id(ticket.group_id.map(|id| id.0)),
        ConditionField::Assignee => Actual::id(ticket.assignee_id.map(|id| id.0)),
        ConditionField::CustomerTier => context.customer_tier.map_or(Actual::Null, Actual::Text),
        ConditionField::Organization => Actual::id(context.organization_id.map(|id| id.0)),
        ConditionField::CustomField(key) => Actual::json(ticket.custom_fields.get(key)),
        ConditionField::MinutesSinceCreated => minutes(ticket.created_at),
        ConditionField::MinutesSinceUpdated => minutes(ticket.updated_at),
        ConditionField::MinutesSinceStatusChanged => minutes(context.status_changed_at),
        ConditionField::WithinBusinessHours => {
            Actual::Boolean(context.calendar.is_none_or(|calendar| calendar.is_open(context.now)))
        }
    }
}

/// Text folded for case-insensitive comparison, in any script; borrowed when folding changes nothing, which
/// is most text (and all of Chinese).
fn fold(text: &str) -> Cow<'_, str> {
    let unchanged = |c: char| {
        let mut lower = c.to_lowercase();
        lower.next() == Some(c) && lower.next().is_none()
    };
    if text.chars().all(|c| if c.is_ascii() { !c.is_ascii_uppercase() } else { unchanged(c) }) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

fn contains(haystack: Actual<'_>, needle: &Value) -> bool {
    match (haystack, needle) {
        (Actual::Text(text), Value::String(part)) => fold(text).contains(&*fold(part)),
        (Actual::Tags(tags), Value::String(tag)) => tags.iter().any(|item| item.as_str() == tag),
        (Actual::Json(Value::Array(items)), needle) => items.contains(needle),
        _ => false,
    }
}

fn compare(actual: Actual<'_>, expected: &Value) -> Option<std::cmp::Ordering> {
    match (actual, expected) {
        (Actual::Text(a), Value::String(b)) => Some(a.cmp(b.as_str())),
        (actual, Value::Number(b)) => actual.number()?.partial_cmp(&b.as_f64()?),
        _ => None,
    }
}

fn equals(actual: Actual<'_>, expected: &Value) -> bool {
    match (actual, expected) {
        (Actual::Text(a), Value::String(b)) => fold(a) == fold(b),
        (actual, Value::Number(b)) => actual.number().is_some_and(|a| Some(a) == b.as_f64()),
        (Actual::Boolean(a), Value::Bool(b)) => a == *b,
        (Actual::Null, Value::Null) => true,
        (Actual::Json(a), b) => a == b,
        _ => false,
    }
}

impl Condition {
    /// Whether the condition holds in `context`.
    pub fn matches(&self, context: &RuleContext<'_>) -> bool {
        let actual = field_value(&self.field, context.ticket, context);
        let before = context.previous.map(|previous| field_value(&self.field, previous, context));
        let changed = before.is_some_and(|before| before != actual);
        let list =
            |value: Actual<'_>| self.value.as_array().is_some_and(|items| items.iter().any(|item| equals(value, item)));
        match self.operator {
            Operator::Is => equals(actual, &self.value),
            Operator::IsNot => !equals(actual, &self.value),
            Operator::Contains => contains(actual, &self.value),
            Operator::NotContains => !contains(actual, &self.value),
            Operator::StartsWith => {
                matches!((actual, &self.value), (Actual::Text(text), Value::String(prefix)) if fold(text).starts_with(&*fold(prefix)))
            }
            Operator::In => list(actual),
            Operator::NotIn => !list(actual),
            Operator::Changed => changed,
            Operator::ChangedTo => changed && equals(actual, &self.value),
            Operator::ChangedFrom => changed && before.is_some_and(|before| equals(before, &self.value)),
            Operator::GreaterThan => compare(actual, &self.value) == Some(std::cmp::Ordering::Greater),
            Operator::LessThan => compare(actual, &self.value) == Some(std::cmp::Ordering::Less),
        }
    }
}

/// A rule's conditions: every one of `all` and, if `any` is not empty, at least one of `any`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    /// Must all hold.
    pub all: Vec<Condition>,
    /// At least one must hold (when not empty).
    pub any: Vec<Condition>,
}

/// How each condition of a rule came out, for dry runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Whether the rule as a whole matched.
    pub matched: bool,
    /// Each `all` condition with its outcome.
    pub all: Vec<(Condition, bool)>,
    /// Each `any` condition with its outcome.
    pub any: Vec<(Condition, bool)>,
}

impl Conditions {
    /// Parses `{"all": [...], "any": [...]}`. `allow_time` admits the `minutes_since_*` fields
    /// (automations); `allow_changes` admits the `changed*` operators (triggers).
    pub fn parse(
        raw: &Value,
        definitions: &[CustomFieldDefinition],
        allow_time: bool,
        allow_changes: bool,
    ) -> Result<Conditions> {
        let list = |key: &str| -> Result<Vec<Condition>> {
            match raw.get(key) {
                None | Some(Value::Null) => Ok(vec![]),
                Some(Value::Array(items)) => items.iter().map(|item| Condition::parse(item, definitions)).collect(),
                Some(_) => Err(DomainError::invalid("conditions", format!("{key} must be a list of conditions"))),
            }
        };
        if !raw.is_object() && !raw.is_null() {
            return Err(DomainError::invalid("conditions", "conditions are {\"all\": [...], \"any\": [...]}"));
        }
        let conditions = Conditions { all: list("all")?, any: list("any")? };
        for condition in conditions.all.iter().chain(&conditions.any) {
            if condition.field.is_time_based() && !allow_time {
                return Err(DomainError::invalid(
                    "conditions",
                    format!("{} is only for automations", condition.field.name()),
                ));
            }
            if matches!(condition.operator, Operator::Changed | Operator::ChangedTo | Operator::ChangedFrom)
                && !allow_changes
            {
                return Err(DomainError::invalid("conditions", format!("{} is only for triggers", condition.operator)));
            }
        }
        Ok(conditions)
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        json!({
            "all": self.all.iter().map(Condition::to_json).collect::<Vec<_>>(),
            "any": self.any.iter().map(Condition::to_json).collect::<Vec<_>>(),
        })
    }

    /// Evaluates every condition and says how each came out.
    pub fn evaluate(&self, context: &RuleContext<'_>) -> Evaluation {
        let all: Vec<_> = self.all.iter().map(|c| (c.clone(), c.matches(context))).collect();
        let any: Vec<_> = self.any.iter().map(|c| (c.clone(), c.matches(context))).collect();
        let matched = all.iter().all(|(_, ok)| *ok) && (any.is_empty() || any.iter().any(|(_, ok)| *ok));
        Evaluation { matched, all, any }
    }

    /// Whether the rule matches.
    pub fn matches(&self, context: &RuleContext<'_>) -> bool {
        self.all.iter().all(|c| c.matches(context))
            && (self.any.is_empty() || self.any.iter().any(|c| c.matches(context)))
    }
}

/// Who a notification goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// The ticket's requester (by email, through the ticket's channel).
    Requester,
    /// The ticket's assignee.
    Assignee,
    /// One agent.
    Agent(AgentId),
    /// Every member of a group.
    Group(GroupId),
}

/// How an assignment action picks an agent among a group's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignStrategy {
    /// The available member assigned least recently.
    RoundRobin,
    /// The available member with the fewest open tickets relative to their capacity.
    LeastLoaded,
}

/// Something a trigger, automation or macro does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Set the status.
    SetStatus(Status),
    /// Set the priority.
    SetPriority(Priority),
    /// Set or clear the category.
    SetCategory(Option<CategoryId>),
    /// Set or clear the group.
    SetGroup(Option<GroupId>),
    /// Set or clear the assignee.
    SetAssignee(Option<AgentId>),
    /// Assign to a member of a group by a strategy (and move the ticket to that group).
    Assign {
        /// The group whose members are candidates.
        group_id: GroupId,
        /// How to pick.
        strategy: AssignStrategy,
    },
    /// Add tags.
    AddTags(Vec<Tag>),
    /// Remove tags.
    RemoveTags(Vec<Tag>),
    /// Set a custom field (`null` clears it).
    SetCustomField {
        /// The field key.
        key: String,
        /// The value.
        value: Value,
    },
    /// Add an internal note; the body is a template.
    AddNote(String),
    /// Notify someone; subject and body are templates.
    Notify {
        /// Who.
        to: Recipient,
        /// Subject template.
        subject: String,
        /// Body template.
        body: String,
    },
    /// POST the ticket as JSON to a URL, signed with HMAC-SHA256 of the body with `secret`.
    Webhook {
        /// Where.
        url: String,
        /// The signing secret.
        secret: String,
    },
}

fn id_or_null(value: &Value, field: &str) -> Result<Option<i64>> {
    match value {
        Value::Null => Ok(None),
        Value::Number(number) => number.as_i64().map(Some).ok_or_else(|| DomainError::invalid(field, "expected an id")),
        _ => Err(DomainError::invalid(field, "expected an id or null")),
    }
}

fn tag_list(value: &Value) -> Result<Vec<Tag>> {
    let items = value.as_array().ok_or_else(|| DomainError::invalid("value", "expected a list of tags"))?;
    let texts: Vec<&str> = items.iter().map(|item| item.as_str().unwrap_or_default()).collect();
    Tag::parse_set(&texts)
}

fn template_text(raw: &Value, key: &str) -> Result<String> {
    let text = raw.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    if text.trim().is_empty() {
        return Err(DomainError::invalid(key, format!("{key} cannot be empty")));
    }
    crate::template::check(&text)?;
    Ok(text)
}

impl Action {
    /// Parses and checks an action from its JSON form (`{"type": ..., "value": ...}` and friends).
    pub fn parse(raw: &Value, definitions: &[CustomFieldDefinition]) -> Result<Action> {
        let value = raw.get("value").cloned().unwrap_or(Value::Null);
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        Ok(match raw.get("type").and_then(Value::as_str).unwrap_or_default() {
            "set_status" => Action::SetStatus(text(&value).parse()?),
            "set_priority" => Action::SetPriority(text(&value).parse()?),
            "set_category" => Action::SetCategory(id_or_null(&value, "value")?.map(CategoryId)),
            "set_group" => Action::SetGroup(id_or_null(&value, "value")?.map(GroupId)),
            "set_assignee" => Action::SetAssignee(id_or_null(&value, "value")?.map(AgentId)),
            "assign_round_robin" | "assign_least_loaded" => {
                let group_id =
                    id_or_null(&value, "value")?.ok_or_else(|| DomainError::invalid("value", "expected a group id"))?;
                let strategy = if raw.get("type") == Some(&json!("assign_round_robin")) {
                    AssignStrategy::RoundRobin
                } else {
                    AssignStrategy::LeastLoaded
                };
                Action::Assign { group_id: GroupId(group_id), strategy }
            }
            "add_tags" => Action::AddTags(tag_list(&value)?),
            "remove_tags" => Action::RemoveTags(tag_list(&value)?),
            "set_custom_field" => {
                let key = raw.get("key").and_then(Value::as_str).unwrap_or_default().to_owned();
                if !definitions.iter().any(|definition| definition.key == key) {
                    return Err(DomainError::invalid("key", format!("there is no custom field {key:?}")));
                }
                Action::SetCustomField { key, value }
            }
            "add_note" => Action::AddNote(template_text(raw, "body")?),
            "notify" => {
                let to = match raw.get("to").and_then(Value::as_str).unwrap_or_default() {
                    "requester" => Recipient::Requester,
                    "assignee" => Recipient::Assignee,
                    "agent" => Recipient::Agent(AgentId(
                        id_or_null(&value, "value")?
                            .ok_or_else(|| DomainError::invalid("value", "expected an agent id"))?,
                    )),
                    "group" => Recipient::Group(GroupId(
                        id_or_null(&value, "value")?
                            .ok_or_else(|| DomainError::invalid("value", "expected a group id"))?,
                    )),
                    other => {
                        return Err(DomainError::invalid(
                            "to",
                            format!("unknown recipient {other:?}; use requester, assignee, agent or group"),
                        ));
                    }
                };
                Action::Notify { to, subject: template_text(raw, "subject")?, body: template_text(raw, "body")? }
            }
            "webhook" => {
                let url = raw.get("url").and_then(Value::as_str).unwrap_or_default().trim().to_owned();
                if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
                    return Err(DomainError::invalid("url", "a webhook URL starts with http:// or https://"));
                }
                let secret = raw.get("secret").and_then(Value::as_str).unwrap_or_default().to_owned();
                if secret.len() < 16 {
                    return Err(DomainError::invalid("secret", "a webhook secret has at least 16 characters"));
                }
                Action::Webhook { url, secret }
            }
            other => {
                return Err(DomainError::invalid(
                    "type",
                    format!(
                        "unknown action {other:?}; use set_status, set_priority, set_category, set_group, set_assignee, \
                         assign_round_robin, assign_least_loaded, add_tags, remove_tags, set_custom_field, add_note, \
                         notify or webhook"
                    ),
                ));
            }
        })
    }

    /// The JSON form (the webhook secret included: this is the stored form, not an API response).
    pub fn to_json(&self) -> Value {
        let tags = |tags: &[Tag]| json!(tags.iter().map(Tag::as_str).collect::<Vec<_>>());
        match self {
            Action::SetStatus(status) => json!({ "type": "set_status", "value": status.as_str() }),
            Action::SetPriority(priority) => json!({ "type": "set_priority", "value": priority.as_str() }),
            Action::SetCategory(id) => json!({ "type": "set_category", "value": id.map(|id| id.0) }),
            Action::SetGroup(id) => json!({ "type": "set_group", "value": id.map(|id| id.0) }),
            Action::SetAssignee(id) => json!({ "type": "set_assignee", "value": id.map(|id| id.0) }),
            Action::Assign { group_id, strategy } => {
                let kind = match strategy {
                    AssignStrategy::RoundRobin => "assign_round_robin",
                    AssignStrategy::LeastLoaded => "assign_least_loaded",
                };
                json!({ "type": kind, "value": group_id.0 })
            }
            Action::AddTags(list) => json!({ "type": "add_tags", "value": tags(list) }),
            Action::RemoveTags(list) => json!({ "type": "remove_tags", "value": tags(list) }),
            Action::SetCustomField { key, value } => json!({ "type": "set_custom_field", "key": key, "value": value }),
            Action::AddNote(body) => json!({ "type": "add_note", "body": body }),
            Action::Notify { to, subject, body } => {
                let (to, value) = match to {
                    Recipient::Requester => ("requester", Value::Null),
                    Recipient::Assignee => ("assignee", Value::Null),
                    Recipient::Agent(id) => ("agent", json!(id.0)),
                    Recipient::Group(id) => ("group", json!(id.0)),
                };
                json!({ "type": "notify", "to": to, "value": value, "subject": subject, "body": body })
            }
            Action::Webhook { url, secret } => json!({ "type": "webhook", "url": url, "secret": secret }),
        }
    }

    /// The groups an assignment action needs candidates from.
    pub fn assignment_group(&self) -> Option<GroupId> {
        match self {
            Action::Assign { group_id, .. } => Some(*group_id),
            _ => None,
        }
    }
}

/// An agent who could be assigned by a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The agent.
    pub agent_id: AgentId,
    /// Marked available (not away, not off shift).
    pub available: bool,
    /// The most unresolved tickets they should hold; `None` for no limit.
    pub capacity: Option<u32>,
    /// How many unresolved tickets they hold now.
    pub open_tickets: u32,
    /// When a rule last assigned them a ticket.
    pub last_assigned_at: Option<DateTime<Utc>>,
}

/// Picks the agent for an assignment rule; `None` when nobody available has room.
pub fn pick_assignee(strategy: AssignStrategy, candidates: &[Candidate]) -> Option<AgentId> {
    let eligible = candidates.iter().filter(|candidate| {
        candidate.available && candidate.capacity.is_none_or(|capacity| candidate.open_tickets < capacity)
    });
    match strategy {
        AssignStrategy::RoundRobin => eligible
            .min_by_key(|candidate| (candidate.last_assigned_at, candidate.agent_id))
            .map(|candidate| candidate.agent_id),
        AssignStrategy::LeastLoaded => eligible
            .min_by(|a, b| {
                let load = |candidate: &Candidate| {
                    f64::from(candidate.open_tickets) / f64::from(candidate.capacity.unwrap_or(100).max(1))
                };
                load(a).total_cmp(&load(b)).then(a.open_tickets.cmp(&b.open_tickets)).then(a.agent_id.cmp(&b.agent_id))
            })
            .map(|candidate| candidate.agent_id),
    }
}

/// Side effects of actions, for the application layer to carry out.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Add an internal note with this template.
    Note(String),
    /// Send a notification.
    Notify {
        /// Who.
        to: Recipient,
        /// Subject template.
        subject: String,
        /// Body template.
        body: String,
    },
    /// Call a webhook.
    Webhook {
        /// Where.
        url: String,
        /// Signing secret.
        secret: String,
    },
    /// An agent was picked by a rule (the app records when, for round-robin fairness).
    Assigned(AgentId),
}

/// What a list of actions does to a ticket: the field update (empty if none) and the side effects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Field changes.
    pub update: TicketUpdate,
    /// Side effects.
    pub effects: Vec<Effect>,
}

/// Turns actions into a [`Plan`] for `ticket`. Tag additions and removals are computed against the ticket's
/// current tags; assignment strategies pick from `candidates` (by group).
pub fn plan_actions(actions: &[Action], ticket: &Ticket, candidates: &BTreeMap<GroupId, Vec<Candidate>>) -> Plan {
    let mut plan = Plan::default();
    let mut tags = ticket.tags.clone();
    let mut tags_touched = false;
    for action in actions {
        match action {
            Action::SetStatus(status) => plan.update.status = Some(*status),
            Action::SetPriority(priority) => plan.update.priority = Some(*priority),
            Action::SetCategory(id) => plan.update.category_id = Some(*id),
            Action::SetGroup(id) => plan.update.group_id = Some(*id),
            Action::SetAssignee(id) => plan.update.assignee_id = Some(*id),
            Action::Assign { group_id, strategy } => {
                plan.update.group_id = Some(Some(*group_id));
                if let Some(agent_id) = candidates.get(group_id).and_then(|list| pick_assignee(*strategy, list)) {
                    plan.update.assignee_id = Some(Some(agent_id));
                    plan.effects.push(Effect::Assigned(agent_id));
                }
            }
            Action::AddTags(add) => {
                tags.extend(add.iter().cloned());
                tags_touched = true;
            }
            Action::RemoveTags(remove) => {
                tags.retain(|tag| !remove.contains(tag));
                tags_touched = true;
            }
            Action::SetCustomField { key, value } => {
                plan.update.custom_fields.get_or_insert_with(BTreeMap::new).insert(key.clone(), value.clone());
            }
            Action::AddNote(body) => plan.effects.push(Effect::Note(body.clone())),
            Action::Notify { to, subject, body } => {
                plan.effects.push(Effect::Notify { to: to.clone(), subject: subject.clone(), body: body.clone() })
            }
            Action::Webhook { url, secret } => {
                plan.effects.push(Effect::Webhook { url: url.clone(), secret: secret.clone() })
            }
        }
    }
    if tags_touched {
        tags.sort();
        tags.dedup();
        plan.update.tags = Some(tags);
    }
    plan
}

/// How long before a deadline an SLA warning fires by default.
pub const DEFAULT_WARNING_LEAD: Duration = Duration::minutes(30);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CustomerId, TicketId, TicketNumber};
    use chrono::TimeZone;

    fn ticket() -> Ticket {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().expect("time");
        Ticket {
            id: TicketId(1),
            number: TicketNumber(1),
            subject: "我要退款 Refund please".into(),
            status: Status::New,
            priority: Priority::Normal,
            category_id: None,
            channel: Channel::Wechat,
            requester_id: CustomerId(1),
            assignee_id: None,
            group_id: None,
            tags: Tag::parse_set(&["vip"]).expect("tags"),
            custom_fields: BTreeMap::from([("amount".into(), json!(120))]),
            merged_into_id: None,
            version: 1,
            created_at: at,
            updated_at: at,
            solved_at: None,
            closed_at: None,
        }
    }

    fn definitions() -> Vec<CustomFieldDefinition> {
        vec![CustomFieldDefinition {
            key: "amount".into(),
            label: "Amount".into(),
            field_type: FieldType::Number,
            options: vec![],
        }]
    }

    fn context<'a>(ticket: &'a Ticket, previous: Option<&'a Ticket>) -> RuleContext<'a> {
        RuleContext {
            ticket,
            previous,
            message: Some("请尽快处理"),
            customer_tier: Some("vip"),
            organization_id: None,
            status_changed_at: ticket.created_at,
            now: ticket.created_at + Duration::minutes(45),
            calendar: None,
        }
    }

    fn check(condition: Value, expect: bool) {
        let parsed = Condition::parse(&condition, &definitions()).expect("valid condition");
        let ticket = ticket();
        let mut previous = ticket.clone();
        previous.priority = Priority::Low;
        assert_eq!(parsed.matches(&context(&ticket, Some(&previous))), expect, "{condition}");
    }

    #[test]
    fn conditions_compare_by_type() {
        check(json!({"field": "subject", "operator": "contains", "value": "退款"}), true);
        check(json!({"field": "subject", "operator": "contains", "value": "REFUND"}), true);
        check(json!({"field": "subject", "operator": "starts_with", "value": "我要"}), true);
        check(json!({"field": "body", "operator": "contains", "value": "尽快"}), true);
        check(json!({"field": "channel", "operator": "in", "value": ["wechat", "whatsapp", "line"]}), true);
        check(json!({"field": "channel", "operator": "is", "value": "email"}), false);
        check(json!({"field": "tags", "operator": "contains", "value": "VIP"}), true);
        check(json!({"field": "tags", "operator": "not_contains", "value": "spam"}), true);
        check(json!({"field": "customer_tier", "operator": "is", "value": "VIP"}), true);
        check(json!({"field": "assignee_id", "operator": "is", "value": null}), true);
        check(json!({"field": "priority", "operator": "changed_to", "value": "normal"}), true);
        check(json!({"field": "priority", "operator": "changed_from", "value": "high"}), false);
        check(json!({"field": "status", "operator": "changed"}), false);
        check(json!({"field": "custom_fields.amount", "operator": "greater_than", "value": 100}), true);
        check(json!({"field": "minutes_since_created", "operator": "greater_than", "value": 30}), true);
        check(json!({"field": "within_business_hours", "operator": "is", "value": true}), true);
    }

    #[test]
    fn matching_reads_the_ticket_as_it_is() {
        check(json!({"field": "subject", "operator": "contains", "value": "refund"}), true);
        check(json!({"field": "subject", "operator": "is", "value": "我要退款 REFUND PLEASE"}), true);
        check(json!({"field": "subject", "operator": "starts_with", "value": "退款"}), false);
        check(json!({"field": "custom_fields.amount", "operator": "is", "value": 120.0}), true);
        check(json!({"field": "custom_fields.amount", "operator": "less_than", "value": 120}), false);
        check(json!({"field": "custom_fields.amount", "operator": "changed"}), false);
        check(json!({"field": "group_id", "operator": "in", "value": [null, 4]}), true);
        check(json!({"field": "tags", "operator": "contains", "value": "vi"}), false);
        check(json!({"field": "priority", "operator": "changed"}), true);
        // A custom field stored as null and one never set are the same to `changed`.
        let parsed = Condition::parse(&json!({"field": "custom_fields.amount", "operator": "changed"}), &definitions())
            .expect("valid condition");
        let mut ticket = ticket();
        ticket.custom_fields.insert("amount".into(), Value::Null);
        let mut previous = ticket.clone();
        previous.custom_fields.clear();
        assert!(!parsed.matches(&context(&ticket, Some(&previous))));
    }

    #[test]
    fn folding_borrows_only_what_lowercasing_leaves_alone() {
        assert!(matches!(fold("我要退款 refund"), Cow::Borrowed(_)));
        assert_eq!(fold("ΟΔΟΣ"), "οδος", "a word-final sigma folds to ς, as in str::to_lowercase");
        assert_eq!(fold("İstanbul"), "İstanbul".to_lowercase());
    }

    proptest::proptest! {
        #[test]
        fn folding_is_lowercasing(text in "\\PC{0,24}") {
            proptest::prop_assert_eq!(fold(&text), text.to_lowercase());
        }
    }

    #[test]
    fn bad_rules_are_refused_at_save_time() {
        let refuse = |condition: Value, field: &str| match Condition::parse(&condition, &definitions()) {
            Err(DomainError::Invalid { field: actual, .. }) => assert_eq!(actual, field, "{condition}"),
            other => panic!("{condition} gave {other:?}"),
        };
        refuse(json!({"field": "colour", "operator": "is", "value": "red"}), "field");
        refuse(json!({"field": "custom_fields.nope", "operator": "is", "value": 1}), "field");
        refuse(json!({"field": "priority", "operator": "contains", "value": "high"}), "operator");
        refuse(json!({"field": "priority", "operator": "is", "value": "critical"}), "value");
        refuse(json!({"field": "group_id", "operator": "is", "value": "finance"}), "value");
        refuse(json!({"field": "channel", "operator": "in", "value": "email"}), "value");
        refuse(json!({"field": "subject", "operator": "greater_than", "value": 3}), "operator");
        refuse(json!({"field": "subject", "operator": "near", "value": "x"}), "operator");
        let time_in_trigger = Conditions::parse(
            &json!({"all": [{"field": "minutes_since_created", "operator": "greater_than", "value": 1}]}),
            &[],
            false,
            true,
        );
        assert!(time_in_trigger.is_err());
        let change_in_automation =
            Conditions::parse(&json!({"all": [{"field": "status", "operator": "changed"}]}), &[], true, false);
        assert!(change_in_automation.is_err());
    }

    #[test]
    fn all_and_any_combine() {
        let conditions = Conditions::parse(
            &json!({
                "all": [{"field": "status", "operator": "is", "value": "new"}],
                "any": [{"field": "subject", "operator": "contains", "value": "退款"}, {"field": "subject", "operator": "contains", "value": "refund"}]
            }),
            &[],
            false,
            true,
        )
        .expect("valid");
        let ticket = ticket();
        let evaluation = conditions.evaluate(&context(&ticket, None));
        assert!(evaluation.matched);
        assert_eq!(evaluation.any.iter().filter(|(_, ok)| *ok).count(), 2);
        assert_eq!(Conditions::parse(&conditions.to_json(), &[], false, true).expect("round trip"), conditions);
    }

    #[test]
    fn actions_round_trip_and_plan_a_single_update() {
        let raw = json!([
            {"type": "set_priority", "value": "high"},
            {"type": "add_tags", "value": ["退款", "Finance"]},
            {"type": "remove_tags", "value": ["vip"]},
            {"type": "set_custom_field", "key": "amount", "value": 99},
            {"type": "assign_round_robin", "value": 7},
            {"type": "add_note", "body": "Routed to finance for {{ ticket.subject }}"},
            {"type": "webhook", "url": "https://crm.example/hook", "secret": "0123456789abcdef"}
        ]);
        let actions: Vec<Action> = raw
            .as_array()
            .expect("list")
            .iter()
            .map(|item| Action::parse(item, &definitions()).expect("valid"))
            .collect();
        for action in &actions {
            assert_eq!(Action::parse(&action.to_json(), &definitions()).as_ref(), Ok(action));
        }
        let earlier = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single();
        let candidates = BTreeMap::from([(
            GroupId(7),
            vec![
                Candidate {
                    agent_id: AgentId(1),
                    available: true,
                    capacity: None,
                    open_tickets: 3,
                    last_assigned_at: None,
                },
                Candidate {
                    agent_id: AgentId(2),
                    available: true,
                    capacity: None,
                    open_tickets: 1,
                    last_assigned_at: earlier,
                },
            ],
        )]);
        let plan = plan_actions(&actions, &ticket(), &candidates);
        assert_eq!(plan.update.priority, Some(Priority::High));
        assert_eq!(
            plan.update.tags.as_ref().map(|tags| tags.iter().map(Tag::as_str).collect::<Vec<_>>()),
            Some(vec!["finance", "退款"])
        );
        assert_eq!(plan.update.group_id, Some(Some(GroupId(7))));
        assert_eq!(plan.update.assignee_id, Some(Some(AgentId(1))), "never assigned comes first in round robin");
        assert_eq!(plan.effects.len(), 3);
        assert!(
            Action::parse(&json!({"type": "webhook", "url": "ftp://x", "secret": "0123456789abcdef"}), &[]).is_err()
        );
        assert!(Action::parse(&json!({"type": "add_note", "body": "{{ unclosed"}), &[]).is_err());
        assert!(Action::parse(&json!({"type": "explode"}), &[]).is_err());
    }

    #[test]
    fn assignment_respects_availability_and_capacity() {
        let candidate = |id: i64, available: bool, capacity: Option<u32>, open: u32| Candidate {
            agent_id: AgentId(id),
            available,
            capacity,
            open_tickets: open,
            last_assigned_at: None,
        };
        let team = [
            candidate(1, false, None, 0),
            candidate(2, true, Some(5), 5),
            candidate(3, true, Some(10), 4),
            candidate(4, true, Some(4), 1),
        ];
        assert_eq!(pick_assignee(AssignStrategy::LeastLoaded, &team), Some(AgentId(4)));
        assert_eq!(pick_assignee(AssignStrategy::RoundRobin, &team), Some(AgentId(3)));
        assert_eq!(pick_assignee(AssignStrategy::RoundRobin, &team[..2]), None);
    }
}
