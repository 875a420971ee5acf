//! Customers: identities across channels, lookup, organizations, customer merge.

use kefu_domain::Role;
use serde_json::json;

use crate::harness::api_test;

api_test!(one_customer_many_identities_found_by_any, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let created = li
        .post(
            "/api/v1/customers",
            json!({
                "name": "王芳",
                "tier": "VIP",
                "attributes": { "crm_id": "C-1" },
                "identities": [
                    { "kind": "email", "value": "Wang.Fang@Example.cn" },
                    { "kind": "phone", "value": "+86 138-0013-8000" },
                    { "kind": "external", "provider": "wechat", "value": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" }
                ]
            }),
        )
        .await;
    let customer = created.assert_status(201).clone();
    assert_eq!(customer["tier"], "vip");
    let values: Vec<_> =
        customer["identities"].as_array().expect("identities").iter().map(|i| i["value"].clone()).collect();
    assert_eq!(values, [json!("wang.fang@example.cn"), json!("+8613800138000"), json!("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")]);
    for query in [
        "identity_kind=email&identity_value=WANG.FANG%40example.cn",
        "identity_kind=phone&identity_value=%2B8613800138000",
        "identity_kind=external&identity_provider=wechat&identity_value=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    ] {
        let found = li.get(&format!("/api/v1/customers?{query}")).await;
        assert_eq!(found.assert_status(200)["items"][0]["id"], customer["id"], "{query}");
    }
    let none = li.get("/api/v1/customers?identity_kind=email&identity_value=nobody%40example.cn").await;
    assert_eq!(none.json["items"], json!([]));
    li.get("/api/v1/customers?identity_kind=fax&identity_value=1").await.assert_problem(422, "validation.invalid");

    // A ticket from the WeChat identity lands on the same customer.
    let ticket = li
        .post(
            "/api/v1/tickets",
            json!({ "subject": "hi", "channel": "wechat",
            "requester": { "provider": "wechat", "external_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" } }),
        )
        .await;
    assert_eq!(ticket.assert_status(201)["requester_id"], customer["id"]);

    let other = li
        .post("/api/v1/customers", json!({ "identities": [{ "kind": "email", "value": "li.lei@example.cn" }] }))
        .await;
    assert_eq!(other.assert_status(201)["name"], "li.lei");
    let path = format!("/api/v1/customers/{}/identities", other.json["id"]);
    li.post(&path, json!({ "kind": "email", "value": "wang.fang@example.cn" }))
        .await
        .assert_problem(409, "conflict.already_exists");
    li.post(&path, json!({ "kind": "email", "value": "not-an-email" })).await.assert_problem(422, "validation.invalid");
    let added = li.post(&path, json!({ "kind": "phone", "value": "13900000000" })).await;
    let identity_id = added.assert_status(201)["identities"][1]["id"].as_i64().expect("id");
    let removed = li.delete(&format!("{path}/{identity_id}")).await;
    assert_eq!(removed.assert_status(200)["identities"].as_array().map(Vec::len), Some(1));
    li.delete(&format!("{path}/{identity_id}")).await.assert_problem(404, "identity.not_found");

    let patched = li
        .patch(
            &format!("/api/v1/customers/{}", customer["id"]),
            json!({ "tier": null, "attributes": { "crm_id": null, "city": "上海" } }),
        )
        .await;
    assert_eq!(patched.assert_status(200)["tier"], serde_json::Value::Null);
    assert_eq!(patched.json["attributes"], json!({ "city": "上海" }));
});

api_test!(organizations_take_in_customers_by_email_domain, |app: &TestApp| async move {
    let li = app.agent("li@example.com", Role::Agent).await;
    let organization =
        li.post("/api/v1/organizations", json!({ "name": "Acme 中国", "domains": ["@ACME.cn"], "tier": "vip" })).await;
    let id = organization.assert_status(201)["id"].clone();
    assert_eq!(organization.json["domains"], json!(["acme.cn"]));
    li.post("/api/v1/organizations", json!({ "name": "Other", "domains": ["acme.cn"] }))
        .await
        .assert_problem(409, "conflict.already_exists");
    li.post("/api/v1/organizations", json!({ "name": "Acme 中国" }))
        .await
        .assert_problem(409, "conflict.already_exists");
    let ticket = li.create_ticket("hello", "buyer@acme.cn", json!({})).await;
    let customer = li.get(&format!("/api/v1/customers/{}", ticket["requester_id"])).await;
    assert_eq!(customer.json["organization_id"], id);
    let members = li.get(&format!("/api/v1/customers?organization={id}")).await;
    assert_eq!(members.json["items"].as_array().map(Vec::len), Some(1));
    let tickets = li.get(&format!("/api/v1/tickets?organization={id}")).await;
    assert_eq!(tickets.json["items"][0]["id"], ticket["id"]);
    let updated = li
        .put(
            &format!("/api/v1/organizations/{id}"),
            json!({ "name": "Acme", "domains": ["acme.com"], "notes": "key account" }),
        )
        .await;
    assert_eq!(updated.assert_status(200)["domains"], json!(["acme.com"]));
    assert_eq!(li.get("/api/v1/organizations").await.json["items"][0]["name"], "Acme");
});

api_test!(merging_customers_moves_identities_and_tickets, |app: &TestApp| async move {
    let supervisor = app.agent("sup@example.com", Role::Supervisor).await;
    let li = app.agent("li@example.com", Role::Agent).await;
    let by_email = li.create_ticket("from email", "wang@example.cn", json!({})).await;
    let by_wechat = li
        .post("/api/v1/tickets", json!({ "subject": "from wechat", "requester": { "provider": "wechat", "external_id": "o-123", "name": "Wang" } }))
        .await
        .assert_status(201)
        .clone();
    let target = by_email["requester_id"].clone();
    let source = by_wechat["requester_id"].clone();
    li.post(&format!("/api/v1/customers/{target}/merge"), json!({ "source_id": source }))
        .await
        .assert_problem(403, "customer.merge_forbidden");
    let merged = supervisor.post(&format!("/api/v1/customers/{target}/merge"), json!({ "source_id": source })).await;
    assert_eq!(merged.assert_status(200)["identities"].as_array().map(Vec::len), Some(2));
    let moved = li.get(&format!("/api/v1/tickets/{}", by_wechat["id"])).await;
    assert_eq!(moved.json["requester_id"], target);
    let history = li.get(&format!("/api/v1/tickets/{}/events", by_wechat["id"])).await;
    let change = history.json["items"].as_array().expect("items").last().cloned().expect("event");
    assert_eq!((change["field"].clone(), change["after"].clone()), (json!("requester_id"), target.clone()));
    let old = li.get(&format!("/api/v1/customers/{source}")).await;
    assert_eq!(old.json["merged_into_id"], target);
    supervisor
        .post(&format!("/api/v1/customers/{target}/merge"), json!({ "source_id": target }))
        .await
        .assert_problem(422, "customer.same_customer");
    // A new ticket from the old identity goes to the surviving customer.
    let again = li
        .post(
            "/api/v1/tickets",
            json!({ "subject": "again", "requester": { "provider": "wechat", "external_id": "o-123" } }),
        )
        .await;
    assert_eq!(again.assert_status(201)["requester_id"], target);
});
