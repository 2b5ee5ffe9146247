//! `/account/api-tokens/`: the user's personal API tokens: make one (name, scopes grouped as Sentry's
//! page groups them, an optional expiry), see it once with a copy button, list them, revoke one after
//! a confirmation. The rules are `crate::tokens::personal`'s.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::AccountSection;
use crate::errors::{DomainError, FieldErrors};
use crate::models::actor::Actor;
use crate::models::api_token::ApiToken;
use crate::models::user::User;
use crate::tokens::personal::{self, Request};
use crate::tokens::scopes::{GROUPS, Scopes};
use crate::web::error::AppError;
use crate::web::page::{PageCtx, render};
use crate::web::respond::{client_ip, redirect_with};
use crate::web::session::{self, CurrentUser, FlashLevel};
use crate::web::state::AppState;

const PAGE: &str = "/account/api-tokens/";
/// The session key of a token just made: its id and text, taken (and so shown) once.
const NEW_TOKEN: &str = "new_api_token";

/// One token as the list shows it.
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<&'static str>,
    pub last_characters: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    pub expired: bool,
}

fn row(token: &ApiToken, now: chrono::NaiveDateTime) -> TokenRow {
    let day = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M UTC").to_string();
    TokenRow {
        id: token.id,
        name: token.name.clone(),
        scopes: Scopes::from_stored(&token.scopes).iter().collect(),
        last_characters: token.token_last_characters.clone(),
        created: day(token.created_at),
        last_used: token
            .last_used_at
            .map(day)
            .unwrap_or_else(|| "never".into()),
        expires: token.expires_at.map(day).unwrap_or_else(|| "never".into()),
        expired: token.is_expired(now),
    }
}

#[derive(Template)]
#[template(path = "account/api_tokens.html")]
struct TokensPage {
    ctx: PageCtx,
    tokens: Vec<TokenRow>,
    /// The token just made, shown this once: its text.
    new_token: Option<String>,
    /// The token whose revocation is being confirmed.
    revoking: Option<TokenRow>,
    groups: &'static [(&'static str, &'static [(&'static str, &'static str)])],
    typed_name: String,
    typed_scopes: Vec<String>,
    typed_expires: String,
    errors: FieldErrors,
}

impl TokensPage {
    fn is_checked(&self, scope: &str) -> bool {
        self.typed_scopes.iter().any(|s| s == scope)
    }

    /// An element id for a scope's checkbox (`org:read` → `org_read`).
    fn dom_id(&self, scope: &str) -> String {
        scope.replace(':', "_")
    }

    fn is_target(&self, id: &i64) -> bool {
        self.revoking.as_ref().is_some_and(|r| r.id == *id)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TokensQuery {
    #[serde(default)]
    revoke: Option<i64>,
}

async fn tokens_page(
    state: &AppState,
    session: &Session,
    user: &User,
    revoke: Option<i64>,
    typed: (String, Vec<String>, String),
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let user_id = user.id;
    let tokens = state.db(move |conn| personal::list(conn, user_id)).await?;
    let now = crate::db::query::now();
    let rows: Vec<TokenRow> = tokens.iter().map(|t| row(t, now)).collect();
    let new_token =
        session::take(session, NEW_TOKEN).and_then(|raw| serde_json::from_str::<String>(&raw).ok());
    let revoking = revoke.and_then(|id| tokens.iter().find(|t| t.id == id).map(|t| row(t, now)));
    let (typed_name, typed_scopes, typed_expires) = typed;
    let page = TokensPage {
        ctx: PageCtx::for_account(session, user, AccountSection::ApiTokens)?,
        tokens: rows,
        new_token,
        revoking,
        groups: GROUPS,
        typed_name,
        typed_scopes,
        typed_expires,
        errors,
    };
    render(status, &page)
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    query: web::Query<TokensQuery>,
) -> Result<HttpResponse, AppError> {
    tokens_page(
        &state,
        &session,
        &user,
        query.revoke,
        (String::new(), vec!["org:read".into()], String::new()),
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST /account/api-tokens/`: `action=create` with `name`, `scopes` (one field per scope) and
/// `expires` (`YYYY-MM-DD`, optional); or `action=revoke` with `token` (an id).
pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let fields = form.into_inner();
    let get = |name: &str| {
        fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let actor = Actor::user(&user, client_ip(&req));
    match get("action").as_str() {
        "create" => {
            let request = Request {
                name: get("name"),
                scopes: fields
                    .iter()
                    .filter(|(k, _)| k == "scopes")
                    .map(|(_, v)| v.clone())
                    .collect(),
                expires: get("expires"),
            };
            let typed = (
                request.name.clone(),
                request.scopes.clone(),
                request.expires.clone(),
            );
            let (config, acting) = (state.config.clone(), user.clone());
            let made = state
                .db(move |conn| personal::create(conn, &config, &actor, &acting, &request))
                .await;
            match made {
                Ok((_, text)) => {
                    session.insert(NEW_TOKEN, &text)?;
                    redirect_with(
                        &session,
                        FlashLevel::Success,
                        "Token made. Copy it now: it is shown only this once.",
                        PAGE,
                    )
                }
                Err(DomainError::Invalid(errors)) => {
                    tokens_page(
                        &state,
                        &session,
                        &user,
                        None,
                        typed,
                        errors,
                        StatusCode::BAD_REQUEST,
                    )
                    .await
                }
                Err(other) => Err(other.into()),
            }
        }
        "revoke" => {
            let id: i64 = get("token")
                .trim()
                .parse()
                .map_err(|_| AppError::BadRequest("That is not a token id.".into()))?;
            let acting = user.clone();
            let revoked = state
                .db(move |conn| personal::revoke(conn, &actor, &acting, id))
                .await?;
            match revoked {
                Some(token) => redirect_with(
                    &session,
                    FlashLevel::Success,
                    format!(
                        "The token {} is revoked: it works no more.",
                        personal::describe(&token)
                    ),
                    PAGE,
                ),
                None => Err(AppError::NotFound),
            }
        }
        other => Err(AppError::BadRequest(format!("Unknown action \"{other}\"."))),
    }
}
