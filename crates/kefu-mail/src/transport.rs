//! The wire: sending through an SMTP relay (lettre, rustls) and fetching new mail over IMAP (async-imap).
//!
//! Both take plain settings ([`SmtpServer`], [`ImapServer`]) and move bytes; what to send and what to do
//! with fetched bytes is decided by the caller. IMAP fetching peeks (`BODY.PEEK[]`) so nothing is marked
//! read until the caller has stored the message and calls [`ImapInbox::mark_seen`]; nothing is deleted.
//! [`ImapInbox::wait`] sits in IDLE (RFC 2177) when the server offers it, so new mail is fetched within a
//! second of its arrival instead of at the next poll.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::MailError;
use crate::compose::BuiltMail;

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain, upgraded with STARTTLS before signing in.
    StartTls,
    /// Plain text: only for a relay on the same machine or a test peer.
    None,
}

/// An SMTP relay.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpServer {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Connection security.
    pub security: Security,
    /// User name, when the relay wants authentication.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
}

impl Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Sends one built message; 5xx answers are reported as permanent.
pub async fn send(server: &SmtpServer, mail: &BuiltMail, timeout: Duration) -> Result<(), MailError> {
    let send_error = |error: lettre::transport::smtp::Error| MailError::Send {
        permanent: error.is_permanent(),
        reason: error.to_string(),
    };
    let tls = |host: &str| {
        TlsParameters::new(host.to_owned())
            .map_err(|error| MailError::Send { permanent: true, reason: format!("TLS settings: {error}") })
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.clone())
        .port(server.port)
        .timeout(Some(timeout));
    builder = match server.security {
        Security::Tls => builder.tls(Tls::Wrapper(tls(&server.host)?)),
        Security::StartTls => builder.tls(Tls::Required(tls(&server.host)?)),
        Security::None => builder.tls(Tls::None),
    };
    if let (Some(username), Some(password)) = (&server.username, &server.password) {
        builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
    }
    let transport = builder.build();
    let parse = |address: &str| {
        address
            .parse::<lettre::Address>()
            .map_err(|error| MailError::Send { permanent: true, reason: format!("{address}: {error}") })
    };
    let to = mail.envelope_to.iter().map(|address| parse(address)).collect::<Result<Vec<_>, _>>()?;
    let envelope = lettre::address::Envelope::new(Some(parse(&mail.envelope_from)?), to)
        .map_err(|error| MailError::Send { permanent: true, reason: error.to_string() })?;
    transport.send_raw(&envelope, &mail.raw).await.map_err(send_error)?;
    Ok(())
}

/// An IMAP account folder to poll.
#[derive(Clone, PartialEq, Eq)]
pub struct ImapServer {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Connection security.
    pub security: Security,
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Folder (default `INBOX`).
    pub folder: String,
}

impl Debug for ImapServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

/// A byte stream to an IMAP server, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Stream for T {}

type Session = async_imap::Session<Box<dyn Stream>>;

/// One new message in the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMail {
    /// Its UID in the folder.
    pub uid: u32,
    /// Its bytes.
    pub raw: Vec<u8>,
}

/// A signed-in IMAP session with the folder selected. Every command is bounded by the timeout given to
/// [`ImapInbox::connect`], so a server that stops answering fails the poll instead of hanging it.
pub struct ImapInbox {
    session: Session,
    timeout: Duration,
    idle: bool,
}

impl Debug for ImapInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapInbox").field("idle", &self.idle).finish_non_exhaustive()
    }
}

/// How a wait for new mail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The server said the folder changed (IDLE).
    Changed,
    /// The wait's time was up (or the server has no IDLE and the caller should poll).
    TimeUp,
}

fn imap_error(error: impl std::fmt::Display) -> MailError {
    MailError::Imap(error.to_string())
}

async fn tls_stream(host: &str, tcp: Box<dyn Stream>) -> Result<Box<dyn Stream>, MailError> {
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(imap_error)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(imap_error)?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(imap_error)?;
    Ok(Box::new(stream))
}

impl ImapInbox {
    /// Connects, signs in and selects the folder, within `timeout`; later commands each get `timeout` too.
    pub async fn connect(server: &ImapServer, timeout: Duration) -> Result<ImapInbox, MailError> {
        tokio::time::timeout(timeout, Self::connect_inner(server, timeout))
            .await
            .map_err(|_| MailError::Imap(format!("no answer from {}:{} in {timeout:?}", server.host, server.port)))?
    }

    async fn connect_inner(server: &ImapServer, timeout: Duration) -> Result<ImapInbox, MailError> {
        let tcp: Box<dyn Stream> =
            Box::new(TcpStream::connect((server.host.as_str(), server.port)).await.map_err(imap_error)?);
        let stream = match server.security {
            Security::Tls => tls_stream(&server.host, tcp).await?,
            Security::None => tcp,
            Security::StartTls => {
                let mut client = async_imap::Client::new(tcp);
                client.read_response().await.map_err(imap_error)?;
                client.run_command_and_check_ok("STARTTLS", None).await.map_err(imap_error)?;
                tls_stream(&server.host, client.into_inner()).await?
            }
        };
        let mut client = async_imap::Client::new(stream);
        if server.security != Security::StartTls {
            client.read_response().await.map_err(imap_error)?;
        }
        let mut session =
            client.login(&server.username, &server.password).await.map_err(|(error, _)| imap_error(error))?;
        let idle = session.capabilities().await.map_err(imap_error)?.has_str("IDLE");
        let folder = if server.folder.trim().is_empty() { "INBOX" } else { server.folder.trim() };
        session.select(folder).await.map_err(imap_error)?;
        Ok(ImapInbox { session, timeout, idle })
    }

    /// Whether the server announced IDLE (RFC 2177), so [`ImapInbox::wait`] can be woken by new mail.
    pub fn has_idle(&self) -> bool {
        self.idle
    }

    async fn bounded<T>(
        timeout: Duration,
        what: &str,
        future: impl Future<Output = Result<T, MailError>>,
    ) -> Result<T, MailError> {
        tokio::time::timeout(timeout, future)
            .await
            .map_err(|_| MailError::Imap(format!("{what}: no answer in {timeout:?}")))?
    }

    /// The UIDs of unread messages, oldest first, at most `limit`.
    pub async fn unseen(&mut self, limit: usize) -> Result<Vec<u32>, MailError> {
        let session = &mut self.session;
        let mut uids: Vec<u32> = Self::bounded(self.timeout, "UID SEARCH", async {
            Ok(session.uid_search("UNSEEN").await.map_err(imap_error)?.into_iter().collect())
        })
        .await?;
        uids.sort_unstable();
        uids.truncate(limit);
        Ok(uids)
    }

    /// One message's bytes, without marking it read.
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<FetchedMail>, MailError> {
        let session = &mut self.session;
        let fetches: Vec<_> = Self::bounded(self.timeout, "UID FETCH", async {
            session
                .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                .await
                .map_err(imap_error)?
                .try_collect()
                .await
                .map_err(imap_error)
        })
        .await?;
        Ok(fetches
            .iter()
            .find(|fetch| fetch.uid == Some(uid))
            .and_then(|fetch| fetch.body())
            .map(|body| FetchedMail { uid, raw: body.to_vec() }))
    }

    /// Marks a stored message as read (`\Seen`); it is never deleted.
    pub async fn mark_seen(&mut self, uid: u32) -> Result<(), MailError> {
        let session = &mut self.session;
        Self::bounded(self.timeout, "UID STORE", async {
            let updates: Vec<_> = session
                .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)")
                .await
                .map_err(imap_error)?
                .try_collect()
                .await
                .map_err(imap_error)?;
            drop(updates);
            Ok(())
        })
        .await
    }

    /// Waits up to `max` for the folder to change: in IDLE when the server has it (any untagged answer
    /// such as `EXISTS` wakes it), otherwise it returns [`Wake::TimeUp`] at once and the caller sleeps and
    /// polls. The session is usable again afterwards; an error means the connection is gone.
    pub async fn wait(mut self, max: Duration) -> Result<(ImapInbox, Wake), MailError> {
        if !self.idle {
            return Ok((self, Wake::TimeUp));
        }
        let timeout = self.timeout;
        let mut handle = self.session.idle();
        Self::bounded(timeout, "IDLE", async { handle.init().await.map_err(imap_error) }).await?;
        let wake = {
            let (idle, _stop) = handle.wait_with_timeout(max);
            // The inner timeout restarts on every keep-alive; the outer one bounds the whole wait.
            match tokio::time::timeout(max, idle).await {
                Ok(Ok(async_imap::extensions::idle::IdleResponse::NewData(_))) => Wake::Changed,
                Ok(Ok(async_imap::extensions::idle::IdleResponse::ManualInterrupt)) => {
                    return Err(MailError::Imap("the server closed the connection during IDLE".into()));
                }
                Ok(Ok(async_imap::extensions::idle::IdleResponse::Timeout)) | Err(_) => Wake::TimeUp,
                Ok(Err(error)) => return Err(imap_error(error)),
            }
        };
        self.session = Self::bounded(timeout, "DONE", async { handle.done().await.map_err(imap_error) }).await?;
        Ok((self, wake))
    }

    /// Signs out.
    pub async fn logout(mut self) {
        let timeout = self.timeout;
        let _ = tokio::time::timeout(timeout, self.session.logout()).await;
    }
}
