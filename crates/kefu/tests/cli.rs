//! The `kefu` binary as a newcomer uses it: migrate, create the first admin, serve on SQLite and on
//! PostgreSQL, answer, and stop cleanly on SIGTERM.

mod support;

use kefu_store::testing::{TestBackend, TestDb};
use support::{Server, kefu};

#[tokio::test]
async fn fresh_install_migrates_creates_an_admin_and_serves() {
    let dir = tempfile::tempdir().expect("dir");
    let migrate = kefu(dir.path()).arg("migrate").output().expect("kefu migrate");
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    assert!(dir.path().join("kefu.db").exists(), "the SQLite database lives in the data directory");

    let server = Server::start(kefu(dir.path())).await;
    let answer = reqwest::get(format!("{}/api/v1/tickets", server.base)).await.expect("request");
    assert_eq!(answer.status(), 401);
    let (success, stdout, stderr) = server.stop();
    assert!(success, "graceful exit; stderr: {stderr}");
    assert!(stderr.contains("user create"), "the console says how to create the first admin: {stderr}");
    assert!(!stdout.is_empty());
    for line in &stdout {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("KEFU_LOG_FORMAT=json gives JSON lines: {line}"));
        assert!(parsed.get("level").is_some(), "{line}");
    }

    let create = kefu(dir.path())
        .args(["user", "create", "--email", "Admin@Example.com", "--role", "admin"])
        .env("KEFU_PASSWORD", "a long enough password")
        .output()
        .expect("kefu user create");
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    assert!(String::from_utf8_lossy(&create.stdout).contains("created admin admin@example.com"));
    let again = kefu(dir.path())
        .args([
            "user",
            "create",
            "--email",
            "admin@example.com",
            "--role",
            "admin",
            "--password",
            "a long enough password",
        ])
        .output()
        .expect("kefu user create");
    assert!(!again.status.success(), "a second agent with the same email is refused");
    let bad_role = kefu(dir.path())
        .args(["user", "create", "--email", "x@example.com", "--role", "boss", "--password", "a long enough password"])
        .output()
        .expect("kefu user create");
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("admin, supervisor, agent, collaborator"));

    let server = Server::start(kefu(dir.path())).await;
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&serde_json::json!({ "email": "admin@example.com", "password": "a long enough password" }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let (success, _, stderr) = server.stop();
    assert!(success);
    assert!(!stderr.contains("user create"), "no hint once an admin exists");
}

#[tokio::test]
async fn the_same_binary_serves_on_postgresql() {
    let Some(db) = TestDb::new(TestBackend::Postgres).await else { return };
    let dir = tempfile::tempdir().expect("dir");
    let migrate = kefu(dir.path()).arg("migrate").env("KEFU_DATABASE_URL", &db.url).output().expect("kefu migrate");
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let create = kefu(dir.path())
        .args(["user", "create", "--email", "pg@example.com", "--role", "admin"])
        .env("KEFU_DATABASE_URL", &db.url)
        .env("KEFU_PASSWORD", "a long enough password")
        .output()
        .expect("kefu user create");
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    let mut command = kefu(dir.path());
    command.env("KEFU_DATABASE_URL", &db.url);
    let server = Server::start(command).await;
    let login = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&serde_json::json!({ "email": "pg@example.com", "password": "a long enough password" }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let (success, _, stderr) = server.stop();
    assert!(success, "{stderr}");
    assert!(!dir.path().join("kefu.db").exists(), "no SQLite file when PostgreSQL is configured");
}

#[test]
fn unreachable_database_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let output = kefu(dir.path())
        .arg("migrate")
        .env("KEFU_DATABASE_URL", "postgres://nobody:secret@127.0.0.1:1/none")
        .output()
        .expect("kefu migrate");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(!stderr.contains("secret"), "the password is redacted: {stderr}");
}
