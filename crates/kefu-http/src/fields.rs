//! `/api/v1/custom-fields` and `/api/v1/categories`: admin-defined ticket fields and the categories that
//! require them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_app::fields::{CustomField, CustomFieldChanges};
use kefu_domain::{Category, CategoryId, CustomFieldId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::dto::FieldTypeDto;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentAgent};
use crate::state::AppState;

/// A custom field.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomFieldDto {
    /// Id.
    pub id: i64,
    /// Key used in tickets' `custom_fields`.
    pub key: String,
    /// Label.
    pub label: String,
    /// Type.
    pub field_type: FieldTypeDto,
    /// Dropdown options.
    pub options: Vec<String>,
    /// Retired fields are kept on old tickets but no longer accepted.
    pub active: bool,
}

impl From<CustomField> for CustomFieldDto {
    fn from(field: CustomField) -> Self {
        CustomFieldDto {
            id: field.id.0,
            key: field.definition.key,
            label: field.definition.label,
            field_type: field.definition.field_type.into(),
            options: field.definition.options,
            active: field.active,
        }
    }
}

/// A new custom field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomFieldDto {
    /// Key: a-z, 0-9 and _, starting with a letter.
    pub key: String,
    /// Label.
    pub label: String,
    /// Type.
    pub field_type: FieldTypeDto,
    /// Options, for dropdowns.
    #[serde(default)]
    pub options: Vec<String>,
}

/// Changes to a custom field (key and type are fixed).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldPatch {
    /// New label.
    pub label: Option<String>,
    /// New dropdown options.
    pub options: Option<Vec<String>>,
    /// Activate or retire.
    pub active: Option<bool>,
}

/// Every custom field.
#[utoipa::path(get, path = "/custom-fields", tag = "fields", responses((status = 200, body = Vec<CustomFieldDto>)))]
async fn list_custom_fields(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<Json<Vec<CustomFieldDto>>> {
    Ok(Json(state.app.list_custom_fields(&agent).await?.into_iter().map(CustomFieldDto::from).collect()))
}

/// Defines a custom field (admins).
#[utoipa::path(post, path = "/custom-fields", tag = "fields", request_body = NewCustomFieldDto,
    responses((status = 201, body = CustomFieldDto), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_custom_field(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<NewCustomFieldDto>,
) -> ApiResult<(StatusCode, Json<CustomFieldDto>)> {
    let field =
        state.app.create_custom_field(&agent, &input.key, &input.label, input.field_type.into(), input.options).await?;
    Ok((StatusCode::CREATED, Json(field.into())))
}

/// Changes a custom field (admins).
#[utoipa::path(patch, path = "/custom-fields/{id}", tag = "fields", params(("id" = i64, Path)), request_body = CustomFieldPatch,
    responses((status = 200, body = CustomFieldDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn update_custom_field(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CustomFieldPatch>,
) -> ApiResult<Json<CustomFieldDto>> {
    let changes = CustomFieldChanges { label: input.label, options: input.options, active: input.active };
    Ok(Json(state.app.update_custom_field(&agent, CustomFieldId(id), changes).await?.into()))
}

/// A ticket category.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Keys of the custom fields its tickets must have.
    pub required_fields: Vec<String>,
}

impl From<Category> for CategoryDto {
    fn from(category: Category) -> Self {
        CategoryDto { id: category.id.0, name: category.name, required_fields: category.required_fields }
    }
}

/// A new category, or changes to one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    /// Name (required when creating).
    pub name: Option<String>,
    /// Required custom field keys.
    pub required_fields: Option<Vec<String>>,
}

/// Every category.
#[utoipa::path(get, path = "/categories", tag = "fields", responses((status = 200, body = Vec<CategoryDto>)))]
async fn list_categories(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
) -> ApiResult<Json<Vec<CategoryDto>>> {
    Ok(Json(state.app.list_categories(&agent).await?.into_iter().map(CategoryDto::from).collect()))
}

/// Creates a category (admins).
#[utoipa::path(post, path = "/categories", tag = "fields", request_body = CategoryInput,
    responses((status = 201, body = CategoryDto), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_category(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<CategoryInput>,
) -> ApiResult<(StatusCode, Json<CategoryDto>)> {
    let required = input.required_fields.unwrap_or_default();
    let category = state.app.create_category(&agent, input.name.as_deref().unwrap_or_default(), &required).await?;
    Ok((StatusCode::CREATED, Json(category.into())))
}

/// Renames a category or changes its required fields (admins).
#[utoipa::path(patch, path = "/categories/{id}", tag = "fields", params(("id" = i64, Path)), request_body = CategoryInput,
    responses((status = 200, body = CategoryDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn update_category(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CategoryInput>,
) -> ApiResult<Json<CategoryDto>> {
    let category = state
        .app
        .update_category(&agent, CategoryId(id), input.name.as_deref(), input.required_fields.as_deref())
        .await?;
    Ok(Json(category.into()))
}

/// The field and category routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_custom_fields, create_custom_field))
        .routes(routes!(update_custom_field))
        .routes(routes!(list_categories, create_category))
        .routes(routes!(update_category))
}
