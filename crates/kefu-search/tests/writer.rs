//! The index's writer life: one process per index directory from open on, a writer made on the first
//! write, let go when idle only with nothing uncommitted, and made again by the next write.

use std::time::Duration;

use kefu_search::{CustomerDoc, DocKind, SearchError, SearchIndex, SearchQuery};

fn customer(id: i64, name: &str) -> CustomerDoc {
    CustomerDoc {
        id,
        name: name.into(),
        identities: vec![format!("c{id}@example.com")],
        organization: None,
        created_at: chrono::Utc::now(),
    }
}

fn found(index: &SearchIndex, text: &str) -> Vec<i64> {
    let query = SearchQuery::text(text).kinds(&[DocKind::Customer]);
    index.search(&query).unwrap().hits.iter().map(|hit| hit.id).collect()
}

#[test]
fn a_second_process_is_refused_at_open_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let first = SearchIndex::open(dir.path()).unwrap();
    assert!(matches!(SearchIndex::open(dir.path()), Err(SearchError::Busy(_))));
    drop(first);
    SearchIndex::open(dir.path()).expect("the lock goes with the index");
}

#[test]
fn an_idle_writer_is_let_go_and_the_next_write_makes_another() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    assert!(!index.writer_idle_for(Duration::ZERO), "no writer before the first write");

    index.upsert_customer(&customer(1, "王芳")).unwrap();
    assert!(!index.writer_idle_for(Duration::ZERO), "uncommitted documents keep the writer");
    assert!(!index.release_idle_writer(Duration::ZERO).unwrap());
    index.commit(10).unwrap();
    assert!(!index.writer_idle_for(Duration::from_secs(3600)), "used just now");
    assert!(index.writer_idle_for(Duration::ZERO));
    assert!(index.release_idle_writer(Duration::ZERO).unwrap());
    assert!(!index.writer_idle_for(Duration::ZERO), "no writer any more");
    assert_eq!(found(&index, "王芳"), vec![1]);

    index.upsert_customer(&customer(2, "李雷")).unwrap();
    index.commit(11).unwrap();
    assert_eq!(found(&index, "李雷"), vec![2]);
    drop(index);

    let reopened = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(reopened.position().unwrap(), Some(11));
    assert_eq!(reopened.document_count(), 2);
}
