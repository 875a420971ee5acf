//! The knowledge base: categories, articles with their locale variants, revisions, feedback, the search log,
//! the files on articles and the help center's settings.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use kefu_domain::kb::{Article, ArticleStatus, KbCategory, Translation, Visibility};
use kefu_domain::{AgentId, Tag};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};

use super::attachments::to_record;
use super::parse_stored;
use crate::AttachmentRecord;
use crate::entities::{
    attachment, help_setting, kb_article, kb_article_attachment, kb_category, kb_feedback, kb_revision, kb_translation,
    search_log,
};
use crate::{Repo, Result, StoreError};

/// Which articles to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleFilter {
    /// These articles only (empty: any).
    pub ids: Vec<i64>,
    /// In any of these categories (empty: any category or none).
    pub category_ids: Vec<i64>,
    /// In this state.
    pub status: Option<ArticleStatus>,
    /// With a review-by date on or before this day (stale articles).
    pub review_due_by: Option<NaiveDate>,
    /// Older than this article (paging).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: u64,
}

/// The words of one translation as saved: the Markdown source and the HTML rendered from it.
#[derive(Clone, Copy, Debug)]
pub struct TranslationText<'a> {
    pub title: &'a str,
    pub body_markdown: &'a str,
    pub body_html: &'a str,
}

/// A stored revision of an article translation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionRecord {
    /// Id.
    pub id: i64,
    /// The translation.
    pub translation_id: i64,
    /// Title then.
    pub title: String,
    /// Body then.
    pub body_markdown: String,
    /// Who saved it.
    pub author_agent_id: Option<AgentId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Counts over the search log and feedback, for analytics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchStats {
    /// Queries and how often they were asked, most first.
    pub top_queries: Vec<(String, i64)>,
    /// Queries that found nothing, most first.
    pub zero_result_queries: Vec<(String, i64)>,
    /// Searches logged.
    pub searches: i64,
    /// Searches after which a result was opened.
    pub clicks: i64,
    /// Searches after which the customer did not file a request (an article answered them).
    pub deflections: i64,
    /// Helpful and not-helpful votes.
    pub helpful: i64,
    /// Not-helpful votes.
    pub not_helpful: i64,
}

fn category_from(row: kb_category::Model) -> KbCategory {
    KbCategory {
        id: row.id,
        parent_id: row.parent_id,
        names: serde_json::from_value(row.names).unwrap_or_default(),
        position: row.position,
    }
}

fn translation_from(row: kb_translation::Model) -> Translation {
    Translation {
        id: row.id,
        article_id: row.article_id,
        locale: row.locale,
        title: row.title,
        body_markdown: row.body_markdown,
        body_html: row.body_html,
        updated_at: row.updated_at,
    }
}

impl<C: ConnectionTrait> Repo<'_, C> {
    /// Creates or replaces a category (`id = 0` creates).
    pub async fn save_kb_category(&self, category: &KbCategory, now: DateTime<Utc>) -> Result<i64> {
        if category.id == 0 {
            let row = kb_category::ActiveModel {
                parent_id: Set(category.parent_id),
                names: Set(json!(category.names)),
                position: Set(category.position),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            };
            return Ok(kb_category::Entity::insert(row).exec_with_returning(self.conn).await?.id);
        }
        let result = kb_category::Entity::update_many()
            .col_expr(kb_category::Column::ParentId, Expr::val(category.parent_id))
            .col_expr(kb_category::Column::Names, Expr::val(json!(category.names)))
            .col_expr(kb_category::Column::Position, Expr::val(category.position))
            .col_expr(kb_category::Column::UpdatedAt, Expr::val(now))
            .filter(kb_category::Column::Id.eq(category.id))
            .exec(self.conn)
            .await?;
        if result.rows_affected == 1 {
            Ok(category.id)
        } else {
            Err(StoreError::MissingReference(format!("kb category {}", category.id)))
        }
    }

    /// Every category and section, in order.
    pub async fn kb_categories(&self) -> Result<Vec<KbCategory>> {
        let rows = kb_category::Entity::find()
            .order_by_asc(kb_category::Column::Position)
            .order_by_asc(kb_category::Column::Id)
            .all(self.conn)
            .await?;
        Ok(rows.into_iter().map(category_from).collect())
    }

    /// Deletes a category (its sections go with it; their articles lose their category).
    pub async fn delete_kb_category(&self, id: i64) -> Result<bool> {
        Ok(kb_category::Entity::delete_by_id(id).exec(self.conn).await?.rows_affected == 1)
    }

    async fn articles_with_translations(&self, rows: Vec<kb_article::Model>) -> Result<Vec<Article>> {
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let mut translations: HashMap<i64, Vec<Translation>> = HashMap::new();
        if !ids.is_empty() {
            let rows = kb_translation::Entity::find()
                .filter(kb_translation::Column::ArticleId.is_in(ids))
                .order_by_asc(kb_translation::Column::Id)
                .all(self.conn)
                .await?;
            for row in rows {
                translations.entry(row.article_id).or_default().push(translation_from(row));
            }
        }
        rows.into_iter()
            .map(|row| {
                let tags: Vec<String> = serde_json::from_value(row.tags).unwrap_or_default();
                Ok(Article {
                    id: row.id,
                    category_id: row.category_id,
                    status: parse_stored::<ArticleStatus>("kb_articles", &row.status)?,
                    visibility: parse_stored::<Visibility>("kb_articles", &row.visibility)?,
                    tags: Tag::parse_set(&tags).unwrap_or_default(),
                    review_by: row
                        .review_by
                        .as_deref()
                        .and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()),
                    source_ticket_id: row.source_ticket_id,
                    translations: translations.remove(&row.id).unwrap_or_default(),
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                })
            })
            .collect()
    }

    /// One article with its translations.
    pub async fn kb_article(&self, id: i64) -> Result<Option<Article>> {
        let Some(row) = kb_article::Entity::find_by_id(id).one(self.conn).await? else { return Ok(None) };
        Ok(self.articles_with_translations(vec![row]).await?.pop())
    }

    /// Articles matching `filter`, newest first, in pages by id.
    pub async fn kb_articles(&self, filter: &ArticleFilter) -> Result<Vec<Article>> {
        let mut select = kb_article::Entity::find();
        if !filter.ids.is_empty() {
            select = select.filter(kb_article::Column::Id.is_in(filter.ids.iter().copied()));
        }
        if !filter.category_ids.is_empty() {
            select = select.filter(kb_article::Column::CategoryId.is_in(filter.category_ids.iter().copied()));
        }
        if let Some(status) = filter.status {
            select = select.filter(kb_article::Column::Status.eq(status.as_str()));
        }
        if let Some(date) = filter.review_due_by {
            select = select.filter(kb_article::Column::ReviewBy.lte(date.format("%Y-%m-%d").to_string()));
        }
        if let Some(before_id) = filter.before_id {
            select = select.filter(kb_article::Column::Id.lt(before_id));
        }
        let rows = select.order_by_desc(kb_article::Column::Id).limit(filter.limit).all(self.conn).await?;
        self.articles_with_translations(rows).await
    }

    /// The ids of articles after `after` (for rebuilding the index).
    pub async fn kb_article_ids_after(&self, after: i64, limit: u64) -> Result<Vec<i64>> {
        Ok(kb_article::Entity::find()
            .select_only()
            .column(kb_article::Column::Id)
            .filter(kb_article::Column::Id.gt(after))
            .order_by_asc(kb_article::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(self.conn)
            .await?)
    }

    /// Creates or updates an article's own fields (`id = 0` creates); returns its id.
    pub async fn save_kb_article(&self, article: &Article, now: DateTime<Utc>) -> Result<i64> {
        let tags = json!(article.tags.iter().map(Tag::as_str).collect::<Vec<_>>());
        let review_by = article.review_by.map(|date| date.format("%Y-%m-%d").to_string());
        if article.id == 0 {
            let row = kb_article::ActiveModel {
                category_id: Set(article.category_id),
                status: Set(article.status.as_str().to_owned()),
                visibility: Set(article.visibility.as_str().to_owned()),
                tags: Set(tags),
                review_by: Set(review_by),
                source_ticket_id: Set(article.source_ticket_id),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            };
            return Ok(kb_article::Entity::insert(row).exec_with_returning(self.conn).await?.id);
        }
        kb_article::Entity::update_many()
            .col_expr(kb_article::Column::CategoryId, Expr::val(article.category_id))
            .col_expr(kb_article::Column::Status, Expr::val(article.status.as_str()))
            .col_expr(kb_article::Column::Visibility, Expr::val(article.visibility.as_str()))
            .col_expr(kb_article::Column::Tags, Expr::val(tags))
            .col_expr(kb_article::Column::ReviewBy, Expr::val(review_by))
            .col_expr(kb_article::Column::UpdatedAt, Expr::val(now))
            .filter(kb_article::Column::Id.eq(article.id))
            .exec(self.conn)
            .await?;
        Ok(article.id)
    }

    /// Records the ticket an article was drafted from.
    pub async fn save_kb_article_source(&self, article_id: i64, ticket_id: i64) -> Result<()> {
        kb_article::Entity::update_many()
            .col_expr(kb_article::Column::SourceTicketId, Expr::val(ticket_id))
            .filter(kb_article::Column::Id.eq(article_id))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Creates or replaces one locale variant of an article and records the revision; returns the
    /// translation's id.
    pub async fn save_kb_translation(
        &self,
        article_id: i64,
        locale: &str,
        text: TranslationText<'_>,
        author: Option<AgentId>,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let TranslationText { title, body_markdown, body_html } = text;
        let row = kb_translation::ActiveModel {
            article_id: Set(article_id),
            locale: Set(locale.to_owned()),
            title: Set(title.to_owned()),
            body_markdown: Set(body_markdown.to_owned()),
            body_html: Set(body_html.to_owned()),
            updated_at: Set(now),
            ..Default::default()
        };
        kb_translation::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([kb_translation::Column::ArticleId, kb_translation::Column::Locale])
                    .update_columns([
                        kb_translation::Column::Title,
                        kb_translation::Column::BodyMarkdown,
                        kb_translation::Column::BodyHtml,
                        kb_translation::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec(self.conn)
            .await?;
        let id = kb_translation::Entity::find()
            .filter(kb_translation::Column::ArticleId.eq(article_id))
            .filter(kb_translation::Column::Locale.eq(locale))
            .one(self.conn)
            .await?
            .map(|row| row.id)
            .ok_or_else(|| StoreError::Corrupt {
                table: "kb_translations",
                message: "saved translation vanished".into(),
            })?;
        let revision = kb_revision::ActiveModel {
            translation_id: Set(id),
            title: Set(title.to_owned()),
            body_markdown: Set(body_markdown.to_owned()),
            author_agent_id: Set(author.map(|id| id.0)),
            created_at: Set(now),
            ..Default::default()
        };
        kb_revision::Entity::insert(revision).exec(self.conn).await?;
        Ok(id)
    }

    /// One translation.
    pub async fn kb_translation(&self, id: i64) -> Result<Option<Translation>> {
        Ok(kb_translation::Entity::find_by_id(id).one(self.conn).await?.map(translation_from))
    }

    /// Some translations by id (in no particular order; missing ids are skipped).
    pub async fn kb_translations_by_ids(&self, ids: &[i64]) -> Result<Vec<Translation>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = kb_translation::Entity::find()
            .filter(kb_translation::Column::Id.is_in(ids.iter().copied()))
            .all(self.conn)
            .await?;
        Ok(rows.into_iter().map(translation_from).collect())
    }

    /// A translation's revisions, newest first.
    pub async fn kb_revisions(&self, translation_id: i64) -> Result<Vec<RevisionRecord>> {
        let rows = kb_revision::Entity::find()
            .filter(kb_revision::Column::TranslationId.eq(translation_id))
            .order_by_desc(kb_revision::Column::Id)
            .all(self.conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| RevisionRecord {
                id: row.id,
                translation_id: row.translation_id,
                title: row.title,
                body_markdown: row.body_markdown,
                author_agent_id: row.author_agent_id.map(AgentId),
                created_at: row.created_at,
            })
            .collect())
    }

    /// Records a reader's vote on a translation.
    pub async fn insert_kb_feedback(
        &self,
        translation_id: i64,
        helpful: bool,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let row = kb_feedback::ActiveModel {
            translation_id: Set(translation_id),
            helpful: Set(helpful),
            comment: Set(comment.map(str::to_owned)),
            created_at: Set(now),
            ..Default::default()
        };
        kb_feedback::Entity::insert(row).exec(self.conn).await?;
        Ok(())
    }

    /// Helpful and not-helpful votes per translation.
    pub async fn kb_feedback_counts(&self, translation_ids: &[i64]) -> Result<BTreeMap<i64, (i64, i64)>> {
        let mut counts = BTreeMap::new();
        if translation_ids.is_empty() {
            return Ok(counts);
        }
        let rows: Vec<(i64, bool, i64)> = kb_feedback::Entity::find()
            .select_only()
            .column(kb_feedback::Column::TranslationId)
            .column(kb_feedback::Column::Helpful)
            .column_as(kb_feedback::Column::Id.count(), "votes")
            .filter(kb_feedback::Column::TranslationId.is_in(translation_ids.iter().copied()))
            .group_by(kb_feedback::Column::TranslationId)
            .group_by(kb_feedback::Column::Helpful)
            .into_tuple()
            .all(self.conn)
            .await?;
        for (translation_id, helpful, votes) in rows {
            let entry: &mut (i64, i64) = counts.entry(translation_id).or_default();
            if helpful { entry.0 += votes } else { entry.1 += votes }
        }
        Ok(counts)
    }

    /// Logs a search; returns its id (to record a click or a deflection later).
    pub async fn log_search(
        &self,
        query: &str,
        audience: &str,
        locale: Option<&str>,
        results: usize,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let row = search_log::ActiveModel {
            query: Set(query.chars().take(200).collect()),
            audience: Set(audience.to_owned()),
            locale: Set(locale.map(str::to_owned)),
            results: Set(i64::try_from(results).unwrap_or(i64::MAX)),
            clicked_translation_id: Set(None),
            deflected: Set(false),
            created_at: Set(now),
            ..Default::default()
        };
        Ok(search_log::Entity::insert(row).exec_with_returning(self.conn).await?.id)
    }

    /// Records that a search led to opening a result, or (`deflected`) answered the question.
    pub async fn mark_search(&self, id: i64, clicked_translation_id: Option<i64>, deflected: bool) -> Result<bool> {
        let mut update = search_log::Entity::update_many().filter(search_log::Column::Id.eq(id));
        if let Some(translation_id) = clicked_translation_id {
            update = update.col_expr(search_log::Column::ClickedTranslationId, Expr::val(translation_id));
        }
        if deflected {
            update = update.col_expr(search_log::Column::Deflected, Expr::val(true));
        }
        Ok(update.exec(self.conn).await?.rows_affected == 1)
    }

    /// Search and feedback counts since `since`.
    pub async fn search_stats(&self, since: DateTime<Utc>, limit: u64) -> Result<SearchStats> {
        let grouped = |zero_only: bool| {
            let mut select = search_log::Entity::find()
                .select_only()
                .column(search_log::Column::Query)
                .column_as(search_log::Column::Id.count(), "times")
                .filter(search_log::Column::CreatedAt.gte(since));
            if zero_only {
                select = select.filter(search_log::Column::Results.eq(0));
            }
            select
                .group_by(search_log::Column::Query)
                .order_by_desc(Expr::col("times"))
                .limit(limit)
                .into_tuple::<(String, i64)>()
        };
        let recent = || search_log::Entity::find().filter(search_log::Column::CreatedAt.gte(since));
        Ok(SearchStats {
            top_queries: grouped(false).all(self.conn).await?,
            zero_result_queries: grouped(true).all(self.conn).await?,
            searches: i64::try_from(recent().count(self.conn).await?).unwrap_or(i64::MAX),
            clicks: i64::try_from(
                recent().filter(search_log::Column::ClickedTranslationId.is_not_null()).count(self.conn).await?,
            )
            .unwrap_or(i64::MAX),
            deflections: i64::try_from(recent().filter(search_log::Column::Deflected.eq(true)).count(self.conn).await?)
                .unwrap_or(i64::MAX),
            helpful: i64::try_from(
                kb_feedback::Entity::find()
                    .filter(kb_feedback::Column::CreatedAt.gte(since))
                    .filter(kb_feedback::Column::Helpful.eq(true))
                    .count(self.conn)
                    .await?,
            )
            .unwrap_or(i64::MAX),
            not_helpful: i64::try_from(
                kb_feedback::Entity::find()
                    .filter(kb_feedback::Column::CreatedAt.gte(since))
                    .filter(kb_feedback::Column::Helpful.eq(false))
                    .count(self.conn)
                    .await?,
            )
            .unwrap_or(i64::MAX),
        })
    }

    /// The help center's settings (branding); `{}` until set.
    pub async fn help_settings(&self) -> Result<Value> {
        Ok(help_setting::Entity::find_by_id(1).one(self.conn).await?.map(|row| row.data).unwrap_or_else(|| json!({})))
    }

    /// Replaces the help center's settings.
    pub async fn save_help_settings(&self, data: &Value) -> Result<()> {
        let row = help_setting::ActiveModel { id: Set(1), data: Set(data.clone()) };
        help_setting::Entity::insert(row)
            .on_conflict(
                OnConflict::column(help_setting::Column::Id).update_column(help_setting::Column::Data).to_owned(),
            )
            .exec(self.conn)
            .await?;
        Ok(())
    }
    /// Puts a file on an article (nothing changes when it is already there).
    pub async fn attach_kb_file(
        &self,
        article_id: i64,
        attachment_id: i64,
        added_by: Option<AgentId>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let row = kb_article_attachment::ActiveModel {
            article_id: Set(article_id),
            attachment_id: Set(attachment_id),
            added_by_agent_id: Set(added_by.map(|id| id.0)),
            created_at: Set(now),
        };
        kb_article_attachment::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    kb_article_attachment::Column::ArticleId,
                    kb_article_attachment::Column::AttachmentId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(self.conn)
            .await?;
        Ok(())
    }

    /// Takes a file off an article; false when it was not on it.
    pub async fn detach_kb_file(&self, article_id: i64, attachment_id: i64) -> Result<bool> {
        let result = kb_article_attachment::Entity::delete_many()
            .filter(kb_article_attachment::Column::ArticleId.eq(article_id))
            .filter(kb_article_attachment::Column::AttachmentId.eq(attachment_id))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// The files on an article, in the order they were added.
    pub async fn kb_files(&self, article_id: i64) -> Result<Vec<AttachmentRecord>> {
        let ids: Vec<i64> = kb_article_attachment::Entity::find()
            .select_only()
            .column(kb_article_attachment::Column::AttachmentId)
            .filter(kb_article_attachment::Column::ArticleId.eq(article_id))
            .order_by_asc(kb_article_attachment::Column::CreatedAt)
            .order_by_asc(kb_article_attachment::Column::AttachmentId)
            .into_tuple()
            .all(self.conn)
            .await?;
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut rows: HashMap<i64, attachment::Model> = attachment::Entity::find()
            .filter(attachment::Column::Id.is_in(ids.iter().copied()))
            .all(self.conn)
            .await?
            .into_iter()
            .map(|row| (row.id, row))
            .collect();
        Ok(ids.into_iter().filter_map(|id| rows.remove(&id)).map(to_record).collect())
    }

    /// The articles a file is on.
    pub async fn kb_articles_with_file(&self, attachment_id: i64) -> Result<Vec<i64>> {
        Ok(kb_article_attachment::Entity::find()
            .select_only()
            .column(kb_article_attachment::Column::ArticleId)
            .filter(kb_article_attachment::Column::AttachmentId.eq(attachment_id))
            .order_by_asc(kb_article_attachment::Column::ArticleId)
            .into_tuple()
            .all(self.conn)
            .await?)
    }
}
