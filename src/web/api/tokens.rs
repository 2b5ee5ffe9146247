//! `GET/POST/DELETE /api/0/api-tokens/`: the caller's personal tokens (Sentry's
//! `ApiTokensEndpoint`). Session only: a request with an `Authorization` header is not
//! authenticated here, so a token cannot make or revoke tokens.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::auth::SessionOnly;
use super::error::ApiError;
use super::{json_body, serialize};
use crate::errors::FieldErrors;
use crate::models::actor::Actor;
use crate::tokens::personal::{self, Request};
use crate::web::limits::API_BODY_LIMIT;
use crate::web::respond::client_ip;
use crate::web::state::AppState;

pub async fn list(
    state: web::Data<AppState>,
    SessionOnly(user): SessionOnly,
) -> Result<HttpResponse, ApiError> {
    let user_id = user.id;
    let tokens = state.db(move |conn| personal::list(conn, user_id)).await?;
    Ok(HttpResponse::Ok().json(
        tokens
            .iter()
            .map(|t| serialize::api_token(t, None))
            .collect::<Vec<_>>(),
    ))
}

/// The body as an object, with DRF's answer for anything else.
async fn object(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    match json_body(req, payload, API_BODY_LIMIT).await? {
        Value::Object(data) => Ok(data),
        other => Err(ApiError::Invalid(FieldErrors::single(
            "non_field_errors",
            format!(
                "Invalid data. Expected a dictionary, but got {}.",
                crate::drf::python_type_name(&other)
            ),
        ))),
    }
}

/// `POST`: `name` (optional), `scopes` (a list of Sentry's scope names), `expiresAt` (optional):
/// 201 with the token, whose text is in the answer this once.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    SessionOnly(user): SessionOnly,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let data = object(&req, payload).await?;
    let mut errors = FieldErrors::new();
    let text_field = |key: &str, errors: &mut FieldErrors| match data.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            errors.add(key, "Not a valid string.");
            String::new()
        }
    };
    let name = text_field("name", &mut errors);
    let expires = text_field("expiresAt", &mut errors);
    let scopes = match data.get("scopes") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| item.to_string())
            })
            .collect(),
        None | Some(Value::Null) => Vec::new(),
        Some(other) => {
            errors.add(
                "scopes",
                format!(
                    "Expected a list of items but got type \"{}\".",
                    crate::drf::python_type_name(other)
                ),
            );
            Vec::new()
        }
    };
    errors.into_result()?;
    let (config, actor) = (state.config.clone(), Actor::user(&user, client_ip(&req)));
    let request = Request {
        name,
        scopes,
        expires,
    };
    let (token, text) = state
        .db(move |conn| personal::create(conn, &config, &actor, &user, &request))
        .await?;
    Ok(HttpResponse::Created().json(serialize::api_token(&token, Some(&text))))
}

/// `DELETE` with `{"tokenId": ID}`: 204; 404 when the caller has no such token (someone else's
/// looks the same as none).
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    SessionOnly(user): SessionOnly,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let data = object(&req, payload).await?;
    let id = match data.get("tokenId") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let Some(id) = id else {
        return Err(ApiError::Invalid(FieldErrors::single(
            "tokenId",
            "A valid token id is required.",
        )));
    };
    let actor = Actor::user(&user, client_ip(&req));
    let revoked = state
        .db(move |conn| personal::revoke(conn, &actor, &user, id))
        .await?;
    match revoked {
        Some(_) => Ok(HttpResponse::NoContent().finish()),
        None => Err(ApiError::NotFound),
    }
}
