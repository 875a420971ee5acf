//! The email channel's tables: mailboxes, raw inbound mail, the email side of messages, the outbound
//! queue and ticket participants.

use chrono::{DateTime, Utc};
use kefu_domain::{CustomerId, GroupId, MessageId, TicketId};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Cursor, Page, paginate};
use crate::entities::{inbound_mail, mail_message, mailbox, message, outbound_mail, ticket_participant};
use crate::{Backend, Repo, Result, StoreError};

/// How to reach an IMAP or SMTP server, as stored (the password included: it never leaves `kefu-app`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MailServerSettings {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `tls`, `starttls` or `none`.
    pub security: String,
    /// User name.
    #[serde(default)]
    pub username: Option<String>,
    /// Password.
    #[serde(default)]
    pub password: Option<String>,
    /// IMAP folder.
    #[serde(default)]
    pub folder: Option<String>,
    /// IMAP poll interval in seconds.
    #[serde(default)]
    pub poll_seconds: Option<u32>,
}

/// A mailbox: an address Kefu receives at and sends from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxRecord {
    /// Id.
    pub id: i64,
    /// The address, lower-case.
    pub address: String,
    /// Display name on outgoing mail.
    pub name: String,
    /// The group new tickets go to.
    pub group_id: Option<GroupId>,
    /// Receiving and sending.
    pub active: bool,
    /// Acknowledge new tickets automatically.
    pub auto_ack: bool,
    /// The subject tag prefix (`#` gives `[#10234]`).
    pub tag_prefix: String,
    /// IMAP inbound.
    pub imap: Option<MailServerSettings>,
    /// SMTP outbound relay.
    pub smtp: Option<MailServerSettings>,
    /// When IMAP was last polled.
    pub last_poll_at: Option<DateTime<Utc>>,
    /// The last polling error, cleared by a good poll.
    pub last_poll_error: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A raw inbound message's record (its bytes are read separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMailRecord {
    /// Id.
    pub id: i64,
    /// The mailbox it arrived at.
    pub mailbox_id: i64,
    /// `imap`, `smtp`, `api` or `cli`.
    pub source: String,
    /// `mid:<Message-ID>` or `sha256:<hash>`.
    pub dedupe_key: String,
    /// The Message-ID.
    pub header_message_id: Option<String>,
    /// Size in bytes.
    pub size_bytes: i64,
    /// `received`, `processed`, `ignored` or `failed`.
    pub status: String,
    /// Why it failed or was ignored.
    pub error: Option<String>,
    /// Processing attempts.
    pub attempts: i32,
    /// The ticket it went to.
    pub ticket_id: Option<TicketId>,
    /// The message it became.
    pub message_id: Option<MessageId>,
    /// Stored.
    pub received_at: DateTime<Utc>,
    /// Processed.
    pub processed_at: Option<DateTime<Utc>>,
}

/// The email side of a ticket message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessageRecord {
    /// The ticket message.
    pub message_id: MessageId,
    /// The mailbox.
    pub mailbox_id: i64,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// Its Message-ID.
    pub header_message_id: String,
    /// Sender.
    pub from_address: Option<String>,
    /// To.
    pub to: Vec<String>,
    /// Cc.
    pub cc: Vec<String>,
    /// Subject.
    pub subject: String,
    /// The raw inbound message, for inbound mail.
    pub inbound_id: Option<i64>,
    /// The whole text with quoted history, when the stored body is the stripped reply.
    pub full_text: Option<String>,
}

/// A message waiting to be sent, being sent, sent or given up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMailRecord {
    /// Id.
    pub id: i64,
    /// The sending mailbox.
    pub mailbox_id: i64,
    /// The ticket message it carries (none for an auto-acknowledgement).
    pub message_id: Option<MessageId>,
    /// The ticket.
    pub ticket_id: Option<TicketId>,
    /// `reply` or `auto_ack`.
    pub kind: String,
    /// The first recipient, lower-case (rate limits key on it).
    pub recipient: String,
    /// Its Message-ID.
    pub header_message_id: String,
    /// The bytes to send.
    pub raw: Vec<u8>,
    /// MAIL FROM.
    pub envelope_from: String,
    /// RCPT TO.
    pub envelope_to: Vec<String>,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// When to try next.
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Accepted by the relay.
    pub sent_at: Option<DateTime<Utc>>,
}

fn corrupt(table: &'static str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { table, message: error.to_string() }
}

fn settings(value: Option<Value>) -> Result<Option<MailServerSettings>> {
    value.filter(|value| !value.is_null()).map(serde_json::from_value).transpose().map_err(|e| corrupt("mailboxes", e))
}

fn settings_json(value: &Option<MailServerSettings>) -> Option<Value> {
    value.as_ref().map(|settings| serde_json::to_value(settings).unwrap_or(Value::Null))
}

fn to_mailbox(row: mailbox::Model) -> Result<MailboxRecord> {
    Ok(MailboxRecord {
        id: row.id,
        address: row.address,
        name: row.name,
        group_id: row.group_id.map(GroupId),
        active: row.active,
        auto_ack: row.auto_ack,
        tag_prefix: row.tag_prefix,
        imap: settings(row.imap)?,
        smtp: settings(row.smtp)?,
        last_poll_at: row.last_poll_at,
        last_poll_error: row.last_poll_error,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn to_inbound(row: inbound_mail::Model) -> InboundMailRecord {
    InboundMailRecord {
        id: row.id,
        mailbox_id: row.mailbox_id,
        source: row.source,
        dedupe_key: row.dedupe_key,
        header_message_id: row.header_message_id,
        size_bytes: row.size_bytes,
        status: row.status,
        error: row.error,
        attempts: row.attempts,
        ticket_id: row.ticket_id.map(TicketId),
        message_id: row.message_id.map(MessageId),
        received_at: row.received_at,
        processed_at: row.processed_at,
    }
}

fn strings(value: Value) -> Vec<String> {
    serde_json::from_value(value).unwrap_or_default()
}

fn to_mail_message(row: mail_message::Model) -> MailMessageRecord {
    MailMessageRecord {
        message_id: MessageId(row.message_id),
        mailbox_id: row.mailbox_id,
        direction: row.direction,
        header_message_id: row.header_message_id,
        from_address: row.from_address,
        to: strings(row.to_addresses),
        cc: strings(row.cc_addresses),
        subject: row.subject,
        inbound_id: row.inbound_id,
        full_text: row.full_text,
    }
}

fn to_outbound(row: outbound_mail::Model) -> OutboundMailRecord {
    OutboundMailRecord {
        id: row.id,
        mailbox_id: row.mailbox_id,
        message_id: row.message_id.map(MessageId),
        ticket_id: row.ticket_id.map(TicketId),
        kind: row.kind,
        recipient: row.recipient,
        header_message_id: row.header_message_id,
        raw: row.raw,
        envelope_from: row.envelope_from,
        envelope_to: strings(row.envelope_to),
        status: row.status,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        last_error: row.last_error,
        created_at: row.created_at,
        sent_at: row.sent_at,
    }
}

/// Which inbound rows to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundFilter {
    /// One mailbox.
    pub mailbox_id: Option<i64>,
    /// One status.
    pub status: Option<String>,
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Stores a new mailbox (or the new values of one, when `record.id` is not 0); returns it as stored.
    pub async fn save_mailbox(&self, record: &MailboxRecord) -> Result<MailboxRecord> {
        let mut row = mailbox::ActiveModel {
            address: Set(record.address.clone()),
            name: Set(record.name.clone()),
            group_id: Set(record.group_id.map(|id| id.0)),
            active: Set(record.active),
            auto_ack: Set(record.auto_ack),
            tag_prefix: Set(record.tag_prefix.clone()),
            imap: Set(settings_json(&record.imap)),
            smtp: Set(settings_json(&record.smtp)),
            last_poll_at: Set(record.last_poll_at),
            last_poll_error: Set(record.last_poll_error.clone()),
            created_at: Set(record.created_at),
            updated_at: Set(record.updated_at),
            ..Default::default()
        };
        let saved = if record.id == 0 {
            mailbox::Entity::insert(row).exec_with_returning(self.conn).await?
        } else {
            row.id = Set(record.id);
            mailbox::Entity::update(row).exec(self.conn).await?
        };
        to_mailbox(saved)
    }

    /// One mailbox.
    pub async fn mailbox(&self, id: i64) -> Result<Option<MailboxRecord>> {
        mailbox::Entity::find_by_id(id).one(self.conn).await?.map(to_mailbox).transpose()
    }

    /// The mailbox receiving at an address.
    pub async fn mailbox_by_address(&self, address: &str) -> Result<Option<MailboxRecord>> {
        mailbox::Entity::find()
            .filter(mailbox::Column::Address.eq(address.trim().to_lowercase()))
            .one(self.conn)
            .await?
            .map(to_mailbox)
            .transpose()
    }

    /// Every mailbox, in id order (a help desk has a handful).
    pub async fn mailboxes(&self) -> Result<Vec<MailboxRecord>> {
        mailbox::Entity::find()
            .order_by_asc(mailbox::Column::Id)
            .all(self.conn)
            .await?
            .into_iter()
            .map(to_mailbox)
            .collect()
    }

    /// Records the outcome of an IMAP poll.
    pub async fn set_mailbox_poll(&self, id: i64, error: Option<&str>, now: DateTime<Utc>) -> Result<()> {
        mailbox::Entity::update_many()
            .col_expr(mailbox::Column::LastPollAt, Expr::val(now))
            .col_expr(mailbox::Column::LastPollError, Expr::val(error.map(str::to_owned)))
            .filter(mailbox::Column::Id.eq(id))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Stores raw inbound bytes unless a message with the same dedupe key is already stored. Returns the
    /// row's id and whether this call stored it (`false`: a duplicate, already there).
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_inbound(
        &self,
        mailbox_id: i64,
        source: &str,
        dedupe_key: &str,
        header_message_id: Option<&str>,
        raw: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(i64, bool)> {
        let row = inbound_mail::ActiveModel {
            mailbox_id: Set(mailbox_id),
            source: Set(source.to_owned()),
            dedupe_key: Set(dedupe_key.to_owned()),
            header_message_id: Set(header_message_id.map(str::to_owned)),
            raw: Set(raw.to_vec()),
            size_bytes: Set(i64::try_from(raw.len()).unwrap_or(i64::MAX)),
            status: Set("received".into()),
            error: Set(None),
            attempts: Set(0),
            ticket_id: Set(None),
            message_id: Set(None),
            received_at: Set(now),
            processed_at: Set(None),
            ..Default::default()
        };
        self.flush_written_behind().await?;
        let inserted = inbound_mail::Entity::insert(row)
            .on_conflict_do_nothing_on([inbound_mail::Column::DedupeKey])
            .exec(self.conn)
            .await?;
        if let sea_orm::TryInsertResult::Inserted(inserted) = inserted {
            return Ok((inserted.last_insert_id, true));
        }
        let id: Option<i64> = inbound_mail::Entity::find()
            .select_only()
            .column(inbound_mail::Column::Id)
            .filter(inbound_mail::Column::DedupeKey.eq(dedupe_key))
            .into_tuple()
            .one(self.conn)
            .await?;
        let id = id.ok_or_else(|| corrupt("inbound_mails", "the stored row is missing"))?;
        Ok((id, false))
    }

    /// One inbound record.
    pub async fn inbound(&self, id: i64) -> Result<Option<InboundMailRecord>> {
        self.flush_written_behind().await?;
        Ok(inbound_mail::Entity::find_by_id(id).one(self.conn).await?.map(to_inbound))
    }

    /// The status of an inbound record (`received`, `processed` ...), the row locked for the transaction on
    /// PostgreSQL.
    pub async fn lock_inbound_status(&self, id: i64) -> Result<Option<String>> {
        self.flush_written_behind().await?;
        Ok(inbound_mail::Entity::find_by_id(id)
            .select_only()
            .column(inbound_mail::Column::Status)
            .lock_exclusive()
            .into_tuple()
            .one(self.conn)
            .await?)
    }

    /// The raw bytes of an inbound message.
    pub async fn inbound_raw(&self, id: i64) -> Result<Option<Vec<u8>>> {
        self.flush_written_behind().await?;
        Ok(inbound_mail::Entity::find()
            .select_only()
            .column(inbound_mail::Column::Raw)
            .filter(inbound_mail::Column::Id.eq(id))
            .into_tuple::<Vec<u8>>()
            .one(self.conn)
            .await?)
    }

    /// A page of inbound records, newest first.
    pub async fn list_inbound(
        &self,
        filter: &InboundFilter,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Page<InboundMailRecord>> {
        self.flush_written_behind().await?;
        let mut select = inbound_mail::Entity::find().select_only().columns([
            inbound_mail::Column::Id,
            inbound_mail::Column::MailboxId,
            inbound_mail::Column::Source,
            inbound_mail::Column::DedupeKey,
            inbound_mail::Column::HeaderMessageId,
            inbound_mail::Column::SizeBytes,
            inbound_mail::Column::Status,
            inbound_mail::Column::Error,
            inbound_mail::Column::Attempts,
            inbound_mail::Column::TicketId,
            inbound_mail::Column::MessageId,
            inbound_mail::Column::ReceivedAt,
            inbound_mail::Column::ProcessedAt,
        ]);
        // The bytes are not read for a list; an empty value stands in for them.
        select = select.column_as(Expr::val(Vec::<u8>::new()), "raw");
        if let Some(mailbox_id) = filter.mailbox_id {
            select = select.filter(inbound_mail::Column::MailboxId.eq(mailbox_id));
        }
        if let Some(status) = &filter.status {
            select = select.filter(inbound_mail::Column::Status.eq(status.clone()));
        }
        if let Some(cursor) = cursor {
            select = select.filter(inbound_mail::Column::Id.lt(cursor.id));
        }
        let rows = select.order_by_desc(inbound_mail::Column::Id).limit(limit + 1).all(self.conn).await?;
        let page = paginate(rows, limit, |row| Cursor::after_id(row.id));
        Ok(Page { items: page.items.into_iter().map(to_inbound).collect(), next_cursor: page.next_cursor })
    }

    /// Inbound rows still `received` (stored but not processed: a crash, or a failure to retry), oldest
    /// first.
    pub async fn unprocessed_inbound(&self, limit: u64) -> Result<Vec<i64>> {
        self.flush_written_behind().await?;
        Ok(inbound_mail::Entity::find()
            .select_only()
            .column(inbound_mail::Column::Id)
            .filter(inbound_mail::Column::Status.eq("received"))
            .order_by_asc(inbound_mail::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(self.conn)
            .await?)
    }

    /// How many inbound messages a mailbox has in each status (`received`, `processed` ...), by status.
    pub async fn inbound_counts(&self, mailbox_id: i64) -> Result<Vec<(String, i64)>> {
        self.flush_written_behind().await?;
        Ok(inbound_mail::Entity::find()
            .select_only()
            .column(inbound_mail::Column::Status)
            .column_as(inbound_mail::Column::Id.count(), "count")
            .filter(inbound_mail::Column::MailboxId.eq(mailbox_id))
            .group_by(inbound_mail::Column::Status)
            .order_by_asc(inbound_mail::Column::Status)
            .into_tuple()
            .all(self.conn)
            .await?)
    }

    /// How many ticket messages came in through (`inbound`) or went out of (`outbound`) a mailbox, and how
    /// many distinct Message-IDs they carry (equal unless a message was stored twice).
    pub async fn mail_message_counts(&self, mailbox_id: i64, direction: &str) -> Result<(i64, i64)> {
        self.flush_written_behind().await?;
        let counts: Option<(i64, i64)> = mail_message::Entity::find()
            .select_only()
            .column_as(mail_message::Column::Id.count(), "messages")
            .column_as(Expr::col(mail_message::Column::HeaderMessageId).count_distinct(), "distinct_ids")
            .filter(mail_message::Column::MailboxId.eq(mailbox_id))
            .filter(mail_message::Column::Direction.eq(direction))
            .into_tuple()
            .one(self.conn)
            .await?;
        Ok(counts.unwrap_or((0, 0)))
    }

    /// Records the outcome of processing an inbound message (written behind: see `write_behind.rs`).
    pub async fn finish_inbound(
        &self,
        id: i64,
        status: &str,
        error: Option<&str>,
        ticket_id: Option<TicketId>,
        message_id: Option<MessageId>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let update = inbound_mail::Entity::update_many()
            .col_expr(inbound_mail::Column::Status, Expr::val(status))
            .col_expr(inbound_mail::Column::Error, Expr::val(error.map(str::to_owned)))
            .col_expr(inbound_mail::Column::TicketId, Expr::val(ticket_id.map(|id| id.0)))
            .col_expr(inbound_mail::Column::MessageId, Expr::val(message_id.map(|id| id.0)))
            .col_expr(inbound_mail::Column::ProcessedAt, Expr::val(now))
            .col_expr(inbound_mail::Column::Attempts, Expr::col(inbound_mail::Column::Attempts).add(1))
            .filter(inbound_mail::Column::Id.eq(id));
        self.write_behind(update).await
    }

    /// Puts a failed inbound message back to `received` for another try.
    pub async fn requeue_inbound(&self, id: i64) -> Result<bool> {
        self.flush_written_behind().await?;
        let result = inbound_mail::Entity::update_many()
            .col_expr(inbound_mail::Column::Status, Expr::val("received"))
            .filter(inbound_mail::Column::Id.eq(id))
            .filter(inbound_mail::Column::Status.is_in(["failed", "ignored"]))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Records the email side of a ticket message (written behind: see `write_behind.rs`).
    pub async fn insert_mail_message(&self, record: &MailMessageRecord, now: DateTime<Utc>) -> Result<()> {
        let row = mail_message::ActiveModel {
            message_id: Set(record.message_id.0),
            mailbox_id: Set(record.mailbox_id),
            direction: Set(record.direction.clone()),
            header_message_id: Set(record.header_message_id.clone()),
            from_address: Set(record.from_address.clone()),
            to_addresses: Set(serde_json::json!(record.to)),
            cc_addresses: Set(serde_json::json!(record.cc)),
            subject: Set(record.subject.clone()),
            inbound_id: Set(record.inbound_id),
            full_text: Set(record.full_text.clone()),
            created_at: Set(now),
            ..Default::default()
        };
        self.write_behind(mail_message::Entity::insert(row)).await
    }

    /// The email side of a message.
    pub async fn mail_message(&self, message_id: MessageId) -> Result<Option<MailMessageRecord>> {
        self.flush_written_behind().await?;
        Ok(mail_message::Entity::find()
            .filter(mail_message::Column::MessageId.eq(message_id.0))
            .one(self.conn)
            .await?
            .map(to_mail_message))
    }

    /// The tickets holding any of these Message-IDs (messages and auto-acknowledgements), most recent
    /// first; a message moved by a merge counts for the ticket it is on now.
    pub async fn tickets_by_message_ids(&self, header_ids: &[String]) -> Result<Vec<TicketId>> {
        self.flush_written_behind().await?;
        if header_ids.is_empty() {
            return Ok(vec![]);
        }
        let message_ids: Vec<i64> = mail_message::Entity::find()
            .select_only()
            .column(mail_message::Column::MessageId)
            .filter(mail_message::Column::HeaderMessageId.is_in(header_ids.iter().cloned()))
            .order_by_desc(mail_message::Column::Id)
            .into_tuple()
            .all(self.conn)
            .await?;
        let mut tickets: Vec<TicketId> = Vec::new();
        if !message_ids.is_empty() {
            let rows: Vec<(i64, i64)> = message::Entity::find()
                .select_only()
                .column(message::Column::Id)
                .column(message::Column::TicketId)
                .filter(message::Column::Id.is_in(message_ids.iter().copied()))
                .into_tuple()
                .all(self.conn)
                .await?;
            for id in &message_ids {
                if let Some((_, ticket_id)) = rows.iter().find(|(message_id, _)| message_id == id)
                    && !tickets.contains(&TicketId(*ticket_id))
                {
                    tickets.push(TicketId(*ticket_id));
                }
            }
        }
        let acks: Vec<Option<i64>> = outbound_mail::Entity::find()
            .select_only()
            .column(outbound_mail::Column::TicketId)
            .filter(outbound_mail::Column::HeaderMessageId.is_in(header_ids.iter().cloned()))
            .into_tuple()
            .all(self.conn)
            .await?;
        for ticket_id in acks.into_iter().flatten() {
            if !tickets.contains(&TicketId(ticket_id)) {
                tickets.push(TicketId(ticket_id));
            }
        }
        Ok(tickets)
    }

    /// The Message-IDs of a ticket's email messages, oldest first (the References of a reply).
    pub async fn ticket_message_ids(&self, ticket_id: TicketId) -> Result<Vec<String>> {
        self.flush_written_behind().await?;
        let message_ids: Vec<i64> = message::Entity::find()
            .select_only()
            .column(message::Column::Id)
            .filter(message::Column::TicketId.eq(ticket_id.0))
            .into_tuple()
            .all(self.conn)
            .await?;
        if message_ids.is_empty() {
            return Ok(vec![]);
        }
        Ok(mail_message::Entity::find()
            .select_only()
            .column(mail_message::Column::HeaderMessageId)
            .filter(mail_message::Column::MessageId.is_in(message_ids))
            .order_by_asc(mail_message::Column::Id)
            .into_tuple()
            .all(self.conn)
            .await?)
    }

    /// The most recent inbound email on a ticket (a reply goes back through its mailbox, to its sender).
    pub async fn last_inbound_mail(&self, ticket_id: TicketId) -> Result<Option<MailMessageRecord>> {
        self.flush_written_behind().await?;
        let message_ids: Vec<i64> = message::Entity::find()
            .select_only()
            .column(message::Column::Id)
            .filter(message::Column::TicketId.eq(ticket_id.0))
            .into_tuple()
            .all(self.conn)
            .await?;
        if message_ids.is_empty() {
            return Ok(None);
        }
        Ok(mail_message::Entity::find()
            .filter(mail_message::Column::MessageId.is_in(message_ids))
            .filter(mail_message::Column::Direction.eq("inbound"))
            .order_by_desc(mail_message::Column::Id)
            .one(self.conn)
            .await?
            .map(to_mail_message))
    }

    /// Queues a message for sending.
    pub async fn insert_outbound(&self, record: &OutboundMailRecord) -> Result<i64> {
        let row = outbound_mail::ActiveModel {
            mailbox_id: Set(record.mailbox_id),
            message_id: Set(record.message_id.map(|id| id.0)),
            ticket_id: Set(record.ticket_id.map(|id| id.0)),
            kind: Set(record.kind.clone()),
            recipient: Set(record.recipient.clone()),
            header_message_id: Set(record.header_message_id.clone()),
            raw: Set(record.raw.clone()),
            envelope_from: Set(record.envelope_from.clone()),
            envelope_to: Set(serde_json::json!(record.envelope_to)),
            status: Set(record.status.clone()),
            attempts: Set(record.attempts),
            next_attempt_at: Set(record.next_attempt_at),
            last_error: Set(record.last_error.clone()),
            created_at: Set(record.created_at),
            sent_at: Set(record.sent_at),
            ..Default::default()
        };
        Ok(outbound_mail::Entity::insert(row).exec(self.conn).await?.last_insert_id)
    }

    /// Claims up to `limit` queued messages that are due, pushing their next attempt `lease` ahead so no
    /// other worker takes them meanwhile (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer).
    pub async fn claim_outbound(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u64,
    ) -> Result<Vec<OutboundMailRecord>> {
        let mut select = outbound_mail::Entity::find()
            .filter(outbound_mail::Column::Status.eq("queued"))
            .filter(outbound_mail::Column::NextAttemptAt.lte(now))
            .order_by_asc(outbound_mail::Column::NextAttemptAt)
            .limit(limit);
        if self.backend == Backend::Postgres {
            select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows = select.all(self.conn).await?;
        if rows.is_empty() {
            return Ok(vec![]);
        }
        outbound_mail::Entity::update_many()
            .col_expr(outbound_mail::Column::NextAttemptAt, Expr::val(now + lease))
            .filter(outbound_mail::Column::Id.is_in(rows.iter().map(|row| row.id)))
            .exec(self.conn)
            .await?;
        Ok(rows.into_iter().map(to_outbound).collect())
    }

    /// Records a send attempt's outcome.
    pub async fn finish_outbound(
        &self,
        id: i64,
        status: &str,
        error: Option<&str>,
        next_attempt_at: DateTime<Utc>,
        sent_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        outbound_mail::Entity::update_many()
            .col_expr(outbound_mail::Column::Status, Expr::val(status))
            .col_expr(outbound_mail::Column::LastError, Expr::val(error.map(str::to_owned)))
            .col_expr(outbound_mail::Column::NextAttemptAt, Expr::val(next_attempt_at))
            .col_expr(outbound_mail::Column::SentAt, Expr::val(sent_at))
            .col_expr(outbound_mail::Column::Attempts, Expr::col(outbound_mail::Column::Attempts).add(1))
            .filter(outbound_mail::Column::Id.eq(id))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Marks an outbound message failed because it bounced.
    pub async fn bounce_outbound(&self, header_message_id: &str, reason: &str) -> Result<Option<OutboundMailRecord>> {
        let Some(row) = outbound_mail::Entity::find()
            .filter(outbound_mail::Column::HeaderMessageId.eq(header_message_id))
            .one(self.conn)
            .await?
        else {
            return Ok(None);
        };
        outbound_mail::Entity::update_many()
            .col_expr(outbound_mail::Column::Status, Expr::val("failed"))
            .col_expr(outbound_mail::Column::LastError, Expr::val(reason))
            .filter(outbound_mail::Column::Id.eq(row.id))
            .exec(self.conn)
            .await?;
        Ok(Some(to_outbound(row)))
    }

    /// The delivery of a ticket message.
    pub async fn outbound_for_message(&self, message_id: MessageId) -> Result<Option<OutboundMailRecord>> {
        Ok(outbound_mail::Entity::find()
            .filter(outbound_mail::Column::MessageId.eq(message_id.0))
            .order_by_desc(outbound_mail::Column::Id)
            .one(self.conn)
            .await?
            .map(to_outbound))
    }

    /// How many messages of `kind` went to `recipient` since `since` (auto-acknowledgement rate limit).
    pub async fn count_outbound_to(&self, kind: &str, recipient: &str, since: DateTime<Utc>) -> Result<u64> {
        let ids: Vec<i64> = outbound_mail::Entity::find()
            .select_only()
            .column(outbound_mail::Column::Id)
            .filter(outbound_mail::Column::Kind.eq(kind))
            .filter(outbound_mail::Column::Recipient.eq(recipient))
            .filter(outbound_mail::Column::CreatedAt.gte(since))
            .limit(100)
            .into_tuple()
            .all(self.conn)
            .await?;
        Ok(ids.len() as u64)
    }

    /// Adds a participant (a Cc'd customer) to a ticket; false when already there.
    pub async fn add_participant(
        &self,
        ticket_id: TicketId,
        customer_id: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let row = ticket_participant::ActiveModel {
            ticket_id: Set(ticket_id.0),
            customer_id: Set(customer_id.0),
            created_at: Set(now),
        };
        let inserted = ticket_participant::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([ticket_participant::Column::TicketId, ticket_participant::Column::CustomerId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(self.conn)
            .await?;
        Ok(inserted > 0)
    }

    /// A ticket's participants.
    pub async fn participants(&self, ticket_id: TicketId) -> Result<Vec<CustomerId>> {
        let ids: Vec<i64> = ticket_participant::Entity::find()
            .select_only()
            .column(ticket_participant::Column::CustomerId)
            .filter(ticket_participant::Column::TicketId.eq(ticket_id.0))
            .order_by_asc(ticket_participant::Column::CustomerId)
            .into_tuple()
            .all(self.conn)
            .await?;
        Ok(ids.into_iter().map(CustomerId).collect())
    }

    /// Public agent messages on email tickets, after message `after_id`, that have no email yet: the
    /// replies still to be sent. Returns (message, ticket) ids in message order.
    pub async fn unsent_email_replies(&self, after_id: i64, limit: u64) -> Result<Vec<(MessageId, TicketId)>> {
        self.flush_written_behind().await?;
        let sql = format!(
            "SELECT m.id AS id, m.ticket_id AS ticket_id FROM messages m JOIN tickets t ON t.id = m.ticket_id \
             WHERE m.id > {after_id} AND m.author_kind = 'agent' AND m.internal = {no} AND t.channel = 'email' \
             AND NOT EXISTS (SELECT 1 FROM mail_messages mm WHERE mm.message_id = m.id) ORDER BY m.id LIMIT {limit}",
            no = if self.backend == Backend::Postgres { "false" } else { "0" },
        );
        let rows = self.conn.query_all_raw(Statement::from_string(self.db_backend(), sql)).await?;
        rows.iter()
            .map(|row| Ok((MessageId(row.try_get("", "id")?), TicketId(row.try_get("", "ticket_id")?))))
            .collect()
    }

    /// The id below which every agent message has been looked at by the reply scanner.
    pub async fn reply_scan_mark(&self) -> Result<i64> {
        let row = self
            .conn
            .query_one_raw(Statement::from_string(
                self.db_backend(),
                "SELECT value FROM counters WHERE name = 'mail_reply_scan'",
            ))
            .await?;
        Ok(match row {
            Some(row) => row.try_get("", "value")?,
            None => 0,
        })
    }

    /// Moves the reply scanner's mark on (never back).
    pub async fn set_reply_scan_mark(&self, value: i64) -> Result<()> {
        self.conn
            .execute_raw(Statement::from_string(
                self.db_backend(),
                format!("UPDATE counters SET value = {value} WHERE name = 'mail_reply_scan' AND value < {value}"),
            ))
            .await?;
        Ok(())
    }

    /// The newest message id older than `before` (how far the reply scanner's mark may safely move).
    pub async fn last_message_before(&self, before: DateTime<Utc>) -> Result<i64> {
        let id: Option<i64> = message::Entity::find()
            .select_only()
            .column(message::Column::Id)
            .filter(message::Column::CreatedAt.lt(before))
            .order_by_desc(message::Column::Id)
            .limit(1)
            .into_tuple()
            .one(self.conn)
            .await?;
        Ok(id.unwrap_or(0))
    }
}
