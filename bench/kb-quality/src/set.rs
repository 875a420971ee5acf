//! A question set: labelled customer questions (`text,category` CSV, as banking77 ships it) split into one
//! article per category and the held-out questions that are searched for it.
//!
//! The split is deterministic and independent of the file's order: each category's distinct questions are
//! ordered by a fixed hash of their text (64-bit FNV-1a), the first `article_questions` become the article's
//! body, and the rest are the searches. The article's title is the category name with `_` read as a space
//! (`card_arrival` -> `card arrival`; the Chinese set names its categories in words, `申请退款`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// One labelled question, a row of the CSV file.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Labelled {
    /// What the customer wrote.
    pub text: String,
    /// The intent it belongs to.
    pub category: String,
}

/// A knowledge-base article built from part of a category's questions.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Its position in [`QaSet::articles`], which is also the answer of its questions.
    pub id: usize,
    /// The category, as named in the data.
    pub category: String,
    /// Title.
    pub title: String,
    /// Body: the article's questions, one a line.
    pub body: String,
}

/// A held-out question and the article that answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// What the customer wrote.
    pub text: String,
    /// The id of the article that answers it.
    pub answer: usize,
}

/// Articles and the questions searched against them.
#[derive(Debug, Clone)]
pub struct QaSet {
    /// One per category, ordered by category name.
    pub articles: Vec<Article>,
    /// Every held-out question.
    pub questions: Vec<Question>,
}

/// 64-bit FNV-1a: a hash that never changes between Rust versions or runs (unlike `DefaultHasher`).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// Reads a `text,category` CSV file.
pub fn read_csv(path: &Path) -> Result<Vec<Labelled>> {
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let mut rows = Vec::new();
    for row in reader.deserialize() {
        rows.push(row.with_context(|| format!("reading {}", path.display()))?);
    }
    Ok(rows)
}

/// Reads `text,category` CSV text (the Chinese set, compiled in).
pub fn parse_csv(text: &str) -> Result<Vec<Labelled>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for row in reader.deserialize() {
        rows.push(row?);
    }
    Ok(rows)
}

/// Splits labelled questions into articles and held-out questions (see the module comment).
pub fn split(rows: &[Labelled], article_questions: usize) -> Result<QaSet> {
    let mut by_category: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in rows {
        let text = row.text.trim();
        if !text.is_empty() {
            by_category.entry(row.category.trim()).or_default().insert(text);
        }
    }
    let mut articles = Vec::new();
    let mut questions = Vec::new();
    for (id, (category, texts)) in by_category.into_iter().enumerate() {
        if texts.len() <= article_questions {
            bail!("category {category} has {} questions, needs more than {article_questions}", texts.len());
        }
        let mut texts: Vec<&str> = texts.into_iter().collect();
        texts.sort_by_key(|text| (fnv1a(text), *text));
        let (body, held_out) = texts.split_at(article_questions);
        articles.push(Article {
            id,
            category: category.to_owned(),
            title: category.replace('_', " "),
            body: body.join("\n"),
        });
        questions.extend(held_out.iter().map(|text| Question { text: (*text).to_owned(), answer: id }));
    }
    Ok(QaSet { articles, questions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_deterministic_and_keeps_every_question_once() {
        let rows: Vec<Labelled> = (0..10)
            .flat_map(|n| {
                [
                    Labelled { text: format!("where is my card {n}"), category: "card_arrival".into() },
                    Labelled { text: format!("退款 {n}"), category: "申请退款".into() },
                ]
            })
            .chain([Labelled { text: "退款 1".into(), category: "申请退款".into() }])
            .collect();
        let set = split(&rows, 3).expect("split");
        let mut reversed = rows.clone();
        reversed.reverse();
        let again = split(&reversed, 3).expect("split");
        assert_eq!(set.articles, again.articles, "the file's order does not matter");
        assert_eq!(set.articles[0].title, "card arrival");
        assert_eq!(set.articles[1].title, "申请退款");
        assert_eq!(set.questions.len(), 14, "duplicates count once");
        for article in &set.articles {
            assert_eq!(article.body.lines().count(), 3);
            assert!(set.questions.iter().all(|question| !article.body.lines().any(|line| line == question.text)));
        }
        assert!(split(&rows, 10).is_err(), "a category needs at least one held-out question");
    }
}
