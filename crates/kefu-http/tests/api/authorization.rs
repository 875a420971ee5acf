//! Authorization: every endpoint in the OpenAPI document refuses anonymous callers; each role can do what
//! it should and nothing more; group-restricted agents see only their groups' tickets.

use kefu_domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Client, TestApp, api_test};

api_test!(every_documented_endpoint_refuses_anonymous_callers, |app: &TestApp| async move {
    let anonymous = app.anonymous();
    let spec = anonymous.get("/api/v1/openapi.json").await;
    let paths = spec.assert_status(200)["paths"].as_object().expect("paths").clone();
    let mut checked = 0;
    for (path, item) in &paths {
        let concrete =
            path.split('/').map(|part| if part.starts_with('{') { "1" } else { part }).collect::<Vec<_>>().join("/");
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let response = anonymous.send(anonymous.request(method.clone(), &concrete).json(&json!({}))).await;
            if path == "/api/v1/auth/login" {
                response.assert_problem(422, "request.invalid_body");
            } else {
                assert_eq!(
                    response.status.as_u16(),
                    401,
                    "{method} {path} answered {} {}",
                    response.status,
                    response.json
                );
                assert!(
                    response.json["code"].as_str().is_some_and(|code| code.starts_with("auth.")),
                    "{method} {path}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} operations documented");
});

struct Team {
    admin: Client,
    supervisor: Client,
    agent: Client,
    collaborator: Client,
}

async fn team(app: &TestApp) -> Team {
    Team {
        admin: app.agent("admin@example.com", Role::Admin).await,
        supervisor: app.agent("sup@example.com", Role::Supervisor).await,
        agent: app.agent("agent@example.com", Role::Agent).await,
        collaborator: app.agent("co@example.com", Role::Collaborator).await,
    }
}

/// Sends the same request as each role and checks who is refused with `forbidden_code`.
async fn check_roles(
    team: &Team,
    method: Method,
    path: &str,
    body: impl Fn(usize) -> Value,
    allowed: [bool; 4],
    forbidden_code: &str,
) {
    let clients = [&team.admin, &team.supervisor, &team.agent, &team.collaborator];
    for (index, (client, allowed)) in clients.into_iter().zip(allowed).enumerate() {
        let response = client.send(client.request(method.clone(), path).json(&body(index))).await;
        if allowed {
            assert!(
                response.status.is_success(),
                "role #{index} refused {method} {path}: {} {}",
                response.status,
                response.json
            );
        } else {
            response.assert_problem(403, forbidden_code);
        }
    }
}

api_test!(each_role_does_what_it_should_and_nothing_more, |app: &TestApp| async move {
    let team = team(app).await;
    let all = [true, true, true, true];
    let managers = [true, true, false, false];
    let admins = [true, false, false, false];
    let workers = [true, true, true, false];

    check_roles(
        &team,
        Method::POST,
        "/api/v1/agents",
        |n| json!({ "email": format!("new{n}@example.com"), "name": "New", "role": "agent" }),
        admins,
        "agent.manage_forbidden",
    )
    .await;
    let target = team.agent.agent_id;
    check_roles(
        &team,
        Method::PATCH,
        &format!("/api/v1/agents/{target}"),
        |_| json!({ "name": "Renamed" }),
        admins,
        "agent.manage_forbidden",
    )
    .await;
    check_roles(
        &team,
        Method::POST,
        "/api/v1/groups",
        |n| json!({ "name": format!("Group {n}") }),
        managers,
        "group.manage_forbidden",
    )
    .await;
    let group = team.admin.get("/api/v1/groups").await.json[0]["id"].as_i64().expect("group");
    check_roles(
        &team,
        Method::PATCH,
        &format!("/api/v1/groups/{group}"),
        |_| json!({ "description": "d" }),
        managers,
        "group.manage_forbidden",
    )
    .await;
    check_roles(
        &team,
        Method::PUT,
        &format!("/api/v1/groups/{group}/members/{target}"),
        |_| json!({}),
        managers,
        "group.manage_forbidden",
    )
    .await;
    check_roles(
        &team,
        Method::DELETE,
        &format!("/api/v1/groups/{group}/members/{target}"),
        |_| json!({}),
        managers,
        "group.manage_forbidden",
    )
    .await;
    check_roles(
        &team,
        Method::POST,
        "/api/v1/custom-fields",
        |n| json!({ "key": format!("f{n}"), "label": "F", "field_type": "text" }),
        admins,
        "settings.forbidden",
    )
    .await;
    let field = team.admin.get("/api/v1/custom-fields").await.json[0]["id"].as_i64().expect("field");
    check_roles(
        &team,
        Method::PATCH,
        &format!("/api/v1/custom-fields/{field}"),
        |_| json!({ "label": "G" }),
        admins,
        "settings.forbidden",
    )
    .await;
    check_roles(
        &team,
        Method::POST,
        "/api/v1/categories",
        |n| json!({ "name": format!("C{n}") }),
        admins,
        "settings.forbidden",
    )
    .await;
    let category = team.admin.get("/api/v1/categories").await.json[0]["id"].as_i64().expect("category");
    check_roles(
        &team,
        Method::PATCH,
        &format!("/api/v1/categories/{category}"),
        |_| json!({ "name": "C" }),
        admins,
        "settings.forbidden",
    )
    .await;

    check_roles(
        &team,
        Method::POST,
        "/api/v1/tickets",
        |_| json!({ "subject": "s", "requester": { "email": "c@example.com" } }),
        workers,
        "ticket.create_forbidden",
    )
    .await;
    let ticket = team.agent.create_ticket("t", "c@example.com", json!({})).await;
    let other = team.agent.create_ticket("u", "c@example.com", json!({})).await;
    let id = ticket["id"].clone();
    check_roles(
        &team,
        Method::PATCH,
        &format!("/api/v1/tickets/{id}"),
        |n| json!({ "subject": format!("s{n}") }),
        workers,
        "ticket.edit_forbidden",
    )
    .await;
    check_roles(
        &team,
        Method::POST,
        &format!("/api/v1/tickets/{id}/messages"),
        |_| json!({ "body": "note", "internal": true }),
        all,
        "",
    )
    .await;
    check_roles(
        &team,
        Method::POST,
        &format!("/api/v1/tickets/{id}/links"),
        |_| json!({ "ticket_id": other["id"], "relation": "related" }),
        workers,
        "ticket.edit_forbidden",
    )
    .await;
    check_roles(
        &team,
        Method::POST,
        "/api/v1/customers",
        |n| json!({ "name": format!("C{n}") }),
        workers,
        "customer.edit_forbidden",
    )
    .await;
    let customer = ticket["requester_id"].clone();
    check_roles(
        &team,
        Method::PATCH,
        &format!("/api/v1/customers/{customer}"),
        |_| json!({ "name": "N" }),
        workers,
        "customer.edit_forbidden",
    )
    .await;
    check_roles(
        &team,
        Method::POST,
        "/api/v1/organizations",
        |n| json!({ "name": format!("O{n}") }),
        workers,
        "organization.edit_forbidden",
    )
    .await;
    for read in [
        "/api/v1/tickets",
        "/api/v1/customers",
        "/api/v1/organizations",
        "/api/v1/agents",
        "/api/v1/groups",
        "/api/v1/custom-fields",
        "/api/v1/categories",
    ] {
        check_roles(&team, Method::GET, read, |_| Value::Null, all, "").await;
    }
    check_roles(&team, Method::GET, &format!("/api/v1/tickets/{id}/events"), |_| Value::Null, all, "").await;

    // Merges last: they close tickets and fold customers.
    let merge_sources: Vec<Value> = {
        let mut sources = Vec::new();
        for n in 0..4 {
            sources.push(team.agent.create_ticket(&format!("dup {n}"), "c@example.com", json!({})).await["id"].clone());
        }
        sources
    };
    for (index, (client, allowed)) in
        [&team.admin, &team.supervisor, &team.agent, &team.collaborator].into_iter().zip(workers).enumerate()
    {
        let response =
            client.post(&format!("/api/v1/tickets/{}/merge", merge_sources[index]), json!({ "target_id": id })).await;
        if allowed {
            response.assert_status(200);
        } else {
            response.assert_problem(403, "ticket.edit_forbidden");
        }
    }
    for (client, allowed) in [(&team.agent, false), (&team.collaborator, false), (&team.supervisor, true)] {
        let source = team.admin.post("/api/v1/customers", json!({ "name": "Spare" })).await.json["id"].clone();
        let response =
            client.post(&format!("/api/v1/customers/{customer}/merge"), json!({ "source_id": source })).await;
        if allowed {
            response.assert_status(200);
        } else {
            response.assert_problem(403, "customer.merge_forbidden");
        }
    }
});

api_test!(restricted_agents_see_only_their_groups_and_assignments, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let finance = admin.post("/api/v1/groups", json!({ "name": "Finance" })).await.json["id"].as_i64().expect("id");
    let support = admin.post("/api/v1/groups", json!({ "name": "Support" })).await.json["id"].as_i64().expect("id");
    let restricted = app.agent_in("fin@example.com", Role::Agent, &[finance], true).await;
    let unrestricted = app.agent_in("any@example.com", Role::Agent, &[finance], false).await;
    let mine = admin.create_ticket("refund", "c@example.com", json!({ "group_id": finance })).await;
    let theirs = admin
        .create_ticket(
            "password reset",
            "c@example.com",
            json!({ "group_id": support, "message": { "body": "secret" } }),
        )
        .await;
    let orphan = admin.create_ticket("no group", "c@example.com", json!({})).await;
    let assigned =
        admin.create_ticket("assigned", "c@example.com", json!({ "assignee_id": restricted.agent_id })).await;

    let listed: Vec<Value> = restricted.get("/api/v1/tickets").await.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(listed, [assigned["id"].clone(), mine["id"].clone()]);
    assert_eq!(unrestricted.get("/api/v1/tickets").await.json["items"].as_array().map(Vec::len), Some(4));
    for hidden in [&theirs, &orphan] {
        let id = &hidden["id"];
        restricted.get(&format!("/api/v1/tickets/{id}")).await.assert_problem(404, "ticket.not_found");
        restricted.get(&format!("/api/v1/tickets/{id}/messages")).await.assert_problem(404, "ticket.not_found");
        restricted.get(&format!("/api/v1/tickets/{id}/events")).await.assert_problem(404, "ticket.not_found");
        restricted
            .patch(&format!("/api/v1/tickets/{id}"), json!({ "subject": "x" }))
            .await
            .assert_problem(404, "ticket.not_found");
        restricted
            .post(&format!("/api/v1/tickets/{id}/messages"), json!({ "body": "x" }))
            .await
            .assert_problem(404, "ticket.not_found");
        restricted
            .get(&format!("/api/v1/tickets/by-number/{}", hidden["number"]))
            .await
            .assert_problem(404, "ticket.not_found");
    }
    restricted
        .post(&format!("/api/v1/tickets/{}/merge", mine["id"]), json!({ "target_id": theirs["id"] }))
        .await
        .assert_problem(404, "ticket.not_found");
    restricted
        .post(
            &format!("/api/v1/tickets/{}/links", mine["id"]),
            json!({ "ticket_id": theirs["id"], "relation": "related" }),
        )
        .await
        .assert_problem(404, "ticket.not_found");
    admin
        .post(
            &format!("/api/v1/tickets/{}/links", mine["id"]),
            json!({ "ticket_id": theirs["id"], "relation": "related" }),
        )
        .await
        .assert_status(204);
    assert_eq!(
        restricted.get(&format!("/api/v1/tickets/{}/links", mine["id"])).await.json,
        json!([]),
        "links to hidden tickets are left out"
    );
    restricted.get(&format!("/api/v1/tickets/{}", mine["id"])).await.assert_status(200);
    restricted.get(&format!("/api/v1/tickets/{}", assigned["id"])).await.assert_status(200);
});
