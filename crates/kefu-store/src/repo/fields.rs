//! Custom field definitions and categories.

use chrono::{DateTime, Utc};
use kefu_domain::{Category, CategoryId, CustomFieldDefinition, CustomFieldId, FieldType};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use super::{json_strings, parse_stored};
use crate::entities::{category, custom_field};
use crate::{Repo, Result};

fn definition_from(row: custom_field::Model) -> Result<(CustomFieldId, CustomFieldDefinition, bool)> {
    Ok((
        CustomFieldId(row.id),
        CustomFieldDefinition {
            key: row.key,
            label: row.label,
            field_type: parse_stored::<FieldType>("custom_fields", &row.field_type)?,
            options: json_strings("custom_fields", row.options)?,
        },
        row.active,
    ))
}

fn category_from(row: category::Model) -> Result<Category> {
    Ok(Category {
        id: CategoryId(row.id),
        name: row.name,
        required_fields: json_strings("categories", row.required_fields)?,
    })
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Creates a custom field; [`crate::StoreError::Conflict`] if the key is taken.
    pub async fn insert_custom_field(
        &self,
        definition: &CustomFieldDefinition,
        now: DateTime<Utc>,
    ) -> Result<CustomFieldId> {
        let row = custom_field::ActiveModel {
            key: Set(definition.key.clone()),
            label: Set(definition.label.clone()),
            field_type: Set(definition.field_type.as_str().to_owned()),
            options: Set(json!(definition.options)),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        Ok(CustomFieldId(custom_field::Entity::insert(row).exec_with_returning(self.conn).await?.id))
    }

    /// Every custom field with its id and whether it is active, in creation order.
    pub async fn custom_fields(&self) -> Result<Vec<(CustomFieldId, CustomFieldDefinition, bool)>> {
        let rows = custom_field::Entity::find().order_by_asc(custom_field::Column::Id).all(self.conn).await?;
        rows.into_iter().map(definition_from).collect()
    }

    /// The active custom field definitions, which tickets are checked against.
    pub async fn active_custom_fields(&self) -> Result<Vec<CustomFieldDefinition>> {
        let rows = custom_field::Entity::find()
            .filter(custom_field::Column::Active.eq(true))
            .order_by_asc(custom_field::Column::Id)
            .all(self.conn)
            .await?;
        rows.into_iter().map(|row| definition_from(row).map(|(_, definition, _)| definition)).collect()
    }

    /// Updates a custom field's label, options and activity (its key and type never change).
    pub async fn save_custom_field(
        &self,
        id: CustomFieldId,
        definition: &CustomFieldDefinition,
        active: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let result = custom_field::Entity::update_many()
            .col_expr(custom_field::Column::Label, Expr::val(definition.label.clone()))
            .col_expr(custom_field::Column::Options, Expr::val(json!(definition.options)))
            .col_expr(custom_field::Column::Active, Expr::val(active))
            .col_expr(custom_field::Column::UpdatedAt, Expr::val(now))
            .filter(custom_field::Column::Id.eq(id.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Creates a category; [`crate::StoreError::Conflict`] if the name is taken.
    pub async fn insert_category(
        &self,
        name: &str,
        required_fields: &[String],
        now: DateTime<Utc>,
    ) -> Result<Category> {
        let row = category::ActiveModel {
            name: Set(name.to_owned()),
            required_fields: Set(json!(required_fields)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        category_from(category::Entity::insert(row).exec_with_returning(self.conn).await?)
    }

    /// One category.
    pub async fn category(&self, id: CategoryId) -> Result<Option<Category>> {
        category::Entity::find_by_id(id.0).one(self.conn).await?.map(category_from).transpose()
    }

    /// Every category, by name.
    pub async fn categories(&self) -> Result<Vec<Category>> {
        let rows = category::Entity::find().order_by_asc(category::Column::Name).all(self.conn).await?;
        rows.into_iter().map(category_from).collect()
    }

    /// Writes a category's name and required fields.
    pub async fn save_category(&self, category: &Category, now: DateTime<Utc>) -> Result<bool> {
        let result = category::Entity::update_many()
            .col_expr(category::Column::Name, Expr::val(category.name.clone()))
            .col_expr(category::Column::RequiredFields, Expr::val(json!(category.required_fields)))
            .col_expr(category::Column::UpdatedAt, Expr::val(now))
            .filter(category::Column::Id.eq(category.id.0))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }
}
