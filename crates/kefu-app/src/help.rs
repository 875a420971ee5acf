//! The public help center's use cases: what customers may read (published public articles, listed by
//! title without their bodies), its search with the results checked against the database, and the "submit a
//! request" form, which opens a customer-authored ticket on the web channel through the same path inbound
//! mail takes (requester found or created by email, triggers and SLA through `after_change`).
//!
//! Spam control lives here too: [`App::take_rate`] counts attempts per bucket (a client address, an email)
//! in the database, so every node of a cluster shares the count.
//!
//! What this module is not: it renders nothing (pages are `kefu-http`'s), and it never shows a draft, an
//! internal or an archived article, whatever the search index says.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use chrono::Duration;
use kefu_domain::kb::KbCategory;
use kefu_domain::triggers::TriggerEvent;
use kefu_domain::{
    Actor, AuthorKind, Category, CategoryId, Channel, CustomFieldDefinition, CustomerId, DomainError, FieldType,
    Identity, MessageDraft, NewTicket, Priority, Status, Ticket,
};
use kefu_search::Hit;
/// A help-center article entry, re-exported so callers need not depend on `kefu-store`.
pub use kefu_store::HelpEntry;
use kefu_store::{NewAttachment, Tx};
use serde_json::Value;

use crate::automation::Change;
use crate::bus::{Notice, TicketChange};
use crate::mail::customer_notice;
use crate::tickets::{Requester, message_event};
use crate::{App, AppError, Result};

/// Files one request or reply from the help center may carry.
pub const MAX_REQUEST_FILES: usize = 5;
/// Requests one client address (and one email) may submit per [`REQUEST_WINDOW`].
pub const REQUESTS_PER_WINDOW: u64 = 5;
/// The window of the request form's rate limit.
pub const REQUEST_WINDOW: Duration = Duration::minutes(10);
/// Rate-limit hits are kept this long (longer than any window).
const RATE_HITS_KEPT: Duration = Duration::days(1);

/// What the help center lists in one locale: every category and section, and the published public
/// articles translated into it, most helpful first (then most recently updated).
#[derive(Debug, Clone, PartialEq)]
pub struct HelpIndex {
    /// Categories and sections, in order.
    pub categories: Vec<KbCategory>,
    /// Article translations in the locale, best first.
    pub articles: Vec<HelpEntry>,
}

/// A file sent with a request or a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    /// The name the browser gave.
    pub filename: String,
    /// The type the browser gave.
    pub content_type: Option<String>,
    /// The bytes.
    pub content: Bytes,
}

/// What the request form offers: the ticket categories, and the custom fields each requires.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestForm {
    /// Ticket categories.
    pub categories: Vec<Category>,
    /// Active custom field definitions.
    pub definitions: Vec<CustomFieldDefinition>,
}

impl RequestForm {
    /// The fields a customer fills in for a category: the ones it requires, in its order.
    pub fn fields_of(&self, category_id: Option<CategoryId>) -> Vec<&CustomFieldDefinition> {
        let Some(category) = self.categories.iter().find(|category| Some(category.id) == category_id) else {
            return vec![];
        };
        category
            .required_fields
            .iter()
            .filter_map(|key| self.definitions.iter().find(|definition| &definition.key == key))
            .collect()
    }
}

/// A request as a customer submits it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    /// Their name (a new customer's name; optional when signed in).
    pub name: String,
    /// Their email (ignored when signed in: the session's customer asks).
    pub email: String,
    /// Subject.
    pub subject: String,
    /// What they need.
    pub description: String,
    /// Ticket category.
    pub category_id: Option<CategoryId>,
    /// The category's fields as typed (text from the form), by key.
    pub custom_fields: BTreeMap<String, String>,
    /// Attachments.
    pub files: Vec<Upload>,
    /// The signed-in customer, if any.
    pub customer_id: Option<CustomerId>,
    /// The client's address, for the rate limit.
    pub client: String,
}

/// A search hit that is a published public article, with what a link to it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct HelpHit {
    /// The index's hit (highlighted title and snippet).
    pub hit: Hit,
    /// The article translation, as the database has it now.
    pub entry: HelpEntry,
}

/// Turns a form's text into a custom field's JSON value (checked afterwards by the domain).
fn form_value(definition: &CustomFieldDefinition, text: &str) -> Value {
    let text = text.trim();
    match definition.field_type {
        FieldType::Number if !text.is_empty() => {
            text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or_else(|| text.into(), Value::Number)
        }
        FieldType::Checkbox if !text.is_empty() => Value::Bool(matches!(text, "true" | "on" | "yes" | "1")),
        _ => Value::String(text.to_owned()),
    }
}

/// Refuses more files than [`MAX_REQUEST_FILES`] or a file over the limit, before anything is written.
pub(crate) fn check_uploads(files: &[Upload], limit: usize) -> Result<()> {
    if files.len() > MAX_REQUEST_FILES {
        return Err(DomainError::invalid("attachments", format!("at most {MAX_REQUEST_FILES} files")).into());
    }
    if files.iter().any(|file| file.content.len() > limit) {
        return Err(AppError::TooLarge { limit });
    }
    Ok(())
}

impl App {
    /// What the help center lists in `locale`: categories, and the articles translated into it, best first.
    /// Three queries, however many articles there are.
    pub async fn help_index(&self, locale: &str) -> Result<HelpIndex> {
        let repo = self.store.repo();
        let categories = repo.kb_categories().await?;
        let mut articles = repo.help_entries(Some(locale)).await?;
        let ids: Vec<i64> = articles.iter().map(|entry| entry.translation_id).collect();
        let votes = repo.kb_feedback_counts(&ids).await?;
        let helpful = |entry: &HelpEntry| votes.get(&entry.translation_id).map_or(0, |(yes, no)| yes - no);
        articles.sort_by(|a, b| {
            helpful(b).cmp(&helpful(a)).then(b.updated_at.cmp(&a.updated_at)).then(a.article_id.cmp(&b.article_id))
        });
        Ok(HelpIndex { categories, articles })
    }

    /// Every published public article translation in every locale, for the sitemap and language links.
    pub async fn help_entries(&self) -> Result<Vec<HelpEntry>> {
        Ok(self.store.repo().help_entries(None).await?)
    }

    /// Searches the help center in `locale` and logs the search ([`App::public_search`]); hits the index
    /// still has but the database no longer publishes (an article unpublished a moment ago) are left out.
    pub async fn help_search(&self, text: &str, locale: &str, limit: usize) -> Result<(Vec<HelpHit>, i64)> {
        let (results, log_id) = self.public_search(text, Some(locale), limit).await?;
        if results.hits.is_empty() {
            return Ok((vec![], log_id));
        }
        let mut entries: HashMap<i64, HelpEntry> = self
            .store
            .repo()
            .help_entries(Some(locale))
            .await?
            .into_iter()
            .map(|entry| (entry.translation_id, entry))
            .collect();
        let hits = results
            .hits
            .into_iter()
            .filter_map(|hit| entries.remove(&hit.id).map(|entry| HelpHit { hit, entry }))
            .collect();
        Ok((hits, log_id))
    }

    /// The ticket categories and their required fields, for the request form.
    pub async fn request_form(&self) -> Result<RequestForm> {
        let set = self.rule_set().await?;
        Ok(RequestForm { categories: set.categories.clone(), definitions: set.definitions.clone() })
    }

    /// Takes one attempt from each bucket, allowing `limit` per `window`; refuses with
    /// [`AppError::RateLimited`] (and takes nothing) when any bucket is spent.
    pub async fn take_rate(&self, buckets: &[String], limit: u64, window: Duration) -> Result<()> {
        let now = self.now();
        let tx = self.store.begin().await?;
        let mut wait: Option<i64> = None;
        for bucket in buckets {
            let (count, oldest) = tx.repo().rate_hits(bucket, now - window).await?;
            if count >= limit {
                let seconds = (oldest.unwrap_or(now) + window - now).num_seconds().max(1);
                wait = wait.max(Some(seconds));
            }
        }
        if let Some(seconds) = wait {
            return Err(AppError::RateLimited { retry_after_seconds: u64::try_from(seconds).unwrap_or(1) });
        }
        for bucket in buckets {
            tx.repo().add_rate_hit(bucket, now).await?;
        }
        tx.repo().prune_portal(now, now - RATE_HITS_KEPT).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes uploaded files to the object store (before the transaction) and describes them.
    pub(crate) async fn put_uploads(&self, files: Vec<Upload>) -> Result<Vec<NewAttachment>> {
        let mut stored = Vec::with_capacity(files.len());
        for file in files {
            stored.push(self.put_file(&file.filename, file.content_type.as_deref(), file.content, None).await?);
        }
        Ok(stored)
    }

    /// Records stored files and returns their ids, inside `tx`.
    pub(crate) async fn insert_uploads(
        &self,
        tx: &Tx,
        files: &[NewAttachment],
    ) -> Result<Vec<kefu_domain::AttachmentId>> {
        let mut ids = Vec::with_capacity(files.len());
        for file in files {
            ids.push(tx.repo().insert_attachment(file, self.now()).await?.id);
        }
        Ok(ids)
    }

    /// Opens a ticket from the help center's request form: checks the form (the category's required fields
    /// all at once), takes from the rate limit (per client address and per email or customer), stores the
    /// files, then in one transaction finds or creates the customer by email, opens the ticket on the web
    /// channel with the description as the customer's first message, and runs the triggers and the SLA.
    pub async fn submit_request(&self, request: NewRequest) -> Result<Ticket> {
        let (requester, requester_bucket) = match request.customer_id {
            Some(id) => (Requester::Existing(id), format!("request:customer:{id}")),
            None => {
                let identity = Identity::email(&request.email)?;
                let name = kefu_domain::Customer::normalize_name(&request.name)?;
                let bucket = format!("request:email:{}", identity.value);
                (Requester::Identity { identity, name: Some(name) }, bucket)
            }
        };
        let subject = request.subject.trim().to_owned();
        if subject.is_empty() {
            return Err(DomainError::invalid("subject", "a request needs a subject").into());
        }
        if request.description.trim().is_empty() {
            return Err(DomainError::invalid("description", "describe what you need").into());
        }
        check_uploads(&request.files, self.config.max_attachment_bytes)?;
        let set = self.rule_set().await?;
        let category = match request.category_id {
            Some(id) => Some(set.categories.iter().find(|category| category.id == id).ok_or_else(|| {
                AppError::InvalidReference { field: "category_id", message: format!("there is no category {id}") }
            })?),
            None => None,
        };
        let mut custom_fields = BTreeMap::new();
        for (key, text) in &request.custom_fields {
            let definition = category
                .filter(|category| category.required_fields.contains(key))
                .and_then(|_| set.definitions.iter().find(|definition| &definition.key == key))
                .ok_or_else(|| DomainError::invalid(format!("custom_fields.{key}"), "no such field on this form"))?;
            custom_fields.insert(key.clone(), form_value(definition, text));
        }
        let custom_fields = kefu_domain::check_custom_fields(&custom_fields, &set.definitions, category)?;
        let rules = kefu_domain::FieldRules { definitions: &set.definitions, category };
        self.take_rate(
            &[format!("request:ip:{}", request.client), requester_bucket],
            REQUESTS_PER_WINDOW,
            REQUEST_WINDOW,
        )
        .await?;
        let files = self.put_uploads(request.files).await?;

        let now = self.now();
        let tx = self.store.begin().await?;
        let requester = self.resolve_requester_brief(&tx, &requester).await?;
        let attachment_ids = self.insert_uploads(&tx, &files).await?;
        let draft = NewTicket {
            subject,
            status: Status::New,
            priority: Priority::Normal,
            category_id: request.category_id,
            channel: Channel::Web,
            requester_id: requester.id,
            assignee_id: None,
            group_id: None,
            tags: vec![],
            custom_fields,
        }
        .validate(rules)?;
        let message = MessageDraft {
            author: AuthorKind::Customer(requester.id),
            internal: false,
            body_text: request.description.trim().to_owned(),
            body_html: None,
            attachment_ids,
        }
        .validate(None)?;
        let ticket = tx.repo().insert_ticket(&draft, now).await?;
        let message = tx.repo().insert_message(ticket.id, &message, now).await?;
        let change = Change {
            event: TriggerEvent::TicketCreated,
            previous: None,
            message: Some(&message),
            requester: Some(&requester),
            unwritten: vec![draft.created_event(), message_event(&message)],
            actor: Actor::Customer(requester.id),
            planned: None,
        };
        let (ticket, events) = self.after_change(&tx, ticket, change).await?;
        let mut notice = customer_notice(&ticket, TicketChange::Created, None, &events);
        notice.internal = Some(false);
        self.queue_notice(&tx, &Notice::Ticket(notice)).await?;
        tx.commit().await?;
        self.outbox_written();
        Ok(ticket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(field_type: FieldType) -> CustomFieldDefinition {
        CustomFieldDefinition { key: "x".into(), label: "X".into(), field_type, options: vec![] }
    }

    #[test]
    fn form_text_becomes_typed_values() {
        assert_eq!(form_value(&definition(FieldType::Number), " 12.5 "), serde_json::json!(12.5));
        assert_eq!(form_value(&definition(FieldType::Number), "twelve"), serde_json::json!("twelve"));
        assert_eq!(form_value(&definition(FieldType::Checkbox), "on"), serde_json::json!(true));
        assert_eq!(form_value(&definition(FieldType::Checkbox), ""), serde_json::json!(""));
        assert_eq!(form_value(&definition(FieldType::Date), "2026-01-02"), serde_json::json!("2026-01-02"));
    }
}
