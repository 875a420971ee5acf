//! Attachments: upload limits, safe download headers, claiming by a message, access.

use kefu_domain::Role;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::harness::{Client, api_test};

async fn upload(client: &Client, name: &str, content: Vec<u8>, mime: &str) -> crate::harness::Response {
    let part = Part::bytes(content).file_name(name.to_owned()).mime_str(mime).expect("mime");
    client.send(client.request(Method::POST, "/api/v1/attachments").multipart(Form::new().part("file", part))).await
}

api_test!(uploads_are_limited_and_downloads_are_never_rendered, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let uploaded = upload(&admin, "../发票 2026.html", b"<script>alert(1)</script>".to_vec(), "text/html").await;
    let attachment = uploaded.assert_status(201).clone();
    assert_eq!(attachment["filename"], "发票 2026.html");
    assert_eq!(attachment["size_bytes"], 25);
    assert_eq!(attachment["message_id"], serde_json::Value::Null);

    let too_big = upload(&admin, "big.bin", vec![0u8; 64 * 1024 + 1], "application/octet-stream").await;
    too_big.assert_problem(413, "upload.too_large");
    let wrong_field =
        admin.send(admin.request(Method::POST, "/api/v1/attachments").multipart(Form::new().text("other", "x"))).await;
    wrong_field.assert_problem(400, "request.invalid_multipart");

    let response = admin
        .http
        .get(format!("{}/api/v1/attachments/{}/content", admin.base, attachment["id"]))
        .bearer_auth(admin.token.as_deref().expect("token"))
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let disposition = headers["content-disposition"].to_str().expect("ascii");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(disposition.contains("filename*=UTF-8''%E5%8F%91%E7%A5%A8%202026.html"), "{disposition}");
    assert_eq!(response.bytes().await.expect("body").as_ref(), b"<script>alert(1)</script>");
});

api_test!(attachments_follow_their_ticket_visibility, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let support = admin.post("/api/v1/groups", json!({ "name": "Support" })).await.json["id"].as_i64().expect("id");
    let finance = admin.post("/api/v1/groups", json!({ "name": "Finance" })).await.json["id"].as_i64().expect("id");
    let outsider = app.agent_in("fin@example.com", Role::Agent, &[finance], true).await;
    let insider = app.agent_in("sup@example.com", Role::Agent, &[support], true).await;
    let file = upload(&admin, "screenshot.png", vec![137, 80, 78, 71], "image/png").await.assert_status(201).clone();
    // Before it is on a message, only the uploader may see it.
    insider.get(&format!("/api/v1/attachments/{}", file["id"])).await.assert_problem(404, "attachment.not_found");
    let ticket = admin
        .create_ticket(
            "look",
            "c@example.com",
            json!({ "group_id": support,
        "message": { "body": "see attached", "attachment_ids": [file["id"]] } }),
        )
        .await;
    let messages = admin.get(&format!("/api/v1/tickets/{}/messages", ticket["id"])).await;
    let attached = &messages.json["items"][0]["attachments"][0];
    assert_eq!(attached["filename"], "screenshot.png");
    assert_eq!(attached["url"], format!("/api/v1/attachments/{}/content", file["id"]));
    insider.get(&format!("/api/v1/attachments/{}/content", file["id"])).await.assert_status(200);
    outsider.get(&format!("/api/v1/attachments/{}", file["id"])).await.assert_problem(404, "attachment.not_found");
    outsider
        .get(&format!("/api/v1/attachments/{}/content", file["id"]))
        .await
        .assert_problem(404, "attachment.not_found");
    // An attachment goes on one message only, and only its uploader can attach it.
    admin
        .post(
            &format!("/api/v1/tickets/{}/messages", ticket["id"]),
            json!({ "body": "again", "attachment_ids": [file["id"]] }),
        )
        .await
        .assert_problem(422, "validation.invalid_reference");
    let foreign = upload(&admin, "a.txt", b"a".to_vec(), "text/plain").await.assert_status(201).clone();
    insider
        .post(
            &format!("/api/v1/tickets/{}/messages", ticket["id"]),
            json!({ "body": "mine?", "attachment_ids": [foreign["id"]] }),
        )
        .await
        .assert_problem(422, "validation.invalid_reference");
});
