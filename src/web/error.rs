//! `AppError`: the one error type of the HTML handlers. Each variant maps to a status code and an error
//! page in the site's layout; the user's message is kept apart from the logged cause, which never
//! reaches the page.
//!
//! Use it from every HTML handler and extractor (`Result<_, AppError>`). Field errors are not errors:
//! they are data (`validation::FieldErrors`) that the handler renders into the form.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::errors::DomainError;
use crate::web::layout::PageCtx;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Logged in, but the role or permission does not allow this; the message says what is missing.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A superuser page, or an organization the superuser is not a member of (`for_org`), opened
    /// without superuser mode on; `next` is the page, to come back to once it is on.
    #[error("superuser mode required")]
    SuperuserModeRequired { next: String, for_org: bool },
    /// A state-changing request without a valid CSRF token, or from another site.
    #[error("CSRF check failed: {0}")]
    Csrf(&'static str),
    /// The organization (named) requires two-factor authentication, which the user has not set up.
    #[error("two-factor authentication required")]
    TwoFactorRequired(String),
    /// Not logged in: send the browser to the login page, then back to `next`.
    #[error("login required")]
    LoginRequired { next: String },
    /// The request must go elsewhere first (e.g. to turn superuser mode on again): 303.
    #[error("redirect to {0}")]
    Redirect(String),
    /// The page moved for good (a renamed organization): 301 to this location.
    #[error("moved to {0}")]
    MovedPermanently(String),
    #[error("too many requests")]
    TooManyRequests {
        message: String,
        retry_after: Duration,
    },
    #[error("payload too large")]
    PayloadTooLarge,
    /// An uploaded file over its limit.
    #[error("upload too large")]
    UploadTooLarge,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }

    fn title_and_message(&self) -> (&'static str, String) {
        match self {
            AppError::NotFound => (
                "Page not found",
                "The page you asked for does not exist, or you do not have access to it.".into(),
            ),
            AppError::Forbidden(message) => ("Permission denied", message.clone()),
            AppError::SuperuserModeRequired { for_org: false, .. } => (
                "Superuser mode is off",
                "Turn on superuser mode first: enter your password again to use these pages.".into(),
            ),
            AppError::SuperuserModeRequired { for_org: true, .. } => (
                "Superuser mode is off",
                "You are not a member of this organization. As a superuser you can open it once                  superuser mode is on: your actions are then recorded as staff."
                    .into(),
            ),
            AppError::Csrf(reason) => (
                "Request refused",
                format!(
                    "{reason} This protects you from forms submitted by other sites. \
                     Go back, reload the page and submit it again."
                ),
            ),
            AppError::LoginRequired { .. } => ("Login required", "Please log in.".into()),
            AppError::TwoFactorRequired(org) => (
                "Two-factor authentication required",
                format!(
                    "{org} requires every member to use two-factor authentication. Set it up on your \
                     account's security page (/account/security/), then come back."
                ),
            ),
            AppError::MovedPermanently(_) => ("Moved", "This page has moved.".into()),
            AppError::Redirect(_) => ("Redirect", "Continue on the next page.".into()),
            AppError::TooManyRequests { message, .. } => ("Too many attempts", message.clone()),
            AppError::PayloadTooLarge => (
                "Request too large",
                "What you sent is larger than this form accepts. Shorten it and try again.".into(),
            ),
            AppError::UploadTooLarge => (
                "Image too large",
                "Image too large: an avatar may be at most 5 MB. Choose a smaller image and try again.".into(),
            ),
            AppError::BadRequest(message) => ("Bad request", message.clone()),
            AppError::Internal(_) => (
                "Something went wrong",
                "The server could not complete this request. Nothing was changed; try again in a \
                 moment. If it keeps happening, the server log has the details."
                    .into(),
            ),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            // a row looked up by what the request named is gone (e.g. deleted meanwhile)
            diesel::result::Error::NotFound => AppError::NotFound,
            err => AppError::Internal(anyhow::Error::new(err).context("database query")),
        }
    }
}

impl From<crate::db::Unavailable> for AppError {
    fn from(err: crate::db::Unavailable) -> Self {
        AppError::Internal(anyhow::Error::new(err))
    }
}

impl crate::db::FromUnavailable for AppError {
    fn from_unavailable(err: crate::db::Unavailable) -> Self {
        err.into()
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        AppError::Internal(anyhow::Error::new(err).context("getting a database connection"))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task failed: {err}"))
    }
}

impl From<askama::Error> for AppError {
    fn from(err: askama::Error) -> Self {
        AppError::Internal(anyhow::Error::new(err).context("rendering a template"))
    }
}

impl From<actix_session::SessionInsertError> for AppError {
    fn from(err: actix_session::SessionInsertError) -> Self {
        AppError::Internal(anyhow::anyhow!("writing the session: {err}"))
    }
}

/// A `DomainError` that reaches a handler unhandled: invalid input should have been rendered into the
/// form, so only the database and internal cases are expected here.
impl From<DomainError> for AppError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Invalid(errors) => AppError::BadRequest(errors.to_string()),
            DomainError::Refused(message) => AppError::BadRequest(message),
            DomainError::TooLarge(_) => AppError::PayloadTooLarge,
            DomainError::RateLimited(message) => AppError::TooManyRequests {
                message,
                retry_after: std::time::Duration::from_secs(60),
            },
            DomainError::Conflict(conflicts) => AppError::BadRequest(format!(
                "{} field(s) were changed by someone else meanwhile; reload the page.",
                conflicts.len()
            )),
            DomainError::Db(err) => err.into(),
            DomainError::Internal(err) => AppError::Internal(err),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: PageCtx,
    title: &'a str,
    message: &'a str,
    status: u16,
    /// What to do about it: (link, label).
    action: Option<(String, &'a str)>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) | AppError::Csrf(_) | AppError::SuperuserModeRequired { .. } => {
                StatusCode::FORBIDDEN
            }
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            AppError::TwoFactorRequired(_) => StatusCode::UNAUTHORIZED,
            AppError::MovedPermanently(_) => StatusCode::MOVED_PERMANENTLY,
            AppError::Redirect(_) => StatusCode::SEE_OTHER,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge | AppError::UploadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::LoginRequired { next } = self {
            let location = format!("/login?next={}", super::urls::encode_query(next));
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        if let AppError::Redirect(location) = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location.as_str()))
                .finish();
        }
        if let AppError::MovedPermanently(location) = self {
            return HttpResponse::MovedPermanently()
                .insert_header((header::LOCATION, location.as_str()))
                .finish();
        }
        if let AppError::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let status = self.status_code();
        let (title, message) = self.title_and_message();
        let page = ErrorPage {
            ctx: PageCtx::bare(),
            title,
            message: &message,
            status: status.as_u16(),
            action: match self {
                AppError::TwoFactorRequired(_) => Some((
                    "/account/security/".to_owned(),
                    "Set up two-factor authentication",
                )),
                AppError::SuperuserModeRequired { next, .. } => Some((
                    format!("/superuser/?next={}", super::urls::encode_query(next)),
                    "Turn on superuser mode",
                )),
                _ => None,
            },
        };
        let mut response = HttpResponse::build(status);
        response.content_type("text/html; charset=utf-8");
        if let AppError::TooManyRequests { retry_after, .. } = self {
            response.insert_header((
                header::RETRY_AFTER,
                retry_after.as_secs().max(1).to_string(),
            ));
        }
        match page.render() {
            Ok(body) => response.body(body),
            Err(err) => {
                tracing::error!(error = %err, "rendering the error page failed");
                response
                    .content_type("text/plain; charset=utf-8")
                    .body(message)
            }
        }
    }
}
