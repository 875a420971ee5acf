//! The OpenAPI 3.1 document (`/api/v1/openapi.json`) and its docs page (`/api/v1/docs`).
//!
//! The document is assembled from the `#[utoipa::path]` of every handler by the `routes!` registrations,
//! so a route cannot exist without its documentation. The docs page uses Scalar's standalone bundle, shipped
//! inside the binary (`web/dist/vendor/scalar.js`, copied from npm by the web build); when the web build has
//! not run, it falls back to a plain list of the operations.

use axum::Json;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::web::has_asset;

/// The document's fixed parts; paths come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kefu API",
        description = "Kefu's REST API. JSON in and out; errors are application/problem+json with a stable `code`. \
                       Lists use keyset pagination (`limit`, `cursor` -> `next_cursor`). Authenticate with \
                       `Authorization: Bearer <token>` (create one at POST /api/v1/auth/tokens) or with the session \
                       cookie from POST /api/v1/auth/login plus its CSRF token in `X-CSRF-Token`."
    ),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("session" = [])),
    components(schemas(crate::error::Problem)),
    tags(
        (name = "auth", description = "Sign-in, sessions, API tokens, two-factor"),
        (name = "tickets", description = "Tickets, messages, history, merge and split, followers and links"),
        (name = "customers", description = "Customers and their identities across channels"),
        (name = "organizations", description = "Organizations customers belong to"),
        (name = "agents", description = "Staff users and roles"),
        (name = "groups", description = "Teams of agents"),
        (name = "fields", description = "Custom fields and categories"),
        (name = "attachments", description = "Uploads and downloads"),
        (name = "automation", description = "Calendars, SLA policies, triggers, automations, macros, views, notifications"),
        (name = "search", description = "One search over tickets, customers and articles; rebuilding the index"),
        (name = "kb", description = "Knowledge base: categories, articles, revisions, analytics, help-center branding"),
        (name = "live", description = "The live-update WebSocket"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components
            .add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("kefu_session"))));
    }
}

/// The document, as built at startup.
#[derive(Clone)]
pub struct Spec(pub std::sync::Arc<utoipa::openapi::OpenApi>);

/// `GET /api/v1/openapi.json`.
pub async fn openapi_json(State(spec): State<Spec>) -> Response {
    Json(spec.0.as_ref().clone()).into_response()
}

/// `GET /api/v1/docs`.
pub async fn docs_page(State(spec): State<Spec>) -> Html<String> {
    if has_asset("vendor/scalar.js") {
        return Html(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Kefu API</title>\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head><body>\
             <script id=\"api-reference\" data-url=\"/api/v1/openapi.json\" \
             data-configuration='{\"withDefaultFonts\":false,\"hideClientButton\":true}'></script>\
             <script src=\"/vendor/scalar.js\"></script></body></html>"
                .to_owned(),
        );
    }
    let mut rows = String::new();
    for (path, item) in &spec.0.paths.paths {
        let operations = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                let summary = operation.summary.clone().or_else(|| operation.description.clone()).unwrap_or_default();
                rows.push_str(&format!(
                    "<tr><td><code>{method}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                    escape(path),
                    escape(&summary)
                ));
            }
        }
    }
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Kefu API</title></head>\
         <body style=\"font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto\">\
         <h1>Kefu API</h1><p>The full document is at <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>. \
         (Build the web assets for the interactive reference.)</p><table>{rows}</table></body></html>"
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
