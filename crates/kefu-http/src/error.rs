//! API errors as RFC 9457 `application/problem+json`, each with a stable machine-readable `code`.
//!
//! Which error type to use where: handlers return [`ApiError`]. Use-case failures arrive as
//! `kefu_app::AppError` and are converted by the one `From` impl below, which is the only place that decides
//! status codes and `code`s for them. Request-shape failures (bad JSON, bad query, oversized body) are made
//! by the extractors in `extract.rs` with the constructors here. Never build a problem response by hand
//! elsewhere: a new failure gets a new code here, so the codes stay one documented list.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kefu_app::AppError;
use kefu_domain::DomainError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error response body (RFC 9457 problem details) with Kefu's stable `code`.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Problem {
    /// A URI naming the problem type: `urn:kefu:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// The stable code clients branch on, such as `ticket.version_conflict`.
    pub code: String,
    /// What went wrong this time, for a human.
    pub detail: String,
    /// The input field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every missing field, for `validation.missing_fields`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    /// The ticket's current version, for `ticket.version_conflict`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// The current status, for `ticket.invalid_transition`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_status: Option<String>,
    /// The refused status, for `ticket.invalid_transition`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_status: Option<String>,
}

/// An error a handler returns; renders as problem+json.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    status: StatusCode,
    problem: Box<Problem>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, a code and a human message.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            problem: Box::new(Problem {
                problem_type: format!("urn:kefu:problem:{code}"),
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                status: status.as_u16(),
                code: code.to_owned(),
                detail: detail.into(),
                field: None,
                fields: None,
                current_version: None,
                from_status: None,
                to_status: None,
            }),
            retry_after: None,
        }
    }

    /// Names the input field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.problem.field = Some(field.into());
        self
    }

    /// Asks the client to wait before retrying.
    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.problem.code
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The problem details (for pages that show the error as HTML rather than JSON).
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// How long the client is asked to wait, if at all.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The problem body as JSON (for storing a refused idempotent request).
    pub fn problem_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.problem).unwrap_or_default()
    }

    /// 400 `request.invalid_json`, `request.invalid_query`, `request.invalid_path` ...
    pub fn bad_request(code: &str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 422 `validation.invalid` for one field.
    pub fn invalid(field: &str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation.invalid", detail).with_field(field)
    }

    /// 401 `auth.unauthenticated`.
    pub fn unauthenticated() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "auth.unauthenticated", "sign in or send an API token")
    }

    /// 403 `help.form_expired`: a help-center form came without a valid signed token for its cookie.
    pub fn form_expired() -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "help.form_expired", "reload the form and send it again")
    }

    /// 400 `help.spam_rejected`: a help-center form filled in the field only robots see.
    pub fn spam_rejected() -> ApiError {
        ApiError::bad_request("help.spam_rejected", "the request looked automated")
    }

    /// 404 for a route that does not exist.
    pub fn route_not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "route.not_found", "no such endpoint")
    }

    /// 500, logged; the detail never reaches the client.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server.error",
            "something went wrong on our side; it was logged",
        )
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        let detail = error.to_string();
        match error {
            DomainError::Invalid { field, .. } => ApiError::invalid(&field, detail),
            DomainError::InvalidTransition { from, to } => {
                let mut api =
                    ApiError::new(StatusCode::CONFLICT, "ticket.invalid_transition", detail).with_field("status");
                api.problem.from_status = Some(from.as_str().to_owned());
                api.problem.to_status = Some(to.as_str().to_owned());
                api
            }
            DomainError::MissingRequiredFields { fields } => {
                let mut api = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation.missing_fields", detail);
                api.problem.fields = Some(fields);
                api
            }
            DomainError::TicketClosed => ApiError::new(StatusCode::CONFLICT, "ticket.closed", detail),
            DomainError::PublicReplyNotAllowed => {
                ApiError::new(StatusCode::FORBIDDEN, "message.public_reply_forbidden", detail).with_field("internal")
            }
            DomainError::SelfReference => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "ticket.self_reference", detail)
            }
            DomainError::SameCustomer => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "customer.same_customer", detail)
            }
            other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation.invalid", other.to_string()),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let detail = error.to_string();
        match error {
            AppError::Domain(domain) => domain.into(),
            AppError::NotFound(entity) => {
                ApiError::new(StatusCode::NOT_FOUND, &format!("{}.not_found", entity.as_str()), detail)
            }
            AppError::Forbidden(code) => ApiError::new(StatusCode::FORBIDDEN, code, "you are not allowed to do this"),
            AppError::VersionConflict { current, .. } => {
                let mut api = ApiError::new(StatusCode::PRECONDITION_FAILED, "ticket.version_conflict", detail);
                api.problem.current_version = Some(current);
                api
            }
            AppError::AlreadyExists(_) => ApiError::new(StatusCode::CONFLICT, "conflict.already_exists", detail),
            AppError::InvalidReference { field, .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation.invalid_reference", detail)
                    .with_field(field)
            }
            AppError::InvalidCredentials => ApiError::new(StatusCode::UNAUTHORIZED, "auth.invalid_credentials", detail),
            AppError::TotpRequired => {
                ApiError::new(StatusCode::UNAUTHORIZED, "auth.totp_required", detail).with_field("totp")
            }
            AppError::TotpInvalid => {
                ApiError::new(StatusCode::UNAUTHORIZED, "auth.totp_invalid", detail).with_field("totp")
            }
            AppError::TooLarge { .. } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "upload.too_large", detail),
            AppError::RateLimited { retry_after_seconds } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "request.rate_limited", detail)
                    .with_retry_after(retry_after_seconds)
            }
            AppError::Store(kefu_store_error) => {
                tracing::error!(error = %kefu_store_error, "database failure");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server.unavailable",
                    "the database is unavailable; try again",
                )
                .with_retry_after(5)
            }
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(code = %self.problem.code, status = self.status.as_u16(), "server error response");
        } else {
            tracing::debug!(code = %self.problem.code, status = self.status.as_u16(), "client error response");
        }
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
