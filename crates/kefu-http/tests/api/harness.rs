//! The test server and clients.

use std::sync::Arc;

use kefu_app::agents::CreateAgent;
use kefu_app::bus::LocalBus;
use kefu_app::clock::SystemClock;
use kefu_app::{App, AppConfig};
use kefu_domain::{GroupId, Role};
use kefu_http::{AppState, ServerConfig};
use kefu_store::testing::{TestBackend, TestDb};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Declares a test that runs once on SQLite and once on PostgreSQL. The body is an async fn taking
/// `&TestApp`.
macro_rules! api_test {
    ($name:ident, |$app:ident: &TestApp| async move $body:block) => {
        $crate::harness::api_test!($name, Default::default(), |$app: &TestApp| async move $body);
    };
    ($name:ident, $options:expr, |$app:ident: &TestApp| async move $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: &$crate::harness::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::harness::TestApp::start(kefu_store::testing::TestBackend::Sqlite, $options).await.expect("sqlite");
                run(&app).await;
                app.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::harness::TestApp::start(kefu_store::testing::TestBackend::Postgres, $options).await {
                    run(&app).await;
                    app.stop().await;
                }
            }
        }
    };
}
pub(crate) use api_test;

/// Settings a test may change.
#[derive(Debug, Clone)]
pub struct Options {
    pub login_attempts_per_minute: u32,
    pub max_attachment_bytes: usize,
    /// Run on a clock that moves only when the test says so (`TestApp::clock`).
    pub manual_clock: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { login_attempts_per_minute: 1000, max_attachment_bytes: 64 * 1024, manual_clock: false }
    }
}

impl Options {
    /// The defaults, on a manual clock.
    pub fn manual_clock() -> Options {
        Options { manual_clock: true, ..Options::default() }
    }
}

/// A running server over a fresh database.
pub struct TestApp {
    pub base: String,
    pub app: App,
    /// The clock, with `Options::manual_clock`.
    pub clock: Option<Arc<kefu_app::clock::ManualClock>>,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    relay: tokio::task::JoinHandle<()>,
    _db: TestDb,
    _files: tempfile::TempDir,
}

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    pub async fn start(backend: TestBackend, options: Options) -> Option<TestApp> {
        let db = TestDb::new(backend).await?;
        let clock = options.manual_clock.then(|| Arc::new(kefu_app::clock::ManualClock::new(chrono::Utc::now())));
        let files = tempfile::tempdir().expect("files dir");
        let store = object_store::local::LocalFileSystem::new_with_prefix(files.path()).expect("file store");
        let app = App::new(
            db.store.clone(),
            match &clock {
                Some(clock) => clock.clone() as Arc<dyn kefu_app::clock::Clock>,
                None => Arc::new(SystemClock),
            },
            Arc::new(LocalBus::default()),
            Arc::new(store),
            AppConfig { max_attachment_bytes: options.max_attachment_bytes },
        );
        let shutdown = CancellationToken::new();
        let relay = {
            let app = app.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move { app.run_outbox_relay(shutdown).await })
        };
        let config =
            ServerConfig { login_attempts_per_minute: options.login_attempts_per_minute, ..ServerConfig::default() };
        let state = AppState::new(app.clone(), config, kefu_http::metrics_handle(), shutdown.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(kefu_http::serve(listener, state));
        Some(TestApp { base, app, clock, shutdown, server, relay, _db: db, _files: files })
    }

    /// Shuts the server down gracefully and checks that it stops and that no notice was left undelivered.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(10), self.server)
            .await
            .expect("graceful shutdown finishes")
            .expect("server task")
            .expect("server ran");
        self.relay.await.expect("relay task");
        let pending = self.app.store().repo().undelivered_outbox(10).await.expect("outbox");
        assert!(pending.is_empty(), "undelivered outbox rows: {pending:?}");
    }

    /// The database URL (to open it again, as a second worker process would).
    pub fn database_url(&self) -> &str {
        &self._db.url
    }

    /// Moves the manual clock on.
    pub fn advance(&self, by: chrono::Duration) {
        self.clock.as_ref().expect("started with Options::manual_clock()").advance(by);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates an agent with a password straight through the use case (as `kefu user create` does).
    pub async fn create_agent(&self, email: &str, role: Role, groups: &[i64], restricted: bool) -> i64 {
        let command = CreateAgent {
            email: email.into(),
            name: email.split('@').next().unwrap_or(email).into(),
            role,
            password: Some(PASSWORD.into()),
            restricted_to_groups: restricted,
            group_ids: groups.iter().map(|id| GroupId(*id)).collect(),
        };
        self.app.create_agent(None, command).await.expect("create agent").id.0
    }

    /// An agent with an API token.
    pub async fn agent(&self, email: &str, role: Role) -> Client {
        self.agent_in(email, role, &[], false).await
    }

    /// An agent with an API token, in groups, maybe restricted to them.
    pub async fn agent_in(&self, email: &str, role: Role, groups: &[i64], restricted: bool) -> Client {
        let id = self.create_agent(email, role, groups, restricted).await;
        let session = self.session(email).await;
        let token = session.post("/api/v1/auth/tokens", json!({ "name": "tests" })).await.json["token"]
            .as_str()
            .expect("token")
            .to_owned();
        Client { base: self.base.clone(), http: reqwest::Client::new(), token: Some(token), csrf: None, agent_id: id }
    }

    /// A browser-like client signed in with a session cookie and its CSRF token.
    pub async fn session(&self, email: &str) -> Client {
        let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
        let response = http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), StatusCode::OK, "login of {email}");
        let body: Value = response.json().await.expect("login body");
        Client {
            base: self.base.clone(),
            http,
            token: None,
            csrf: body["csrf_token"].as_str().map(str::to_owned),
            agent_id: body["agent"]["id"].as_i64().expect("agent id"),
        }
    }

    /// An unauthenticated client.
    pub fn anonymous(&self) -> Client {
        Client { base: self.base.clone(), http: reqwest::Client::new(), token: None, csrf: None, agent_id: 0 }
    }
}

/// A response: status, headers and JSON body (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts a problem+json response with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status of {:?}", self.json);
        assert_eq!(self.json["code"], code, "code of {:?}", self.json);
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.json);
        &self.json
    }
}

/// An HTTP client acting as one agent (bearer token or session cookie + CSRF token).
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
    pub csrf: Option<String>,
    pub agent_id: i64,
}

impl Client {
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method.clone(), format!("{}{}", self.base, path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let (Some(csrf), false) = (&self.csrf, method == Method::GET) {
            request = request.header("x-csrf-token", csrf);
        }
        request
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Response {
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response { status, headers, json }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.send(self.request(Method::POST, path).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.send(self.request(Method::PATCH, path).json(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Response {
        self.send(self.request(Method::PUT, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// Opens a ticket for `email` and returns its JSON.
    pub async fn create_ticket(&self, subject: &str, email: &str, extra: Value) -> Value {
        let mut body = json!({ "subject": subject, "requester": { "email": email } });
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
            body.extend(extra);
        }
        self.post("/api/v1/tickets", body).await.assert_status(201).clone()
    }
}
