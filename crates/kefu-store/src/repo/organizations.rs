//! Organizations and the email domains that place new customers in them.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use kefu_domain::{Organization, OrganizationId};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

use super::{Cursor, Page, json_map, paginate};
use crate::entities::{organization, organization_domain};
use crate::{Repo, Result, StoreError};

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Creates an organization with its domains; [`StoreError::Conflict`] if the name or a domain is taken.
    pub async fn insert_organization(
        &self,
        name: &str,
        domains: &[String],
        tier: Option<&str>,
        notes: &str,
        attributes: &BTreeMap<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<OrganizationId> {
        let row = organization::ActiveModel {
            name: Set(name.to_owned()),
            tier: Set(tier.map(str::to_owned)),
            notes: Set(notes.to_owned()),
            attributes: Set(Value::Object(attributes.clone().into_iter().collect())),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let id = OrganizationId(organization::Entity::insert(row).exec_with_returning(self.conn).await?.id);
        self.set_organization_domains(id, domains).await?;
        Ok(id)
    }

    /// Replaces an organization's domains.
    pub async fn set_organization_domains(&self, id: OrganizationId, domains: &[String]) -> Result<()> {
        organization_domain::Entity::delete_many()
            .filter(organization_domain::Column::OrganizationId.eq(id.0))
            .exec(self.conn)
            .await?;
        if !domains.is_empty() {
            let rows = domains.iter().map(|domain| organization_domain::ActiveModel {
                domain: Set(domain.clone()),
                organization_id: Set(id.0),
            });
            organization_domain::Entity::insert_many(rows).exec(self.conn).await.map_err(
                |error| match StoreError::from(error) {
                    StoreError::Conflict(_) => StoreError::Conflict("a domain belongs to another organization".into()),
                    other => other,
                },
            )?;
        }
        Ok(())
    }

    /// Writes an organization's fields (not its domains).
    pub async fn save_organization(&self, organization: &Organization) -> Result<bool> {
        let result = organization::Entity::update_many()
            .col_expr(organization::Column::Name, Expr::val(organization.name.clone()))
            .col_expr(organization::Column::Tier, Expr::val(organization.tier.clone()))
            .col_expr(organization::Column::Notes, Expr::val(organization.notes.clone()))
            .col_expr(
                organization::Column::Attributes,
                Expr::val(Value::Object(organization.attributes.clone().into_iter().collect())),
            )
            .col_expr(organization::Column::UpdatedAt, Expr::val(organization.updated_at))
            .filter(organization::Column::Id.eq(organization.id.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    async fn with_domains(&self, rows: Vec<organization::Model>) -> Result<Vec<Organization>> {
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let mut domains: HashMap<i64, Vec<String>> = HashMap::new();
        if !ids.is_empty() {
            let domain_rows = organization_domain::Entity::find()
                .filter(organization_domain::Column::OrganizationId.is_in(ids))
                .order_by_asc(organization_domain::Column::Domain)
                .all(self.conn)
                .await?;
            for row in domain_rows {
                domains.entry(row.organization_id).or_default().push(row.domain);
            }
        }
        rows.into_iter()
            .map(|row| {
                Ok(Organization {
                    id: OrganizationId(row.id),
                    name: row.name,
                    domains: domains.remove(&row.id).unwrap_or_default(),
                    tier: row.tier,
                    notes: row.notes,
                    attributes: json_map("organizations", row.attributes)?,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                })
            })
            .collect()
    }

    /// One organization.
    pub async fn organization(&self, id: OrganizationId) -> Result<Option<Organization>> {
        let Some(row) = organization::Entity::find_by_id(id.0).one(self.conn).await? else {
            return Ok(None);
        };
        Ok(self.with_domains(vec![row]).await?.pop())
    }

    /// A page of organizations, oldest first.
    pub async fn list_organizations(&self, limit: u64, cursor: Option<Cursor>) -> Result<Page<Organization>> {
        let mut select = organization::Entity::find();
        if let Some(cursor) = cursor {
            select = select.filter(organization::Column::Id.gt(cursor.id));
        }
        let rows = select.order_by_asc(organization::Column::Id).limit(limit + 1).all(self.conn).await?;
        let page = paginate(rows, limit, |row| Cursor::after_id(row.id));
        Ok(Page { items: self.with_domains(page.items).await?, next_cursor: page.next_cursor })
    }

    /// The organization owning an email domain.
    pub async fn organization_by_domain(&self, domain: &str) -> Result<Option<OrganizationId>> {
        Ok(organization_domain::Entity::find_by_id(domain.to_owned())
            .one(self.conn)
            .await?
            .map(|row| OrganizationId(row.organization_id)))
    }
}
