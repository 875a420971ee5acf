//! Hostile and malformed input: always a 4xx problem+json with a stable code, never a 5xx.

use kefu_domain::Role;
use reqwest::Method;
use serde_json::json;

use crate::harness::api_test;

api_test!(malformed_requests_get_clear_4xx_problems, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let raw = |method: Method, path: &'static str, content_type: &'static str, body: Vec<u8>| {
        let li = li.clone();
        async move { li.send(li.request(method, path).header("content-type", content_type).body(body)).await }
    };
    raw(Method::POST, "/api/v1/tickets", "application/json", b"{\"subject\": ".to_vec())
        .await
        .assert_problem(400, "request.invalid_json");
    raw(Method::POST, "/api/v1/tickets", "text/plain", b"{}".to_vec())
        .await
        .assert_problem(415, "request.unsupported_media_type");
    // One byte over the limit: the server reads the whole body before refusing it, so it closes the connection
    // cleanly (a much larger body would be cut off unread, and the reset could reach the client first).
    let limit = kefu_http::ServerConfig::default().max_json_bytes;
    raw(Method::POST, "/api/v1/tickets", "application/json", vec![b' '; limit + 1])
        .await
        .assert_problem(413, "request.too_large");
    let wrong_type = li.post("/api/v1/tickets", json!({ "subject": 42, "requester_id": 1 })).await;
    wrong_type.assert_problem(422, "request.invalid_body");
    assert!(wrong_type.json["detail"].as_str().is_some_and(|detail| detail.contains("invalid type")));
    let unknown_enum =
        li.post("/api/v1/tickets", json!({ "subject": "x", "requester_id": 1, "priority": "critical" })).await;
    unknown_enum.assert_problem(422, "request.invalid_body");
    assert!(unknown_enum.json["detail"].as_str().is_some_and(|detail| detail.contains("critical")));
    li.post("/api/v1/tickets", json!({ "subject": "x", "requester_id": 1, "surprise": true }))
        .await
        .assert_problem(422, "request.invalid_body");
    li.post("/api/v1/tickets", json!({ "subject": "x" })).await.assert_problem(422, "validation.invalid");
    li.post("/api/v1/tickets", json!({ "subject": "", "requester": { "email": "c@example.com" } }))
        .await
        .assert_problem(422, "validation.invalid");
    li.post("/api/v1/tickets", json!({ "subject": "x", "requester": { "email": "c@example.com", "phone": "123456" } }))
        .await
        .assert_problem(422, "validation.invalid");
    li.post("/api/v1/tickets", json!({ "subject": "x", "requester_id": 99999 }))
        .await
        .assert_problem(422, "validation.invalid_reference");
    li.post("/api/v1/tickets", json!({ "subject": "x".repeat(501), "requester": { "email": "c@example.com" } }))
        .await
        .assert_problem(422, "validation.invalid");
    li.post("/api/v1/tickets", json!({ "subject": "x", "requester": { "email": "c@example.com" }, "tags": [""] }))
        .await
        .assert_problem(422, "validation.invalid");
    li.get("/api/v1/tickets/not-a-number").await.assert_problem(400, "request.invalid_path");
    li.get("/api/v1/tickets/99999999999999999999999").await.assert_problem(400, "request.invalid_path");
    li.get("/api/v1/nothing-here").await.assert_problem(404, "route.not_found");
    li.send(li.request(Method::PUT, "/api/v1/tickets")).await.assert_problem(405, "route.method_not_allowed");
    li.send(li.request(Method::POST, "/api/v1/tickets").header("idempotency-key", "   ").json(&json!({})))
        .await
        .assert_problem(400, "request.invalid_idempotency_key");
});

api_test!(garbage_bodies_never_cause_a_server_error, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let ticket = li.create_ticket("target", "c@example.com", json!({})).await;
    let id = ticket["id"].as_i64().expect("id");
    let paths = [
        (Method::POST, "/api/v1/tickets".to_owned()),
        (Method::PATCH, format!("/api/v1/tickets/{id}")),
        (Method::POST, format!("/api/v1/tickets/{id}/messages")),
        (Method::POST, format!("/api/v1/tickets/{id}/merge")),
        (Method::POST, "/api/v1/customers".to_owned()),
        (Method::POST, "/api/v1/auth/login".to_owned()),
    ];
    let bodies: Vec<Vec<u8>> = vec![
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"string\"".to_vec(),
        b"{\"subject\": null}".to_vec(),
        b"{\"status\": \"\\u0000\"}".to_vec(),
        b"{\"custom_fields\": {\"a\": {\"b\": [1, 2, {}]}}}".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x7b],
        "{\"subject\": \"\u{202e}退款\u{0}\", \"requester\": {\"email\": \"a@b\"}}".as_bytes().to_vec(),
        format!("{{\"body\": \"{}\"}}", "深".repeat(10_000)).into_bytes(),
        b"{\"target_id\": -1}".to_vec(),
        b"{\"target_id\": 1e400}".to_vec(),
    ];
    for (method, path) in &paths {
        for body in &bodies {
            let response = li
                .send(li.request(method.clone(), path).header("content-type", "application/json").body(body.clone()))
                .await;
            assert!(
                response.status.is_client_error() || response.status.is_success(),
                "{method} {path} with {:?} answered {} {}",
                String::from_utf8_lossy(body),
                response.status,
                response.json
            );
            if response.status.is_client_error() {
                assert!(response.json["code"].is_string(), "{method} {path}: no code in {}", response.json);
            }
        }
    }
});
