//! Customer and organization use cases: one customer, many identities, across every channel.

use std::collections::BTreeMap;

use kefu_domain::{
    Actor, Agent, Customer, CustomerId, DomainError, Identity, IdentityId, Organization, OrganizationId, Ticket,
    TicketEventDraft,
};
use kefu_store::{Cursor, CustomerFilter, NewCustomer, Page, Tx};
use serde_json::{Value, json};

use crate::bus::{Notice, TicketChange};
use crate::tickets::ticket_notice;
use crate::{App, AppError, Entity, Result, require, require_active};

/// A customer to create.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateCustomer {
    /// Display name; derived from the first identity when absent.
    pub name: Option<String>,
    /// Organization; found from the email domain when absent.
    pub organization_id: Option<OrganizationId>,
    /// Tier such as `vip`.
    pub tier: Option<String>,
    /// Preferred locale.
    pub locale: Option<String>,
    /// Free-form attributes.
    pub attributes: BTreeMap<String, Value>,
    /// Identities (at least one, or a name).
    pub identities: Vec<Identity>,
}

/// Changes to a customer's profile; `None` leaves a field alone, `Some(None)` clears it. Attributes are
/// merged key by key and a `null` value removes a key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerChanges {
    /// New name.
    pub name: Option<String>,
    /// New or cleared organization.
    pub organization_id: Option<Option<OrganizationId>>,
    /// New or cleared tier.
    pub tier: Option<Option<String>>,
    /// New or cleared locale.
    pub locale: Option<Option<String>>,
    /// Attributes to set or remove.
    pub attributes: Option<BTreeMap<String, Value>>,
}

/// An organization to create, or the new values of one (all fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrganizationInput {
    /// Unique name.
    pub name: String,
    /// Email domains whose new customers join it.
    pub domains: Vec<String>,
    /// Default tier.
    pub tier: Option<String>,
    /// Notes for agents.
    pub notes: String,
    /// Free-form attributes.
    pub attributes: BTreeMap<String, Value>,
}

fn normalize_locale(locale: &str) -> Result<String> {
    let locale = locale.trim();
    let valid = (2..=16).contains(&locale.len()) && locale.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(locale.to_owned())
    } else {
        Err(DomainError::invalid("locale", "a locale looks like zh-CN or en").into())
    }
}

fn merge_attributes(target: &mut BTreeMap<String, Value>, changes: &BTreeMap<String, Value>) {
    for (key, value) in changes {
        if value.is_null() {
            target.remove(key);
        } else {
            target.insert(key.clone(), value.clone());
        }
    }
}

impl App {
    /// Creates a customer with identities inside `tx`. Without an organization, an email identity whose
    /// domain belongs to an organization places the customer there.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_customer_with_identities(
        &self,
        tx: &Tx,
        name: String,
        organization_id: Option<OrganizationId>,
        tier: Option<String>,
        locale: Option<String>,
        attributes: BTreeMap<String, Value>,
        identities: &[Identity],
    ) -> Result<CustomerId> {
        let now = self.now();
        let organization_id = match organization_id {
            Some(id) => Some(id),
            None => {
                let mut found = None;
                for domain in identities.iter().filter_map(Identity::email_domain) {
                    if let Some(id) = tx.repo().organization_by_domain(domain).await? {
                        found = Some(id);
                        break;
                    }
                }
                found
            }
        };
        let draft = NewCustomer { name, organization_id, tier, locale, attributes };
        let id = tx.repo().insert_customer(&draft, now).await?;
        for identity in identities {
            tx.repo().add_identity(id, identity, now).await?;
        }
        Ok(id)
    }

    async fn check_organization(&self, tx: &Tx, organization_id: Option<OrganizationId>) -> Result<()> {
        if let Some(id) = organization_id
            && tx.repo().organization(id).await?.is_none()
        {
            return Err(AppError::InvalidReference {
                field: "organization_id",
                message: format!("there is no organization {id}"),
            });
        }
        Ok(())
    }

    /// Creates a customer.
    pub async fn create_customer(&self, agent: &Agent, command: CreateCustomer) -> Result<Customer> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "customer.edit_forbidden")?;
        let name = match (&command.name, command.identities.first()) {
            (Some(name), _) => Customer::normalize_name(name)?,
            (None, Some(identity)) => Customer::default_name(identity),
            (None, None) => {
                return Err(DomainError::invalid("name", "a customer needs a name or an identity").into());
            }
        };
        let tier = command.tier.as_deref().map(Customer::normalize_tier).transpose()?;
        let locale = command.locale.as_deref().map(normalize_locale).transpose()?;
        let tx = self.store.begin().await?;
        self.check_organization(&tx, command.organization_id).await?;
        let id = self
            .insert_customer_with_identities(
                &tx,
                name,
                command.organization_id,
                tier,
                locale,
                command.attributes,
                &command.identities,
            )
            .await?;
        let customer = tx.repo().customer(id).await?.ok_or(AppError::NotFound(Entity::Customer))?;
        self.queue_notice(&tx, &Notice::Customer { customer_id: id.0 }).await?;
        tx.commit().await?;
        Ok(customer)
    }

    /// The names of the requesters of tickets the caller was allowed to list, in one query: a page of
    /// tickets sends them along so that a client draws each row without asking for its customer.
    pub async fn requester_names(&self, tickets: &[Ticket]) -> Result<Vec<(CustomerId, String)>> {
        let mut ids: Vec<CustomerId> = tickets.iter().map(|ticket| ticket.requester_id).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(self.store.repo().customer_names(&ids).await?)
    }

    /// One customer with identities.
    pub async fn customer(&self, agent: &Agent, id: CustomerId) -> Result<Customer> {
        require_active(agent)?;
        self.store.repo().customer(id).await?.ok_or(AppError::NotFound(Entity::Customer))
    }

    /// The customer owning an identity.
    pub async fn customer_by_identity(&self, agent: &Agent, identity: &Identity) -> Result<Customer> {
        require_active(agent)?;
        let repo = self.store.repo();
        let id = repo.customer_id_by_identity(identity).await?.ok_or(AppError::NotFound(Entity::Customer))?;
        repo.customer(id).await?.ok_or(AppError::NotFound(Entity::Customer))
    }

    /// A page of customers.
    pub async fn list_customers(
        &self,
        agent: &Agent,
        filter: &CustomerFilter,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Page<Customer>> {
        require_active(agent)?;
        Ok(self.store.repo().list_customers(filter, limit, cursor).await?)
    }

    /// Changes a customer's profile.
    pub async fn update_customer(&self, agent: &Agent, id: CustomerId, changes: CustomerChanges) -> Result<Customer> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "customer.edit_forbidden")?;
        let tx = self.store.begin().await?;
        let mut customer = tx.repo().customer(id).await?.ok_or(AppError::NotFound(Entity::Customer))?;
        if let Some(name) = &changes.name {
            customer.name = Customer::normalize_name(name)?;
        }
        if let Some(organization_id) = changes.organization_id {
            self.check_organization(&tx, organization_id).await?;
            customer.organization_id = organization_id;
        }
        if let Some(tier) = &changes.tier {
            customer.tier = tier.as_deref().map(Customer::normalize_tier).transpose()?;
        }
        if let Some(locale) = &changes.locale {
            customer.locale = locale.as_deref().map(normalize_locale).transpose()?;
        }
        if let Some(attributes) = &changes.attributes {
            merge_attributes(&mut customer.attributes, attributes);
        }
        customer.updated_at = self.now();
        tx.repo().save_customer(&customer).await?;
        self.queue_notice(&tx, &Notice::Customer { customer_id: id.0 }).await?;
        tx.commit().await?;
        Ok(customer)
    }

    /// Adds an identity to a customer; refused if another customer owns it (merge them instead).
    pub async fn add_identity(&self, agent: &Agent, id: CustomerId, identity: Identity) -> Result<Customer> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "customer.edit_forbidden")?;
        let tx = self.store.begin().await?;
        tx.repo().customer(id).await?.ok_or(AppError::NotFound(Entity::Customer))?;
        tx.repo().add_identity(id, &identity, self.now()).await?;
        let customer = tx.repo().customer(id).await?.ok_or(AppError::NotFound(Entity::Customer))?;
        self.queue_notice(&tx, &Notice::Customer { customer_id: id.0 }).await?;
        tx.commit().await?;
        Ok(customer)
    }

    /// Removes one of a customer's identities.
    pub async fn remove_identity(&self, agent: &Agent, id: CustomerId, identity_id: IdentityId) -> Result<Customer> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "customer.edit_forbidden")?;
        let tx = self.store.begin().await?;
        if !tx.repo().remove_identity(id, identity_id).await? {
            return Err(AppError::NotFound(Entity::Identity));
        }
        let customer = tx.repo().customer(id).await?.ok_or(AppError::NotFound(Entity::Customer))?;
        self.queue_notice(&tx, &Notice::Customer { customer_id: id.0 }).await?;
        tx.commit().await?;
        Ok(customer)
    }

    /// Merges `source` into `target`: every identity and ticket of the source moves to the target, each moved
    /// ticket records the change in its history, and the source is marked as merged. Supervisors and admins.
    pub async fn merge_customers(
        &self,
        agent: &Agent,
        source_id: CustomerId,
        target_id: CustomerId,
    ) -> Result<Customer> {
        require_active(agent)?;
        require(agent.role.manages_team(), "customer.merge_forbidden")?;
        if source_id == target_id {
            return Err(DomainError::SameCustomer.into());
        }
        let now = self.now();
        let tx = self.store.begin().await?;
        let mut source = tx.repo().customer(source_id).await?.ok_or(AppError::NotFound(Entity::Customer))?;
        let target = tx.repo().customer(target_id).await?.ok_or(AppError::NotFound(Entity::Customer))?;
        if source.merged_into_id.is_some() || target.merged_into_id.is_some() {
            return Err(DomainError::invalid("customer_id", "a merged customer cannot be merged again").into());
        }
        tx.repo().move_identities(source.id, target.id).await?;
        let moved = tx.repo().move_requester_tickets(source.id, target.id).await?;
        let change = [TicketEventDraft::field_changed("requester_id", json!(source.id.0), json!(target.id.0))];
        for ticket_id in moved {
            let events = tx.repo().append_events(ticket_id, Actor::Agent(agent.id), now, &change).await?;
            if let Some(ticket) = tx.repo().ticket(ticket_id).await? {
                let notice = Notice::Ticket(ticket_notice(&ticket, TicketChange::Updated, None, agent, &events));
                self.queue_notice(&tx, &notice).await?;
            }
        }
        source.merged_into_id = Some(target.id);
        source.updated_at = now;
        tx.repo().save_customer(&source).await?;
        let merged = tx.repo().customer(target.id).await?.ok_or(AppError::NotFound(Entity::Customer))?;
        self.queue_notice(&tx, &Notice::Customer { customer_id: source.id.0 }).await?;
        self.queue_notice(&tx, &Notice::Customer { customer_id: target.id.0 }).await?;
        tx.commit().await?;
        self.outbox_written();
        Ok(merged)
    }

    fn organization_values(input: &OrganizationInput) -> Result<(String, Vec<String>, Option<String>)> {
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(DomainError::invalid("name", "a name is 1-200 characters").into());
        }
        let domains = Organization::normalize_domains(&input.domains)?;
        let tier = input.tier.as_deref().map(Customer::normalize_tier).transpose()?;
        Ok((name.to_owned(), domains, tier))
    }

    /// Creates an organization.
    pub async fn create_organization(&self, agent: &Agent, input: OrganizationInput) -> Result<Organization> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "organization.edit_forbidden")?;
        let (name, domains, tier) = Self::organization_values(&input)?;
        let tx = self.store.begin().await?;
        let id = tx
            .repo()
            .insert_organization(&name, &domains, tier.as_deref(), &input.notes, &input.attributes, self.now())
            .await?;
        let organization = tx.repo().organization(id).await?.ok_or(AppError::NotFound(Entity::Organization))?;
        tx.commit().await?;
        Ok(organization)
    }

    /// One organization.
    pub async fn organization(&self, agent: &Agent, id: OrganizationId) -> Result<Organization> {
        require_active(agent)?;
        self.store.repo().organization(id).await?.ok_or(AppError::NotFound(Entity::Organization))
    }

    /// A page of organizations.
    pub async fn list_organizations(
        &self,
        agent: &Agent,
        limit: u64,
        cursor: Option<Cursor>,
    ) -> Result<Page<Organization>> {
        require_active(agent)?;
        Ok(self.store.repo().list_organizations(limit, cursor).await?)
    }

    /// Replaces an organization's values.
    pub async fn update_organization(
        &self,
        agent: &Agent,
        id: OrganizationId,
        input: OrganizationInput,
    ) -> Result<Organization> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "organization.edit_forbidden")?;
        let (name, domains, tier) = Self::organization_values(&input)?;
        let tx = self.store.begin().await?;
        let mut organization = tx.repo().organization(id).await?.ok_or(AppError::NotFound(Entity::Organization))?;
        organization.name = name;
        organization.tier = tier;
        organization.notes = input.notes;
        organization.attributes = input.attributes;
        organization.updated_at = self.now();
        tx.repo().save_organization(&organization).await?;
        tx.repo().set_organization_domains(id, &domains).await?;
        organization.domains = domains;
        tx.commit().await?;
        Ok(organization)
    }
}
