//! The help center's reading pages: the locale pick at `/help`, home, category and section pages, articles
//! (with "was this helpful" and the deflection prompt after a search), search with its click-through
//! redirect, the sitemap and the stylesheet.
//!
//! URLs are `{id}-{slug}` with the slug from the title in the page's locale; a wrong or missing slug answers
//! `301` to the right one, so links stay valid when a title changes.

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use kefu_app::help::HelpEntry;
use kefu_domain::kb::{self, KbCategory};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{CSS, CSS_PATH, Ctx, Meta, id_slug, local_date, parse_id_slug, preferred_locale};
use crate::error::ApiError;
use crate::state::AppState;

/// Articles listed per category on the home page.
const TOP_ARTICLES: usize = 5;
/// Search results shown.
const SEARCH_RESULTS: usize = 20;
/// The longest query kept.
const MAX_QUERY_CHARS: usize = 200;

#[derive(Deserialize)]
pub(super) struct SlugPath {
    slug: String,
}

#[derive(Deserialize)]
pub(super) struct ArticleQuery {
    /// The logged search that led here (a click on a result or a suggestion).
    search: Option<i64>,
    /// Set after a vote, to thank the reader.
    voted: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Deserialize)]
pub(super) struct ClickQuery {
    search: i64,
    article: i64,
}

#[derive(Deserialize)]
pub(super) struct FeedbackForm {
    #[serde(default)]
    csrf: String,
    translation: i64,
    helpful: String,
    #[serde(default)]
    comment: String,
    search: Option<i64>,
}

#[derive(Deserialize)]
pub(super) struct DeflectForm {
    #[serde(default)]
    csrf: String,
    search: i64,
}

pub(super) fn bad_path(rejection: PathRejection) -> ApiError {
    ApiError::bad_request("request.invalid_path", rejection.body_text())
}

pub(super) fn bad_query(rejection: QueryRejection) -> ApiError {
    ApiError::bad_request("request.invalid_query", rejection.body_text())
}

pub(super) fn bad_form(rejection: FormRejection) -> ApiError {
    ApiError::bad_request("request.invalid_form", rejection.body_text())
}

/// A category's name in `locale`, else in English, else in any language it has.
fn category_name<'a>(category: &'a KbCategory, locale: &str) -> &'a str {
    category
        .names
        .get(locale)
        .or_else(|| category.names.get("en"))
        .or_else(|| category.names.values().next())
        .map_or("", String::as_str)
}

impl Ctx {
    fn category_path(&self, category: &KbCategory) -> String {
        self.url(&format!("/categories/{}", id_slug(category.id, &kb::slug(category_name(category, self.locale)))))
    }

    fn article_path(&self, entry: &HelpEntry) -> String {
        format!("/help/{}/articles/{}", entry.locale, id_slug(entry.article_id, &kb::slug(&entry.title)))
    }

    fn article_link(&self, entry: &HelpEntry) -> Value {
        json!({ "title": entry.title, "url": self.article_path(entry) })
    }

    fn category_link(&self, category: &KbCategory, count: usize) -> Value {
        json!({
            "name": category_name(category, self.locale),
            "url": self.category_path(category),
            "count": self.fill("article_count", &[("n", &count.to_string())]),
        })
    }

    /// Home, category and section links from the current page up.
    fn crumbs(&self, categories: &[KbCategory], category_id: Option<i64>) -> Vec<Value> {
        let mut crumbs = Vec::new();
        let mut current = category_id.and_then(|id| categories.iter().find(|category| category.id == id));
        while let Some(category) = current {
            crumbs.push(json!({ "name": category_name(category, self.locale), "url": self.category_path(category) }));
            current = category.parent_id.and_then(|id| categories.iter().find(|parent| parent.id == id));
        }
        crumbs.push(json!({ "name": self.t("home"), "url": self.url("") }));
        crumbs.reverse();
        crumbs
    }
}

/// `/help`: to the locale the browser prefers.
pub(super) async fn pick_locale(headers: HeaderMap) -> Response {
    let mut response = Redirect::to(&format!("/help/{}", preferred_locale(&headers))).into_response();
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-language"));
    response
}

/// The stylesheet, cached for a year under a name that changes with its content.
pub(super) async fn stylesheet(Path(file): Path<String>) -> Response {
    if format!("/help/assets/{file}") != *CSS_PATH {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let mut response = CSS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}

/// `/help/files/{id}/{name}`: a file on a knowledge-base article, only while one of its articles is
/// published and public (a 404 otherwise, as for a file that does not exist). Images show inline; every
/// other type is a download. Never sniffed, never run (`nosniff`, a sandboxing CSP).
pub(super) async fn file(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let id = match &path {
        Ok(Path((id, _name))) => id.parse::<i64>().ok().filter(|id| *id > 0),
        Err(_) => None,
    };
    let Some(id) = id else {
        return ApiError::from(kefu_app::AppError::NotFound(kefu_app::Entity::Attachment)).into_response();
    };
    let (record, content) = match state.app.help_file(kefu_domain::AttachmentId(id)).await {
        Ok(found) => found,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let image = crate::kb::inline_image(&record.content_type);
    let mut response = axum::body::Body::from(content).into_response();
    let headers = response.headers_mut();
    let content_type = if image { record.content_type.as_str() } else { "application/octet-stream" };
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        crate::attachments::disposition(if image { "inline" } else { "attachment" }, &record.filename),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    // Short: unpublishing an article should take its files down soon after.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

/// Any other path under `/help`: a trailing slash is dropped, anything else is a 404 page.
pub(super) async fn not_found(ctx: Ctx) -> Response {
    let path = ctx.path.split('?').next().unwrap_or_default();
    if path.len() > "/help/".len() && path.ends_with('/') {
        return Redirect::permanent(path.trim_end_matches('/')).into_response();
    }
    ctx.error(ApiError::route_not_found())
}

/// The home page: each category with its sections and its most helpful articles, then the rest.
pub(super) async fn home(ctx: Ctx) -> Response {
    ctx.run(async {
        let index = ctx.app().help_index(ctx.locale).await?;
        let top_of = |category_id: i64| -> Option<i64> {
            let category = index.categories.iter().find(|category| category.id == category_id)?;
            Some(category.parent_id.unwrap_or(category.id))
        };
        let mut by_top: HashMap<i64, Vec<&HelpEntry>> = HashMap::new();
        let mut by_category: HashMap<i64, usize> = HashMap::new();
        let mut loose = Vec::new();
        for entry in &index.articles {
            match entry.category_id.and_then(top_of) {
                Some(top) => {
                    by_top.entry(top).or_default().push(entry);
                    *by_category.entry(entry.category_id.unwrap_or(top)).or_default() += 1;
                }
                None => loose.push(ctx.article_link(entry)),
            }
        }
        let groups: Vec<Value> = index
            .categories
            .iter()
            .filter(|category| category.parent_id.is_none())
            .filter_map(|category| {
                let articles = by_top.get(&category.id)?;
                let sections: Vec<Value> = index
                    .categories
                    .iter()
                    .filter(|section| section.parent_id == Some(category.id))
                    .filter_map(|section| {
                        let count = *by_category.get(&section.id)?;
                        Some(ctx.category_link(section, count))
                    })
                    .collect();
                let mut group = ctx.category_link(category, articles.len());
                group["sections"] = json!(sections);
                group["top"] =
                    json!(articles.iter().take(TOP_ARTICLES).map(|e| ctx.article_link(e)).collect::<Vec<_>>());
                group["more"] = if articles.len() > TOP_ARTICLES {
                    json!(ctx.fill("see_all", &[("n", &articles.len().to_string())]))
                } else {
                    Value::Null
                };
                Some(group)
            })
            .collect();
        let brand = ctx.brand();
        let mut meta = Meta::page(brand["name"].as_str().unwrap_or_default());
        meta.description = format!("{} · {}", ctx.t("help_center"), ctx.t("search_placeholder"));
        meta.canonical = Some(ctx.url(""));
        meta.alternates = super::i18n::LOCALES.iter().map(|(l, _, _)| (l.to_string(), format!("/help/{l}"))).collect();
        let data = json!({ "page": "home", "show_search": true, "groups": groups, "loose": loose });
        Ok(ctx.render(StatusCode::OK, "home.html", meta, data))
    })
    .await
}

/// A category (its sections, each with its articles, and its own articles) or a section (its articles).
pub(super) async fn category(ctx: Ctx, path: Result<Path<SlugPath>, PathRejection>) -> Response {
    ctx.run(async {
        let Path(SlugPath { slug }) = path.map_err(bad_path)?;
        let (id, given) = parse_id_slug(&slug).ok_or_else(ApiError::route_not_found)?;
        let index = ctx.app().help_index(ctx.locale).await?;
        let category = index
            .categories
            .iter()
            .find(|category| category.id == id)
            .ok_or_else(|| ApiError::from(kefu_app::AppError::NotFound(kefu_app::Entity::KbCategory)))?;
        let name = category_name(category, ctx.locale);
        if given != kb::slug(name) {
            return Ok(Redirect::permanent(&ctx.category_path(category)).into_response());
        }
        let listed = |category_id: i64| -> Vec<Value> {
            index
                .articles
                .iter()
                .filter(|entry| entry.category_id == Some(category_id))
                .map(|entry| ctx.article_link(entry))
                .collect()
        };
        let sections: Vec<Value> = index
            .categories
            .iter()
            .filter(|section| section.parent_id == Some(category.id))
            .map(|section| {
                let articles = listed(section.id);
                let mut link = ctx.category_link(section, articles.len());
                link["articles"] = json!(articles);
                link
            })
            .filter(|section| section["articles"].as_array().is_some_and(|articles| !articles.is_empty()))
            .collect();
        let mut meta = Meta::page(format!("{name} · {}", ctx.brand()["name"].as_str().unwrap_or_default()));
        meta.description = name.to_owned();
        meta.canonical = Some(ctx.category_path(category));
        meta.alternates = super::i18n::LOCALES
            .iter()
            .map(|(locale, _, _)| {
                let slug = kb::slug(category_name(category, locale));
                (locale.to_string(), format!("/help/{locale}/categories/{}", id_slug(category.id, &slug)))
            })
            .collect();
        let data = json!({
            "page": "category",
            "show_search": true,
            "name": name,
            "crumbs": ctx.crumbs(&index.categories, category.parent_id),
            "sections": sections,
            "articles": listed(category.id),
        });
        Ok(ctx.render(StatusCode::OK, "category.html", meta, data))
    })
    .await
}

/// An article in the page's locale, with links to its other translations, its section's other articles,
/// the helpful vote, and (after a search) the deflection prompt.
pub(super) async fn article(
    ctx: Ctx,
    path: Result<Path<SlugPath>, PathRejection>,
    query: Result<Query<ArticleQuery>, QueryRejection>,
) -> Response {
    ctx.run(async {
        let Path(SlugPath { slug }) = path.map_err(bad_path)?;
        let Query(query) = query.map_err(bad_query)?;
        let (id, given) = parse_id_slug(&slug).ok_or_else(ApiError::route_not_found)?;
        let article = ctx.app().public_article(id).await?;
        let entry_of = |translation: &kb::Translation| HelpEntry {
            translation_id: translation.id,
            article_id: article.id,
            category_id: article.category_id,
            locale: translation.locale.clone(),
            title: translation.title.clone(),
            updated_at: translation.updated_at,
        };
        let alternates: Vec<(String, String)> = article
            .translations
            .iter()
            .map(|translation| (translation.locale.clone(), ctx.article_path(&entry_of(translation))))
            .collect();
        let Some(translation) = article.translations.iter().find(|translation| translation.locale == ctx.locale)
        else {
            let others: Vec<Value> = alternates
                .iter()
                .map(|(locale, url)| {
                    let label = super::i18n::LOCALES.iter().find(|(l, _, _)| l == locale).map_or("", |l| l.1);
                    json!({ "label": label, "url": url })
                })
                .collect();
            let data = json!({
                "page": "error",
                "title": ctx.t("not_found_title"),
                "text": ctx.t("article_elsewhere"),
                "error_code": "article.not_found",
                "links": others,
                "link": Value::Null,
            });
            return Ok(ctx.render(StatusCode::NOT_FOUND, "message.html", Meta::page(ctx.t("not_found_title")), data));
        };
        let entry = entry_of(translation);
        let canonical = ctx.article_path(&entry);
        if given != kb::slug(&translation.title) {
            let query = ctx.path.split_once('?').map(|(_, query)| format!("?{query}")).unwrap_or_default();
            return Ok(Redirect::permanent(&format!("{canonical}{query}")).into_response());
        }
        let index = ctx.app().help_index(ctx.locale).await?;
        let siblings: Vec<Value> = index
            .articles
            .iter()
            .filter(|other| other.category_id == article.category_id && other.article_id != article.id)
            .take(10)
            .map(|other| ctx.article_link(other))
            .collect();
        let (yes, no) = ctx.app().feedback_counts(&[translation.id]).await?.get(&translation.id).copied().unwrap_or((0, 0));
        let text = kefu_app::kb::markdown_text(&translation.body_markdown);
        let mut meta = Meta::page(format!("{} · {}", translation.title, ctx.brand()["name"].as_str().unwrap_or_default()));
        meta.description = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(160).collect();
        meta.canonical = Some(canonical.clone());
        meta.og_type = "article";
        meta.alternates = alternates.clone();
        let others: Vec<Value> = alternates
            .iter()
            .filter(|(locale, _)| locale != ctx.locale)
            .map(|(locale, url)| {
                let label = super::i18n::LOCALES.iter().find(|(l, _, _)| l == locale).map_or("", |l| l.1);
                json!({ "locale": locale, "label": label, "url": url })
            })
            .collect();
        let data = json!({
            "page": "article",
            "show_search": false,
            "title": translation.title,
            "body": translation.body_html,
            "updated": ctx.fill("updated", &[("date", &local_date(ctx.locale, translation.updated_at))]),
            "updated_iso": translation.updated_at.to_rfc3339(),
            "crumbs": ctx.crumbs(&index.categories, article.category_id),
            "siblings": siblings,
            "others": others,
            "translation_id": translation.id,
            "feedback_url": format!("{canonical}/feedback"),
            "voted": query.voted.is_some(),
            "votes": (yes + no > 0).then(|| ctx.fill("votes", &[("yes", &yes.to_string()), ("total", &(yes + no).to_string())])),
            "search": query.search,
        });
        Ok(ctx.render(StatusCode::OK, "article.html", meta, data))
    })
    .await
}

/// Records a vote (and, after a search, a "yes" as a deflection), then back to the article.
pub(super) async fn feedback(
    ctx: Ctx,
    path: Result<Path<SlugPath>, PathRejection>,
    form: Result<Form<FeedbackForm>, FormRejection>,
) -> Response {
    ctx.run(async {
        let Path(SlugPath { slug }) = path.map_err(bad_path)?;
        let Form(form) = form.map_err(bad_form)?;
        ctx.check_form(Some(&form.csrf))?;
        let helpful = match form.helpful.as_str() {
            "yes" => true,
            "no" => false,
            _ => return Err(ApiError::invalid("helpful", "helpful is yes or no")),
        };
        let comment = Some(form.comment.as_str()).filter(|comment| !comment.trim().is_empty());
        ctx.app().article_feedback(form.translation, helpful, comment).await?;
        if helpful && let Some(search) = form.search {
            record_outcome(&ctx, search, None, true).await?;
        }
        let id = parse_id_slug(&slug).map_or(0, |(id, _)| id);
        Ok(ctx.see_other(&ctx.url(&format!("/articles/{id}?voted=1"))))
    })
    .await
}

/// Records a search outcome; a log row that is gone (pruned, or a made-up id) is not the visitor's problem.
async fn record_outcome(ctx: &Ctx, search: i64, clicked: Option<i64>, deflected: bool) -> Result<(), ApiError> {
    match ctx.app().record_search_outcome(search, clicked, deflected).await {
        Ok(()) | Err(kefu_app::AppError::NotFound(_)) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// "This answered my question" after a suggestion or a search: a deflection.
pub(super) async fn deflect(ctx: Ctx, form: Result<Form<DeflectForm>, FormRejection>) -> Response {
    ctx.run(async {
        let Form(form) = form.map_err(bad_form)?;
        ctx.check_form(Some(&form.csrf))?;
        record_outcome(&ctx, form.search, None, true).await?;
        Ok(ctx.message(
            StatusCode::OK,
            ctx.t("deflect_thanks_title"),
            ctx.t("deflect_thanks"),
            Some((ctx.t("back_home"), ctx.url(""))),
        ))
    })
    .await
}

/// Search results with highlighted snippets; the search is logged and each result links through
/// [`click`] so the click is recorded.
pub(super) async fn search(ctx: Ctx, query: Result<Query<SearchQuery>, QueryRejection>) -> Response {
    ctx.run(async {
        let Query(SearchQuery { q }) = query.map_err(bad_query)?;
        let q: String = q.trim().chars().take(MAX_QUERY_CHARS).collect();
        let mut meta = Meta::page(format!("{} · {}", ctx.t("search"), ctx.brand()["name"].as_str().unwrap_or_default()));
        if q.is_empty() {
            let data = json!({ "page": "search", "show_search": true, "results": [], "heading": ctx.t("search_empty"), "count": Value::Null });
            return Ok(ctx.render(StatusCode::OK, "search.html", meta, data));
        }
        let (hits, log_id) = ctx.app().help_search(&q, ctx.locale, SEARCH_RESULTS).await?;
        let results: Vec<Value> = hits
            .iter()
            .map(|found| {
                json!({
                    "title_html": found.hit.title_html,
                    "snippet_html": found.hit.snippet_html,
                    "url": ctx.url(&format!("/search/click?search={log_id}&article={}", found.entry.translation_id)),
                })
            })
            .collect();
        meta.title = format!("{} · {}", ctx.fill("results_for", &[("q", &q)]), ctx.brand()["name"].as_str().unwrap_or_default());
        let data = json!({
            "page": "search",
            "show_search": true,
            "query": q,
            "heading": ctx.fill("results_for", &[("q", &q)]),
            "count": ctx.fill("result_count", &[("n", &results.len().to_string())]),
            "results": results,
        });
        Ok(ctx.render(StatusCode::OK, "search.html", meta, data))
    })
    .await
}

/// A click on a search result or a suggestion: recorded, then `303` to the article (carrying the search, so
/// the article can offer "this answered my question").
pub(super) async fn click(ctx: Ctx, query: Result<Query<ClickQuery>, QueryRejection>) -> Response {
    ctx.run(async {
        let Query(ClickQuery { search, article }) = query.map_err(bad_query)?;
        let entry = ctx
            .app()
            .help_entries()
            .await?
            .into_iter()
            .find(|entry| entry.translation_id == article)
            .ok_or_else(|| ApiError::from(kefu_app::AppError::NotFound(kefu_app::Entity::Article)))?;
        record_outcome(&ctx, search, Some(entry.translation_id), false).await?;
        Ok(ctx.see_other(&format!("{}?search={search}", ctx.article_path(&entry))))
    })
    .await
}

/// `sitemap.xml`: each locale's home and every published public article translation, with its other
/// languages as `hreflang` alternates.
pub(super) async fn sitemap(ctx: Ctx) -> Response {
    ctx.run(async {
        let entries = ctx.app().help_entries().await?;
        let mut by_article: HashMap<i64, Vec<&HelpEntry>> = HashMap::new();
        for entry in &entries {
            by_article.entry(entry.article_id).or_default().push(entry);
        }
        let homes: Vec<Value> = super::i18n::LOCALES
            .iter()
            .map(|(locale, _, _)| json!({ "loc": ctx.absolute(&format!("/help/{locale}")), "lastmod": Value::Null, "alternates": [] }))
            .collect();
        let articles: Vec<Value> = entries
            .iter()
            .map(|entry| {
                let alternates: Vec<Value> = by_article
                    .get(&entry.article_id)
                    .map(|all| {
                        all.iter()
                            .map(|other| json!({ "locale": other.locale, "url": ctx.absolute(&ctx.article_path(other)) }))
                            .collect()
                    })
                    .unwrap_or_default();
                json!({
                    "loc": ctx.absolute(&ctx.article_path(entry)),
                    "lastmod": entry.updated_at.format("%Y-%m-%d").to_string(),
                    "alternates": if alternates.len() > 1 { alternates } else { vec![] },
                })
            })
            .collect();
        let urls: Vec<Value> = homes.into_iter().chain(articles).collect();
        let xml = ctx
            .help
            .templates
            .get_template("sitemap.xml")
            .and_then(|template| template.render(minijinja::value::Serde(json!({ "urls": urls }))))
            .map_err(|error| ApiError::internal(format!("rendering the sitemap: {error:#}")))?;
        let mut response = xml.into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"));
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
        Ok(response)
    })
    .await
}
