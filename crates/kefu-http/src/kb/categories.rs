//! `/api/v1/kb/categories`: the knowledge base's categories and their sections, named per locale.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_domain::kb::KbCategory;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentAgent};
use crate::state::AppState;

/// A category (no `parent_id`) or a section of one.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KbCategoryDto {
    /// Id (ignored on input: send 0 or leave it out).
    #[serde(default)]
    #[schema(required = true)]
    pub id: i64,
    /// The category a section belongs to.
    #[serde(default)]
    pub parent_id: Option<i64>,
    /// Names by locale: `{"zh-CN": "退款与发票", "en": "Refunds and invoices"}`.
    pub names: BTreeMap<String, String>,
    /// Order among siblings.
    #[serde(default)]
    pub position: i64,
}

impl From<KbCategory> for KbCategoryDto {
    fn from(category: KbCategory) -> Self {
        KbCategoryDto {
            id: category.id,
            parent_id: category.parent_id,
            names: category.names,
            position: category.position,
        }
    }
}

impl KbCategoryDto {
    fn into_category(self, id: i64) -> KbCategory {
        KbCategory { id, parent_id: self.parent_id, names: self.names, position: self.position }
    }
}

/// Every category and section, in order.
#[utoipa::path(get, path = "/kb/categories", tag = "kb", responses((status = 200, body = Vec<KbCategoryDto>)))]
pub async fn list_kb_categories(
    State(state): State<AppState>,
    CurrentAgent(_agent): CurrentAgent,
) -> ApiResult<Json<Vec<KbCategoryDto>>> {
    Ok(Json(state.app.kb_categories().await?.into_iter().map(KbCategoryDto::from).collect()))
}

/// Creates a category or section (admins and supervisors).
#[utoipa::path(post, path = "/kb/categories", tag = "kb", request_body = KbCategoryDto,
    responses((status = 201, body = KbCategoryDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_kb_category(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<KbCategoryDto>,
) -> ApiResult<(StatusCode, Json<KbCategoryDto>)> {
    let saved = state.app.save_kb_category(&agent, input.into_category(0)).await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// Renames, moves or reorders a category or section.
#[utoipa::path(put, path = "/kb/categories/{id}", tag = "kb", params(("id" = i64, Path)), request_body = KbCategoryDto,
    responses((status = 200, body = KbCategoryDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_kb_category(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<KbCategoryDto>,
) -> ApiResult<Json<KbCategoryDto>> {
    Ok(Json(state.app.save_kb_category(&agent, input.into_category(id)).await?.into()))
}

/// Deletes a category; its articles stay, without one.
#[utoipa::path(delete, path = "/kb/categories/{id}", tag = "kb", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_kb_category(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.app.delete_kb_category(&agent, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
