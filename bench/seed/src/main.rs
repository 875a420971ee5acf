//! `kefu-bench-seed`: fills a Kefu SQLite database with a large, realistic data set, so the benchmarks in
//! `bench/` can measure list, read and create at 10k, 100k and 1M tickets.
//!
//! It migrates the database first (through [`kefu_store::Store::migrate`], the same migrations `kefu serve`
//! runs), then writes straight into the tables with multi-row `INSERT`s, a few thousand tickets per
//! transaction, on one sea-orm connection with `synchronous = OFF`:
//!
//! - a handful of groups and agents (agents have no password: they cannot sign in, they are assignees);
//! - `--customers` customers, each with one email identity;
//! - `--tickets` tickets with a mix of statuses, priorities, channels, groups, assignees and tags that looks
//!   like a help desk a few years old (most tickets solved or closed, recent ones still open), requested by
//!   those customers, numbered on from the highest existing number;
//! - one or two messages per ticket (the customer's question, often an agent's reply or an internal note);
//! - one `created` event per ticket, by the system actor (seeded tickets are an import), whose `after`
//!   holds the fields as seeded;
//! - finally the `ticket_number` counter is set to the highest ticket number, and the WAL is checkpointed.
//!
//! Ids continue after the highest existing ones, so it can add to a database that already holds data (an
//! admin made with `kefu user create`, tickets made over the API). The output is deterministic for a given
//! `--seed`, apart from timestamps, which end at the time of the run.
//!
//! ```text
//! kefu migrate                                  # optional: the seeder migrates too
//! kefu-bench-seed --data-dir /tmp/kefu-1m --tickets 1000000
//! ```
//!
//! What it is not: a fixture for tests (tests create their data through `kefu-app`), nor an importer from
//! other help desks. It bypasses every use case: no outbox rows, no search indexing, no validation beyond
//! what the schema enforces. Only SQLite is supported; foreign keys are not checked while it writes (run
//! with `--check` to have `PRAGMA foreign_key_check` confirm the result).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use clap::Parser;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value,
};

/// Fill a Kefu SQLite database with customers, tickets, messages and events for benchmarks.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The Kefu data directory (the database is `kefu.db` in it; created if missing).
    #[arg(long, env = "KEFU_DATA_DIR")]
    data_dir: PathBuf,
    /// How many tickets to add.
    #[arg(long, default_value_t = 10_000)]
    tickets: u64,
    /// How many customers to add (default: as many as tickets).
    #[arg(long)]
    customers: Option<u64>,
    /// Seed of the random choices.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Tickets written per transaction.
    #[arg(long, default_value_t = 20_000)]
    chunk: u64,
    /// Days of history the tickets are spread over, ending now.
    #[arg(long, default_value_t = 730)]
    days: i64,
    /// Run `PRAGMA foreign_key_check` at the end and fail if anything dangles.
    #[arg(long)]
    check: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.tickets == 0 {
        bail!("--tickets must be at least 1");
    }
    let customers = args.customers.unwrap_or(args.tickets).max(1);
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
    let path = args.data_dir.join("kefu.db");
    let path = path.to_str().context("the data directory path is not valid UTF-8")?;
    let url = format!("sqlite://{path}?mode=rwc");

    let started = Instant::now();
    let store = kefu_store::Store::connect_with(&url, 2).await.context("opening the database")?;
    store.migrate().await.context("migrating")?;
    store.close().await;

    let connection = connect(&url).await?;
    let mut seeder = Seeder::prepare(&connection, &args, customers).await?;
    eprintln!(
        "seeding {} tickets and {customers} customers into {path} (ids after ticket {}, customer {})",
        args.tickets, seeder.base.ticket_id, seeder.base.customer_id
    );
    seeder.write_customers(&connection, customers, args.chunk).await?;
    seeder.write_tickets(&connection, args.tickets, args.chunk).await?;

    connection
        .execute_unprepared(
            "UPDATE counters SET value = MAX(value, (SELECT COALESCE(MAX(number), 0) FROM tickets)) \
             WHERE name = 'ticket_number'",
        )
        .await?;
    if args.check {
        let dangling =
            connection.query_all_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA foreign_key_check")).await?;
        if !dangling.is_empty() {
            bail!("{} rows refer to missing rows", dangling.len());
        }
        eprintln!("foreign keys: all references resolve");
    }
    connection.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    connection.close().await?;

    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let totals = &seeder.totals;
    eprintln!(
        "done in {:.1}s: {} customers, {} identities, {} tickets, {} tags, {} messages, {} events; \
         database {:.0} MiB",
        started.elapsed().as_secs_f64(),
        totals.customers,
        totals.customers,
        totals.tickets,
        totals.tags,
        totals.messages,
        totals.events,
        size as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

/// One connection for bulk writing: no fsync, a big page cache, foreign keys unchecked.
async fn connect(url: &str) -> Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(1).min_connections(1).sqlx_logging(false).map_sqlx_sqlite_opts(
        |options: SqliteConnectOptions| {
            options
                .synchronous(SqliteSynchronous::Off)
                .foreign_keys(false)
                .busy_timeout(Duration::from_secs(30))
                .pragma("cache_size", "-262144")
                .pragma("temp_store", "memory")
        },
    );
    Database::connect(options).await.context("opening the database for writing")
}

// ------------------------------------------------------------------------------------------ random choices

/// SplitMix64: small, fast, deterministic; plenty for picking test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Picks by weight from `(item, weight)` pairs.
    fn weighted<T: Copy>(&mut self, items: &[(T, u64)]) -> T {
        let total: u64 = items.iter().map(|(_, weight)| weight).sum();
        let mut roll = self.below(total);
        for (item, weight) in items {
            if roll < *weight {
                return *item;
            }
            roll -= weight;
        }
        items[items.len() - 1].0
    }

    fn seconds(&mut self, max: i64) -> TimeDelta {
        TimeDelta::seconds(self.below(max.max(1) as u64) as i64)
    }
}

const RECENT_STATUSES: &[(&str, u64)] =
    &[("new", 15), ("open", 30), ("pending", 15), ("on_hold", 5), ("solved", 25), ("closed", 10)];
const OLDER_STATUSES: &[(&str, u64)] =
    &[("new", 1), ("open", 6), ("pending", 3), ("on_hold", 2), ("solved", 18), ("closed", 70)];
const PRIORITIES: &[(&str, u64)] = &[("urgent", 4), ("high", 16), ("normal", 60), ("low", 20)];
const CHANNELS: &[(&str, u64)] = &[
    ("email", 45),
    ("web", 20),
    ("chat", 15),
    ("api", 5),
    ("phone", 5),
    ("wechat", 5),
    ("whatsapp", 3),
    ("telegram", 2),
];
const GROUPS: &[(&str, &str, u64)] = &[
    ("Tier 1", "First line: every new ticket lands here", 40),
    ("Tier 2", "Escalations from tier 1", 15),
    ("Billing", "Invoices, refunds, payment problems", 20),
    ("Shipping", "Deliveries, returns, lost parcels", 15),
    ("Technical", "Bugs, outages, integrations", 10),
];
const AGENTS: usize = 25;
const TAGS: &[&str] = &[
    "refund",
    "shipping",
    "invoice",
    "login",
    "password_reset",
    "bug",
    "feature_request",
    "vip",
    "callback",
    "damaged",
    "退款",
    "发票",
    "物流",
    "投诉",
    "账号",
];
const FIRST_NAMES: &[&str] = &[
    "Anna", "Ben", "Chloé", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kim", "Lena", "Marco",
    "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tariq",
];
const LAST_NAMES: &[&str] = &[
    "Smith", "Müller", "García", "Rossi", "Novak", "Kowalski", "Silva", "Jensen", "Dubois", "Okafor", "Tanaka",
    "Nguyen", "Haddad", "Ivanova", "Larsen", "Moreau",
];
const CHINESE_NAMES: &[&str] = &[
    "王芳", "李伟", "张敏", "刘洋", "陈静", "杨磊", "赵丽", "黄强", "周杰", "吴霞", "徐明", "孙燕", "马超", "朱琳",
    "胡军", "郭婷",
];
const PRODUCTS: &[&str] = &[
    "order",
    "invoice",
    "account",
    "subscription",
    "printer",
    "router",
    "laptop",
    "mobile app",
    "parcel",
    "gift card",
    "password",
    "VPN",
];
const PROBLEMS: &[&str] = &[
    "not arrived",
    "charged twice",
    "cannot log in",
    "stopped working",
    "wrong item",
    "refund request",
    "slow to load",
    "error on checkout",
    "missing invoice",
    "cannot cancel",
    "damaged on delivery",
    "question about pricing",
];
const CHINESE_SUBJECTS: &[&str] = &[
    "订单 {n} 还没有收到",
    "发票抬头需要修改 ({n})",
    "账号无法登录，请帮忙",
    "申请退款：订单 {n}",
    "商品破损，要求换货",
    "快递一直显示运输中 {n}",
    "会员续费扣款两次",
    "App 闪退，无法下单",
];
const SENTENCES: &[&str] = &[
    "Hello, I am writing about my recent purchase.",
    "It worked fine until yesterday, and now nothing happens when I press the button.",
    "I have already tried restarting it and clearing the cache.",
    "The tracking page has not changed for five days.",
    "Could you please check what went wrong and let me know?",
    "I was charged twice on my card for the same order.",
    "Please send the invoice to our accounts department.",
    "This is quite urgent for us because the team cannot work.",
    "I attached a screenshot of the error message.",
    "Thank you in advance for your help.",
    "您好，我上周下的订单到现在还没有发货。",
    "请尽快帮我处理，谢谢！",
    "我已经重新安装了应用，但是问题仍然存在。",
    "麻烦开一张增值税专用发票。",
];
const REPLIES: &[&str] = &[
    "Thanks for reaching out. I have checked your order and a replacement is on its way.",
    "Sorry for the trouble. I have refunded the duplicate charge; it shows on your statement in 3-5 days.",
    "Could you tell us the exact error message and the version of the app you are using?",
    "I have reset your password; you will receive an email with a link to choose a new one.",
    "您好，已为您重新发货，快递单号稍后通过短信发送。",
    "退款已处理，预计 3-5 个工作日到账。",
];
const NOTES: &[&str] = &[
    "Customer called twice about this; escalating to tier 2.",
    "Checked with the warehouse: parcel was returned to sender.",
    "Known issue, linked to the outage on Tuesday.",
    "已联系仓库确认，明天补发。",
];

// ------------------------------------------------------------------------------------------ batched writes

/// Rows for one table, written as multi-row `INSERT`s of up to `rows_per_statement` rows each. Full
/// statements all have the same text, so sqlx prepares them once.
struct Rows {
    table: &'static str,
    columns: &'static [&'static str],
    rows_per_statement: usize,
    values: Vec<Value>,
}

impl Rows {
    fn new(table: &'static str, columns: &'static [&'static str]) -> Rows {
        // SQLite allows 32766 parameters per statement; a few hundred rows per statement is the sweet spot.
        let rows_per_statement = (16_000 / columns.len()).min(1_000);
        Rows { table, columns, rows_per_statement, values: Vec::new() }
    }

    fn push<const N: usize>(&mut self, row: [Value; N]) {
        debug_assert_eq!(N, self.columns.len());
        self.values.extend(row);
    }

    fn sql(&self, rows: usize) -> String {
        let one = format!("({})", vec!["?"; self.columns.len()].join(","));
        format!("INSERT INTO {} ({}) VALUES {}", self.table, self.columns.join(", "), vec![one; rows].join(","))
    }

    /// Writes everything pushed so far on `connection`; returns the number of rows.
    async fn write(&mut self, connection: &impl ConnectionTrait) -> Result<u64> {
        let width = self.columns.len();
        let total = self.values.len() / width;
        let full_sql = self.sql(self.rows_per_statement);
        let mut values = std::mem::take(&mut self.values).into_iter();
        let mut left = total;
        while left > 0 {
            let rows = left.min(self.rows_per_statement);
            let sql = if rows == self.rows_per_statement { full_sql.clone() } else { self.sql(rows) };
            let statement_values: Vec<Value> = values.by_ref().take(rows * width).collect();
            connection
                .execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, statement_values))
                .await
                .with_context(|| format!("inserting into {}", self.table))?;
            left -= rows;
        }
        Ok(total as u64)
    }
}

// ------------------------------------------------------------------------------------------ the data set

/// The highest ids and numbers already in the database; new rows continue after them.
#[derive(Debug, Default)]
struct Base {
    customer_id: i64,
    identity_id: i64,
    ticket_id: i64,
    ticket_number: i64,
    message_id: i64,
    event_id: i64,
}

#[derive(Debug, Default)]
struct Totals {
    customers: u64,
    tickets: u64,
    tags: u64,
    messages: u64,
    events: u64,
}

struct Group {
    id: i64,
    weight: u64,
    members: Vec<i64>,
}

struct Seeder {
    rng: Rng,
    base: Base,
    groups: Vec<Group>,
    agent_ids: Vec<i64>,
    /// The seeded customers are `base.customer_id + 1 ..= base.customer_id + customers`.
    customers: u64,
    start: DateTime<Utc>,
    span_seconds: i64,
    now: DateTime<Utc>,
    totals: Totals,
}

async fn max_of(connection: &DatabaseConnection, table: &str, column: &str) -> Result<i64> {
    let row = connection
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!("SELECT COALESCE(MAX({column}), 0) AS value FROM {table}"),
        ))
        .await?
        .context("MAX() returned no row")?;
    Ok(row.try_get("", "value")?)
}

impl Seeder {
    /// Reads the highest ids, and makes sure the groups and agents exist (reusing them on a second run).
    async fn prepare(connection: &DatabaseConnection, args: &Args, customers: u64) -> Result<Seeder> {
        let base = Base {
            customer_id: max_of(connection, "customers", "id").await?,
            identity_id: max_of(connection, "customer_identities", "id").await?,
            ticket_id: max_of(connection, "tickets", "id").await?,
            ticket_number: max_of(connection, "tickets", "number").await?,
            message_id: max_of(connection, "messages", "id").await?,
            event_id: max_of(connection, "ticket_events", "id").await?,
        };
        // Microseconds, as Kefu itself stores them (timestamps are compared as text on SQLite).
        let now = Utc::now().trunc_subsecs(6);
        let mut rng = Rng(args.seed);

        let tx = connection.begin().await?;
        let mut groups = Vec::new();
        for (name, description, weight) in GROUPS {
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT OR IGNORE INTO groups (name, description, created_at, updated_at) \
                 VALUES (?, ?, ?, ?)",
                [(*name).into(), (*description).into(), now.into(), now.into()],
            ))
            .await?;
            let row = tx
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    "SELECT id FROM groups WHERE name = ?",
                    [(*name).into()],
                ))
                .await?
                .context("group just inserted is missing")?;
            groups.push(Group { id: row.try_get("", "id")?, weight: *weight, members: Vec::new() });
        }
        let mut agent_ids = Vec::new();
        for index in 0..AGENTS {
            let email = format!("agent{:02}@bench.kefu.example", index + 1);
            let name = if index % 3 == 0 {
                (*rng.pick(CHINESE_NAMES)).to_owned()
            } else {
                format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES))
            };
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT OR IGNORE INTO agents (email, name, role, totp_enabled, restricted_to_groups, \
                 active, created_at, updated_at) VALUES (?, ?, 'agent', false, false, true, ?, ?)",
                [email.clone().into(), name.into(), now.into(), now.into()],
            ))
            .await?;
            let row = tx
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    "SELECT id FROM agents WHERE email = ?",
                    [email.into()],
                ))
                .await?
                .context("agent just inserted is missing")?;
            let agent_id: i64 = row.try_get("", "id")?;
            agent_ids.push(agent_id);
            // Every agent is in one group, every third one in a second; each group gets members.
            let first = index % groups.len();
            let mut memberships = vec![first];
            if index % 3 == 0 {
                memberships.push((first + 1) % groups.len());
            }
            for group_index in memberships {
                tx.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    "INSERT OR IGNORE INTO agent_groups (agent_id, group_id) VALUES (?, ?)",
                    [agent_id.into(), groups[group_index].id.into()],
                ))
                .await?;
                groups[group_index].members.push(agent_id);
            }
        }
        tx.commit().await?;

        let span_seconds = args.days.max(1) * 86_400;
        Ok(Seeder {
            rng,
            base,
            groups,
            agent_ids,
            customers,
            start: now - TimeDelta::seconds(span_seconds),
            span_seconds,
            now,
            totals: Totals::default(),
        })
    }

    /// The moment the `index`-th of `count` things happened, spread evenly over the history.
    fn moment(&self, index: u64, count: u64) -> DateTime<Utc> {
        let offset = (self.span_seconds as f64 * index as f64 / count as f64) as i64;
        self.start + TimeDelta::seconds(offset)
    }

    async fn write_customers(&mut self, connection: &DatabaseConnection, count: u64, chunk: u64) -> Result<()> {
        let mut customers = Rows::new(
            "customers",
            &[
                "id",
                "name",
                "organization_id",
                "tier",
                "locale",
                "attributes",
                "merged_into_id",
                "created_at",
                "updated_at",
            ],
        );
        let mut identities =
            Rows::new("customer_identities", &["id", "customer_id", "kind", "provider", "value", "created_at"]);
        let empty_object = serde_json::json!({});
        let started = Instant::now();
        let mut index = 0;
        while index < count {
            let end = (index + chunk).min(count);
            for i in index..end {
                let id = self.base.customer_id + 1 + i as i64;
                let created_at = self.moment(i, count);
                let chinese = self.rng.chance(40);
                let (name, local) = if chinese {
                    let name = (*self.rng.pick(CHINESE_NAMES)).to_owned();
                    (name, "kehu".to_owned())
                } else {
                    let first = *self.rng.pick(FIRST_NAMES);
                    let last = *self.rng.pick(LAST_NAMES);
                    (format!("{first} {last}"), ascii_lower(&format!("{first}.{last}")))
                };
                let locale = if chinese { if self.rng.chance(20) { "zh-TW" } else { "zh-CN" } } else { "en" };
                let tier: Option<String> = self.rng.chance(3).then(|| "vip".to_owned());
                customers.push([
                    id.into(),
                    name.into(),
                    Option::<i64>::None.into(),
                    tier.into(),
                    locale.into(),
                    empty_object.clone().into(),
                    Option::<i64>::None.into(),
                    created_at.into(),
                    created_at.into(),
                ]);
                let domain = *self.rng.pick(&["example.com", "example.net", "example.org", "example.cn"]);
                identities.push([
                    (self.base.identity_id + 1 + i as i64).into(),
                    id.into(),
                    "email".into(),
                    "".into(),
                    format!("{local}.{id}@{domain}").into(),
                    created_at.into(),
                ]);
            }
            let tx = connection.begin().await?;
            self.totals.customers += customers.write(&tx).await?;
            identities.write(&tx).await?;
            tx.commit().await?;
            progress("customers", index, end, count, started);
            index = end;
        }
        Ok(())
    }

    async fn write_tickets(&mut self, connection: &DatabaseConnection, count: u64, chunk: u64) -> Result<()> {
        let mut tickets = Rows::new(
            "tickets",
            &[
                "id",
                "number",
                "subject",
                "status",
                "priority",
                "category_id",
                "channel",
                "requester_id",
                "assignee_id",
                "group_id",
                "custom_fields",
                "merged_into_id",
                "version",
                "created_at",
                "updated_at",
                "solved_at",
                "closed_at",
            ],
        );
        let mut tags = Rows::new("ticket_tags", &["ticket_id", "tag"]);
        let mut messages = Rows::new(
            "messages",
            &[
                "id",
                "ticket_id",
                "original_ticket_id",
                "author_kind",
                "author_id",
                "internal",
                "body_text",
                "body_html",
                "created_at",
            ],
        );
        let mut events = Rows::new(
            "ticket_events",
            &["id", "ticket_id", "actor_kind", "actor_id", "kind", "field", "before", "after", "created_at"],
        );
        let empty_object = serde_json::json!({});
        let group_weights: Vec<(usize, u64)> =
            self.groups.iter().enumerate().map(|(index, group)| (index, group.weight)).collect();
        let started = Instant::now();
        let mut message_id = self.base.message_id;
        let mut event_id = self.base.event_id;
        let mut index = 0;
        while index < count {
            let end = (index + chunk).min(count);
            for i in index..end {
                let id = self.base.ticket_id + 1 + i as i64;
                let number = self.base.ticket_number + 1 + i as i64;
                let created_at = self.moment(i, count) + self.rng.seconds(60);
                let created_at = created_at.min(self.now);
                // The newest tenth of the history is still being worked on; older tickets are mostly done.
                let recent = i * 10 >= count * 9;
                let status = self.rng.weighted(if recent { RECENT_STATUSES } else { OLDER_STATUSES });
                let priority = self.rng.weighted(PRIORITIES);
                let channel = self.rng.weighted(CHANNELS);
                // Older customers have had more time to write: pick among those who existed by then.
                let known = ((self.customers as u128 * (i as u128 + 1)).div_ceil(count as u128)) as u64;
                let requester_id = self.base.customer_id + 1 + self.rng.below(known.max(1)) as i64;
                let group =
                    if self.rng.chance(95) { Some(&self.groups[self.rng.weighted(&group_weights)]) } else { None };
                let assignee_id = if status == "new" && self.rng.chance(70) || self.rng.chance(8) {
                    None
                } else {
                    match group {
                        Some(group) if !group.members.is_empty() => Some(*self.rng.pick(&group.members)),
                        _ => Some(*self.rng.pick(&self.agent_ids)),
                    }
                };
                let group_id = group.map(|group| group.id);

                let subject = if self.rng.chance(30) {
                    self.rng.pick(CHINESE_SUBJECTS).replace("{n}", &(100_000 + self.rng.below(900_000)).to_string())
                } else {
                    format!(
                        "{} {}: {}",
                        capitalize(self.rng.pick::<&str>(PRODUCTS)),
                        100_000 + self.rng.below(900_000),
                        self.rng.pick(PROBLEMS)
                    )
                };

                let tag_count = self.rng.weighted(&[(0usize, 35), (1, 35), (2, 20), (3, 10)]);
                let mut ticket_tags: Vec<&str> = (0..tag_count).map(|_| *self.rng.pick(TAGS)).collect();
                ticket_tags.sort_unstable();
                ticket_tags.dedup();

                let working = self.rng.seconds(3 * 86_400);
                let (updated_at, solved_at, closed_at) = match status {
                    "solved" => {
                        let solved = (created_at + TimeDelta::minutes(10) + working).min(self.now);
                        (solved, Some(solved), None)
                    }
                    "closed" => {
                        let solved = (created_at + TimeDelta::minutes(10) + working).min(self.now);
                        let closed = (solved + TimeDelta::days(4)).min(self.now);
                        (closed, Some(solved), Some(closed))
                    }
                    "new" => (created_at, None, None),
                    _ => ((created_at + working).min(self.now), None, None),
                };
                let version = if status == "new" { 1 } else { 2 + self.rng.below(5) as i64 };

                tickets.push([
                    id.into(),
                    number.into(),
                    subject.clone().into(),
                    status.into(),
                    priority.into(),
                    Option::<i64>::None.into(),
                    channel.into(),
                    requester_id.into(),
                    assignee_id.into(),
                    group_id.into(),
                    empty_object.clone().into(),
                    Option::<i64>::None.into(),
                    version.into(),
                    created_at.into(),
                    updated_at.into(),
                    solved_at.into(),
                    closed_at.into(),
                ]);
                for tag in &ticket_tags {
                    tags.push([id.into(), (*tag).into()]);
                }

                // The customer's question, then often an agent's reply or an internal note.
                let sentences = 2 + self.rng.below(4);
                let body: Vec<&str> = (0..sentences).map(|_| *self.rng.pick(SENTENCES)).collect();
                let body_text = body.join(" ");
                let body_html: Option<String> =
                    (channel == "email" && self.rng.chance(60)).then(|| format!("<p>{}</p>", body.join("</p><p>")));
                message_id += 1;
                messages.push([
                    message_id.into(),
                    id.into(),
                    id.into(),
                    "customer".into(),
                    Some(requester_id).into(),
                    false.into(),
                    body_text.into(),
                    body_html.into(),
                    created_at.into(),
                ]);
                if status != "new" && self.rng.chance(70) {
                    let internal = self.rng.chance(15);
                    let text = if internal { *self.rng.pick(NOTES) } else { *self.rng.pick(REPLIES) };
                    let author = assignee_id.unwrap_or_else(|| *self.rng.pick(&self.agent_ids));
                    let at = created_at + (updated_at - created_at) / 2;
                    message_id += 1;
                    messages.push([
                        message_id.into(),
                        id.into(),
                        id.into(),
                        "agent".into(),
                        Some(author).into(),
                        internal.into(),
                        text.into(),
                        Option::<String>::None.into(),
                        at.into(),
                    ]);
                }

                event_id += 1;
                let after = serde_json::json!({
                    "subject": subject,
                    "status": status,
                    "priority": priority,
                    "channel": channel,
                    "requester_id": requester_id,
                    "assignee_id": assignee_id,
                    "group_id": group_id,
                    "category_id": null,
                    "tags": ticket_tags,
                });
                events.push([
                    event_id.into(),
                    id.into(),
                    "system".into(),
                    Option::<i64>::None.into(),
                    "created".into(),
                    Option::<String>::None.into(),
                    Option::<serde_json::Value>::None.into(),
                    Some(after).into(),
                    created_at.into(),
                ]);
            }
            let tx = connection.begin().await?;
            self.totals.tickets += tickets.write(&tx).await?;
            self.totals.tags += tags.write(&tx).await?;
            self.totals.messages += messages.write(&tx).await?;
            self.totals.events += events.write(&tx).await?;
            tx.commit().await?;
            progress("tickets", index, end, count, started);
            index = end;
        }
        Ok(())
    }
}

/// Reports progress when a chunk from `before` to `done` crosses a tenth of `count`, and at the end.
fn progress(what: &str, before: u64, done: u64, count: u64, started: Instant) {
    if done != count && before * 10 / count == done * 10 / count {
        return;
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("  {what}: {done}/{count} in {seconds:.1}s ({:.0}/s)", done as f64 / seconds.max(0.001));
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Lower-case ASCII for an email local part: accents dropped, anything else left out.
fn ascii_lower(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'é' => 'e',
            'ü' => 'u',
            'í' => 'i',
            other => other,
        })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
