//! The index itself: its schema, writing documents, committing with the change-feed position, and reading.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tantivy::directory::{Directory, DirectoryLock, Lock, MmapDirectory};
use tantivy::schema::{FAST, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::{self, GRAMS, WORDS};
use crate::{Result, SearchError};

/// The most text kept per document (a ticket with a very long history is indexed by its first part).
const MAX_BODY_BYTES: usize = 256 * 1024;
const WRITER_MEMORY: usize = 64 * 1024 * 1024;
/// The lock this process holds on the index directory from open to drop, so that a second process fails
/// at start rather than on its first write (tantivy's own writer lock is held only while a writer exists).
const PROCESS_LOCK: &str = ".kefu-index.lock";

/// A ticket as the index sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketDoc {
    /// Id.
    pub id: i64,
    /// Number.
    pub number: i64,
    /// Subject.
    pub subject: String,
    /// Every message's text (public replies and notes), oldest first.
    pub messages: Vec<String>,
    /// The requester's name.
    pub requester_name: String,
    /// The requester's identities (emails, phones ...).
    pub requester_identities: Vec<String>,
    /// Status.
    pub status: String,
    /// Group.
    pub group_id: Option<i64>,
    /// Assignee.
    pub assignee_id: Option<i64>,
    /// Requester.
    pub requester_id: i64,
    /// Tags.
    pub tags: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A customer as the index sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerDoc {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Identities.
    pub identities: Vec<String>,
    /// Organization name, if any.
    pub organization: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A knowledge-base article translation as the index sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArticleDoc {
    /// The article translation's id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Body as plain text.
    pub body: String,
    /// Locale (`zh-CN`, `zh-TW`, `en`).
    pub locale: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Category.
    pub category_id: Option<i64>,
    /// Visible in the public help center (else internal).
    pub public: bool,
    /// Published (else draft or archived).
    pub published: bool,
}

/// The fields, by role.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub key: tantivy::schema::Field,
    pub kind: tantivy::schema::Field,
    pub id: tantivy::schema::Field,
    pub title: tantivy::schema::Field,
    pub body: tantivy::schema::Field,
    pub names: tantivy::schema::Field,
    pub grams: tantivy::schema::Field,
    pub number: tantivy::schema::Field,
    pub status: tantivy::schema::Field,
    pub group_id: tantivy::schema::Field,
    pub assignee_id: tantivy::schema::Field,
    pub requester_id: tantivy::schema::Field,
    pub tags: tantivy::schema::Field,
    pub category_id: tantivy::schema::Field,
    pub locale: tantivy::schema::Field,
    pub audience: tantivy::schema::Field,
    pub created_at: tantivy::schema::Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let words = |stored: bool| {
        let options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(WORDS)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored { options.set_stored() } else { options }
    };
    let grams = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(GRAMS).set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        key: builder.add_text_field("key", STRING | STORED),
        kind: builder.add_text_field("kind", STRING | STORED),
        id: builder.add_i64_field("id", INDEXED | STORED | FAST),
        title: builder.add_text_field("title", words(true)),
        body: builder.add_text_field("body", words(true)),
        names: builder.add_text_field("names", words(true)),
        grams: builder.add_text_field("grams", grams),
        number: builder.add_i64_field("number", INDEXED | STORED),
        status: builder.add_text_field("status", STRING | STORED),
        group_id: builder.add_i64_field("group_id", INDEXED),
        assignee_id: builder.add_i64_field("assignee_id", INDEXED),
        requester_id: builder.add_i64_field("requester_id", INDEXED),
        tags: builder.add_text_field("tags", STRING),
        category_id: builder.add_i64_field("category_id", INDEXED),
        locale: builder.add_text_field("locale", STRING | STORED),
        audience: builder.add_text_field("audience", STRING),
        created_at: builder.add_date_field("created_at", INDEXED | FAST | STORED),
    };
    (builder.build(), fields)
}

/// The search index.
pub struct SearchIndex {
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    writer: Mutex<Writer>,
    pub(crate) fields: Fields,
    _process_lock: DirectoryLock,
}

/// The index writer, made on the first write and let go after a quiet spell: an idle tantivy writer keeps
/// seven threads and a document queue of a few MiB.
#[derive(Default)]
struct Writer {
    writer: Option<IndexWriter>,
    last_used: Option<Instant>,
    /// Documents added or deleted since the last commit (a writer holding them is never let go).
    uncommitted: bool,
}

impl Writer {
    /// The writer, made if there is none; counts as a use.
    fn get(&mut self, index: &Index) -> Result<&mut IndexWriter> {
        self.last_used = Some(Instant::now());
        Ok(match &mut self.writer {
            Some(writer) => writer,
            empty => empty.insert(index.writer(WRITER_MEMORY)?),
        })
    }
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

fn clip(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn to_date(time: DateTime<Utc>) -> tantivy::DateTime {
    tantivy::DateTime::from_timestamp_micros(time.timestamp_micros())
}

impl SearchIndex {
    /// Opens (or creates) the index in a directory.
    pub fn open(dir: &Path) -> Result<SearchIndex> {
        std::fs::create_dir_all(dir).map_err(|error| SearchError::Directory(error.to_string()))?;
        let directory = MmapDirectory::open(dir).map_err(|error| SearchError::Directory(error.to_string()))?;
        let (schema, fields) = schema();
        let index = Index::open_or_create(directory, schema)?;
        Self::ready(index, fields).map_err(|error| match error {
            SearchError::Index(tantivy::TantivyError::LockFailure(
                tantivy::directory::error::LockError::LockBusy,
                _,
            )) => SearchError::Busy(dir.display().to_string()),
            other => other,
        })
    }

    /// An index in memory (tests, benchmarks).
    pub fn in_memory() -> Result<SearchIndex> {
        let (schema, fields) = schema();
        Self::ready(Index::create_in_ram(schema), fields)
    }

    fn ready(index: Index, fields: Fields) -> Result<SearchIndex> {
        index.tokenizers().register(WORDS, analysis::words());
        index.tokenizers().register(GRAMS, analysis::grams());
        let lock = Lock { filepath: PathBuf::from(PROCESS_LOCK), is_blocking: false };
        let process_lock =
            index.directory().acquire_lock(&lock).map_err(|error| tantivy::TantivyError::LockFailure(error, None))?;
        // This process is the index's only writer and reloads the reader after each of its commits.
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(SearchIndex { index, reader, writer: Mutex::default(), fields, _process_lock: process_lock })
    }

    /// Runs `action` on the writer (made if there is none); what it does stays uncommitted until `commit`.
    fn write<T>(&self, action: impl FnOnce(&mut IndexWriter, &Fields) -> Result<T>) -> Result<T> {
        let mut state = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.uncommitted = true;
        action(state.get(&self.index)?, &self.fields)
    }

    /// Whether the writer exists, holds nothing uncommitted and has not been used for `quiet`; cheap, and
    /// false while another thread is using it.
    pub fn writer_idle_for(&self, quiet: Duration) -> bool {
        let Ok(state) = self.writer.try_lock() else { return false };
        state.writer.is_some() && !state.uncommitted && state.last_used.is_some_and(|at| at.elapsed() >= quiet)
    }

    /// Lets the writer go if it is idle (see `writer_idle_for`), after the merges it started have finished;
    /// the next write makes a new one. Blocks while merges run. Returns whether it let one go.
    pub fn release_idle_writer(&self, quiet: Duration) -> Result<bool> {
        let mut state = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let idle = !state.uncommitted && state.last_used.is_some_and(|at| at.elapsed() >= quiet);
        match state.writer.take_if(|_| idle) {
            Some(writer) => {
                writer.wait_merging_threads()?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn replace(&self, kind: &str, id: i64, document: TantivyDocument) -> Result<()> {
        self.write(|writer, fields| {
            writer.delete_term(Term::from_field_text(fields.key, &format!("{kind}:{id}")));
            writer.add_document(document)?;
            Ok(())
        })
    }

    fn base(&self, kind: &str, id: i64) -> TantivyDocument {
        let mut document = TantivyDocument::default();
        document.add_text(self.fields.key, format!("{kind}:{id}"));
        document.add_text(self.fields.kind, kind);
        document.add_i64(self.fields.id, id);
        document
    }

    /// Adds or replaces a ticket.
    pub fn upsert_ticket(&self, ticket: &TicketDoc) -> Result<()> {
        let fields = self.fields;
        let mut document = self.base("ticket", ticket.id);
        document.add_text(fields.title, &ticket.subject);
        let body = ticket.messages.join("\n\n");
        document.add_text(fields.body, clip(&body, MAX_BODY_BYTES));
        let names = std::iter::once(ticket.requester_name.as_str())
            .chain(ticket.requester_identities.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        document.add_text(fields.names, &names);
        document.add_text(fields.grams, format!("{} {} #{} {}", ticket.subject, names, ticket.number, ticket.number));
        document.add_i64(fields.number, ticket.number);
        document.add_text(fields.status, &ticket.status);
        document.add_i64(fields.group_id, ticket.group_id.unwrap_or(-1));
        document.add_i64(fields.assignee_id, ticket.assignee_id.unwrap_or(-1));
        document.add_i64(fields.requester_id, ticket.requester_id);
        for tag in &ticket.tags {
            document.add_text(fields.tags, tag);
        }
        document.add_date(fields.created_at, to_date(ticket.created_at));
        self.replace("ticket", ticket.id, document)
    }

    /// Adds or replaces a customer.
    pub fn upsert_customer(&self, customer: &CustomerDoc) -> Result<()> {
        let fields = self.fields;
        let mut document = self.base("customer", customer.id);
        document.add_text(fields.title, &customer.name);
        let names = customer.identities.join(" ");
        document.add_text(fields.names, &names);
        document.add_text(fields.body, customer.organization.as_deref().unwrap_or_default());
        document.add_text(fields.grams, format!("{} {}", customer.name, names));
        document.add_date(fields.created_at, to_date(customer.created_at));
        self.replace("customer", customer.id, document)
    }

    /// Adds or replaces an article translation.
    pub fn upsert_article(&self, article: &ArticleDoc) -> Result<()> {
        let fields = self.fields;
        let mut document = self.base("article", article.id);
        document.add_text(fields.title, &article.title);
        document.add_text(fields.body, clip(&article.body, MAX_BODY_BYTES));
        document.add_text(fields.names, article.tags.join(" "));
        document.add_text(fields.grams, &article.title);
        document.add_text(fields.locale, &article.locale);
        for tag in &article.tags {
            document.add_text(fields.tags, tag);
        }
        if let Some(category_id) = article.category_id {
            document.add_i64(fields.category_id, category_id);
        }
        let audience = match (article.public, article.published) {
            (true, true) => "public",
            (_, true) => "internal",
            (_, false) => "draft",
        };
        document.add_text(fields.audience, audience);
        self.replace("article", article.id, document)
    }

    /// Removes a document (an article deleted, a ticket gone).
    pub fn delete(&self, kind: crate::DocKind, id: i64) -> Result<()> {
        self.write(|writer, fields| {
            writer.delete_term(Term::from_field_text(fields.key, &format!("{}:{id}", kind.as_str())));
            Ok(())
        })
    }

    /// Removes everything (before a full rebuild).
    pub fn clear(&self) -> Result<()> {
        self.write(|writer, _| {
            writer.delete_all_documents()?;
            Ok(())
        })
    }

    /// Makes the changes so far durable and visible, recording how far the change feed has been applied.
    pub fn commit(&self, position: i64) -> Result<()> {
        {
            let mut state = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut prepared = state.get(&self.index)?.prepare_commit()?;
            prepared.set_payload(&position.to_string());
            prepared.commit()?;
            state.uncommitted = false;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// How far the change feed had been applied at the last commit; `None` for a new (empty) index.
    pub fn position(&self) -> Result<Option<i64>> {
        Ok(self.index.load_metas()?.payload.and_then(|payload| payload.parse().ok()))
    }

    /// How many documents are searchable.
    pub fn document_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}
