//! `PUT /api/0/auth/` with `{"password": …}` (Sentry's `AuthIndexEndpoint.put`, what its sudo
//! dialog calls): proves the session's password again and grants sudo, answering with the user.
//! The check goes through the login throttle. Session only.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::auth::SessionOnly;
use super::error::ApiError;
use super::json_body;
use crate::errors::DomainError;
use crate::web::limits::API_BODY_LIMIT;
use crate::web::respond::client_ip;
use crate::web::state::AppState;

pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    SessionOnly(user): SessionOnly,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&req, payload, API_BODY_LIMIT).await?;
    let password = match body.get("password") {
        Some(Value::String(text)) if !text.is_empty() => text.clone(),
        _ => {
            return Err(ApiError::Coded(
                StatusCode::BAD_REQUEST,
                "missing_password_or_u2f",
            ));
        }
    };
    let throttle = state.config.login_throttle;
    let ip = client_ip(&req).unwrap_or_else(|| "unknown".into());
    let checked = user.clone();
    let proved = state
        .db(move |conn| {
            crate::auth::throttle::require_password(conn, throttle, &ip, &checked, &password)
        })
        .await;
    match proved {
        Ok(()) => {}
        Err(DomainError::Invalid(_)) => {
            return Err(ApiError::Coded(StatusCode::FORBIDDEN, "ignore"));
        }
        Err(other) => return Err(other.into()),
    }
    crate::web::sudo::grant(&session)?;
    super::index::user_json(&state, user)
        .await
        .map(|user| HttpResponse::Ok().json(user))
}
