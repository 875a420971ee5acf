//! Searching: a [`SearchQuery`] (text, kinds, filters, who asks) becomes a tantivy query; the top documents
//! come back as [`Hit`]s with highlighted snippets.
//!
//! The text matches by its words; the grams field joins in only where words may not match (one character,
//! digits and email fragments, a word no document holds), or in a second pass when the words find nothing.
//! Adding it to every query made every search score every document holding the query's letter pairs
//! ("printer": 0.33 ms bare, 6 ms with the grams, issue 6). What this costs: a partial word that is a whole
//! word elsewhere (`tan` for Tanaka, while some message says "tan") finds that word only, unless the
//! filters leave no such document.

use chrono::{DateTime, Utc};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{TantivyDocument, Term};

use crate::Result;
use crate::analysis::{query_grams, word_tokens};
use crate::highlight::{Highlighter, escape};
use crate::index::SearchIndex;

/// What kind of thing a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// A ticket.
    Ticket,
    /// A customer.
    Customer,
    /// A knowledge-base article translation.
    Article,
}

impl DocKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Ticket => "ticket",
            DocKind::Customer => "customer",
            DocKind::Article => "article",
        }
    }

    fn parse(text: &str) -> Option<DocKind> {
        match text {
            "ticket" => Some(DocKind::Ticket),
            "customer" => Some(DocKind::Customer),
            "article" => Some(DocKind::Article),
            _ => None,
        }
    }
}

/// Who is asking, which decides what they may find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// An agent who sees every ticket; finds drafts and internal articles too.
    Agent,
    /// An agent restricted to some groups: tickets of those groups and tickets assigned to them only.
    RestrictedAgent {
        /// The agent.
        agent_id: i64,
        /// Their groups.
        group_ids: Vec<i64>,
    },
    /// A customer or a visitor: published public articles only.
    Public,
}

/// A search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// The words typed.
    pub text: String,
    /// What to look for (empty for everything the audience may see).
    pub kinds: Vec<DocKind>,
    /// Every word must match (agents' searches) or any may (suggestions).
    pub match_all: bool,
    /// Who asks.
    pub audience: Audience,
    /// Tickets in these statuses.
    pub statuses: Vec<String>,
    /// Tickets of this group.
    pub group_id: Option<i64>,
    /// Tickets of this assignee.
    pub assignee_id: Option<i64>,
    /// Tickets of this requester.
    pub requester_id: Option<i64>,
    /// Documents with this tag.
    pub tag: Option<String>,
    /// Articles in this locale.
    pub locale: Option<String>,
    /// Articles in this category.
    pub category_id: Option<i64>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: usize,
    /// Results to skip.
    pub offset: usize,
}

impl SearchQuery {
    /// A search for `text`, by an unrestricted agent, every word required, ten results.
    pub fn text(text: &str) -> SearchQuery {
        SearchQuery {
            text: text.to_owned(),
            kinds: vec![],
            match_all: true,
            audience: Audience::Agent,
            statuses: vec![],
            group_id: None,
            assignee_id: None,
            requester_id: None,
            tag: None,
            locale: None,
            category_id: None,
            created_from: None,
            created_to: None,
            limit: 10,
            offset: 0,
        }
    }

    /// Only these kinds.
    pub fn kinds(mut self, kinds: &[DocKind]) -> SearchQuery {
        self.kinds = kinds.to_vec();
        self
    }

    /// As this audience.
    pub fn audience(mut self, audience: Audience) -> SearchQuery {
        self.audience = audience;
        self
    }

    /// Any word may match (ranked by how many do), for suggestions.
    pub fn any_word(mut self) -> SearchQuery {
        self.match_all = false;
        self
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// What it is.
    pub kind: DocKind,
    /// Its id.
    pub id: i64,
    /// Relevance.
    pub score: f32,
    /// Title (subject, name), highlighted as HTML (`<b>` around matches; text escaped).
    pub title_html: String,
    /// The best passage of the body, highlighted as HTML.
    pub snippet_html: String,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    /// The hits, best first.
    pub hits: Vec<Hit>,
    /// How many documents match in all.
    pub total: usize,
}

fn term(field: tantivy::schema::Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic))
}

fn i64_term(field: tantivy::schema::Field, value: i64) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_i64(field, value), IndexRecordOption::Basic))
}

/// Characters that make a query look like an identifier (an email, a phone or ticket number, a code) rather
/// than words: such text is matched by its grams too.
fn identifier_like(c: char) -> bool {
    c.is_numeric() || matches!(c, '@' | '.' | '#' | '+' | '-' | '_')
}

/// How a query's text is matched: its words, and its grams where the words may not be enough.
struct TextMatch {
    /// The query's distinct analyzed words.
    tokens: Vec<String>,
    /// Its distinct grams (see [`query_grams`]).
    grams: Vec<String>,
    /// The ticket number it names, if it is one.
    number: Option<i64>,
}

impl SearchIndex {
    /// Whether the words alone may miss what the text means, so the gram clause is added from the start: a
    /// one-character query (rarely a word of its own), one that looks like an identifier (digits, `@`, `.`:
    /// emails, phones, ticket numbers are matched in part), or one with a word that no title, body or name
    /// holds (a partial word, a name jieba splits another way). Otherwise (a query of whole indexed words,
    /// the usual case) the words run alone, and the grams only when the words find nothing.
    fn words_may_miss(&self, searcher: &tantivy::Searcher, text: &str, tokens: &[String]) -> Result<bool> {
        let mut chars = text.chars().filter(|c| !c.is_whitespace());
        if chars.clone().nth(1).is_none() || chars.any(identifier_like) || tokens.is_empty() {
            return Ok(true);
        }
        let fields = self.fields;
        for token in tokens {
            let mut indexed = false;
            for field in [fields.title, fields.body, fields.names] {
                if searcher.doc_freq(&Term::from_field_text(field, token))? > 0 {
                    indexed = true;
                    break;
                }
            }
            if !indexed {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The text clause: each word of the query, analyzed like the documents, may match in the title, the
    /// body or the names; words are combined with AND (agents' searches) or OR (suggestions, ranked by how
    /// many match). With `with_grams`, a document whose grams field holds every 2-gram of the text (or its one
    /// character) matches too; a ticket number matches its ticket.
    fn text_query(&self, query: &SearchQuery, text: &TextMatch, with_grams: bool) -> Box<dyn Query> {
        let fields = self.fields;
        let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if !text.tokens.is_empty() {
            let per_word: Vec<(Occur, Box<dyn Query>)> = text
                .tokens
                .iter()
                .map(|token| {
                    let in_fields: Vec<(Occur, Box<dyn Query>)> =
                        [(fields.title, 1.0), (fields.body, 1.0), (fields.names, 2.0)]
                            .into_iter()
                            .map(|(field, boost)| {
                                let query =
                                    TermQuery::new(Term::from_field_text(field, token), IndexRecordOption::WithFreqs);
                                (Occur::Should, Box::new(BoostQuery::new(Box::new(query), boost)) as Box<dyn Query>)
                            })
                            .collect();
                    (
                        if query.match_all { Occur::Must } else { Occur::Should },
                        Box::new(BooleanQuery::new(in_fields)) as Box<dyn Query>,
                    )
                })
                .collect();
            any.push((Occur::Should, Box::new(BooleanQuery::new(per_word))));
        }
        if with_grams && !text.grams.is_empty() {
            let gram_terms: Vec<(Occur, Box<dyn Query>)> = text
                .grams
                .iter()
                .map(|gram| {
                    (
                        Occur::Must,
                        Box::new(TermQuery::new(
                            Term::from_field_text(fields.grams, gram),
                            IndexRecordOption::WithFreqs,
                        )) as Box<dyn Query>,
                    )
                })
                .collect();
            any.push((Occur::Should, Box::new(BoostQuery::new(Box::new(BooleanQuery::new(gram_terms)), 0.5))));
        }
        if let Some(number) = text.number {
            any.push((Occur::Should, Box::new(BoostQuery::new(i64_term(fields.number, number), 10.0))));
        }
        Box::new(BooleanQuery::new(any))
    }

    fn filter_query(&self, query: &SearchQuery) -> Vec<(Occur, Box<dyn Query>)> {
        let fields = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let allowed: Vec<DocKind> = match query.audience {
            Audience::Public => vec![DocKind::Article],
            _ if query.kinds.is_empty() => vec![DocKind::Ticket, DocKind::Customer, DocKind::Article],
            _ => query.kinds.clone(),
        };
        let allowed: Vec<DocKind> = if query.kinds.is_empty() {
            allowed
        } else {
            allowed.into_iter().filter(|kind| query.kinds.contains(kind)).collect()
        };
        // Every document is of one of the three kinds, so allowing all three filters nothing; left in, it would
        // cost every search a bitset of every document (a term set query collects its postings up front). Else
        // one term per kind, walked along with the rest of the query, scoring a constant as the term set did.
        let every_kind =
            [DocKind::Ticket, DocKind::Customer, DocKind::Article].iter().all(|kind| allowed.contains(kind));
        if !every_kind {
            let kinds: Vec<(Occur, Box<dyn Query>)> =
                allowed.iter().map(|kind| (Occur::Should, term(fields.kind, kind.as_str()))).collect();
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(Box::new(BooleanQuery::new(kinds)), 1.0))));
        }
        // Per kind: tickets a restricted agent may not see, and articles the audience may not see, are out.
        match &query.audience {
            Audience::Public => clauses.push((Occur::Must, term(fields.audience, "public"))),
            Audience::RestrictedAgent { agent_id, group_ids } => {
                let mut visible: Vec<(Occur, Box<dyn Query>)> = vec![
                    (
                        Occur::Should,
                        Box::new(BooleanQuery::new(vec![
                            (Occur::MustNot, term(fields.kind, "ticket")),
                            (Occur::Must, Box::new(AllQuery)),
                        ])),
                    ),
                    (Occur::Should, i64_term(fields.assignee_id, *agent_id)),
                ];
                if !group_ids.is_empty() {
                    visible.push((
                        Occur::Should,
                        Box::new(TermSetQuery::new(
                            group_ids.iter().map(|id| Term::from_field_i64(fields.group_id, *id)),
                        )),
                    ));
                }
                clauses.push((Occur::Must, Box::new(BooleanQuery::new(visible))));
            }
            Audience::Agent => {}
        }
        if !query.statuses.is_empty() {
            clauses.push((
                Occur::Must,
                Box::new(TermSetQuery::new(
                    query.statuses.iter().map(|status| Term::from_field_text(fields.status, status)),
                )),
            ));
        }
        if let Some(group_id) = query.group_id {
            clauses.push((Occur::Must, i64_term(fields.group_id, group_id)));
        }
        if let Some(assignee_id) = query.assignee_id {
            clauses.push((Occur::Must, i64_term(fields.assignee_id, assignee_id)));
        }
        if let Some(requester_id) = query.requester_id {
            clauses.push((Occur::Must, i64_term(fields.requester_id, requester_id)));
        }
        if let Some(tag) = &query.tag {
            clauses.push((Occur::Must, term(fields.tags, tag)));
        }
        if let Some(locale) = &query.locale {
            clauses.push((Occur::Must, term(fields.locale, locale)));
        }
        if let Some(category_id) = query.category_id {
            clauses.push((Occur::Must, i64_term(fields.category_id, category_id)));
        }
        if query.created_from.is_some() || query.created_to.is_some() {
            let bound = |time: Option<DateTime<Utc>>| match time {
                Some(time) => std::ops::Bound::Included(Term::from_field_date(
                    fields.created_at,
                    tantivy::DateTime::from_timestamp_micros(time.timestamp_micros()),
                )),
                None => std::ops::Bound::Unbounded,
            };
            let upper = match query.created_to {
                Some(time) => std::ops::Bound::Excluded(Term::from_field_date(
                    fields.created_at,
                    tantivy::DateTime::from_timestamp_micros(time.timestamp_micros()),
                )),
                None => std::ops::Bound::Unbounded,
            };
            clauses.push((Occur::Must, Box::new(RangeQuery::new(bound(query.created_from), upper))));
        }
        clauses
    }

    /// The top documents and the total for the filters and, if any, the text clause.
    fn run(
        &self,
        searcher: &tantivy::Searcher,
        query: &SearchQuery,
        text: Option<Box<dyn Query>>,
    ) -> Result<(Vec<(f32, tantivy::DocAddress)>, usize)> {
        let mut clauses = self.filter_query(query);
        if let Some(text) = text {
            clauses.push((Occur::Must, text));
        }
        if clauses.is_empty() {
            // No words and nothing to filter by: everything (a boolean query without clauses matches nothing).
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        let combined = BooleanQuery::new(clauses);
        let limit = query.limit.clamp(1, 100);
        Ok(searcher
            .search(&combined, &(TopDocs::with_limit(limit).and_offset(query.offset).order_by_score(), Count))?)
    }

    /// Runs a search.
    pub fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        let searcher = self.reader.searcher();
        let trimmed = query.text.trim();
        let has_text = !trimmed.is_empty();
        let (top, total) = if has_text {
            let mut tokens = word_tokens(trimmed);
            tokens.sort();
            tokens.dedup();
            let text = TextMatch {
                grams: query_grams(trimmed),
                number: trimmed.trim_start_matches('#').parse::<i64>().ok(),
                tokens,
            };
            let grams_first = self.words_may_miss(&searcher, trimmed, &text.tokens)?;
            let found = self.run(&searcher, query, Some(self.text_query(query, &text, grams_first)))?;
            if found.1 == 0 && !grams_first && !text.grams.is_empty() {
                // Whole words that match nothing here (a name that is a word elsewhere, a word of other kinds of
                // document): the grams may still find it.
                self.run(&searcher, query, Some(self.text_query(query, &text, true)))?
            } else {
                found
            }
        } else {
            self.run(&searcher, query, None)?
        };
        let fields = self.fields;
        // The query's words, weighted as tantivy's snippets weigh them (rarer words count more), per field.
        let highlighter = |field| -> Result<Option<Highlighter>> {
            if !has_text {
                return Ok(None);
            }
            let mut terms = std::collections::HashMap::new();
            for token in word_tokens(&query.text) {
                let frequency = searcher.doc_freq(&Term::from_field_text(field, &token))?;
                if frequency > 0 {
                    terms.insert(token, 1.0 / (1.0 + frequency as f32));
                }
            }
            Ok(Some(Highlighter::new(terms)))
        };
        let title_highlighter = highlighter(fields.title)?;
        let body_highlighter = highlighter(fields.body)?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let document: TantivyDocument = searcher.doc(address)?;
            let text_of =
                |field| document.get_first(field).and_then(|value| value.as_str()).unwrap_or_default().to_owned();
            let kind = DocKind::parse(&text_of(fields.kind)).unwrap_or(DocKind::Ticket);
            let id = document.get_first(fields.id).and_then(|value| value.as_i64()).unwrap_or_default();
            let title = text_of(fields.title);
            let title_html = title_highlighter
                .as_ref()
                .and_then(|highlighter| highlighter.snippet(&title, usize::MAX))
                .unwrap_or_else(|| escape(&title));
            let body = text_of(fields.body);
            let snippet_html = match &body_highlighter {
                Some(highlighter) => highlighter.snippet(&body, 200).unwrap_or_default(),
                None => escape(&body.chars().take(200).collect::<String>()),
            };
            hits.push(Hit { kind, id, score, title_html, snippet_html });
        }
        Ok(SearchResults { hits, total })
    }
}
