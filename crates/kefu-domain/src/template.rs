//! Admin-editable text templates (macros, notes and notifications of rules), rendered with minijinja in a
//! sandbox: no file access, no includes, bounded work (fuel), placeholders like `{{ ticket.number }}`,
//! `{{ customer.name }}` and `{{ agent.name }}`. Unknown placeholders render empty rather than failing.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::{DomainError, Result};

const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// How much work one rendering may do before it is stopped (a runaway loop in an admin's template).
const FUEL: u64 = 50_000;

fn environment() -> Environment<'static> {
    let mut environment = Environment::new();
    environment.set_fuel(Some(FUEL));
    environment.set_undefined_behavior(UndefinedBehavior::Chainable);
    environment.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    environment
}

/// Checks that a template compiles (at save time).
pub fn check(template: &str) -> Result<()> {
    if template.len() > MAX_TEMPLATE_BYTES {
        return Err(DomainError::invalid("body", format!("a template is at most {MAX_TEMPLATE_BYTES} bytes")));
    }
    environment()
        .template_from_str(template)
        .map(|_| ())
        .map_err(|error| DomainError::invalid("body", format!("template error: {error}")))
}

/// Renders a template with a serializable context (`{"ticket": {...}, "customer": {...}, "agent": {...}}`).
pub fn render<C: Serialize>(template: &str, context: &C) -> Result<String> {
    check(template)?;
    environment()
        .render_str(template, minijinja::value::Serde(context))
        .map_err(|error| DomainError::invalid("body", format!("template error: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_render_and_unknown_ones_are_empty() {
        let context = json!({ "ticket": { "number": 1042, "subject": "退款" }, "customer": { "name": "王芳" } });
        assert_eq!(
            render(
                "您好 {{ customer.name }}，工单 #{{ ticket.number }}（{{ ticket.subject }}）{{ agent.name }}",
                &context
            ),
            Ok("您好 王芳，工单 #1042（退款）".to_owned())
        );
        assert_eq!(
            render("<b>{{ customer.name }}</b>", &json!({ "customer": { "name": "<x>" } })),
            Ok("<b><x></b>".to_owned())
        );
    }

    #[test]
    fn broken_and_runaway_templates_are_refused() {
        assert!(check("{{ ticket.number").is_err());
        assert!(check("{% for x in y %}").is_err());
        assert!(
            render("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", &json!({}))
                .is_err()
        );
        assert!(render("{% include 'secrets.txt' %}", &json!({})).is_err());
    }
}
