//! Service-level agreements: which policy applies to a ticket, and when each of its clocks is due.
//!
//! An [`SlaPolicy`] has conditions (first matching policy wins) and [`SlaTargets`] for three metrics:
//! first response (first public agent reply), next response (the agent reply after each customer message)
//! and resolution (solved). Clocks run while the ticket is `new` or `open`, pause while it is `pending` or
//! `on_hold`, and stop when it is solved or closed; targets count business time on a calendar, or calendar
//! time. [`evaluate`] replays a ticket's history ([`SlaFact`]s, derived from its event log) to the due time
//! of every metric, so due times can always be rebuilt from the log.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::rules::Conditions;
use crate::ticket::named_enum;
use crate::{BusinessCalendar, DomainError, Result, Status};

named_enum!(
    /// What an SLA measures.
    SlaMetric, "metric" {
        /// From creation to the first public agent reply.
        FirstResponse = "first_response",
        /// From a customer message (after an agent reply) to the next public agent reply.
        NextResponse = "next_response",
        /// From creation to solved.
        Resolution = "resolution",
    }
);

/// The targets of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaTargets {
    /// First response target.
    pub first_response: Option<Duration>,
    /// Next response target.
    pub next_response: Option<Duration>,
    /// Resolution target.
    pub resolution: Option<Duration>,
    /// Count business hours of the policy's calendar (true) or calendar time (false).
    pub business_hours: bool,
    /// How long before a deadline the warning fires.
    pub warning_lead: Duration,
}

impl SlaTargets {
    /// Parses `{"first_response_minutes": 60, "next_response_minutes": 240, "resolution_minutes": 2880,
    /// "business_hours": true, "warning_minutes": 30}`.
    pub fn parse(raw: &Value) -> Result<SlaTargets> {
        let minutes = |key: &str| -> Result<Option<Duration>> {
            match raw.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(value) => match value.as_i64() {
                    Some(minutes) if (1..=60 * 24 * 366).contains(&minutes) => Ok(Some(Duration::minutes(minutes))),
                    _ => Err(DomainError::invalid(key, "expected a number of minutes between 1 and a year")),
                },
            }
        };
        let targets = SlaTargets {
            first_response: minutes("first_response_minutes")?,
            next_response: minutes("next_response_minutes")?,
            resolution: minutes("resolution_minutes")?,
            business_hours: raw.get("business_hours").and_then(Value::as_bool).unwrap_or(false),
            warning_lead: minutes("warning_minutes")?.unwrap_or(crate::rules::DEFAULT_WARNING_LEAD),
        };
        if targets.first_response.is_none() && targets.next_response.is_none() && targets.resolution.is_none() {
            return Err(DomainError::invalid("targets", "a policy needs at least one target"));
        }
        Ok(targets)
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        let minutes = |duration: Option<Duration>| duration.map(|duration| duration.num_minutes());
        json!({
            "first_response_minutes": minutes(self.first_response),
            "next_response_minutes": minutes(self.next_response),
            "resolution_minutes": minutes(self.resolution),
            "business_hours": self.business_hours,
            "warning_minutes": self.warning_lead.num_minutes(),
        })
    }

    fn target(&self, metric: SlaMetric) -> Option<Duration> {
        match metric {
            SlaMetric::FirstResponse => self.first_response,
            SlaMetric::NextResponse => self.next_response,
            SlaMetric::Resolution => self.resolution,
        }
    }
}

/// An SLA policy.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicy {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Order: the first matching policy applies.
    pub position: i64,
    /// Which tickets it covers.
    pub conditions: Conditions,
    /// Its targets.
    pub targets: SlaTargets,
    /// The business-hours calendar, when targets count business hours.
    pub calendar_id: Option<i64>,
}

/// What happened to a ticket, as far as SLA clocks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaFact {
    /// The ticket was opened with this status.
    Created {
        /// When.
        at: DateTime<Utc>,
        /// Its first status.
        status: Status,
    },
    /// The status changed.
    StatusChanged {
        /// When.
        at: DateTime<Utc>,
        /// To what.
        to: Status,
    },
    /// The customer wrote.
    CustomerMessage {
        /// When.
        at: DateTime<Utc>,
    },
    /// An agent replied publicly.
    AgentReply {
        /// When.
        at: DateTime<Utc>,
    },
}

impl SlaFact {
    fn at(&self) -> DateTime<Utc> {
        match self {
            SlaFact::Created { at, .. }
            | SlaFact::StatusChanged { at, .. }
            | SlaFact::CustomerMessage { at }
            | SlaFact::AgentReply { at } => *at,
        }
    }
}

/// Where one metric's clock stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricState {
    /// Which metric.
    pub metric: SlaMetric,
    /// Its target.
    pub target: Duration,
    /// When the clock started.
    pub started_at: DateTime<Utc>,
    /// When the target is (or was) reached; `None` while paused before reaching it, or once met in time.
    pub due_at: Option<DateTime<Utc>>,
    /// When the metric was fulfilled (reply sent, ticket solved).
    pub fulfilled_at: Option<DateTime<Utc>>,
    /// The target was missed.
    pub breached: bool,
    /// The clock is not running now (pending, on hold) and the metric is not fulfilled.
    pub paused: bool,
    /// Running time used so far.
    pub elapsed: Duration,
}

impl MetricState {
    /// When the warning for this metric is due, if it still can be.
    pub fn warning_at(&self, lead: Duration) -> Option<DateTime<Utc>> {
        match (self.due_at, self.fulfilled_at) {
            (Some(due), None) => Some(due - lead),
            _ => None,
        }
    }
}

fn runs(status: Status) -> bool {
    matches!(status, Status::New | Status::Open)
}

/// Measures working time on the calendar, or plain time without one.
fn span(calendar: Option<&BusinessCalendar>, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    match calendar {
        Some(calendar) => calendar.between(from, to),
        None => (to - from).max(Duration::zero()),
    }
}

fn add(calendar: Option<&BusinessCalendar>, from: DateTime<Utc>, duration: Duration) -> Option<DateTime<Utc>> {
    match calendar {
        Some(calendar) => calendar.add(from, duration),
        None => Some(from + duration),
    }
}

/// Replays `facts` (in any order; they are sorted) to the state of every metric the targets define.
/// `calendar` is used when the targets count business hours.
pub fn evaluate(
    facts: &[SlaFact],
    targets: &SlaTargets,
    calendar: Option<&BusinessCalendar>,
    now: DateTime<Utc>,
) -> Vec<MetricState> {
    let calendar = if targets.business_hours { calendar } else { None };
    let mut facts = facts.to_vec();
    facts.sort_by_key(SlaFact::at);
    let Some(created_at) = facts.iter().find_map(|fact| match fact {
        SlaFact::Created { at, .. } => Some(*at),
        _ => None,
    }) else {
        return vec![];
    };
    // The status timeline: (since, status), in order.
    let statuses: Vec<(DateTime<Utc>, Status)> = facts
        .iter()
        .filter_map(|fact| match fact {
            SlaFact::Created { at, status } | SlaFact::StatusChanged { at, to: status } => Some((*at, *status)),
            _ => None,
        })
        .collect();
    let current_status = statuses.last().map(|(_, status)| *status).unwrap_or(Status::New);
    let replies: Vec<DateTime<Utc>> =
        facts.iter().filter(|&fact| matches!(fact, SlaFact::AgentReply { .. })).map(|fact| fact.at()).collect();
    let customer_messages: Vec<DateTime<Utc>> =
        facts.iter().filter(|&fact| matches!(fact, SlaFact::CustomerMessage { .. })).map(|fact| fact.at()).collect();

    let solved_at = match current_status {
        Status::Solved | Status::Closed => statuses
            .iter()
            .rev()
            .take_while(|(_, status)| matches!(status, Status::Solved | Status::Closed))
            .last()
            .map(|(at, _)| *at),
        _ => None,
    };
    let last_reply = replies.last().copied();
    let next_response_start =
        last_reply.and_then(|reply| customer_messages.iter().copied().find(|message| *message > reply));

    let windows = [
        (SlaMetric::FirstResponse, Some(created_at), replies.first().copied()),
        (SlaMetric::NextResponse, next_response_start, None),
        (SlaMetric::Resolution, Some(created_at), solved_at),
    ];
    let mut states = Vec::new();
    for (metric, start, fulfilled_at) in windows {
        let (Some(target), Some(start)) = (targets.target(metric), start) else { continue };
        let end = fulfilled_at.unwrap_or(now).max(start);
        let mut elapsed = Duration::zero();
        let mut due_at = None;
        for (index, (since, status)) in statuses.iter().enumerate() {
            let until = statuses.get(index + 1).map(|(at, _)| *at).unwrap_or(end).min(end);
            let from = (*since).max(start);
            if !runs(*status) || until <= from {
                continue;
            }
            let piece = span(calendar, from, until);
            if elapsed + piece >= target {
                due_at = add(calendar, from, target - elapsed);
                elapsed = target;
                break;
            }
            elapsed += piece;
        }
        let finished = fulfilled_at.is_some() || matches!(current_status, Status::Solved | Status::Closed);
        let running_now = !finished && runs(current_status);
        if due_at.is_none() && running_now {
            due_at = add(calendar, now, target - elapsed);
        }
        let breached = match (due_at, fulfilled_at) {
            (Some(due), Some(done)) => done > due,
            (Some(due), None) => now >= due && !finished,
            _ => false,
        };
        let due_at = if fulfilled_at.is_some() && !breached { None } else { due_at };
        states.push(MetricState {
            metric,
            target,
            started_at: start,
            due_at,
            fulfilled_at,
            breached,
            paused: !finished && !running_now,
            elapsed,
        });
    }
    states
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorkingHours;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0).single().expect("time")
    }

    fn targets(first: i64, next: i64, resolution: i64, business_hours: bool) -> SlaTargets {
        SlaTargets {
            first_response: Some(Duration::minutes(first)),
            next_response: Some(Duration::minutes(next)),
            resolution: Some(Duration::minutes(resolution)),
            business_hours,
            warning_lead: Duration::minutes(15),
        }
    }

    fn state(states: &[MetricState], metric: SlaMetric) -> MetricState {
        states.iter().find(|state| state.metric == metric).cloned().expect("metric present")
    }

    #[test]
    fn first_response_is_due_after_the_target_and_met_by_a_reply() {
        let created = [SlaFact::Created { at: at(23, 9, 0), status: Status::New }];
        let states = evaluate(&created, &targets(60, 120, 480, false), None, at(23, 9, 30));
        let first = state(&states, SlaMetric::FirstResponse);
        assert_eq!(first.due_at, Some(at(23, 10, 0)));
        assert!(!first.breached);
        assert!(states.iter().all(|state| state.metric != SlaMetric::NextResponse), "no customer follow-up yet");

        let replied = [created[0], SlaFact::AgentReply { at: at(23, 9, 45) }];
        let first =
            state(&evaluate(&replied, &targets(60, 120, 480, false), None, at(23, 12, 0)), SlaMetric::FirstResponse);
        assert_eq!((first.fulfilled_at, first.due_at, first.breached), (Some(at(23, 9, 45)), None, false));

        let late = [created[0], SlaFact::AgentReply { at: at(23, 10, 30) }];
        let first =
            state(&evaluate(&late, &targets(60, 120, 480, false), None, at(23, 12, 0)), SlaMetric::FirstResponse);
        assert!(first.breached);
        assert_eq!(first.due_at, Some(at(23, 10, 0)));
    }

    #[test]
    fn pending_pauses_the_clock() {
        let facts = [
            SlaFact::Created { at: at(23, 9, 0), status: Status::Open },
            SlaFact::StatusChanged { at: at(23, 9, 30), to: Status::Pending },
            SlaFact::StatusChanged { at: at(23, 11, 30), to: Status::Open },
        ];
        let resolution =
            state(&evaluate(&facts, &targets(600, 600, 120, false), None, at(23, 12, 0)), SlaMetric::Resolution);
        assert_eq!(resolution.elapsed, Duration::minutes(60));
        assert_eq!(resolution.due_at, Some(at(23, 13, 0)), "two hours pending moved the deadline from 11:00 to 13:00");
        let paused =
            state(&evaluate(&facts[..2], &targets(600, 600, 120, false), None, at(23, 12, 0)), SlaMetric::Resolution);
        assert!(paused.paused);
        assert_eq!(paused.due_at, None);
    }

    #[test]
    fn next_response_starts_with_a_customer_message_after_a_reply() {
        let facts = [
            SlaFact::Created { at: at(23, 9, 0), status: Status::New },
            SlaFact::AgentReply { at: at(23, 9, 10) },
            SlaFact::StatusChanged { at: at(23, 9, 10), to: Status::Open },
            SlaFact::CustomerMessage { at: at(23, 10, 0) },
        ];
        let next =
            state(&evaluate(&facts, &targets(60, 30, 600, false), None, at(23, 10, 10)), SlaMetric::NextResponse);
        assert_eq!((next.started_at, next.due_at), (at(23, 10, 0), Some(at(23, 10, 30))));
        let breached =
            state(&evaluate(&facts, &targets(60, 30, 600, false), None, at(23, 11, 0)), SlaMetric::NextResponse);
        assert!(breached.breached);
    }

    #[test]
    fn business_hours_targets_skip_the_night() {
        let calendar =
            BusinessCalendar::office_hours(chrono_tz::UTC, &[WorkingHours::parse("09:00-17:00").expect("hours")]);
        let facts = [SlaFact::Created { at: at(23, 16, 0), status: Status::New }];
        let first = state(
            &evaluate(&facts, &targets(120, 60, 600, true), Some(&calendar), at(23, 16, 30)),
            SlaMetric::FirstResponse,
        );
        assert_eq!(first.due_at, Some(at(24, 10, 0)));
        let plain = state(
            &evaluate(&facts, &targets(120, 60, 600, false), Some(&calendar), at(23, 16, 30)),
            SlaMetric::FirstResponse,
        );
        assert_eq!(plain.due_at, Some(at(23, 18, 0)));
    }

    #[test]
    fn solving_fulfils_resolution_and_reopening_resumes_it() {
        let facts = [
            SlaFact::Created { at: at(23, 9, 0), status: Status::Open },
            SlaFact::StatusChanged { at: at(23, 10, 0), to: Status::Solved },
        ];
        let solved = state(&evaluate(&facts, &targets(60, 60, 120, false), None, at(23, 12, 0)), SlaMetric::Resolution);
        assert_eq!((solved.fulfilled_at, solved.breached, solved.due_at), (Some(at(23, 10, 0)), false, None));
        let mut reopened = facts.to_vec();
        reopened.push(SlaFact::StatusChanged { at: at(23, 11, 0), to: Status::Open });
        let resumed =
            state(&evaluate(&reopened, &targets(60, 60, 120, false), None, at(23, 11, 30)), SlaMetric::Resolution);
        assert_eq!(resumed.elapsed, Duration::minutes(90));
        assert_eq!(resumed.due_at, Some(at(23, 12, 0)));
    }

    #[test]
    fn targets_parse_and_refuse_nonsense() {
        let parsed = SlaTargets::parse(&json!({"first_response_minutes": 60, "business_hours": true})).expect("valid");
        assert_eq!(parsed.first_response, Some(Duration::minutes(60)));
        assert_eq!(SlaTargets::parse(&parsed.to_json()), Ok(parsed));
        assert!(SlaTargets::parse(&json!({})).is_err());
        assert!(SlaTargets::parse(&json!({"resolution_minutes": -5})).is_err());
        assert!(SlaTargets::parse(&json!({"resolution_minutes": "soon"})).is_err());
    }

    fn any_status() -> impl Strategy<Value = Status> {
        proptest::sample::select(vec![Status::Open, Status::Pending, Status::OnHold, Status::Solved])
    }

    proptest! {
        /// However long a ticket pends, the time the clock ran plus the time it was paused covers the span
        /// from creation, and the deadline never moves earlier when pauses are added.
        #[test]
        fn pauses_never_bring_a_deadline_forward(changes in proptest::collection::vec((1i64..600, any_status()), 0..12)) {
            let created = at(2, 9, 0);
            let mut facts = vec![SlaFact::Created { at: created, status: Status::New }];
            let mut now = created;
            for (minutes, status) in &changes {
                now += Duration::minutes(*minutes);
                facts.push(SlaFact::StatusChanged { at: now, to: *status });
            }
            let now = now + Duration::minutes(1);
            let targets = targets(10_000, 10_000, 10_000, false);
            let with_pauses = state(&evaluate(&facts, &targets, None, now), SlaMetric::Resolution);
            let straight = state(&evaluate(&facts[..1], &targets, None, now), SlaMetric::Resolution);
            prop_assert!(with_pauses.elapsed <= straight.elapsed);
            if let (Some(paused_due), Some(straight_due)) = (with_pauses.due_at, straight.due_at) {
                prop_assert!(paused_due >= straight_due);
            }
        }
    }
}
