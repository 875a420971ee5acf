//! Operations: health, readiness, metrics, the OpenAPI document and its docs page.

use kefu_domain::Role;

use crate::harness::api_test;

api_test!(health_readiness_and_metrics_answer, |app: &TestApp| async move {
    let anonymous = app.anonymous();
    assert_eq!(anonymous.get("/healthz").await.assert_status(200)["status"], "ok");
    assert_eq!(anonymous.get("/readyz").await.assert_status(200)["status"], "ready");
    let li = app.agent("li@example.com", Role::Agent).await;
    li.get("/api/v1/tickets").await.assert_status(200);
    let metrics = reqwest::get(app.url("/metrics")).await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/api/v1/tickets\""), "{metrics}");
    assert!(metrics.contains("http_request_duration_seconds_bucket"), "{metrics}");
    assert!(metrics.contains("db_pool_connections"), "{metrics}");
    // SQLite's one writer: how much of its time the writes took (creating the agent above was one).
    if app.database_url().starts_with("sqlite") {
        let transactions = metrics
            .lines()
            .find_map(|line| line.strip_prefix("db_write_slot_transactions_total "))
            .and_then(|value| value.trim().parse::<u64>().ok());
        assert!(transactions.is_some_and(|count| count > 0), "{metrics}");
        assert!(metrics.contains("db_write_slot_held_microseconds_total"), "{metrics}");
    }
    let response = reqwest::get(app.url("/api/v1/tickets")).await.expect("request");
    assert!(response.headers().get("x-request-id").is_some());
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
});

api_test!(openapi_document_is_3_1_and_matches_the_snapshot, |app: &TestApp| async move {
    let anonymous = app.anonymous();
    let spec = anonymous.get("/api/v1/openapi.json").await;
    let document = spec.assert_status(200).clone();
    assert!(document["openapi"].as_str().is_some_and(|version| version.starts_with("3.1")));
    for path in ["/api/v1/tickets", "/api/v1/tickets/{id}", "/api/v1/auth/login", "/api/v1/auth/tokens", "/api/v1/live"]
    {
        assert!(document["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(document["components"]["schemas"].get("Problem").is_some());
    // Generated clients key operations by id: two handlers with one id would shadow each other.
    let mut operation_ids = std::collections::BTreeMap::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if let Some(id) = operation["operationId"].as_str() {
                let previous = operation_ids.insert(id.to_owned(), format!("{method} {path}"));
                assert!(previous.is_none(), "operationId {id} used by {previous:?} and {method} {path}");
            }
        }
    }
    let snapshot_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    let rendered = serde_json::to_string_pretty(&document).expect("json") + "\n";
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::create_dir_all(snapshot_path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&snapshot_path, &rendered).expect("write snapshot");
    }
    let stored = std::fs::read_to_string(&snapshot_path).unwrap_or_default();
    assert!(stored == rendered, "the OpenAPI document changed; review it and run with UPDATE_SNAPSHOTS=1 to accept");
    let docs = reqwest::get(app.url("/api/v1/docs")).await.expect("docs").text().await.expect("html");
    assert!(docs.contains("Kefu API"));
});
