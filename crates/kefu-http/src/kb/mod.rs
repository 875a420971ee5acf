//! Knowledge base and search for agents: `/search` over tickets, customers and articles, `/kb/categories`,
//! `/kb/articles` with their translations, revisions, diffs and restores, files on articles, search
//! analytics, the help center's branding, and the ticket-side helpers (suggested articles, a draft article
//! from a solved ticket).
//!
//! The public help center (HTML for customers) lives in `crate::help`; this module is the agents' JSON API.

mod articles;
mod categories;
mod files;
mod search;

pub(crate) use files::inline_image;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// The knowledge-base and search routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search::search))
        .routes(routes!(search::reindex))
        .routes(routes!(categories::list_kb_categories, categories::create_kb_category))
        .routes(routes!(categories::update_kb_category, categories::delete_kb_category))
        .routes(routes!(articles::list_articles, articles::create_article))
        .routes(routes!(articles::get_article, articles::update_article))
        .routes(routes!(files::list_article_attachments, files::attach_article_attachment))
        .routes(routes!(files::detach_article_attachment))
        .routes(routes!(articles::list_revisions))
        .routes(routes!(articles::diff_revision))
        .routes(routes!(articles::restore_revision))
        .routes(routes!(articles::search_analytics))
        .routes(routes!(articles::get_help_settings, articles::update_help_settings))
        .routes(routes!(articles::suggested_articles))
        .routes(routes!(articles::draft_article))
}
