//! "Submit a request": the form (the chosen category's required fields, attachments, a honeypot), its
//! post (a web-channel ticket through `App::submit_request`, rate limited per address and per email), the
//! confirmation, and `GET /help/api/suggest`, the JSON the form's small script calls for live article
//! suggestions while the customer types the subject. Without JavaScript the form works the same, minus the
//! suggestions; "Update the form" reloads it for another category, keeping what was typed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Multipart, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use kefu_app::AppError;
use kefu_app::help::{MAX_REQUEST_FILES, NewRequest, Upload};
use kefu_domain::{CategoryId, FieldType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::pages::bad_query;
use super::{Ctx, Help, Meta, known_locale, megabytes};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Suggestions returned while typing.
const SUGGESTIONS: usize = 5;
/// The shortest subject worth suggesting for (two characters are a Chinese word).
const MIN_SUGGEST_CHARS: usize = 2;
/// Text fields one form may carry.
const MAX_FORM_FIELDS: usize = 100;

/// A posted multipart form: its text fields (the first value of each name) and its files.
pub(super) struct FormData {
    pub fields: HashMap<String, String>,
    pub files: Vec<Upload>,
}

impl FormData {
    pub fn text(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

fn multipart_error(error: MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "upload.too_large", "the form is larger than the upload limit")
    } else {
        ApiError::bad_request("request.invalid_multipart", error.body_text())
    }
}

/// Reads a `multipart/form-data` post; a file input left empty is skipped.
pub(super) async fn read_multipart(multipart: Result<Multipart, MultipartRejection>) -> Result<FormData, ApiError> {
    let mut multipart =
        multipart.map_err(|rejection| ApiError::bad_request("request.invalid_multipart", rejection.body_text()))?;
    let mut form = FormData { fields: HashMap::new(), files: Vec::new() };
    let mut count = 0;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        count += 1;
        if count > MAX_FORM_FIELDS + MAX_REQUEST_FILES {
            return Err(ApiError::bad_request("request.invalid_multipart", "too many form fields"));
        }
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(filename) => {
                let content_type = field.content_type().map(str::to_owned);
                let content = field.bytes().await.map_err(multipart_error)?;
                if !(filename.is_empty() && content.is_empty()) {
                    form.files.push(Upload { filename, content_type, content });
                }
            }
            None => {
                let text = field.text().await.map_err(multipart_error)?;
                // A repeated field keeps its first non-empty value: a robot that adds its own copy of the
                // honeypot after the empty one is still caught.
                let value = form.fields.entry(name).or_default();
                if value.trim().is_empty() {
                    *value = text;
                }
            }
        }
    }
    Ok(form)
}

/// A form problem shown next to the form: the field's id and what to do.
struct FieldError {
    field: String,
    message: String,
}

impl Ctx {
    /// Says what is wrong with a form in the visitor's language; `None` for failures that are not about
    /// the form's content (they get an error page).
    fn form_errors(&self, error: &ApiError, labels: &HashMap<String, String>) -> Option<Vec<FieldError>> {
        let problem = error.problem();
        let field = problem.field.clone().unwrap_or_default();
        let one = |field: &str, message: String| Some(vec![FieldError { field: field.to_owned(), message }]);
        match (error.status(), error.code()) {
            (StatusCode::PAYLOAD_TOO_LARGE, _) => one(
                "attachments",
                self.fill("error_too_large", &[("size", &megabytes(self.app().config().max_attachment_bytes))]),
            ),
            (_, "validation.missing_fields") => {
                let names: Vec<&str> = problem
                    .fields
                    .iter()
                    .flatten()
                    .map(|key| labels.get(key).map_or(key.as_str(), String::as_str))
                    .collect();
                let first =
                    problem.fields.iter().flatten().next().map(|key| format!("field-{key}")).unwrap_or_default();
                one(&first, self.fill("error_missing_fields", &[("fields", &names.join(", "))]))
            }
            (StatusCode::UNPROCESSABLE_ENTITY, _) => match field.as_str() {
                "name" => one("name", self.t("error_name").into()),
                "email" => one("email", self.t("error_email").into()),
                "subject" => one("subject", self.t("error_subject").into()),
                "description" | "body" => one("description", self.t("error_description").into()),
                "category_id" => one("category_id", self.t("error_category").into()),
                "attachments" | "attachment_ids" => {
                    one("attachments", self.fill("error_too_many_files", &[("n", &MAX_REQUEST_FILES.to_string())]))
                }
                other => {
                    let key = other.strip_prefix("custom_fields.").unwrap_or(other);
                    let label = labels.get(key).map_or(key, String::as_str);
                    one(
                        &format!("field-{key}"),
                        self.fill("error_field", &[("field", label), ("detail", &problem.detail)]),
                    )
                }
            },
            _ => None,
        }
    }

    /// The request form, filled with `values` (a reload or a refused post) and showing `errors`.
    async fn request_form(
        &self,
        status: StatusCode,
        values: &HashMap<String, String>,
        errors: Vec<FieldError>,
    ) -> Result<Response, ApiError> {
        let form = self.app().request_form().await?;
        let value = |name: &str| values.get(name).map_or("", String::as_str);
        let selected = value("category_id").parse().ok().map(CategoryId);
        let error_of =
            |field: &str| errors.iter().find(|error| error.field == field).map(|error| error.message.clone());
        let categories: Vec<Value> = form
            .categories
            .iter()
            .map(|category| json!({ "id": category.id.0, "name": category.name, "selected": Some(category.id) == selected }))
            .collect();
        let fields: Vec<Value> = form
            .fields_of(selected)
            .into_iter()
            .map(|definition| {
                let name = format!("field.{}", definition.key);
                let current = value(&name);
                json!({
                    "id": format!("field-{}", definition.key),
                    "name": name,
                    "label": definition.label,
                    "type": definition.field_type.as_str(),
                    "value": current,
                    "checked": definition.field_type == FieldType::Checkbox && !current.is_empty(),
                    "options": definition.options.iter().map(|option| json!({ "value": option, "selected": option == current })).collect::<Vec<_>>(),
                    "error": error_of(&format!("field-{}", definition.key)),
                })
            })
            .collect();
        let signed_in_email = self.customer.as_ref().and_then(kefu_app::portal::customer_email);
        let data = json!({
            "page": "request-new",
            "show_search": false,
            "values": {
                "name": value("name"),
                "email": value("email"),
                "subject": value("subject"),
                "description": value("description"),
                "search_id": value("search_id"),
            },
            "signed_in_email": signed_in_email,
            "categories": categories,
            "fields": fields,
            "errors": errors.iter().map(|error| json!({ "field": error.field, "message": error.message })).collect::<Vec<_>>(),
            "field_errors": {
                "name": error_of("name"), "email": error_of("email"), "subject": error_of("subject"),
                "description": error_of("description"), "category_id": error_of("category_id"),
                "attachments": error_of("attachments"),
            },
            "attachments_hint": self.fill("attachments_hint", &[
                ("n", &MAX_REQUEST_FILES.to_string()),
                ("size", &megabytes(self.app().config().max_attachment_bytes)),
            ]),
        });
        let meta =
            Meta::page(format!("{} · {}", self.t("submit_request"), self.brand()["name"].as_str().unwrap_or_default()));
        Ok(self.render(status, "request_new.html", meta, data))
    }
}

/// The request form (query parameters refill it, as "Update the form" sends them).
pub(super) async fn new_request(ctx: Ctx, query: Result<Query<HashMap<String, String>>, QueryRejection>) -> Response {
    ctx.run(async {
        let Query(values) = query.map_err(bad_query)?;
        ctx.request_form(StatusCode::OK, &values, vec![]).await
    })
    .await
}

/// The form's post: checked, rate limited, turned into a ticket; then `303` to the confirmation.
/// A refused form comes back filled in, with what to fix.
pub(super) async fn create_request(ctx: Ctx, multipart: Result<Multipart, MultipartRejection>) -> Response {
    ctx.run(async {
        let form = read_multipart(multipart).await?;
        ctx.check_form(Some(form.text("csrf")))?;
        if !form.text("website").trim().is_empty() {
            tracing::info!(client = %ctx.client, "a request form with the honeypot filled was refused");
            return Err(ApiError::spam_rejected());
        }
        let category_id = match form.text("category_id").trim() {
            "" => None,
            text => Some(CategoryId(text.parse().map_err(|_| ApiError::invalid("category_id", "not a category"))?)),
        };
        let custom_fields = form
            .fields
            .iter()
            .filter_map(|(name, value)| name.strip_prefix("field.").map(|key| (key.to_owned(), value.clone())))
            .collect();
        let request = NewRequest {
            name: form.text("name").to_owned(),
            email: form.text("email").to_owned(),
            subject: form.text("subject").to_owned(),
            description: form.text("description").to_owned(),
            category_id,
            custom_fields,
            files: form.files.clone(),
            customer_id: ctx.customer.as_ref().map(|customer| customer.id),
            client: ctx.client.to_string(),
        };
        match ctx.app().submit_request(request).await {
            Ok(ticket) => {
                let mut target = ctx.url(&format!("/requests/received?number={}", ticket.number.0));
                if ctx.customer.is_some() {
                    target.push_str(&format!("&id={}", ticket.id.0));
                }
                Ok(ctx.see_other(&target))
            }
            Err(
                error
                @ (AppError::RateLimited { .. } | AppError::Store(_) | AppError::Files(_) | AppError::Internal(_)),
            ) => Err(error.into()),
            Err(error) => {
                let error = ApiError::from(error);
                let labels: HashMap<String, String> = ctx
                    .app()
                    .request_form()
                    .await?
                    .definitions
                    .into_iter()
                    .map(|definition| (definition.key, definition.label))
                    .collect();
                match ctx.form_errors(&error, &labels) {
                    Some(errors) => ctx.request_form(error.status(), &form.fields, errors).await,
                    None => Err(error),
                }
            }
        }
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct ReceivedQuery {
    number: i64,
    id: Option<i64>,
}

/// "Your request #N has been received."
pub(super) async fn request_received(ctx: Ctx, query: Result<Query<ReceivedQuery>, QueryRejection>) -> Response {
    ctx.run(async {
        let Query(ReceivedQuery { number, id }) = query.map_err(bad_query)?;
        let link = match (id, &ctx.customer) {
            (Some(id), Some(_)) => (ctx.t("view_request"), ctx.url(&format!("/requests/{id}"))),
            _ => (ctx.t("back_home"), ctx.url("")),
        };
        let text = format!(
            "{} {}",
            ctx.fill("request_received", &[("n", &number.to_string())]),
            ctx.t("request_received_more")
        );
        Ok(ctx.message(StatusCode::OK, ctx.t("request_received_title"), &text, Some(link)))
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct SuggestQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    locale: String,
}

/// Live suggestions while a customer types.
#[derive(Serialize)]
struct Suggestions {
    /// The logged search (send it back to record a deflection); `null` when nothing was searched.
    search_id: Option<i64>,
    articles: Vec<Suggestion>,
}

#[derive(Serialize)]
struct Suggestion {
    /// The article translation.
    id: i64,
    title: String,
    /// Plain text around the matches.
    snippet: String,
    /// Opens the article through the click-recording redirect.
    url: String,
}

/// Highlighted HTML from the index back to plain text.
fn plain(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// `GET /help/api/suggest?q=&locale=`: the published articles matching what the customer typed (the search
/// is logged; its id comes back for the deflection). Throttled per client address: `429 request.rate_limited`.
pub(super) async fn suggest(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<Help>>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    query: Result<Query<SuggestQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(SuggestQuery { q, locale }) = query.map_err(bad_query)?;
    let locale = known_locale(&locale).ok_or_else(|| ApiError::invalid("locale", "locale is zh-CN, zh-TW or en"))?;
    let q = q.trim();
    if q.chars().count() > 200 {
        return Err(ApiError::invalid("q", "at most 200 characters"));
    }
    if let Err(not_until) = help.suggestions.check_key(&address.ip()) {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
        return Err(AppError::RateLimited { retry_after_seconds: wait.as_secs() + 1 }.into());
    }
    let suggestions = if q.chars().count() < MIN_SUGGEST_CHARS {
        Suggestions { search_id: None, articles: vec![] }
    } else {
        let (hits, log_id) = state.app.help_search(q, locale, SUGGESTIONS).await?;
        let articles = hits
            .into_iter()
            .map(|found| Suggestion {
                id: found.entry.translation_id,
                url: format!("/help/{locale}/search/click?search={log_id}&article={}", found.entry.translation_id),
                title: found.entry.title,
                snippet: plain(&found.hit.snippet_html),
            })
            .collect();
        Suggestions { search_id: Some(log_id), articles }
    };
    let mut response = Json(suggestions).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn highlighted_snippets_become_plain_text() {
        assert_eq!(plain("申请<b>退款</b> &amp; &lt;发票&gt;"), "申请退款 & <发票>");
    }
}
