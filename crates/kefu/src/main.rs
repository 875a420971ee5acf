//! The `kefu` binary: starts the server and runs administrative commands.
//!
//! `kefu serve` creates the data directory, applies migrations and serves the API and web app;
//! `kefu migrate` only migrates; `kefu user create` adds an agent (how the first admin is made);
//! `kefu mail import --mailbox ID FILE...` feeds raw messages through the email pipeline;
//! `kefu reindex` rebuilds the search index (kept in `<data_dir>/search`) from the database.
//! Settings come from `kefu.toml` and `KEFU_*` environment variables (see [`config`]).

mod config;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use kefu_app::agents::CreateAgent;
use kefu_app::bus::LocalBus;
use kefu_app::clock::SystemClock;
use kefu_app::{App, AppConfig};
use kefu_domain::Role;
use kefu_store::Store;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, LogFormat};

/// Kefu: self-hosted, omnichannel customer support.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML settings file (default: kefu.toml in the working directory, if present).
    #[arg(long, global = true, env = "KEFU_CONFIG")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database and serve the API and the web app.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage agents.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The email channel.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Rebuild the search index from the database (with the server stopped; a running server rebuilds on
    /// `POST /api/v1/search/reindex`).
    Reindex,
}

#[derive(Debug, Subcommand)]
enum MailCommand {
    /// Import raw RFC 5322 messages (.eml files) into a mailbox, through the same pipeline as IMAP and SMTP.
    Import {
        /// The mailbox id.
        #[arg(long)]
        mailbox: i64,
        /// Message files.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an agent who can sign in with a password.
    Create {
        /// Sign-in address.
        #[arg(long)]
        email: String,
        /// Password (at least 10 characters). Prefer KEFU_PASSWORD to keep it out of the shell history.
        #[arg(long, env = "KEFU_PASSWORD", hide_env_values = true)]
        password: String,
        /// Role: admin, supervisor, agent or collaborator.
        #[arg(long, default_value = "agent")]
        role: String,
        /// Display name (default: the part of the email before the @).
        #[arg(long)]
        name: Option<String>,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEFU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

async fn open_store(config: &Config) -> Result<Store> {
    let url = config.database_url()?;
    let store = Store::connect_with(&url, config.max_db_connections)
        .await
        .with_context(|| format!("cannot open the database at {}", kefu_store::redact(&url)))?;
    store.migrate().await.context("cannot apply database migrations")?;
    Ok(store)
}

/// Opens this node's search index; only one process may write it at a time.
fn with_search_index(config: &Config, app: App) -> Result<App> {
    let dir = config.data_dir.join("search");
    let index = kefu_app::search::open_index(&dir)
        .with_context(|| format!("cannot open the search index in {}", dir.display()))?;
    Ok(app.with_search_index(index))
}

fn build_app(config: &Config, store: Store) -> Result<App> {
    let files_dir = config.data_dir.join("files");
    std::fs::create_dir_all(&files_dir).with_context(|| format!("cannot create {}", files_dir.display()))?;
    let files = object_store::local::LocalFileSystem::new_with_prefix(&files_dir)
        .with_context(|| format!("cannot use {} for attachments", files_dir.display()))?;
    let app_config = AppConfig { max_attachment_bytes: config.max_attachment_bytes };
    Ok(App::new(store, Arc::new(SystemClock), Arc::new(LocalBus::default()), Arc::new(files), app_config))
}

async fn shutdown_signal(token: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
    token.cancel();
}

async fn serve(config: Config) -> Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
    let store = open_store(&config).await?;
    tracing::info!(backend = ?store.backend(), data_dir = %config.data_dir.display(), "database ready");
    let app = with_search_index(&config, build_app(&config, store.clone())?)?;
    if app.needs_first_admin().await? {
        tracing::warn!(
            "no admin yet; create one with: kefu user create --email you@example.com --role admin (password from KEFU_PASSWORD or --password)"
        );
        eprintln!(
            "\n  Kefu has no admin yet. Create one:\n\n    KEFU_PASSWORD='a long password' cargo run --release -- user create --email you@example.com --role admin\n"
        );
    }
    let shutdown = CancellationToken::new();
    let relay = {
        let app = app.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move { app.run_outbox_relay(shutdown).await })
    };
    let rule_workers = {
        let app = app.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move { app.run_rule_workers(shutdown).await })
    };
    let indexer = {
        let app = app.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move { app.run_search_indexer(shutdown).await })
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address: SocketAddr = listener.local_addr()?;
    tracing::info!(%address, "serving http://{address}/");
    tokio::spawn(shutdown_signal(shutdown.clone()));
    let mut workers = Vec::new();
    if config.mail_workers {
        let (sender_app, poller_app) = (app.clone(), app.clone());
        let (sender_stop, poller_stop) = (shutdown.clone(), shutdown.clone());
        workers.push(tokio::spawn(async move { sender_app.run_mail_sender(sender_stop).await }));
        workers.push(tokio::spawn(async move { poller_app.run_imap_poller(poller_stop).await }));
    }
    if let Some(smtp_listen) = config.smtp_listen {
        let smtp = tokio::net::TcpListener::bind(smtp_listen)
            .await
            .with_context(|| format!("cannot listen for SMTP on {smtp_listen}"))?;
        tracing::info!(address = %smtp.local_addr()?, "SMTP listener ready");
        let config = kefu_http::smtp::SmtpConfig::default();
        workers.push(tokio::spawn(kefu_http::smtp::serve_smtp(smtp, app.clone(), config, shutdown.clone())));
    }
    let state = kefu_http::AppState::new(app, config.server_config(), kefu_http::metrics_handle(), shutdown.clone());
    kefu_http::serve(listener, state).await.context("server failed")?;
    shutdown.cancel();
    let _ = rule_workers.await;
    let _ = indexer.await;
    let _ = relay.await;
    for worker in workers {
        let _ = worker.await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn create_user(
    config: Config,
    email: String,
    password: String,
    role: String,
    name: Option<String>,
) -> Result<()> {
    let role: Role = role.parse().map_err(|error| anyhow::anyhow!("{error}"))?;
    std::fs::create_dir_all(&config.data_dir)?;
    let store = open_store(&config).await?;
    let app = build_app(&config, store.clone())?;
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_owned());
    let command =
        CreateAgent { email, name, role, password: Some(password), restricted_to_groups: false, group_ids: vec![] };
    match app.create_agent(None, command).await {
        Ok(agent) => println!("created {} {} (id {})", agent.role, agent.email, agent.id),
        Err(error) => bail!("cannot create the agent: {error}"),
    }
    store.close().await;
    Ok(())
}

/// Imports .eml files; prints one line per file and fails if any could not be stored.
async fn import_mail(config: Config, mailbox: i64, files: Vec<std::path::PathBuf>) -> Result<()> {
    let store = open_store(&config).await?;
    let app = build_app(&config, store.clone())?;
    let mut failed = 0;
    for file in &files {
        let raw = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        match app.import_mail_as_system(mailbox, &raw).await {
            Ok((received, inbound)) => {
                let what = if received.duplicate { "duplicate" } else { inbound.status.as_str() };
                let ticket = inbound.ticket_id.map(|id| format!(" ticket {id}")).unwrap_or_default();
                let error = inbound.error.map(|error| format!(": {error}")).unwrap_or_default();
                println!("{}: inbound {} {what}{ticket}{error}", file.display(), inbound.id);
            }
            Err(error) => {
                failed += 1;
                eprintln!("{}: not stored: {error}", file.display());
            }
        }
    }
    store.close().await;
    if failed > 0 {
        bail!("{failed} of {} files could not be stored", files.len());
    }
    Ok(())
}

/// Rebuilds the search index from the database.
async fn reindex(config: Config) -> Result<()> {
    let store = open_store(&config).await?;
    let app = with_search_index(&config, build_app(&config, store.clone())?)?;
    let started = std::time::Instant::now();
    let (tickets, customers) = app.reindex_all().await.context("cannot rebuild the search index")?;
    println!(
        "search index rebuilt: {tickets} tickets, {customers} customers, {} documents in all, in {:.1} s",
        app.search_index().document_count(),
        started.elapsed().as_secs_f64()
    );
    store.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    init_logging(config.log_format);
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            std::fs::create_dir_all(&config.data_dir)?;
            let store = open_store(&config).await?;
            println!("database is up to date");
            store.close().await;
            Ok(())
        }
        Command::User { command: UserCommand::Create { email, password, role, name } } => {
            create_user(config, email, password, role, name).await
        }
        Command::Mail { command: MailCommand::Import { mailbox, files } } => import_mail(config, mailbox, files).await,
        Command::Reindex => reindex(config).await,
    }
}
