//! Throwaway databases for tests (feature `testing`): a temp-file SQLite, or a fresh schema in the PostgreSQL
//! database named by `KEFU_TEST_POSTGRES_URL`, each with the real migrations applied.
//!
//! A temp file, not `sqlite::memory:`: in a pool every in-memory connection would get its own database.

use sea_orm::{ConnectionTrait, Database};

use crate::Store;

/// The engines a test can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// A temp-file SQLite database.
    Sqlite,
    /// A fresh schema on `KEFU_TEST_POSTGRES_URL`.
    Postgres,
}

/// A migrated database that disappears when dropped.
pub struct TestDb {
    /// The store, migrated.
    pub store: Store,
    /// The URL it was opened with (to open it again, as a second process would).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

/// The PostgreSQL URL tests use. Panics with a clear message when it is missing, unless
/// `KEFU_TEST_SKIP_POSTGRES=1` says to skip PostgreSQL on purpose (then `None`).
pub fn postgres_url() -> Option<String> {
    match std::env::var("KEFU_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("KEFU_TEST_SKIP_POSTGRES").as_deref() == Ok("1") => None,
        _ => panic!(
            "KEFU_TEST_POSTGRES_URL is not set: point it at a PostgreSQL database (the test script does), \
             or set KEFU_TEST_SKIP_POSTGRES=1 to skip the PostgreSQL half of the suite"
        ),
    }
}

impl TestDb {
    /// A fresh database on `backend`; `None` when PostgreSQL is skipped on purpose.
    pub async fn new(backend: TestBackend) -> Option<TestDb> {
        match backend {
            TestBackend::Sqlite => Some(Self::sqlite().await),
            TestBackend::Postgres => match postgres_url() {
                Some(url) => Some(Self::postgres(&url).await),
                None => None,
            },
        }
    }

    async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("kefu.db").display());
        let store = Store::connect_with(&url, 4).await.expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        TestDb { store, url, _dir: Some(dir), schema: None }
    }

    async fn postgres(base_url: &str) -> TestDb {
        let schema = format!("kefu_t_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(base_url).await.expect("connect to KEFU_TEST_POSTGRES_URL");
        admin.execute_unprepared(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
        let _ = admin.close().await;
        let mut url = url::Url::parse(base_url).expect("KEFU_TEST_POSTGRES_URL is a URL");
        url.query_pairs_mut()
            .append_pair("options", &format!("-c search_path={schema}"))
            .append_pair("application_name", &schema);
        let url = url.to_string();
        let store = Store::connect_with(&url, 4).await.expect("open PostgreSQL");
        store.migrate().await.expect("migrate PostgreSQL");
        TestDb { store, url, _dir: None, schema: Some((base_url.to_owned(), schema)) }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base_url, schema)) = self.schema.take() {
            // Drop runs inside the test's runtime; a short-lived thread with its own runtime does the async work.
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(base_url.as_str()).await {
                        // A transaction the test dropped without committing may still hold locks: end its session.
                        let _ = admin
                            .execute_unprepared(&format!(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                                 WHERE application_name = '{schema}' AND pid <> pg_backend_pid()"
                            ))
                            .await;
                        let _ = admin.execute_unprepared(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}
