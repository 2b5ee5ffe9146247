//! `/accept/{member_id}/{token}/`: accepting an invitation, as the logged-in user or after creating
//! an account (whose email, the invited address, counts as verified: the link proved it).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::AppError;
use super::page::{PageCtx, render};
use super::respond::{client_ip, see_other};
use super::session::FlashLevel;
use super::session::{self, MaybeUser};
use super::urls::encode_query;
use crate::errors::{DomainError, FieldErrors};
use crate::members::{self, Invitation, Joiner};
use crate::models::user::{NewUser, SignUp, User};
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

async fn load(
    state: &AppState,
    member_id: i64,
    token: String,
    user: Option<User>,
) -> Result<Invitation, AppError> {
    let config = state.config.clone();
    let found = state
        .db(move |conn| members::invitation(conn, &config, member_id, &token, user.as_ref()))
        .await;
    match found {
        Ok(invitation) => Ok(invitation),
        Err(DomainError::Refused(message)) => Err(AppError::BadRequest(message)),
        Err(other) => Err(other.into()),
    }
}

fn view(
    session: &Session,
    req: &HttpRequest,
    invite: Invitation,
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
        expired: invite.expired,
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
    let joiner = match &user {
        Some(user) => Joiner::Existing(user.clone()),
        None => {
            let mut errors = FieldErrors::new();
            let sign_up = SignUp {
                username: &form.username,
                // the invited address; the domain takes it from the invitation
                email: invite.member.email.as_deref().unwrap_or_default(),
                password: &form.password,
                password_confirm: Some(&form.password_confirm),
            };
            match NewUser::parse(sign_up, &mut errors) {
                Some(new_user) if errors.is_empty() => Joiner::NewAccount(new_user),
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
    let result = state
        .db(move |conn| members::accept_invitation(conn, &config, member_id, &token, joiner, ip))
        .await;
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
        Err(DomainError::Invalid(errors)) => {
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
        Err(DomainError::Refused(message)) => {
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
