//! `GET /api/v1/search`: one search box over tickets, customers and articles, with filters; and
//! `POST /api/v1/search/reindex` to rebuild this node's index from the database.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kefu_app::search::AgentResults;
use kefu_app::{ArticleFilter, DocKind, Hit, SearchQuery, TicketBrief};
use kefu_domain::kb::{ArticleStatus, Translation, Visibility};
use kefu_domain::{Agent, TicketId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::articles::help_url;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiQuery, CurrentAgent};
use crate::state::AppState;

/// What to search for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The words (Chinese or English, Traditional or Simplified; a ticket number like `#1042`; an email).
    pub q: String,
    /// Comma-separated kinds: `ticket`, `customer`, `article` (default: all three).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kinds: Option<String>,
    /// Comma-separated ticket statuses.
    pub status: Option<String>,
    /// Tickets of this group.
    pub group_id: Option<i64>,
    /// Tickets assigned to this agent.
    pub assignee_id: Option<i64>,
    /// Tickets of this requester.
    pub requester_id: Option<i64>,
    /// Tickets or articles with this tag.
    pub tag: Option<String>,
    /// Articles in this locale.
    pub locale: Option<String>,
    /// Articles in this category.
    pub category_id: Option<i64>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub created_to: Option<DateTime<Utc>>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<usize>,
    /// Results to skip, at most 1000.
    pub offset: Option<usize>,
}

/// The current state of a ticket found.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketBriefDto {
    /// Its number.
    pub number: i64,
    /// Status.
    pub status: String,
    /// Priority.
    pub priority: String,
    /// Assignee.
    pub assignee_id: Option<i64>,
    /// Group.
    pub group_id: Option<i64>,
    /// Requester.
    pub requester_id: i64,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The article a translation found belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleBriefDto {
    /// The article.
    pub article_id: i64,
    /// The translation's locale.
    pub locale: String,
    /// The translation's title as written (no highlights), for a link's text.
    pub title: String,
    /// The article's state, `draft`, `published` or `archived`: only a published public article opens in
    /// the help center, so only those are worth linking in a reply.
    pub status: String,
    /// `public` or `internal`.
    pub visibility: String,
    /// Its help-center address (for linking it in a reply).
    pub url: String,
}

/// One result.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitDto {
    /// `ticket`, `customer` or `article` (then `id` is the translation's).
    pub kind: String,
    /// Id of the ticket, customer or article translation.
    pub id: i64,
    /// Relevance.
    pub score: f32,
    /// Subject, name or title, as HTML with `<b>` around the words that matched (text escaped).
    pub title_html: String,
    /// The best passage, as HTML with `<b>` around the words that matched.
    pub snippet_html: String,
    /// For a ticket: its current state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketBriefDto>,
    /// For an article translation: its article and address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article: Option<ArticleBriefDto>,
}

/// A page of results.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResultsDto {
    /// How many match in all.
    pub total: usize,
    /// The hits, best first.
    pub hits: Vec<SearchHitDto>,
}

/// The state and visibility of the articles whose translations are among some results, by article id (one
/// query, none when no article was found).
pub async fn article_states(
    state: &AppState,
    agent: &Agent,
    results: &AgentResults,
) -> ApiResult<BTreeMap<i64, (ArticleStatus, Visibility)>> {
    let mut ids: Vec<i64> = results.translations.values().map(|translation| translation.article_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let filter = ArticleFilter {
        limit: ids.len() as u64,
        ids,
        category_ids: vec![],
        status: None,
        review_due_by: None,
        before_id: None,
    };
    let articles = state.app.list_articles(agent, &filter).await?;
    Ok(articles.into_iter().map(|article| (article.id, (article.status, article.visibility))).collect())
}

/// Converts a hit, with the ticket or translation it names (and that translation's article's state).
pub fn hit_dto(
    hit: &Hit,
    tickets: &BTreeMap<TicketId, TicketBrief>,
    translations: &BTreeMap<i64, Translation>,
    articles: &BTreeMap<i64, (ArticleStatus, Visibility)>,
) -> SearchHitDto {
    let ticket = tickets.get(&TicketId(hit.id)).filter(|_| hit.kind == DocKind::Ticket).map(|ticket| TicketBriefDto {
        number: ticket.number.0,
        status: ticket.status.as_str().to_owned(),
        priority: ticket.priority.as_str().to_owned(),
        assignee_id: ticket.assignee_id.map(|id| id.0),
        group_id: ticket.group_id.map(|id| id.0),
        requester_id: ticket.requester_id.0,
        updated_at: ticket.updated_at,
    });
    let article = translations.get(&hit.id).filter(|_| hit.kind == DocKind::Article).map(|translation| {
        let (status, visibility) =
            articles.get(&translation.article_id).copied().unwrap_or((ArticleStatus::Draft, Visibility::Internal));
        ArticleBriefDto {
            article_id: translation.article_id,
            locale: translation.locale.clone(),
            title: translation.title.clone(),
            status: status.as_str().to_owned(),
            visibility: visibility.as_str().to_owned(),
            url: help_url(translation.article_id, translation),
        }
    });
    SearchHitDto {
        kind: hit.kind.as_str().to_owned(),
        id: hit.id,
        score: hit.score,
        title_html: hit.title_html.clone(),
        snippet_html: hit.snippet_html.clone(),
        ticket,
        article,
    }
}

fn invalid_query(detail: impl Into<String>) -> ApiError {
    ApiError::bad_request("request.invalid_query", detail)
}

fn query_from(params: SearchParams) -> ApiResult<SearchQuery> {
    let text = params.q.trim();
    if text.is_empty() {
        return Err(ApiError::invalid("q", "type something to search for"));
    }
    if text.chars().count() > 500 {
        return Err(ApiError::invalid("q", "a search is at most 500 characters"));
    }
    let mut query = SearchQuery::text(text);
    if let Some(kinds) = params.kinds.as_deref() {
        for kind in kinds.split(',').map(str::trim).filter(|kind| !kind.is_empty()) {
            query.kinds.push(match kind {
                "ticket" => DocKind::Ticket,
                "customer" => DocKind::Customer,
                "article" => DocKind::Article,
                other => return Err(invalid_query(format!("unknown type {other:?}; use ticket, customer or article"))),
            });
        }
    }
    if let Some(statuses) = params.status.as_deref() {
        for status in statuses.split(',').map(str::trim).filter(|status| !status.is_empty()) {
            let status: kefu_domain::Status = status.parse()?;
            query.statuses.push(status.as_str().to_owned());
        }
    }
    if let Some(locale) = params.locale.as_deref() {
        query.locale = Some(kefu_domain::kb::check_locale(locale)?);
    }
    if let Some(tag) = params.tag.as_deref() {
        query.tag = Some(kefu_domain::Tag::parse(tag)?.as_str().to_owned());
    }
    query.group_id = params.group_id;
    query.assignee_id = params.assignee_id;
    query.requester_id = params.requester_id;
    query.category_id = params.category_id;
    query.created_from = params.created_from;
    query.created_to = params.created_to;
    query.limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&query.limit) {
        return Err(invalid_query("limit must be between 1 and 100"));
    }
    query.offset = params.offset.unwrap_or(0);
    if query.offset > 1000 {
        return Err(invalid_query("offset is at most 1000; narrow the search instead"));
    }
    Ok(query)
}

/// Searches what the agent may open: tickets (subject, every message, requester, number), customers (names,
/// emails, phones) and knowledge-base articles (drafts and internal ones too), with highlighted snippets.
#[utoipa::path(get, path = "/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchResultsDto), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Json<SearchResultsDto>> {
    let results = state.app.search(&agent, query_from(params)?).await?;
    let articles = article_states(&state, &agent, &results).await?;
    Ok(Json(SearchResultsDto {
        total: results.total,
        hits: results.hits.iter().map(|hit| hit_dto(hit, &results.tickets, &results.translations, &articles)).collect(),
    }))
}

/// Rebuilds this node's search index from the database in the background (admins); searches keep working
/// meanwhile and fill in as the rebuild goes.
#[utoipa::path(post, path = "/search/reindex", tag = "search",
    responses((status = 202), (status = 403, body = Problem)))]
pub async fn reindex(State(state): State<AppState>, CurrentAgent(agent): CurrentAgent) -> ApiResult<StatusCode> {
    state.app.start_reindex(&agent)?;
    Ok(StatusCode::ACCEPTED)
}
