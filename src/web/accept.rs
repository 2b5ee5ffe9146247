//! `/accept/{member_id}/{token}/`: accepting an invitation, as the logged-in user or after creating
//! an account (whose email, the invited address, counts as verified: the link proved it).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::encode_query;
use super::error::AppError;
use super::page::{PageCtx, render};
use super::respond::{client_ip, see_other};
use super::session::{self, FlashLevel, MaybeUser};
use crate::db::{query, write_tx};
use crate::members;
use crate::models::actor::Actor;
use crate::models::member::Member;
use crate::models::organization::Organization;
use crate::models::user::{EmailAddress, NewUser, Password, User, Username};
use crate::validation::{FieldErrors, SaveError};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "accept.html")]
struct AcceptPage {
    ctx: PageCtx,
    path: String,
    path_encoded: String,
    org_name: String,
    role: &'static str,
    email: String,
    expired: bool,
    logged_in_as: Option<String>,
    unmet: Vec<&'static str>,
    error: String,
    username: String,
    errors: FieldErrors,
}

const INVALID: &str =
    "This invitation is not valid: it was used, revoked or replaced by a newer one.";

struct Invite {
    member: Member,
    org: Organization,
    unmet: Vec<&'static str>,
}

async fn load(
    state: &AppState,
    member_id: i64,
    token: String,
    user: Option<User>,
) -> Result<Invite, AppError> {
    let config = state.config.clone();
    state
        .db(move |conn| -> Result<Invite, AppError> {
            let (member, org) = members::find_invite(conn, member_id, &token)?
                .ok_or_else(|| AppError::BadRequest(INVALID.into()))?;
            let unmet = match &user {
                Some(user) => members::unmet_requirements(conn, &org, user, &config)?,
                None => Vec::new(),
            };
            Ok(Invite { member, org, unmet })
        })
        .await
}

fn view(
    session: &Session,
    req: &HttpRequest,
    invite: Invite,
    user: Option<&User>,
    error: String,
    username: String,
    errors: FieldErrors,
) -> Result<AcceptPage, AppError> {
    let path = req.path().to_owned();
    Ok(AcceptPage {
        ctx: PageCtx::new(session, user)?,
        path_encoded: encode_query(&path),
        path,
        org_name: invite.org.name,
        role: invite.member.role().name(),
        email: invite.member.email.clone().unwrap_or_default(),
        expired: invite
            .member
            .token_expires_at
            .is_some_and(|at| at <= query::now()),
        logged_in_as: user.map(|u| u.username.clone()),
        unmet: invite.unmet,
        error,
        username,
        errors,
    })
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (member_id, token) = path.into_inner();
    let invite = load(&state, member_id, token, user.clone()).await?;
    let page = view(
        &session,
        &req,
        invite,
        user.as_ref(),
        String::new(),
        String::new(),
        FieldErrors::new(),
    )?;
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn accept(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<(i64, String)>,
    form: web::Form<AcceptForm>,
) -> Result<HttpResponse, AppError> {
    let (member_id, token) = path.into_inner();
    let form = form.into_inner();
    let invite = load(&state, member_id, token.clone(), user.clone()).await?;
    let ip = client_ip(&req);
    let config = state.config.clone();
    // logged in: accept as that user; otherwise: an account for the invited address, then accept
    let new_account = match &user {
        Some(_) => None,
        None => {
            let mut errors = FieldErrors::new();
            let username = errors.take("username", Username::parse(&form.username));
            let password = errors.take("password", Password::parse(&form.password));
            if password.is_some() && form.password != form.password_confirm {
                errors.add("password_confirm", "The two passwords do not match.");
            }
            let email = EmailAddress::parse(invite.member.email.as_deref().unwrap_or_default())
                .map_err(AppError::BadRequest)?;
            match (username, password) {
                (Some(username), Some(password)) if errors.is_empty() => Some(NewUser {
                    username,
                    email,
                    password: Some(password),
                    is_superuser: false,
                    email_verified: true,
                }),
                _ => {
                    let page = view(
                        &session,
                        &req,
                        invite,
                        None,
                        String::new(),
                        form.username,
                        errors,
                    )?;
                    return render(StatusCode::BAD_REQUEST, &page);
                }
            }
        }
    };
    let acting = user.clone();
    let result = state
        .db(move |conn| {
            Ok::<_, AppError>(write_tx(conn, |conn| {
                let user = match (acting, &new_account) {
                    (Some(user), _) => user,
                    (None, Some(new_user)) => User::create(conn, new_user)?,
                    (None, None) => return Err(SaveError::Refused(INVALID.into())),
                };
                let actor = Actor::user(&user, ip);
                let org = members::accept(conn, &config, member_id, &token, &user, &actor)?;
                Ok((user, org))
            }))
        })
        .await?;
    match result {
        Ok((joined, org)) => {
            if user.is_none() {
                session::log_in(&session, &joined)?;
            }
            session::flash(
                &session,
                FlashLevel::Success,
                format!("Welcome to {}.", org.name),
            )?;
            Ok(see_other(&format!("/settings/{}/", org.slug)))
        }
        Err(SaveError::Invalid(errors)) => {
            let page = view(
                &session,
                &req,
                invite,
                user.as_ref(),
                String::new(),
                form.username,
                errors,
            )?;
            render(StatusCode::BAD_REQUEST, &page)
        }
        Err(SaveError::Refused(message)) => {
            let page = view(
                &session,
                &req,
                invite,
                user.as_ref(),
                message,
                form.username,
                FieldErrors::new(),
            )?;
            render(StatusCode::BAD_REQUEST, &page)
        }
        Err(other) => Err(other.into()),
    }
}
