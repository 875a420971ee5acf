//! `/api/v1/mailboxes`, `/api/v1/inbound` and `/api/v1/messages/{id}/email`: the email channel's admin
//! surface (mailboxes, raw import, the inbound log with failures and retries) and a message's email side
//! (headers, the full original, delivery status). Passwords are accepted, never returned.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use kefu_app::mail::{InboundMailRecord, MailServerSettings, MailboxInput, MailboxRecord, MessageEmail, ServerInput};
use kefu_domain::{GroupId, MessageId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentAgent};
use crate::pagination::{PageDto, PageQuery};
use crate::state::AppState;

/// An IMAP or SMTP server as shown: the password is never returned, only whether one is set.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailServerDto {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `tls`, `starttls` or `none`.
    pub security: String,
    /// User name.
    pub username: Option<String>,
    /// Whether a password is stored.
    pub password_set: bool,
    /// IMAP folder.
    pub folder: Option<String>,
    /// IMAP poll interval in seconds.
    pub poll_seconds: Option<u32>,
}

impl From<MailServerSettings> for MailServerDto {
    fn from(server: MailServerSettings) -> Self {
        MailServerDto {
            host: server.host,
            port: server.port,
            security: server.security,
            username: server.username,
            password_set: server.password.is_some(),
            folder: server.folder,
            poll_seconds: server.poll_seconds,
        }
    }
}

/// A mailbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailboxDto {
    /// Id.
    pub id: i64,
    /// The address mail arrives at and replies come from.
    pub address: String,
    /// Display name on outgoing mail.
    pub name: String,
    /// The group new tickets go to.
    pub group_id: Option<i64>,
    /// Receiving and sending.
    pub active: bool,
    /// Acknowledge new tickets automatically.
    pub auto_ack: bool,
    /// Subject tag prefix: `#` gives `[#10234]`.
    pub tag_prefix: String,
    /// IMAP inbound.
    pub imap: Option<MailServerDto>,
    /// SMTP outbound relay.
    pub smtp: Option<MailServerDto>,
    /// When IMAP was last polled.
    pub last_poll_at: Option<DateTime<Utc>>,
    /// The last polling error.
    pub last_poll_error: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<MailboxRecord> for MailboxDto {
    fn from(mailbox: MailboxRecord) -> Self {
        MailboxDto {
            id: mailbox.id,
            address: mailbox.address,
            name: mailbox.name,
            group_id: mailbox.group_id.map(|id| id.0),
            active: mailbox.active,
            auto_ack: mailbox.auto_ack,
            tag_prefix: mailbox.tag_prefix,
            imap: mailbox.imap.map(Into::into),
            smtp: mailbox.smtp.map(Into::into),
            last_poll_at: mailbox.last_poll_at,
            last_poll_error: mailbox.last_poll_error,
            created_at: mailbox.created_at,
            updated_at: mailbox.updated_at,
        }
    }
}

/// An IMAP or SMTP server to use.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailServerInputDto {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `tls`, `starttls` or `none`.
    pub security: String,
    /// User name.
    pub username: Option<String>,
    /// Password (write-only; leave out on update to keep the stored one).
    pub password: Option<String>,
    /// IMAP folder (default `INBOX`).
    pub folder: Option<String>,
    /// IMAP poll interval in seconds (default 60).
    pub poll_seconds: Option<u32>,
}

impl From<MailServerInputDto> for ServerInput {
    fn from(input: MailServerInputDto) -> Self {
        ServerInput {
            host: input.host,
            port: input.port,
            security: input.security,
            username: input.username,
            password: input.password,
            folder: input.folder,
            poll_seconds: input.poll_seconds,
        }
    }
}

fn default_true() -> bool {
    true
}

/// A mailbox's values (all of them, on create and on update).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxInputDto {
    /// The address.
    pub address: String,
    /// Display name.
    pub name: String,
    /// The group new tickets go to.
    pub group_id: Option<i64>,
    /// Receiving and sending (default true).
    #[serde(default = "default_true")]
    pub active: bool,
    /// Acknowledge new tickets automatically (default false).
    #[serde(default)]
    pub auto_ack: bool,
    /// Subject tag prefix (default `#`).
    pub tag_prefix: Option<String>,
    /// IMAP inbound.
    pub imap: Option<MailServerInputDto>,
    /// SMTP outbound relay.
    pub smtp: Option<MailServerInputDto>,
}

impl From<MailboxInputDto> for MailboxInput {
    fn from(input: MailboxInputDto) -> Self {
        MailboxInput {
            address: input.address,
            name: input.name,
            group_id: input.group_id.map(GroupId),
            active: input.active,
            auto_ack: input.auto_ack,
            tag_prefix: input.tag_prefix,
            imap: input.imap.map(Into::into),
            smtp: input.smtp.map(Into::into),
        }
    }
}

/// A stored inbound email.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundMailDto {
    /// Id.
    pub id: i64,
    /// The mailbox it arrived at.
    pub mailbox_id: i64,
    /// `imap`, `smtp`, `api` or `cli`.
    pub source: String,
    /// Its Message-ID.
    pub message_id_header: Option<String>,
    /// Size in bytes.
    pub size_bytes: i64,
    /// `received`, `processed`, `ignored` or `failed`.
    pub status: String,
    /// Why it failed or was ignored.
    pub error: Option<String>,
    /// Processing attempts.
    pub attempts: i32,
    /// The ticket it went to.
    pub ticket_id: Option<i64>,
    /// The ticket message it became.
    pub message_id: Option<i64>,
    /// Stored.
    pub received_at: DateTime<Utc>,
    /// Processed.
    pub processed_at: Option<DateTime<Utc>>,
    /// The raw message.
    pub raw_url: String,
}

impl From<InboundMailRecord> for InboundMailDto {
    fn from(record: InboundMailRecord) -> Self {
        InboundMailDto {
            raw_url: format!("/api/v1/inbound/{}/raw", record.id),
            id: record.id,
            mailbox_id: record.mailbox_id,
            source: record.source,
            message_id_header: record.header_message_id,
            size_bytes: record.size_bytes,
            status: record.status,
            error: record.error,
            attempts: record.attempts,
            ticket_id: record.ticket_id.map(|id| id.0),
            message_id: record.message_id.map(|id| id.0),
            received_at: record.received_at,
            processed_at: record.processed_at,
        }
    }
}

/// The outcome of a raw import.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailImportDto {
    /// True when the same message was already stored: nothing new happened.
    pub duplicate: bool,
    /// The stored message and what became of it.
    pub inbound: InboundMailDto,
}

/// A reply's delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    /// `queued`, `sent` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Why the last attempt failed (or the bounce).
    pub last_error: Option<String>,
    /// When the next attempt is due, while queued.
    pub next_attempt_at: DateTime<Utc>,
    /// When the relay accepted it.
    pub sent_at: Option<DateTime<Utc>>,
}

/// The email side of a ticket message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageEmailDto {
    /// The ticket message.
    pub message_id: i64,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// Its Message-ID.
    pub message_id_header: String,
    /// Sender.
    pub from: Option<String>,
    /// To.
    pub to: Vec<String>,
    /// Cc.
    pub cc: Vec<String>,
    /// Subject.
    pub subject: String,
    /// The whole text with the quoted history, when the message shows only the new reply.
    pub full_text: Option<String>,
    /// The raw original, for inbound mail (admins).
    pub raw_url: Option<String>,
    /// Delivery, for outbound mail.
    pub delivery: Option<DeliveryDto>,
}

impl From<MessageEmail> for MessageEmailDto {
    fn from(email: MessageEmail) -> Self {
        let mail = email.mail;
        MessageEmailDto {
            message_id: mail.message_id.0,
            direction: mail.direction,
            message_id_header: mail.header_message_id,
            from: mail.from_address,
            to: mail.to,
            cc: mail.cc,
            subject: mail.subject,
            full_text: mail.full_text,
            raw_url: mail.inbound_id.map(|id| format!("/api/v1/inbound/{id}/raw")),
            delivery: email.delivery.map(|delivery| DeliveryDto {
                status: delivery.status,
                attempts: delivery.attempts,
                last_error: delivery.last_error,
                next_attempt_at: delivery.next_attempt_at,
                sent_at: delivery.sent_at,
            }),
        }
    }
}

/// Inbound list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboundQuery {
    /// `received`, `processed`, `ignored` or `failed`.
    pub status: Option<String>,
    /// Page size.
    pub limit: Option<u64>,
    /// Cursor.
    pub cursor: Option<String>,
}

/// Every mailbox (admins).
#[utoipa::path(get, path = "/mailboxes", tag = "mail",
    responses((status = 200, body = Vec<MailboxDto>), (status = 403, body = Problem)))]
async fn list_mailboxes(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<Json<Vec<MailboxDto>>> {
    Ok(Json(state.app.mailboxes(&agent).await?.into_iter().map(Into::into).collect()))
}

/// Creates a mailbox (admins).
#[utoipa::path(post, path = "/mailboxes", tag = "mail", request_body = MailboxInputDto,
    responses((status = 201, body = MailboxDto), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_mailbox(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<MailboxInputDto>,
) -> ApiResult<(StatusCode, Json<MailboxDto>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_mailbox(&agent, input.into()).await?.into())))
}

/// One mailbox (admins).
#[utoipa::path(get, path = "/mailboxes/{id}", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, body = MailboxDto), (status = 404, body = Problem)))]
async fn get_mailbox(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<MailboxDto>> {
    Ok(Json(state.app.mailbox(&agent, id).await?.into()))
}

/// Replaces a mailbox's values; a password left out keeps the stored one (admins).
#[utoipa::path(put, path = "/mailboxes/{id}", tag = "mail", params(("id" = i64, Path)), request_body = MailboxInputDto,
    responses((status = 200, body = MailboxDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_mailbox(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<MailboxInputDto>,
) -> ApiResult<Json<MailboxDto>> {
    Ok(Json(state.app.update_mailbox(&agent, id, input.into()).await?.into()))
}

/// Imports one RFC 5322 message into the mailbox through the same pipeline as IMAP and SMTP (admins).
/// `201` when stored, `200` with `duplicate: true` when the same message was already there.
#[utoipa::path(post, path = "/mailboxes/{id}/raw", tag = "mail", params(("id" = i64, Path)),
    request_body(content_type = "message/rfc822", content = String),
    responses((status = 201, body = MailImportDto), (status = 200, body = MailImportDto), (status = 404, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn import_raw_mail(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<MailImportDto>)> {
    let (received, inbound) = state.app.import_mail(&agent, id, "api", &body).await?;
    let status = if received.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(MailImportDto { duplicate: received.duplicate, inbound: inbound.into() })))
}

/// A page of the mailbox's inbound messages, newest first; `?status=failed` lists what needs an admin.
#[utoipa::path(get, path = "/mailboxes/{id}/inbound", tag = "mail", params(("id" = i64, Path), InboundQuery),
    responses((status = 200, body = PageDto<InboundMailDto>), (status = 404, body = Problem)))]
async fn list_inbound_mail(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<InboundQuery>,
) -> ApiResult<Json<PageDto<InboundMailDto>>> {
    let (limit, cursor) = PageQuery { limit: query.limit, cursor: query.cursor.clone() }.parse()?;
    let page = state.app.list_inbound(&agent, id, query.status.clone(), limit, cursor).await?;
    Ok(Json(PageDto::from_page(page, InboundMailDto::from)))
}

/// Processes a failed or ignored inbound message again (admins).
#[utoipa::path(post, path = "/inbound/{id}/retry", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, body = InboundMailDto), (status = 404, body = Problem)))]
async fn retry_inbound_mail(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<InboundMailDto>> {
    Ok(Json(state.app.retry_inbound(&agent, id).await?.into()))
}

/// The raw original of an inbound message, as a download (admins).
#[utoipa::path(get, path = "/inbound/{id}/raw", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, content_type = "message/rfc822", body = String), (status = 404, body = Problem)))]
async fn download_inbound_mail(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let raw = state.app.inbound_raw(&agent, id).await?;
    let mut response = Response::new(Body::from(raw));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("message/rfc822"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"inbound-{id}.eml\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

/// The email side of a message: headers, the full text with quoted history, and delivery status.
#[utoipa::path(get, path = "/messages/{id}/email", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, body = MessageEmailDto), (status = 404, body = Problem)))]
async fn get_message_email(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<MessageEmailDto>> {
    Ok(Json(state.app.message_email(&agent, MessageId(id)).await?.into()))
}

/// The email routes; raw imports get a body limit of their own.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_raw_mail))
        .layer(axum::extract::DefaultBodyLimit::max(kefu_app::mail::MAX_RAW_MAIL_BYTES))
        .routes(routes!(list_mailboxes, create_mailbox))
        .routes(routes!(get_mailbox, update_mailbox))
        .routes(routes!(list_inbound_mail))
        .routes(routes!(retry_inbound_mail))
        .routes(routes!(download_inbound_mail))
        .routes(routes!(get_message_email))
}
