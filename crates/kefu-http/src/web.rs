//! The web app's files, embedded in the binary from `web/dist` at build time, served at `/` with a
//! single-page-app fallback to `index.html`. Unknown `/api/...` paths get a problem+json 404 instead.
//! The web build writes a gzipped twin (`x.js.gz`) of each script and stylesheet; it is sent instead of the
//! file to browsers that accept gzip, so nothing is compressed at request time.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::ApiError;

#[derive(RustEmbed)]
// A relative folder is resolved from this crate's manifest directory (no `$VAR` interpolation without a feature).
#[folder = "../../web/dist"]
#[allow_missing = true]
struct WebAssets;

/// Whether the embedded web build has this file.
pub fn has_asset(path: &str) -> bool {
    WebAssets::get(path).is_some()
}

const NOT_BUILT: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Kefu</title></head>\
<body style=\"font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto\">\
<h1>Kefu is running</h1><p>This binary was built without the web app. The API is at \
<a href=\"/api/v1/docs\">/api/v1/docs</a>. To include the web app, run the start script (it builds <code>web/</code> \
with Node.js) and rebuild.</p></body></html>";

fn asset_response(path: &str, file: rust_embed::EmbeddedFile) -> Response {
    let mut response = Response::new(Body::from(file.data.into_owned()));
    let mime = file.metadata.mimetype();
    if let Ok(value) = HeaderValue::from_str(mime) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    let cache = if path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// Whether the request accepts a gzipped body.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|param| param.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// The gzipped twin of a file, with the original's type, when there is one and the browser takes gzip.
fn gzipped_response(path: &str, headers: &HeaderMap) -> Option<Response> {
    if !accepts_gzip(headers) {
        return None;
    }
    let original = WebAssets::get(path)?;
    let twin = WebAssets::get(&format!("{path}.gz"))?;
    let mut response = asset_response(path, twin);
    if let Ok(value) = HeaderValue::from_str(original.metadata.mimetype()) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Some(response)
}

/// Everything no route matched: web files, the app shell for client-side routes, or a 404.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || (method != Method::GET && method != Method::HEAD) {
        return ApiError::route_not_found().into_response();
    }
    let relative = path.trim_start_matches('/');
    if !relative.is_empty() {
        if let Some(response) = gzipped_response(relative, &headers) {
            return response;
        }
        if let Some(file) = WebAssets::get(relative) {
            return asset_response(relative, file);
        }
        // A missing file (has an extension) is a 404; anything else is a client-side route.
        if relative.rsplit('/').next().is_some_and(|last| last.contains('.')) {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
    }
    match WebAssets::get("index.html") {
        Some(file) => asset_response("index.html", file),
        None => Html(NOT_BUILT).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(value: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).expect("header"));
        accepts_gzip(&headers)
    }

    #[test]
    fn gzip_is_sent_only_to_browsers_that_take_it() {
        assert!(accepts("gzip, deflate, br, zstd"));
        assert!(accepts("br;q=1.0, gzip;q=0.8"));
        assert!(accepts("*"));
        assert!(!accepts("br"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
