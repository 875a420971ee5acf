//! `kefu-bench-search`: the in-process half of the search speed benchmark (`bench/search.sh`).
//!
//! Given a Kefu search index directory (`<data dir>/search`, built by `kefu reindex` from a database seeded by
//! `kefu-bench-seed`) and a query mix (`bench/search/queries.txt`), it times, on one thread, one query after
//! another, cycling through the mix:
//!
//! - `bare`: a bare tantivy query over the same index, opened read-only with plain tantivy: the query's words
//!   (analyzed like the documents, with [`kefu_search::word_tokens`]) must each match the title, the body or
//!   the names, top 20 by score, and the 20 stored documents read. No filters, no 2-gram field, no count, no
//!   highlighting: what a minimal application on tantivy would do;
//! - `bare_count`: the same plus the number of matching documents (tantivy's `Count`), which the API returns;
//! - `kefu_search`: [`kefu_search::SearchIndex::search`] as an unrestricted agent, 20 results (the API's
//!   default page): filters, the number clause, the gram clause where words may not match (none of this
//!   mix's queries needs it: each is made of indexed words), the total, highlighted title and snippet. This
//!   is what `GET /api/v1/search` runs before it re-reads the tickets from the database.
//!
//! Each prints one line, `RESULT mode=.. queries=.. seconds=.. rate=.. p50_ms=.. p99_ms=.. max_ms=..`, with
//! a warm-up pass over the mix first. `--list` prints how many documents each query matches (and its tokens).
//!
//! What it is not: an HTTP load test (the script runs wrk against `kefu serve` for that) nor a test of
//! relevance (`bench/kb-quality`). `kefu_search` mode opens the index for writing too (that is how
//! `SearchIndex` opens), so it cannot run while a server holds the same directory.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use kefu_search::{SearchIndex, SearchQuery};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Index, IndexReader, Searcher, TantivyDocument, Term};

/// Times bare tantivy queries and kefu-search's search over a Kefu search index.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The index directory (`<data dir>/search`).
    #[arg(long)]
    index: PathBuf,
    /// The query mix: one query per line, `#` comments.
    #[arg(long)]
    queries: PathBuf,
    /// Seconds each mode runs (after a warm-up pass over the mix).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Results per query.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Modes to run, comma-separated: bare, bare_count, kefu_search.
    #[arg(long, default_value = "bare,bare_count,kefu_search")]
    modes: String,
    /// Print the documents each query matches, then the timings.
    #[arg(long)]
    list: bool,
    /// Also print each query's median latency per mode.
    #[arg(long)]
    per_query: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.queries)
        .with_context(|| format!("reading the queries in {}", args.queries.display()))?;
    let queries: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    if queries.is_empty() {
        bail!("no queries in {}", args.queries.display());
    }
    let modes: Vec<&str> = args.modes.split(',').map(str::trim).filter(|mode| !mode.is_empty()).collect();
    let duration = Duration::from_secs_f64(args.seconds.max(0.1));

    // Plain tantivy, read-only: no writer, no lock, no tokenizers needed (queries are built from terms).
    let bare = Bare::open(&args.index)?;
    eprintln!(
        "index {}: {} documents in {} segments; {} queries",
        args.index.display(),
        bare.reader.searcher().num_docs(),
        bare.reader.searcher().segment_readers().len(),
        queries.len()
    );
    if args.list {
        let searcher = bare.reader.searcher();
        for query in &queries {
            let matched = searcher.search(&bare.query(query), &Count)?;
            println!("QUERY matches={matched} tokens={:?} q={query}", kefu_search::word_tokens(query));
        }
    }

    for mode in modes {
        let latencies = match mode {
            "bare" => {
                let searcher = bare.reader.searcher();
                run(&queries, duration, |query| bare.top(&searcher, query, args.limit, false))?
            }
            "bare_count" => {
                let searcher = bare.reader.searcher();
                run(&queries, duration, |query| bare.top(&searcher, query, args.limit, true))?
            }
            "kefu_search" => {
                let index = SearchIndex::open(&args.index).context("opening the index with kefu-search")?;
                run(&queries, duration, |query| {
                    let mut search = SearchQuery::text(query);
                    search.limit = args.limit;
                    let results = index.search(&search)?;
                    Ok(results.hits.len())
                })?
            }
            other => bail!("unknown mode {other:?}; use bare, bare_count or kefu_search"),
        };
        report(mode, &latencies);
        if args.per_query {
            for (index, query) in queries.iter().enumerate() {
                let mut own: Vec<Duration> = latencies.iter().skip(index).step_by(queries.len()).copied().collect();
                own.sort_unstable();
                let median = own.get(own.len() / 2).map_or(0.0, |median| median.as_secs_f64() * 1000.0);
                println!("PER_QUERY mode={mode} p50_ms={median:.3} runs={} q={query}", own.len());
            }
        }
    }
    Ok(())
}

/// The index opened with plain tantivy.
struct Bare {
    reader: IndexReader,
    text_fields: [Field; 3],
}

impl Bare {
    fn open(dir: &std::path::Path) -> Result<Bare> {
        let index = Index::open_in_dir(dir).with_context(|| format!("opening {} with tantivy", dir.display()))?;
        let schema = index.schema();
        let field = |name: &str| schema.get_field(name).with_context(|| format!("the index has no {name} field"));
        let text_fields = [field("title")?, field("body")?, field("names")?];
        let reader = index.reader()?;
        Ok(Bare { reader, text_fields })
    }

    /// Every word of the query in the title, the body or the names.
    fn query(&self, text: &str) -> BooleanQuery {
        let mut tokens = kefu_search::word_tokens(text);
        tokens.sort();
        tokens.dedup();
        let per_word = tokens
            .iter()
            .map(|token| {
                let in_fields: Vec<(Occur, Box<dyn Query>)> = self
                    .text_fields
                    .iter()
                    .map(|field| {
                        let term = Term::from_field_text(*field, token);
                        (Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)) as Box<dyn Query>)
                    })
                    .collect();
                (Occur::Must, Box::new(BooleanQuery::new(in_fields)) as Box<dyn Query>)
            })
            .collect();
        BooleanQuery::new(per_word)
    }

    /// The top `limit` documents by score, read from the store; with `count`, the number of matches too.
    fn top(&self, searcher: &Searcher, text: &str, limit: usize, count: bool) -> Result<usize> {
        let query = self.query(text);
        let top = if count {
            searcher.search(&query, &(TopDocs::with_limit(limit).order_by_score(), Count))?.0
        } else {
            searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?
        };
        for (_, address) in &top {
            let document: TantivyDocument = searcher.doc(*address)?;
            std::hint::black_box(document);
        }
        Ok(top.len())
    }
}

/// Runs the mix once to warm up, then cycles through it for `duration`; returns each query's latency.
fn run(queries: &[String], duration: Duration, mut search: impl FnMut(&str) -> Result<usize>) -> Result<Vec<Duration>> {
    for query in queries {
        search(query)?;
    }
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut next = 0;
    while started.elapsed() < duration {
        let query = &queries[next % queries.len()];
        next += 1;
        let t0 = Instant::now();
        std::hint::black_box(search(query)?);
        latencies.push(t0.elapsed());
    }
    Ok(latencies)
}

fn report(mode: &str, latencies: &[Duration]) {
    let seconds: f64 = latencies.iter().map(Duration::as_secs_f64).sum();
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    // Nearest rank.
    let percentile = |p: f64| -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
        sorted[rank.min(sorted.len()) - 1].as_secs_f64() * 1000.0
    };
    println!(
        "RESULT mode={mode} queries={} seconds={seconds:.2} rate={:.1} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} max_ms={:.3}",
        latencies.len(),
        latencies.len() as f64 / seconds.max(1e-9),
        percentile(50.0),
        percentile(90.0),
        percentile(99.0),
        sorted.last().map_or(0.0, |max| max.as_secs_f64() * 1000.0),
    );
}
