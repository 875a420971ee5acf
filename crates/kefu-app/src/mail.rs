//! The email channel's use cases: mailboxes, the one ingest pipeline, replies out, and the workers.
//!
//! **In.** Every way in (IMAP polling, the SMTP listener, `POST /mailboxes/{id}/raw`, `kefu mail import`)
//! calls [`App::receive_mail`], which stores the raw bytes in `inbound_mails` and commits before anything
//! else; only then is the sender acknowledged. A second delivery of the same message (same Message-ID, or
//! the same bytes) finds the stored row and changes nothing. [`App::process_inbound`] then turns the row into
//! a ticket message in one transaction, idempotently (a processed row is left alone): parse, recognise
//! bounces and automated mail, thread to a ticket (References/In-Reply-To, body marker, then subject tag with
//! a sender check), resolve the requester through [`App::resolve_requester`] (one customer across channels),
//! add Cc'd people as participants, store attachments, append events and an outbox notice, and queue an
//! auto-acknowledgement. A failure leaves the row `failed` with its error for an admin to see and retry.
//!
//! **Out.** Agents reply through the ordinary `add_message`. The reply scanner ([`App::queue_email_replies`])
//! finds public agent messages on email tickets that have no email yet and queues one each (in the same
//! transaction as its `mail_messages` row, so it is queued exactly once); [`App::send_due_mail`] claims due
//! rows and hands them to the SMTP relay, retrying with backoff. Delivery status lives on the queue row.

use std::time::Duration;

use chrono::{DateTime, Utc};
use kefu_domain::{
    Actor, Agent, AttachmentId, AuthorKind, Channel, CustomerId, DomainError, EventKind, Identity, IdentityKind,
    MAX_MESSAGE_BODY_BYTES, MAX_SUBJECT_CHARS, MessageDraft, MessageId, NewTicket, Priority, Status, Ticket,
    TicketEventDraft, TicketId,
};
use kefu_mail::thread::{self, SubjectTag};
use kefu_mail::transport::{ImapInbox, ImapServer, Security, SmtpServer};
use kefu_mail::{InboundMail, MailAddress, OutgoingAttachment, OutgoingMail};
use kefu_store::{Cursor, InboundFilter, Page, Repo, StoreConnection as Conn, Tx};
/// Storage values of the email channel, re-exported so callers need not depend on `kefu-store`.
pub use kefu_store::{InboundMailRecord, MailMessageRecord, MailServerSettings, MailboxRecord, OutboundMailRecord};
use object_store::{ObjectStoreExt, PutPayload, path::Path};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::automation::Change;
use crate::bus::{Notice, TicketChange, TicketNotice};
use crate::sanitize::clean_filename;
use crate::tickets::{Requester, RequesterLookup, message_event, reopen_for_reply, touch};
use crate::{App, AppError, Entity, Result, require, require_active};
use kefu_domain::triggers::TriggerEvent;

/// The largest raw message accepted, in bytes.
pub const MAX_RAW_MAIL_BYTES: usize = 30 * 1024 * 1024;
/// Auto-acknowledgements one sender gets per hour at most.
const AUTO_ACKS_PER_HOUR: u64 = 3;
/// Send attempts before a message is given up on.
const MAX_SEND_ATTEMPTS: i32 = 8;
/// How long a claimed outbound row is reserved for the worker that claimed it.
const SEND_LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// Messages younger than this may still be committing; the reply scanner's mark waits for them.
const SCAN_SETTLE: chrono::Duration = chrono::Duration::seconds(60);
/// Unread IMAP messages fetched per round.
const IMAP_BATCH: usize = 200;
/// How long one IMAP command may take before the connection is given up.
const IMAP_TIMEOUT: Duration = Duration::from_secs(60);

/// An IMAP or SMTP server as an admin gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerInput {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `tls`, `starttls` or `none`.
    pub security: String,
    /// User name.
    pub username: Option<String>,
    /// Password; `None` keeps the stored one on update.
    pub password: Option<String>,
    /// IMAP folder (default `INBOX`).
    pub folder: Option<String>,
    /// IMAP poll interval in seconds (default 60).
    pub poll_seconds: Option<u32>,
}

/// A mailbox's values, on create and on update.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailboxInput {
    /// The address mail arrives at and replies come from.
    pub address: String,
    /// Display name on outgoing mail.
    pub name: String,
    /// The group new tickets go to.
    pub group_id: Option<kefu_domain::GroupId>,
    /// Receiving and sending (default true).
    pub active: bool,
    /// Acknowledge new tickets automatically.
    pub auto_ack: bool,
    /// Subject tag prefix (default `#`, giving `[#10234]`).
    pub tag_prefix: Option<String>,
    /// IMAP inbound.
    pub imap: Option<ServerInput>,
    /// SMTP outbound relay.
    pub smtp: Option<ServerInput>,
}

/// What became of a stored inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The stored row.
    pub inbound_id: i64,
    /// True when the same message was already stored (nothing new was written).
    pub duplicate: bool,
}

/// The email side of a ticket message, with its delivery when it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEmail {
    /// Headers and the full text.
    pub mail: MailMessageRecord,
    /// The outbound queue row, for a reply.
    pub delivery: Option<OutboundMailRecord>,
}

fn security(text: &str) -> Security {
    match text {
        "tls" => Security::Tls,
        "starttls" => Security::StartTls,
        _ => Security::None,
    }
}

fn server_settings(input: &ServerInput, stored: Option<&MailServerSettings>, imap: bool) -> Result<MailServerSettings> {
    let host = input.host.trim();
    if host.is_empty() || host.len() > 253 || host.contains(char::is_whitespace) {
        return Err(DomainError::invalid("host", "a host name is required").into());
    }
    if input.port == 0 {
        return Err(DomainError::invalid("port", "a port is 1-65535").into());
    }
    if !["tls", "starttls", "none"].contains(&input.security.as_str()) {
        return Err(DomainError::invalid("security", "security is tls, starttls or none").into());
    }
    let password = input.password.clone().or_else(|| stored.and_then(|stored| stored.password.clone()));
    if imap && (input.username.as_deref().unwrap_or_default().is_empty() || password.is_none()) {
        return Err(DomainError::invalid("imap", "IMAP needs a user name and a password").into());
    }
    Ok(MailServerSettings {
        host: host.to_owned(),
        port: input.port,
        security: input.security.clone(),
        username: input.username.clone().filter(|name| !name.is_empty()),
        password,
        folder: imap.then(|| input.folder.clone().unwrap_or_else(|| "INBOX".into())),
        poll_seconds: imap.then(|| input.poll_seconds.unwrap_or(60).clamp(5, 86_400)),
    })
}

fn truncate_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Sanitizes mail HTML: `cid:` images point at their stored attachments, remote images are blocked (their
/// `src` dropped), everything else as for any HTML from outside.
fn clean_mail_html(html: &str, inline: &[(String, AttachmentId)]) -> String {
    let mut html = html.to_owned();
    for (content_id, attachment_id) in inline {
        html = html.replace(&format!("cid:{content_id}"), &format!("/api/v1/attachments/{attachment_id}/content"));
    }
    let mut builder = ammonia::Builder::default();
    builder.link_rel(Some("noopener noreferrer nofollow")).attribute_filter(|element, attribute, value| {
        if element == "img" && attribute == "src" && !value.starts_with("/api/v1/attachments/") {
            None
        } else {
            Some(value.into())
        }
    });
    builder.clean(&html).to_string()
}

/// The auto-acknowledgement text, Chinese for Chinese-speaking customers.
fn acknowledgement(locale: Option<&str>, subject_hint: &str, number: i64, tag: &str) -> (String, String) {
    let chinese = locale.is_some_and(|locale| locale.starts_with("zh"))
        || subject_hint.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    if chinese {
        (
            format!("已收到您的请求 {tag}"),
            format!(
                "您好，\n\n我们已收到您的来信，工单号为 #{number}。客服人员会尽快回复您。\n回复此邮件即可补充信息，请保留主题中的 {tag}。\n"
            ),
        )
    } else {
        (
            format!("We received your request {tag}"),
            format!(
                "Hello,\n\nWe received your message and opened request #{number}. An agent will answer soon.\nReply to this email to add anything; please keep {tag} in the subject.\n"
            ),
        )
    }
}

impl App {
    fn check_mailbox_admin(agent: &Agent) -> Result<()> {
        require_active(agent)?;
        require(agent.role.manages_settings(), "mailbox.manage_forbidden")
    }

    fn mailbox_values(&self, input: &MailboxInput, stored: Option<&MailboxRecord>) -> Result<MailboxRecord> {
        let address =
            Identity::email(&input.address).map_err(|_| DomainError::invalid("address", "not an email address"))?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(DomainError::invalid("name", "a name is 1-200 characters").into());
        }
        let tag_prefix = input.tag_prefix.as_deref().unwrap_or("#");
        let tag = SubjectTag::new(tag_prefix)
            .ok_or_else(|| DomainError::invalid("tag_prefix", "1-20 characters, no brackets or digits"))?;
        let imap = match &input.imap {
            Some(imap) => Some(server_settings(imap, stored.and_then(|s| s.imap.as_ref()), true)?),
            None => None,
        };
        let smtp = match &input.smtp {
            Some(smtp) => Some(server_settings(smtp, stored.and_then(|s| s.smtp.as_ref()), false)?),
            None => None,
        };
        let now = self.now();
        Ok(MailboxRecord {
            id: stored.map_or(0, |stored| stored.id),
            address: address.value,
            name: name.to_owned(),
            group_id: input.group_id,
            active: input.active,
            auto_ack: input.auto_ack,
            tag_prefix: tag.prefix().to_owned(),
            imap,
            smtp,
            last_poll_at: stored.and_then(|s| s.last_poll_at),
            last_poll_error: stored.and_then(|s| s.last_poll_error.clone()),
            created_at: stored.map_or(now, |stored| stored.created_at),
            updated_at: now,
        })
    }

    async fn check_mailbox_group(&self, tx: &Tx, group_id: Option<kefu_domain::GroupId>) -> Result<()> {
        if let Some(group_id) = group_id
            && tx.repo().group(group_id).await?.is_none()
        {
            return Err(AppError::InvalidReference {
                field: "group_id",
                message: format!("there is no group {group_id}"),
            });
        }
        Ok(())
    }

    /// Creates a mailbox (admins).
    pub async fn create_mailbox(&self, agent: &Agent, input: MailboxInput) -> Result<MailboxRecord> {
        Self::check_mailbox_admin(agent)?;
        let record = self.mailbox_values(&input, None)?;
        let tx = self.store.begin().await?;
        self.check_mailbox_group(&tx, record.group_id).await?;
        let saved = tx.repo().save_mailbox(&record).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Replaces a mailbox's values; a password left out keeps the stored one (admins).
    pub async fn update_mailbox(&self, agent: &Agent, id: i64, input: MailboxInput) -> Result<MailboxRecord> {
        Self::check_mailbox_admin(agent)?;
        let tx = self.store.begin().await?;
        let stored = tx.repo().mailbox(id).await?.ok_or(AppError::NotFound(Entity::Mailbox))?;
        let record = self.mailbox_values(&input, Some(&stored))?;
        self.check_mailbox_group(&tx, record.group_id).await?;
        let saved = tx.repo().save_mailbox(&record).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Every mailbox (admins).
    pub async fn mailboxes(&self, agent: &Agent) -> Result<Vec<MailboxRecord>> {
        Self::check_mailbox_admin(agent)?;
        Ok(self.store.repo().mailboxes().await?)
    }

    /// One mailbox (admins).
    pub async fn mailbox(&self, agent: &Agent, id: i64) -> Result<MailboxRecord> {
        Self::check_mailbox_admin(agent)?;
        self.store.repo().mailbox(id).await?.ok_or(AppError::NotFound(Entity::Mailbox))
    }

    /// The active mailbox receiving at an address (the SMTP listener's recipient check).
    pub async fn mailbox_for_address(&self, address: &str) -> Result<Option<MailboxRecord>> {
        Ok(self.store.repo().mailbox_by_address(address).await?.filter(|mailbox| mailbox.active))
    }

    /// Every active mailbox address (loaded once per SMTP connection).
    pub async fn receiving_addresses(&self) -> Result<Vec<(String, i64)>> {
        let mailboxes = self.store.repo().mailboxes().await?;
        Ok(mailboxes
            .into_iter()
            .filter(|mailbox| mailbox.active)
            .map(|mailbox| (mailbox.address, mailbox.id))
            .collect())
    }

    /// Stores raw inbound bytes durably and commits; nothing else. After this returns the message cannot be
    /// lost, so the sender may be acknowledged. Storing the same message again changes nothing.
    pub async fn receive_mail(&self, mailbox_id: i64, source: &str, raw: &[u8]) -> Result<Received> {
        if raw.len() > MAX_RAW_MAIL_BYTES {
            return Err(AppError::TooLarge { limit: MAX_RAW_MAIL_BYTES });
        }
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(DomainError::invalid("body", "the message is empty").into());
        }
        let (message_id, dedupe_key) = kefu_mail::parse::peek_dedupe_key(raw);
        self.store.repo().mailbox(mailbox_id).await?.ok_or(AppError::NotFound(Entity::Mailbox))?;
        let tx = self.store.begin().await?;
        let (inbound_id, inserted) =
            tx.repo().insert_inbound(mailbox_id, source, &dedupe_key, message_id.as_deref(), raw, self.now()).await?;
        tx.commit().await?;
        Ok(Received { inbound_id, duplicate: !inserted })
    }

    /// Stores and processes one message: the whole pipeline. A processing failure is recorded on the
    /// inbound row (and returned in it), not raised: the message is stored either way.
    pub async fn ingest_mail(
        &self,
        mailbox_id: i64,
        source: &str,
        raw: &[u8],
    ) -> Result<(Received, InboundMailRecord)> {
        let received = self.receive_mail(mailbox_id, source, raw).await?;
        let record = if received.duplicate {
            self.process_inbound(received.inbound_id).await?
        } else {
            self.process_stored(received.inbound_id, mailbox_id, raw).await?
        };
        Ok((received, record))
    }

    /// Imports a raw message into a mailbox (admins; the API's `raw` endpoint and `kefu mail import`).
    pub async fn import_mail(
        &self,
        agent: &Agent,
        mailbox_id: i64,
        source: &str,
        raw: &[u8],
    ) -> Result<(Received, InboundMailRecord)> {
        Self::check_mailbox_admin(agent)?;
        self.ingest_mail(mailbox_id, source, raw).await
    }

    /// Imports as the system (the CLI, which runs with the operator's authority).
    pub async fn import_mail_as_system(&self, mailbox_id: i64, raw: &[u8]) -> Result<(Received, InboundMailRecord)> {
        self.ingest_mail(mailbox_id, "cli", raw).await
    }

    /// A page of a mailbox's inbound messages, newest first, optionally of one status (admins).
    pub async fn list_inbound(
        &self,
        agent: &Agent,
        mailbox_id: i64,
        status: Option<String>,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Page<InboundMailRecord>> {
        Self::check_mailbox_admin(agent)?;
        if let Some(status) = &status
            && !["received", "processed", "ignored", "failed"].contains(&status.as_str())
        {
            return Err(DomainError::invalid("status", "one of received, processed, ignored, failed").into());
        }
        self.store.repo().mailbox(mailbox_id).await?.ok_or(AppError::NotFound(Entity::Mailbox))?;
        let filter = InboundFilter { mailbox_id: Some(mailbox_id), status };
        Ok(self.store.repo().list_inbound(&filter, limit, cursor).await?)
    }

    /// The raw bytes of an inbound message (admins): the full original.
    pub async fn inbound_raw(&self, agent: &Agent, inbound_id: i64) -> Result<Vec<u8>> {
        Self::check_mailbox_admin(agent)?;
        self.store.repo().inbound_raw(inbound_id).await?.ok_or(AppError::NotFound(Entity::InboundMail))
    }

    /// Processes a failed (or ignored) inbound message again (admins).
    pub async fn retry_inbound(&self, agent: &Agent, inbound_id: i64) -> Result<InboundMailRecord> {
        Self::check_mailbox_admin(agent)?;
        let tx = self.store.begin().await?;
        tx.repo().inbound(inbound_id).await?.ok_or(AppError::NotFound(Entity::InboundMail))?;
        tx.repo().requeue_inbound(inbound_id).await?;
        tx.commit().await?;
        self.process_inbound(inbound_id).await
    }

    /// The email side of a message and its delivery status, for an agent who may see the ticket.
    pub async fn message_email(&self, agent: &Agent, message_id: MessageId) -> Result<MessageEmail> {
        require_active(agent)?;
        let repo = self.store.repo();
        let message = repo.message(message_id).await?.ok_or(AppError::NotFound(Entity::Message))?;
        match repo.ticket(message.ticket_id).await? {
            Some(ticket) if agent.can_view(&ticket) => {}
            _ => return Err(AppError::NotFound(Entity::Message)),
        }
        let mail = repo.mail_message(message_id).await?.ok_or(AppError::NotFound(Entity::Message))?;
        let delivery = repo.outbound_for_message(message_id).await?;
        Ok(MessageEmail { mail, delivery })
    }

    /// Processes every stored message still waiting (after a crash or restart); returns how many.
    pub async fn process_pending_inbound(&self) -> Result<usize> {
        let mut done = 0;
        loop {
            let ids = self.store.repo().unprocessed_inbound(100).await?;
            if ids.is_empty() {
                return Ok(done);
            }
            for id in &ids {
                self.process_inbound(*id).await?;
            }
            done += ids.len();
        }
    }

    /// Turns a stored inbound message into a ticket message, once. Returns the row as it ends up:
    /// `processed` (with its ticket and message), `ignored` (automated mail with nowhere to go, a loop) or
    /// `failed` (with the error).
    pub async fn process_inbound(&self, inbound_id: i64) -> Result<InboundMailRecord> {
        let repo = self.store.repo();
        let record = repo.inbound(inbound_id).await?.ok_or(AppError::NotFound(Entity::InboundMail))?;
        if record.status != "received" {
            return Ok(record);
        }
        let raw = repo.inbound_raw(inbound_id).await?.ok_or(AppError::NotFound(Entity::InboundMail))?;
        self.process_stored(inbound_id, record.mailbox_id, &raw).await
    }

    /// Processes a stored inbound message given its bytes; a failure is recorded on its row. Returns the row
    /// as it ends up (see [`App::process_inbound`]).
    async fn process_stored(&self, inbound_id: i64, mailbox_id: i64, raw: &[u8]) -> Result<InboundMailRecord> {
        if let Err(error) = self.process_raw(inbound_id, mailbox_id, raw).await {
            tracing::warn!(inbound_id, %error, "inbound mail failed");
            if let Some(tx) = self.begin_inbound(inbound_id).await? {
                tx.repo()
                    .finish_inbound(inbound_id, "failed", Some(&error.to_string()), None, None, self.now())
                    .await?;
                tx.commit().await?;
            }
        }
        self.store.repo().inbound(inbound_id).await?.ok_or(AppError::NotFound(Entity::InboundMail))
    }

    /// Stores the attachments' bytes (before the transaction, so no file IO holds the write lock).
    async fn store_mail_files(&self, mail: &InboundMail) -> Result<Vec<(kefu_store::NewAttachment, Option<String>)>> {
        let mut files = Vec::new();
        for attachment in &mail.attachments {
            if attachment.content.len() > self.config.max_attachment_bytes {
                tracing::warn!(filename = %attachment.filename, "mail attachment over the limit skipped");
                continue;
            }
            let storage_key = format!("attachments/{}/{}", self.now().format("%Y/%m"), uuid::Uuid::now_v7());
            self.files
                .put(&Path::from(storage_key.as_str()), PutPayload::from(attachment.content.clone()))
                .await
                .map_err(|error| AppError::Files(error.to_string()))?;
            files.push((
                kefu_store::NewAttachment {
                    filename: clean_filename(&attachment.filename),
                    content_type: attachment.content_type.clone(),
                    size_bytes: i64::try_from(attachment.content.len()).unwrap_or(i64::MAX),
                    sha256: hex::encode(Sha256::digest(&attachment.content)),
                    storage_key,
                    uploaded_by: None,
                },
                attachment.content_id.clone(),
            ));
        }
        Ok(files)
    }

    /// Finds the ticket an inbound mail continues: References/In-Reply-To, then the body marker, then the
    /// subject tag when the sender is the requester or a participant. Merged tickets lead to their target
    /// (inside a transaction, locked).
    async fn thread_ticket<C: Conn>(
        &self,
        repo: &Repo<'_, C>,
        mail: &InboundMail,
        mailbox: &MailboxRecord,
        sender: Option<CustomerId>,
    ) -> Result<Option<Ticket>> {
        let mut found = repo.tickets_by_message_ids(&mail.referenced_ids()).await?.into_iter().next();
        if found.is_none()
            && let Some((number, check)) = thread::find_marker_parts(&mail.text)
                .or_else(|| mail.html.as_deref().and_then(thread::find_marker_parts))
            && thread::marker_matches(number, &check, &mailbox.address)
        {
            found = repo.ticket_by_number(kefu_domain::TicketNumber(number)).await?.map(|ticket| ticket.id);
        }
        if found.is_none()
            && let Some(tag) = SubjectTag::new(&mailbox.tag_prefix)
            && let Some(number) = tag.find(&mail.subject)
            && let Some(ticket) = repo.ticket_by_number(kefu_domain::TicketNumber(number)).await?
            && let Some(sender) = sender
            && (ticket.requester_id == sender || repo.participants(ticket.id).await?.contains(&sender))
        {
            found = Some(ticket.id);
        }
        match found {
            Some(ticket_id) => follow_merges(repo, ticket_id).await,
            None => Ok(None),
        }
    }

    async fn process_raw(&self, inbound_id: i64, mailbox_id: i64, raw: &[u8]) -> Result<()> {
        let mail = kefu_mail::parse::parse(raw).map_err(|error| AppError::Internal(error.to_string()))?;
        let files = self.store_mail_files(&mail).await?;
        // Two messages from one new customer processed at once (PostgreSQL, several workers) race to create
        // the customer; the loser's transaction rolled back whole, so it runs again and finds them.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.process_parsed(inbound_id, mailbox_id, &mail, &files).await {
                Err(AppError::AlreadyExists(_) | AppError::VersionConflict { .. }) if attempt < 3 => {
                    tracing::debug!(inbound_id, attempt, "inbound mail raced another change; again");
                }
                outcome => return outcome,
            }
        }
    }

    /// Turns a parsed inbound message into a ticket message, in one transaction. What can be read is read
    /// before it, so that on SQLite the one write slot is held for writes only; what may change meanwhile is
    /// settled inside: the customers are created (or read again when someone else just did), the ticket is
    /// locked and read again, and a mail that threads nowhere is looked up again, since the message it
    /// answers may have been stored a moment ago in a batch not yet committed.
    async fn process_parsed(
        &self,
        inbound_id: i64,
        mailbox_id: i64,
        mail: &InboundMail,
        files: &[(kefu_store::NewAttachment, Option<String>)],
    ) -> Result<()> {
        let now = self.now();
        let repo = self.store.repo();
        let mailbox = repo.mailbox(mailbox_id).await?.ok_or(AppError::NotFound(Entity::Mailbox))?;
        if mail.automated == Some(kefu_mail::Automated::Loop) {
            let Some(tx) = self.begin_inbound(inbound_id).await? else { return Ok(()) };
            return ignore_inbound(tx, inbound_id, "Kefu's own mail (loop header)", now).await;
        }
        if let Some(bounce) = &mail.bounce {
            let Some(tx) = self.begin_inbound(inbound_id).await? else { return Ok(()) };
            return self.process_bounce(tx, inbound_id, mail, bounce, files, now).await;
        }
        let Some(from) = mail.reply_to.clone().or_else(|| mail.from.clone()) else {
            return Err(AppError::Domain(DomainError::invalid("from", "the message has no sender address")));
        };
        let identity = Identity::email(&from.address)?;
        let sender = self.look_up_requester(&repo, &Requester::Identity { identity, name: from.name.clone() }).await?;
        let known_sender = match &sender {
            RequesterLookup::Known(brief) => Some(brief.id),
            RequesterLookup::Unknown { .. } => None,
        };
        let threaded = self.thread_ticket(&repo, mail, &mailbox, known_sender).await?;
        // Everyone else on the mail (Cc, other To) becomes a participant; mailboxes and the sender do not.
        let mailbox_addresses: Vec<String> =
            repo.mailboxes().await?.into_iter().map(|mailbox| mailbox.address).collect();
        let mut others = Vec::new();
        for other in mail.to.iter().chain(&mail.cc) {
            if other.address == from.address || mailbox_addresses.contains(&other.address) {
                continue;
            }
            let Ok(identity) = Identity::email(&other.address) else {
                continue;
            };
            others.push(
                self.look_up_requester(&repo, &Requester::Identity { identity, name: other.name.clone() }).await?,
            );
        }
        let set = self.rule_set().await?;

        let Some(tx) = self.begin_inbound(inbound_id).await? else { return Ok(()) };
        let existing = match threaded {
            Some(ticket) => follow_merges(&tx.repo(), ticket.id).await?,
            None if refers_to_a_ticket(mail, &mailbox) => {
                self.thread_ticket(&tx.repo(), mail, &mailbox, known_sender).await?
            }
            None => None,
        };
        let existing = existing.filter(|ticket| ticket.status != Status::Closed);
        if existing.is_none() && mail.automated.is_some() {
            let reason = mail.automated.as_ref().map_or("", |automated| automated.as_str());
            return ignore_inbound(tx, inbound_id, &format!("automated mail ({reason}) opens no ticket"), now).await;
        }
        let requester = self.settle_requester(&tx, sender).await?;
        let customer_id = requester.id;
        let actor = Actor::Customer(customer_id);

        let mut attachment_ids = Vec::new();
        let mut inline = Vec::new();
        for (file, content_id) in files {
            let stored = tx.repo().insert_attachment(file, now).await?;
            if let Some(content_id) = content_id {
                inline.push((content_id.clone(), stored.id));
            }
            attachment_ids.push(stored.id);
        }
        let mut body_text = truncate_bytes(&mail.reply_text, MAX_MESSAGE_BODY_BYTES);
        if body_text.trim().is_empty() && attachment_ids.is_empty() {
            body_text = "(empty message)".into();
        }
        let body_html = mail
            .html
            .as_deref()
            .map(|html| clean_mail_html(html, &inline))
            .filter(|html| !html.trim().is_empty() && html.len() <= MAX_MESSAGE_BODY_BYTES);
        let draft = MessageDraft {
            author: AuthorKind::Customer(customer_id),
            internal: false,
            body_text,
            body_html,
            attachment_ids: attachment_ids.clone(),
        }
        .validate(None)?;

        let (ticket, change, previous, mut drafts) = match existing {
            Some(ticket) => {
                let (next, drafts) = reopen_for_reply(&tx, &ticket, now).await?;
                (next, TicketChange::MessageAdded, Some(ticket), drafts)
            }
            None => {
                let rules = kefu_domain::FieldRules { definitions: &set.definitions, category: None };
                let subject = thread::clean_subject(&mail.subject);
                let subject: String = if subject.trim().is_empty() { "(no subject)".into() } else { subject };
                let draft = NewTicket {
                    subject: subject.chars().take(MAX_SUBJECT_CHARS).collect(),
                    status: Status::New,
                    priority: Priority::Normal,
                    category_id: None,
                    channel: Channel::Email,
                    requester_id: customer_id,
                    assignee_id: None,
                    group_id: mailbox.group_id,
                    tags: vec![],
                    custom_fields: Default::default(),
                }
                .validate(rules)?;
                let ticket = tx.repo().insert_ticket(&draft, now).await?;
                (ticket, TicketChange::Created, None, vec![draft.created_event()])
            }
        };
        let message = tx.repo().insert_message(ticket.id, &draft, now).await?;
        let ticket = if change == TicketChange::Created { ticket } else { touch(&tx, &ticket, now).await? };
        drafts.push(message_event(&message));

        for other in others {
            let participant = self.settle_requester(&tx, other).await?.id;
            if participant != ticket.requester_id && tx.repo().add_participant(ticket.id, participant, now).await? {
                drafts.push(TicketEventDraft::with_details(
                    EventKind::FieldChanged,
                    json!({ "participant_added": participant.0 }),
                ));
            }
        }
        let header_message_id =
            mail.message_id.clone().unwrap_or_else(|| format!("{}@inbound.kefu", mail.content_hash));
        let full_text = (mail.text.trim() != message.body_text.trim())
            .then(|| truncate_bytes(&mail.text, 4 * MAX_MESSAGE_BODY_BYTES));
        tx.repo()
            .insert_mail_message(
                &MailMessageRecord {
                    message_id: message.id,
                    mailbox_id: mailbox.id,
                    direction: "inbound".into(),
                    header_message_id,
                    from_address: Some(from.address.clone()),
                    to: mail.to.iter().map(|a| a.address.clone()).collect(),
                    cc: mail.cc.iter().map(|a| a.address.clone()).collect(),
                    subject: mail.subject.clone(),
                    inbound_id: Some(inbound_id),
                    full_text,
                },
                now,
            )
            .await?;
        // Triggers (routing, auto-replies ...) and the SLA see inbound mail like any other change.
        let event =
            if change == TicketChange::Created { TriggerEvent::TicketCreated } else { TriggerEvent::CustomerReplied };
        let engine = Change {
            event,
            previous: previous.as_ref(),
            message: Some(&message),
            // The rules look at the ticket's requester, who need not be the sender of a reply.
            requester: (requester.id == ticket.requester_id).then_some(&requester),
            unwritten: drafts,
            actor,
            planned: None,
        };
        let (ticket, events) = self.after_change(&tx, ticket, engine).await?;
        let mut notice = customer_notice(&ticket, change, previous.as_ref(), &events);
        notice.internal = Some(false);
        self.queue_notice(&tx, &Notice::Ticket(notice)).await?;
        if change == TicketChange::Created && mailbox.auto_ack && mail.automated.is_none() && mailbox.smtp.is_some() {
            self.queue_acknowledgement(&tx, &mailbox, &ticket, customer_id, &from, mail).await?;
        }
        tx.repo().finish_inbound(inbound_id, "processed", None, Some(ticket.id), Some(message.id), now).await?;
        tx.commit().await?;
        self.outbox_written();
        Ok(())
    }

    /// Opens the write transaction that processes an inbound message: `None` (and nothing to do) when the
    /// message is no longer waiting, because another worker processed it meanwhile.
    async fn begin_inbound(&self, inbound_id: i64) -> Result<Option<Tx>> {
        let tx = self.store.begin().await?;
        match tx.repo().lock_inbound_status(inbound_id).await? {
            Some(status) if status == "received" => Ok(Some(tx)),
            Some(_) => Ok(None),
            None => Err(AppError::NotFound(Entity::InboundMail)),
        }
    }

    async fn process_bounce(
        &self,
        tx: Tx,
        inbound_id: i64,
        mail: &InboundMail,
        bounce: &kefu_mail::Bounce,
        files: &[(kefu_store::NewAttachment, Option<String>)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let original = match &bounce.original_message_id {
            Some(id) => tx.repo().bounce_outbound(id, &bounce.summary()).await?,
            None => None,
        };
        let Some(ticket_id) = original.as_ref().and_then(|outbound| outbound.ticket_id) else {
            return ignore_inbound(tx, inbound_id, "a bounce for a message Kefu did not send", now).await;
        };
        let Some(ticket) = tx.repo().lock_ticket(ticket_id).await? else {
            return Err(AppError::NotFound(Entity::Ticket));
        };
        let mut attachment_ids = Vec::new();
        for (file, _) in files {
            attachment_ids.push(tx.repo().insert_attachment(file, now).await?.id);
        }
        let text = format!(
            "Delivery failed to {}: {}\n\n{}",
            bounce.recipients.join(", "),
            bounce.summary(),
            truncate_bytes(&mail.text, 64 * 1024)
        );
        let draft = MessageDraft {
            author: AuthorKind::System,
            internal: true,
            body_text: text,
            body_html: None,
            attachment_ids,
        }
        .validate(None)?;
        let message = tx.repo().insert_message(ticket.id, &draft, now).await?;
        let touched = touch(&tx, &ticket, now).await?;
        let drafts = [
            message_event(&message),
            TicketEventDraft::with_details(
                EventKind::FieldChanged,
                json!({ "delivery_failed": bounce.recipients, "status": bounce.status, "message_id": original.and_then(|o| o.message_id).map(|id| id.0) }),
            ),
        ];
        let events = tx.repo().append_events(ticket.id, Actor::System, now, &drafts).await?;
        let mut notice = customer_notice(&touched, TicketChange::MessageAdded, Some(&ticket), &events);
        notice.internal = Some(true);
        self.queue_notice(&tx, &Notice::Ticket(notice)).await?;
        tx.repo().finish_inbound(inbound_id, "processed", None, Some(ticket.id), Some(message.id), now).await?;
        tx.commit().await?;
        self.outbox_written();
        Ok(())
    }

    /// Queues the auto-acknowledgement of a new ticket, at most [`AUTO_ACKS_PER_HOUR`] per sender an hour.
    async fn queue_acknowledgement(
        &self,
        tx: &Tx,
        mailbox: &MailboxRecord,
        ticket: &Ticket,
        customer_id: CustomerId,
        to: &MailAddress,
        mail: &InboundMail,
    ) -> Result<()> {
        let now = self.now();
        let sent = tx.repo().count_outbound_to("auto_ack", &to.address, now - chrono::Duration::hours(1)).await?;
        if sent >= AUTO_ACKS_PER_HOUR {
            tracing::info!(recipient = %to.address, "auto-acknowledgement rate limit reached");
            return Ok(());
        }
        let locale = tx.repo().customer(customer_id).await?.and_then(|customer| customer.locale);
        let tag = SubjectTag::new(&mailbox.tag_prefix).unwrap_or_default().format(ticket.number.0);
        let (subject, text) =
            acknowledgement(locale.as_deref(), &format!("{} {}", mail.subject, mail.text), ticket.number.0, &tag);
        let outgoing = OutgoingMail {
            from: Some(MailAddress::new(&mailbox.address, Some(&mailbox.name))),
            to: vec![to.clone()],
            cc: vec![],
            subject,
            message_id: new_message_id(&mailbox.address),
            in_reply_to: mail.message_id.clone(),
            references: mail.message_id.clone().into_iter().collect(),
            text: format!("{text}\n{}\n", thread::marker(ticket.number.0, &mailbox.address)),
            html: None,
            attachments: vec![],
            auto_submitted: Some("auto-replied".into()),
        };
        self.queue_outgoing(tx, mailbox, "auto_ack", Some(ticket.id), None, &outgoing).await
    }

    pub(crate) async fn queue_outgoing(
        &self,
        tx: &Tx,
        mailbox: &MailboxRecord,
        kind: &str,
        ticket_id: Option<TicketId>,
        message_id: Option<MessageId>,
        outgoing: &OutgoingMail,
    ) -> Result<()> {
        let now = self.now();
        let (raw, envelope_from, envelope_to, status, error) = match kefu_mail::compose::build(outgoing) {
            Ok(built) => (built.raw, built.envelope_from, built.envelope_to, "queued", None),
            Err(error) => (vec![], mailbox.address.clone(), vec![], "failed", Some(error.to_string())),
        };
        let status = if mailbox.smtp.is_none() { "failed" } else { status };
        let error = if mailbox.smtp.is_none() { Some("the mailbox has no SMTP relay".to_owned()) } else { error };
        tx.repo()
            .insert_outbound(&OutboundMailRecord {
                id: 0,
                mailbox_id: mailbox.id,
                message_id,
                ticket_id,
                kind: kind.into(),
                recipient: outgoing.to.first().map(|to| to.address.clone()).unwrap_or_default(),
                header_message_id: outgoing.message_id.clone(),
                raw,
                envelope_from,
                envelope_to,
                status: status.into(),
                attempts: 0,
                next_attempt_at: now,
                last_error: error,
                created_at: now,
                sent_at: None,
            })
            .await?;
        Ok(())
    }

    /// Queues an email for every public agent reply on an email ticket that has none yet; returns how many.
    /// With no mailbox configured there is nothing to send from: the replies the scan has settled are
    /// passed over at once, with one warning for the lot.
    pub async fn queue_email_replies(&self) -> Result<usize> {
        const BATCH: u64 = 50;
        let now = self.now();
        let mailboxes = self.store.repo().mailboxes().await?;
        let tx = self.store.begin().await?;
        let mark = tx.repo().reply_scan_mark().await?;
        let pending = tx.repo().unsent_email_replies(mark, BATCH).await?;
        let settled = tx.repo().last_message_before(now - SCAN_SETTLE).await?;
        let new_mark = if mailboxes.is_empty() {
            let passed_over = pending.iter().filter(|(message_id, _)| message_id.0 <= settled).count();
            if passed_over > 0 {
                tracing::warn!(
                    replies =
                        if passed_over as u64 == BATCH { format!("{BATCH} or more") } else { passed_over.to_string() },
                    "replies on email tickets are not sent: no mailbox is configured"
                );
            }
            settled
        } else {
            for (message_id, ticket_id) in &pending {
                self.queue_reply(&tx, &mailboxes, *message_id, *ticket_id).await?;
            }
            match pending.last() {
                Some((last, _)) if pending.len() as u64 == BATCH => settled.min(last.0),
                _ => settled,
            }
        };
        tx.repo().set_reply_scan_mark(new_mark).await?;
        tx.commit().await?;
        Ok(if mailboxes.is_empty() { 0 } else { pending.len() })
    }

    async fn queue_reply(
        &self,
        tx: &Tx,
        mailboxes: &[MailboxRecord],
        message_id: MessageId,
        ticket_id: TicketId,
    ) -> Result<()> {
        let now = self.now();
        let repo = tx.repo();
        let (Some(message), Some(ticket)) = (repo.message(message_id).await?, repo.ticket(ticket_id).await?) else {
            return Ok(());
        };
        let last_inbound = repo.last_inbound_mail(ticket_id).await?;
        let mailbox = last_inbound
            .as_ref()
            .and_then(|inbound| mailboxes.iter().find(|mailbox| mailbox.id == inbound.mailbox_id))
            .or_else(|| mailboxes.iter().find(|mailbox| mailbox.active && mailbox.smtp.is_some()))
            .or_else(|| mailboxes.first());
        let Some(mailbox) = mailbox.cloned() else {
            return Ok(());
        };
        let email_of = |customer: &kefu_domain::Customer| {
            customer
                .identities
                .iter()
                .find(|(_, identity)| identity.kind == IdentityKind::Email)
                .map(|(_, identity)| MailAddress::new(&identity.value, Some(&customer.name)))
        };
        let requester = repo.customer(ticket.requester_id).await?;
        let to: Vec<MailAddress> = last_inbound
            .as_ref()
            .and_then(|inbound| inbound.from_address.as_deref())
            .filter(|address| requester.as_ref().is_some_and(|c| c.identities.iter().any(|(_, i)| i.value == *address)))
            .map(|address| MailAddress::new(address, requester.as_ref().map(|c| c.name.as_str())))
            .or_else(|| requester.as_ref().and_then(email_of))
            .into_iter()
            .collect();
        let mut cc = Vec::new();
        for participant in repo.participants(ticket_id).await? {
            if let Some(address) = repo.customer(participant).await?.as_ref().and_then(email_of)
                && !to.contains(&address)
            {
                cc.push(address);
            }
        }
        let mut attachments = Vec::new();
        for record in repo.attachments(&message.attachment_ids).await? {
            let content = self
                .files
                .get(&Path::from(record.storage_key.as_str()))
                .await
                .map_err(|error| AppError::Files(error.to_string()))?
                .bytes()
                .await
                .map_err(|error| AppError::Files(error.to_string()))?;
            attachments.push(OutgoingAttachment {
                filename: record.filename,
                content_type: record.content_type,
                content: content.to_vec(),
            });
        }
        let tag = SubjectTag::new(&mailbox.tag_prefix).unwrap_or_default();
        let marker = thread::marker(ticket.number.0, &mailbox.address);
        let references = repo.ticket_message_ids(ticket_id).await?;
        let outgoing = OutgoingMail {
            from: Some(MailAddress::new(&mailbox.address, Some(&mailbox.name))),
            to,
            cc,
            subject: tag.reply_subject(&ticket.subject, ticket.number.0),
            message_id: new_message_id(&mailbox.address),
            in_reply_to: last_inbound.as_ref().map(|inbound| inbound.header_message_id.clone()),
            references,
            text: format!("{}\n\n{marker}\n", message.body_text.trim_end()),
            html: Some(format!(
                "{}<div style=\"display:none;color:#fff;font-size:1px\">{marker}</div>",
                message.body_html.clone().unwrap_or_else(|| format!(
                    "<div style=\"white-space:pre-wrap\">{}</div>",
                    escape_html(&message.body_text)
                ))
            )),
            attachments,
            auto_submitted: None,
        };
        repo.insert_mail_message(
            &MailMessageRecord {
                message_id,
                mailbox_id: mailbox.id,
                direction: "outbound".into(),
                header_message_id: outgoing.message_id.clone(),
                from_address: Some(mailbox.address.clone()),
                to: outgoing.to.iter().map(|a| a.address.clone()).collect(),
                cc: outgoing.cc.iter().map(|a| a.address.clone()).collect(),
                subject: outgoing.subject.clone(),
                inbound_id: None,
                full_text: None,
            },
            now,
        )
        .await?;
        if outgoing.to.is_empty() {
            let mut failed = outgoing.clone();
            failed.to = vec![];
            return self.queue_outgoing(tx, &mailbox, "reply", Some(ticket_id), Some(message_id), &failed).await;
        }
        self.queue_outgoing(tx, &mailbox, "reply", Some(ticket_id), Some(message_id), &outgoing).await
    }

    /// Sends every due queued message once; returns how many went out. Failures are retried with backoff
    /// (30 s doubling, at most an hour apart) up to [`MAX_SEND_ATTEMPTS`]; a 5xx answer fails at once.
    pub async fn send_due_mail(&self, timeout: Duration) -> Result<usize> {
        let tx = self.store.begin().await?;
        let claimed = tx.repo().claim_outbound(self.now(), SEND_LEASE, 20).await?;
        tx.commit().await?;
        let mut sent = 0;
        for outbound in claimed {
            let mailbox = self.store.repo().mailbox(outbound.mailbox_id).await?;
            let relay = mailbox.as_ref().and_then(|mailbox| mailbox.smtp.as_ref()).map(|smtp| SmtpServer {
                host: smtp.host.clone(),
                port: smtp.port,
                security: security(&smtp.security),
                username: smtp.username.clone(),
                password: smtp.password.clone(),
            });
            let result = match relay {
                Some(relay) => {
                    let built = kefu_mail::compose::BuiltMail {
                        raw: outbound.raw.clone(),
                        envelope_from: outbound.envelope_from.clone(),
                        envelope_to: outbound.envelope_to.clone(),
                    };
                    kefu_mail::transport::send(&relay, &built, timeout).await
                }
                None => {
                    Err(kefu_mail::MailError::Send { permanent: true, reason: "the mailbox has no SMTP relay".into() })
                }
            };
            let now = self.now();
            let tx = self.store.begin().await?;
            match result {
                Ok(()) => {
                    tx.repo().finish_outbound(outbound.id, "sent", None, now, Some(now)).await?;
                    sent += 1;
                }
                Err(kefu_mail::MailError::Send { permanent, reason }) => {
                    let attempts = outbound.attempts + 1;
                    let give_up = permanent || attempts >= MAX_SEND_ATTEMPTS;
                    let backoff = chrono::Duration::seconds((30_i64 << attempts.min(7)).min(3600));
                    let status = if give_up { "failed" } else { "queued" };
                    tracing::warn!(outbound_id = outbound.id, attempts, permanent, %reason, "sending failed");
                    tx.repo().finish_outbound(outbound.id, status, Some(&reason), now + backoff, None).await?;
                }
                Err(other) => {
                    tx.repo().finish_outbound(outbound.id, "failed", Some(&other.to_string()), now, None).await?;
                }
            }
            tx.commit().await?;
        }
        Ok(sent)
    }

    /// Runs the outbound side until `shutdown`: queues new replies and sends due mail, every second.
    pub async fn run_mail_sender(&self, shutdown: CancellationToken) {
        loop {
            if let Err(error) = self.queue_email_replies().await {
                tracing::warn!(%error, "queueing email replies failed; retrying");
            }
            if let Err(error) = self.send_due_mail(Duration::from_secs(30)).await {
                tracing::warn!(%error, "sending mail failed; retrying");
            }
            if let Err(error) = self.process_pending_inbound().await {
                tracing::warn!(%error, "processing stored mail failed; retrying");
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Stores and processes up to [`IMAP_BATCH`] unread messages of the selected folder: each is stored
    /// (committed) and only then marked read; nothing is deleted. A message Kefu will not store (too large,
    /// empty) stays unread. Returns how many were stored and whether the batch was full (more may wait).
    async fn fetch_new_mail(
        &self,
        mailbox_id: i64,
        inbox: &mut ImapInbox,
    ) -> std::result::Result<(usize, bool), kefu_mail::MailError> {
        let uids = inbox.unseen(IMAP_BATCH).await?;
        let mut stored = 0;
        for &uid in &uids {
            let Some(fetched) = inbox.fetch(uid).await? else {
                continue;
            };
            match self.receive_mail(mailbox_id, "imap", &fetched.raw).await {
                Ok(received) => {
                    inbox.mark_seen(uid).await?;
                    stored += usize::from(!received.duplicate);
                    // Also for a duplicate: an earlier poll may have stored it and lost the connection
                    // before processing (a processed row is left alone).
                    if let Err(error) = self.process_inbound(received.inbound_id).await {
                        tracing::warn!(%error, "processing polled mail failed");
                    }
                }
                Err(AppError::TooLarge { .. } | AppError::Domain(_)) => {
                    tracing::warn!(uid, "an unacceptable message was left unread in the folder");
                }
                Err(error) => return Err(kefu_mail::MailError::Imap(error.to_string())),
            }
        }
        Ok((stored, uids.len() == IMAP_BATCH))
    }

    async fn record_poll(&self, mailbox_id: i64, error: Option<&str>) -> Result<()> {
        let tx = self.store.begin().await?;
        tx.repo().set_mailbox_poll(mailbox_id, error, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Polls one mailbox's IMAP folder once: connects, stores every unread message (each committed before
    /// it is marked read; nothing is deleted), signs out. Returns how many messages were stored.
    pub async fn poll_mailbox(&self, mailbox_id: i64, timeout: Duration) -> Result<usize> {
        let mailbox = self.store.repo().mailbox(mailbox_id).await?.ok_or(AppError::NotFound(Entity::Mailbox))?;
        let Some(imap) = &mailbox.imap else {
            return Ok(0);
        };
        let result = async {
            let mut inbox = ImapInbox::connect(&imap_server(imap), timeout).await?;
            let mut stored = 0;
            loop {
                let (count, full) = self.fetch_new_mail(mailbox.id, &mut inbox).await?;
                stored += count;
                if !full || count == 0 {
                    break;
                }
            }
            inbox.logout().await;
            Ok::<usize, kefu_mail::MailError>(stored)
        }
        .await;
        let error = result.as_ref().err().map(ToString::to_string);
        self.record_poll(mailbox.id, error.as_deref()).await?;
        result.map_err(|error| AppError::Internal(error.to_string()))
    }

    /// One connection's life: fetch what is unread, then wait in IDLE for the next change (at most the
    /// poll interval, after which the folder is searched again anyway), and repeat. Without IDLE it signs
    /// out after one round and returns; the caller sleeps the interval. Errors end the connection.
    async fn watch_session(
        &self,
        mailbox_id: i64,
        server: &ImapServer,
        interval: Duration,
    ) -> std::result::Result<(), kefu_mail::MailError> {
        let mut inbox = ImapInbox::connect(server, IMAP_TIMEOUT).await?;
        loop {
            let (count, full) = self.fetch_new_mail(mailbox_id, &mut inbox).await?;
            if let Err(error) = self.record_poll(mailbox_id, None).await {
                tracing::warn!(%error, "recording an IMAP poll failed");
            }
            if full && count > 0 {
                continue;
            }
            if !inbox.has_idle() {
                inbox.logout().await;
                return Ok(());
            }
            let (next, wake) = inbox.wait(interval).await?;
            tracing::debug!(mailbox_id, ?wake, "IMAP wait ended");
            inbox = next;
        }
    }

    /// Watches one mailbox's IMAP folder until `shutdown`: new mail is fetched as soon as the server
    /// reports it (IDLE) or every poll interval (servers without IDLE). A lost connection is retried after
    /// 1 s, doubling up to the poll interval (at most a minute); the error is kept on the mailbox meanwhile.
    pub async fn watch_mailbox(&self, mailbox: MailboxRecord, shutdown: CancellationToken) {
        let Some(imap) = &mailbox.imap else {
            return;
        };
        let server = imap_server(imap);
        let interval = Duration::from_secs(u64::from(imap.poll_seconds.unwrap_or(60)));
        let mut backoff = Duration::from_secs(1);
        loop {
            let outcome = tokio::select! {
                _ = shutdown.cancelled() => return,
                outcome = self.watch_session(mailbox.id, &server, interval) => outcome,
            };
            let pause = match outcome {
                Ok(()) => {
                    backoff = Duration::from_secs(1);
                    interval
                }
                Err(error) => {
                    tracing::warn!(mailbox = %mailbox.address, %error, "IMAP connection failed; reconnecting");
                    if let Err(error) = self.record_poll(mailbox.id, Some(&error.to_string())).await {
                        tracing::warn!(%error, "recording an IMAP error failed");
                    }
                    let pause = backoff.min(interval).min(Duration::from_secs(60));
                    backoff *= 2;
                    pause
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Keeps one [`App::watch_mailbox`] task per active IMAP mailbox until `shutdown`, starting, stopping
    /// and restarting them as admins add, remove or change mailboxes (checked every few seconds).
    pub async fn run_imap_poller(&self, shutdown: CancellationToken) {
        type Watcher = (MailServerSettings, CancellationToken, tokio::task::JoinHandle<()>);
        let mut watchers: std::collections::HashMap<i64, Watcher> = std::collections::HashMap::new();
        loop {
            match self.store.repo().mailboxes().await {
                Ok(mailboxes) => {
                    let wanted: Vec<MailboxRecord> =
                        mailboxes.into_iter().filter(|mailbox| mailbox.active && mailbox.imap.is_some()).collect();
                    watchers.retain(|id, (settings, token, task)| {
                        let same = wanted.iter().any(|m| m.id == *id && m.imap.as_ref() == Some(&*settings));
                        let keep = same && !task.is_finished();
                        if !keep {
                            token.cancel();
                        }
                        keep
                    });
                    for mailbox in wanted {
                        let Some(settings) = mailbox.imap.clone() else { continue };
                        if watchers.contains_key(&mailbox.id) {
                            continue;
                        }
                        let token = shutdown.child_token();
                        let (app, stop, id) = (self.clone(), token.clone(), mailbox.id);
                        let task = tokio::spawn(async move { app.watch_mailbox(mailbox, stop).await });
                        watchers.insert(id, (settings, token, task));
                    }
                }
                Err(error) => tracing::warn!(%error, "reading mailboxes failed"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
        for (_, (_, token, task)) in watchers {
            token.cancel();
            let _ = task.await;
        }
    }
}

fn imap_server(imap: &MailServerSettings) -> ImapServer {
    ImapServer {
        host: imap.host.clone(),
        port: imap.port,
        security: security(&imap.security),
        username: imap.username.clone().unwrap_or_default(),
        password: imap.password.clone().unwrap_or_default(),
        folder: imap.folder.clone().unwrap_or_else(|| "INBOX".into()),
    }
}

/// The ticket `ticket_id` leads to: itself, or the one it was merged into (locked, inside a transaction).
async fn follow_merges<C: Conn>(repo: &Repo<'_, C>, mut ticket_id: TicketId) -> Result<Option<Ticket>> {
    for _ in 0..10 {
        let Some(ticket) = repo.lock_ticket(ticket_id).await? else {
            return Ok(None);
        };
        match ticket.merged_into_id {
            Some(target) => ticket_id = target,
            None => return Ok(Some(ticket)),
        }
    }
    Ok(None)
}

/// Whether a mail carries anything [`App::thread_ticket`] could thread it by (references, our marker, a
/// subject tag); most new mail does not, and is then not looked up twice.
fn refers_to_a_ticket(mail: &InboundMail, mailbox: &MailboxRecord) -> bool {
    !mail.referenced_ids().is_empty()
        || thread::find_marker_parts(&mail.text).is_some()
        || mail.html.as_deref().and_then(thread::find_marker_parts).is_some()
        || SubjectTag::new(&mailbox.tag_prefix).and_then(|tag| tag.find(&mail.subject)).is_some()
}

/// Marks an inbound message as deliberately not turned into a ticket message, and commits.
async fn ignore_inbound(tx: Tx, inbound_id: i64, reason: &str, now: DateTime<Utc>) -> Result<()> {
    tx.repo().finish_inbound(inbound_id, "ignored", Some(reason), None, None, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A Message-ID on the mailbox's domain.
pub(crate) fn new_message_id(mailbox_address: &str) -> String {
    let domain = mailbox_address.rsplit('@').next().unwrap_or("kefu.invalid");
    format!("{}@{domain}", uuid::Uuid::now_v7())
}

/// A notice for a change made by a customer (or the system), not an agent.
pub(crate) fn customer_notice(
    ticket: &Ticket,
    change: TicketChange,
    previous: Option<&Ticket>,
    events: &[kefu_domain::TicketEvent],
) -> TicketNotice {
    TicketNotice {
        ticket_id: ticket.id.0,
        number: ticket.number.0,
        version: ticket.version,
        change,
        group_id: ticket.group_id.map(|id| id.0),
        assignee_id: ticket.assignee_id.map(|id| id.0),
        previous_group_id: previous.filter(|p| p.group_id != ticket.group_id).and_then(|p| p.group_id.map(|id| id.0)),
        previous_assignee_id: previous
            .filter(|p| p.assignee_id != ticket.assignee_id)
            .and_then(|p| p.assignee_id.map(|id| id.0)),
        actor_agent_id: None,
        event_ids: events.iter().map(|event| event.id.0).collect(),
        internal: None,
        at: ticket.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_images_are_blocked_and_cid_images_point_at_attachments() {
        let html = r#"<p>Hi<img src="https://tracker.example/x.gif"><img src="cid:logo@x"><script>x</script></p>"#;
        let clean = clean_mail_html(html, &[("logo@x".into(), AttachmentId(7))]);
        assert!(!clean.contains("tracker.example"), "{clean}");
        assert!(clean.contains(r#"src="/api/v1/attachments/7/content""#), "{clean}");
        assert!(!clean.contains("script"));
    }

    #[test]
    fn acknowledgements_follow_the_customer_language() {
        assert!(acknowledgement(None, "发票问题", 5, "[#5]").0.contains("已收到"));
        assert!(acknowledgement(Some("en"), "invoice", 5, "[#5]").0.contains("We received"));
    }
}
