//! Custom fields and categories: admin-defined ticket fields, and which of them a category requires.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::ticket::named_enum;
use crate::{CategoryId, DomainError, Result};

named_enum!(
    /// The type of a custom field, which decides the JSON values it accepts.
    FieldType, "field_type" {
        /// Free text (a JSON string, at most 10 000 characters).
        Text = "text",
        /// A number (JSON number).
        Number = "number",
        /// Yes or no (JSON boolean).
        Checkbox = "checkbox",
        /// A calendar date, `YYYY-MM-DD`.
        Date = "date",
        /// One of the definition's options.
        Dropdown = "dropdown",
    }
);

const MAX_TEXT_FIELD_CHARS: usize = 10_000;

/// An admin-defined ticket field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomFieldDefinition {
    /// Stable key used in the API (`order_id`): lower-case ASCII letters, digits and `_`.
    pub key: String,
    /// Label shown to agents.
    pub label: String,
    /// The type of its values.
    pub field_type: FieldType,
    /// The allowed values of a dropdown; empty for other types.
    pub options: Vec<String>,
}

/// A ticket category (refund, shipping, bug report ...), with the custom fields it requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// Id.
    pub id: CategoryId,
    /// Display name.
    pub name: String,
    /// Keys of the custom fields a ticket in this category must have.
    pub required_fields: Vec<String>,
}

/// Checks a custom field key: 1 to 64 characters of `a-z`, `0-9` and `_`, starting with a letter.
pub fn validate_field_key(key: &str) -> Result<()> {
    let valid = !key.is_empty()
        && key.len() <= 64
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(DomainError::invalid("key", "a field key is 1-64 characters of a-z, 0-9 and _, starting with a letter"))
    }
}

impl CustomFieldDefinition {
    /// Checks the definition itself: the key, and that dropdowns (and only dropdowns) have options.
    pub fn validate(&self) -> Result<()> {
        validate_field_key(&self.key)?;
        if self.label.trim().is_empty() {
            return Err(DomainError::invalid("label", "the label cannot be empty"));
        }
        match (self.field_type, self.options.is_empty()) {
            (FieldType::Dropdown, true) => Err(DomainError::invalid("options", "a dropdown needs options")),
            (FieldType::Dropdown, false) => Ok(()),
            (_, false) => Err(DomainError::invalid("options", "only dropdowns have options")),
            (_, true) => Ok(()),
        }
    }

    fn check_value(&self, value: &Value) -> Result<()> {
        let field = format!("custom_fields.{}", self.key);
        let ok = match self.field_type {
            FieldType::Text => value.as_str().is_some_and(|s| s.chars().count() <= MAX_TEXT_FIELD_CHARS),
            FieldType::Number => value.is_number(),
            FieldType::Checkbox => value.is_boolean(),
            FieldType::Date => value.as_str().is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
            FieldType::Dropdown => value.as_str().is_some_and(|s| self.options.iter().any(|o| o == s)),
        };
        if ok {
            Ok(())
        } else {
            let expected = match self.field_type {
                FieldType::Text => format!("text of at most {MAX_TEXT_FIELD_CHARS} characters"),
                FieldType::Number => "a number".to_owned(),
                FieldType::Checkbox => "true or false".to_owned(),
                FieldType::Date => "a date as YYYY-MM-DD".to_owned(),
                FieldType::Dropdown => format!("one of {}", self.options.join(", ")),
            };
            Err(DomainError::invalid(field, format!("expected {expected}")))
        }
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        _ => false,
    }
}

/// Checks a ticket's custom field values against the definitions and the category's required fields.
///
/// Unknown keys and values of the wrong type are refused one at a time; missing required fields are
/// reported all at once, in the category's order, so a form can highlight every one of them.
/// Returns the values without blank entries.
pub fn check_custom_fields(
    values: &BTreeMap<String, Value>,
    definitions: &[CustomFieldDefinition],
    category: Option<&Category>,
) -> Result<BTreeMap<String, Value>> {
    let mut checked = BTreeMap::new();
    for (key, value) in values {
        let Some(definition) = definitions.iter().find(|d| &d.key == key) else {
            return Err(DomainError::invalid(format!("custom_fields.{key}"), "no such custom field"));
        };
        if is_blank(value) {
            continue;
        }
        definition.check_value(value)?;
        checked.insert(key.clone(), value.clone());
    }
    if let Some(category) = category {
        let missing: Vec<String> =
            category.required_fields.iter().filter(|key| !checked.contains_key(*key)).cloned().collect();
        if !missing.is_empty() {
            return Err(DomainError::MissingRequiredFields { fields: missing });
        }
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definitions() -> Vec<CustomFieldDefinition> {
        let field = |key: &str, field_type, options: &[&str]| CustomFieldDefinition {
            key: key.into(),
            label: key.into(),
            field_type,
            options: options.iter().map(|o| o.to_string()).collect(),
        };
        vec![
            field("order_id", FieldType::Text, &[]),
            field("amount", FieldType::Number, &[]),
            field("gift", FieldType::Checkbox, &[]),
            field("bought_on", FieldType::Date, &[]),
            field("reason", FieldType::Dropdown, &["damaged", "late"]),
        ]
    }

    fn check(values: Value, required: &[&str], expect: std::result::Result<Value, DomainError>) {
        let values: BTreeMap<String, Value> = serde_json::from_value(values).expect("object");
        let category = Category {
            id: CategoryId(1),
            name: "Refunds".into(),
            required_fields: required.iter().map(|k| k.to_string()).collect(),
        };
        let actual = check_custom_fields(&values, &definitions(), Some(&category))
            .map(|checked| serde_json::to_value(checked).expect("json"));
        assert_eq!(actual, expect);
    }

    #[test]
    fn values_are_checked_by_type() {
        check(json!({"amount": 12.5, "gift": true}), &[], Ok(json!({"amount": 12.5, "gift": true})));
        check(
            json!({"bought_on": "2026-02-30"}),
            &[],
            Err(DomainError::invalid("custom_fields.bought_on", "expected a date as YYYY-MM-DD")),
        );
        check(
            json!({"reason": "lost"}),
            &[],
            Err(DomainError::invalid("custom_fields.reason", "expected one of damaged, late")),
        );
        check(json!({"amount": "12"}), &[], Err(DomainError::invalid("custom_fields.amount", "expected a number")));
        check(json!({"colour": "red"}), &[], Err(DomainError::invalid("custom_fields.colour", "no such custom field")));
    }

    #[test]
    fn every_missing_required_field_is_listed() {
        check(
            json!({"order_id": "  ", "gift": false}),
            &["order_id", "gift", "reason", "amount"],
            Err(DomainError::MissingRequiredFields {
                fields: vec!["order_id".into(), "reason".into(), "amount".into()],
            }),
        );
        check(json!({"order_id": "A1"}), &["order_id"], Ok(json!({"order_id": "A1"})));
    }

    #[test]
    fn definitions_are_validated() {
        let mut definition = definitions().remove(4);
        assert!(definition.validate().is_ok());
        definition.options.clear();
        assert!(definition.validate().is_err());
        assert!(validate_field_key("Order").is_err());
        assert!(validate_field_key("order_id2").is_ok());
    }
}
