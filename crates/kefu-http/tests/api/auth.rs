//! Sign-in, sessions and CSRF, API tokens, throttling and two-factor authentication.

use kefu_domain::Role;
use reqwest::Method;
use serde_json::json;

use crate::harness::{Options, PASSWORD, TestApp, api_test};

api_test!(session_cookie_is_http_only_and_needs_csrf_on_writes, |app: &TestApp| async move {
    app.create_agent("li@example.com", Role::Agent, &[], false).await;
    let anonymous = app.anonymous();
    let login = anonymous.post("/api/v1/auth/login", json!({ "email": "LI@example.com", "password": PASSWORD })).await;
    login.assert_status(200);
    let cookie = login.header("set-cookie").expect("session cookie").to_owned();
    assert!(cookie.starts_with("kefu_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");

    let mut session = app.session("li@example.com").await;
    let me = session.get("/api/v1/auth/session").await;
    assert_eq!(me.assert_status(200)["agent"]["email"], "li@example.com");
    assert_eq!(me.json["csrf_token"].as_str(), session.csrf.as_deref());

    let csrf = session.csrf.take();
    session
        .post("/api/v1/tickets", json!({ "subject": "x", "requester": { "email": "c@example.com" } }))
        .await
        .assert_problem(403, "auth.csrf_failed");
    session.csrf = Some("forged".into());
    session
        .post("/api/v1/tickets", json!({ "subject": "x", "requester": { "email": "c@example.com" } }))
        .await
        .assert_problem(403, "auth.csrf_failed");
    session.csrf = csrf;
    session.create_ticket("with csrf", "c@example.com", json!({})).await;

    session.post("/api/v1/auth/logout", json!({})).await.assert_status(204);
    session.get("/api/v1/auth/session").await.assert_problem(401, "auth.unauthenticated");
});

api_test!(wrong_password_unknown_email_and_inactive_agent_fail_alike, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let li = app.create_agent("li@example.com", Role::Agent, &[], false).await;
    let anonymous = app.anonymous();
    for (email, password) in [("li@example.com", "wrong password!"), ("nobody@example.com", PASSWORD)] {
        anonymous
            .post("/api/v1/auth/login", json!({ "email": email, "password": password }))
            .await
            .assert_problem(401, "auth.invalid_credentials");
    }
    admin.patch(&format!("/api/v1/agents/{li}"), json!({ "active": false })).await.assert_status(200);
    anonymous
        .post("/api/v1/auth/login", json!({ "email": "li@example.com", "password": PASSWORD }))
        .await
        .assert_problem(401, "auth.invalid_credentials");
});

api_test!(api_tokens_work_until_revoked_and_are_stored_hashed, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let token = li.token.clone().expect("token");
    assert!(token.starts_with("kefu_"));
    li.get("/api/v1/agents/me").await.assert_status(200);
    let tokens = li.get("/api/v1/auth/tokens").await;
    let listed = tokens.assert_status(200).as_array().expect("list").clone();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("token").is_none(), "the secret is never listed");
    let id = listed[0]["id"].as_i64().expect("id");
    li.delete(&format!("/api/v1/auth/tokens/{id}")).await.assert_status(204);
    li.get("/api/v1/agents/me").await.assert_problem(401, "auth.invalid_token");
    let mut malformed = li.clone();
    malformed.token = None;
    let response =
        malformed.send(malformed.request(Method::GET, "/api/v1/agents/me").header("authorization", "Basic abc")).await;
    response.assert_problem(401, "auth.invalid_token");
});

mod sign_in_is_throttled {
    use super::*;

    async fn check(app: TestApp) {
        app.create_agent("li@example.com", Role::Agent, &[], false).await;
        let anonymous = app.anonymous();
        for _ in 0..3 {
            anonymous
                .post("/api/v1/auth/login", json!({ "email": "li@example.com", "password": "wrong password!" }))
                .await
                .assert_status(401);
        }
        let limited =
            anonymous.post("/api/v1/auth/login", json!({ "email": "li@example.com", "password": PASSWORD })).await;
        limited.assert_problem(429, "auth.rate_limited");
        assert!(limited.header("retry-after").is_some_and(|seconds| seconds.parse::<u64>().is_ok()));
        app.stop().await;
    }

    fn options() -> Options {
        Options { login_attempts_per_minute: 3, ..Options::default() }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        check(TestApp::start(kefu_store::testing::TestBackend::Sqlite, options()).await.expect("sqlite")).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = TestApp::start(kefu_store::testing::TestBackend::Postgres, options()).await {
            check(app).await;
        }
    }
}

fn current_code(secret: &str) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).expect("base32"))
        .build()
        .expect("totp");
    totp.generate_current().to_string()
}

api_test!(two_factor_is_required_once_confirmed_and_codes_do_not_replay, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let setup = li.post("/api/v1/auth/totp/setup", json!({})).await;
    let secret = setup.assert_status(200)["secret"].as_str().expect("secret").to_owned();
    assert!(setup.json["otpauth_url"].as_str().is_some_and(|url| url.starts_with("otpauth://totp/")));
    // Not enforced before confirmation.
    app.session("li@example.com").await;
    li.post("/api/v1/auth/totp/confirm", json!({ "code": "000000" })).await.assert_problem(401, "auth.totp_invalid");
    let code = current_code(&secret);
    li.post("/api/v1/auth/totp/confirm", json!({ "code": code })).await.assert_status(204);

    let anonymous = app.anonymous();
    let without =
        anonymous.post("/api/v1/auth/login", json!({ "email": "li@example.com", "password": PASSWORD })).await;
    without.assert_problem(401, "auth.totp_required");
    // The code used to confirm cannot be used again (RFC 6238 §5.2).
    anonymous
        .post("/api/v1/auth/login", json!({ "email": "li@example.com", "password": PASSWORD, "totp": code }))
        .await
        .assert_problem(401, "auth.totp_invalid");
});

api_test!(password_change_needs_the_current_password, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    li.post(
        "/api/v1/auth/password",
        json!({ "current_password": "nope nope nope", "new_password": "another long one" }),
    )
    .await
    .assert_problem(401, "auth.invalid_credentials");
    li.post("/api/v1/auth/password", json!({ "current_password": PASSWORD, "new_password": "short" }))
        .await
        .assert_problem(422, "validation.invalid");
    li.post("/api/v1/auth/password", json!({ "current_password": PASSWORD, "new_password": "another long one" }))
        .await
        .assert_status(204);
    app.anonymous()
        .post("/api/v1/auth/login", json!({ "email": "li@example.com", "password": "another long one" }))
        .await
        .assert_status(200);
});
