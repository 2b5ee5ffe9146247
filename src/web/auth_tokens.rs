//! `/settings/{org}/auth-tokens/`: the organization's auth tokens (owners and managers): make one
//! (shown once, with a copy button), rename one (`?edit=ID`), revoke one after a confirmation
//! (`?revoke=ID`). The rules are `crate::tokens::org`'s.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::access::OrgAccess;
use super::error::AppError;
use super::page::{PageCtx, Section, render};
use super::respond::redirect_with;
use super::session::{self, FlashLevel};
use crate::errors::{DomainError, FieldErrors};
use crate::models::org_token::OrgToken;
use crate::tokens::org;
use crate::web::state::AppState;

/// The session key of a token just made: its organization and text, taken (and so shown) once.
const NEW_TOKEN: &str = "new_org_token";

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub last_characters: String,
    pub created: String,
    pub last_used: String,
}

fn row(token: &OrgToken) -> TokenRow {
    let day = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M UTC").to_string();
    TokenRow {
        id: token.id,
        name: token.name.clone(),
        last_characters: token.token_last_characters.clone(),
        created: day(token.created_at),
        last_used: token
            .last_used_at
            .map(day)
            .unwrap_or_else(|| "never".into()),
    }
}

#[derive(Template)]
#[template(path = "settings/auth_tokens.html")]
struct AuthTokensPage {
    ctx: PageCtx,
    slug: String,
    url: String,
    tokens: Vec<TokenRow>,
    new_token: Option<String>,
    editing: Option<TokenRow>,
    revoking: Option<TokenRow>,
    typed_name: String,
    errors: FieldErrors,
    edit_errors: FieldErrors,
}

impl AuthTokensPage {
    fn is_target(&self, id: &i64) -> bool {
        self.editing.as_ref().is_some_and(|r| r.id == *id)
            || self.revoking.as_ref().is_some_and(|r| r.id == *id)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AuthTokensQuery {
    #[serde(default)]
    edit: Option<i64>,
    #[serde(default)]
    revoke: Option<i64>,
}

/// What the page shows besides the list.
#[derive(Default)]
struct Overlay {
    query: AuthTokensQuery,
    typed_name: String,
    errors: FieldErrors,
    edit_errors: FieldErrors,
    /// The rename form as typed, after an error.
    edit_name: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    session: &Session,
    access: &OrgAccess,
    overlay: Overlay,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let org_id = access.org.id;
    let tokens = state.db(move |conn| org::list(conn, org_id)).await?;
    let new_token = session::take(session, NEW_TOKEN)
        .and_then(|raw| serde_json::from_str::<(String, String)>(&raw).ok())
        .filter(|(slug, _)| *slug == access.org.slug)
        .map(|(_, text)| text);
    let find = |id: Option<i64>| id.and_then(|id| tokens.iter().find(|t| t.id == id).map(row));
    let mut editing = find(overlay.query.edit);
    if let (Some(edit), Some(name)) = (editing.as_mut(), overlay.edit_name) {
        edit.name = name;
    }
    let page = AuthTokensPage {
        ctx: PageCtx::for_org(session, access, Section::AuthTokens)?,
        slug: access.org.slug.clone(),
        url: org::instance_url(&state.config),
        revoking: find(overlay.query.revoke),
        editing,
        tokens: tokens.iter().map(row).collect(),
        new_token,
        typed_name: overlay.typed_name,
        errors: overlay.errors,
        edit_errors: overlay.edit_errors,
    };
    render(status, &page)
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    access: OrgAccess,
    query: web::Query<AuthTokensQuery>,
) -> Result<HttpResponse, AppError> {
    access.require_write()?;
    let overlay = Overlay {
        query: query.into_inner(),
        ..Overlay::default()
    };
    tokens_page(&state, &session, &access, overlay, StatusCode::OK).await
}

/// What the page's forms ask for.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum TokenAction {
    Create {
        #[serde(default)]
        name: String,
    },
    Rename {
        #[serde(deserialize_with = "crate::web::form::id")]
        token: i64,
        #[serde(default)]
        name: String,
    },
    Revoke {
        #[serde(deserialize_with = "crate::web::form::id")]
        token: i64,
    },
}

pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    access: OrgAccess,
    form: web::Form<TokenAction>,
) -> Result<HttpResponse, AppError> {
    access.require_write()?;
    let here = format!("/settings/{}/auth-tokens/", access.org.slug);
    let (actor, organization, config) = (
        access.actor_of(&req),
        access.org.clone(),
        state.config.clone(),
    );
    match form.into_inner() {
        TokenAction::Create { name } => {
            let typed = name.clone();
            let made = state
                .db(move |conn| org::create(conn, &config, &actor, &organization, &name))
                .await;
            match made {
                Ok((token, text)) => {
                    session.insert(NEW_TOKEN, (&access.org.slug, &text))?;
                    redirect_with(
                        &session,
                        FlashLevel::Success,
                        format!(
                            "Token “{}” made. Copy it now: it is shown only this once.",
                            token.name
                        ),
                        &here,
                    )
                }
                Err(DomainError::Invalid(errors)) => {
                    let overlay = Overlay {
                        typed_name: typed,
                        errors,
                        ..Overlay::default()
                    };
                    tokens_page(&state, &session, &access, overlay, StatusCode::BAD_REQUEST).await
                }
                Err(other) => Err(other.into()),
            }
        }
        TokenAction::Rename { token, name } => {
            let typed = name.clone();
            let renamed = state
                .db(move |conn| org::rename(conn, &organization, token, &name))
                .await;
            match renamed {
                Ok(Some(token)) => redirect_with(
                    &session,
                    FlashLevel::Success,
                    format!("Token renamed “{}”.", token.name),
                    &here,
                ),
                Ok(None) => Err(AppError::NotFound),
                Err(DomainError::Invalid(edit_errors)) => {
                    let overlay = Overlay {
                        query: AuthTokensQuery {
                            edit: Some(token),
                            revoke: None,
                        },
                        edit_errors,
                        edit_name: Some(typed),
                        ..Overlay::default()
                    };
                    tokens_page(&state, &session, &access, overlay, StatusCode::BAD_REQUEST).await
                }
                Err(other) => Err(other.into()),
            }
        }
        TokenAction::Revoke { token } => {
            let revoked = state
                .db(move |conn| org::revoke(conn, &actor, &organization, token))
                .await?;
            match revoked {
                Some(token) => redirect_with(
                    &session,
                    FlashLevel::Success,
                    format!("Token “{}” revoked: it works no more.", token.name),
                    &here,
                ),
                None => Err(AppError::NotFound),
            }
        }
    }
}
