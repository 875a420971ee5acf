//! `GET /api/v1/tickets/{id}` and `GET /api/v1/tickets/by-number/{number}`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use kefu_domain::{TicketId, TicketNumber};

use super::TicketDto;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiPath, CurrentAgent, etag};
use crate::state::AppState;

/// The ETag header for a ticket.
pub fn etag_header(version: i64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&etag(version)) {
        headers.insert(header::ETAG, value);
    }
    headers
}

/// One ticket, with its version as `ETag` (send it back in `If-Match` when changing the ticket).
#[utoipa::path(get, path = "/tickets/{id}", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = TicketDto, headers(("ETag" = String))), (status = 404, body = Problem)))]
pub async fn get_ticket(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(HeaderMap, Json<TicketDto>)> {
    let ticket = state.app.ticket(&agent, TicketId(id)).await?;
    Ok((etag_header(ticket.version), Json(ticket.into())))
}

/// One ticket by its human number.
#[utoipa::path(get, path = "/tickets/by-number/{number}", tag = "tickets", params(("number" = i64, Path)),
    responses((status = 200, body = TicketDto, headers(("ETag" = String))), (status = 404, body = Problem)))]
pub async fn get_ticket_by_number(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(number): ApiPath<i64>,
) -> ApiResult<(HeaderMap, Json<TicketDto>)> {
    let ticket = state.app.ticket_by_number(&agent, TicketNumber(number)).await?;
    Ok((etag_header(ticket.version), Json(ticket.into())))
}
