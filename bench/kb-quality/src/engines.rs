//! The two searches compared: Kefu's own ([`Kefu`], through `kefu_search::SearchIndex` exactly as the help
//! center's suggestions search) and a plain BM25 baseline ([`Bm25`], a bare tantivy index with its default
//! tokenizer and query parser).

use anyhow::Result;
use kefu_search::{ArticleDoc, Audience, DocKind, SearchIndex, SearchQuery};
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{FAST, INDEXED, STORED, Schema, TEXT, Value};
use tantivy::{Index, IndexReader, TantivyDocument, doc};

use crate::set::Article;

/// Something that ranks articles for a question.
pub trait Engine {
    /// The ids of the first ten articles found for `text`, best first.
    fn top10(&self, text: &str) -> Result<Vec<usize>>;
}

/// Kefu's search: articles indexed as public, published translations; questions searched as a customer's
/// suggestions are (any word may match, public audience, articles only).
pub struct Kefu {
    index: SearchIndex,
}

impl Kefu {
    /// Indexes the articles in memory.
    pub fn new(articles: &[Article], locale: &str) -> Result<Kefu> {
        let index = SearchIndex::in_memory()?;
        for article in articles {
            index.upsert_article(&ArticleDoc {
                id: article.id as i64,
                title: article.title.clone(),
                body: article.body.clone(),
                locale: locale.to_owned(),
                tags: vec![],
                category_id: None,
                public: true,
                published: true,
            })?;
        }
        index.commit(1)?;
        Ok(Kefu { index })
    }
}

impl Engine for Kefu {
    fn top10(&self, text: &str) -> Result<Vec<usize>> {
        let query = SearchQuery::text(text).kinds(&[DocKind::Article]).any_word().audience(Audience::Public);
        let results = self.index.search(&query)?;
        Ok(results.hits.iter().map(|hit| hit.id as usize).collect())
    }
}

/// The baseline: one text field holding title and body, tantivy's default tokenizer (split on anything
/// that is not a letter or digit, lower-case; no stemming, no Chinese segmentation, no grams), BM25, and the
/// query parser's default of any term may match.
pub struct Bm25 {
    reader: IndexReader,
    parser: QueryParser,
    id: tantivy::schema::Field,
}

impl Bm25 {
    /// Indexes the articles in memory.
    pub fn new(articles: &[Article]) -> Result<Bm25> {
        let mut schema = Schema::builder();
        let id = schema.add_u64_field("id", INDEXED | STORED | FAST);
        let text = schema.add_text_field("text", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer(50_000_000)?;
        for article in articles {
            writer
                .add_document(doc!(id => article.id as u64, text => format!("{}\n{}", article.title, article.body)))?;
        }
        writer.commit()?;
        let reader = index.reader()?;
        let parser = QueryParser::for_index(&index, vec![text]);
        Ok(Bm25 { reader, parser, id })
    }
}

impl Engine for Bm25 {
    fn top10(&self, text: &str) -> Result<Vec<usize>> {
        // Lenient: customers type `?`, quotes and colons, which the strict grammar rejects.
        let (query, _errors) = self.parser.parse_query_lenient(text);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(10).order_by_score())?;
        let mut ids = Vec::with_capacity(top.len());
        for (_score, address) in top {
            let document: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = document.get_first(self.id).and_then(|value| value.as_u64()) {
                ids.push(id as usize);
            }
        }
        Ok(ids)
    }
}
