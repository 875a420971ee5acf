//! Knowledge-base use cases: categories, articles in several locales (Markdown rendered and sanitized),
//! revisions with diff and restore, reader feedback, searches with their log (top and zero-result queries,
//! clicks, deflections), suggestions for agents and customers, drafting an article from a solved ticket, and
//! files on articles (images in the body, downloads), which the help center serves only for published public
//! articles.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::NaiveDate;
use kefu_domain::kb::{self, Article, ArticleStatus, KbCategory, Translation, Visibility};
use kefu_domain::{Agent, AttachmentId, AuthorKind, DomainError, Tag, TicketId};
use kefu_search::{ArticleDoc, DocKind, SearchQuery, SearchResults};

use crate::search::AgentResults;
use kefu_store::{ArticleFilter, AttachmentRecord, RevisionRecord, SearchStats, TranslationText};
use serde_json::Value;

use crate::bus::Notice;
use crate::{App, AppError, Entity, Result, require, require_active};

/// Renders article Markdown to HTML that is safe to show (ammonia's safe subset).
pub fn render_markdown(markdown: &str) -> String {
    let parser = pulldown_cmark::Parser::new_ext(
        markdown,
        pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH,
    );
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    crate::sanitize::clean_html(&html)
}

/// The plain text of article Markdown (for the index and snippets).
pub fn markdown_text(markdown: &str) -> String {
    let mut text = String::new();
    for event in pulldown_cmark::Parser::new(markdown) {
        match event {
            pulldown_cmark::Event::Text(part) | pulldown_cmark::Event::Code(part) => text.push_str(&part),
            pulldown_cmark::Event::SoftBreak | pulldown_cmark::Event::HardBreak | pulldown_cmark::Event::End(_) => {
                text.push(' ')
            }
            _ => {}
        }
    }
    text
}

/// An article as written by an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleInput {
    /// Section or category.
    pub category_id: Option<i64>,
    /// Life cycle.
    pub status: ArticleStatus,
    /// Who may read it.
    pub visibility: Visibility,
    /// Tags.
    pub tags: Vec<String>,
    /// Review-by date.
    pub review_by: Option<NaiveDate>,
    /// Locale variants to create or replace: `(locale, title, Markdown body)`.
    pub translations: Vec<(String, String, String)>,
}

/// A line-by-line comparison of two versions of a translation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// `(tag, line)` with tag `' '` unchanged, `'-'` removed, `'+'` added.
    pub lines: Vec<(char, String)>,
}

impl App {
    /// Every knowledge-base category and section.
    pub async fn kb_categories(&self) -> Result<Vec<KbCategory>> {
        Ok(self.store.repo().kb_categories().await?)
    }

    /// Creates (`id = 0`) or replaces a category or section (admins and supervisors).
    pub async fn save_kb_category(&self, agent: &Agent, mut category: KbCategory) -> Result<KbCategory> {
        require_active(agent)?;
        require(agent.role.manages_team(), "kb.manage_forbidden")?;
        if category.names.is_empty()
            || category.names.values().any(|name| name.trim().is_empty() || name.chars().count() > 200)
        {
            return Err(
                DomainError::invalid("names", "a category needs a name (1-200 characters) per locale given").into()
            );
        }
        let mut names = BTreeMap::new();
        for (locale, name) in &category.names {
            names.insert(kb::check_locale(locale)?, name.trim().to_owned());
        }
        category.names = names;
        let tx = self.store.begin().await?;
        if let Some(parent) = category.parent_id {
            let categories = tx.repo().kb_categories().await?;
            match categories.iter().find(|candidate| candidate.id == parent) {
                Some(found)
                    if found.parent_id.is_none()
                        && parent != category.id
                        && !categories.iter().any(|child| child.parent_id == Some(category.id)) => {}
                _ => {
                    return Err(AppError::InvalidReference {
                        field: "parent_id",
                        message:
                            "sections belong to a top-level category, and a category with sections stays top-level"
                                .into(),
                    });
                }
            }
        }
        category.id = tx.repo().save_kb_category(&category, self.now()).await.map_err(|error| match error {
            kefu_store::StoreError::MissingReference(_) => AppError::NotFound(Entity::KbCategory),
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(category)
    }

    /// Deletes a category (admins and supervisors); its articles stay, without a category.
    pub async fn delete_kb_category(&self, agent: &Agent, id: i64) -> Result<()> {
        require_active(agent)?;
        require(agent.role.manages_team(), "kb.manage_forbidden")?;
        let tx = self.store.begin().await?;
        if !tx.repo().delete_kb_category(id).await? {
            return Err(AppError::NotFound(Entity::KbCategory));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates (`id = None`) or changes an article; each given translation is created or replaced (with a
    /// revision). Agents who work tickets may write articles.
    pub async fn save_article(&self, agent: &Agent, id: Option<i64>, input: ArticleInput) -> Result<Article> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "kb.edit_forbidden")?;
        let tags = Tag::parse_set(&input.tags)?;
        let mut translations = Vec::with_capacity(input.translations.len());
        for (locale, title, body) in &input.translations {
            let locale = kb::check_locale(locale)?;
            let title = kb::check_article_text(title, body)?;
            translations.push((locale, title, body.clone(), render_markdown(body)));
        }
        if id.is_none() && translations.is_empty() {
            return Err(DomainError::invalid("translations", "a new article needs at least one locale").into());
        }
        let now = self.now();
        let tx = self.store.begin().await?;
        if let Some(category_id) = input.category_id
            && !tx.repo().kb_categories().await?.iter().any(|category| category.id == category_id)
        {
            return Err(AppError::InvalidReference {
                field: "category_id",
                message: format!("there is no category {category_id}"),
            });
        }
        let existing = match id {
            Some(id) => Some(tx.repo().kb_article(id).await?.ok_or(AppError::NotFound(Entity::Article))?),
            None => None,
        };
        let article = Article {
            id: id.unwrap_or(0),
            category_id: input.category_id,
            status: input.status,
            visibility: input.visibility,
            tags,
            review_by: input.review_by,
            source_ticket_id: existing.as_ref().and_then(|article| article.source_ticket_id),
            translations: vec![],
            created_at: now,
            updated_at: now,
        };
        let article_id = tx.repo().save_kb_article(&article, now).await?;
        for (locale, title, body, html) in &translations {
            tx.repo()
                .save_kb_translation(
                    article_id,
                    locale,
                    TranslationText { title, body_markdown: body, body_html: html },
                    Some(agent.id),
                    now,
                )
                .await?;
        }
        self.queue_notice(&tx, &Notice::Article { article_id }).await?;
        let saved = tx.repo().kb_article(article_id).await?.ok_or(AppError::NotFound(Entity::Article))?;
        tx.commit().await?;
        self.outbox_written();
        Ok(saved)
    }

    /// One article as an agent sees it.
    pub async fn article(&self, agent: &Agent, id: i64) -> Result<Article> {
        require_active(agent)?;
        self.store.repo().kb_article(id).await?.ok_or(AppError::NotFound(Entity::Article))
    }

    /// One published public article, for the help center.
    pub async fn public_article(&self, id: i64) -> Result<Article> {
        self.store.repo().kb_article(id).await?.filter(Article::is_public).ok_or(AppError::NotFound(Entity::Article))
    }

    /// Articles for agents, newest first (`filter.before_id` pages).
    pub async fn list_articles(&self, agent: &Agent, filter: &ArticleFilter) -> Result<Vec<Article>> {
        require_active(agent)?;
        Ok(self.store.repo().kb_articles(filter).await?)
    }

    /// The files on an article, for anyone who may read the knowledge base.
    pub async fn article_files(&self, agent: &Agent, article_id: i64) -> Result<Vec<AttachmentRecord>> {
        require_active(agent)?;
        let repo = self.store.repo();
        repo.kb_article(article_id).await?.ok_or(AppError::NotFound(Entity::Article))?;
        Ok(repo.kb_files(article_id).await?)
    }

    /// Puts an uploaded file the agent may see on an article (agents who may write articles). Putting it
    /// there twice changes nothing.
    pub async fn attach_article_file(
        &self,
        agent: &Agent,
        article_id: i64,
        attachment_id: AttachmentId,
    ) -> Result<AttachmentRecord> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "kb.edit_forbidden")?;
        let record = self.attachment(agent, attachment_id).await.map_err(|error| match error {
            AppError::NotFound(_) => AppError::InvalidReference {
                field: "attachment_id",
                message: format!("there is no attachment {} you may use", attachment_id.0),
            },
            other => other,
        })?;
        let tx = self.store.begin().await?;
        tx.repo().kb_article(article_id).await?.ok_or(AppError::NotFound(Entity::Article))?;
        tx.repo().attach_kb_file(article_id, attachment_id.0, Some(agent.id), self.now()).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Takes a file off an article (agents who may write articles); the file itself stays.
    pub async fn detach_article_file(&self, agent: &Agent, article_id: i64, attachment_id: AttachmentId) -> Result<()> {
        require_active(agent)?;
        require(agent.role.edits_tickets(), "kb.edit_forbidden")?;
        let tx = self.store.begin().await?;
        tx.repo().kb_article(article_id).await?.ok_or(AppError::NotFound(Entity::Article))?;
        if !tx.repo().detach_kb_file(article_id, attachment_id.0).await? {
            return Err(AppError::NotFound(Entity::Attachment));
        }
        tx.commit().await?;
        Ok(())
    }

    /// A file for the help center: only when it is on at least one published public article; anything
    /// else is not found, as if it did not exist.
    pub async fn help_file(&self, attachment_id: AttachmentId) -> Result<(AttachmentRecord, Bytes)> {
        let repo = self.store.repo();
        let mut public = false;
        for article_id in repo.kb_articles_with_file(attachment_id.0).await? {
            if repo.kb_article(article_id).await?.as_ref().is_some_and(Article::is_public) {
                public = true;
                break;
            }
        }
        if !public {
            return Err(AppError::NotFound(Entity::Attachment));
        }
        let record = repo.attachment(attachment_id).await?.ok_or(AppError::NotFound(Entity::Attachment))?;
        let content = self.read_file(&record).await?;
        Ok((record, content))
    }

    /// Published public articles of a category and its sections (or of every category), for the help center.
    pub async fn public_articles(&self, category_id: Option<i64>) -> Result<Vec<Article>> {
        let mut category_ids = Vec::new();
        if let Some(category_id) = category_id {
            category_ids.push(category_id);
            let categories = self.store.repo().kb_categories().await?;
            category_ids.extend(
                categories
                    .iter()
                    .filter(|category| category.parent_id == Some(category_id))
                    .map(|category| category.id),
            );
        }
        let filter = ArticleFilter {
            ids: vec![],
            category_ids,
            status: Some(ArticleStatus::Published),
            review_due_by: None,
            before_id: None,
            limit: 1000,
        };
        let articles = self.store.repo().kb_articles(&filter).await?;
        Ok(articles.into_iter().filter(Article::is_public).collect())
    }

    /// A translation's revisions, newest first.
    pub async fn article_revisions(&self, agent: &Agent, translation_id: i64) -> Result<Vec<RevisionRecord>> {
        require_active(agent)?;
        let repo = self.store.repo();
        repo.kb_translation(translation_id).await?.ok_or(AppError::NotFound(Entity::Article))?;
        Ok(repo.kb_revisions(translation_id).await?)
    }

    /// Compares a revision with the current text (or with another revision).
    pub async fn article_diff(
        &self,
        agent: &Agent,
        translation_id: i64,
        from_revision: i64,
        to_revision: Option<i64>,
    ) -> Result<Diff> {
        let revisions = self.article_revisions(agent, translation_id).await?;
        let find = |id: i64| {
            revisions.iter().find(|revision| revision.id == id).cloned().ok_or(AppError::NotFound(Entity::Article))
        };
        let old = find(from_revision)?;
        let new_text = match to_revision {
            Some(id) => {
                let revision = find(id)?;
                format!("# {}\n{}", revision.title, revision.body_markdown)
            }
            None => {
                let current = self
                    .store
                    .repo()
                    .kb_translation(translation_id)
                    .await?
                    .ok_or(AppError::NotFound(Entity::Article))?;
                format!("# {}\n{}", current.title, current.body_markdown)
            }
        };
        let old_text = format!("# {}\n{}", old.title, old.body_markdown);
        let diff = similar::TextDiff::from_lines(&old_text, &new_text);
        let lines = diff
            .iter_all_changes()
            .map(|change| {
                let tag = match change.tag() {
                    similar::ChangeTag::Equal => ' ',
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                };
                (tag, change.value().trim_end_matches('\n').to_owned())
            })
            .collect();
        Ok(Diff { lines })
    }

    /// Restores a revision as the current text (a new revision records the restore).
    pub async fn restore_revision(&self, agent: &Agent, translation_id: i64, revision_id: i64) -> Result<Translation> {
        require(agent.role.edits_tickets(), "kb.edit_forbidden")?;
        let revision = self
            .article_revisions(agent, translation_id)
            .await?
            .into_iter()
            .find(|revision| revision.id == revision_id)
            .ok_or(AppError::NotFound(Entity::Article))?;
        let now = self.now();
        let tx = self.store.begin().await?;
        let current = tx.repo().kb_translation(translation_id).await?.ok_or(AppError::NotFound(Entity::Article))?;
        let html = render_markdown(&revision.body_markdown);
        tx.repo()
            .save_kb_translation(
                current.article_id,
                &current.locale,
                TranslationText { title: &revision.title, body_markdown: &revision.body_markdown, body_html: &html },
                Some(agent.id),
                now,
            )
            .await?;
        self.queue_notice(&tx, &Notice::Article { article_id: current.article_id }).await?;
        let restored = tx.repo().kb_translation(translation_id).await?.ok_or(AppError::NotFound(Entity::Article))?;
        tx.commit().await?;
        self.outbox_written();
        Ok(restored)
    }

    /// Records "was this helpful" on a public article translation, with an optional comment.
    pub async fn article_feedback(&self, translation_id: i64, helpful: bool, comment: Option<&str>) -> Result<()> {
        let comment = comment.map(str::trim).filter(|comment| !comment.is_empty());
        if comment.is_some_and(|comment| comment.chars().count() > 2000) {
            return Err(DomainError::invalid("comment", "a comment is at most 2000 characters").into());
        }
        let tx = self.store.begin().await?;
        let translation = tx.repo().kb_translation(translation_id).await?.ok_or(AppError::NotFound(Entity::Article))?;
        tx.repo()
            .kb_article(translation.article_id)
            .await?
            .filter(Article::is_public)
            .ok_or(AppError::NotFound(Entity::Article))?;
        tx.repo().insert_kb_feedback(translation_id, helpful, comment, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Helpful / not-helpful votes per translation.
    pub async fn feedback_counts(&self, translation_ids: &[i64]) -> Result<BTreeMap<i64, (i64, i64)>> {
        Ok(self.store.repo().kb_feedback_counts(translation_ids).await?)
    }

    /// Searches the help center as a visitor and logs the search; returns the results and the log id (for
    /// recording a click or a deflection).
    pub async fn public_search(&self, text: &str, locale: Option<&str>, limit: usize) -> Result<(SearchResults, i64)> {
        let mut query = SearchQuery::text(text).kinds(&[DocKind::Article]).any_word();
        query.locale = locale.map(str::to_owned);
        query.limit = limit;
        let results = self.search_public(query).await?;
        let tx = self.store.begin().await?;
        let log_id = tx.repo().log_search(text, "public", locale, results.total, self.now()).await?;
        tx.commit().await?;
        Ok((results, log_id))
    }

    /// Records that a logged search led to opening an article, or that it answered the question instead of a
    /// request being filed (a deflection).
    pub async fn record_search_outcome(
        &self,
        log_id: i64,
        clicked_translation_id: Option<i64>,
        deflected: bool,
    ) -> Result<()> {
        let tx = self.store.begin().await?;
        if !tx.repo().mark_search(log_id, clicked_translation_id, deflected).await? {
            return Err(AppError::NotFound(Entity::SearchLog));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Search analytics over the last `days` days (supervisors and admins).
    pub async fn search_analytics(&self, agent: &Agent, days: i64) -> Result<SearchStats> {
        require_active(agent)?;
        require(agent.role.manages_team(), "kb.analytics_forbidden")?;
        Ok(self.store.repo().search_stats(self.now() - chrono::Duration::days(days.clamp(1, 366)), 20).await?)
    }

    /// Articles that may answer a ticket, from its subject and first message (published ones; internal
    /// articles included, agents see them).
    pub async fn suggest_articles(&self, agent: &Agent, ticket_id: TicketId, limit: usize) -> Result<AgentResults> {
        let ticket = self.ticket(agent, ticket_id).await?;
        let first = self.store.repo().messages(ticket.id, false, 1, None).await?.items.into_iter().next();
        let text = format!("{} {}", ticket.subject, first.map(|message| message.body_text).unwrap_or_default());
        let text: String = text.chars().take(500).collect();
        let mut query = SearchQuery::text(&text).kinds(&[DocKind::Article]).any_word();
        query.limit = limit;
        let mut results = self.search(agent, query).await?;
        // Drafts are for their writers, not for answering customers.
        let filter = ArticleFilter {
            ids: results.translations.values().map(|translation| translation.article_id).collect(),
            category_ids: vec![],
            status: Some(ArticleStatus::Published),
            review_due_by: None,
            before_id: None,
            limit: 100,
        };
        let published: std::collections::BTreeSet<i64> = if filter.ids.is_empty() {
            Default::default()
        } else {
            self.store.repo().kb_articles(&filter).await?.iter().map(|article| article.id).collect()
        };
        results.translations.retain(|_, translation| published.contains(&translation.article_id));
        let before = results.hits.len();
        results.hits.retain(|hit| results.translations.contains_key(&hit.id));
        results.total -= before - results.hits.len();
        Ok(results)
    }

    /// Drafts an internal article from a solved ticket: its subject as the title and the last public agent
    /// reply as the body, in `locale`.
    pub async fn draft_article_from_ticket(&self, agent: &Agent, ticket_id: TicketId, locale: &str) -> Result<Article> {
        let ticket = self.ticket(agent, ticket_id).await?;
        if !matches!(ticket.status, kefu_domain::Status::Solved | kefu_domain::Status::Closed) {
            return Err(DomainError::invalid(
                "ticket_id",
                "only a solved ticket has an answer to turn into an article",
            )
            .into());
        }
        let messages = self.store.repo().messages(ticket.id, false, 1000, None).await?.items;
        let answer = messages
            .iter()
            .rev()
            .find(|message| matches!(message.author, AuthorKind::Agent(_)) && !message.internal)
            .ok_or_else(|| DomainError::invalid("ticket_id", "the ticket has no public agent reply to use"))?;
        let input = ArticleInput {
            category_id: None,
            status: ArticleStatus::Draft,
            visibility: Visibility::Internal,
            tags: ticket.tags.iter().map(|tag| tag.as_str().to_owned()).collect(),
            review_by: None,
            translations: vec![(locale.to_owned(), ticket.subject.clone(), answer.body_text.clone())],
        };
        let article = self.save_article(agent, None, input).await?;
        let tx = self.store.begin().await?;
        let mut with_source = article.clone();
        with_source.source_ticket_id = Some(ticket.id.0);
        tx.repo().save_kb_article_source(article.id, ticket.id.0).await?;
        tx.commit().await?;
        Ok(with_source)
    }

    /// The help center's settings (name, logo, colours, custom CSS).
    pub async fn help_settings(&self) -> Result<Value> {
        Ok(self.store.repo().help_settings().await?)
    }

    /// Replaces the help center's settings (admins): `name`, `logo_url`, `primary_color` (`#RRGGBB`),
    /// `custom_css` (at most 20 KB).
    pub async fn save_help_settings(&self, agent: &Agent, settings: Value) -> Result<Value> {
        require_active(agent)?;
        require(agent.role.manages_settings(), "settings.forbidden")?;
        let object =
            settings.as_object().ok_or_else(|| DomainError::invalid("settings", "settings are a JSON object"))?;
        for (key, value) in object {
            let text = value.as_str().ok_or_else(|| DomainError::invalid(key, "expected text"))?;
            let valid = match key.as_str() {
                "name" => !text.trim().is_empty() && text.chars().count() <= 100,
                "logo_url" => text.starts_with("https://") || text.starts_with('/') || text.is_empty(),
                "primary_color" => {
                    text.len() == 7 && text.starts_with('#') && text[1..].chars().all(|c| c.is_ascii_hexdigit())
                }
                "custom_css" => text.len() <= 20 * 1024 && !text.to_ascii_lowercase().contains("</style"),
                _ => {
                    return Err(DomainError::invalid(
                        key,
                        "unknown setting; use name, logo_url, primary_color or custom_css",
                    )
                    .into());
                }
            };
            if !valid {
                return Err(DomainError::invalid(key, "not a valid value").into());
            }
        }
        let tx = self.store.begin().await?;
        tx.repo().save_help_settings(&settings).await?;
        tx.commit().await?;
        Ok(settings)
    }

    /// Refreshes the index documents of some articles (all their translations).
    pub(crate) async fn index_articles(&self, article_ids: &[i64]) -> Result<()> {
        let mut documents = Vec::new();
        let mut gone = Vec::new();
        for id in article_ids {
            match self.store.repo().kb_article(*id).await? {
                Some(article) => {
                    for translation in &article.translations {
                        documents.push(ArticleDoc {
                            id: translation.id,
                            title: translation.title.clone(),
                            body: markdown_text(&translation.body_markdown),
                            locale: translation.locale.clone(),
                            tags: article.tags.iter().map(|tag| tag.as_str().to_owned()).collect(),
                            category_id: article.category_id,
                            public: article.visibility == Visibility::Public,
                            published: article.status == ArticleStatus::Published,
                        });
                    }
                }
                None => gone.push(*id),
            }
        }
        let index = self.search.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            for document in &documents {
                index.upsert_article(document).map_err(|error| AppError::Internal(error.to_string()))?;
            }
            Ok(())
        })
        .await
        .map_err(|error| AppError::Internal(error.to_string()))??;
        let _ = gone;
        Ok(())
    }

    /// Indexes every article (part of a full rebuild).
    pub(crate) async fn reindex_articles(&self) -> Result<()> {
        let mut after = 0;
        loop {
            let ids = self.store.repo().kb_article_ids_after(after, 200).await?;
            let Some(last) = ids.last() else { return Ok(()) };
            after = *last;
            self.index_articles(&ids).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_safely_and_its_text_extracted() {
        let html =
            render_markdown("# 退款\n\n点击 **申请退款**。<script>alert(1)</script>\n\n[link](javascript:alert(1))");
        assert!(html.contains("<h1>退款</h1>"), "{html}");
        assert!(html.contains("<strong>申请退款</strong>"));
        assert!(!html.contains("script") && !html.contains("javascript"), "{html}");
        assert_eq!(
            markdown_text("# Title\n\nSome *text*.").split_whitespace().collect::<Vec<_>>(),
            ["Title", "Some", "text", "."]
        );
    }
}
