//! Signing in and out, the session's CSRF token, API tokens, two-factor setup and password changes.
//!
//! Browsers authenticate with a session cookie (`HttpOnly`, `SameSite=Lax`) and must echo the session's
//! CSRF token in `X-CSRF-Token` on unsafe methods; scripts use `Authorization: Bearer <token>` and need no
//! CSRF token. Sign-in is throttled per client address and per account.

mod session_store;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::{StatusCode, request::Parts};
use base64::Engine;
use chrono::{DateTime, Utc};
use kefu_domain::{AgentId, ApiTokenId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use session_store::DbSessionStore;

use crate::agents::AgentDto;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, CurrentAgent};
use crate::state::AppState;

/// The header carrying the CSRF token on cookie-authenticated unsafe requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
const AGENT_KEY: &str = "agent_id";
const CSRF_KEY: &str = "csrf";

/// The session of a request, as far as authentication cares.
pub struct SessionAuth(Session);

impl SessionAuth {
    /// The signed-in agent's id.
    pub async fn agent_id(&self) -> Option<AgentId> {
        self.0.get::<i64>(AGENT_KEY).await.ok().flatten().map(AgentId)
    }

    /// Whether `sent` is this session's CSRF token (compared in constant time).
    pub async fn csrf_matches(&self, sent: Option<&str>) -> bool {
        let expected = self.0.get::<String>(CSRF_KEY).await.ok().flatten();
        match (expected, sent) {
            (Some(expected), Some(sent)) => constant_time_eq(expected.as_bytes(), sent.as_bytes()),
            _ => false,
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl<S: Send + Sync> FromRequestParts<S> for SessionAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Session::from_request_parts(parts, state)
            .await
            .map(SessionAuth)
            .map_err(|(_, message)| ApiError::internal(format!("session layer missing: {message}")))
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Sign-in input.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The agent's email address.
    pub email: String,
    /// The password.
    pub password: String,
    /// The current code from the authenticator app, when two-factor is on.
    #[serde(default)]
    pub totp: Option<String>,
}

/// The signed-in agent and the CSRF token to send on unsafe requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDto {
    /// Who is signed in.
    pub agent: AgentDto,
    /// Echo in `X-CSRF-Token` on POST, PUT, PATCH and DELETE.
    pub csrf_token: String,
}

fn session_error(error: tower_sessions::session::Error) -> ApiError {
    ApiError::internal(format!("session store: {error}"))
}

/// Signs in with email and password (and a two-factor code when the agent has one) and sets the session
/// cookie. Throttled per address and per account: `429 auth.rate_limited`.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = SignIn,
    responses((status = 200, body = SessionDto), (status = 401, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    SessionAuth(session): SessionAuth,
    ApiJson(input): ApiJson<SignIn>,
) -> ApiResult<axum::Json<SessionDto>> {
    if let Err(seconds) = state.login_limiter.check(address.ip(), &input.email) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "auth.rate_limited",
            "too many sign-in attempts; wait and retry",
        )
        .with_retry_after(seconds));
    }
    let agent = state.app.sign_in(&input.email, &input.password, input.totp.as_deref()).await.inspect_err(|error| {
        tracing::info!(email = %input.email, %address, %error, "sign-in refused");
    })?;
    // A fresh id on sign-in, so a session id planted before sign-in is worthless after it.
    session.cycle_id().await.map_err(session_error)?;
    let csrf_token = random_token();
    session.insert(AGENT_KEY, agent.id.0).await.map_err(session_error)?;
    session.insert(CSRF_KEY, &csrf_token).await.map_err(session_error)?;
    tracing::info!(agent_id = agent.id.0, %address, "signed in");
    Ok(axum::Json(SessionDto { agent: AgentDto::from(&agent), csrf_token }))
}

/// Ends the session.
#[utoipa::path(post, path = "/logout", tag = "auth", responses((status = 204)))]
async fn sign_out(SessionAuth(session): SessionAuth, CurrentAgent(_agent): CurrentAgent) -> ApiResult<StatusCode> {
    session.flush().await.map_err(session_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in agent and the session's CSRF token (401 when not signed in).
#[utoipa::path(get, path = "/session", tag = "auth", responses((status = 200, body = SessionDto), (status = 401, body = crate::error::Problem)))]
async fn get_session(
    SessionAuth(session): SessionAuth,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<axum::Json<SessionDto>> {
    let csrf_token = session.get::<String>(CSRF_KEY).await.map_err(session_error)?.unwrap_or_default();
    Ok(axum::Json(SessionDto { agent: AgentDto::from(&agent), csrf_token }))
}

/// A new API token's input.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiToken {
    /// What the token is for (`CRM sync`).
    pub name: String,
}

/// An API token (the secret only in the creation response).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The secret, shown once: send it as `Authorization: Bearer <token>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<kefu_app::ApiTokenRecord> for ApiTokenDto {
    fn from(record: kefu_app::ApiTokenRecord) -> Self {
        ApiTokenDto {
            id: record.id.0,
            name: record.name,
            token: None,
            created_at: record.created_at,
            last_used_at: record.last_used_at,
            revoked_at: record.revoked_at,
        }
    }
}

/// Creates an API token for the signed-in agent. The token is in this response only.
#[utoipa::path(post, path = "/tokens", tag = "auth", request_body = NewApiToken, responses((status = 201, body = ApiTokenDto)))]
async fn create_api_token(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<NewApiToken>,
) -> ApiResult<(StatusCode, axum::Json<ApiTokenDto>)> {
    let (token, record) = state.app.create_api_token(&agent, &input.name).await?;
    let mut dto = ApiTokenDto::from(record);
    dto.token = Some(token);
    Ok((StatusCode::CREATED, axum::Json(dto)))
}

/// The signed-in agent's API tokens.
#[utoipa::path(get, path = "/tokens", tag = "auth", responses((status = 200, body = Vec<ApiTokenDto>)))]
async fn list_api_tokens(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<axum::Json<Vec<ApiTokenDto>>> {
    Ok(axum::Json(state.app.list_api_tokens(&agent).await?.into_iter().map(ApiTokenDto::from).collect()))
}

/// Revokes one of the signed-in agent's tokens; it stops working at once.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "auth", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn revoke_api_token(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.app.revoke_api_token(&agent, ApiTokenId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new two-factor secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetupDto {
    /// Base32 secret for manual entry.
    pub secret: String,
    /// `otpauth://` URL for a QR code.
    pub otpauth_url: String,
}

/// A two-factor code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// The current 6-digit code.
    pub code: String,
}

/// Starts two-factor setup; nothing is enforced until a code is confirmed.
#[utoipa::path(post, path = "/totp/setup", tag = "auth", responses((status = 200, body = TotpSetupDto)))]
async fn begin_totp_setup(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<axum::Json<TotpSetupDto>> {
    let setup = state.app.begin_totp_setup(&agent).await?;
    Ok(axum::Json(TotpSetupDto { secret: setup.secret, otpauth_url: setup.otpauth_url }))
}

/// Turns two-factor on with a code from the authenticator.
#[utoipa::path(post, path = "/totp/confirm", tag = "auth", request_body = TotpCode, responses((status = 204), (status = 401, body = crate::error::Problem)))]
async fn confirm_totp(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<TotpCode>,
) -> ApiResult<StatusCode> {
    state.app.confirm_totp(&agent, &input.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns two-factor off; needs a current code.
#[utoipa::path(post, path = "/totp/disable", tag = "auth", request_body = TotpCode, responses((status = 204), (status = 401, body = crate::error::Problem)))]
async fn disable_totp(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<TotpCode>,
) -> ApiResult<StatusCode> {
    state.app.disable_totp(&agent, &input.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password (at least 10 characters).
    pub new_password: String,
}

/// Changes the signed-in agent's password.
#[utoipa::path(post, path = "/password", tag = "auth", request_body = PasswordChange, responses((status = 204), (status = 401, body = crate::error::Problem)))]
async fn change_password(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    state.app.change_password(&agent, &input.current_password, &input.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `/api/v1/auth` routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in))
        .routes(routes!(sign_out))
        .routes(routes!(get_session))
        .routes(routes!(create_api_token, list_api_tokens))
        .routes(routes!(revoke_api_token))
        .routes(routes!(begin_totp_setup))
        .routes(routes!(confirm_totp))
        .routes(routes!(disable_totp))
        .routes(routes!(change_password))
}
