//! The knowledge base: categories and sections, articles with locale variants, their life cycle (draft,
//! published, archived) and visibility (public help center or internal), and the checks on what agents write.

use chrono::{DateTime, NaiveDate, Utc};

use crate::ticket::named_enum;
use crate::{DomainError, Result, Tag};

named_enum!(
    /// Where an article is in its life.
    ArticleStatus, "status" {
        /// Being written; only agents see it.
        Draft = "draft",
        /// Live.
        Published = "published",
        /// Retired; kept for history, found by no one.
        Archived = "archived",
    }
);

named_enum!(
    /// Who may read an article.
    Visibility, "visibility" {
        /// Everyone, in the public help center.
        Public = "public",
        /// Agents only.
        Internal = "internal",
    }
);

/// The locales articles and the help center come in.
pub const LOCALES: &[&str] = &["zh-CN", "zh-TW", "en"];

/// Checks a help-center locale.
pub fn check_locale(locale: &str) -> Result<String> {
    LOCALES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(locale))
        .map(|known| (*known).to_owned())
        .ok_or_else(|| DomainError::invalid("locale", format!("{locale:?} is not one of {}", LOCALES.join(", "))))
}

/// A category (top level) or section (with a parent) of the knowledge base.
#[derive(Debug, Clone, PartialEq)]
pub struct KbCategory {
    /// Id.
    pub id: i64,
    /// The category this section belongs to; `None` for a top-level category.
    pub parent_id: Option<i64>,
    /// Names by locale.
    pub names: std::collections::BTreeMap<String, String>,
    /// Order among its siblings.
    pub position: i64,
}

/// One locale variant of an article.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// Id (what the search index and feedback refer to).
    pub id: i64,
    /// The article it belongs to.
    pub article_id: i64,
    /// Locale.
    pub locale: String,
    /// Title.
    pub title: String,
    /// Markdown source.
    pub body_markdown: String,
    /// Rendered, sanitized HTML.
    pub body_html: String,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// An article, with all its locale variants.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Id.
    pub id: i64,
    /// Its section or category.
    pub category_id: Option<i64>,
    /// Life cycle.
    pub status: ArticleStatus,
    /// Who may read it.
    pub visibility: Visibility,
    /// Tags.
    pub tags: Vec<Tag>,
    /// When it should be looked at again (stale articles surface after this date).
    pub review_by: Option<NaiveDate>,
    /// The ticket it was drafted from, if any.
    pub source_ticket_id: Option<i64>,
    /// Locale variants.
    pub translations: Vec<Translation>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Article {
    /// Whether customers may read it in the help center.
    pub fn is_public(&self) -> bool {
        self.status == ArticleStatus::Published && self.visibility == Visibility::Public
    }

    /// Whether it is due for review on `today`.
    pub fn needs_review(&self, today: NaiveDate) -> bool {
        self.status != ArticleStatus::Archived && self.review_by.is_some_and(|date| date <= today)
    }
}

/// Checks an article title (1-300 characters) and body (at most 512 KiB of Markdown).
pub fn check_article_text(title: &str, body_markdown: &str) -> Result<String> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 300 || title.chars().any(char::is_control) {
        return Err(DomainError::invalid("title", "a title is 1-300 characters"));
    }
    if body_markdown.len() > 512 * 1024 {
        return Err(DomainError::invalid("body", "an article body is at most 512 KiB"));
    }
    Ok(title.to_owned())
}

/// A URL slug for a title: ASCII letters and digits joined by `-`, Chinese characters kept, at most 80
/// characters; used after the id in help-center links (`/help/zh-CN/articles/12-如何申请退款`).
pub fn slug(title: &str) -> String {
    let mut slug = String::new();
    let mut gap = false;
    for c in title.chars() {
        if c.is_alphanumeric() {
            if gap && !slug.is_empty() {
                slug.push('-');
            }
            slug.extend(c.to_lowercase());
            gap = false;
        } else {
            gap = true;
        }
        if slug.chars().count() >= 80 {
            break;
        }
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_words_and_chinese() {
        assert_eq!(slug("How do I get a refund?"), "how-do-i-get-a-refund");
        assert_eq!(slug("如何申请退款（信用卡）"), "如何申请退款-信用卡");
        assert_eq!(slug("  !!  "), "");
    }

    #[test]
    fn locales_and_text_are_checked() {
        assert_eq!(check_locale("zh-cn"), Ok("zh-CN".to_owned()));
        assert!(check_locale("fr").is_err());
        assert!(check_article_text("  ", "").is_err());
        assert_eq!(check_article_text(" 退款 ", "x"), Ok("退款".to_owned()));
    }
}
