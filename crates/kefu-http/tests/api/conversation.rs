//! Replies and notes, the event history, merge and split, followers and links.

use kefu_domain::Role;
use serde_json::{Value, json};

use crate::harness::api_test;

api_test!(replies_and_notes_sanitize_html_and_collaborators_only_note, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let collaborator = app.agent("co@example.com", Role::Collaborator).await;
    let ticket = li.create_ticket("help", "c@example.com", json!({ "message": { "body": "it broke" } })).await;
    let path = format!("/api/v1/tickets/{}/messages", ticket["id"]);
    let reply = li
        .post(&path, json!({ "body": "We are on it", "html": "<p onclick=\"x()\">We are <b>on it</b><script>alert(1)</script></p>", "status": "pending" }))
        .await;
    let message = reply.assert_status(201).clone();
    assert_eq!(message["author"], json!({ "kind": "agent", "id": li.agent_id }));
    assert_eq!(message["html"], "<p>We are <b>on it</b></p>");
    assert_eq!(reply.header("etag"), Some("\"3\""), "created with its first message, status, reply");
    let after = li.get(&format!("/api/v1/tickets/{}", ticket["id"])).await;
    assert_eq!(after.json["status"], "pending");

    collaborator.post(&path, json!({ "body": "public?" })).await.assert_problem(403, "message.public_reply_forbidden");
    collaborator.post(&path, json!({ "body": "internal thought", "internal": true })).await.assert_status(201);
    collaborator
        .patch(&format!("/api/v1/tickets/{}", ticket["id"]), json!({ "priority": "low" }))
        .await
        .assert_problem(403, "ticket.edit_forbidden");
    li.post(&path, json!({ "body": "   " })).await.assert_problem(422, "validation.invalid");

    let conversation = li.get(&path).await;
    let bodies: Vec<_> =
        conversation.assert_status(200)["items"].as_array().expect("items").iter().map(|m| m["body"].clone()).collect();
    assert_eq!(bodies, [json!("it broke"), json!("We are on it"), json!("internal thought")]);
    assert_eq!(conversation.json["items"][2]["internal"], true);
});

api_test!(every_change_is_in_the_history, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let ticket = li.create_ticket("history", "c@example.com", json!({ "message": { "body": "first" } })).await;
    let id = ticket["id"].as_i64().expect("id");
    li.patch(&format!("/api/v1/tickets/{id}"), json!({ "status": "open", "tags": ["a"], "priority": "normal" }))
        .await
        .assert_status(200);
    li.post(&format!("/api/v1/tickets/{id}/messages"), json!({ "body": "note", "internal": true }))
        .await
        .assert_status(201);
    let events = li.get(&format!("/api/v1/tickets/{id}/events?limit=100")).await;
    let items = events.assert_status(200)["items"].as_array().expect("items").clone();
    let summary: Vec<(String, Value)> =
        items.iter().map(|e| (e["kind"].as_str().unwrap_or_default().to_owned(), e["field"].clone())).collect();
    assert_eq!(
        summary,
        [
            ("created".to_owned(), Value::Null),
            ("message_added".to_owned(), Value::Null),
            ("field_changed".to_owned(), json!("status")),
            ("field_changed".to_owned(), json!("tags")),
            ("message_added".to_owned(), Value::Null),
        ]
    );
    let status = &items[2];
    assert_eq!((status["before"].clone(), status["after"].clone()), (json!("new"), json!("open")));
    assert_eq!(status["actor"], json!({ "kind": "agent", "id": li.agent_id }));
    assert_eq!(items[4]["after"]["internal"], true);
    let first_page = li.get(&format!("/api/v1/tickets/{id}/events?limit=2")).await;
    let cursor = first_page.json["next_cursor"].as_str().expect("more pages").to_owned();
    let second = li.get(&format!("/api/v1/tickets/{id}/events?limit=2&cursor={cursor}")).await;
    assert_eq!(second.json["items"][0]["id"], items[2]["id"]);
});

api_test!(merge_closes_the_source_and_moves_its_messages, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let source =
        li.create_ticket("duplicate", "c@example.com", json!({ "message": { "body": "from the duplicate" } })).await;
    let target =
        li.create_ticket("original", "c@example.com", json!({ "message": { "body": "from the original" } })).await;
    let merged =
        li.post(&format!("/api/v1/tickets/{}/merge", source["id"]), json!({ "target_id": target["id"] })).await;
    let body = merged.assert_status(200);
    assert_eq!(body["source"]["status"], "closed");
    assert_eq!(body["source"]["merged_into_id"], target["id"]);
    let messages = li.get(&format!("/api/v1/tickets/{}/messages", target["id"])).await;
    let bodies: Vec<_> = messages.json["items"].as_array().expect("items").iter().map(|m| m["body"].clone()).collect();
    assert_eq!(bodies, [json!("from the duplicate"), json!("from the original")]);
    let source_events = li.get(&format!("/api/v1/tickets/{}/events", source["id"])).await;
    assert!(source_events.json["items"].as_array().expect("items").iter().any(|e| e["kind"] == "merged_into"));
    let target_events = li.get(&format!("/api/v1/tickets/{}/events", target["id"])).await;
    let from = target_events.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["kind"] == "merged_from")
        .cloned()
        .expect("merged_from");
    assert_eq!(from["after"]["messages_moved"], 1);
    li.post(&format!("/api/v1/tickets/{}/merge", source["id"]), json!({ "target_id": target["id"] }))
        .await
        .assert_problem(409, "ticket.closed");
    li.post(&format!("/api/v1/tickets/{}/merge", target["id"]), json!({ "target_id": target["id"] }))
        .await
        .assert_problem(422, "ticket.self_reference");
});

api_test!(split_turns_a_message_into_a_linked_ticket, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let ticket = li
        .create_ticket(
            "two problems",
            "c@example.com",
            json!({ "priority": "high", "message": { "body": "problem one" } }),
        )
        .await;
    let path = format!("/api/v1/tickets/{}/messages", ticket["id"]);
    let second = li.post(&path, json!({ "body": "problem two", "internal": true })).await.assert_status(201).clone();
    let split = li
        .post(
            &format!("/api/v1/tickets/{}/split", ticket["id"]),
            json!({ "message_id": second["id"], "subject": "problem two" }),
        )
        .await;
    let new_ticket = split.assert_status(201).clone();
    assert_eq!(new_ticket["subject"], "problem two");
    assert_eq!(new_ticket["priority"], "high");
    assert_eq!(new_ticket["requester_id"], ticket["requester_id"]);
    let moved = li.get(&format!("/api/v1/tickets/{}/messages", new_ticket["id"])).await;
    assert_eq!(moved.json["items"][0]["body"], "problem two");
    let remaining = li.get(&path).await;
    assert_eq!(remaining.json["items"].as_array().map(Vec::len), Some(1));
    let links = li.get(&format!("/api/v1/tickets/{}/links", ticket["id"])).await;
    assert_eq!(links.assert_status(200), &json!([{ "ticket_id": new_ticket["id"], "relation": "split_into" }]));
    li.post(&format!("/api/v1/tickets/{}/split", ticket["id"]), json!({ "message_id": 999999 }))
        .await
        .assert_problem(404, "message.not_found");
});

api_test!(followers_and_links_record_events_and_are_idempotent, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let wang = app.agent("wang@example.com", Role::Agent).await;
    let collaborator = app.agent("co@example.com", Role::Collaborator).await;
    let one = li.create_ticket("one", "c@example.com", json!({})).await;
    let two = li.create_ticket("two", "c@example.com", json!({})).await;
    let followers = format!("/api/v1/tickets/{}/followers", one["id"]);
    li.put(&format!("{followers}/{}", wang.agent_id), json!({})).await.assert_status(200);
    let again = li.put(&format!("{followers}/{}", wang.agent_id), json!({})).await;
    assert_eq!(again.assert_status(200), &json!([wang.agent_id]));
    collaborator.put(&format!("{followers}/{}", collaborator.agent_id), json!({})).await.assert_status(200);
    collaborator.delete(&format!("{followers}/{}", wang.agent_id)).await.assert_problem(403, "ticket.edit_forbidden");
    li.put(&format!("{followers}/999999"), json!({})).await.assert_problem(422, "validation.invalid_reference");
    assert_eq!(li.get(&followers).await.json, json!([wang.agent_id, collaborator.agent_id]));

    let links = format!("/api/v1/tickets/{}/links", one["id"]);
    li.post(&links, json!({ "ticket_id": two["id"], "relation": "parent_of" })).await.assert_status(204);
    li.post(&links, json!({ "ticket_id": two["id"], "relation": "parent_of" })).await.assert_status(204);
    li.post(&links, json!({ "ticket_id": one["id"], "relation": "related" }))
        .await
        .assert_problem(422, "ticket.self_reference");
    li.post(&links, json!({ "ticket_id": two["id"], "relation": "cousin_of" }))
        .await
        .assert_problem(422, "validation.invalid");
    assert_eq!(
        li.get(&format!("/api/v1/tickets/{}/links", two["id"])).await.json,
        json!([{ "ticket_id": one["id"], "relation": "child_of" }])
    );
    let events = li.get(&format!("/api/v1/tickets/{}/events", two["id"])).await;
    let kinds: Vec<_> = events.json["items"].as_array().expect("items").iter().map(|e| e["kind"].clone()).collect();
    assert_eq!(kinds, [json!("created"), json!("link_added")]);
    li.send(
        li.request(reqwest::Method::DELETE, &links).json(&json!({ "ticket_id": two["id"], "relation": "parent_of" })),
    )
    .await
    .assert_status(204);
    assert_eq!(li.get(&links).await.json, json!([]));
});
