//! Customers and their identities. Looking a customer up by any identity is one query on the unique
//! `(kind, provider, value)` index.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use kefu_domain::{Customer, CustomerId, Identity, IdentityId, IdentityKind, OrganizationId};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use serde_json::Value;

use super::{Cursor, Page, json_map, paginate};
use crate::entities::{customer, customer_identity};
use crate::write_behind::statement_list;
use crate::{Backend, Repo, Result, StoreError};

/// A customer to create.
#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    /// Display name (normalized).
    pub name: String,
    /// Organization.
    pub organization_id: Option<OrganizationId>,
    /// Tier (normalized).
    pub tier: Option<String>,
    /// Preferred locale.
    pub locale: Option<String>,
    /// Free-form attributes.
    pub attributes: BTreeMap<String, Value>,
}

/// What rules need of a customer, without the identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerBrief {
    /// Id.
    pub id: CustomerId,
    /// Tier.
    pub tier: Option<String>,
    /// Organization.
    pub organization_id: Option<OrganizationId>,
    /// Set when merged into another customer.
    pub merged_into_id: Option<CustomerId>,
}

/// Filters of a customer list.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Members of one organization.
    pub organization: Option<OrganizationId>,
    /// Customers of one tier.
    pub tier: Option<String>,
}

fn identity_from(row: &customer_identity::Model) -> Result<Identity> {
    let kind = match row.kind.as_str() {
        "email" => IdentityKind::Email,
        "phone" => IdentityKind::Phone,
        "external" => IdentityKind::External { provider: row.provider.clone() },
        other => {
            return Err(StoreError::Corrupt { table: "customer_identities", message: format!("kind {other:?}") });
        }
    };
    Ok(Identity { kind, value: row.value.clone() })
}

fn brief(row: customer::Model) -> CustomerBrief {
    CustomerBrief {
        id: CustomerId(row.id),
        tier: row.tier,
        organization_id: row.organization_id.map(OrganizationId),
        merged_into_id: row.merged_into_id.map(CustomerId),
    }
}

/// The row of one identity of a customer.
/// The unique key of an identity.
const IDENTITY_KEY: [customer_identity::Column; 3] =
    [customer_identity::Column::Kind, customer_identity::Column::Provider, customer_identity::Column::Value];

fn identity_row(customer_id: CustomerId, identity: &Identity, now: DateTime<Utc>) -> customer_identity::ActiveModel {
    customer_identity::ActiveModel {
        customer_id: Set(customer_id.0),
        kind: Set(identity.kind.as_str().to_owned()),
        provider: Set(identity.kind.provider().to_owned()),
        value: Set(identity.value.clone()),
        created_at: Set(now),
        ..Default::default()
    }
}

fn customer_row(draft: &NewCustomer, now: DateTime<Utc>) -> customer::ActiveModel {
    customer::ActiveModel {
        name: Set(draft.name.clone()),
        organization_id: Set(draft.organization_id.map(|id| id.0)),
        tier: Set(draft.tier.clone()),
        locale: Set(draft.locale.clone()),
        attributes: Set(attributes_json(&draft.attributes)),
        merged_into_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

fn attributes_json(attributes: &BTreeMap<String, Value>) -> Value {
    Value::Object(attributes.clone().into_iter().collect())
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Creates a customer without identities.
    pub async fn insert_customer(&self, draft: &NewCustomer, now: DateTime<Utc>) -> Result<CustomerId> {
        Ok(CustomerId(customer::Entity::insert(customer_row(draft, now)).exec_with_returning(self.conn).await?.id))
    }

    /// Adds an identity to a customer; [`StoreError::Conflict`] if another customer has it.
    pub async fn add_identity(
        &self,
        customer_id: CustomerId,
        identity: &Identity,
        now: DateTime<Utc>,
    ) -> Result<IdentityId> {
        match customer_identity::Entity::insert(identity_row(customer_id, identity, now))
            .exec_with_returning(self.conn)
            .await
        {
            Ok(row) => Ok(IdentityId(row.id)),
            Err(error) => match StoreError::from(error) {
                StoreError::Conflict(_) => Err(StoreError::Conflict(format!("identity {identity}"))),
                other => Err(other),
            },
        }
    }

    /// Creates a customer with one identity, unless another customer holds that identity by now (a
    /// concurrent request created them first): then nothing stays written and `None` comes back, for the
    /// caller to look that customer up. Two statements, where a lookup first would be three.
    pub async fn insert_customer_claiming(
        &self,
        draft: &NewCustomer,
        identity: &Identity,
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerBrief>> {
        let (id, claimed) = match self.backend {
            Backend::Sqlite => self.insert_customer_claiming_at_once(draft, identity, now).await?,
            Backend::Postgres => {
                let id = self.insert_customer(draft, now).await?;
                let claimed = customer_identity::Entity::insert(identity_row(id, identity, now))
                    .on_conflict_do_nothing_on(IDENTITY_KEY)
                    .exec(self.conn)
                    .await?;
                (id, matches!(claimed, sea_orm::TryInsertResult::Inserted(_)))
            }
        };
        if !claimed {
            customer::Entity::delete_by_id(id.0).exec(self.conn).await?;
            return Ok(None);
        }
        Ok(Some(CustomerBrief {
            id,
            tier: draft.tier.clone(),
            organization_id: draft.organization_id,
            merged_into_id: None,
        }))
    }

    /// SQLite's half of [`Repo::insert_customer_claiming`] in one round trip to its worker: the customer's
    /// insert and the identity's, which names the customer by `last_insert_rowid()`. Returns the customer's
    /// id and whether the identity was claimed.
    async fn insert_customer_claiming_at_once(
        &self,
        draft: &NewCustomer,
        identity: &Identity,
        now: DateTime<Utc>,
    ) -> Result<(CustomerId, bool)> {
        let customer = customer::Entity::insert(customer_row(draft, now))
            .into_query()
            .returning_col(customer::Column::Id)
            .to_owned();
        let identity = Query::insert()
            .into_table(customer_identity::Entity)
            .columns([
                customer_identity::Column::CustomerId,
                customer_identity::Column::Kind,
                customer_identity::Column::Provider,
                customer_identity::Column::Value,
                customer_identity::Column::CreatedAt,
            ])
            .values_panic([
                Expr::cust("last_insert_rowid()"),
                identity.kind.as_str().into(),
                identity.kind.provider().into(),
                identity.value.clone().into(),
                now.into(),
            ])
            .on_conflict(OnConflict::columns(IDENTITY_KEY).do_nothing().to_owned())
            .returning_col(customer_identity::Column::Id)
            .to_owned();
        let backend = self.db_backend();
        let rows =
            self.conn.query_all_raw(statement_list([backend.build(&customer), backend.build(&identity)])).await?;
        let id = rows
            .first()
            .ok_or_else(|| StoreError::Corrupt { table: "customers", message: "the insert returned no id".into() })?;
        Ok((CustomerId(id.try_get_by_index(0)?), rows.len() == 2))
    }

    /// Removes one identity of a customer; false if it was not theirs.
    pub async fn remove_identity(&self, customer_id: CustomerId, identity_id: IdentityId) -> Result<bool> {
        let result = customer_identity::Entity::delete_many()
            .filter(customer_identity::Column::Id.eq(identity_id.0))
            .filter(customer_identity::Column::CustomerId.eq(customer_id.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// The customer owning an identity: one indexed query.
    pub async fn customer_id_by_identity(&self, identity: &Identity) -> Result<Option<CustomerId>> {
        let id: Option<i64> = customer_identity::Entity::find()
            .select_only()
            .column(customer_identity::Column::CustomerId)
            .filter(customer_identity::Column::Kind.eq(identity.kind.as_str()))
            .filter(customer_identity::Column::Provider.eq(identity.kind.provider()))
            .filter(customer_identity::Column::Value.eq(identity.value.as_str()))
            .into_tuple()
            .one(self.conn)
            .await?;
        Ok(id.map(CustomerId))
    }

    async fn identities_of(&self, customer_ids: &[i64]) -> Result<HashMap<i64, Vec<(IdentityId, Identity)>>> {
        let mut by_customer: HashMap<i64, Vec<(IdentityId, Identity)>> = HashMap::new();
        if customer_ids.is_empty() {
            return Ok(by_customer);
        }
        let rows = customer_identity::Entity::find()
            .filter(customer_identity::Column::CustomerId.is_in(customer_ids.iter().copied()))
            .order_by_asc(customer_identity::Column::Id)
            .all(self.conn)
            .await?;
        for row in rows {
            let identity = identity_from(&row)?;
            by_customer.entry(row.customer_id).or_default().push((IdentityId(row.id), identity));
        }
        Ok(by_customer)
    }

    async fn with_identities(&self, rows: Vec<customer::Model>) -> Result<Vec<Customer>> {
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let mut identities = self.identities_of(&ids).await?;
        rows.into_iter()
            .map(|row| {
                Ok(Customer {
                    id: CustomerId(row.id),
                    name: row.name,
                    organization_id: row.organization_id.map(OrganizationId),
                    tier: row.tier,
                    locale: row.locale,
                    attributes: json_map("customers", row.attributes)?,
                    identities: identities.remove(&row.id).unwrap_or_default(),
                    merged_into_id: row.merged_into_id.map(CustomerId),
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                })
            })
            .collect()
    }

    /// One customer with their identities.
    pub async fn customer(&self, id: CustomerId) -> Result<Option<Customer>> {
        let Some(row) = customer::Entity::find_by_id(id.0).one(self.conn).await? else {
            return Ok(None);
        };
        Ok(self.with_identities(vec![row]).await?.pop())
    }

    /// The customer owning an identity, with their tier and organization: one indexed join.
    pub async fn customer_brief_by_identity(&self, identity: &Identity) -> Result<Option<CustomerBrief>> {
        let owner = sea_orm::sea_query::Query::select()
            .column(customer_identity::Column::CustomerId)
            .from(customer_identity::Entity)
            .and_where(customer_identity::Column::Kind.eq(identity.kind.as_str()))
            .and_where(customer_identity::Column::Provider.eq(identity.kind.provider()))
            .and_where(customer_identity::Column::Value.eq(identity.value.as_str()))
            .to_owned();
        Ok(customer::Entity::find().filter(customer::Column::Id.in_subquery(owner)).one(self.conn).await?.map(brief))
    }

    /// A customer's tier, organization and merge target, in one query without identities.
    pub async fn customer_brief(&self, id: CustomerId) -> Result<Option<CustomerBrief>> {
        Ok(customer::Entity::find_by_id(id.0).one(self.conn).await?.map(brief))
    }

    /// Several customers by id, with identities, in id order.
    pub async fn customers_by_ids(&self, ids: &[CustomerId]) -> Result<Vec<Customer>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = customer::Entity::find()
            .filter(customer::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .order_by_asc(customer::Column::Id)
            .all(self.conn)
            .await?;
        self.with_identities(rows).await
    }

    /// The names of several customers, in id order, in one query without identities (the requesters a page
    /// of tickets shows).
    pub async fn customer_names(&self, ids: &[CustomerId]) -> Result<Vec<(CustomerId, String)>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows: Vec<(i64, String)> = customer::Entity::find()
            .select_only()
            .columns([customer::Column::Id, customer::Column::Name])
            .filter(customer::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .order_by_asc(customer::Column::Id)
            .into_tuple()
            .all(self.conn)
            .await?;
        Ok(rows.into_iter().map(|(id, name)| (CustomerId(id), name)).collect())
    }

    /// Customer ids after `after` in id order (for rebuilding the search index in batches).
    pub async fn customer_ids_after(&self, after: i64, limit: u64) -> Result<Vec<CustomerId>> {
        let ids: Vec<i64> = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .filter(customer::Column::Id.gt(after))
            .order_by_asc(customer::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(self.conn)
            .await?;
        Ok(ids.into_iter().map(CustomerId).collect())
    }

    /// Writes a customer's profile fields (not identities).
    pub async fn save_customer(&self, customer: &Customer) -> Result<bool> {
        let result = customer::Entity::update_many()
            .col_expr(customer::Column::Name, Expr::val(customer.name.clone()))
            .col_expr(customer::Column::OrganizationId, Expr::val(customer.organization_id.map(|id| id.0)))
            .col_expr(customer::Column::Tier, Expr::val(customer.tier.clone()))
            .col_expr(customer::Column::Locale, Expr::val(customer.locale.clone()))
            .col_expr(customer::Column::Attributes, Expr::val(attributes_json(&customer.attributes)))
            .col_expr(customer::Column::MergedIntoId, Expr::val(customer.merged_into_id.map(|id| id.0)))
            .col_expr(customer::Column::UpdatedAt, Expr::val(customer.updated_at))
            .filter(customer::Column::Id.eq(customer.id.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// A page of customers (merged ones left out), newest first.
    pub async fn list_customers(
        &self,
        filter: &CustomerFilter,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Page<Customer>> {
        let mut select = customer::Entity::find().filter(customer::Column::MergedIntoId.is_null());
        if let Some(organization) = filter.organization {
            select = select.filter(customer::Column::OrganizationId.eq(organization.0));
        }
        if let Some(tier) = &filter.tier {
            select = select.filter(customer::Column::Tier.eq(tier.as_str()));
        }
        if let Some(cursor) = cursor {
            select = select.filter(customer::Column::Id.lt(cursor.id));
        }
        let rows = select.order_by_desc(customer::Column::Id).limit(limit + 1).all(self.conn).await?;
        let page = paginate(rows, limit, |row| Cursor::after_id(row.id));
        Ok(Page { items: self.with_identities(page.items).await?, next_cursor: page.next_cursor })
    }

    /// Moves every identity of `from` to `to` (customer merge).
    pub async fn move_identities(&self, from: CustomerId, to: CustomerId) -> Result<u64> {
        let result = customer_identity::Entity::update_many()
            .col_expr(customer_identity::Column::CustomerId, Expr::val(to.0))
            .filter(customer_identity::Column::CustomerId.eq(from.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected)
    }
}
