//! The help center at `/help`: server-rendered pages for customers and search engines (no JavaScript
//! needed), the "submit a request" form with live article suggestions, the files of public articles
//! (`/help/files/{id}/{name}`), and the customer portal.
//!
//! Every page goes through [`Ctx`], which gathers what all pages share: the locale (from the path, else
//! `Accept-Language`), the branding (`help_settings`), the signed-in customer, the public origin for
//! absolute links, and the form token. Templates are minijinja files embedded in the binary and rendered
//! with HTML autoescaping (article bodies arrive sanitized and are the only HTML passed through). Pages,
//! requests and the portal have their own modules; strings are in `i18n`.
//!
//! Security, briefly: forms carry a token signed with a key kept in the database (HMAC over a random
//! `kefu_help` cookie, `SameSite=Lax`), so another site cannot post them; customers are identified by their
//! own `kefu_customer` cookie (scoped to `/help`, stored hashed in `portal_sessions`), never by the agents'
//! session, and the agents' API never reads it. Pages send a CSP allowing only this origin and the page's
//! nonce for its inline style and script.
//!
//! What this module is not: it holds no rules (the use cases in `kefu_app::help` and `kefu_app::portal`
//! do), and it is not part of `/api/v1` or its OpenAPI document (its one JSON endpoint is a page helper).

mod i18n;
mod pages;
mod portal;
mod requests;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock};

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use base64::Engine;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use kefu_app::help::MAX_REQUEST_FILES;
use kefu_domain::Customer;
use kefu_domain::kb::LOCALES;
use rand::RngCore;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tower_sessions::cookie::{Cookie, SameSite};

use crate::error::ApiError;
use crate::state::AppState;

/// The customer session cookie (scoped to `/help`).
const CUSTOMER_COOKIE: &str = "kefu_customer";
/// The cookie the form tokens are bound to.
const FORM_COOKIE: &str = "kefu_help";
/// How long a rendered form may wait before it is sent.
const FORM_TOKEN_SECONDS: i64 = 24 * 3600;
/// Suggestion lookups per client address per minute.
const SUGGESTIONS_PER_MINUTE: u32 = 60;

const CSS: &str = include_str!("assets/help.css");
/// The stylesheet's URL carries a hash of its content, so it can be cached for a year.
static CSS_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/help/assets/help-{}.css", &hex::encode(Sha256::digest(CSS))[..12]));

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("home.html", include_str!("templates/home.html")),
    ("category.html", include_str!("templates/category.html")),
    ("article.html", include_str!("templates/article.html")),
    ("search.html", include_str!("templates/search.html")),
    ("message.html", include_str!("templates/message.html")),
    ("request_new.html", include_str!("templates/request_new.html")),
    ("sign_in.html", include_str!("templates/sign_in.html")),
    ("password.html", include_str!("templates/password.html")),
    ("requests.html", include_str!("templates/requests.html")),
    ("request.html", include_str!("templates/request.html")),
    ("sitemap.xml", include_str!("templates/sitemap.xml")),
];

/// What the help routes share: the templates, the signing key once read, and the suggestion throttle.
pub(crate) struct Help {
    templates: minijinja::Environment<'static>,
    key: tokio::sync::OnceCell<Vec<u8>>,
    suggestions: DefaultKeyedRateLimiter<IpAddr>,
}

impl Help {
    fn new() -> Help {
        let mut templates = minijinja::Environment::new();
        templates.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        templates.set_formatter(html_formatter);
        for (name, source) in TEMPLATES {
            // The templates are part of the binary; one that does not parse is a build defect caught by tests.
            if let Err(error) = templates.add_template(name, source) {
                tracing::error!(%error, name, "help-center template does not parse");
            }
        }
        let per_minute = std::num::NonZeroU32::new(SUGGESTIONS_PER_MINUTE).unwrap_or(std::num::NonZeroU32::MIN);
        Help {
            templates,
            key: tokio::sync::OnceCell::new(),
            suggestions: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }
}

/// The help center's routes. Request and reply forms take files, so their body limit follows the
/// attachment limit.
pub fn router(max_upload_bytes: usize) -> Router<AppState> {
    let uploads = DefaultBodyLimit::max(MAX_REQUEST_FILES * max_upload_bytes + 1024 * 1024);
    Router::new()
        .route("/help", get(pages::pick_locale))
        .route("/help/sitemap.xml", get(pages::sitemap))
        .route("/help/assets/{file}", get(pages::stylesheet))
        .route("/help/api/suggest", get(requests::suggest))
        .route("/help/files/{id}/{name}", get(pages::file))
        .route("/help/{locale}", get(pages::home))
        .route("/help/{locale}/categories/{slug}", get(pages::category))
        .route("/help/{locale}/articles/{slug}", get(pages::article))
        .route("/help/{locale}/articles/{slug}/feedback", post(pages::feedback))
        .route("/help/{locale}/search", get(pages::search))
        .route("/help/{locale}/search/click", get(pages::click))
        .route("/help/{locale}/deflect", post(pages::deflect))
        .route("/help/{locale}/requests/new", get(requests::new_request))
        .route("/help/{locale}/requests/received", get(requests::request_received))
        .route("/help/{locale}/requests", get(portal::list_requests).post(requests::create_request).layer(uploads))
        .route("/help/{locale}/requests/{id}", get(portal::show_request))
        .route("/help/{locale}/requests/{id}/reply", post(portal::reply).layer(uploads))
        .route("/help/{locale}/requests/{id}/attachments/{attachment}", get(portal::attachment))
        .route("/help/{locale}/sign-in", get(portal::sign_in_page).post(portal::sign_in))
        .route("/help/{locale}/sign-in/link", post(portal::send_sign_in_link))
        .route("/help/{locale}/sign-in/link/{token}", get(portal::link_page).post(portal::use_link))
        .route("/help/{locale}/password", get(portal::password_page).post(portal::send_password_link))
        .route("/help/{locale}/password/{token}", get(portal::set_password_page).post(portal::set_password))
        .route("/help/{locale}/sign-out", post(portal::sign_out))
        .route("/help/{locale}/{*rest}", get(pages::not_found))
        .layer(Extension(Arc::new(Help::new())))
}

/// minijinja's formatter, except that HTML escaping leaves `/` alone: URLs in `href`s and meta tags stay
/// readable (`&#x2f;` is valid but noisy, and crawlers quote it back verbatim). `/` needs no escaping in
/// text or in quoted attribute values, which is all the templates use.
fn html_formatter(
    out: &mut minijinja::Output<'_>,
    state: &mut minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    match value.as_str() {
        Some(text) if matches!(state.auto_escape(), minijinja::AutoEscape::Html) && !value.is_safe() => {
            let mut rest = text;
            while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
                out.write_str(&rest[..at])?;
                out.write_str(match rest.as_bytes()[at] {
                    b'&' => "&amp;",
                    b'<' => "&lt;",
                    b'>' => "&gt;",
                    b'"' => "&quot;",
                    _ => "&#x27;",
                })?;
                rest = &rest[at + 1..];
            }
            out.write_str(rest)?;
            Ok(())
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// The locale a browser prefers among the help center's, from `Accept-Language` (English if none fits):
/// Traditional for `zh-TW`, `zh-HK`, `zh-MO` and `zh-Hant`, Simplified for other Chinese.
pub(crate) fn preferred_locale(headers: &HeaderMap) -> &'static str {
    let header = headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let mut best: Option<(f32, &'static str)> = None;
    for (position, item) in header.split(',').enumerate() {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = parts
            .find_map(|param| param.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
            .unwrap_or(1.0);
        let locale = if tag.starts_with("zh") {
            if ["zh-tw", "zh-hk", "zh-mo"].iter().any(|t| tag.starts_with(t)) || tag.contains("hant") {
                "zh-TW"
            } else {
                "zh-CN"
            }
        } else if tag.starts_with("en") {
            "en"
        } else {
            continue;
        };
        // Earlier entries win ties, as browsers list them by preference.
        let score = quality - position as f32 * 1e-4;
        if quality > 0.0 && best.is_none_or(|(top, _)| score > top) {
            best = Some((score, locale));
        }
    }
    best.map_or("en", |(_, locale)| locale)
}

/// The canonical spelling of a help-center locale.
fn known_locale(text: &str) -> Option<&'static str> {
    LOCALES.iter().find(|locale| locale.eq_ignore_ascii_case(text)).copied()
}

/// Percent-encodes a path segment or query value (everything but unreserved ASCII).
pub(crate) fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `{id}-{slug}` (or `{id}` for an empty slug), encoded for a URL.
fn id_slug(id: i64, slug: &str) -> String {
    if slug.is_empty() { id.to_string() } else { format!("{id}-{}", encode(slug)) }
}

/// Splits `12-some-slug` into the id and the slug.
fn parse_id_slug(text: &str) -> Option<(i64, &str)> {
    let (id, slug) = text.split_once('-').unwrap_or((text, ""));
    Some((id.parse().ok().filter(|id: &i64| *id > 0)?, slug))
}

/// A date as customers read it in their language.
fn local_date(locale: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    match locale {
        "en" => at.format("%B %-d, %Y").to_string(),
        _ => at.format("%Y年%-m月%-d日").to_string(),
    }
}

fn random_text(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

fn sign(key: &[u8], message: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(message.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A form token: when it was issued and a signature binding it to the form cookie.
fn form_token(key: &[u8], nonce: &str, issued: i64) -> String {
    format!("{issued}.{}", sign(key, &format!("{nonce}.{issued}")))
}

fn form_token_valid(key: &[u8], nonce: &str, token: &str, now: i64) -> bool {
    let Some((issued, _)) = token.split_once('.') else { return false };
    let Ok(issued) = issued.parse::<i64>() else { return false };
    let expected = form_token(key, nonce, issued);
    (0..=FORM_TOKEN_SECONDS).contains(&(now - issued))
        && expected.len() == token.len()
        && expected.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Title, description and links of a page, for `<head>`.
#[derive(Debug, Default)]
pub(crate) struct Meta {
    title: String,
    description: String,
    /// Path of the canonical URL (made absolute when rendered); none for pages search engines should skip.
    canonical: Option<String>,
    /// `(locale, path)` of the same page in other languages.
    alternates: Vec<(String, String)>,
    og_type: &'static str,
}

impl Meta {
    fn page(title: impl Into<String>) -> Meta {
        Meta { title: title.into(), og_type: "website", ..Meta::default() }
    }
}

/// What every help page knows about its request.
pub(crate) struct Ctx {
    state: AppState,
    help: Arc<Help>,
    locale: &'static str,
    origin: String,
    client: IpAddr,
    customer: Option<Customer>,
    customer_token: Option<String>,
    nonce: String,
    new_nonce: bool,
    key: Vec<u8>,
    path: String,
    settings: Value,
    headers: HeaderMap,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let failed = |error: ApiError| error.into_response();
        let help = parts
            .extensions
            .get::<Arc<Help>>()
            .cloned()
            .ok_or_else(|| failed(ApiError::internal("help extension missing")))?;
        let path = parts.uri.path().to_owned();
        let segment = path.strip_prefix("/help/").and_then(|rest| rest.split('/').next()).unwrap_or_default();
        let path_locale = known_locale(segment);
        if let Some(locale) = path_locale
            && locale != segment
            && matches!(parts.method, Method::GET | Method::HEAD)
        {
            // `/help/zh-cn/...` → `/help/zh-CN/...`
            let fixed = format!("/help/{locale}{}", &path["/help/".len() + segment.len()..]);
            let query = parts.uri.query().map(|query| format!("?{query}")).unwrap_or_default();
            return Err(Redirect::permanent(&format!("{fixed}{query}")).into_response());
        }
        let locale = path_locale.unwrap_or_else(|| preferred_locale(&parts.headers));
        let client = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map(|ConnectInfo(address)| address.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let origin = match &state.config.public_url {
            Some(url) => url.clone(),
            None => {
                let host = parts
                    .headers
                    .get(header::HOST)
                    .and_then(|value| value.to_str().ok())
                    .filter(|host| host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
                    .unwrap_or("localhost");
                let scheme = if state.config.secure_cookies { "https" } else { "http" };
                format!("{scheme}://{host}")
            }
        };
        let customer_token = cookie_value(&parts.headers, CUSTOMER_COOKIE).map(str::to_owned);
        let customer = match &customer_token {
            Some(token) => state.app.portal_customer(token).await.map_err(|error| failed(error.into()))?,
            None => None,
        };
        let existing_nonce = cookie_value(&parts.headers, FORM_COOKIE).map(str::to_owned);
        let new_nonce = existing_nonce.is_none();
        let nonce = existing_nonce.unwrap_or_else(|| random_text(24));
        let key = help
            .key
            .get_or_try_init(|| state.app.help_signing_key())
            .await
            .map_err(|error| failed(error.into()))?
            .clone();
        let settings = state.app.help_settings().await.map_err(|error| failed(error.into()))?;
        let query = parts.uri.query().map(|query| format!("?{query}")).unwrap_or_default();
        let ctx = Ctx {
            state: state.clone(),
            help,
            locale,
            origin,
            client,
            customer,
            customer_token,
            nonce,
            new_nonce,
            key,
            path: format!("{path}{query}"),
            settings,
            headers: parts.headers.clone(),
        };
        // `/help/{locale}/...` with something that is not a locale (and is not one of the fixed paths).
        if path_locale.is_none()
            && path.starts_with("/help/")
            && !["sitemap.xml", "assets", "api", "files"].contains(&segment)
        {
            return Err(ctx.error(ApiError::route_not_found()));
        }
        Ok(ctx)
    }
}

impl Ctx {
    fn app(&self) -> &kefu_app::App {
        &self.state.app
    }

    fn t(&self, key: &str) -> &'static str {
        i18n::text(self.locale, key)
    }

    fn fill(&self, key: &str, values: &[(&str, &str)]) -> String {
        i18n::fill(self.locale, key, values)
    }

    /// `/help/{locale}{rest}`.
    fn url(&self, rest: &str) -> String {
        format!("/help/{}{rest}", self.locale)
    }

    fn absolute(&self, path: &str) -> String {
        if path.starts_with("https://") || path.starts_with("http://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.origin)
        }
    }

    /// Checks the form token sent with a POST against this browser's form cookie, and that the post comes
    /// from this origin when the browser says where it comes from.
    fn check_form(&self, token: Option<&str>) -> Result<(), ApiError> {
        let same_origin = match self.headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) {
            Some(origin) => {
                let host = self.headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
                origin.split_once("://").is_some_and(|(_, rest)| rest == host)
                    || self.state.config.public_url.as_deref() == Some(origin)
            }
            None => true,
        };
        let now = chrono::Utc::now().timestamp();
        let valid = !self.new_nonce && token.is_some_and(|token| form_token_valid(&self.key, &self.nonce, token, now));
        if same_origin && valid { Ok(()) } else { Err(ApiError::form_expired()) }
    }

    fn cookie<'c>(&self, name: &'c str, value: String, max_age: Option<time::Duration>) -> Cookie<'c> {
        let mut cookie = Cookie::build((name, value))
            .path("/help")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.state.config.secure_cookies)
            .build();
        if let Some(max_age) = max_age {
            cookie.set_max_age(max_age);
        }
        cookie
    }

    /// The brand as the templates use it: name, logo, colour, and custom CSS (never able to end the
    /// `<style>` element it goes in).
    fn brand(&self) -> Value {
        let text = |key: &str| self.settings.get(key).and_then(Value::as_str).map(str::trim).unwrap_or_default();
        let name = Some(text("name")).filter(|name| !name.is_empty()).unwrap_or(self.t("help_center"));
        let color = Some(text("primary_color"))
            .filter(|color| {
                color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit())
            })
            .unwrap_or("#1f6feb");
        let logo = Some(text("logo_url")).filter(|url| url.starts_with("https://") || url.starts_with('/'));
        let css = Some(text("custom_css")).filter(|css| !css.contains('<')).unwrap_or_default();
        json!({ "name": name, "color": color, "logo_url": logo, "logo_absolute": logo.map(|url| self.absolute(url)), "custom_css": css })
    }

    /// Renders a page: the shared layout data, the page's own `data`, its `<head>` from `meta`, the CSP with
    /// a fresh nonce, and the form cookie when the browser has none yet.
    fn render(&self, status: StatusCode, template: &str, meta: Meta, data: Value) -> Response {
        let nonce = random_text(16);
        let issued = chrono::Utc::now().timestamp();
        let switcher: Vec<Value> = i18n::LOCALES
            .iter()
            .map(|(locale, label, _)| {
                let url = match meta.alternates.iter().find(|(alternate, _)| alternate == locale) {
                    Some((_, path)) => path.clone(),
                    None => format!("/help/{locale}"),
                };
                json!({ "locale": locale, "label": label, "url": url, "current": *locale == self.locale })
            })
            .collect();
        let og_locale = i18n::LOCALES.iter().find(|(locale, _, _)| *locale == self.locale).map_or("en_US", |l| l.2);
        let mut context = Map::new();
        context.insert("locale".into(), json!(self.locale));
        context.insert("t".into(), json!(i18n::catalog(self.locale)));
        context.insert("brand".into(), self.brand());
        context.insert("css".into(), json!(*CSS_PATH));
        context.insert("nonce".into(), json!(nonce));
        context.insert("csrf".into(), json!(form_token(&self.key, &self.nonce, issued)));
        context.insert(
            "customer".into(),
            self.customer.as_ref().map_or(Value::Null, |customer| json!({ "name": customer.name })),
        );
        context.insert("switcher".into(), json!(switcher));
        context.insert("og_locale".into(), json!(og_locale));
        context.insert(
            "meta".into(),
            json!({
                "title": meta.title,
                "description": meta.description,
                "og_type": meta.og_type,
                "canonical": meta.canonical.as_deref().map(|path| self.absolute(path)),
                "alternates": meta.alternates.iter().map(|(locale, path)| json!({ "locale": locale, "url": self.absolute(path) })).collect::<Vec<_>>(),
                "x_default": (!meta.alternates.is_empty()).then(|| self.absolute("/help")),
            }),
        );
        for key in ["query", "error_code"] {
            context.insert(key.into(), Value::Null);
        }
        if let Value::Object(data) = data {
            context.extend(data);
        }
        let html = match self
            .help
            .templates
            .get_template(template)
            .and_then(|page| page.render(minijinja::value::Serde(&context)))
        {
            Ok(html) => html,
            Err(error) => return ApiError::internal(format!("rendering {template}: {error:#}")).into_response(),
        };
        let mut response = (status, html).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
        headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(self.locale));
        let policy = format!(
            "default-src 'self'; img-src 'self' https: data:; style-src 'self' 'nonce-{nonce}'; \
             script-src 'nonce-{nonce}'; connect-src 'self'; form-action 'self'; frame-ancestors 'self'; \
             base-uri 'none'; object-src 'none'"
        );
        if let Ok(value) = HeaderValue::from_str(&policy) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
        if self.new_nonce {
            self.set_cookie(&mut response, self.cookie(FORM_COOKIE, self.nonce.clone(), None));
        }
        response
    }

    fn set_cookie(&self, response: &mut Response, cookie: Cookie<'_>) {
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }

    /// A page with a title, a paragraph and a link (confirmations and most errors).
    fn message(&self, status: StatusCode, title: &str, text: &str, link: Option<(&str, String)>) -> Response {
        let mut meta = Meta::page(title);
        meta.canonical = None;
        let data = json!({
            "page": "message",
            "title": title,
            "text": text,
            "link": link.map(|(label, url)| json!({ "label": label, "url": url })),
        });
        self.render(status, "message.html", meta, data)
    }

    /// An error as a page, in the visitor's language, with its stable code in `data-error-code`.
    fn error(&self, error: ApiError) -> Response {
        let status = error.status();
        let code = error.code().to_owned();
        let (title, text) = match status {
            StatusCode::NOT_FOUND => (self.t("not_found_title"), self.t("not_found").to_owned()),
            StatusCode::TOO_MANY_REQUESTS => (
                self.t("rate_limited_title"),
                self.fill("rate_limited", &[("seconds", &error.retry_after().unwrap_or(60).to_string())]),
            ),
            StatusCode::FORBIDDEN if code == "help.form_expired" => {
                (self.t("form_expired_title"), self.t("form_expired").to_owned())
            }
            StatusCode::PAYLOAD_TOO_LARGE => (
                self.t("too_large_title"),
                self.fill("error_too_large", &[("size", &megabytes(self.app().config().max_attachment_bytes))]),
            ),
            _ if code == "help.spam_rejected" => (self.t("bad_request_title"), self.t("spam_rejected").to_owned()),
            status if status.is_server_error() => (self.t("error_title"), self.t("server_error").to_owned()),
            _ => (self.t("bad_request_title"), error.problem().detail.clone()),
        };
        let data = json!({
            "page": "error",
            "title": title,
            "text": text,
            "error_code": code,
            "link": { "label": self.t("back_home"), "url": self.url("") },
        });
        let mut response = self.render(status, "message.html", Meta::page(title), data);
        if let Some(seconds) = error.retry_after()
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }

    /// Runs a page's work and turns a failure into an error page.
    async fn run(&self, work: impl Future<Output = Result<Response, ApiError>>) -> Response {
        match work.await {
            Ok(response) => response,
            Err(error) => self.error(error),
        }
    }

    /// A `303 See Other` to a path (after a form post).
    fn see_other(&self, path: &str) -> Response {
        Redirect::to(path).into_response()
    }
}

/// `12 MB`, for limits shown to customers.
fn megabytes(bytes: usize) -> String {
    format!("{} MB", bytes.div_ceil(1024 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(value: &str) -> &'static str {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(value).expect("header"));
        preferred_locale(&headers)
    }

    #[test]
    fn every_template_parses() {
        let mut environment = minijinja::Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(error) = environment.add_template(name, source) {
                panic!("{name}: {error:#}");
            }
        }
    }

    #[test]
    fn the_locale_follows_accept_language() {
        assert_eq!(pick("zh-TW,zh;q=0.9,en;q=0.8"), "zh-TW");
        assert_eq!(pick("zh-HK"), "zh-TW");
        assert_eq!(pick("zh-Hant-CN"), "zh-TW");
        assert_eq!(pick("zh"), "zh-CN");
        assert_eq!(pick("fr-FR,fr;q=0.9,en-US;q=0.8,zh-CN;q=0.7"), "en");
        assert_eq!(pick("fr"), "en");
        assert_eq!(pick("en;q=0.5, zh-CN"), "zh-CN");
        assert_eq!(preferred_locale(&HeaderMap::new()), "en");
    }

    #[test]
    fn ids_and_slugs_round_trip() {
        assert_eq!(parse_id_slug("12-how-to-refund"), Some((12, "how-to-refund")));
        assert_eq!(parse_id_slug("12"), Some((12, "")));
        assert_eq!(parse_id_slug("x-12"), None);
        assert_eq!(parse_id_slug("-1"), None);
        assert_eq!(id_slug(3, "退款"), "3-%E9%80%80%E6%AC%BE");
        assert_eq!(id_slug(3, ""), "3");
    }

    #[test]
    fn form_tokens_are_bound_to_their_cookie_and_expire() {
        let key = b"key";
        let token = form_token(key, "nonce", 1000);
        assert!(form_token_valid(key, "nonce", &token, 1000 + 60));
        assert!(!form_token_valid(key, "other", &token, 1000 + 60));
        assert!(!form_token_valid(b"other", "nonce", &token, 1000 + 60));
        assert!(!form_token_valid(key, "nonce", &token, 1000 + FORM_TOKEN_SECONDS + 1));
        assert!(!form_token_valid(key, "nonce", "1000.x", 1000));
        assert!(!form_token_valid(key, "nonce", "garbage", 1000));
    }
}
