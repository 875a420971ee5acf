//! Custom field and category use cases (admins): which fields tickets have, which each category requires.

use kefu_domain::{Agent, Category, CategoryId, CustomFieldDefinition, CustomFieldId, DomainError, FieldType};

use crate::{App, AppError, Entity, Result, require, require_active};

/// A custom field with its id and state, as admins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomField {
    /// Id.
    pub id: CustomFieldId,
    /// The definition.
    pub definition: CustomFieldDefinition,
    /// Inactive fields are kept (old tickets keep their values) but no longer accepted.
    pub active: bool,
}

/// Changes to a custom field; its key and type are fixed once created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomFieldChanges {
    /// New label.
    pub label: Option<String>,
    /// New dropdown options.
    pub options: Option<Vec<String>>,
    /// Activate or retire.
    pub active: Option<bool>,
}

fn normalize_category_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("name", "a category name is 1-100 characters").into());
    }
    Ok(name.to_owned())
}

impl App {
    async fn check_required_fields(&self, required: &[String]) -> Result<Vec<String>> {
        let known = self.store.repo().active_custom_fields().await?;
        let mut checked = Vec::with_capacity(required.len());
        for key in required {
            if !known.iter().any(|definition| &definition.key == key) {
                return Err(DomainError::invalid(
                    "required_fields",
                    format!("there is no active custom field {key:?}"),
                )
                .into());
            }
            if !checked.contains(key) {
                checked.push(key.clone());
            }
        }
        Ok(checked)
    }

    /// Defines a custom field.
    pub async fn create_custom_field(
        &self,
        actor: &Agent,
        key: &str,
        label: &str,
        field_type: FieldType,
        options: Vec<String>,
    ) -> Result<CustomField> {
        require_active(actor)?;
        require(actor.role.manages_settings(), "settings.forbidden")?;
        let definition = CustomFieldDefinition {
            key: key.trim().to_owned(),
            label: label.trim().to_owned(),
            field_type,
            options: options.iter().map(|option| option.trim().to_owned()).collect(),
        };
        definition.validate()?;
        let tx = self.store.begin().await?;
        let id = tx.repo().insert_custom_field(&definition, self.now()).await?;
        tx.commit().await?;
        self.invalidate_rules().await;
        Ok(CustomField { id, definition, active: true })
    }

    /// Every custom field, active or not.
    pub async fn list_custom_fields(&self, actor: &Agent) -> Result<Vec<CustomField>> {
        require_active(actor)?;
        let rows = self.store.repo().custom_fields().await?;
        Ok(rows.into_iter().map(|(id, definition, active)| CustomField { id, definition, active }).collect())
    }

    /// Changes a custom field's label, options or activity.
    pub async fn update_custom_field(
        &self,
        actor: &Agent,
        id: CustomFieldId,
        changes: CustomFieldChanges,
    ) -> Result<CustomField> {
        require_active(actor)?;
        require(actor.role.manages_settings(), "settings.forbidden")?;
        let tx = self.store.begin().await?;
        let (_, mut definition, mut active) = tx
            .repo()
            .custom_fields()
            .await?
            .into_iter()
            .find(|(field_id, _, _)| *field_id == id)
            .ok_or(AppError::NotFound(Entity::CustomField))?;
        if let Some(label) = &changes.label {
            definition.label = label.trim().to_owned();
        }
        if let Some(options) = &changes.options {
            definition.options = options.iter().map(|option| option.trim().to_owned()).collect();
        }
        if let Some(now_active) = changes.active {
            active = now_active;
        }
        definition.validate()?;
        tx.repo().save_custom_field(id, &definition, active, self.now()).await?;
        tx.commit().await?;
        self.invalidate_rules().await;
        Ok(CustomField { id, definition, active })
    }

    /// Creates a category requiring some custom fields.
    pub async fn create_category(&self, actor: &Agent, name: &str, required_fields: &[String]) -> Result<Category> {
        require_active(actor)?;
        require(actor.role.manages_settings(), "settings.forbidden")?;
        let name = normalize_category_name(name)?;
        let required_fields = self.check_required_fields(required_fields).await?;
        let tx = self.store.begin().await?;
        let category = tx.repo().insert_category(&name, &required_fields, self.now()).await?;
        tx.commit().await?;
        self.invalidate_rules().await;
        Ok(category)
    }

    /// Every category.
    pub async fn list_categories(&self, actor: &Agent) -> Result<Vec<Category>> {
        require_active(actor)?;
        Ok(self.store.repo().categories().await?)
    }

    /// Renames a category or changes its required fields.
    pub async fn update_category(
        &self,
        actor: &Agent,
        id: CategoryId,
        name: Option<&str>,
        required_fields: Option<&[String]>,
    ) -> Result<Category> {
        require_active(actor)?;
        require(actor.role.manages_settings(), "settings.forbidden")?;
        let required_fields = match required_fields {
            Some(fields) => Some(self.check_required_fields(fields).await?),
            None => None,
        };
        let tx = self.store.begin().await?;
        let mut category = tx.repo().category(id).await?.ok_or(AppError::NotFound(Entity::Category))?;
        if let Some(name) = name {
            category.name = normalize_category_name(name)?;
        }
        if let Some(fields) = required_fields {
            category.required_fields = fields;
        }
        tx.repo().save_category(&category, self.now()).await?;
        tx.commit().await?;
        self.invalidate_rules().await;
        Ok(category)
    }
}
