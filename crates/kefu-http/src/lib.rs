//! Kefu's HTTP face: the REST API under `/api/v1` with its OpenAPI document, authentication, the live
//! WebSocket, operations endpoints and the embedded web app.
//!
//! [`router`] assembles everything into one axum `Router` over an [`AppState`]; [`serve`] runs it on a
//! listener with graceful shutdown. Each resource has its module (`tickets/` has one file per action); every
//! handler extracts and authenticates its input, calls one `kefu-app` use case and maps the result to a
//! DTO. Handlers hold no SQL and no business rules. Errors become problem+json in `error.rs` only.
//!
//! What this crate is not: it does not decide what is allowed (the use cases do, and this crate turns their
//! refusals into status codes), and its DTOs never leak into the layers below.

mod agents;
mod attachments;
mod auth;
mod automation;
mod customers;
mod dto;
pub mod error;
mod extract;
mod fields;
mod help;
mod idempotency;
mod kb;
mod live;
mod mailboxes;
mod openapi;
mod ops;
mod pagination;
pub mod smtp;
mod state;
mod tickets;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use ops::metrics_handle;
pub use state::{AppState, ServerConfig};

use crate::error::ApiError;

/// The OpenAPI document of this build (for the snapshot test and client generation).
pub fn openapi(max_upload_bytes: usize) -> utoipa::openapi::OpenApi {
    api_routes(max_upload_bytes).split_for_parts().1
}

fn api_routes(max_upload_bytes: usize) -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .nest("/auth", auth::router())
        .merge(tickets::router())
        .merge(customers::router())
        .merge(agents::router())
        .merge(fields::router())
        .merge(attachments::router(max_upload_bytes))
        .merge(automation::router())
        .merge(kb::router())
        .merge(live::router())
        .merge(mailboxes::router());
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()).nest("/api/v1", v1)
}

/// The whole application as one router.
pub fn router(state: AppState) -> Router {
    let (api, spec) = api_routes(state.app.config().max_attachment_bytes).split_for_parts();
    let spec = openapi::Spec(Arc::new(spec));
    let docs = Router::new()
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .route("/api/v1/docs", get(openapi::docs_page))
        .with_state(spec);
    let sessions = SessionManagerLayer::new(auth::DbSessionStore::new(state.app.clone()))
        .with_name("kefu_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(state.config.session_idle_timeout).unwrap_or(time::Duration::hours(12)),
        ));
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(api)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::render_metrics))
        .merge(help::router(state.app.config().max_attachment_bytes))
        .route_layer(middleware::from_fn(ops::track_requests))
        .merge(docs)
        .fallback(web::fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "route.method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(sessions)
        .layer(DefaultBodyLimit::max(state.config.max_json_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, state.config.request_timeout))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal("a request handler panicked").into_response()))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN")))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Serves until `state.shutdown` is cancelled, then stops accepting, closes live sockets and lets
/// in-flight requests finish.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}
