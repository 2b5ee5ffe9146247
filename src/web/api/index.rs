//! `GET /api/0/`: who is calling (Sentry's `IndexEndpoint`), what `sentry-cli info` and
//! `sentry-cli login` read: `{"version": "0", "auth": {"scopes": […]} or null, "user": {…} or null}`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::auth::{Caller, caller};
use super::error::ApiError;
use super::serialize;
use crate::models::user::User;
use crate::profile;
use crate::tokens::Credential;
use crate::web::state::AppState;

pub async fn user_json(state: &AppState, user: User) -> Result<serde_json::Value, ApiError> {
    let of = user.clone();
    let (emails, has_2fa) = state
        .db(move |conn| {
            Ok::<_, diesel::result::Error>((
                profile::emails_of(conn, of.id)?,
                of.has_two_factor(conn)?,
            ))
        })
        .await?;
    Ok(serialize::user(&user, &emails, has_2fa))
}

pub async fn index(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (user, auth) = match caller(&req).await? {
        Caller::Anonymous => (None, None),
        // a session is no token: Sentry shows no scopes for it
        Caller::Session(user) => (Some(user), None),
        Caller::Token(credential) => {
            let scopes: Vec<&str> = credential.scopes().iter().collect();
            let user = match *credential {
                Credential::Personal { user, .. } => Some(user),
                Credential::Org { .. } => None,
            };
            (user, Some(json!({ "scopes": scopes })))
        }
    };
    let user = match user {
        Some(user) => Some(user_json(&state, user).await?),
        None => None,
    };
    Ok(HttpResponse::Ok().json(json!({"version": "0", "auth": auth, "user": user})))
}

/// `GET /api/0/internal/health/`: 200 for any authenticated caller (terraform's Sentry provider
/// asks it before every run), with the database checked; 401 otherwise.
pub async fn health(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if matches!(caller(&req).await?, Caller::Anonymous) {
        return Err(ApiError::NotAuthenticated);
    }
    state.db(crate::db::ping).await?;
    Ok(HttpResponse::Ok().json(json!({"problems": [], "healthy": {"database": true}})))
}
