//! Automation and SLAs through the API, on a manual clock where time matters.

use std::sync::Arc;

use chrono::Duration;
use kefu_domain::Role;
use serde_json::{Value, json};

use crate::harness::{Client, Options, TestApp, api_test};

async fn group(admin: &Client, name: &str) -> i64 {
    admin.post("/api/v1/groups", json!({ "name": name })).await.assert_status(201)["id"].as_i64().expect("id")
}

async fn trigger(admin: &Client, name: &str, events: &[&str], conditions: Value, actions: Value) -> i64 {
    admin
        .post(
            "/api/v1/triggers",
            json!({ "name": name, "events": events, "conditions": conditions, "actions": actions }),
        )
        .await
        .assert_status(201)["id"]
        .as_i64()
        .expect("id")
}

fn kinds(events: &Value) -> Vec<String> {
    events["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

api_test!(bad_rules_are_refused_at_save_time, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let supervisor = app.agent("sup@example.com", Role::Supervisor).await;
    let refused = |body: Value, field: &'static str| {
        let admin = admin.clone();
        async move {
            let response = admin.post("/api/v1/triggers", body).await;
            response.assert_problem(422, "validation.invalid");
            assert_eq!(response.json["field"], field, "{}", response.json);
        }
    };
    let good_actions = json!([{ "type": "add_tags", "value": ["x"] }]);
    refused(json!({ "name": "t", "events": ["ticket_created"], "conditions": { "all": [{ "field": "colour", "operator": "is", "value": "red" }] }, "actions": good_actions }), "field").await;
    refused(json!({ "name": "t", "events": ["ticket_created"], "conditions": { "all": [{ "field": "priority", "operator": "contains", "value": "high" }] }, "actions": good_actions }), "operator").await;
    refused(json!({ "name": "t", "events": ["ticket_created"], "conditions": { "all": [{ "field": "priority", "operator": "is", "value": "critical" }] }, "actions": good_actions }), "value").await;
    refused(json!({ "name": "t", "events": ["whenever"], "conditions": {}, "actions": good_actions }), "event").await;
    refused(json!({ "name": "t", "events": [], "conditions": {}, "actions": good_actions }), "events").await;
    refused(
        json!({ "name": "t", "events": ["ticket_created"], "conditions": {}, "actions": [{ "type": "explode" }] }),
        "type",
    )
    .await;
    refused(json!({ "name": "t", "events": ["ticket_created"], "conditions": {}, "actions": [{ "type": "add_note", "body": "{{ oops" }] }), "body").await;
    refused(json!({ "name": "t", "events": ["ticket_created"], "conditions": {}, "actions": [{ "type": "webhook", "url": "ftp://x", "secret": "0123456789abcdef" }] }), "url").await;
    let automation = admin
        .post("/api/v1/automations", json!({ "name": "a", "conditions": { "all": [{ "field": "status", "operator": "is", "value": "pending" }] }, "actions": good_actions }))
        .await;
    automation.assert_problem(422, "validation.invalid");
    assert_eq!(automation.json["field"], "conditions");
    let sla = admin.post("/api/v1/sla-policies", json!({ "name": "p", "conditions": {}, "targets": { "first_response_minutes": 60, "business_hours": true } })).await;
    sla.assert_problem(422, "validation.invalid");
    assert_eq!(sla.json["field"], "calendar_id");
    admin
        .post(
            "/api/v1/calendars",
            json!({ "name": "c", "time_zone": "Mars/Base", "weekly": [[], [], [], [], [], [], []] }),
        )
        .await
        .assert_problem(422, "validation.invalid");
    supervisor
        .post(
            "/api/v1/triggers",
            json!({ "name": "t", "events": ["ticket_created"], "conditions": {}, "actions": good_actions }),
        )
        .await
        .assert_problem(403, "settings.forbidden");
    // Webhook secrets are masked on the way out and kept when the mask is sent back.
    let id = trigger(
        &admin,
        "hook",
        &["ticket_created"],
        json!({}),
        json!([{ "type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef" }]),
    )
    .await;
    let listed = admin.get("/api/v1/triggers").await;
    let stored = listed.json.as_array().expect("list").iter().find(|rule| rule["id"] == id).cloned().expect("trigger");
    assert_eq!(stored["actions"][0]["secret"], "********");
    admin
        .send(admin.request(reqwest::Method::PUT, &format!("/api/v1/triggers/{id}")).json(&stored))
        .await
        .assert_status(200);
});

api_test!(routing_sends_refunds_vips_and_social_channels_to_their_teams, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let finance = group(&admin, "Finance").await;
    let senior = group(&admin, "Senior agents").await;
    let social = group(&admin, "Social media").await;
    trigger(&admin, "Refunds to finance", &["ticket_created"],
        json!({ "any": [{ "field": "subject", "operator": "contains", "value": "退款" }, { "field": "subject", "operator": "contains", "value": "refund" }] }),
        json!([{ "type": "set_group", "value": finance }, { "type": "add_tags", "value": ["refund"] }])).await;
    trigger(
        &admin,
        "VIPs to senior agents",
        &["ticket_created"],
        json!({ "all": [{ "field": "customer_tier", "operator": "is", "value": "vip" }] }),
        json!([{ "type": "set_group", "value": senior }, { "type": "set_priority", "value": "high" }]),
    )
    .await;
    trigger(&admin, "Social channels to the social team", &["ticket_created"],
        json!({ "all": [{ "field": "channel", "operator": "in", "value": ["wechat", "whatsapp", "line", "telegram", "messenger"] }] }),
        json!([{ "type": "set_group", "value": social }])).await;

    let refund = admin.create_ticket("我要退款，订单 1234", "buyer@example.cn", json!({})).await;
    assert_eq!((refund["group_id"].clone(), refund["tags"].clone()), (json!(finance), json!(["refund"])));
    let english = admin.create_ticket("Refund for order 99", "buyer2@example.com", json!({})).await;
    assert_eq!(english["group_id"], finance);
    let vip = admin.post("/api/v1/customers", json!({ "name": "Big Client", "tier": "VIP", "identities": [{ "kind": "email", "value": "ceo@client.com" }] })).await;
    let vip_ticket = admin.create_ticket("Where is my parcel", "ceo@client.com", json!({})).await;
    assert_eq!(vip.json["id"], vip_ticket["requester_id"]);
    assert_eq!((vip_ticket["group_id"].clone(), vip_ticket["priority"].clone()), (json!(senior), json!("high")));
    let wechat = admin
        .post("/api/v1/tickets", json!({ "subject": "你好", "channel": "wechat", "requester": { "provider": "wechat", "external_id": "o-1" } }))
        .await;
    assert_eq!(wechat.assert_status(201)["group_id"], social);
    let plain = admin.create_ticket("Password reset", "someone@example.com", json!({})).await;
    assert_eq!(plain["group_id"], Value::Null);

    let history = admin.get(&format!("/api/v1/tickets/{}/events", refund["id"])).await;
    let fired = history.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["kind"] == "rule_fired")
        .cloned()
        .expect("rule_fired");
    assert_eq!(
        (fired["actor"]["kind"].clone(), fired["after"]["rules"][0]["name"].clone()),
        (json!("system"), json!("Refunds to finance"))
    );
    let dry =
        admin.post("/api/v1/triggers/dry-run", json!({ "ticket_id": plain["id"], "event": "ticket_created" })).await;
    let entries = dry.assert_status(200).as_array().expect("list").clone();
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|entry| entry["would_fire"] == false && entry["listens"] == true));
    assert_eq!(entries[0]["any"][0]["matched"], false);
    let vip_dry = admin
        .post("/api/v1/triggers/dry-run", json!({ "ticket_id": vip_ticket["id"], "event": "ticket_created" }))
        .await;
    assert_eq!(vip_dry.json[1]["would_fire"], true);
    admin
        .post("/api/v1/triggers/dry-run", json!({ "ticket_id": plain["id"], "event": "sometime" }))
        .await
        .assert_problem(422, "validation.invalid");
});

// A new ticket's triggers and SLA are worked out before its write transaction, from what the requester lookup
// found: a new customer's organization (from the email domain) and a known customer's tier must be what the
// rules see, as stored.
api_test!(creation_rules_see_the_requester_as_stored, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let org = admin.post("/api/v1/organizations", json!({ "name": "Acme", "domains": ["acme.cn"] })).await;
    let org_id = org.assert_status(201)["id"].clone();
    trigger(
        &admin,
        "Acme",
        &["ticket_created"],
        json!({ "all": [{ "field": "organization_id", "operator": "is", "value": org_id }] }),
        json!([{ "type": "add_tags", "value": ["acme"] }]),
    )
    .await;
    trigger(
        &admin,
        "VIP",
        &["ticket_created"],
        json!({ "all": [{ "field": "customer_tier", "operator": "is", "value": "vip" }] }),
        json!([{ "type": "add_tags", "value": ["vip"] }]),
    )
    .await;
    admin
        .post(
            "/api/v1/sla-policies",
            json!({
                "name": "Acme",
                "conditions": { "all": [{ "field": "organization_id", "operator": "is", "value": org_id }] },
                "targets": { "first_response_minutes": 30 }
            }),
        )
        .await
        .assert_status(201);
    admin
        .post(
            "/api/v1/customers",
            json!({ "name": "Boss", "tier": "vip", "identities": [{ "kind": "email", "value": "boss@example.com" }] }),
        )
        .await
        .assert_status(201);
    for email in ["first@acme.cn", "first@acme.cn", "boss@example.com", "other@example.com"] {
        let ticket = admin.create_ticket("Parcel missing", email, json!({})).await;
        let customer = admin.get(&format!("/api/v1/customers/{}", ticket["requester_id"])).await;
        let acme = customer.assert_status(200)["organization_id"] == org_id;
        let vip = customer.json["tier"] == "vip";
        let tags: Vec<String> = serde_json::from_value(ticket["tags"].clone()).expect("tags");
        assert_eq!(tags.contains(&"acme".to_owned()), acme, "{email}: {tags:?}");
        assert_eq!(tags.contains(&"vip".to_owned()), vip, "{email}: {tags:?}");
        assert_eq!(vip, email == "boss@example.com");
        let sla = admin.get(&format!("/api/v1/tickets/{}/sla", ticket["id"])).await;
        let first = sla.assert_status(200)["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .find(|metric| metric["metric"] == "first_response")
            .map(|metric| metric["target_minutes"].clone());
        assert_eq!(first, acme.then(|| json!(30)), "{email}: {}", sla.json);
    }
});

api_test!(round_robin_assigns_available_agents_in_turn_and_notifies_them, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let team = group(&admin, "Tier 1").await;
    let li = app.agent_in("li@example.com", Role::Agent, &[team], false).await;
    let wang = app.agent_in("wang@example.com", Role::Agent, &[team], false).await;
    let zhao = app.agent_in("zhao@example.com", Role::Agent, &[team], false).await;
    zhao.put(
        &format!("/api/v1/agents/{}/availability", zhao.agent_id),
        json!({ "available": false, "capacity": null }),
    )
    .await
    .assert_status(200);
    li.put(&format!("/api/v1/agents/{}/availability", wang.agent_id), json!({ "available": false, "capacity": null }))
        .await
        .assert_problem(403, "agent.manage_forbidden");
    trigger(
        &admin,
        "Round robin",
        &["ticket_created"],
        json!({}),
        json!([{ "type": "assign_round_robin", "value": team }]),
    )
    .await;
    let mut assignees = Vec::new();
    for n in 0..4 {
        assignees.push(
            admin.create_ticket(&format!("t{n}"), "c@example.com", json!({})).await["assignee_id"]
                .as_i64()
                .expect("assigned"),
        );
    }
    assert_eq!(assignees, [li.agent_id, wang.agent_id, li.agent_id, wang.agent_id]);
    let notifications = li.get("/api/v1/notifications?unread=true").await;
    let items = notifications.assert_status(200)["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["kind"], "assigned");
    li.post(&format!("/api/v1/notifications/{}/read", items[0]["id"]), json!({})).await.assert_status(204);
    assert_eq!(li.get("/api/v1/notifications?unread=true").await.json["items"].as_array().map(Vec::len), Some(1));
    wang.post(&format!("/api/v1/notifications/{}/read", items[0]["id"]), json!({}))
        .await
        .assert_problem(404, "notification.not_found");
    assert!(zhao.get("/api/v1/notifications").await.json["items"].as_array().expect("items").is_empty());
});

/// An urgent-ticket policy (calendar time): first response in 60 minutes, warning 15 minutes before.
async fn urgent_policy(admin: &Client) {
    admin
        .post(
            "/api/v1/sla-policies",
            json!({
                "name": "Urgent",
                "conditions": { "all": [{ "field": "priority", "operator": "is", "value": "urgent" }] },
                "targets": { "first_response_minutes": 60, "resolution_minutes": 480, "warning_minutes": 15 }
            }),
        )
        .await
        .assert_status(201);
}

api_test!(sla_warning_and_breach_fire_once_and_feed_triggers, Options::manual_clock(), |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let escalation = group(&admin, "Tier 2").await;
    let li = app.agent_in("li@example.com", Role::Agent, &[escalation], false).await;
    urgent_policy(&admin).await;
    trigger(&admin, "Escalate breaches", &["sla_breach"], json!({}),
        json!([{ "type": "set_group", "value": escalation }, { "type": "add_note", "body": "SLA breached on #{{ ticket.number }}" }])).await;
    let ticket = admin
        .create_ticket("Site down", "c@example.com", json!({ "priority": "urgent", "assignee_id": li.agent_id }))
        .await;
    let id = ticket["id"].clone();
    let sla = admin.get(&format!("/api/v1/tickets/{id}/sla")).await;
    let first = sla.assert_status(200)["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["metric"] == "first_response")
        .cloned()
        .expect("first response");
    assert_eq!(first["target_minutes"], 60);
    assert_eq!(first["breached"], false);
    assert!(first["due_at"].is_string());

    assert_eq!(app.app.run_sla_timers().await.expect("timers"), 0, "nothing is due yet");
    app.advance(Duration::minutes(50));
    assert_eq!(app.app.run_sla_timers().await.expect("timers"), 1, "the warning");
    assert_eq!(app.app.run_sla_timers().await.expect("timers"), 0, "warnings fire once");
    app.advance(Duration::minutes(11));
    assert_eq!(app.app.run_sla_timers().await.expect("timers"), 1, "the breach");
    assert_eq!(app.app.run_sla_timers().await.expect("timers"), 0, "breaches fire once");
    app.advance(Duration::hours(1));
    assert_eq!(app.app.run_sla_timers().await.expect("timers"), 0);

    let events = admin.get(&format!("/api/v1/tickets/{id}/events?limit=100")).await;
    let all = kinds(&events.json);
    assert_eq!(all.iter().filter(|kind| *kind == "sla_warning").count(), 1);
    assert_eq!(all.iter().filter(|kind| *kind == "sla_breach").count(), 1);
    assert!(all.contains(&"sla_applied".to_owned()));
    let after = admin.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(after.json["group_id"], escalation, "the breach trigger moved the ticket");
    let notes = admin.get(&format!("/api/v1/tickets/{id}/messages")).await;
    let note = notes.json["items"].as_array().expect("items").last().cloned().expect("note");
    assert_eq!(
        (note["body"].clone(), note["internal"].clone(), note["author"]["kind"].clone()),
        (json!(format!("SLA breached on #{}", ticket["number"])), json!(true), json!("system"))
    );
    let kinds_of_notifications: Vec<Value> = li.get("/api/v1/notifications").await.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| n["kind"].clone())
        .collect();
    assert_eq!(kinds_of_notifications, [json!("sla_breach"), json!("sla_warning")]);
    let sla = admin.get(&format!("/api/v1/tickets/{id}/sla")).await;
    let first = sla.json["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["metric"] == "first_response")
        .cloned()
        .expect("first response");
    assert_eq!(first["breached"], true);

    // A reply fulfils the first response; nothing more fires for it.
    admin.post(&format!("/api/v1/tickets/{id}/messages"), json!({ "body": "On it" })).await.assert_status(201);
    let sla = admin.get(&format!("/api/v1/tickets/{id}/sla")).await;
    let first = sla.json["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["metric"] == "first_response")
        .cloned()
        .expect("first response");
    assert!(first["fulfilled_at"].is_string());
});

api_test!(
    pending_pauses_the_clock_and_the_breaching_view_follows_it,
    Options::manual_clock(),
    |app: &TestApp| async move {
        let admin = app.agent("admin@example.com", Role::Admin).await;
        urgent_policy(&admin).await;
        admin.post("/api/v1/views", json!({ "name": "Breaching within the hour", "filters": { "sla_due_within_minutes": 60 }, "shared": true })).await.assert_status(201);
        admin
            .post("/api/v1/views", json!({ "name": "Nonsense", "filters": { "colour": "red" } }))
            .await
            .assert_problem(422, "validation.invalid");
        let ticket =
            admin.create_ticket("Site down", "c@example.com", json!({ "priority": "urgent", "status": "open" })).await;
        let id = ticket["id"].clone();
        let views = admin.get("/api/v1/views").await;
        assert_eq!(views.assert_status(200)[0]["count"], 1);
        admin.patch(&format!("/api/v1/tickets/{id}"), json!({ "status": "pending" })).await.assert_status(200);
        assert_eq!(admin.get("/api/v1/views").await.json[0]["count"], 0, "a paused clock is not breaching");
        app.advance(Duration::hours(5));
        assert_eq!(app.app.run_sla_timers().await.expect("timers"), 0, "paused clocks never breach");
        admin.patch(&format!("/api/v1/tickets/{id}"), json!({ "status": "open" })).await.assert_status(200);
        let sla = admin.get(&format!("/api/v1/tickets/{id}/sla")).await;
        let first = sla.json["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .find(|m| m["metric"] == "first_response")
            .cloned()
            .expect("first response");
        assert_eq!(first["breached"], false);
        assert_eq!(first["paused"], false);
        let view_id = admin.get("/api/v1/views").await.json[0]["id"].clone();
        let listed = admin.get(&format!("/api/v1/views/{view_id}/tickets")).await;
        assert_eq!(listed.json["items"][0]["id"], id);
        assert_eq!(listed.json["requesters"][0]["id"], listed.json["items"][0]["requester_id"], "with its requester");
    }
);

api_test!(ticket_list_and_count_filter_by_sla_due_before, Options::manual_clock(), |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    urgent_policy(&admin).await;
    let urgent =
        admin.create_ticket("Site down", "c@example.com", json!({ "priority": "urgent", "status": "open" })).await;
    admin.create_ticket("No SLA", "d@example.com", json!({ "status": "open" })).await;
    let created: chrono::DateTime<chrono::Utc> =
        urgent["created_at"].as_str().expect("created_at").parse().expect("time");
    let before = |minutes: i64| {
        let at = (created + Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        format!("sla_due_before={at}")
    };
    let count = |query: String| {
        let admin = admin.clone();
        async move { admin.get(&format!("/api/v1/tickets/count?{query}")).await.assert_status(200)["count"].clone() }
    };
    assert_eq!(count(before(30)).await, 0, "the first response is due in an hour");
    assert_eq!(count(before(61)).await, 1);
    let listed = admin.get(&format!("/api/v1/tickets?{}", before(61))).await;
    let ids: Vec<Value> =
        listed.assert_status(200)["items"].as_array().expect("items").iter().map(|t| t["id"].clone()).collect();
    assert_eq!(ids, [urgent["id"].clone()]);
    let ticket_path = format!("/api/v1/tickets/{}", urgent["id"]);
    admin.patch(&ticket_path, json!({ "status": "pending" })).await.assert_status(200);
    assert_eq!(count(before(180)).await, 0, "a paused clock is not due");
    admin.patch(&ticket_path, json!({ "status": "open" })).await.assert_status(200);
    app.advance(Duration::hours(2));
    assert_eq!(count(before(180)).await, 1, "a breached clock that is still running stays due");
    admin.get("/api/v1/tickets/count?sla_due_before=soon").await.assert_problem(400, "request.invalid_query");
});

api_test!(automations_solve_long_pending_tickets_once, Options::manual_clock(), |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    admin
        .post("/api/v1/automations", json!({
            "name": "Solve after 3 days pending",
            "conditions": { "all": [
                { "field": "status", "operator": "is", "value": "pending" },
                { "field": "minutes_since_updated", "operator": "greater_than", "value": 4320 }
            ] },
            "actions": [{ "type": "set_status", "value": "solved" }, { "type": "add_note", "body": "Solved after three quiet days" }]
        }))
        .await
        .assert_status(201);
    let waiting = admin.create_ticket("Waiting for you", "c@example.com", json!({ "status": "pending" })).await;
    let fresh = admin.create_ticket("Fresh", "c@example.com", json!({ "status": "open" })).await;
    app.advance(Duration::days(2));
    assert_eq!(app.app.run_automations().await.expect("automations"), 0);
    app.advance(Duration::days(1) + Duration::minutes(1));
    assert_eq!(app.app.run_automations().await.expect("automations"), 1);
    assert_eq!(app.app.run_automations().await.expect("automations"), 0, "fires once");
    assert_eq!(admin.get(&format!("/api/v1/tickets/{}", waiting["id"])).await.json["status"], "solved");
    assert_eq!(admin.get(&format!("/api/v1/tickets/{}", fresh["id"])).await.json["status"], "open");
    let events = admin.get(&format!("/api/v1/tickets/{}/events", waiting["id"])).await;
    assert!(kinds(&events.json).contains(&"rule_fired".to_owned()));
});

api_test!(macros_render_placeholders_apply_actions_and_count_uses, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let li = app.agent("li@example.com", Role::Agent).await;
    let shared = admin
        .post("/api/v1/macros", json!({
            "title": "Refund on its way",
            "bodies": { "en": "Hi {{ customer.name }}, refund for #{{ ticket.number }} is on its way. {{ agent.name }}",
                        "zh-CN": "{{ customer.name }}，您好！工单 #{{ ticket.number }} 的退款已发出。{{ agent.name }}" },
            "actions": [{ "type": "set_status", "value": "pending" }, { "type": "add_tags", "value": ["refund_sent"] }],
            "shared": true
        }))
        .await;
    let macro_id = shared.assert_status(201)["id"].clone();
    li.post("/api/v1/macros", json!({ "title": "x", "bodies": { "en": "x" }, "shared": true }))
        .await
        .assert_problem(403, "macro.share_forbidden");
    let personal = li.post("/api/v1/macros", json!({ "title": "Mine", "bodies": { "en": "Thanks!" } })).await;
    assert_eq!(personal.assert_status(201)["shared"], false);
    assert_eq!(
        admin.get("/api/v1/macros").await.json.as_array().map(Vec::len),
        Some(1),
        "others' personal macros stay private"
    );
    admin
        .post("/api/v1/macros", json!({ "title": "bad", "bodies": { "en": "{{ broken" } }))
        .await
        .assert_problem(422, "validation.invalid");
    admin.post("/api/v1/macros", json!({ "title": "bad", "bodies": { "en": "x" }, "actions": [{ "type": "webhook", "url": "https://x", "secret": "0123456789abcdef" }] }))
        .await
        .assert_problem(422, "validation.invalid");

    let customer = li
        .post(
            "/api/v1/customers",
            json!({ "name": "王芳", "locale": "zh-CN", "identities": [{ "kind": "email", "value": "wf@example.cn" }] }),
        )
        .await;
    let ticket = li.create_ticket("退款", "wf@example.cn", json!({})).await;
    assert_eq!(customer.json["id"], ticket["requester_id"]);
    let preview = li.post(&format!("/api/v1/macros/{macro_id}/preview"), json!({ "ticket_id": ticket["id"] })).await;
    assert_eq!(preview.assert_status(200)["body"], format!("王芳，您好！工单 #{} 的退款已发出。li", ticket["number"]));
    assert_eq!(preview.json["changes"], json!({ "status": "pending", "tags": ["refund_sent"] }));
    let english = li
        .post(&format!("/api/v1/macros/{macro_id}/preview"), json!({ "ticket_id": ticket["id"], "locale": "en" }))
        .await;
    assert!(english.json["body"].as_str().is_some_and(|body| body.starts_with("Hi 王芳")));
    let applied = li.post(&format!("/api/v1/macros/{macro_id}/apply"), json!({ "ticket_id": ticket["id"] })).await;
    assert_eq!(applied.assert_status(201)["internal"], false);
    let after = li.get(&format!("/api/v1/tickets/{}", ticket["id"])).await;
    assert_eq!((after.json["status"].clone(), after.json["tags"].clone()), (json!("pending"), json!(["refund_sent"])));
    assert_eq!(admin.get("/api/v1/macros").await.json[0]["usage_count"], 1);
});

api_test!(webhooks_are_signed_and_retried, |app: &TestApp| async move {
    // A local stand-in for the receiving service: records each request, fails the first one.
    let received: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    let sink = received.clone();
    tokio::spawn(async move {
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let sink = sink.clone();
                async move {
                    let signature =
                        headers.get("x-kefu-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                    let mut calls = sink.lock().expect("lock");
                    calls.push((signature, body));
                    if calls.len() == 1 {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            }),
        );
        let _ = axum::serve(listener, router).await;
    });
    let admin = app.agent("admin@example.com", Role::Admin).await;
    trigger(
        &admin,
        "Tell the CRM",
        &["ticket_created"],
        json!({}),
        json!([{ "type": "webhook", "url": url, "secret": "0123456789abcdef" }]),
    )
    .await;
    let ticket = admin.create_ticket("hello", "c@example.com", json!({})).await;
    assert_eq!(app.app.deliver_webhooks().await.expect("deliver"), 0, "the first attempt is refused and retried later");
    assert_eq!(app.app.deliver_webhooks().await.expect("deliver"), 0, "not yet due again");
    let calls = received.lock().expect("lock").clone();
    assert_eq!(calls.len(), 1);
    let (signature, body) = &calls[0];
    assert_eq!(signature, &kefu_app::automation::webhook_signature("0123456789abcdef", body));
    let payload: Value = serde_json::from_str(body).expect("json");
    assert_eq!(payload["ticket"]["id"], ticket["id"]);
});

mod two_workers_never_fire_one_breach_twice {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        let Some(app) = TestApp::start(kefu_store::testing::TestBackend::Postgres, Options::manual_clock()).await
        else {
            return;
        };
        let admin = app.agent("admin@example.com", Role::Admin).await;
        urgent_policy(&admin).await;
        let mut ids = Vec::new();
        for n in 0..20 {
            ids.push(
                admin.create_ticket(&format!("t{n}"), "c@example.com", json!({ "priority": "urgent" })).await["id"]
                    .clone(),
            );
        }
        app.advance(Duration::minutes(61));
        // A second worker process: its own pool on the same database, same clock.
        let store = kefu_store::Store::connect_with(app.database_url(), 4).await.expect("second pool");
        let files = object_store::memory::InMemory::new();
        let clock = app.clock.clone().expect("manual clock");
        let second = kefu_app::App::new(
            store,
            clock,
            Arc::new(kefu_app::bus::LocalBus::default()),
            Arc::new(files),
            Default::default(),
        );
        let (first, other) = tokio::join!(app.app.run_sla_timers(), second.run_sla_timers());
        let total = first.expect("first worker") + other.expect("second worker");
        assert_eq!(total, 40, "one warning and one breach per ticket, between the two workers");
        for id in ids {
            let events = admin.get(&format!("/api/v1/tickets/{id}/events?limit=100")).await;
            let all = kinds(&events.json);
            assert_eq!(all.iter().filter(|kind| *kind == "sla_breach").count(), 1, "ticket {id}");
            assert_eq!(all.iter().filter(|kind| *kind == "sla_warning").count(), 1, "ticket {id}");
        }
        second.relay_outbox().await.expect("relay the second worker's notices");
        app.stop().await;
    }
}

api_test!(inbound_mail_is_routed_and_its_sla_clocks_start, Options::manual_clock(), |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let finance = group(&admin, "Finance").await;
    trigger(&admin, "Refunds to finance", &["ticket_created"],
        json!({ "all": [{ "field": "subject", "operator": "contains", "value": "退款" }, { "field": "channel", "operator": "is", "value": "email" }] }),
        json!([{ "type": "set_group", "value": finance }])).await;
    trigger(
        &admin,
        "Customer wrote back",
        &["customer_replied"],
        json!({}),
        json!([{ "type": "add_tags", "value": ["customer_replied"] }]),
    )
    .await;
    admin
        .post("/api/v1/sla-policies", json!({ "name": "Email", "conditions": { "all": [{ "field": "channel", "operator": "is", "value": "email" }] },
            "targets": { "first_response_minutes": 120, "next_response_minutes": 60 } }))
        .await
        .assert_status(201);
    let mailbox = admin
        .post("/api/v1/mailboxes", json!({ "address": "help@kefu.example", "name": "Help" }))
        .await
        .assert_status(201)
        .clone();
    let raw_path = format!("/api/v1/mailboxes/{}/raw", mailbox["id"]);
    let post_raw = |raw: &'static str| {
        let admin = admin.clone();
        let raw_path = raw_path.clone();
        async move {
            admin
                .send(
                    admin
                        .request(reqwest::Method::POST, &raw_path)
                        .header("content-type", "message/rfc822")
                        .body(raw.as_bytes().to_vec()),
                )
                .await
        }
    };
    let first = post_raw("From: buyer@example.cn\r\nTo: help@kefu.example\r\nMessage-ID: <r1@example.cn>\r\nSubject: =?utf-8?B?6YCA5qy+55Sz6K+3?=\r\n\r\n请退款\r\n").await;
    let ticket_id = first.assert_status(201)["inbound"]["ticket_id"].clone();
    let ticket = admin.get(&format!("/api/v1/tickets/{ticket_id}")).await;
    assert_eq!((ticket.json["subject"].clone(), ticket.json["group_id"].clone()), (json!("退款申请"), json!(finance)));
    let sla = admin.get(&format!("/api/v1/tickets/{ticket_id}/sla")).await;
    assert_eq!(sla.json["metrics"][0]["metric"], "first_response");
    admin
        .post(
            &format!("/api/v1/tickets/{ticket_id}/messages"),
            json!({ "body": "We are checking", "status": "pending" }),
        )
        .await
        .assert_status(201);
    app.advance(Duration::minutes(5));
    post_raw("From: buyer@example.cn\r\nTo: help@kefu.example\r\nMessage-ID: <r2@example.cn>\r\nIn-Reply-To: <r1@example.cn>\r\nSubject: Re: x\r\n\r\n还没到账\r\n")
        .await
        .assert_status(201);
    let after = admin.get(&format!("/api/v1/tickets/{ticket_id}")).await;
    assert_eq!(
        (after.json["status"].clone(), after.json["tags"].clone()),
        (json!("open"), json!(["customer_replied"]))
    );
    let sla = admin.get(&format!("/api/v1/tickets/{ticket_id}/sla")).await;
    let next = sla.json["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["metric"] == "next_response")
        .cloned()
        .expect("next response clock");
    assert_eq!(next["breached"], false);
    assert!(next["due_at"].is_string());
});
