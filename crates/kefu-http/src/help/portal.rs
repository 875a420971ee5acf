//! The customer portal's pages: sign in with a password or an emailed link, set a password through an
//! emailed link, the customer's requests, one request with its public conversation and a reply form, their
//! files, and sign out.
//!
//! An emailed link opens a page with one button that signs in (a `POST`), so mail scanners that follow
//! links do not use it up. The session cookie (`kefu_customer`, `/help` only) holds a random secret whose
//! hash `kefu_app::portal` keeps; agents' routes never look at it.

use axum::Form;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Multipart, Path, Query};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use kefu_app::AppError;
use kefu_app::portal::{LinkPurpose, PortalSession, SIGN_IN_LINK_LIFETIME};
use kefu_domain::{AttachmentId, AuthorKind, Customer, Status, TicketId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::pages::{bad_form, bad_path, bad_query};
use super::requests::read_multipart;
use super::{CUSTOMER_COOKIE, Ctx, Meta, local_date};
use crate::error::ApiError;

#[derive(Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

#[derive(Deserialize)]
pub(super) struct TokenForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

#[derive(Deserialize)]
pub(super) struct TokenPath {
    token: String,
}

#[derive(Deserialize)]
pub(super) struct RequestPath {
    id: i64,
}

#[derive(Deserialize)]
pub(super) struct AttachmentPath {
    id: i64,
    attachment: i64,
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    cursor: Option<String>,
}

/// A path inside the help center to return to after signing in (anything else is ignored).
fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|next| next.starts_with("/help/") && !next.contains("//") && !next.contains('\\'))
}

/// A customer's status as customers read it.
fn status_key(status: Status) -> &'static str {
    match status {
        Status::Pending => "status_pending",
        Status::Solved => "status_solved",
        Status::Closed => "status_closed",
        _ => "status_open",
    }
}

impl Ctx {
    /// The signed-in customer, or a redirect to the sign-in page that comes back here (boxed: a response is
    /// large next to a reference).
    fn signed_in(&self) -> Result<&Customer, Box<Response>> {
        self.customer
            .as_ref()
            .ok_or_else(|| Box::new(self.see_other(&self.url(&format!("/sign-in?next={}", super::encode(&self.path))))))
    }

    fn sign_in_page_with(&self, status: StatusCode, email: &str, next: Option<&str>, error: Option<&str>) -> Response {
        let meta =
            Meta::page(format!("{} · {}", self.t("sign_in_title"), self.brand()["name"].as_str().unwrap_or_default()));
        let data = json!({
            "page": "sign-in",
            "email": email,
            "next": safe_next(next),
            "error": error,
        });
        self.render(status, "sign_in.html", meta, data)
    }

    /// Sets the session cookie and goes on to `next` (or the customer's requests).
    fn start_session(&self, session: PortalSession, next: Option<&str>) -> Response {
        let target = safe_next(next).map_or_else(|| self.url("/requests"), str::to_owned);
        let mut response = self.see_other(&target);
        let max_age = time::Duration::seconds((session.expires_at - chrono::Utc::now()).num_seconds().max(0));
        self.set_cookie(&mut response, self.cookie(CUSTOMER_COOKIE, session.token, Some(max_age)));
        response
    }

    /// `https://host/help/{locale}{rest}` for links in emails.
    fn link_prefix(&self, rest: &str) -> String {
        self.absolute(&self.url(rest))
    }

    fn check_email_page(&self, email: &str, minutes: i64) -> Response {
        let text = self.fill("check_email", &[("email", email.trim()), ("minutes", &minutes.to_string())]);
        self.message(StatusCode::OK, self.t("check_email_title"), &text, Some((self.t("back_home"), self.url(""))))
    }

    fn link_invalid_page(&self, purpose: LinkPurpose) -> Response {
        let again = match purpose {
            LinkPurpose::SignIn => self.url("/sign-in"),
            LinkPurpose::Password => self.url("/password"),
        };
        let mut response = self.message(
            StatusCode::NOT_FOUND,
            self.t("link_invalid_title"),
            self.t("link_invalid"),
            Some((self.t("new_link"), again)),
        );
        response.headers_mut().insert("x-kefu-error", HeaderValue::from_static("auth.link_invalid"));
        response
    }
}

/// The sign-in page: password, or a link by email.
pub(super) async fn sign_in_page(ctx: Ctx, query: Result<Query<NextQuery>, QueryRejection>) -> Response {
    ctx.run(async {
        let Query(NextQuery { next }) = query.map_err(bad_query)?;
        Ok(ctx.sign_in_page_with(StatusCode::OK, "", next.as_deref(), None))
    })
    .await
}

/// Signs in with email and password (throttled like agents' sign-in).
pub(super) async fn sign_in(ctx: Ctx, form: Result<Form<SignInForm>, FormRejection>) -> Response {
    ctx.run(async {
        let Form(form) = form.map_err(bad_form)?;
        ctx.check_form(Some(&form.csrf))?;
        if let Err(seconds) = ctx.state.login_limiter.check(ctx.client, &form.email) {
            return Err(AppError::RateLimited { retry_after_seconds: seconds }.into());
        }
        match ctx.app().customer_sign_in(&form.email, &form.password).await {
            Ok(session) => Ok(ctx.start_session(session, form.next.as_deref())),
            Err(AppError::InvalidCredentials) => Ok(ctx.sign_in_page_with(
                StatusCode::UNAUTHORIZED,
                &form.email,
                form.next.as_deref(),
                Some(ctx.t("error_credentials")),
            )),
            Err(error) => Err(error.into()),
        }
    })
    .await
}

async fn send_link(
    ctx: &Ctx,
    purpose: LinkPurpose,
    form: Result<Form<EmailForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(form) = form.map_err(bad_form)?;
    ctx.check_form(Some(&form.csrf))?;
    let prefix = match purpose {
        LinkPurpose::SignIn => ctx.link_prefix("/sign-in/link/"),
        LinkPurpose::Password => ctx.link_prefix("/password/"),
    };
    match ctx.app().send_portal_link(purpose, &form.email, ctx.locale, &prefix, &ctx.client.to_string()).await {
        Ok(()) => {}
        Err(AppError::Domain(_)) => {
            return Ok(ctx.sign_in_page_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form.email,
                None,
                Some(ctx.t("error_email")),
            ));
        }
        Err(error) => return Err(error.into()),
    }
    let minutes = match purpose {
        LinkPurpose::SignIn => SIGN_IN_LINK_LIFETIME.num_minutes(),
        LinkPurpose::Password => kefu_app::portal::PASSWORD_LINK_LIFETIME.num_minutes(),
    };
    Ok(ctx.check_email_page(&form.email, minutes))
}

/// Emails a sign-in link (the same answer whether or not the address has an account).
pub(super) async fn send_sign_in_link(ctx: Ctx, form: Result<Form<EmailForm>, FormRejection>) -> Response {
    ctx.run(send_link(&ctx, LinkPurpose::SignIn, form)).await
}

/// The page an emailed sign-in link opens: one button that signs in.
pub(super) async fn link_page(ctx: Ctx, path: Result<Path<TokenPath>, PathRejection>) -> Response {
    ctx.run(async {
        let Path(TokenPath { token }) = path.map_err(bad_path)?;
        let customer = match ctx.app().portal_link_customer(LinkPurpose::SignIn, &token).await {
            Ok(customer) => customer,
            Err(AppError::InvalidCredentials) => return Ok(ctx.link_invalid_page(LinkPurpose::SignIn)),
            Err(error) => return Err(error.into()),
        };
        let email = kefu_app::portal::customer_email(&customer).unwrap_or(customer.name.as_str());
        let meta = Meta::page(ctx.t("sign_in_title"));
        let data = json!({
            "page": "sign-in-link",
            "mode": "confirm",
            "action": ctx.url(&format!("/sign-in/link/{}", super::encode(&token))),
            "title": ctx.fill("confirm_sign_in", &[("email", email)]),
            "button": ctx.t("sign_in"),
            "error": Value::Null,
        });
        Ok(ctx.render(StatusCode::OK, "password.html", meta, data))
    })
    .await
}

/// Uses an emailed sign-in link.
pub(super) async fn use_link(
    ctx: Ctx,
    path: Result<Path<TokenPath>, PathRejection>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    ctx.run(async {
        let Path(TokenPath { token }) = path.map_err(bad_path)?;
        let Form(form) = form.map_err(bad_form)?;
        ctx.check_form(Some(&form.csrf))?;
        match ctx.app().sign_in_with_link(&token).await {
            Ok(session) => Ok(ctx.start_session(session, None)),
            Err(AppError::InvalidCredentials) => Ok(ctx.link_invalid_page(LinkPurpose::SignIn)),
            Err(error) => Err(error.into()),
        }
    })
    .await
}

/// "Set or reset your password": asks for the email to send a link to.
pub(super) async fn password_page(ctx: Ctx) -> Response {
    let meta = Meta::page(ctx.t("password_title"));
    let data = json!({
        "page": "password",
        "mode": "request",
        "action": ctx.url("/password"),
        "title": ctx.t("password_title"),
        "button": ctx.t("send_password_link"),
        "error": Value::Null,
    });
    ctx.render(StatusCode::OK, "password.html", meta, data)
}

/// Emails a set-password link.
pub(super) async fn send_password_link(ctx: Ctx, form: Result<Form<EmailForm>, FormRejection>) -> Response {
    ctx.run(send_link(&ctx, LinkPurpose::Password, form)).await
}

fn set_password_form(ctx: &Ctx, status: StatusCode, token: &str, error: Option<&str>) -> Response {
    let meta = Meta::page(ctx.t("password_title"));
    let data = json!({
        "page": "set-password",
        "mode": "set",
        "action": ctx.url(&format!("/password/{}", super::encode(token))),
        "title": ctx.t("password_title"),
        "button": ctx.t("save_password"),
        "error": error,
    });
    ctx.render(status, "password.html", meta, data)
}

/// The page an emailed set-password link opens.
pub(super) async fn set_password_page(ctx: Ctx, path: Result<Path<TokenPath>, PathRejection>) -> Response {
    ctx.run(async {
        let Path(TokenPath { token }) = path.map_err(bad_path)?;
        match ctx.app().portal_link_customer(LinkPurpose::Password, &token).await {
            Ok(_) => Ok(set_password_form(&ctx, StatusCode::OK, &token, None)),
            Err(AppError::InvalidCredentials) => Ok(ctx.link_invalid_page(LinkPurpose::Password)),
            Err(error) => Err(error.into()),
        }
    })
    .await
}

/// Sets the password (the link is then used up) and signs in.
pub(super) async fn set_password(
    ctx: Ctx,
    path: Result<Path<TokenPath>, PathRejection>,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    ctx.run(async {
        let Path(TokenPath { token }) = path.map_err(bad_path)?;
        let Form(form) = form.map_err(bad_form)?;
        ctx.check_form(Some(&form.csrf))?;
        if form.password != form.password_again {
            return Ok(set_password_form(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                &token,
                Some(ctx.t("error_password_match")),
            ));
        }
        match ctx.app().set_password_with_link(&token, &form.password).await {
            Ok(session) => Ok(ctx.start_session(session, None)),
            Err(AppError::InvalidCredentials) => Ok(ctx.link_invalid_page(LinkPurpose::Password)),
            Err(AppError::Domain(_)) => {
                Ok(set_password_form(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &token, Some(ctx.t("error_password"))))
            }
            Err(error) => Err(error.into()),
        }
    })
    .await
}

/// Ends the customer session and clears its cookie.
pub(super) async fn sign_out(ctx: Ctx, form: Result<Form<TokenForm>, FormRejection>) -> Response {
    ctx.run(async {
        let Form(form) = form.map_err(bad_form)?;
        ctx.check_form(Some(&form.csrf))?;
        if let Some(token) = &ctx.customer_token {
            ctx.app().end_portal_session(token).await?;
        }
        let mut response = ctx.see_other(&ctx.url(""));
        ctx.set_cookie(&mut response, ctx.cookie(CUSTOMER_COOKIE, String::new(), Some(time::Duration::ZERO)));
        Ok(response)
    })
    .await
}

/// The customer's requests, most recently active first.
pub(super) async fn list_requests(ctx: Ctx, query: Result<Query<ListQuery>, QueryRejection>) -> Response {
    let customer = match ctx.signed_in() {
        Ok(customer) => customer,
        Err(redirect) => return *redirect,
    };
    ctx.run(async {
        let Query(ListQuery { cursor }) = query.map_err(bad_query)?;
        let cursor = match cursor.as_deref() {
            Some(text) => Some(
                kefu_app::Cursor::decode(text)
                    .ok_or_else(|| ApiError::bad_request("request.invalid_cursor", "the cursor is not one of ours"))?,
            ),
            None => None,
        };
        let page = ctx.app().customer_requests(customer, cursor).await?;
        let requests: Vec<Value> = page
            .items
            .iter()
            .map(|ticket| {
                json!({
                    "url": ctx.url(&format!("/requests/{}", ticket.id.0)),
                    "subject": ticket.subject,
                    "number": ctx.fill("request_number", &[("n", &ticket.number.0.to_string())]),
                    "status": ctx.t(status_key(ticket.status)),
                    "status_class": status_key(ticket.status),
                    "updated": local_date(ctx.locale, ticket.updated_at),
                })
            })
            .collect();
        let older =
            page.next_cursor.map(|cursor| ctx.url(&format!("/requests?cursor={}", super::encode(&cursor.encode()))));
        let meta = Meta::page(ctx.t("requests_title"));
        let data = json!({ "page": "requests", "requests": requests, "older": older });
        Ok(ctx.render(StatusCode::OK, "requests.html", meta, data))
    })
    .await
}

/// One of the customer's requests: its public conversation and a reply form.
pub(super) async fn show_request(ctx: Ctx, path: Result<Path<RequestPath>, PathRejection>) -> Response {
    let customer = match ctx.signed_in() {
        Ok(customer) => customer,
        Err(redirect) => return *redirect,
    };
    ctx.run(async {
        let Path(RequestPath { id }) = path.map_err(bad_path)?;
        let request = ctx.app().customer_request(customer, TicketId(id)).await?;
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|message| {
                let (author, mine) = match message.author {
                    AuthorKind::Customer(author) if author == customer.id => (ctx.t("you").to_owned(), true),
                    AuthorKind::Customer(_) => (customer.name.clone(), false),
                    AuthorKind::Agent(agent) => {
                        (request.agent_names.get(&agent).cloned().unwrap_or_else(|| ctx.t("support").to_owned()), false)
                    }
                    AuthorKind::System => (ctx.t("support").to_owned(), false),
                };
                let files: Vec<Value> = request
                    .attachments
                    .iter()
                    .filter(|file| message.attachment_ids.contains(&file.id))
                    .map(|file| {
                        json!({
                            "name": file.filename,
                            "url": ctx.url(&format!("/requests/{id}/attachments/{}", file.id.0)),
                        })
                    })
                    .collect();
                json!({
                    "author": author,
                    "mine": mine,
                    "body": message.body_text,
                    "at": local_date(ctx.locale, message.created_at),
                    "at_iso": message.created_at.to_rfc3339(),
                    "files": files,
                })
            })
            .collect();
        let ticket = &request.ticket;
        let meta = Meta::page(format!(
            "{} · {}",
            ticket.subject,
            ctx.fill("request_number", &[("n", &ticket.number.0.to_string())])
        ));
        let data = json!({
            "page": "request",
            "subject": ticket.subject,
            "number": ctx.fill("request_number", &[("n", &ticket.number.0.to_string())]),
            "status": ctx.t(status_key(ticket.status)),
            "status_class": status_key(ticket.status),
            "created": local_date(ctx.locale, ticket.created_at),
            "messages": messages,
            "closed": ticket.status == Status::Closed,
            "reply_url": ctx.url(&format!("/requests/{id}/reply")),
            "error": Value::Null,
        });
        Ok(ctx.render(StatusCode::OK, "request.html", meta, data))
    })
    .await
}

/// The customer's reply (text and files): a customer message on their ticket.
pub(super) async fn reply(
    ctx: Ctx,
    path: Result<Path<RequestPath>, PathRejection>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let customer = match ctx.signed_in() {
        Ok(customer) => customer,
        Err(redirect) => return *redirect,
    };
    ctx.run(async {
        let Path(RequestPath { id }) = path.map_err(bad_path)?;
        let form = read_multipart(multipart).await?;
        ctx.check_form(Some(form.text("csrf")))?;
        let target = ctx.url(&format!("/requests/{id}"));
        let body = form.text("body").to_owned();
        match ctx.app().customer_reply(customer, TicketId(id), &body, form.files).await {
            Ok(_) => Ok(ctx.see_other(&target)),
            Err(AppError::Domain(kefu_domain::DomainError::Invalid { .. })) => Ok(ctx.message(
                StatusCode::UNPROCESSABLE_ENTITY,
                ctx.t("bad_request_title"),
                ctx.t("error_reply"),
                Some((ctx.t("reply"), target)),
            )),
            Err(error) => Err(error.into()),
        }
    })
    .await
}

/// A file on one of the customer's requests, as a download.
pub(super) async fn attachment(ctx: Ctx, path: Result<Path<AttachmentPath>, PathRejection>) -> Response {
    let customer = match ctx.signed_in() {
        Ok(customer) => customer,
        Err(redirect) => return *redirect,
    };
    ctx.run(async {
        let Path(AttachmentPath { id, attachment }) = path.map_err(bad_path)?;
        let (record, content) = ctx.app().customer_attachment(customer, TicketId(id), AttachmentId(attachment)).await?;
        Ok(crate::attachments::download_response(&record, content))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn sign_in_returns_only_inside_the_help_center() {
        assert_eq!(safe_next(Some("/help/en/requests/3")), Some("/help/en/requests/3"));
        for bad in ["https://evil.example/", "//evil.example/help/", "/help//evil", "/api/v1/tickets", "/help/\\evil"] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
    }
}
