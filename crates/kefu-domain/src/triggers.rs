//! Triggers and automations: ordered rules that run their actions when their conditions hold.
//!
//! [`run_rules`] is the engine. Triggers run on an event (ticket created, customer replied, SLA breach ...);
//! automations run on the clock with `event = None`. Rules are tried in position order; when one fires and
//! changes the ticket, the pass starts again from the top so later rules see the change, and every rule fires
//! at most once per run, which is what makes loops impossible. A rule whose change the ticket refuses (an
//! invalid transition, a missing required field) is reported and skipped; it never fails the change that
//! set it off.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::rules::{Action, Candidate, Conditions, Effect, RuleContext, plan_actions};
use crate::ticket::named_enum;
use crate::{CategoryId, DomainError, EventKind, FieldRules, GroupId, Ticket, TicketEventDraft};

named_enum!(
    /// What sets triggers off.
    TriggerEvent, "event" {
        /// A ticket was opened.
        TicketCreated = "ticket_created",
        /// A ticket's fields changed.
        TicketUpdated = "ticket_updated",
        /// The customer wrote.
        CustomerReplied = "customer_replied",
        /// An agent replied publicly.
        AgentReplied = "agent_replied",
        /// An internal note was added.
        NoteAdded = "note_added",
        /// An SLA deadline is near.
        SlaWarning = "sla_warning",
        /// An SLA deadline passed.
        SlaBreach = "sla_breach",
    }
);

/// A trigger or an automation.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Id.
    pub id: i64,
    /// Name, for history and dry runs.
    pub name: String,
    /// Order; lower runs first.
    pub position: i64,
    /// Inactive rules never run.
    pub active: bool,
    /// For triggers, the events it listens to; empty for automations.
    pub events: Vec<TriggerEvent>,
    /// When it fires.
    pub conditions: Conditions,
    /// What it does.
    pub actions: Vec<Action>,
}

/// What a run of rules did.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRun {
    /// The ticket after every fired rule's changes.
    pub ticket: Ticket,
    /// History entries: one `rule_fired` naming every rule that fired, in order, with the fields each
    /// changed; then one `field_changed` per field whose value the run changed (from its value before the run
    /// to its value after). Empty when no rule left a trace.
    pub events: Vec<TicketEventDraft>,
    /// Side effects to carry out, with the rule that asked for them.
    pub effects: Vec<(i64, Effect)>,
    /// Rules that matched but whose changes the ticket refused.
    pub refused: Vec<(i64, DomainError)>,
}

/// Runs `rules` for `event` on the ticket in `context`; see the module docs for the order.
pub fn run_rules<'a>(
    rules: &[Rule],
    event: Option<TriggerEvent>,
    context: RuleContext<'_>,
    field_rules: impl Fn(Option<CategoryId>) -> FieldRules<'a>,
    candidates: &BTreeMap<GroupId, Vec<Candidate>>,
    now: DateTime<Utc>,
) -> RuleRun {
    let mut ordered: Vec<&Rule> =
        rules.iter().filter(|rule| rule.active && event.is_none_or(|event| rule.events.contains(&event))).collect();
    ordered.sort_by_key(|rule| (rule.position, rule.id));
    let mut run = RuleRun { ticket: context.ticket.clone(), events: vec![], effects: vec![], refused: vec![] };
    let mut done: BTreeSet<i64> = BTreeSet::new();
    let mut fired = Vec::new();
    let mut changes: Vec<TicketEventDraft> = Vec::new();
    'pass: loop {
        for rule in &ordered {
            if done.contains(&rule.id) {
                continue;
            }
            let current = RuleContext { ticket: &run.ticket, ..context };
            if !rule.conditions.matches(&current) {
                continue;
            }
            done.insert(rule.id);
            let plan = plan_actions(&rule.actions, &run.ticket, candidates);
            let category = plan.update.category_id.unwrap_or(run.ticket.category_id);
            match run.ticket.apply(&plan.update, field_rules(category), now) {
                Ok((next, changed_fields)) => {
                    let changed = !changed_fields.is_empty();
                    // A rule whose actions change nothing and do nothing else leaves no trace.
                    if !changed && plan.effects.is_empty() {
                        continue;
                    }
                    let fields: Vec<&str> =
                        changed_fields.iter().filter_map(|change| change.field.as_deref()).collect();
                    fired.push(json!({ "rule_id": rule.id, "name": rule.name, "fields": fields }));
                    merge_changes(&mut changes, changed_fields);
                    run.effects.extend(plan.effects.into_iter().map(|effect| (rule.id, effect)));
                    run.ticket = next;
                    if changed {
                        continue 'pass;
                    }
                }
                Err(error) => run.refused.push((rule.id, error)),
            }
        }
        break;
    }
    if !fired.is_empty() {
        let details = json!({ "event": event.map(|event| event.as_str()), "rules": fired });
        run.events.push(TicketEventDraft::with_details(EventKind::RuleFired, details));
        run.events.extend(changes.into_iter().filter(|change| change.before != change.after));
    }
    run
}

/// Adds a rule's field changes to the run's: a field changed again keeps its first `before` and takes the
/// new `after`, so the history records what the run as a whole did to each field.
fn merge_changes(changes: &mut Vec<TicketEventDraft>, more: Vec<TicketEventDraft>) {
    for change in more {
        match changes.iter_mut().find(|earlier| earlier.kind == change.kind && earlier.field == change.field) {
            Some(earlier) => earlier.after = change.after,
            None => changes.push(change),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, CustomerId, Priority, Status, Tag, TicketId, TicketNumber};
    use chrono::TimeZone;
    use serde_json::Value;

    fn ticket(subject: &str, channel: Channel) -> Ticket {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().expect("time");
        Ticket {
            id: TicketId(1),
            number: TicketNumber(1),
            subject: subject.into(),
            status: Status::New,
            priority: Priority::Normal,
            category_id: None,
            channel,
            requester_id: CustomerId(1),
            assignee_id: None,
            group_id: None,
            tags: vec![],
            custom_fields: BTreeMap::new(),
            merged_into_id: None,
            version: 1,
            created_at: at,
            updated_at: at,
            solved_at: None,
            closed_at: None,
        }
    }

    fn rule(id: i64, position: i64, conditions: Value, actions: Value) -> Rule {
        Rule {
            id,
            name: format!("rule {id}"),
            position,
            active: true,
            events: vec![TriggerEvent::TicketCreated],
            conditions: Conditions::parse(&conditions, &[], false, true).expect("conditions"),
            actions: actions.as_array().expect("list").iter().map(|a| Action::parse(a, &[]).expect("action")).collect(),
        }
    }

    fn run(rules: &[Rule], ticket: &Ticket, tier: Option<&str>) -> RuleRun {
        let context = RuleContext {
            ticket,
            previous: None,
            message: None,
            customer_tier: tier,
            organization_id: None,
            status_changed_at: ticket.created_at,
            now: ticket.created_at,
            calendar: None,
        };
        run_rules(
            rules,
            Some(TriggerEvent::TicketCreated),
            context,
            |_| FieldRules { definitions: &[], category: None },
            &BTreeMap::new(),
            ticket.created_at,
        )
    }

    fn routing() -> Vec<Rule> {
        vec![
            rule(
                1,
                1,
                json!({"any": [{"field": "subject", "operator": "contains", "value": "退款"}, {"field": "subject", "operator": "contains", "value": "refund"}]}),
                json!([{"type": "set_group", "value": 10}, {"type": "add_tags", "value": ["refund"]}]),
            ),
            rule(
                2,
                2,
                json!({"all": [{"field": "customer_tier", "operator": "is", "value": "vip"}]}),
                json!([{"type": "set_group", "value": 20}, {"type": "set_priority", "value": "high"}]),
            ),
            rule(
                3,
                3,
                json!({"all": [{"field": "channel", "operator": "in", "value": ["wechat", "whatsapp", "line", "telegram", "messenger"]}]}),
                json!([{"type": "set_group", "value": 30}]),
            ),
        ]
    }

    #[test]
    fn routing_scenarios_from_the_seeds() {
        let refund = run(&routing(), &ticket("我要退款", Channel::Email), None);
        assert_eq!(refund.ticket.group_id, Some(GroupId(10)));
        assert_eq!(refund.ticket.tags, Tag::parse_set(&["refund"]).expect("tag"));
        let english = run(&routing(), &ticket("Refund for order 12", Channel::Web), None);
        assert_eq!(english.ticket.group_id, Some(GroupId(10)));
        let vip = run(&routing(), &ticket("Where is my parcel", Channel::Email), Some("vip"));
        assert_eq!((vip.ticket.group_id, vip.ticket.priority), (Some(GroupId(20)), Priority::High));
        let social = run(&routing(), &ticket("你好", Channel::Wechat), None);
        assert_eq!(social.ticket.group_id, Some(GroupId(30)));
        assert_eq!(fired_rule_ids(&social), [3]);
    }

    /// The rules a run's one `rule_fired` event names, in order.
    fn fired_rule_ids(run: &RuleRun) -> Vec<i64> {
        let fired: Vec<&TicketEventDraft> = run.events.iter().filter(|e| e.kind == EventKind::RuleFired).collect();
        assert!(fired.len() <= 1, "one rule_fired per run: {fired:?}");
        fired
            .first()
            .and_then(|event| event.after.as_ref())
            .and_then(|details| details["rules"].as_array())
            .map(|rules| rules.iter().filter_map(|rule| rule["rule_id"].as_i64()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_run_records_one_rule_fired_and_each_field_once() {
        let rules = vec![
            rule(1, 1, json!({}), json!([{"type": "add_tags", "value": ["a"]}, {"type": "set_group", "value": 10}])),
            rule(2, 2, json!({}), json!([{"type": "add_tags", "value": ["b"]}])),
            rule(3, 3, json!({}), json!([{"type": "set_group", "value": 20}])),
        ];
        let result = run(&rules, &ticket("x", Channel::Email), None);
        assert_eq!(fired_rule_ids(&result), [1, 2, 3]);
        let fired = result.events[0].after.clone().expect("details");
        assert_eq!(
            (fired["event"].clone(), fired["rules"][0]["fields"].clone()),
            (json!("ticket_created"), json!(["group_id", "tags"]))
        );
        let changes: Vec<(Option<&str>, Option<&Value>, Option<&Value>)> =
            result.events[1..].iter().map(|e| (e.field.as_deref(), e.before.as_ref(), e.after.as_ref())).collect();
        assert_eq!(
            changes,
            [
                (Some("group_id"), Some(&Value::Null), Some(&json!(20))),
                (Some("tags"), Some(&json!([])), Some(&json!(["a", "b"]))),
            ]
        );
    }

    #[test]
    fn each_rule_fires_once_so_rules_cannot_loop() {
        // Two rules that undo each other would ping-pong forever without the once-per-run rule.
        let rules = vec![
            rule(
                1,
                1,
                json!({"all": [{"field": "priority", "operator": "is", "value": "normal"}]}),
                json!([{"type": "set_priority", "value": "high"}]),
            ),
            rule(
                2,
                2,
                json!({"all": [{"field": "priority", "operator": "is", "value": "high"}]}),
                json!([{"type": "set_priority", "value": "normal"}]),
            ),
        ];
        let result = run(&rules, &ticket("x", Channel::Email), None);
        assert_eq!(fired_rule_ids(&result), [1, 2]);
        assert_eq!(result.ticket.priority, Priority::Normal);
        // Normal, high, normal again: the run left the priority as it was, so history has no change of it.
        assert!(result.events.iter().all(|e| e.kind == EventKind::RuleFired));
    }

    #[test]
    fn later_changes_restart_the_pass_so_earlier_rules_see_them() {
        let rules = vec![
            rule(
                1,
                1,
                json!({"all": [{"field": "group_id", "operator": "is", "value": 10}]}),
                json!([{"type": "add_tags", "value": ["finance"]}]),
            ),
            rule(
                2,
                2,
                json!({"all": [{"field": "subject", "operator": "contains", "value": "invoice"}]}),
                json!([{"type": "set_group", "value": 10}]),
            ),
        ];
        let result = run(&rules, &ticket("invoice copy", Channel::Email), None);
        assert_eq!(result.ticket.tags, Tag::parse_set(&["finance"]).expect("tag"));
    }

    #[test]
    fn refused_changes_are_reported_not_fatal() {
        let rules = vec![rule(1, 1, json!({}), json!([{"type": "set_status", "value": "closed"}]))];
        let result = run(&rules, &ticket("x", Channel::Email), None);
        assert_eq!(result.ticket.status, Status::New);
        assert!(matches!(result.refused.as_slice(), [(1, DomainError::InvalidTransition { .. })]));
    }
}
