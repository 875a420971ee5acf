//! Benchmark of the rule engine's cost (issue 4), run in-process on a fresh SQLite database:
//!
//! 1. ticket-create throughput with no rules, then with 50 active triggers and 10 SLA policies (the same
//!    load: `--tickets` creates over `--concurrency` tasks; `--rounds` rounds each, alternating, after a
//!    warm-up round each; the medians and the median ratio of paired rounds);
//! 2. the SLA timer over `--open` open tickets that all have due times, of which only `--due` are due: how
//!    long one timer pass takes, against a pass with nothing due (the scan must follow the due rows, not the
//!    open ones).
//!
//! In-process on purpose: it measures the use case (where rules cost), without HTTP noise on top. Prints
//! Markdown rows for BENCHMARKS.md. Not a test: nothing here asserts a timing.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use chrono::{Duration, Utc};
use clap::Parser;
use kefu_app::agents::CreateAgent;
use kefu_app::rules::{RuleInput, SlaPolicyInput};
use kefu_app::tickets::{CreateTicket, NewMessage, Requester};
use kefu_app::{App, TRIGGER};
use kefu_domain::{Agent, Identity, Role};
use kefu_store::{Store, TicketSlaRecord};
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Tickets created per round.
    #[arg(long, default_value_t = 1500)]
    tickets: usize,
    /// Concurrent creating tasks.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Rounds per configuration, after one warm-up round each (medians are reported).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Open tickets with SLA due times for the timer benchmark.
    #[arg(long, default_value_t = 100_000)]
    open: usize,
    /// How many of them are due.
    #[arg(long, default_value_t = 100)]
    due: usize,
    /// Add only triggers (`triggers`) or only SLA policies (`policies`), to see what each costs.
    #[arg(long)]
    only: Option<String>,
    /// Create tickets in one configuration only (`plain` or `rules`) and stop: the run to put under a profiler
    /// such as `valgrind --tool=callgrind`, one per configuration, to compare what a create costs in each.
    #[arg(long)]
    profile: Option<String>,
    /// Add the groups, the 50 triggers and the 10 SLA policies to the database of this Kefu data directory
    /// (`kefu.db` in it) and stop: for `bench/rules-api.sh`, which measures the same over HTTP.
    #[arg(long)]
    into_data_dir: Option<std::path::PathBuf>,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One round's figures: creates per second, and how long each create held SQLite's write slot (what bounds
/// the rate when creates queue for the one writer; less moved by a busy machine than the rate).
struct Round {
    rate: f64,
    slot_micros: f64,
}

async fn create_round(app: &App, agent: &Agent, tickets: usize, concurrency: usize, round: usize) -> Result<Round> {
    let slot_before = app.store().write_slot_use().unwrap_or_default();
    let started = Instant::now();
    let per_task = tickets / concurrency;
    let tasks = (0..concurrency).map(|task| {
        let app = app.clone();
        let agent = agent.clone();
        tokio::spawn(async move {
            for n in 0..per_task {
                let subject = match n % 5 {
                    0 => "我要退款 refund please".to_owned(),
                    1 => format!("Order {n} has not arrived"),
                    2 => "发票 invoice copy".to_owned(),
                    3 => "Cannot log in".to_owned(),
                    _ => format!("Question {round}-{task}-{n}"),
                };
                let command = CreateTicket {
                    subject,
                    status: None,
                    priority: Some(if n % 7 == 0 {
                        kefu_domain::Priority::Urgent
                    } else {
                        kefu_domain::Priority::Normal
                    }),
                    category_id: None,
                    channel: Some(if n % 3 == 0 { kefu_domain::Channel::Wechat } else { kefu_domain::Channel::Email }),
                    requester: Requester::Identity {
                        identity: Identity::email(&format!("customer{}@example.com", n % 500))?,
                        name: None,
                    },
                    assignee_id: None,
                    group_id: None,
                    tags: vec![],
                    custom_fields: Default::default(),
                    first_message: Some(NewMessage {
                        body_text: "Hello, I need help with my order.".into(),
                        ..NewMessage::default()
                    }),
                };
                app.create_ticket(&agent, command).await?;
            }
            anyhow::Ok(())
        })
    });
    for result in futures::future::join_all(tasks).await {
        result??;
    }
    let created = (per_task * concurrency) as f64;
    let rate = created / started.elapsed().as_secs_f64();
    let slot_after = app.store().write_slot_use().unwrap_or_default();
    let slot_micros = (slot_after.held - slot_before.held).as_secs_f64() * 1e6 / created;
    Ok(Round { rate, slot_micros })
}

async fn add_rules(app: &App, admin: &Agent, groups: &[i64], only: Option<&str>) -> Result<()> {
    let calendar = app
        .save_calendar(admin, None, "Shanghai office", &json!({
            "time_zone": "Asia/Shanghai",
            "weekly": [["09:00-12:00", "13:00-18:00"], ["09:00-12:00", "13:00-18:00"], ["09:00-12:00", "13:00-18:00"],
                       ["09:00-12:00", "13:00-18:00"], ["09:00-12:00", "13:00-18:00"], [], []],
            "holidays": ["2026-10-01", "2026-10-02"],
        }))
        .await?;
    let words = ["退款", "refund", "发票", "invoice", "login", "password", "delivery", "快递", "damaged", "投诉"];
    for n in (0..50).filter(|_| only != Some("policies")) {
        let group = groups[n % groups.len()];
        let (conditions, actions) = match n % 5 {
            0 => (
                json!({ "any": [{ "field": "subject", "operator": "contains", "value": words[n / 5] }] }),
                json!([{ "type": "add_tags", "value": [format!("topic_{n}")] }]),
            ),
            1 => (
                json!({ "all": [{ "field": "channel", "operator": "in", "value": ["wechat", "line"] }, { "field": "tags", "operator": "not_contains", "value": "seen" }] }),
                json!([{ "type": "add_tags", "value": ["social"] }]),
            ),
            2 => (
                json!({ "all": [{ "field": "customer_tier", "operator": "is", "value": "vip" }] }),
                json!([{ "type": "set_priority", "value": "high" }, { "type": "set_group", "value": group }]),
            ),
            3 => (
                json!({ "all": [{ "field": "priority", "operator": "is", "value": "urgent" }, { "field": "subject", "operator": "starts_with", "value": "Order" }] }),
                json!([{ "type": "set_group", "value": group }]),
            ),
            _ => (
                json!({ "all": [{ "field": "body", "operator": "contains", "value": format!("keyword{n}") }] }),
                json!([{ "type": "add_note", "body": "Matched {{ ticket.subject }}" }]),
            ),
        };
        let input = RuleInput {
            name: format!("rule {n}"),
            position: n as i64,
            active: true,
            events: vec!["ticket_created".into(), "ticket_updated".into()],
            conditions,
            actions,
        };
        app.save_rule(admin, TRIGGER, None, input).await?;
    }
    for n in (0..10).filter(|_| only != Some("triggers")) {
        let conditions = match n {
            0 => json!({ "all": [{ "field": "priority", "operator": "is", "value": "urgent" }] }),
            1 => json!({ "all": [{ "field": "customer_tier", "operator": "is", "value": "vip" }] }),
            2..=5 => {
                let channel = ["wechat", "line", "whatsapp", "telegram"][n - 2];
                json!({ "all": [{ "field": "channel", "operator": "is", "value": channel }] })
            }
            _ => {
                let priority = ["high", "normal", "low", "urgent"][n - 6];
                json!({ "all": [{ "field": "priority", "operator": "is", "value": priority }] })
            }
        };
        let input = SlaPolicyInput {
            name: format!("policy {n}"),
            position: n as i64,
            active: true,
            conditions,
            targets: json!({ "first_response_minutes": 60 * (n + 1), "resolution_minutes": 480 * (n + 1), "business_hours": n % 2 == 0 }),
            calendar_id: Some(calendar.id),
        };
        app.save_sla_policy(admin, None, input).await?;
    }
    Ok(())
}

async fn fresh_app(dir: &std::path::Path, name: &str) -> Result<(Store, App, Agent, Vec<i64>)> {
    let url = format!("sqlite://{}?mode=rwc", dir.join(name).display());
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let files = object_store::memory::InMemory::new();
    let app = App::new(
        store.clone(),
        Arc::new(kefu_app::clock::SystemClock),
        Arc::new(kefu_app::bus::LocalBus::default()),
        Arc::new(files),
        Default::default(),
    );
    let admin = app
        .create_agent(
            None,
            CreateAgent {
                // Not the admin of bench/lib.sh, which signs in to a data dir set up by --into-data-dir.
                email: "rules-admin@example.com".into(),
                name: "Admin".into(),
                role: Role::Admin,
                password: None,
                restricted_to_groups: false,
                group_ids: vec![],
            },
        )
        .await?;
    let mut groups = Vec::new();
    for name in ["Finance", "Senior", "Social", "Tier 2"] {
        groups.push(app.create_group(&admin, name, "").await?.id.0);
    }
    Ok((store, app, admin, groups))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    // `KEFU_LOG=sqlx=info` prints every SQL statement (and how long it took), to see what a create runs.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("KEFU_LOG") {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    if let Some(data_dir) = &args.into_data_dir {
        let (_, app, admin, groups) = fresh_app(data_dir, "kefu.db").await?;
        add_rules(&app, &admin, &groups, args.only.as_deref()).await?;
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    // Two databases side by side, rounds alternating between them, so a busy machine slows both alike.
    let (_, plain_app, plain_admin, _) = fresh_app(dir.path(), "plain.db").await?;
    let (store, app, admin, groups) = fresh_app(dir.path(), "rules.db").await?;
    add_rules(&app, &admin, &groups, args.only.as_deref()).await?;
    if let Some(configuration) = args.profile.as_deref() {
        let (app, agent) = match configuration {
            "plain" => (&plain_app, &plain_admin),
            "rules" => (&app, &admin),
            other => anyhow::bail!("--profile is plain or rules, not {other:?}"),
        };
        for round in 0..args.rounds {
            let Round { rate, slot_micros } = create_round(app, agent, args.tickets, args.concurrency, round).await?;
            println!("{configuration}: round {round}: {rate:.0} creates/s, write slot {slot_micros:.0} µs per create");
        }
        return Ok(());
    }
    // A first round in each configuration creates the customers and warms the caches; it is not counted.
    create_round(&plain_app, &plain_admin, args.tickets, args.concurrency, args.rounds).await?;
    create_round(&app, &admin, args.tickets, args.concurrency, args.rounds).await?;
    let (mut plain, mut ruled, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut plain_slot, mut ruled_slot) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let without = create_round(&plain_app, &plain_admin, args.tickets, args.concurrency, round).await?;
        let with = create_round(&app, &admin, args.tickets, args.concurrency, round).await?;
        eprintln!(
            "round {round}: {:.0} / {:.0} creates/s, write slot {:.0} / {:.0} µs per create",
            without.rate, with.rate, without.slot_micros, with.slot_micros
        );
        plain.push(without.rate);
        ruled.push(with.rate);
        ratios.push(with.rate / without.rate);
        plain_slot.push(without.slot_micros);
        ruled_slot.push(with.slot_micros);
    }
    // The ratio of each pair of neighbouring rounds, then their median: the machine's speed drifts over
    // seconds, and a pair sees nearly the same machine.
    let (plain, ruled, ratio) = (median(plain), median(ruled), median(ratios));
    let (plain_slot, ruled_slot) = (median(plain_slot), median(ruled_slot));
    // CPU cost of the rule engine alone, per ticket: triggers and SLA evaluation, no database.
    let set = app.rule_set().await?;
    let sample = kefu_domain::NewTicket {
        subject: "我要退款 refund please".into(),
        status: kefu_domain::Status::New,
        priority: kefu_domain::Priority::Normal,
        category_id: None,
        channel: kefu_domain::Channel::Wechat,
        requester_id: kefu_domain::CustomerId(1),
        assignee_id: None,
        group_id: None,
        tags: vec![],
        custom_fields: Default::default(),
    }
    .provisional(kefu_domain::TicketNumber(1), Utc::now());
    let iterations = 2000;
    let started = Instant::now();
    for _ in 0..iterations {
        let context = kefu_domain::rules::RuleContext {
            ticket: &sample,
            previous: None,
            message: Some("Hello, I need help with my order."),
            customer_tier: None,
            organization_id: None,
            status_changed_at: sample.created_at,
            now: sample.created_at,
            calendar: set.default_calendar(),
        };
        let run = kefu_domain::triggers::run_rules(
            &set.triggers,
            Some(kefu_domain::triggers::TriggerEvent::TicketCreated),
            context,
            |_| kefu_domain::FieldRules { definitions: &set.definitions, category: None },
            &Default::default(),
            sample.created_at,
        );
        let policy = set.policies.iter().find(|policy| policy.conditions.matches(&context));
        if let Some(policy) = policy {
            let facts = [kefu_domain::sla::SlaFact::Created { at: sample.created_at, status: run.ticket.status }];
            let calendar = policy.calendar_id.and_then(|id| set.calendars.get(&id));
            std::hint::black_box(kefu_domain::sla::evaluate(&facts, &policy.targets, calendar, sample.created_at));
        }
        std::hint::black_box(run);
    }
    eprintln!("rule engine CPU per ticket: {:.1} µs", started.elapsed().as_secs_f64() * 1e6 / iterations as f64);
    let label = match args.only.as_deref() {
        Some("triggers") => "50 triggers",
        Some("policies") => "10 SLA policies",
        _ => "50 triggers + 10 SLA policies",
    };
    println!(
        "| configuration | ticket creates/s (median of {} alternating rounds) | write slot per create |",
        args.rounds
    );
    println!("|---|---|---|");
    println!("| no rules | {plain:.0} | {plain_slot:.0} µs |");
    println!(
        "| {label} | {ruled:.0} ({:.0}% of no rules; median ratio of paired rounds {:.0}%) | {ruled_slot:.0} µs \
         ({:.0}% of no rules' rate) |",
        100.0 * ruled / plain,
        100.0 * ratio,
        100.0 * plain_slot / ruled_slot
    );

    // The SLA timer over many open tickets, few of them due.
    let now = Utc::now();
    let template = kefu_domain::NewTicket {
        subject: "timer".into(),
        status: kefu_domain::Status::Open,
        priority: kefu_domain::Priority::Normal,
        category_id: None,
        channel: kefu_domain::Channel::Api,
        requester_id: kefu_domain::CustomerId(1),
        assignee_id: None,
        group_id: None,
        tags: vec![],
        custom_fields: Default::default(),
    };
    let seeding = Instant::now();
    for chunk in 0..args.open.div_ceil(5000) {
        let tx = store.begin().await?;
        for n in chunk * 5000..((chunk + 1) * 5000).min(args.open) {
            let ticket = tx.repo().insert_ticket(&template, now).await?;
            tx.repo()
                .append_events(
                    ticket.id,
                    kefu_domain::Actor::System,
                    now - Duration::hours(2),
                    &[template.created_event()],
                )
                .await?;
            let due = if n < args.due { now - Duration::minutes(1) } else { now + Duration::days(1 + (n % 30) as i64) };
            let record = TicketSlaRecord {
                ticket_id: ticket.id,
                policy_id: None,
                targets: Some(json!({ "resolution_minutes": 60, "business_hours": false, "warning_minutes": 30 })),
                calendar_id: None,
                first_response_due_at: None,
                next_response_due_at: None,
                resolution_due_at: Some(due),
                next_due_at: Some(due),
                breached: false,
                next_check_at: Some(due),
            };
            tx.repo().save_ticket_sla(&record, now).await?;
        }
        tx.commit().await?;
    }
    eprintln!("seeded {} open tickets with due times in {:.1}s", args.open, seeding.elapsed().as_secs_f64());
    let scan = Instant::now();
    let due_ids = store.repo().tickets_due_for_sla_check(Utc::now(), 1_000_000).await?;
    let scan_seconds = scan.elapsed().as_secs_f64();
    let pass = Instant::now();
    let fired = app.run_sla_timers().await?;
    let pass_seconds = pass.elapsed().as_secs_f64();
    let idle = Instant::now();
    let fired_again = app.run_sla_timers().await?;
    let idle_seconds = idle.elapsed().as_secs_f64();
    println!();
    println!("| SLA timer over {} open tickets with due times | figure |", args.open);
    println!("|---|---|");
    println!(
        "| due-row scan (index on next_check_at): rows found | {} in {:.2} ms |",
        due_ids.len(),
        scan_seconds * 1000.0
    );
    println!(
        "| timer pass with {} due: alerts fired | {fired} in {:.0} ms ({:.2} ms per due ticket) |",
        args.due,
        pass_seconds * 1000.0,
        pass_seconds * 1000.0 / args.due.max(1) as f64
    );
    println!("| timer pass with nothing due: alerts fired | {fired_again} in {:.2} ms |", idle_seconds * 1000.0);
    app.relay_outbox().await?;
    Ok(())
}
