//! Tickets: create (idempotent), read, update (If-Match, transitions), list (filters, keyset paging),
//! required custom fields.

use kefu_domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::api_test;

api_test!(create_returns_201_with_sequential_numbers_and_an_etag, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let first = li
        .post(
            "/api/v1/tickets",
            json!({
                "subject": "  退款申请 refund  ",
                "requester": { "email": "Wang.Fang@Example.cn", "name": "王芳" },
                "priority": "high",
                "tags": ["VIP", "退款"],
                "message": { "body": "我要退款" }
            }),
        )
        .await;
    let ticket = first.assert_status(201).clone();
    assert_eq!(ticket["subject"], "退款申请 refund");
    assert_eq!(ticket["status"], "new");
    assert_eq!(ticket["priority"], "high");
    assert_eq!(ticket["channel"], "api");
    assert_eq!(ticket["tags"], json!(["vip", "退款"]));
    assert_eq!(first.header("etag"), Some("\"1\""));
    assert_eq!(first.header("location"), Some(format!("/api/v1/tickets/{}", ticket["id"]).as_str()));
    let second = li.create_ticket("second", "wang.fang@example.cn", json!({})).await;
    assert_eq!(second["number"].as_i64(), ticket["number"].as_i64().map(|n| n + 1));
    assert_eq!(second["requester_id"], ticket["requester_id"], "one customer per identity");

    let fetched = li.get(&format!("/api/v1/tickets/{}", ticket["id"])).await;
    assert_eq!(fetched.assert_status(200)["number"], ticket["number"]);
    assert_eq!(fetched.header("etag"), Some("\"1\""), "a ticket and its first message are one version");
    let by_number = li.get(&format!("/api/v1/tickets/by-number/{}", ticket["number"])).await;
    assert_eq!(by_number.assert_status(200)["id"], ticket["id"]);
    li.get("/api/v1/tickets/999999").await.assert_problem(404, "ticket.not_found");
});

api_test!(concurrent_creates_for_one_new_requester_make_one_customer, |app: &TestApp| async move {
    // Each create looks the requester up before its write transaction, so all of them may find nobody and
    // try to create the customer: one does, the others find that one.
    let li = app.agent("li@example.com", Role::Agent).await;
    let creates = (0..8).map(|n| {
        let li = li.clone();
        async move { li.create_ticket(&format!("parcel {n}"), "new.customer@example.com", json!({})).await }
    });
    let tickets = futures::future::join_all(creates).await;
    let requesters: std::collections::BTreeSet<String> =
        tickets.iter().map(|ticket| ticket["requester_id"].to_string()).collect();
    assert_eq!(requesters.len(), 1, "{requesters:?}");
    let customers = li.get("/api/v1/customers").await;
    assert_eq!(customers.assert_status(200)["items"].as_array().map(Vec::len), Some(1));
});

api_test!(idempotency_key_makes_a_retry_return_the_first_ticket, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let body = json!({ "subject": "once", "requester": { "email": "c@example.com" } });
    let send = |body: Value| {
        let li = li.clone();
        async move {
            li.send(li.request(Method::POST, "/api/v1/tickets").header("idempotency-key", "order-42").json(&body)).await
        }
    };
    let first = send(body.clone()).await;
    let retry = send(body.clone()).await;
    assert_eq!(first.assert_status(201)["id"], retry.assert_status(201)["id"]);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let list = li.get("/api/v1/tickets").await;
    assert_eq!(list.json["items"].as_array().map(Vec::len), Some(1));
    send(json!({ "subject": "different", "requester": { "email": "c@example.com" } }))
        .await
        .assert_problem(422, "idempotency.key_reused");
    // Another agent's identical key is theirs alone.
    let wang = app.agent("wang@example.com", Role::Agent).await;
    wang.send(wang.request(Method::POST, "/api/v1/tickets").header("idempotency-key", "order-42").json(&body))
        .await
        .assert_status(201);
});

api_test!(update_honours_if_match_and_the_transition_table, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let ticket = li.create_ticket("printer on fire", "c@example.com", json!({})).await;
    let path = format!("/api/v1/tickets/{}", ticket["id"]);
    let patch = |if_match: &'static str, body: Value| {
        let li = li.clone();
        let path = path.clone();
        async move { li.send(li.request(Method::PATCH, &path).header("if-match", if_match).json(&body)).await }
    };
    let updated = patch("\"1\"", json!({ "status": "open", "assignee_id": li.agent_id, "priority": "urgent" })).await;
    assert_eq!(updated.assert_status(200)["status"], "open");
    assert_eq!(updated.header("etag"), Some("\"2\""));
    let stale = patch("\"1\"", json!({ "subject": "overwrite" })).await;
    stale.assert_problem(412, "ticket.version_conflict");
    assert_eq!(stale.json["current_version"], 2);
    patch("W/\"2\"", json!({ "status": "solved" })).await.assert_status(200);
    let refused = li.patch(&path, json!({ "status": "pending" })).await;
    refused.assert_problem(409, "ticket.invalid_transition");
    assert_eq!(
        (refused.json["from_status"].as_str(), refused.json["to_status"].as_str()),
        (Some("solved"), Some("pending"))
    );
    li.patch(&path, json!({ "status": "closed" })).await.assert_status(200);
    li.patch(&path, json!({ "subject": "too late" })).await.assert_problem(409, "ticket.closed");
    patch("nonsense", json!({})).await.assert_problem(400, "request.invalid_if_match");
    // null clears, absent keeps
    let other = li.create_ticket("other", "c@example.com", json!({ "assignee_id": li.agent_id })).await;
    let cleared = li.patch(&format!("/api/v1/tickets/{}", other["id"]), json!({ "assignee_id": null })).await;
    assert_eq!(cleared.assert_status(200)["assignee_id"], Value::Null);
    assert_eq!(cleared.json["subject"], "other");
});

api_test!(assignee_must_be_an_active_member_of_the_group, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let finance =
        admin.post("/api/v1/groups", json!({ "name": "Finance" })).await.assert_status(201)["id"].as_i64().expect("id");
    let support =
        admin.post("/api/v1/groups", json!({ "name": "Support" })).await.assert_status(201)["id"].as_i64().expect("id");
    let li = app.create_agent("li@example.com", Role::Agent, &[finance], false).await;
    let collaborator = app.create_agent("co@example.com", Role::Collaborator, &[finance], false).await;
    admin
        .post("/api/v1/tickets", json!({ "subject": "x", "requester": { "email": "c@example.com" }, "group_id": support, "assignee_id": li }))
        .await
        .assert_problem(422, "validation.invalid_reference");
    admin
        .post(
            "/api/v1/tickets",
            json!({ "subject": "x", "requester": { "email": "c@example.com" }, "assignee_id": collaborator }),
        )
        .await
        .assert_problem(422, "validation.invalid_reference");
    let ticket =
        admin.create_ticket("refund", "c@example.com", json!({ "group_id": finance, "assignee_id": li })).await;
    // Moving the ticket to a group its assignee is not in unassigns it.
    let moved = admin.patch(&format!("/api/v1/tickets/{}", ticket["id"]), json!({ "group_id": support })).await;
    assert_eq!(moved.assert_status(200)["assignee_id"], Value::Null);
    assert_eq!(moved.json["group_id"], support);
});

api_test!(list_filters_and_pages_through_every_ticket_once, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let finance =
        admin.post("/api/v1/groups", json!({ "name": "Finance" })).await.assert_status(201)["id"].as_i64().expect("id");
    let mut ids = Vec::new();
    for n in 0..30 {
        let extra =
            if n % 3 == 0 { json!({ "group_id": finance, "tags": ["退款"], "status": "open" }) } else { json!({}) };
        ids.push(
            admin.create_ticket(&format!("ticket {n}"), &format!("c{}@example.com", n % 4), extra).await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/tickets?limit=7".to_owned();
    loop {
        let page = admin.get(&path).await;
        let body = page.assert_status(200);
        seen.extend(body["items"].as_array().expect("items").iter().map(|t| t["id"].as_i64().expect("id")));
        // Each page names its tickets' requesters, once each and in id order, so a list needs no request per row.
        let mut requester_ids: Vec<i64> =
            body["items"].as_array().expect("items").iter().map(|t| t["requester_id"].as_i64().expect("id")).collect();
        requester_ids.sort_unstable();
        requester_ids.dedup();
        let named: Vec<i64> =
            body["requesters"].as_array().expect("requesters").iter().map(|r| r["id"].as_i64().expect("id")).collect();
        assert_eq!(named, requester_ids);
        for requester in body["requesters"].as_array().expect("requesters") {
            let customer = admin.get(&format!("/api/v1/customers/{}", requester["id"])).await;
            assert_eq!(customer.assert_status(200)["name"], requester["name"]);
        }
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/tickets?limit=7&cursor={cursor}"),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);

    let count = |path: &'static str| {
        let admin = admin.clone();
        async move { admin.get(path).await.assert_status(200)["items"].as_array().map(Vec::len).unwrap_or_default() }
    };
    assert_eq!(count("/api/v1/tickets?status=open&limit=100").await, 10);
    assert_eq!(count("/api/v1/tickets?status=open,new&limit=100").await, 30);
    assert_eq!(
        admin.get(&format!("/api/v1/tickets?group={finance}&limit=100")).await.json["items"].as_array().map(Vec::len),
        Some(10)
    );
    assert_eq!(count("/api/v1/tickets?group=none&limit=100").await, 20);
    assert_eq!(count("/api/v1/tickets?tag=%E9%80%80%E6%AC%BE&limit=100").await, 10);
    assert_eq!(count("/api/v1/tickets?assignee=me").await, 0);
    assert_eq!(count("/api/v1/tickets?assignee=none&limit=100").await, 30);
    let oldest_first = admin.get("/api/v1/tickets?sort=created_at&limit=1").await;
    assert_eq!(oldest_first.json["items"][0]["id"], ids[29]);
    let updated = admin.get("/api/v1/tickets?sort=-updated_at&limit=2").await;
    let cursor = updated.json["next_cursor"].as_str().expect("cursor").to_owned();
    admin.get(&format!("/api/v1/tickets?sort=-updated_at&limit=2&cursor={cursor}")).await.assert_status(200);
    admin
        .get(&format!("/api/v1/tickets?sort=-created_at&cursor={cursor}"))
        .await
        .assert_problem(422, "validation.invalid");

    admin.get("/api/v1/tickets?status=bogus").await.assert_problem(400, "request.invalid_query");
    admin.get("/api/v1/tickets?limit=0").await.assert_problem(400, "request.invalid_query");
    admin.get("/api/v1/tickets?limit=abc").await.assert_problem(400, "request.invalid_query");
    admin.get("/api/v1/tickets?cursor=zzz").await.assert_problem(400, "request.invalid_cursor");
    admin.get("/api/v1/tickets?sort=priority").await.assert_problem(400, "request.invalid_query");
    admin.get("/api/v1/tickets?assignee=someone").await.assert_problem(400, "request.invalid_query");
});

api_test!(required_fields_are_listed_all_at_once, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    admin
        .post("/api/v1/custom-fields", json!({ "key": "order_id", "label": "Order", "field_type": "text" }))
        .await
        .assert_status(201);
    admin
        .post(
            "/api/v1/custom-fields",
            json!({ "key": "reason", "label": "Reason", "field_type": "dropdown", "options": ["damaged", "late"] }),
        )
        .await
        .assert_status(201);
    admin
        .post("/api/v1/custom-fields", json!({ "key": "Bad Key", "label": "x", "field_type": "text" }))
        .await
        .assert_problem(422, "validation.invalid");
    admin
        .post("/api/v1/custom-fields", json!({ "key": "order_id", "label": "again", "field_type": "text" }))
        .await
        .assert_problem(409, "conflict.already_exists");
    let refunds =
        admin.post("/api/v1/categories", json!({ "name": "Refunds", "required_fields": ["order_id", "reason"] })).await;
    let category = refunds.assert_status(201)["id"].as_i64().expect("id");
    admin
        .post("/api/v1/categories", json!({ "name": "Other", "required_fields": ["nope"] }))
        .await
        .assert_problem(422, "validation.invalid");

    let missing = admin
        .post(
            "/api/v1/tickets",
            json!({ "subject": "refund", "requester": { "email": "c@example.com" }, "category_id": category }),
        )
        .await;
    missing.assert_problem(422, "validation.missing_fields");
    assert_eq!(missing.json["fields"], json!(["order_id", "reason"]));
    let wrong = admin
        .post(
            "/api/v1/tickets",
            json!({ "subject": "refund", "requester": { "email": "c@example.com" }, "category_id": category,
            "custom_fields": { "order_id": "A-1", "reason": "lost" } }),
        )
        .await;
    wrong.assert_problem(422, "validation.invalid");
    assert_eq!(wrong.json["field"], "custom_fields.reason");
    let ticket = admin
        .create_ticket(
            "refund",
            "c@example.com",
            json!({ "category_id": category, "custom_fields": { "order_id": "A-1", "reason": "late" } }),
        )
        .await;
    assert_eq!(ticket["custom_fields"], json!({ "order_id": "A-1", "reason": "late" }));
    admin
        .patch(&format!("/api/v1/tickets/{}", ticket["id"]), json!({ "custom_fields": { "order_id": null } }))
        .await
        .assert_problem(422, "validation.missing_fields");
    admin
        .post(
            "/api/v1/tickets",
            json!({ "subject": "x", "requester": { "email": "c@example.com" }, "category_id": 999 }),
        )
        .await
        .assert_problem(422, "validation.invalid_reference");
});
