//! `/api/v1/kb/articles/{id}/attachments`: files on an article. An agent uploads with `POST /attachments`,
//! then puts the file on the article here; its Markdown refers to it as `![alt](/help/files/{id}/{name})`
//! (or a link), which the help center serves once the article is published and public. Agents fetch any
//! article file through `/attachments/{id}/content`, drafts and internal articles included.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kefu_app::AttachmentRecord;
use kefu_domain::AttachmentId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentAgent};
use crate::help::encode;
use crate::state::AppState;

/// A file on an article.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleFileDto {
    /// The attachment's id.
    pub id: i64,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Whether the help center shows it inline (PNG, JPEG, GIF, WebP, AVIF); other files are downloads.
    pub image: bool,
    /// Where agents fetch it (any article, any state).
    pub url: String,
    /// Where customers fetch it: answers only while the article is published and public.
    pub help_url: String,
    /// The Markdown that shows it in an article body: an image, or a link to the file.
    pub markdown: String,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
}

/// Image types the help center shows inline. Not SVG: it can carry script.
pub(crate) fn inline_image(content_type: &str) -> bool {
    matches!(content_type, "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "image/avif")
}

/// `/help/files/{id}/{name}`.
pub(crate) fn help_file_url(record: &AttachmentRecord) -> String {
    format!("/help/files/{}/{}", record.id.0, encode(&record.filename))
}

impl From<AttachmentRecord> for ArticleFileDto {
    fn from(record: AttachmentRecord) -> Self {
        let help_url = help_file_url(&record);
        let image = inline_image(&record.content_type);
        // Brackets in a name would end the Markdown text early.
        let label: String = record.filename.chars().filter(|c| !matches!(c, '[' | ']' | '\\')).collect();
        let markdown = if image { format!("![{label}]({help_url})") } else { format!("[{label}]({help_url})") };
        ArticleFileDto {
            id: record.id.0,
            url: format!("/api/v1/attachments/{}/content", record.id.0),
            filename: record.filename,
            content_type: record.content_type,
            size_bytes: record.size_bytes,
            image,
            help_url,
            markdown,
            created_at: record.created_at,
        }
    }
}

/// A file to put on an article.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ArticleFileInput {
    /// An attachment uploaded with `POST /attachments` (or one the agent may see on a ticket).
    pub attachment_id: i64,
}

/// The files on an article, in the order they were added.
#[utoipa::path(get, path = "/kb/articles/{id}/attachments", tag = "kb", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ArticleFileDto>), (status = 404, body = Problem)))]
pub async fn list_article_attachments(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<ArticleFileDto>>> {
    let files = state.app.article_files(&agent, id).await?;
    Ok(Json(files.into_iter().map(ArticleFileDto::from).collect()))
}

/// Puts an uploaded file on an article (again: no change). An attachment the agent may not see:
/// `422 validation.invalid_reference`.
#[utoipa::path(post, path = "/kb/articles/{id}/attachments", tag = "kb", params(("id" = i64, Path)),
    request_body = ArticleFileInput,
    responses((status = 201, body = ArticleFileDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn attach_article_attachment(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ArticleFileInput>,
) -> ApiResult<(StatusCode, Json<ArticleFileDto>)> {
    let record = state.app.attach_article_file(&agent, id, AttachmentId(input.attachment_id)).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// Takes a file off an article; the file itself stays (other articles or tickets may use it).
#[utoipa::path(delete, path = "/kb/articles/{id}/attachments/{attachment_id}", tag = "kb",
    params(("id" = i64, Path), ("attachment_id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn detach_article_attachment(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath((id, attachment_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    state.app.detach_article_file(&agent, id, AttachmentId(attachment_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
