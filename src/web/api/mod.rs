//! The Sentry-compatible JSON API: `GET/PUT /api/0/organizations/{org}/`. Session cookie plus the
//! `X-CSRFToken` header (checked by the CSRF middleware) authenticate it for now.

pub mod error;
pub mod organizations;
pub mod serialize;

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde_json::Value;

use super::access::{Denied, OrgAccess};
use error::ApiError;

/// `OrgAccess` for the API: the same lookup, with JSON errors (401, 404, 301).
pub struct ApiAccess(pub OrgAccess);

impl FromRequest for ApiAccess {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match OrgAccess::resolve(&req).await {
                Ok(access) => Ok(ApiAccess(access)),
                Err(Denied::Failed(err)) => Err(err.into()),
                Err(Denied::NotLoggedIn) => Err(ApiError::NotAuthenticated),
                // the API does not tell a superuser outside superuser mode more than anyone else
                Err(Denied::NotFound | Denied::SuperuserModeOff) => Err(ApiError::NotFound),
                Err(Denied::Moved(location)) => Err(ApiError::Moved(location)),
                Err(Denied::TwoFactorRequired(_)) => Err(ApiError::TwoFactorRequired),
            }
        })
    }
}

/// Reads a JSON request body of at most `limit` bytes, with DRF's answers for what is not JSON.
pub async fn json_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Value, ApiError> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !content_type.starts_with("application/json") {
        return Err(ApiError::UnsupportedMediaType(content_type));
    }
    let body = payload
        .to_bytes_limited(limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?
        .map_err(|e| ApiError::BadRequest(format!("The request body could not be read: {e}")))?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("JSON parse error - {e}")))
}
