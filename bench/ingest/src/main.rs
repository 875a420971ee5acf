//! Benchmark of email ingest (issue 3), in-process on a fresh database (a temp-file SQLite, or
//! `--database-url` for PostgreSQL):
//!
//! 1. the messages: every mail file under `--testdata` (the shared real-world fixtures, read in place:
//!    real clients, bounces, reply-parser and talon fixtures, stalwart's parser corpus) plus `--generated`
//!    messages from `kefu_mail::samples` (Chinese customer mail in GB2312/GBK/GB18030/Big5/UTF-8, replies
//!    threading to earlier ones, HTML parts, attachments);
//! 2. mail-parser's parse-only rate over them (`MessageParser::parse`, nothing else), on one thread and on
//!    every core, and `kefu_mail::parse::parse` (decoding, addresses, quote stripping, automated-mail
//!    checks) on one thread: the best of `--rounds`;
//! 3. end-to-end ingest: `App::ingest_mail` for each message from `--concurrency` tasks: the raw bytes
//!    stored and committed, then parsed, threaded (References, marker, subject tag), the customer
//!    resolved, the ticket opened or continued, attachments written to files, events, rules, SLA and the
//!    outbox notice (what the search index reads) committed. Messages per second over the whole run.
//!
//! Prints Markdown rows for BENCHMARKS.md. Not a test: nothing here asserts a timing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use kefu_app::App;
use kefu_app::agents::CreateAgent;
use kefu_app::mail::MailboxInput;
use kefu_domain::Role;
use kefu_store::Store;

#[derive(Parser)]
struct Args {
    /// The shared email fixtures (default: ../shared/testdata/email beside the repository).
    #[arg(long)]
    testdata: Option<PathBuf>,
    /// Generated Chinese customer messages added to the fixtures.
    #[arg(long, default_value_t = 10_000)]
    generated: usize,
    /// Concurrent ingest tasks.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Parse-only rounds (the best is reported).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// A PostgreSQL URL instead of the temp-file SQLite.
    #[arg(long)]
    database_url: Option<String>,
}

fn mail_files(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        if path.is_dir() {
            mail_files(&path, found)?;
        } else if !name.ends_with(".json") && !name.ends_with("_reply_text") && !name.ends_with(".md") {
            found.push(path);
        }
    }
    Ok(())
}

/// Messages per second of `work` over every message, the best of `rounds`.
fn rate(messages: &[Vec<u8>], rounds: usize, threads: usize, work: impl Fn(&[u8]) -> usize + Sync) -> f64 {
    let mut best: f64 = 0.0;
    for _ in 0..rounds {
        let started = Instant::now();
        let next = AtomicUsize::new(0);
        let checksum = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(raw) = messages.get(index) else { break };
                        checksum.fetch_add(work(raw), Ordering::Relaxed);
                    }
                });
            }
        });
        std::hint::black_box(checksum.load(Ordering::Relaxed));
        best = best.max(messages.len() as f64 / started.elapsed().as_secs_f64());
    }
    best
}

async fn fresh_app(dir: &Path, database_url: Option<&str>) -> Result<(Store, App)> {
    let url = match database_url {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}?mode=rwc", dir.join("ingest.db").display()),
    };
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    std::fs::create_dir_all(dir.join("files"))?;
    let files = object_store::local::LocalFileSystem::new_with_prefix(dir.join("files"))?;
    let app = App::new(
        store.clone(),
        Arc::new(kefu_app::clock::SystemClock),
        Arc::new(kefu_app::bus::LocalBus::default()),
        Arc::new(files),
        Default::default(),
    );
    Ok((store, app))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let testdata = args
        .testdata
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/email").to_path_buf());
    let mut files = Vec::new();
    mail_files(&testdata, &mut files)?;
    files.sort();
    let real: Vec<Vec<u8>> = files.iter().map(std::fs::read).collect::<std::io::Result<_>>()?;
    let generated = kefu_mail::samples::generate(args.generated, 1, "kefu.example");
    // The fixtures spread evenly through the generated mail, as an inbox would mix them.
    let mut messages: Vec<Vec<u8>> = Vec::with_capacity(real.len() + generated.len());
    let step = (generated.len() / real.len().max(1)).max(1);
    let mut real_iter = real.iter();
    for (n, sample) in generated.into_iter().enumerate() {
        if n % step == 0
            && let Some(raw) = real_iter.next()
        {
            messages.push(raw.clone());
        }
        messages.push(sample.raw);
    }
    messages.extend(real_iter.cloned());
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    println!(
        "{} messages ({} fixture files from {}, {} generated), {:.1} MiB, {cores} cores",
        messages.len(),
        real.len(),
        testdata.display(),
        args.generated,
        bytes as f64 / 1048576.0
    );

    let parse_only = |raw: &[u8]| mail_parser::MessageParser::default().parse(raw).map_or(0, |m| m.parts.len());
    let parser_one = rate(&messages, args.rounds, 1, parse_only);
    let parser_all = rate(&messages, args.rounds, cores, parse_only);
    let kefu_parse = rate(&messages, args.rounds, 1, |raw| kefu_mail::parse::parse(raw).map_or(0, |m| m.text.len()));

    let dir = tempfile::tempdir()?;
    let (store, app) = fresh_app(dir.path(), args.database_url.as_deref()).await?;
    let admin = app
        .create_agent(
            None,
            CreateAgent {
                email: "admin@example.com".into(),
                name: "Admin".into(),
                role: Role::Admin,
                password: None,
                restricted_to_groups: false,
                group_ids: vec![],
            },
        )
        .await?;
    let mailbox = app
        .create_mailbox(
            &admin,
            MailboxInput {
                address: "support@kefu.example".into(),
                name: "客服".into(),
                active: true,
                ..MailboxInput::default()
            },
        )
        .await?;
    let messages = Arc::new(messages);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (app, messages, next) = (app.clone(), messages.clone(), next.clone());
            tokio::spawn(async move {
                let mut errors = 0usize;
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(raw) = messages.get(index) else { break };
                    if app.ingest_mail(mailbox.id, "bench", raw).await.is_err() {
                        errors += 1;
                    }
                }
                errors
            })
        })
        .collect();
    let mut refused = 0;
    for task in tasks {
        refused += task.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ingest = messages.len() as f64 / elapsed;
    let counts = store.repo().inbound_counts(mailbox.id).await?;
    let stored: i64 = counts.iter().map(|(_, n)| n).sum();
    println!(
        "ingest: {} messages in {elapsed:.2} s over {} tasks on {:?}: {stored} stored ({} duplicates, {refused} refused), by status {counts:?}",
        messages.len(),
        args.concurrency,
        store.backend(),
        messages.len() as i64 - stored - refused as i64,
    );
    println!();
    println!("| what | messages/s |");
    println!("|---|---|");
    println!("| mail-parser parse only, 1 thread | {parser_one:.0} |");
    println!("| mail-parser parse only, {cores} threads | {parser_all:.0} |");
    println!("| kefu-mail parse (decode, addresses, quote stripping), 1 thread | {kefu_parse:.0} |");
    println!("| end-to-end ingest ({} tasks, {:?}) | {ingest:.0} |", args.concurrency, store.backend());
    println!();
    println!(
        "ingest / django-helpdesk's 112 msg/s: {:.1}x (target 20x); ingest / mail-parser parse only: {:.0}% of 1 thread, {:.0}% of {cores} threads (target 50%)",
        ingest / 112.0,
        100.0 * ingest / parser_one,
        100.0 * ingest / parser_all
    );
    store.close().await;
    Ok(())
}
