//! Kefu's full-text index: tickets (subject, every message, requester name and email, number), customers
//! and knowledge-base articles in one tantivy index that understands Chinese.
//!
//! [`SearchIndex`] owns the index; documents go in as [`TicketDoc`], [`CustomerDoc`] and [`ArticleDoc`] and
//! come out as [`Hit`]s for a [`SearchQuery`] (text plus filters plus who is asking). Text is folded from
//! Traditional to Simplified Chinese (fast2s), segmented into words (jieba), lower-cased and stemmed (English),
//! so `退款` finds `退款申請`, `refunds` finds `refund`; a second field of 1- and 2-character grams makes
//! one-character queries, partial names, email fragments and ticket numbers match too (it joins a query only
//! where its words cannot match, see `query.rs`).
//!
//! ```
//! use kefu_search::{ArticleDoc, Audience, DocKind, SearchIndex, SearchQuery};
//! let index = SearchIndex::in_memory().unwrap();
//! index.upsert_article(&ArticleDoc { id: 1, title: "如何申請退款".into(), body: "退款會在三個工作日內到賬".into(),
//!     locale: "zh-TW".into(), tags: vec![], category_id: None, public: true, published: true }).unwrap();
//! index.commit(1).unwrap();
//! let hits = index.search(&SearchQuery::text("退款").kinds(&[DocKind::Article]).audience(Audience::Public)).unwrap();
//! assert_eq!(hits.hits[0].id, 1);
//! ```
//!
//! What this crate is not: it reads no database and decides nothing about permissions by itself; the caller
//! says who is asking (`Audience`) and feeds documents from the database, which stays the source of truth
//! (the index can always be rebuilt). It is synchronous: callers on async runtimes use a blocking task.

mod analysis;
mod highlight;
mod index;
mod query;

pub use analysis::word_tokens;
pub use index::{ArticleDoc, CustomerDoc, SearchIndex, TicketDoc};
pub use query::{Audience, DocKind, Hit, SearchQuery, SearchResults};

/// Why an index operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// tantivy failed (I/O, a corrupt segment ...).
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory could not be opened.
    #[error("search index directory: {0}")]
    Directory(String),
    /// Another process (a running server) is writing this index.
    #[error("search index {0} is in use by another process (a running server?)")]
    Busy(String),
}

/// Shorthand for index results.
pub type Result<T, E = SearchError> = std::result::Result<T, E>;
