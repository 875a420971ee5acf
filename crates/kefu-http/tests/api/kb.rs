//! Search and the knowledge base through the agents' API: one search over tickets, customers and articles
//! (Chinese and English, filters, snippets, ticket numbers and emails), permissions checked in the index and
//! against the database, articles with translations, revisions, diff and restore, suggestions, drafts from
//! solved tickets, search analytics and the index rebuild.

use kefu_domain::Role;
use serde_json::{Value, json};

use crate::harness::{TestApp, api_test};

/// Brings the index up to date with every change committed so far (the server's indexer does this within
/// a second; tests do it explicitly to be deterministic).
async fn index(app: &TestApp) {
    app.app.index_changes().await.expect("index changes");
}

fn hit_ids(response: &Value, kind: &str) -> Vec<i64> {
    response["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .filter(|hit| hit["kind"] == kind)
        .map(|hit| hit["id"].as_i64().expect("id"))
        .collect()
}

async fn article(client: &crate::harness::Client, body: Value) -> Value {
    client.post("/api/v1/kb/articles", body).await.assert_status(201).clone()
}

api_test!(search_finds_tickets_customers_and_articles, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let refund = admin
        .create_ticket(
            "申请退款",
            "wang.fang@example.cn",
            json!({ "requester": { "email": "wang.fang@example.cn", "name": "王芳" },
                    "message": { "body": "我上周买的耳机坏了，想要退款，订单号 88231。" }, "tags": ["vip"] }),
        )
        .await;
    let invoice = admin
        .create_ticket(
            "Invoice missing",
            "li@example.com",
            json!({ "message": { "body": "We were charged twice and need a 发票 for the refunds." } }),
        )
        .await;
    admin
        .post(&format!("/api/v1/tickets/{}/messages", invoice["id"]), json!({ "body": "Refunding both charges now." }))
        .await
        .assert_status(201);
    let published = article(
        &admin,
        json!({ "status": "published", "tags": ["billing"], "translations": [
            { "locale": "zh-CN", "title": "如何申请退款", "body_markdown": "在订单页面点击**申请退款**，三个工作日内到账。" },
            { "locale": "en", "title": "How to get a refund", "body_markdown": "Open the order and choose *Request a refund*." }
        ]}),
    )
    .await;
    index(app).await;

    // Chinese words, in Simplified and Traditional, in subjects and in messages.
    let found = admin.get("/api/v1/search?q=退款").await;
    let found = found.assert_status(200);
    assert!(hit_ids(found, "ticket").contains(&refund["id"].as_i64().unwrap()), "{found}");
    assert!(!hit_ids(found, "article").is_empty(), "{found}");
    let tickets_only = admin.get(&format!("/api/v1/search?q={}&type=ticket", urlencode("退款"))).await;
    assert_eq!(hit_ids(&tickets_only.json, "ticket"), vec![refund["id"].as_i64().unwrap()], "{}", tickets_only.json);
    assert!(hit_ids(&tickets_only.json, "article").is_empty());
    let invoices = admin.get(&format!("/api/v1/search?q={}", urlencode("發票"))).await;
    assert_eq!(hit_ids(&invoices.json, "ticket"), vec![invoice["id"].as_i64().unwrap()], "{}", invoices.json);

    // English stemming: "refunding" in a reply matches "refunds".
    let stems = admin.get("/api/v1/search?q=refund&type=ticket").await;
    assert!(hit_ids(&stems.json, "ticket").contains(&invoice["id"].as_i64().unwrap()), "{}", stems.json);

    // Highlighted snippets, escaped, with the ticket's current state.
    let hit = &found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|hit| hit["kind"] == "ticket" && hit["id"] == refund["id"])
        .unwrap()
        .clone();
    assert!(hit["title_html"].as_str().unwrap().contains("<b>退款</b>"), "{hit}");
    assert_eq!(hit["ticket"]["number"], refund["number"]);
    assert_eq!(hit["ticket"]["status"], "new");

    // A ticket number, an email, a name, a one-character query.
    let number = admin.get(&format!("/api/v1/search?q=%23{}", refund["number"])).await;
    assert_eq!(hit_ids(&number.json, "ticket").first(), refund["id"].as_i64().as_ref(), "{}", number.json);
    let email = admin.get("/api/v1/search?q=wang.fang@example.cn&type=customer").await;
    assert_eq!(hit_ids(&email.json, "customer"), vec![refund["requester_id"].as_i64().unwrap()], "{}", email.json);
    let name = admin.get(&format!("/api/v1/search?q={}&type=customer", urlencode("王"))).await;
    assert_eq!(hit_ids(&name.json, "customer"), vec![refund["requester_id"].as_i64().unwrap()], "{}", name.json);

    // Filters: status, tag, type; articles carry their article id and help-center address.
    let tagged = admin.get(&format!("/api/v1/search?q={}&tag=vip", urlencode("退款"))).await;
    assert_eq!(hit_ids(&tagged.json, "ticket"), vec![refund["id"].as_i64().unwrap()]);
    assert!(hit_ids(&tagged.json, "article").is_empty(), "no article is tagged vip");
    let solved = admin.get(&format!("/api/v1/search?q={}&status=solved", urlencode("退款"))).await;
    assert!(hit_ids(&solved.json, "ticket").is_empty(), "{}", solved.json);
    let articles = admin.get("/api/v1/search?q=refund&type=article&locale=en").await;
    let articles = articles.assert_status(200);
    assert_eq!(articles["total"], 1, "{articles}");
    assert_eq!(articles["hits"][0]["article"]["article_id"], published["id"]);
    assert_eq!(
        articles["hits"][0]["article"]["url"],
        format!("/help/en/articles/{}-how-to-get-a-refund", published["id"])
    );

    // Bad input: a clear 4xx with a stable code.
    admin.get("/api/v1/search?q=%20").await.assert_problem(422, "validation.invalid");
    admin.get("/api/v1/search?q=x&type=order").await.assert_problem(400, "request.invalid_query");
    admin.get("/api/v1/search?q=x&limit=0").await.assert_problem(400, "request.invalid_query");
    admin.get("/api/v1/search?q=x&status=lost").await.assert_problem(422, "validation.invalid");
    app.anonymous().get("/api/v1/search?q=x").await.assert_problem(401, "auth.unauthenticated");
});

fn urlencode(text: &str) -> String {
    text.bytes().map(|byte| format!("%{byte:02X}")).collect()
}

api_test!(restricted_agents_find_only_tickets_they_may_open, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let finance = admin.post("/api/v1/groups", json!({ "name": "Finance" })).await.json["id"].as_i64().unwrap();
    let support = admin.post("/api/v1/groups", json!({ "name": "Support" })).await.json["id"].as_i64().unwrap();
    let restricted = app.agent_in("fin@example.com", Role::Agent, &[finance], true).await;
    let theirs = admin.create_ticket("refund for order 1", "a@example.com", json!({ "group_id": finance })).await;
    let other = admin.create_ticket("refund for order 2", "b@example.com", json!({ "group_id": support })).await;
    let assigned =
        admin.create_ticket("refund for order 3", "c@example.com", json!({ "assignee_id": restricted.agent_id })).await;
    index(app).await;
    let found = restricted.get("/api/v1/search?q=refund&type=ticket").await;
    let mut ids = hit_ids(&found.json, "ticket");
    ids.sort();
    assert_eq!(ids, vec![theirs["id"].as_i64().unwrap(), assigned["id"].as_i64().unwrap()]);
    assert_eq!(found.json["total"], 2);

    // Moved out of their group: gone at once, even before the index catches up (the database decides).
    let moved = admin.patch(&format!("/api/v1/tickets/{}", theirs["id"]), json!({ "group_id": support })).await;
    moved.assert_status(200);
    let found = restricted.get("/api/v1/search?q=refund&type=ticket").await;
    assert_eq!(hit_ids(&found.json, "ticket"), vec![assigned["id"].as_i64().unwrap()], "{}", found.json);
    // Moved into it: found once indexed.
    admin.patch(&format!("/api/v1/tickets/{}", other["id"]), json!({ "group_id": finance })).await.assert_status(200);
    index(app).await;
    let found = restricted.get("/api/v1/search?q=refund&type=ticket").await;
    let mut ids = hit_ids(&found.json, "ticket");
    ids.sort();
    assert_eq!(ids, vec![other["id"].as_i64().unwrap(), assigned["id"].as_i64().unwrap()]);
});

api_test!(articles_have_translations_revisions_and_a_life_cycle, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let agent = app.agent("agent@example.com", Role::Agent).await;
    let collaborator = app.agent("collab@example.com", Role::Collaborator).await;
    let billing = admin
        .post("/api/v1/kb/categories", json!({ "names": { "zh-CN": "账单", "en": "Billing" } }))
        .await
        .assert_status(201)
        .clone();
    let refunds = admin
        .post(
            "/api/v1/kb/categories",
            json!({ "parent_id": billing["id"], "names": { "en": "Refunds" }, "position": 1 }),
        )
        .await
        .assert_status(201)
        .clone();
    // Two levels at most; names per known locale; agents may not manage categories.
    admin
        .post("/api/v1/kb/categories", json!({ "parent_id": refunds["id"], "names": { "en": "Deeper" } }))
        .await
        .assert_problem(422, "validation.invalid_reference");
    admin
        .post("/api/v1/kb/categories", json!({ "names": { "fr": "Facturation" } }))
        .await
        .assert_problem(422, "validation.invalid");
    agent
        .post("/api/v1/kb/categories", json!({ "names": { "en": "Mine" } }))
        .await
        .assert_problem(403, "kb.manage_forbidden");
    assert_eq!(agent.get("/api/v1/kb/categories").await.json.as_array().map(Vec::len), Some(2));

    let created = article(
        &agent,
        json!({ "category_id": refunds["id"], "tags": ["refund"], "review_by": "2020-01-01", "translations": [
            { "locale": "en", "title": "Refund times", "body_markdown": "Refunds take **3 days**.\n\n<script>alert(1)</script>" }
        ]}),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["status"], "draft");
    assert_eq!(created["visibility"], "public");
    assert_eq!(created["needs_review"], true);
    let html = created["translations"][0]["body_html"].as_str().unwrap();
    assert!(html.contains("<strong>3 days</strong>") && !html.contains("<script"), "{html}");
    collaborator
        .post(
            "/api/v1/kb/articles",
            json!({ "translations": [{ "locale": "en", "title": "x", "body_markdown": "y" }] }),
        )
        .await
        .assert_problem(403, "kb.edit_forbidden");
    agent.post("/api/v1/kb/articles", json!({ "translations": [] })).await.assert_problem(422, "validation.invalid");
    agent
        .post(
            "/api/v1/kb/articles",
            json!({ "translations": [{ "locale": "en", "title": "x", "body_markdown": "y" }], "status": "live" }),
        )
        .await
        .assert_problem(422, "validation.invalid");
    agent
        .post(
            "/api/v1/kb/articles",
            json!({ "category_id": 999, "translations": [{ "locale": "en", "title": "x", "body_markdown": "y" }] }),
        )
        .await
        .assert_problem(422, "validation.invalid_reference");

    // A second locale, a new revision of the first, then publish.
    let updated = agent
        .put(
            &format!("/api/v1/kb/articles/{id}"),
            json!({ "category_id": refunds["id"], "status": "published", "review_by": "2020-01-01", "translations": [
                { "locale": "en", "title": "Refund times", "body_markdown": "Refunds take **5 days**." },
                { "locale": "zh-TW", "title": "退款時間", "body_markdown": "退款需要五天。" }
            ]}),
        )
        .await
        .assert_status(200)
        .clone();
    assert_eq!(updated["translations"].as_array().map(Vec::len), Some(2));
    assert_eq!(updated["status"], "published");
    let english = updated["translations"].as_array().unwrap().iter().find(|t| t["locale"] == "en").unwrap().clone();
    let translation = english["id"].as_i64().unwrap();
    let revisions = agent.get(&format!("/api/v1/kb/translations/{translation}/revisions")).await;
    let revisions = revisions.assert_status(200).as_array().unwrap().clone();
    assert_eq!(revisions.len(), 2);
    let first = revisions[1]["id"].as_i64().unwrap();
    let diff = agent.get(&format!("/api/v1/kb/translations/{translation}/revisions/{first}/diff")).await;
    let lines = diff.assert_status(200).as_array().unwrap().clone();
    assert!(lines.contains(&json!({ "change": "removed", "text": "Refunds take **3 days**." })), "{lines:?}");
    assert!(lines.contains(&json!({ "change": "added", "text": "Refunds take **5 days**." })), "{lines:?}");
    let restored =
        agent.post(&format!("/api/v1/kb/translations/{translation}/revisions/{first}/restore"), json!({})).await;
    let restored = restored.assert_status(200);
    let english = restored["translations"].as_array().unwrap().iter().find(|t| t["locale"] == "en").unwrap();
    assert!(english["body_markdown"].as_str().unwrap().contains("3 days"));
    assert_eq!(
        agent.get(&format!("/api/v1/kb/translations/{translation}/revisions")).await.json.as_array().map(Vec::len),
        Some(3)
    );
    agent.get("/api/v1/kb/translations/999999/revisions").await.assert_problem(404, "article.not_found");

    // Listing: by category (sections included), by state, stale ones.
    let listed = agent.get(&format!("/api/v1/kb/articles?category_id={}", billing["id"])).await;
    assert_eq!(listed.json.as_array().map(Vec::len), Some(1), "{}", listed.json);
    assert_eq!(agent.get("/api/v1/kb/articles?status=draft").await.json.as_array().map(Vec::len), Some(0));
    assert_eq!(agent.get("/api/v1/kb/articles?needs_review=true").await.json.as_array().map(Vec::len), Some(1));
    agent.get("/api/v1/kb/articles?limit=500").await.assert_problem(400, "request.invalid_query");

    // Public search finds the published public translations; archiving or making it internal hides them.
    index(app).await;
    let (results, _) = app.app.public_search("退款", None, 10).await.expect("public search");
    assert_eq!(results.total, 1, "the zh-TW translation: {results:?}");
    agent
        .put(
            &format!("/api/v1/kb/articles/{id}"),
            json!({ "category_id": refunds["id"], "status": "published", "visibility": "internal" }),
        )
        .await
        .assert_status(200);
    index(app).await;
    assert_eq!(app.app.public_search("退款", None, 10).await.expect("search").0.total, 0);
    let internal = agent.get(&format!("/api/v1/search?q={}&type=article", urlencode("退款"))).await;
    assert_eq!(internal.json["total"], 1, "agents still find internal articles: {}", internal.json);

    // Deleting a category keeps its articles.
    admin.delete(&format!("/api/v1/kb/categories/{}", refunds["id"])).await.assert_status(204);
    let kept = agent.get(&format!("/api/v1/kb/articles/{id}")).await;
    assert_eq!(kept.assert_status(200)["category_id"], Value::Null);
    agent.get("/api/v1/kb/articles/424242").await.assert_problem(404, "article.not_found");
});

api_test!(tickets_suggest_articles_and_become_drafts, |app: &TestApp| async move {
    let agent = app.agent("agent@example.com", Role::Agent).await;
    let published = article(
        &agent,
        json!({ "status": "published", "translations": [
            { "locale": "zh-CN", "title": "发票怎么开", "body_markdown": "在订单详情页申请电子发票。" }
        ]}),
    )
    .await;
    article(
        &agent,
        json!({ "translations": [{ "locale": "zh-CN", "title": "发票草稿", "body_markdown": "还没写完的发票说明" }] }),
    )
    .await;
    let ticket = agent
        .create_ticket("我要开发票", "c@example.com", json!({ "message": { "body": "请问发票在哪里申请？" } }))
        .await;
    index(app).await;
    let suggested = agent.get(&format!("/api/v1/tickets/{}/suggested-articles", ticket["id"])).await;
    let suggested = suggested.assert_status(200).as_array().unwrap().clone();
    assert_eq!(suggested.len(), 1, "drafts are not suggested: {suggested:?}");
    assert_eq!(suggested[0]["article"]["article_id"], published["id"]);
    assert!(suggested[0]["article"]["url"].as_str().unwrap().starts_with("/help/zh-CN/articles/"));

    // Only a solved ticket with a public answer becomes a draft.
    let path = format!("/api/v1/tickets/{}/article-draft", ticket["id"]);
    agent.post(&path, json!({ "locale": "zh-CN" })).await.assert_problem(422, "validation.invalid");
    agent
        .post(
            &format!("/api/v1/tickets/{}/messages", ticket["id"]),
            json!({ "body": "在订单详情页点击“申请发票”即可。", "status": "solved" }),
        )
        .await
        .assert_status(201);
    let draft = agent.post(&path, json!({ "locale": "zh-CN" })).await;
    let draft = draft.assert_status(201);
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["visibility"], "internal");
    assert_eq!(draft["source_ticket_id"], ticket["id"]);
    assert_eq!(draft["translations"][0]["title"], "我要开发票");
    assert!(draft["translations"][0]["body_markdown"].as_str().unwrap().contains("申请发票"));
    agent.post(&path, json!({ "locale": "fr" })).await.assert_problem(422, "validation.invalid");
});

api_test!(article_hits_say_whether_they_can_be_linked_in_a_reply, |app: &TestApp| async move {
    let agent = app.agent("agent@example.com", Role::Agent).await;
    let published = article(
        &agent,
        json!({ "status": "published", "translations": [
            { "locale": "zh-CN", "title": "发票怎么开", "body_markdown": "在订单详情页申请电子发票。" }
        ]}),
    )
    .await;
    let draft = article(
        &agent,
        json!({ "visibility": "internal", "translations": [
            { "locale": "zh-CN", "title": "发票草稿", "body_markdown": "还没写完的发票说明" }
        ]}),
    )
    .await;
    let ticket = agent
        .create_ticket("我要开发票", "c@example.com", json!({ "message": { "body": "请问发票在哪里申请？" } }))
        .await;
    index(app).await;
    // Search hits name their article's state and visibility, and the plain title for a link's text.
    let found = agent.get(&format!("/api/v1/search?q={}&type=article", urlencode("发票"))).await;
    let hits = found.assert_status(200)["hits"].as_array().unwrap().clone();
    let brief = |article_id: &Value| {
        hits.iter().find(|hit| &hit["article"]["article_id"] == article_id).map(|hit| hit["article"].clone())
    };
    let live = brief(&published["id"]).expect("the published article is found");
    assert_eq!((live["status"].as_str(), live["visibility"].as_str()), (Some("published"), Some("public")));
    assert_eq!(live["title"], "发票怎么开");
    let unfinished = brief(&draft["id"]).expect("agents find drafts too");
    assert_eq!((unfinished["status"].as_str(), unfinished["visibility"].as_str()), (Some("draft"), Some("internal")));
    assert_eq!(unfinished["title"], "发票草稿");
    // So do suggestions.
    let suggested = agent.get(&format!("/api/v1/tickets/{}/suggested-articles", ticket["id"])).await;
    let suggested = suggested.assert_status(200);
    assert_eq!(suggested[0]["article"]["status"], "published", "{suggested}");
    assert_eq!(suggested[0]["article"]["title"], "发票怎么开");
});

api_test!(search_analytics_count_queries_clicks_and_deflections, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let agent = app.agent("agent@example.com", Role::Agent).await;
    let created = article(
        &admin,
        json!({ "status": "published", "translations": [
            { "locale": "en", "title": "Reset your password", "body_markdown": "Use the reset link on the sign-in page." }
        ]}),
    )
    .await;
    let translation = created["translations"][0]["id"].as_i64().unwrap();
    index(app).await;
    let (results, clicked) = app.app.public_search("password reset", Some("en"), 5).await.expect("search");
    assert_eq!(results.hits[0].id, translation);
    app.app.record_search_outcome(clicked, Some(translation), true).await.expect("click");
    app.app.public_search("password reset", Some("en"), 5).await.expect("search");
    app.app.public_search("cancel subscription", Some("en"), 5).await.expect("search");
    app.app.article_feedback(translation, true, None).await.expect("vote");
    app.app.article_feedback(translation, false, Some("too short")).await.expect("vote");
    assert!(app.app.record_search_outcome(999_999, None, true).await.is_err());

    let stats = admin.get("/api/v1/kb/analytics?days=7").await;
    let stats = stats.assert_status(200);
    assert_eq!(stats["searches"], 3);
    assert_eq!(stats["clicks"], 1);
    assert_eq!(stats["deflections"], 1);
    assert_eq!(stats["top_queries"][0], json!({ "query": "password reset", "count": 2 }));
    assert_eq!(stats["zero_result_queries"], json!([{ "query": "cancel subscription", "count": 1 }]));
    assert_eq!((stats["helpful"].clone(), stats["not_helpful"].clone()), (json!(1), json!(1)));
    agent.get("/api/v1/kb/analytics").await.assert_problem(403, "kb.analytics_forbidden");
    let listed = admin.get(&format!("/api/v1/kb/articles/{}", created["id"])).await;
    assert_eq!(listed.json["translations"][0]["helpful"], 1);
});

api_test!(help_center_branding_is_checked, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let agent = app.agent("agent@example.com", Role::Agent).await;
    let settings = json!({ "name": "Acme 帮助中心", "primary_color": "#0a7d5a", "logo_url": "/logo.png", "custom_css": "h1 { color: red }" });
    admin.put("/api/v1/kb/help-settings", settings.clone()).await.assert_status(200);
    assert_eq!(agent.get("/api/v1/kb/help-settings").await.json, settings);
    agent.put("/api/v1/kb/help-settings", settings).await.assert_problem(403, "settings.forbidden");
    for bad in [
        json!({ "primary_color": "red" }),
        json!({ "logo_url": "javascript:alert(1)" }),
        json!({ "custom_css": "</style><script>alert(1)</script>" }),
        json!({ "favicon": "x" }),
        json!({ "name": 7 }),
    ] {
        admin.put("/api/v1/kb/help-settings", bad).await.assert_problem(422, "validation.invalid");
    }
});

api_test!(only_admins_rebuild_the_index, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let agent = app.agent("agent@example.com", Role::Agent).await;
    admin.create_ticket("printer on fire", "c@example.com", json!({})).await;
    agent.post("/api/v1/search/reindex", json!({})).await.assert_problem(403, "search.reindex_forbidden");
    admin.post("/api/v1/search/reindex", json!({})).await.assert_status(202);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found = admin.get("/api/v1/search?q=printer").await;
        if found.json["total"] == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the rebuild never finished: {}", found.json);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
});

// The rebuild writes each customer once, in its pass over every customer, not also with their tickets.
api_test!(a_rebuild_finds_every_ticket_and_requester_once, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let first = admin.create_ticket("printer on fire", "tanaka@example.jp", json!({})).await;
    admin.create_ticket("printer out of toner", "tanaka@example.jp", json!({})).await;
    let (tickets, customers) = app.app.reindex_all().await.expect("rebuild");
    assert_eq!((tickets, customers), (2, 1));
    let found = admin.get("/api/v1/search?q=printer").await;
    assert_eq!(found.json["total"], 2, "{}", found.json);
    let requester = admin.get("/api/v1/search?q=tanaka@example.jp&type=customer").await;
    assert_eq!(hit_ids(&requester.json, "customer"), vec![first["requester_id"].as_i64().expect("id")]);
});

// The web app's category tree needs each category's id, and an input that echoes one back is accepted
// (the id in the body is ignored).
api_test!(kb_categories_are_listed_with_their_ids, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let created = admin
        .post("/api/v1/kb/categories", json!({ "id": 999, "names": { "zh-CN": "退款" } }))
        .await
        .assert_status(201)
        .clone();
    let id = created["id"].as_i64().expect("id");
    assert_ne!(id, 999);
    let listed = admin.get("/api/v1/kb/categories").await.json.clone();
    assert_eq!(listed[0]["id"], id);
    let renamed = admin
        .put(&format!("/api/v1/kb/categories/{id}"), json!({ "id": 0, "names": { "zh-CN": "退款与发票" } }))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(renamed["id"], id);
});
