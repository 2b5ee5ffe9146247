//! The Sentry-compatible JSON API. A request authenticates with a token (`Authorization: Bearer`)
//! or with the browser session plus the `X-CSRFToken` header (checked by the CSRF middleware); see
//! [`auth`].

pub mod audit_logs;
pub mod auth;
pub mod error;
pub mod index;
pub mod members;
pub mod organization_index;
pub mod organizations;
pub mod pagination;
pub mod relays;
pub mod serialize;
pub mod sudo;
pub mod tokens;

use actix_web::{HttpRequest, web};
use serde_json::Value;

use error::ApiError;

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
