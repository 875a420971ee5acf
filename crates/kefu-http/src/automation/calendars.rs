//! `/api/v1/calendars`: business-hours calendars.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentAgent};
use crate::state::AppState;

/// A business-hours calendar.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// IANA time zone (`Asia/Shanghai`).
    pub time_zone: String,
    /// Seven lists of `HH:MM-HH:MM` intervals, Monday first (split shifts are several intervals).
    pub weekly: Vec<Vec<String>>,
    /// Days off, `YYYY-MM-DD`.
    pub holidays: Vec<String>,
    /// Extra working days (make-up workdays such as 调休) with their hours.
    #[schema(value_type = Object)]
    pub extra_workdays: Value,
}

/// A calendar's values.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarInput {
    /// Name.
    pub name: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Seven lists of `HH:MM-HH:MM` intervals, Monday first.
    pub weekly: Vec<Vec<String>>,
    /// Days off, `YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// `{"2026-10-10": ["09:00-18:00"]}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub extra_workdays: Value,
}

impl From<kefu_app::CalendarRecord> for CalendarDto {
    fn from(record: kefu_app::CalendarRecord) -> Self {
        let json = record.calendar.to_json();
        CalendarDto {
            id: record.id,
            name: record.name,
            time_zone: record.calendar.time_zone.name().to_owned(),
            weekly: serde_json::from_value(json["weekly"].clone()).unwrap_or_default(),
            holidays: serde_json::from_value(json["holidays"].clone()).unwrap_or_default(),
            extra_workdays: json["extra_workdays"].clone(),
        }
    }
}

fn raw(input: &CalendarInput) -> Value {
    serde_json::json!({
        "time_zone": input.time_zone,
        "weekly": input.weekly,
        "holidays": input.holidays,
        "extra_workdays": if input.extra_workdays.is_null() { serde_json::json!({}) } else { input.extra_workdays.clone() },
    })
}

/// Every calendar.
#[utoipa::path(get, path = "/calendars", tag = "automation", responses((status = 200, body = Vec<CalendarDto>)))]
pub async fn list_calendars(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<Json<Vec<CalendarDto>>> {
    Ok(Json(state.app.list_calendars(&agent).await?.into_iter().map(CalendarDto::from).collect()))
}

/// Creates a calendar (admins).
#[utoipa::path(post, path = "/calendars", tag = "automation", request_body = CalendarInput,
    responses((status = 201, body = CalendarDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_calendar(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<CalendarInput>,
) -> ApiResult<(StatusCode, Json<CalendarDto>)> {
    let record = state.app.save_calendar(&agent, None, &input.name, &raw(&input)).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// Replaces a calendar (admins).
#[utoipa::path(put, path = "/calendars/{id}", tag = "automation", params(("id" = i64, Path)), request_body = CalendarInput,
    responses((status = 200, body = CalendarDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_calendar(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CalendarInput>,
) -> ApiResult<Json<CalendarDto>> {
    Ok(Json(state.app.save_calendar(&agent, Some(id), &input.name, &raw(&input)).await?.into()))
}

/// Deletes a calendar no SLA policy uses (admins).
#[utoipa::path(delete, path = "/calendars/{id}", tag = "automation", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn delete_calendar(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.app.delete_calendar(&agent, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
