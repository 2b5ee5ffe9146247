//! The user's own account, with its sidebar: `/account/` (name and email addresses, with the
//! verification link `/account/confirm-email/{user_id}/{token}/`), `/account/password/` and
//! `/account/security/` (two-factor authentication), `/account/api-tokens/` (personal tokens). Getting back into an account without a password
//! is `web::recover`.

pub mod password;
pub mod security;
pub mod tokens;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::accept;
use super::error::AppError;
pub use super::layout::AccountSection;
use super::page::{PageCtx, render};
use super::respond::{client_ip, link_refusal, redirect_with, throttle_ip};
use super::session::{self, CurrentUser, FlashLevel, MaybeUser};
use crate::errors::{DomainError, FieldErrors};
use crate::models::actor::Actor;
use crate::models::user::User;
use crate::profile::{self, UserEmail};
use crate::web::state::AppState;

/// `?remove=ADDRESS`: the address whose removal is being confirmed.
#[derive(Debug, Default, Deserialize)]
pub struct DetailsQuery {
    #[serde(default)]
    remove: String,
}

/// One address as the page lists it.
pub struct AddressRow {
    pub email: String,
    pub is_verified: bool,
    pub is_primary: bool,
}

#[derive(Template)]
#[template(path = "account/index.html")]
struct DetailsPage {
    ctx: PageCtx,
    username: String,
    /// Not `name`: the input macro has a parameter of that name, which would shadow it.
    full_name: String,
    name_error: String,
    addresses: Vec<AddressRow>,
    new_email: String,
    email_error: String,
    /// The address whose removal is being confirmed.
    removing: Option<String>,
    /// An invitation waiting for a verified address: the way back to it.
    pending_invite: Option<String>,
}

/// What the page's forms may type back after an error.
#[derive(Default)]
struct Typed {
    name: Option<String>,
    new_email: String,
    errors: FieldErrors,
}

async fn details_page(
    state: &AppState,
    session: &Session,
    user: &User,
    removing: Option<String>,
    typed: Typed,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let user_id = user.id;
    let emails = state
        .db(move |conn| profile::emails_of(conn, user_id))
        .await?;
    let addresses: Vec<AddressRow> = emails
        .into_iter()
        .map(|UserEmail { email, is_verified }| AddressRow {
            is_primary: crate::models::user::normalize_email(&email) == user.email_normalized,
            email,
            is_verified,
        })
        .collect();
    // only an address of the user's own, and never the primary one, is asked about
    let removing = removing.and_then(|raw| {
        addresses
            .iter()
            .find(|a| !a.is_primary && a.email.eq_ignore_ascii_case(raw.trim()))
            .map(|a| a.email.clone())
    });
    let page = DetailsPage {
        ctx: PageCtx::for_account(session, user, AccountSection::Details)?,
        username: user.username.clone(),
        full_name: typed.name.unwrap_or_else(|| user.name.clone()),
        name_error: typed.errors.get("name"),
        addresses,
        new_email: typed.new_email,
        email_error: typed.errors.get("email"),
        removing,
        pending_invite: accept::pending_path(session),
    };
    render(status, &page)
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    query: web::Query<DetailsQuery>,
) -> Result<HttpResponse, AppError> {
    let removing = Some(query.into_inner().remove).filter(|r| !r.is_empty());
    details_page(
        &state,
        &session,
        &user,
        removing,
        Typed::default(),
        StatusCode::OK,
    )
    .await
}

/// What the forms of `/account/` ask for.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum DetailsAction {
    /// Change the name.
    Name {
        #[serde(default)]
        name: String,
    },
    /// Add an address (verified by the link sent to it).
    Add {
        #[serde(default)]
        email: String,
    },
    /// Send a new verification link to an address.
    Verify {
        #[serde(default)]
        email: String,
    },
    /// Make a verified address the primary one.
    Primary {
        #[serde(default)]
        email: String,
    },
    /// Remove an address (after the confirmation).
    Remove {
        #[serde(default)]
        email: String,
    },
}

/// `POST /account/`: the name, and adding, verifying, making primary and removing addresses.
pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    form: web::Form<DetailsAction>,
) -> Result<HttpResponse, AppError> {
    let actor = Actor::user(&user, client_ip(&req));
    let config = state.config.clone();
    let acting = user.clone();
    let action = form.into_inner();
    let mut typed = Typed::default();
    let done: Result<String, DomainError> = match action {
        DetailsAction::Name { name } => {
            typed.name = Some(name.clone());
            state
                .db(move |conn| profile::change_name(conn, &actor, &acting, &name))
                .await
                .map(|()| "Your name is saved.".to_owned())
        }
        DetailsAction::Add { email } => {
            typed.new_email = email.clone();
            state
                .db(move |conn| profile::add_email(conn, &config, &actor, &acting, &email))
                .await
                .map(|address| {
                    format!(
                        "{address} is added. Open the link we sent to it to verify it; it works \
                         for 3 days."
                    )
                })
        }
        DetailsAction::Verify { email } => {
            let message = format!("We sent a verification link to {email}. It works for 3 days.");
            state
                .db(move |conn| profile::send_verification(conn, &config, &acting, &email))
                .await
                .map(|()| message)
        }
        DetailsAction::Primary { email } => state
            .db(move |conn| profile::make_primary(conn, &config, &actor, &acting, &email))
            .await
            .map(|address| format!("{address} is your primary address now.")),
        DetailsAction::Remove { email } => state
            .db(move |conn| profile::remove_email(conn, &actor, &acting, &email))
            .await
            .map(|address| format!("{address} is removed from your account.")),
    };
    match done {
        Ok(message) => redirect_with(&session, FlashLevel::Success, message, "/account/"),
        Err(DomainError::Invalid(errors)) => {
            typed.errors = errors;
            details_page(
                &state,
                &session,
                &user,
                None,
                typed,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(DomainError::Refused(message) | DomainError::RateLimited(message)) => {
            redirect_with(&session, FlashLevel::Error, message, "/account/")
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "account/confirmed.html")]
struct ConfirmedPage {
    ctx: PageCtx,
    email: String,
    error: String,
    /// An invitation waiting for this verification: the way back to it.
    pending_invite: Option<String>,
}

/// `GET /account/confirm-email/{user_id}/{token}/`: the link in the verification email.
pub async fn confirm(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (user_id, token) = path.into_inner();
    let (throttle, ip) = (state.config.login_throttle, throttle_ip(&req));
    let result = state
        .db(move |conn| profile::confirm_email(conn, throttle, &ip, user_id, &token))
        .await;
    let (status, email, error) = match result {
        Ok(email) => (StatusCode::OK, email, String::new()),
        Err(error) => {
            let (status, message) = link_refusal(error)?;
            (status, String::new(), message)
        }
    };
    let page = ConfirmedPage {
        ctx: PageCtx::new(&session, user.as_ref())?,
        email,
        error,
        pending_invite: accept::pending_path(&session),
    };
    render(status, &page)
}

/// Flashes `message` and logs the session in again as `user` (a password change ended every
/// session of theirs, this one too).
pub fn keep_logged_in(session: &Session, user: &User, message: &str) -> Result<(), AppError> {
    session::log_in(session, user)?;
    session::flash(session, FlashLevel::Success, message)
}
