//! `/api/v1/kb/articles`: articles with their locale variants, revisions (diff and restore), search
//! analytics, the help center's branding, and the ticket page's helpers (suggested articles, an article
//! drafted from a solved ticket).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use kefu_app::ArticleFilter;
use kefu_app::kb::ArticleInput;
use kefu_domain::TicketId;
use kefu_domain::kb::{self, Article, ArticleStatus, Translation, Visibility};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::search::{SearchHitDto, article_states, hit_dto};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentAgent};
use crate::state::AppState;

/// One locale variant of an article.
#[derive(Debug, Serialize, ToSchema)]
pub struct TranslationDto {
    /// Id (what revisions, feedback and search hits refer to).
    pub id: i64,
    /// `zh-CN`, `zh-TW` or `en`.
    pub locale: String,
    /// Title.
    pub title: String,
    /// The Markdown source.
    pub body_markdown: String,
    /// The rendered, sanitized HTML.
    pub body_html: String,
    /// Its address in the help center (shown to customers only once published and public).
    pub url: String,
    /// Readers who found it helpful.
    pub helpful: i64,
    /// Readers who did not.
    pub not_helpful: i64,
    /// Last saved.
    pub updated_at: DateTime<Utc>,
}

/// An article.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleDto {
    /// Id.
    pub id: i64,
    /// Its category or section.
    pub category_id: Option<i64>,
    /// `draft`, `published` or `archived`.
    pub status: String,
    /// `public` (help center) or `internal` (agents only).
    pub visibility: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The day it should be reviewed by.
    pub review_by: Option<NaiveDate>,
    /// Whether that day has come.
    pub needs_review: bool,
    /// The ticket it was drafted from.
    pub source_ticket_id: Option<i64>,
    /// Locale variants.
    pub translations: Vec<TranslationDto>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A locale variant as written.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TranslationInput {
    /// `zh-CN`, `zh-TW` or `en`.
    pub locale: String,
    /// Title (1-300 characters).
    pub title: String,
    /// Markdown (at most 512 KiB); HTML in it is sanitized when rendered.
    pub body_markdown: String,
}

/// An article as written. On update, the translations given are created or replaced; others stay.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ArticleInputDto {
    /// Its category or section.
    #[serde(default)]
    pub category_id: Option<i64>,
    /// `draft` (default), `published` or `archived`.
    #[serde(default)]
    pub status: Option<String>,
    /// `public` (default) or `internal`.
    #[serde(default)]
    pub visibility: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The day it should be reviewed by (`YYYY-MM-DD`).
    #[serde(default)]
    pub review_by: Option<NaiveDate>,
    /// Locale variants.
    #[serde(default)]
    pub translations: Vec<TranslationInput>,
}

impl ArticleInputDto {
    fn into_input(self) -> ApiResult<ArticleInput> {
        let status: ArticleStatus = self.status.as_deref().unwrap_or("draft").parse()?;
        let visibility: Visibility = self.visibility.as_deref().unwrap_or("public").parse()?;
        Ok(ArticleInput {
            category_id: self.category_id,
            status,
            visibility,
            tags: self.tags,
            review_by: self.review_by,
            translations: self
                .translations
                .into_iter()
                .map(|translation| (translation.locale, translation.title, translation.body_markdown))
                .collect(),
        })
    }
}

/// The help-center path of an article translation.
pub fn help_url(article_id: i64, translation: &Translation) -> String {
    format!("/help/{}/articles/{article_id}-{}", translation.locale, kb::slug(&translation.title))
}

async fn article_dtos(state: &AppState, articles: Vec<Article>) -> ApiResult<Vec<ArticleDto>> {
    let ids: Vec<i64> =
        articles.iter().flat_map(|article| article.translations.iter().map(|translation| translation.id)).collect();
    let votes = state.app.feedback_counts(&ids).await?;
    let today = state.app.now().date_naive();
    Ok(articles
        .into_iter()
        .map(|article| ArticleDto {
            id: article.id,
            category_id: article.category_id,
            status: article.status.as_str().to_owned(),
            visibility: article.visibility.as_str().to_owned(),
            tags: article.tags.iter().map(|tag| tag.as_str().to_owned()).collect(),
            review_by: article.review_by,
            needs_review: article.needs_review(today),
            source_ticket_id: article.source_ticket_id,
            created_at: article.created_at,
            updated_at: article.updated_at,
            translations: article
                .translations
                .iter()
                .map(|translation| {
                    let (helpful, not_helpful) = votes.get(&translation.id).copied().unwrap_or_default();
                    TranslationDto {
                        id: translation.id,
                        locale: translation.locale.clone(),
                        title: translation.title.clone(),
                        body_markdown: translation.body_markdown.clone(),
                        body_html: translation.body_html.clone(),
                        url: help_url(article.id, translation),
                        helpful,
                        not_helpful,
                        updated_at: translation.updated_at,
                    }
                })
                .collect(),
        })
        .collect())
}

async fn article_dto(state: &AppState, article: Article) -> ApiResult<ArticleDto> {
    let mut dtos = article_dtos(state, vec![article]).await?;
    dtos.pop().ok_or_else(|| ApiError::internal("an article vanished while being converted"))
}

/// Article list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArticleListQuery {
    /// Articles of this category (and its sections).
    pub category_id: Option<i64>,
    /// `draft`, `published` or `archived`.
    pub status: Option<String>,
    /// `true`: only articles whose review-by date has come (stale ones first to fix).
    #[serde(default)]
    pub needs_review: bool,
    /// Articles older than this id (the last id of the previous page).
    pub before_id: Option<i64>,
    /// Page size, 1 to 100 (default 50).
    pub limit: Option<u64>,
}

/// Articles, newest first.
#[utoipa::path(get, path = "/kb/articles", tag = "kb", params(ArticleListQuery),
    responses((status = 200, body = Vec<ArticleDto>), (status = 400, body = Problem)))]
pub async fn list_articles(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiQuery(query): ApiQuery<ArticleListQuery>,
) -> ApiResult<Json<Vec<ArticleDto>>> {
    let status = query.status.as_deref().map(str::parse::<ArticleStatus>).transpose()?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("request.invalid_query", "limit must be between 1 and 100"));
    }
    let mut category_ids = Vec::new();
    if let Some(category_id) = query.category_id {
        category_ids.push(category_id);
        let categories = state.app.kb_categories().await?;
        category_ids.extend(categories.iter().filter(|category| category.parent_id == Some(category_id)).map(|c| c.id));
    }
    let filter = ArticleFilter {
        ids: vec![],
        category_ids,
        status,
        review_due_by: query.needs_review.then(|| state.app.now().date_naive()),
        before_id: query.before_id,
        limit,
    };
    let articles = state.app.list_articles(&agent, &filter).await?;
    Ok(Json(article_dtos(&state, articles).await?))
}

/// Creates an article with one or more locale variants.
#[utoipa::path(post, path = "/kb/articles", tag = "kb", request_body = ArticleInputDto,
    responses((status = 201, body = ArticleDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_article(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(input): ApiJson<ArticleInputDto>,
) -> ApiResult<(StatusCode, Json<ArticleDto>)> {
    let article = state.app.save_article(&agent, None, input.into_input()?).await?;
    Ok((StatusCode::CREATED, Json(article_dto(&state, article).await?)))
}

/// One article with every locale variant.
#[utoipa::path(get, path = "/kb/articles/{id}", tag = "kb", params(("id" = i64, Path)),
    responses((status = 200, body = ArticleDto), (status = 404, body = Problem)))]
pub async fn get_article(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ArticleDto>> {
    let article = state.app.article(&agent, id).await?;
    Ok(Json(article_dto(&state, article).await?))
}

/// Changes an article: its settings, and the locale variants given (each saved as a new revision).
#[utoipa::path(put, path = "/kb/articles/{id}", tag = "kb", params(("id" = i64, Path)), request_body = ArticleInputDto,
    responses((status = 200, body = ArticleDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_article(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ArticleInputDto>,
) -> ApiResult<Json<ArticleDto>> {
    let article = state.app.save_article(&agent, Some(id), input.into_input()?).await?;
    Ok(Json(article_dto(&state, article).await?))
}

/// A saved version of a translation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionDto {
    /// Id.
    pub id: i64,
    /// Title then.
    pub title: String,
    /// Markdown then.
    pub body_markdown: String,
    /// Who saved it.
    pub author_agent_id: Option<i64>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A translation's revisions, newest first.
#[utoipa::path(get, path = "/kb/translations/{id}/revisions", tag = "kb", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RevisionDto>), (status = 404, body = Problem)))]
pub async fn list_revisions(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<RevisionDto>>> {
    let revisions = state.app.article_revisions(&agent, id).await?;
    Ok(Json(
        revisions
            .into_iter()
            .map(|revision| RevisionDto {
                id: revision.id,
                title: revision.title,
                body_markdown: revision.body_markdown,
                author_agent_id: revision.author_agent_id.map(|id| id.0),
                created_at: revision.created_at,
            })
            .collect(),
    ))
}

/// Which versions to compare.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The other revision (default: the current text).
    pub to: Option<i64>,
}

/// A line of a diff.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffLineDto {
    /// `equal`, `removed` or `added`.
    pub change: &'static str,
    /// The line.
    pub text: String,
}

/// Compares a revision with the current text, or with another revision (`?to=`), line by line.
#[utoipa::path(get, path = "/kb/translations/{id}/revisions/{revision_id}/diff", tag = "kb",
    params(("id" = i64, Path), ("revision_id" = i64, Path), DiffQuery),
    responses((status = 200, body = Vec<DiffLineDto>), (status = 404, body = Problem)))]
pub async fn diff_revision(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath((id, revision_id)): ApiPath<(i64, i64)>,
    ApiQuery(query): ApiQuery<DiffQuery>,
) -> ApiResult<Json<Vec<DiffLineDto>>> {
    let diff = state.app.article_diff(&agent, id, revision_id, query.to).await?;
    Ok(Json(
        diff.lines
            .into_iter()
            .map(|(tag, text)| DiffLineDto {
                change: match tag {
                    '-' => "removed",
                    '+' => "added",
                    _ => "equal",
                },
                text,
            })
            .collect(),
    ))
}

/// Makes a revision the current text again (recorded as a new revision).
#[utoipa::path(post, path = "/kb/translations/{id}/revisions/{revision_id}/restore", tag = "kb",
    params(("id" = i64, Path), ("revision_id" = i64, Path)),
    responses((status = 200, body = ArticleDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn restore_revision(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath((id, revision_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<ArticleDto>> {
    let translation = state.app.restore_revision(&agent, id, revision_id).await?;
    let article = state.app.article(&agent, translation.article_id).await?;
    Ok(Json(article_dto(&state, article).await?))
}

/// Analytics period.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// Days back from now, 1 to 366 (default 30).
    pub days: Option<i64>,
}

/// A query and how often it was asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueryCountDto {
    /// The words searched.
    pub query: String,
    /// How many times.
    pub count: i64,
}

/// How customers use the help center's search.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchAnalyticsDto {
    /// Searches in the period.
    pub searches: i64,
    /// Searches after which a result was opened.
    pub clicks: i64,
    /// `clicks / searches`.
    pub click_through_rate: f64,
    /// Searches answered by an article instead of a request.
    pub deflections: i64,
    /// Most asked.
    pub top_queries: Vec<QueryCountDto>,
    /// Asked and found nothing: articles to write.
    pub zero_result_queries: Vec<QueryCountDto>,
    /// "Was this helpful": yes.
    pub helpful: i64,
    /// "Was this helpful": no.
    pub not_helpful: i64,
}

/// Search analytics: top and zero-result queries, click-through, deflections, feedback (supervisors and admins).
#[utoipa::path(get, path = "/kb/analytics", tag = "kb", params(AnalyticsQuery),
    responses((status = 200, body = SearchAnalyticsDto), (status = 403, body = Problem)))]
pub async fn search_analytics(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiQuery(query): ApiQuery<AnalyticsQuery>,
) -> ApiResult<Json<SearchAnalyticsDto>> {
    let stats = state.app.search_analytics(&agent, query.days.unwrap_or(30)).await?;
    let counts = |pairs: Vec<(String, i64)>| {
        pairs.into_iter().map(|(query, count)| QueryCountDto { query, count }).collect::<Vec<_>>()
    };
    let click_through_rate = if stats.searches == 0 { 0.0 } else { stats.clicks as f64 / stats.searches as f64 };
    Ok(Json(SearchAnalyticsDto {
        searches: stats.searches,
        clicks: stats.clicks,
        click_through_rate,
        deflections: stats.deflections,
        top_queries: counts(stats.top_queries),
        zero_result_queries: counts(stats.zero_result_queries),
        helpful: stats.helpful,
        not_helpful: stats.not_helpful,
    }))
}

/// The help center's branding as stored and sent (documentation only: the handlers pass the JSON object
/// through, and the use case checks its keys). A setting left out is unset; none may be `null`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HelpSettingsDto {
    /// The help center's name (1-100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The logo's address: `https://...`, a path on this site, or empty for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// The brand colour, `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    /// Extra CSS for the help center's pages (at most 20 KB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_css: Option<String>,
}

/// The help center's branding: `name`, `logo_url`, `primary_color` (`#RRGGBB`), `custom_css`.
#[utoipa::path(get, path = "/kb/help-settings", tag = "kb", responses((status = 200, body = HelpSettingsDto)))]
pub async fn get_help_settings(
    State(state): State<AppState>,
    CurrentAgent(_agent): CurrentAgent,
) -> ApiResult<Json<Value>> {
    Ok(Json(state.app.help_settings().await?))
}

/// Replaces the help center's branding (admins).
#[utoipa::path(put, path = "/kb/help-settings", tag = "kb", request_body = HelpSettingsDto,
    responses((status = 200, body = HelpSettingsDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_help_settings(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiJson(settings): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    Ok(Json(state.app.save_help_settings(&agent, settings).await?))
}

/// How many suggestions.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestQuery {
    /// 1 to 20 (default 5).
    pub limit: Option<usize>,
}

/// Published articles that may answer a ticket, found from its subject and first message.
#[utoipa::path(get, path = "/tickets/{id}/suggested-articles", tag = "kb", params(("id" = i64, Path), SuggestQuery),
    responses((status = 200, body = Vec<SearchHitDto>), (status = 404, body = Problem)))]
pub async fn suggested_articles(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<SuggestQuery>,
) -> ApiResult<Json<Vec<SearchHitDto>>> {
    let limit = query.limit.unwrap_or(5).clamp(1, 20);
    let results = state.app.suggest_articles(&agent, TicketId(id), limit).await?;
    let articles = article_states(&state, &agent, &results).await?;
    Ok(Json(results.hits.iter().map(|hit| hit_dto(hit, &results.tickets, &results.translations, &articles)).collect()))
}

/// The locale of a drafted article.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DraftInput {
    /// `zh-CN`, `zh-TW` or `en` (default `en`).
    #[serde(default)]
    pub locale: Option<String>,
}

/// Turns a solved ticket's answer into a draft internal article (its subject as the title, the last public
/// reply as the body), to edit and publish.
#[utoipa::path(post, path = "/tickets/{id}/article-draft", tag = "kb", params(("id" = i64, Path)), request_body = DraftInput,
    responses((status = 201, body = ArticleDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn draft_article(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DraftInput>,
) -> ApiResult<(StatusCode, Json<ArticleDto>)> {
    let locale = input.locale.as_deref().unwrap_or("en");
    let article = state.app.draft_article_from_ticket(&agent, TicketId(id), locale).await?;
    Ok((StatusCode::CREATED, Json(article_dto(&state, article).await?)))
}
