//! What the agent workspace needs beyond the resources: view counts, presence on the live socket, and
//! @mentions in internal notes reaching the mentioned agent live.

use futures::{SinkExt, StreamExt};
use kefu_domain::Role;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::api_test;
use crate::live::{Socket, connect};

/// The next message of this type, skipping others (ticket changes interleave with presence).
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .unwrap_or_else(|_| panic!("a {kind} message within 10 s"))
            .expect("socket open")
            .expect("frame");
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).expect("json");
            if value["type"] == kind {
                return value;
            }
        }
    }
}

async fn say(socket: &mut Socket, message: Value) {
    socket.send(Message::Text(message.to_string().into())).await.expect("send");
}

api_test!(count_matches_the_list_filters, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    for subject in ["one", "two", "three"] {
        admin.create_ticket(subject, "c@example.com", json!({})).await;
    }
    admin.create_ticket("mine", "c@example.com", json!({ "assignee_id": admin.agent_id, "status": "open" })).await;
    assert_eq!(admin.get("/api/v1/tickets/count").await.assert_status(200)["count"], 4);
    assert_eq!(admin.get("/api/v1/tickets/count?assignee=none&status=new").await.json["count"], 3);
    assert_eq!(admin.get("/api/v1/tickets/count?assignee=me&status=open,pending").await.json["count"], 1);
    admin.get("/api/v1/tickets/count?status=bogus").await.assert_problem(400, "request.invalid_query");
});

api_test!(presence_reaches_other_agents_and_newcomers_see_who_is_there, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let finance = admin.post("/api/v1/groups", json!({ "name": "Finance" })).await.json["id"].as_i64().expect("id");
    let support = admin.post("/api/v1/groups", json!({ "name": "Support" })).await.json["id"].as_i64().expect("id");
    let li = app.agent_in("li@example.com", Role::Agent, &[support], false).await;
    let outsider = app.agent_in("out@example.com", Role::Agent, &[finance], true).await;
    let ticket = admin.create_ticket("printer", "c@example.com", json!({ "group_id": support })).await;
    let ticket_id = ticket["id"].as_i64().expect("id");
    let mut admin_socket = connect(&admin).await;
    let mut li_socket = connect(&li).await;
    let mut outsider_socket = connect(&outsider).await;

    say(&mut admin_socket, json!({ "type": "viewing", "ticket_id": ticket_id })).await;
    let seen = next_of(&mut li_socket, "presence").await;
    assert_eq!(
        (seen["ticket_id"].clone(), seen["agent_id"].clone(), seen["state"].clone()),
        (json!(ticket_id), json!(admin.agent_id), json!("viewing"))
    );
    // Li arrives and learns at once that the admin is there (the admin's socket answers the newcomer).
    say(&mut li_socket, json!({ "type": "typing", "ticket_id": ticket_id })).await;
    let li_typing = next_of(&mut admin_socket, "presence").await;
    assert_eq!((li_typing["agent_id"].clone(), li_typing["state"].clone()), (json!(li.agent_id), json!("typing")));
    let answer = next_of(&mut li_socket, "presence").await;
    assert_eq!((answer["agent_id"].clone(), answer["state"].clone()), (json!(admin.agent_id), json!("viewing")));
    // Closing the socket leaves.
    let _ = li_socket.close(None).await;
    let left = next_of(&mut admin_socket, "presence").await;
    assert_eq!((left["agent_id"].clone(), left["state"].clone()), (json!(li.agent_id), json!("left")));

    // The restricted outsider heard nothing of it; a ticket they cannot see is refused silently.
    say(&mut outsider_socket, json!({ "type": "viewing", "ticket_id": ticket_id })).await;
    say(&mut outsider_socket, json!({ "type": "nonsense" })).await;
    let own = admin.create_ticket("finance", "c@example.com", json!({ "group_id": finance })).await;
    let next = next_of(&mut outsider_socket, "ticket").await;
    assert_eq!(next["ticket_id"], own["id"], "no presence for a ticket outside their groups came first");
    let _ = admin_socket.close(None).await;
});

api_test!(mention_in_a_note_reaches_the_mentioned_agent_live, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let li = app.agent("li.wei@example.com", Role::Agent).await;
    let other = app.agent("zhang@example.com", Role::Agent).await;
    let ticket = admin.create_ticket("refund", "c@example.com", json!({})).await;
    let mut li_socket = connect(&li).await;
    let mut other_socket = connect(&other).await;
    let path = format!("/api/v1/tickets/{}/messages", ticket["id"]);
    // A public reply does not notify, an address is not a mention, and a note does.
    admin.post(&path, json!({ "body": "@li.wei hello", "internal": false })).await.assert_status(201);
    let note = admin
        .post(&path, json!({ "body": "write to li.wei@example.com — @Li.Wei can you check?", "internal": true }))
        .await;
    note.assert_status(201);
    let mention = next_of(&mut li_socket, "mention").await;
    assert_eq!(
        (mention["ticket_id"].clone(), mention["message_id"].clone(), mention["actor_agent_id"].clone()),
        (ticket["id"].clone(), note.json["id"].clone(), json!(admin.agent_id))
    );
    assert_eq!(mention["number"], ticket["number"]);
    let by_id = format!("@{} fyi", other.agent_id);
    admin.post(&path, json!({ "body": by_id, "internal": true })).await.assert_status(201);
    assert_eq!(next_of(&mut other_socket, "mention").await["ticket_id"], ticket["id"]);
});

api_test!(several_statuses_page_in_order_across_statuses, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let statuses = ["new", "open", "pending", "solved", "open", "new", "pending", "open"];
    let mut ids = Vec::new();
    for (index, status) in statuses.iter().enumerate() {
        let ticket = admin.create_ticket(&format!("t{index}"), "c@example.com", json!({ "status": status })).await;
        ids.push((ticket["id"].as_i64().expect("id"), *status));
    }
    // Touch an early one so updated_at order differs from id order.
    admin.patch(&format!("/api/v1/tickets/{}", ids[1].0), json!({ "priority": "high" })).await.assert_status(200);
    for sort in ["-updated_at", "updated_at", "-created_at", "created_at"] {
        let everything = admin.get(&format!("/api/v1/tickets?sort={sort}&limit=100")).await.json["items"].clone();
        let expected: Vec<i64> = everything
            .as_array()
            .expect("items")
            .iter()
            .filter(|ticket| ["new", "open", "pending"].contains(&ticket["status"].as_str().expect("status")))
            .map(|ticket| ticket["id"].as_i64().expect("id"))
            .collect();
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/tickets?status=pending,new,open,new&sort={sort}&limit=2");
        loop {
            let page = admin.get(&path).await.assert_status(200).clone();
            seen.extend(
                page["items"].as_array().expect("items").iter().map(|ticket| ticket["id"].as_i64().expect("id")),
            );
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    path = format!("/api/v1/tickets?status=pending,new,open,new&sort={sort}&limit=2&cursor={cursor}")
                }
                None => break,
            }
        }
        assert_eq!(seen, expected, "{sort}");
    }
});
