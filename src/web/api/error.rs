//! `ApiError`: the JSON API's errors, in Django REST framework's shapes — `{"detail": "…"}` for
//! request-level problems and `{"field": ["message"]}` for validation.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::errors::{DomainError, FieldErrors};
use crate::web::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not authenticated")]
    NotAuthenticated,
    /// Credentials that were sent and refused (DRF's `AuthenticationFailed`): 401 with the reason.
    #[error("authentication failed: {0}")]
    AuthenticationFailed(&'static str),
    #[error("permission denied")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// The organization requires 2FA and the user has none (Sentry's `2fa-required`).
    #[error("two-factor authentication required")]
    TwoFactorRequired,
    /// A superuser reaching an organization they are not in, outside superuser mode (a session
    /// without it, or any token: a token never carries it). Sentry's `superuser-required`.
    #[error("superuser mode required")]
    SuperuserRequired,
    /// A session without a recent password for a call that needs one (Sentry's `sudo-required`,
    /// naming the user).
    #[error("sudo required")]
    SudoRequired(String),
    /// Sentry's bare `{"detail": {"code": …}}` answers (the password check of `PUT /api/0/auth/`).
    #[error("{1}")]
    Coded(StatusCode, &'static str),
    #[error("moved to {0}")]
    Moved(String),
    #[error("invalid: {0}")]
    Invalid(FieldErrors),
    /// Any status with `{"detail": …}` (a Relay's refused request).
    #[error("{1}")]
    Detail(StatusCode, String),
    #[error("{0}")]
    BadRequest(String),
    #[error("unsupported media type {0}")]
    UnsupportedMediaType(String),
    #[error("payload too large")]
    PayloadTooLarge,
    /// An upload over its limit, with Sentry's message (`Image too large`).
    #[error("{0}")]
    TooLarge(String),
    /// Too many recently (429, `{"detail": …}`).
    #[error("{0}")]
    RateLimited(String),
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::NotFound => ApiError::NotFound,
            AppError::TwoFactorRequired(_) => ApiError::TwoFactorRequired,
            AppError::Forbidden(_) => ApiError::Forbidden,
            AppError::SuperuserModeRequired { .. } => ApiError::SuperuserRequired,
            AppError::LoginRequired { .. } => ApiError::NotAuthenticated,
            AppError::MovedPermanently(location) => ApiError::Moved(location),
            AppError::PayloadTooLarge => ApiError::PayloadTooLarge,
            AppError::UploadTooLarge => ApiError::TooLarge("Image too large".into()),
            AppError::BadRequest(message) => ApiError::BadRequest(message),
            AppError::Internal(cause) => ApiError::Internal(cause),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        DomainError::Db(err).into()
    }
}

impl From<crate::db::Unavailable> for ApiError {
    fn from(err: crate::db::Unavailable) -> Self {
        ApiError::Internal(anyhow::Error::new(err))
    }
}

impl crate::db::FromUnavailable for ApiError {
    fn from_unavailable(err: crate::db::Unavailable) -> Self {
        err.into()
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Invalid(errors) => ApiError::Invalid(errors),
            DomainError::Refused(message) => ApiError::BadRequest(message),
            DomainError::TooLarge(message) => ApiError::TooLarge(message),
            DomainError::RateLimited(message) => ApiError::RateLimited(message),
            DomainError::Conflict(conflicts) => ApiError::BadRequest(format!(
                "{} field(s) were changed by someone else meanwhile.",
                conflicts.len()
            )),
            DomainError::Db(diesel::result::Error::NotFound) => ApiError::NotFound,
            DomainError::Db(err) => ApiError::Internal(anyhow::Error::new(err)),
            DomainError::Internal(err) => ApiError::Internal(err),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotAuthenticated
            | ApiError::AuthenticationFailed(_)
            | ApiError::TwoFactorRequired
            | ApiError::SudoRequired(_) => StatusCode::UNAUTHORIZED,
            ApiError::Coded(status, _) => *status,
            ApiError::Forbidden | ApiError::SuperuserRequired => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Moved(_) => StatusCode::MOVED_PERMANENTLY,
            ApiError::Invalid(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Detail(status, _) => *status,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge | ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        let body = match self {
            ApiError::NotAuthenticated => {
                json!({"detail": "Authentication credentials were not provided."})
            }
            ApiError::AuthenticationFailed(reason) => json!({"detail": reason}),
            ApiError::Forbidden => {
                json!({"detail": "You do not have permission to perform this action."})
            }
            ApiError::NotFound => json!({"detail": "The requested resource does not exist"}),
            ApiError::SudoRequired(username) => json!({"detail": {
                "code": "sudo-required",
                "message": "Account verification required.",
                "extra": {"username": username},
            }}),
            ApiError::Coded(_, code) => json!({"detail": {"code": code}}),
            ApiError::SuperuserRequired => json!({"detail": {
                "code": "superuser-required",
                "message": "You need to re-authenticate for superuser.",
                "extra": {},
            }}),
            ApiError::TwoFactorRequired => json!({"detail": {
                "code": "2fa-required",
                "message": "Organization requires two-factor authentication to be enabled",
                "extra": {},
            }}),
            ApiError::Moved(location) => {
                response.insert_header((header::LOCATION, location.as_str()));
                json!({"detail": "This organization has a new slug.", "location": location})
            }
            ApiError::Invalid(errors) => json!(errors),
            ApiError::BadRequest(message) | ApiError::Detail(_, message) => {
                json!({"detail": message})
            }
            ApiError::UnsupportedMediaType(content_type) => {
                json!({"detail": format!("Unsupported media type \"{content_type}\" in request.")})
            }
            ApiError::PayloadTooLarge => json!({"detail": "Request body too large."}),
            ApiError::TooLarge(message) | ApiError::RateLimited(message) => {
                json!({"detail": message})
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "API request failed");
                json!({"detail": "Internal Error"})
            }
        };
        response.json(body)
    }
}
