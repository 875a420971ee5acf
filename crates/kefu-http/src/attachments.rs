//! `/api/v1/attachments`: upload (multipart, size-limited) and download (as an attachment, never rendered
//! inline, with `nosniff`).

use axum::Json;
use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use kefu_app::AttachmentRecord;
use kefu_domain::AttachmentId;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiPath, CurrentAgent};
use crate::state::AppState;

/// An uploaded file.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentDto {
    /// Id; pass it in a message's `attachment_ids`.
    pub id: i64,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// The message carrying it, once on one.
    pub message_id: Option<i64>,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
    /// Where to download it.
    pub url: String,
}

impl From<AttachmentRecord> for AttachmentDto {
    fn from(record: AttachmentRecord) -> Self {
        AttachmentDto {
            id: record.id.0,
            url: format!("/api/v1/attachments/{}/content", record.id.0),
            filename: record.filename,
            content_type: record.content_type,
            size_bytes: record.size_bytes,
            sha256: record.sha256,
            message_id: record.message_id.map(|id| id.0),
            created_at: record.created_at,
        }
    }
}

fn multipart_error(error: axum::extract::multipart::MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "upload.too_large", "the file is larger than the upload limit")
    } else {
        ApiError::bad_request("request.invalid_multipart", error.body_text())
    }
}

/// Uploads one file as `multipart/form-data` (field `file`). Larger than the limit: `413 upload.too_large`.
#[utoipa::path(post, path = "/attachments", tag = "attachments", request_body(content_type = "multipart/form-data", content = String),
    responses((status = 201, body = AttachmentDto), (status = 400, body = Problem), (status = 413, body = Problem)))]
async fn upload_attachment(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    mut multipart: Multipart,
) -> ApiResult<(StatusCode, Json<AttachmentDto>)> {
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("attachment").to_owned();
        let content_type = field.content_type().map(str::to_owned);
        let content = field.bytes().await.map_err(multipart_error)?;
        let record = state.app.upload_attachment(&agent, &filename, content_type.as_deref(), content).await?;
        return Ok((StatusCode::CREATED, Json(record.into())));
    }
    Err(ApiError::bad_request("request.invalid_multipart", "send the file in a multipart field named file"))
}

/// An attachment's metadata.
#[utoipa::path(get, path = "/attachments/{id}", tag = "attachments", params(("id" = i64, Path)),
    responses((status = 200, body = AttachmentDto), (status = 404, body = Problem)))]
async fn get_attachment(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AttachmentDto>> {
    Ok(Json(state.app.attachment(&agent, AttachmentId(id)).await?.into()))
}

/// The file itself, always as a download (`Content-Disposition: attachment`, `nosniff`).
#[utoipa::path(get, path = "/attachments/{id}/content", tag = "attachments", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = Problem)))]
async fn download_attachment(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let (record, content) = state.app.download_attachment(&agent, AttachmentId(id)).await?;
    Ok(download_response(&record, content))
}

/// A stored file as a download: never rendered inline, sniffed or run (`nosniff`, a sandboxing CSP).
pub(crate) fn download_response(record: &AttachmentRecord, content: bytes::Bytes) -> Response {
    let mut response = Response::new(Body::from(content));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&record.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CONTENT_DISPOSITION, content_disposition(&record.filename));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    response
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266 / RFC 5987), so Chinese
/// names survive and nothing can break out of the quotes.
fn content_disposition(filename: &str) -> HeaderValue {
    disposition("attachment", filename)
}

/// `{kind}; filename=...` as in [`content_disposition`], with `kind` `inline` or `attachment`.
pub(crate) fn disposition(kind: &'static str, filename: &str) -> HeaderValue {
    let ascii: String = filename
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or(HeaderValue::from_static(kind))
}

/// The attachment routes; uploads get a body limit of their own.
pub fn router(max_upload_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_attachment))
        // Multipart framing adds a little to the file itself.
        .layer(axum::extract::DefaultBodyLimit::max(max_upload_bytes + 64 * 1024))
        .routes(routes!(get_attachment))
        .routes(routes!(download_attachment))
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn content_disposition_keeps_unicode_and_quotes_safe() {
        let value = content_disposition("发票 \"2026\".pdf");
        assert_eq!(
            value.to_str().expect("ascii header"),
            "attachment; filename=\"__ _2026_.pdf\"; filename*=UTF-8''%E5%8F%91%E7%A5%A8%20%222026%22.pdf"
        );
    }
}
