//! Running a create under an `Idempotency-Key`: first request runs and its response is stored; a retry with
//! the same key and body replays it (with `Idempotent-Replayed: true`); the same key with another body is
//! `422 idempotency.key_reused`; a retry while the first is still running is `409 idempotency.in_progress`.

use std::future::Future;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kefu_app::idempotency::IdempotencyClaim;
use kefu_domain::Agent;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Runs `create` at most once per `(agent, key)`; without a key it simply runs. `create` returns the
/// status and the JSON body of the success response.
pub async fn run_once<F, Fut>(
    state: &AppState,
    agent: &Agent,
    key: Option<String>,
    digest: &str,
    create: F,
) -> ApiResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<(StatusCode, Vec<(header::HeaderName, String)>, serde_json::Value)>>,
{
    let Some(key) = key else {
        return create().await.map(|(status, headers, body)| respond(status, &headers, body.to_string(), false));
    };
    match state.app.claim_idempotency(agent, &key, digest).await? {
        IdempotencyClaim::Proceed => match create().await {
            Ok((status, headers, body)) => {
                let body = body.to_string();
                state.app.complete_idempotency(agent, &key, status.as_u16(), &body).await?;
                Ok(respond(status, &headers, body, false))
            }
            Err(error) => {
                // Refusals are final and replayed; failures on our side free the key for a retry.
                let response = error.clone().into_response();
                if response.status().is_client_error() {
                    let body = serde_json::to_string(&error_body(&error)).unwrap_or_default();
                    state.app.complete_idempotency(agent, &key, response.status().as_u16(), &body).await?;
                } else {
                    state.app.release_idempotency(agent, &key).await?;
                }
                Err(error)
            }
        },
        IdempotencyClaim::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok(respond(status, &[], body, true))
        }
        IdempotencyClaim::InProgress => Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency.in_progress",
            "a request with this Idempotency-Key is still running; retry shortly",
        )
        .with_retry_after(1)),
        IdempotencyClaim::Mismatch => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency.key_reused",
            "this Idempotency-Key was used for a different request",
        )),
    }
}

fn error_body(error: &ApiError) -> serde_json::Value {
    error.problem_json()
}

fn respond(status: StatusCode, headers: &[(header::HeaderName, String)], body: String, replayed: bool) -> Response {
    let mut response = (status, body).into_response();
    let content_type = if status.is_client_error() { "application/problem+json" } else { "application/json" };
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(name.clone(), value);
        }
    }
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}
