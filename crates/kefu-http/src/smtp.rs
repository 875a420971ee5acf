//! The built-in SMTP listener (`KEFU_SMTP_LISTEN`): mail handed to Kefu directly by an MTA or a client.
//!
//! mailin runs the protocol state machine; this module moves bytes and decides. Recipients are accepted only
//! when they are an active mailbox's address (`550` otherwise); a message over the size limit gets `552`.
//! The final `250` is written only after [`kefu_app::App::receive_mail`] has committed the raw bytes, so an
//! accepted message cannot be lost; a storage failure answers `451` and the sender retries. Processing into
//! a ticket happens after the answer. No relaying, no authentication: this is an inbound port only.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu_app::App;
use mailin::{Action, Handler, Response, SessionBuilder, response};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// SMTP listener settings.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// The name in the greeting.
    pub hostname: String,
    /// The largest message accepted, in bytes.
    pub max_message_bytes: usize,
    /// A connection idle this long is closed.
    pub idle_timeout: Duration,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            hostname: "kefu".into(),
            max_message_bytes: kefu_app::mail::MAX_RAW_MAIL_BYTES,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// What one SMTP transaction has collected.
#[derive(Default)]
struct Transaction {
    mailbox_id: Option<i64>,
    data: Vec<u8>,
    oversized: bool,
    complete: Option<(i64, Vec<u8>)>,
}

struct Collector {
    addresses: Vec<(String, i64)>,
    max_bytes: usize,
    state: Arc<Mutex<Transaction>>,
}

impl Collector {
    fn with<T>(&self, f: impl FnOnce(&mut Transaction) -> T) -> T {
        let mut guard = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

impl Handler for Collector {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        self.with(|tx| *tx = Transaction::default());
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let to = to.trim().trim_matches(['<', '>']).to_lowercase();
        match self.addresses.iter().find(|(address, _)| *address == to) {
            Some((_, mailbox_id)) => {
                self.with(|tx| {
                    tx.mailbox_id.get_or_insert(*mailbox_id);
                });
                response::OK
            }
            None => response::NO_MAILBOX,
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, _to: &[String]) -> Response {
        if self.with(|tx| tx.mailbox_id.is_some()) { response::OK } else { response::NO_MAILBOX }
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let max = self.max_bytes;
        self.with(|tx| {
            if tx.data.len() + buf.len() > max {
                tx.oversized = true;
                tx.data = Vec::new();
            } else if !tx.oversized {
                tx.data.extend_from_slice(buf);
            }
        });
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.with(|tx| {
            if tx.oversized {
                return response::NO_STORAGE;
            }
            if let Some(mailbox_id) = tx.mailbox_id {
                tx.complete = Some((mailbox_id, std::mem::take(&mut tx.data)));
            }
            response::OK
        })
    }
}

/// Accepts SMTP connections until `shutdown`.
pub async fn serve_smtp(listener: TcpListener, app: App, config: SmtpConfig, shutdown: CancellationToken) {
    let config = Arc::new(config);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let (app, config, shutdown) = (app.clone(), config.clone(), shutdown.clone());
                tokio::spawn(async move {
                    if let Err(error) = session(stream, peer, app, &config, shutdown).await {
                        tracing::debug!(%peer, %error, "SMTP session ended with an error");
                    }
                });
            }
            Err(error) => {
                tracing::warn!(%error, "SMTP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn write(stream: &mut (impl AsyncWriteExt + Unpin), response: &Response) -> std::io::Result<()> {
    if response.action == Action::NoReply {
        return Ok(());
    }
    let mut bytes = Vec::new();
    response.write_to(&mut bytes)?;
    stream.write_all(&bytes).await
}

async fn session(
    stream: TcpStream,
    peer: SocketAddr,
    app: App,
    config: &SmtpConfig,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addresses = app.receiving_addresses().await.unwrap_or_default();
    let state = Arc::new(Mutex::new(Transaction::default()));
    let collector = Collector { addresses, max_bytes: config.max_message_bytes, state: state.clone() };
    let mut session = SessionBuilder::new(config.hostname.clone()).build(peer.ip(), collector);
    let (read, mut write_half) = stream.into_split();
    let mut reader = BufReader::new(read);
    write(&mut write_half, &session.greeting()).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = tokio::select! {
            _ = shutdown.cancelled() => {
                write(&mut write_half, &response::NO_SERVICE).await?;
                return Ok(());
            }
            read = tokio::time::timeout(config.idle_timeout, reader.read_until(b'\n', &mut line)) => read,
        };
        match read {
            Ok(Ok(0)) | Err(_) => return Ok(()),
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(error),
        }
        let answer = session.process(&line);
        let complete = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).complete.take();
        if let Some((mailbox_id, raw)) = complete {
            match app.receive_mail(mailbox_id, "smtp", &raw).await {
                Ok(received) => {
                    let text = format!("250 OK stored as {}\r\n", received.inbound_id);
                    write_half.write_all(text.as_bytes()).await?;
                    // A duplicate too: its first delivery may have been stored just before a crash and
                    // never processed (a processed row is left alone).
                    let app = app.clone();
                    tokio::spawn(async move {
                        if let Err(error) = app.process_inbound(received.inbound_id).await {
                            tracing::warn!(%error, "processing SMTP mail failed");
                        }
                    });
                }
                Err(kefu_app::AppError::TooLarge { .. }) => write(&mut write_half, &response::NO_STORAGE).await?,
                Err(kefu_app::AppError::Domain(_)) => write(&mut write_half, &response::TRANSACTION_FAILED).await?,
                Err(error) => {
                    tracing::warn!(%error, "storing SMTP mail failed; the sender will retry");
                    write(&mut write_half, &response::INTERNAL_ERROR).await?;
                }
            }
            continue;
        }
        write(&mut write_half, &answer).await?;
        if answer.action == Action::Close {
            return Ok(());
        }
    }
}
