//! Extractors that turn requests into typed input or a problem+json error, never a plain-text rejection:
//! JSON bodies, queries, paths, the signed-in agent, `If-Match` and `Idempotency-Key`.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::{HeaderMap, Method, StatusCode, header, request::Parts};
use bytes::Bytes;
use kefu_domain::Agent;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::auth::{CSRF_HEADER, SessionAuth};
use crate::error::ApiError;
use crate::state::AppState;

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

async fn read_body(request: Request, state: &AppState) -> Result<(HeaderMap, Bytes), ApiError> {
    let headers = request.headers().clone();
    if !is_json(&headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.unsupported_media_type",
            "send the body as application/json",
        ));
    }
    let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request.too_large", "the request body is too large")
        } else {
            ApiError::bad_request("request.unreadable_body", rejection.body_text())
        }
    })?;
    Ok((headers, bytes))
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid_body", error.to_string())
        }
        _ => ApiError::bad_request("request.invalid_json", error.to_string()),
    })
}

/// A JSON body: `415` unless the content type is JSON, `413` when too large, `400` for malformed JSON and
/// `422` for well-formed JSON of the wrong shape (wrong types, unknown enum values, unknown fields).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (_, bytes) = read_body(request, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body with a digest of the request (method, path, body) for `Idempotency-Key` checks.
pub struct DigestedJson<T> {
    /// The parsed body.
    pub body: T,
    /// Hex SHA-256 of method, path and raw body.
    pub digest: String,
}

impl<T: DeserializeOwned> FromRequest<AppState> for DigestedJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let mut hasher = Sha256::new();
        hasher.update(request.method().as_str());
        hasher.update(b" ");
        hasher.update(request.uri().path());
        hasher.update(b"\n");
        let (_, bytes) = read_body(request, state).await?;
        hasher.update(&bytes);
        Ok(DigestedJson { body: parse_json(&bytes)?, digest: hex::encode(hasher.finalize()) })
    }
}

/// Query parameters: `400 request.invalid_query` when they do not parse.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::bad_request("request.invalid_query", rejection.body_text()))
    }
}

/// Path parameters: `400 request.invalid_path` when they do not parse (an id that is not a number).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::bad_request("request.invalid_path", rejection.body_text()))
    }
}

/// The signed-in agent, from `Authorization: Bearer <token>` or the session cookie. Cookie-authenticated
/// requests with unsafe methods must also carry the session's CSRF token in `X-CSRF-Token`.
pub struct CurrentAgent(pub Agent);

impl FromRequestParts<AppState> for CurrentAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(authorization) = parts.headers.get(header::AUTHORIZATION) {
            let token = authorization
                .to_str()
                .ok()
                .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
                .map(str::trim)
                .ok_or_else(|| {
                    ApiError::new(StatusCode::UNAUTHORIZED, "auth.invalid_token", "use Authorization: Bearer <token>")
                })?;
            let agent = state.app.agent_for_token(token).await?.ok_or_else(|| {
                ApiError::new(StatusCode::UNAUTHORIZED, "auth.invalid_token", "the API token is unknown or revoked")
            })?;
            return Ok(CurrentAgent(agent));
        }
        let session = SessionAuth::from_request_parts(parts, state).await?;
        let agent_id = session.agent_id().await.ok_or_else(ApiError::unauthenticated)?;
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if unsafe_method {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|value| value.to_str().ok());
            if !session.csrf_matches(sent).await {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "auth.csrf_failed",
                    "send the session's CSRF token in the X-CSRF-Token header",
                ));
            }
        }
        let agent = state.app.active_agent(agent_id).await?.ok_or_else(ApiError::unauthenticated)?;
        Ok(CurrentAgent(agent))
    }
}

/// The version from `If-Match` (`"7"` or `W/"7"`); `None` when absent or `*`.
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or_default().trim();
        if text == "*" {
            return Ok(IfMatch(None));
        }
        let version = text.trim_start_matches("W/").trim_matches('"').parse().map_err(|_| {
            ApiError::bad_request("request.invalid_if_match", "If-Match must be an ETag from this API, like \"3\"")
        })?;
        Ok(IfMatch(Some(version)))
    }
}

/// The ETag of a ticket at `version`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let key = value.to_str().unwrap_or_default().trim();
        if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ApiError::bad_request(
                "request.invalid_idempotency_key",
                "Idempotency-Key is 1-255 visible ASCII characters",
            ));
        }
        Ok(IdempotencyKey(Some(key.to_owned())))
    }
}
