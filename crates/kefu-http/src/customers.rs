//! `/api/v1/customers` and `/api/v1/organizations`: one customer, many identities, in organizations.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kefu_app::CustomerFilter;
use kefu_app::customers::{CreateCustomer, CustomerChanges, OrganizationInput};
use kefu_domain::{Customer, CustomerId, Identity, IdentityId, IdentityKind, Organization, OrganizationId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::dto::nullable;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentAgent};
use crate::pagination::{PageDto, PageQuery};
use crate::state::AppState;

/// One way to recognise a customer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IdentityDto {
    /// Id (in responses).
    #[serde(default, skip_deserializing)]
    pub id: Option<i64>,
    /// `email`, `phone` or `external`.
    pub kind: String,
    /// For `external`: the issuing system (`wechat`, `whatsapp`, `crm` ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The address, number or id (normalized in responses).
    pub value: String,
}

impl IdentityDto {
    fn from_domain(id: IdentityId, identity: &Identity) -> IdentityDto {
        IdentityDto {
            id: Some(id.0),
            kind: identity.kind.as_str().to_owned(),
            provider: match &identity.kind {
                IdentityKind::External { provider } => Some(provider.clone()),
                _ => None,
            },
            value: identity.value.clone(),
        }
    }

    /// The domain identity, validated and normalized.
    pub fn to_domain(&self) -> Result<Identity, kefu_domain::DomainError> {
        Identity::parse(&self.kind, self.provider.as_deref(), &self.value)
    }
}

/// A customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Organization.
    pub organization_id: Option<i64>,
    /// Tier such as `vip`.
    pub tier: Option<String>,
    /// Preferred locale.
    pub locale: Option<String>,
    /// Free-form attributes.
    pub attributes: BTreeMap<String, Value>,
    /// Every identity.
    pub identities: Vec<IdentityDto>,
    /// Set when merged into another customer.
    pub merged_into_id: Option<i64>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Customer> for CustomerDto {
    fn from(customer: Customer) -> Self {
        CustomerDto {
            id: customer.id.0,
            name: customer.name,
            organization_id: customer.organization_id.map(|id| id.0),
            tier: customer.tier,
            locale: customer.locale,
            attributes: customer.attributes,
            identities: customer
                .identities
                .iter()
                .map(|(id, identity)| IdentityDto::from_domain(*id, identity))
                .collect(),
            merged_into_id: customer.merged_into_id.map(|id| id.0),
            created_at: customer.created_at,
            updated_at: customer.updated_at,
        }
    }
}

/// A new customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomerDto {
    /// Name; derived from the first identity when absent.
    pub name: Option<String>,
    /// Organization; found from the email domain when absent.
    pub organization_id: Option<i64>,
    /// Tier.
    pub tier: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
    /// Identities.
    #[serde(default)]
    pub identities: Vec<IdentityDto>,
}

/// Changes to a customer; absent fields stay, `null` clears. Attributes merge key by key (`null` removes).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    /// New name.
    pub name: Option<String>,
    /// New or cleared organization.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub organization_id: Option<Option<i64>>,
    /// New or cleared tier.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub tier: Option<Option<String>>,
    /// New or cleared locale.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub locale: Option<Option<String>>,
    /// Attributes to set or remove.
    pub attributes: Option<BTreeMap<String, Value>>,
}

/// Customer list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerListQuery {
    /// Members of one organization.
    pub organization: Option<i64>,
    /// One tier.
    pub tier: Option<String>,
    /// Look up by identity instead: `email`, `phone` or `external`.
    pub identity_kind: Option<String>,
    /// The provider, for `external`.
    pub identity_provider: Option<String>,
    /// The identity's value.
    pub identity_value: Option<String>,
    /// Page size.
    pub limit: Option<u64>,
    /// Cursor.
    pub cursor: Option<String>,
}

/// Merging another customer into this one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerMerge {
    /// The customer to merge into the one in the path; its identities and tickets move over.
    pub source_id: i64,
}

/// A page of customers, or the one customer owning an identity (`identity_kind` and `identity_value`).
#[utoipa::path(get, path = "/customers", tag = "customers", params(CustomerListQuery),
    responses((status = 200, body = PageDto<CustomerDto>), (status = 400, body = Problem)))]
async fn list_customers(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiQuery(query): ApiQuery<CustomerListQuery>,
) -> ApiResult<Json<PageDto<CustomerDto>>> {
    if let (Some(kind), Some(value)) = (&query.identity_kind, &query.identity_value) {
        let identity = Identity::parse(kind, query.identity_provider.as_deref(), value)?;
        let items = match state.app.customer_by_identity(&agent, &identity).await {
            Ok(customer) => vec![customer.into()],
            Err(kefu_app::AppError::NotFound(_)) => vec![],
            Err(other) => return Err(other.into()),
        };
        return Ok(Json(PageDto { items, next_cursor: None }));
    }
    let (limit, cursor) = PageQuery { limit: query.limit, cursor: query.cursor.clone() }.parse()?;
    let filter = CustomerFilter { organization: query.organization.map(OrganizationId), tier: query.tier.clone() };
    let page = state.app.list_customers(&agent, &filter, limit, cursor).await?;
    Ok(Json(PageDto::from_page(page, CustomerDto::from)))
}

/// Creates a customer.
#[utoipa::path(post, path = "/customers", tag = "customers", request_body = NewCustomerDto,
    responses((status = 201, body = CustomerDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_customer(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<NewCustomerDto>,
) -> ApiResult<(StatusCode, Json<CustomerDto>)> {
    let identities = input.identities.iter().map(IdentityDto::to_domain).collect::<Result<Vec<_>, _>>()?;
    let command = CreateCustomer {
        name: input.name,
        organization_id: input.organization_id.map(OrganizationId),
        tier: input.tier,
        locale: input.locale,
        attributes: input.attributes,
        identities,
    };
    Ok((StatusCode::CREATED, Json(state.app.create_customer(&agent, command).await?.into())))
}

/// One customer.
#[utoipa::path(get, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerDto), (status = 404, body = Problem)))]
async fn get_customer(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CustomerDto>> {
    Ok(Json(state.app.customer(&agent, CustomerId(id)).await?.into()))
}

/// Changes a customer's profile.
#[utoipa::path(patch, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path)), request_body = CustomerPatch,
    responses((status = 200, body = CustomerDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_customer(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CustomerPatch>,
) -> ApiResult<Json<CustomerDto>> {
    let changes = CustomerChanges {
        name: input.name,
        organization_id: input.organization_id.map(|id| id.map(OrganizationId)),
        tier: input.tier,
        locale: input.locale,
        attributes: input.attributes,
    };
    Ok(Json(state.app.update_customer(&agent, CustomerId(id), changes).await?.into()))
}

/// Adds an identity; `409 conflict.already_exists` if another customer owns it (merge them instead).
#[utoipa::path(post, path = "/customers/{id}/identities", tag = "customers", params(("id" = i64, Path)), request_body = IdentityDto,
    responses((status = 201, body = CustomerDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_customer_identity(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<IdentityDto>,
) -> ApiResult<(StatusCode, Json<CustomerDto>)> {
    let customer = state.app.add_identity(&agent, CustomerId(id), input.to_domain()?).await?;
    Ok((StatusCode::CREATED, Json(customer.into())))
}

/// Removes an identity.
#[utoipa::path(delete, path = "/customers/{id}/identities/{identity_id}", tag = "customers",
    params(("id" = i64, Path), ("identity_id" = i64, Path)),
    responses((status = 200, body = CustomerDto), (status = 404, body = Problem)))]
async fn remove_customer_identity(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath((id, identity_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<CustomerDto>> {
    Ok(Json(state.app.remove_identity(&agent, CustomerId(id), IdentityId(identity_id)).await?.into()))
}

/// Merges `source_id` into this customer: identities and tickets move here (supervisors and admins).
#[utoipa::path(post, path = "/customers/{id}/merge", tag = "customers", params(("id" = i64, Path)), request_body = CustomerMerge,
    responses((status = 200, body = CustomerDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn merge_customers(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CustomerMerge>,
) -> ApiResult<Json<CustomerDto>> {
    Ok(Json(state.app.merge_customers(&agent, CustomerId(input.source_id), CustomerId(id)).await?.into()))
}

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Email domains whose new customers join it.
    pub domains: Vec<String>,
    /// Default tier.
    pub tier: Option<String>,
    /// Notes for agents.
    pub notes: String,
    /// Attributes.
    pub attributes: BTreeMap<String, Value>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Organization> for OrganizationDto {
    fn from(organization: Organization) -> Self {
        OrganizationDto {
            id: organization.id.0,
            name: organization.name,
            domains: organization.domains,
            tier: organization.tier,
            notes: organization.notes,
            attributes: organization.attributes,
            created_at: organization.created_at,
            updated_at: organization.updated_at,
        }
    }
}

/// An organization's values (all of them, on create and on update).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationInputDto {
    /// Unique name.
    pub name: String,
    /// Email domains.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Default tier.
    pub tier: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// Attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
}

impl From<OrganizationInputDto> for OrganizationInput {
    fn from(input: OrganizationInputDto) -> Self {
        OrganizationInput {
            name: input.name,
            domains: input.domains,
            tier: input.tier,
            notes: input.notes,
            attributes: input.attributes,
        }
    }
}

/// A page of organizations.
#[utoipa::path(get, path = "/organizations", tag = "organizations", params(PageQuery),
    responses((status = 200, body = PageDto<OrganizationDto>)))]
async fn list_organizations(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<PageDto<OrganizationDto>>> {
    let (limit, cursor) = query.parse()?;
    Ok(Json(PageDto::from_page(state.app.list_organizations(&agent, limit, cursor).await?, OrganizationDto::from)))
}

/// Creates an organization.
#[utoipa::path(post, path = "/organizations", tag = "organizations", request_body = OrganizationInputDto,
    responses((status = 201, body = OrganizationDto), (status = 409, body = Problem)))]
async fn create_organization(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<OrganizationInputDto>,
) -> ApiResult<(StatusCode, Json<OrganizationDto>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_organization(&agent, input.into()).await?.into())))
}

/// One organization.
#[utoipa::path(get, path = "/organizations/{id}", tag = "organizations", params(("id" = i64, Path)),
    responses((status = 200, body = OrganizationDto), (status = 404, body = Problem)))]
async fn get_organization(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<OrganizationDto>> {
    Ok(Json(state.app.organization(&agent, OrganizationId(id)).await?.into()))
}

/// Replaces an organization's values.
#[utoipa::path(put, path = "/organizations/{id}", tag = "organizations", params(("id" = i64, Path)), request_body = OrganizationInputDto,
    responses((status = 200, body = OrganizationDto), (status = 404, body = Problem)))]
async fn update_organization(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<OrganizationInputDto>,
) -> ApiResult<Json<OrganizationDto>> {
    Ok(Json(state.app.update_organization(&agent, OrganizationId(id), input.into()).await?.into()))
}

/// The customer and organization routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(add_customer_identity))
        .routes(routes!(remove_customer_identity))
        .routes(routes!(merge_customers))
        .routes(routes!(list_organizations, create_organization))
        .routes(routes!(get_organization, update_organization))
}
