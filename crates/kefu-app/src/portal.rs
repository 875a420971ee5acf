//! The customer portal: customers sign in with a password or an emailed single-use link, then see and
//! answer their own tickets (public messages only) and nothing else.
//!
//! Secrets are random 256-bit tokens handed out once and stored as SHA-256 hashes: sign-in links
//! ([`LinkPurpose::SignIn`], 15 minutes), set-password links ([`LinkPurpose::Password`], one hour), and
//! customer sessions (7 days, a separate table from agents' sessions, so a customer session can never
//! stand for an agent). Passwords are argon2id hashes, checked as agents' are (unknown accounts cost the same
//! time). Link mail goes through the outbound mail queue from the first active mailbox with an SMTP relay.
//!
//! A customer reply is a customer message, like an email reply: a solved or pending ticket reopens and the
//! `customer_replied` triggers and the SLA run. A ticket the customer did not ask is "not found".

use std::collections::BTreeMap;

use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use kefu_domain::triggers::TriggerEvent;
use kefu_domain::{
    Actor, AgentId, AttachmentId, AuthorKind, Customer, CustomerId, DomainError, Identity, IdentityKind, Message,
    MessageDraft, Status, Ticket, TicketId,
};
use kefu_mail::{MailAddress, OutgoingMail};
use kefu_store::{AttachmentRecord, Cursor, Page, TicketFilter, TicketSort};
use rand::RngCore;

use crate::auth::{check_password_strength, dummy_hash, hash_password, token_hash, verify_password};
use crate::automation::Change;
use crate::bus::{Notice, TicketChange};
use crate::help::{Upload, check_uploads};
use crate::mail::{customer_notice, new_message_id};
use crate::tickets::{message_event, reopen_for_reply, touch};
use crate::{App, AppError, Entity, Result};

/// How long an emailed sign-in link works.
pub const SIGN_IN_LINK_LIFETIME: Duration = Duration::minutes(15);
/// How long a set-password link works.
pub const PASSWORD_LINK_LIFETIME: Duration = Duration::hours(1);
/// How long a customer stays signed in.
pub const SESSION_LIFETIME: Duration = Duration::days(7);
/// Link emails one address gets per hour at most (more requests are dropped silently).
const LINK_MAILS_PER_HOUR: u64 = 5;
/// Link requests one client address may make per ten minutes.
const LINK_REQUESTS_PER_ADDRESS: u64 = 10;
/// A customer's tickets per page.
const REQUESTS_PER_PAGE: u64 = 25;
/// Messages shown on a request page.
const MESSAGES_SHOWN: u64 = 500;

/// What an emailed link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Signs the customer in.
    SignIn,
    /// Lets the customer set (or reset) their password, then signs them in.
    Password,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::SignIn => "sign_in",
            LinkPurpose::Password => "password",
        }
    }

    fn lifetime(self) -> Duration {
        match self {
            LinkPurpose::SignIn => SIGN_IN_LINK_LIFETIME,
            LinkPurpose::Password => PASSWORD_LINK_LIFETIME,
        }
    }
}

/// A signed-in customer and the secret of their session (for the cookie; only its hash is stored).
#[derive(Debug, Clone, PartialEq)]
pub struct PortalSession {
    /// Who.
    pub customer: Customer,
    /// The session secret.
    pub token: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
}

/// One of a customer's tickets as they may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRequest {
    /// The ticket.
    pub ticket: Ticket,
    /// Its public messages, oldest first (never internal notes).
    pub messages: Vec<Message>,
    /// The files on those messages.
    pub attachments: Vec<AttachmentRecord>,
    /// The display names of the agents who wrote them.
    pub agent_names: BTreeMap<AgentId, String>,
}

/// The customer's email address, if they have one.
pub fn customer_email(customer: &Customer) -> Option<&str> {
    customer
        .identities
        .iter()
        .find(|(_, identity)| identity.kind == IdentityKind::Email)
        .map(|(_, identity)| identity.value.as_str())
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The subject and text of a link email, in the help center's language.
fn link_mail(purpose: LinkPurpose, locale: &str, name: &str, help_center: &str, link: &str) -> (String, String) {
    let minutes = purpose.lifetime().num_minutes();
    match (purpose, locale) {
        (LinkPurpose::SignIn, "zh-CN") => (
            format!("{help_center}：您的登录链接"),
            format!(
                "{name}，您好：\n\n点击下面的链接登录{help_center}。链接只能使用一次，{minutes} 分钟后失效。\n\n{link}\n\n如果这不是您本人的操作，请忽略此邮件。\n"
            ),
        ),
        (LinkPurpose::SignIn, "zh-TW") => (
            format!("{help_center}：您的登入連結"),
            format!(
                "{name}，您好：\n\n點擊下方連結登入{help_center}。連結只能使用一次，{minutes} 分鐘後失效。\n\n{link}\n\n如果這不是您本人的操作，請忽略此郵件。\n"
            ),
        ),
        (LinkPurpose::SignIn, _) => (
            format!("Your sign-in link for {help_center}"),
            format!(
                "Hello {name},\n\nUse this link to sign in to {help_center}. It works once and expires in {minutes} minutes.\n\n{link}\n\nIf you did not ask for it, ignore this email.\n"
            ),
        ),
        (LinkPurpose::Password, "zh-CN") => (
            format!("{help_center}：设置您的密码"),
            format!(
                "{name}，您好：\n\n点击下面的链接设置{help_center}的登录密码。链接只能使用一次，{minutes} 分钟后失效。\n\n{link}\n\n如果这不是您本人的操作，请忽略此邮件，您的密码不会改变。\n"
            ),
        ),
        (LinkPurpose::Password, "zh-TW") => (
            format!("{help_center}：設定您的密碼"),
            format!(
                "{name}，您好：\n\n點擊下方連結設定{help_center}的登入密碼。連結只能使用一次，{minutes} 分鐘後失效。\n\n{link}\n\n如果這不是您本人的操作，請忽略此郵件，您的密碼不會改變。\n"
            ),
        ),
        (LinkPurpose::Password, _) => (
            format!("Set your password for {help_center}"),
            format!(
                "Hello {name},\n\nUse this link to set your password for {help_center}. It works once and expires in {minutes} minutes.\n\n{link}\n\nIf you did not ask for it, ignore this email; your password stays as it is.\n"
            ),
        ),
    }
}

impl App {
    /// The customer owning an email address (the one they were merged into, if they were).
    async fn customer_by_email(&self, identity: &Identity) -> Result<Option<Customer>> {
        let repo = self.store.repo();
        let Some(brief) = repo.customer_brief_by_identity(identity).await? else {
            return Ok(None);
        };
        Ok(repo.customer(brief.merged_into_id.unwrap_or(brief.id)).await?)
    }

    /// Emails a sign-in or set-password link to the customer owning `email`; `link_prefix` followed by the
    /// token is the link. Answers the same whether or not such a customer exists (nothing is sent for an
    /// unknown address, nor past [`LINK_MAILS_PER_HOUR`] for one address). Throttled per client address.
    pub async fn send_portal_link(
        &self,
        purpose: LinkPurpose,
        email: &str,
        locale: &str,
        link_prefix: &str,
        client: &str,
    ) -> Result<()> {
        let identity = Identity::email(email)?;
        self.take_rate(&[format!("link:ip:{client}")], LINK_REQUESTS_PER_ADDRESS, Duration::minutes(10)).await?;
        let Some(customer) = self.customer_by_email(&identity).await? else {
            tracing::info!("a portal link was asked for an unknown address");
            return Ok(());
        };
        let kind = format!("portal_{}", purpose.as_str());
        let now = self.now();
        let help_center = self
            .help_settings()
            .await?
            .get("name")
            .and_then(|name| name.as_str())
            .map_or_else(|| "Help Center".to_owned(), str::to_owned);
        let tx = self.store.begin().await?;
        if tx.repo().count_outbound_to(&kind, &identity.value, now - Duration::hours(1)).await? >= LINK_MAILS_PER_HOUR {
            tracing::info!(customer_id = customer.id.0, "portal link mail limit reached");
            return Ok(());
        }
        let mailboxes = tx.repo().mailboxes().await?;
        let Some(mailbox) = mailboxes.iter().find(|mailbox| mailbox.active && mailbox.smtp.is_some()) else {
            tracing::warn!("a customer asked for a portal link, but no mailbox has an SMTP relay to send it");
            return Ok(());
        };
        let token = random_token();
        tx.repo()
            .insert_portal_token(customer.id, purpose.as_str(), &token_hash(&token), now + purpose.lifetime(), now)
            .await?;
        let (subject, text) =
            link_mail(purpose, locale, &customer.name, &help_center, &format!("{link_prefix}{token}"));
        let outgoing = OutgoingMail {
            from: Some(MailAddress::new(&mailbox.address, Some(&mailbox.name))),
            to: vec![MailAddress::new(&identity.value, Some(&customer.name))],
            cc: vec![],
            subject,
            message_id: new_message_id(&mailbox.address),
            in_reply_to: None,
            references: vec![],
            text,
            html: None,
            attachments: vec![],
            auto_submitted: Some("auto-generated".into()),
        };
        self.queue_outgoing(&tx, mailbox, &kind, None, None, &outgoing).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The customer an unused, unexpired link belongs to, without using it (to show "sign in as ...").
    pub async fn portal_link_customer(&self, purpose: LinkPurpose, token: &str) -> Result<Customer> {
        let repo = self.store.repo();
        let customer_id = repo
            .portal_token_customer(purpose.as_str(), &token_hash(token), self.now())
            .await?
            .ok_or(AppError::InvalidCredentials)?;
        self.portal_customer_by_id(customer_id).await?.ok_or(AppError::InvalidCredentials)
    }

    async fn portal_customer_by_id(&self, id: CustomerId) -> Result<Option<Customer>> {
        let repo = self.store.repo();
        let Some(customer) = repo.customer(id).await? else {
            return Ok(None);
        };
        match customer.merged_into_id {
            Some(target) => Ok(repo.customer(target).await?),
            None => Ok(Some(customer)),
        }
    }

    async fn start_portal_session(&self, customer_id: CustomerId, tx: kefu_store::Tx) -> Result<PortalSession> {
        let now = self.now();
        let token = random_token();
        let expires_at = now + SESSION_LIFETIME;
        tx.repo().create_portal_session(&token_hash(&token), customer_id, expires_at, now).await?;
        tx.commit().await?;
        let customer = self.portal_customer_by_id(customer_id).await?.ok_or(AppError::InvalidCredentials)?;
        Ok(PortalSession { customer, token, expires_at })
    }

    /// Signs in with an emailed link, which is then used up.
    pub async fn sign_in_with_link(&self, token: &str) -> Result<PortalSession> {
        let tx = self.store.begin().await?;
        let customer_id = tx
            .repo()
            .use_portal_token(LinkPurpose::SignIn.as_str(), &token_hash(token), self.now())
            .await?
            .ok_or(AppError::InvalidCredentials)?;
        self.start_portal_session(customer_id, tx).await
    }

    /// Sets a password with an emailed link (used up), ends the customer's other sessions and signs in.
    pub async fn set_password_with_link(&self, token: &str, password: &str) -> Result<PortalSession> {
        check_password_strength(password)?;
        let hash = hash_password(password.to_owned()).await?;
        let now = self.now();
        let tx = self.store.begin().await?;
        let customer_id = tx
            .repo()
            .use_portal_token(LinkPurpose::Password.as_str(), &token_hash(token), now)
            .await?
            .ok_or(AppError::InvalidCredentials)?;
        tx.repo().set_customer_password(customer_id, &hash, now).await?;
        tx.repo().delete_customer_sessions(customer_id).await?;
        self.start_portal_session(customer_id, tx).await
    }

    /// Signs a customer in with email and password. Unknown addresses, customers without a password and
    /// wrong passwords all fail the same way and take the same time.
    pub async fn customer_sign_in(&self, email: &str, password: &str) -> Result<PortalSession> {
        let customer = match Identity::email(email) {
            Ok(identity) => self.customer_by_email(&identity).await?,
            Err(_) => None,
        };
        let hash = match &customer {
            Some(customer) => self.store.repo().customer_password_hash(customer.id).await?,
            None => None,
        };
        let (Some(customer), Some(hash)) = (customer, hash) else {
            verify_password(password.to_owned(), dummy_hash().await.to_owned()).await;
            return Err(AppError::InvalidCredentials);
        };
        if !verify_password(password.to_owned(), hash).await {
            return Err(AppError::InvalidCredentials);
        }
        let tx = self.store.begin().await?;
        self.start_portal_session(customer.id, tx).await
    }

    /// The customer of a session secret, if the session is current.
    pub async fn portal_customer(&self, token: &str) -> Result<Option<Customer>> {
        match self.store.repo().portal_session_customer(&token_hash(token), self.now()).await? {
            Some(id) => self.portal_customer_by_id(id).await,
            None => Ok(None),
        }
    }

    /// Ends a customer session.
    pub async fn end_portal_session(&self, token: &str) -> Result<()> {
        let tx = self.store.begin().await?;
        tx.repo().delete_portal_session(&token_hash(token)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of the customer's own tickets, most recently changed first.
    pub async fn customer_requests(&self, customer: &Customer, cursor: Option<Cursor>) -> Result<Page<Ticket>> {
        let filter = TicketFilter { requester: Some(customer.id), ..TicketFilter::default() };
        self.store.repo().list_tickets(&filter, TicketSort::UpdatedDesc, REQUESTS_PER_PAGE, cursor).await.map_err(
            |error| match error {
                kefu_store::StoreError::Unsupported(message) => DomainError::invalid("cursor", message).into(),
                other => other.into(),
            },
        )
    }

    /// One of the customer's tickets; anyone else's is not found.
    async fn own_ticket(&self, customer: &Customer, ticket_id: TicketId) -> Result<Ticket> {
        self.store
            .repo()
            .ticket(ticket_id)
            .await?
            .filter(|ticket| ticket.requester_id == customer.id)
            .ok_or(AppError::NotFound(Entity::Ticket))
    }

    /// One of the customer's tickets with its public messages (never internal notes), their files, and the
    /// names of the agents who wrote them.
    pub async fn customer_request(&self, customer: &Customer, ticket_id: TicketId) -> Result<CustomerRequest> {
        let ticket = self.own_ticket(customer, ticket_id).await?;
        let repo = self.store.repo();
        let messages = repo.messages(ticket.id, false, MESSAGES_SHOWN, None).await?.items;
        let ids: Vec<AttachmentId> = messages.iter().flat_map(|message| message.attachment_ids.clone()).collect();
        let attachments = repo.attachments(&ids).await?;
        let mut agent_names = BTreeMap::new();
        for message in &messages {
            if let AuthorKind::Agent(id) = message.author
                && !agent_names.contains_key(&id)
                && let Some(record) = repo.agent(id).await?
            {
                agent_names.insert(id, record.agent.name);
            }
        }
        Ok(CustomerRequest { ticket, messages, attachments, agent_names })
    }

    /// A file on a public message of one of the customer's tickets, with its bytes.
    pub async fn customer_attachment(
        &self,
        customer: &Customer,
        ticket_id: TicketId,
        attachment_id: AttachmentId,
    ) -> Result<(AttachmentRecord, Bytes)> {
        let ticket = self.own_ticket(customer, ticket_id).await?;
        let repo = self.store.repo();
        let record = repo.attachment(attachment_id).await?.ok_or(AppError::NotFound(Entity::Attachment))?;
        let message = match record.message_id {
            Some(id) => repo.message(id).await?,
            None => None,
        };
        if !message.is_some_and(|message| message.ticket_id == ticket.id && !message.internal) {
            return Err(AppError::NotFound(Entity::Attachment));
        }
        let content = self.read_file(&record).await?;
        Ok((record, content))
    }

    /// The customer answers on one of their tickets: a customer message (files allowed); a solved or pending
    /// ticket reopens; triggers for `customer_replied` and the SLA run. A closed ticket takes no reply.
    pub async fn customer_reply(
        &self,
        customer: &Customer,
        ticket_id: TicketId,
        body: &str,
        files: Vec<Upload>,
    ) -> Result<Ticket> {
        let checked = self.own_ticket(customer, ticket_id).await?;
        if checked.status == Status::Closed {
            return Err(DomainError::TicketClosed.into());
        }
        if body.trim().is_empty() && files.is_empty() {
            return Err(DomainError::invalid("body", "write a reply or attach a file").into());
        }
        check_uploads(&files, self.config.max_attachment_bytes)?;
        let files = self.put_uploads(files).await?;
        let now = self.now();
        let tx = self.store.begin().await?;
        let ticket = tx
            .repo()
            .lock_ticket(ticket_id)
            .await?
            .filter(|ticket| ticket.requester_id == customer.id)
            .ok_or(AppError::NotFound(Entity::Ticket))?;
        if ticket.status == Status::Closed {
            return Err(DomainError::TicketClosed.into());
        }
        let attachment_ids = self.insert_uploads(&tx, &files).await?;
        let draft = MessageDraft {
            author: AuthorKind::Customer(customer.id),
            internal: false,
            body_text: body.trim().to_owned(),
            body_html: None,
            attachment_ids,
        }
        .validate(None)?;
        let (next, mut drafts) = reopen_for_reply(&tx, &ticket, now).await?;
        let message = tx.repo().insert_message(ticket.id, &draft, now).await?;
        let next = touch(&tx, &next, now).await?;
        drafts.push(message_event(&message));
        let change = Change {
            event: TriggerEvent::CustomerReplied,
            previous: Some(&ticket),
            message: Some(&message),
            requester: None,
            unwritten: drafts,
            actor: Actor::Customer(customer.id),
            planned: None,
        };
        let (next, events) = self.after_change(&tx, next, change).await?;
        let mut notice = customer_notice(&next, TicketChange::MessageAdded, Some(&ticket), &events);
        notice.internal = Some(false);
        self.queue_notice(&tx, &Notice::Ticket(notice)).await?;
        tx.commit().await?;
        self.outbox_written();
        Ok(next)
    }

    /// The key that signs the help center's form tokens: made once, kept in the database so every node
    /// signs and checks with the same one.
    pub async fn help_signing_key(&self) -> Result<Vec<u8>> {
        let candidate = random_token();
        let tx = self.store.begin().await?;
        let key = tx.repo().portal_secret_or_insert("help_form_key", &candidate).await?;
        tx.commit().await?;
        Ok(key.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_mail_speaks_the_help_center_language() {
        let (subject, text) = link_mail(LinkPurpose::SignIn, "zh-TW", "王芳", "幫助中心", "https://x/t");
        assert!(subject.contains("登入連結"), "{subject}");
        assert!(text.contains("https://x/t") && text.contains("15 分鐘"), "{text}");
        let (subject, text) = link_mail(LinkPurpose::Password, "en", "Ann", "Help", "https://x/p");
        assert!(subject.starts_with("Set your password"));
        assert!(text.contains("60 minutes"));
    }

    #[test]
    fn tokens_are_long_and_url_safe() {
        let token = random_token();
        assert_eq!(token.len(), 43);
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
