//! `/accept/{member_id}/{token}/`: accepting an invitation, as the logged-in user or after creating
//! an account (whose email, the invited address, counts as verified: the link proved it).
//!
//! When the organization requires what the user does not have yet (two-factor authentication, a
//! verified address), the invitation waits in the session while they set it up, as in Sentry: setting
//! up two-factor authentication accepts it ([`accept_pending`]); a verified address leads back here.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::{Deserialize, Serialize};

use super::error::AppError;
use super::page::{PageCtx, render};
use super::respond::{client_ip, see_other};
use super::session::FlashLevel;
use super::session::{self, MaybeUser};
use super::urls::encode_query;
use crate::errors::{DomainError, FieldErrors};
use crate::members::{self, Acceptance, Invitation, Joiner};
use crate::models::flags::Flag;
use crate::models::job::Requirement;
use crate::models::organization::Organization;
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
    unmet: Vec<Requirement>,
    /// Told to someone creating an account: the setup that follows.
    requires_two_factor: bool,
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
        requires_two_factor: invite.org.flags.get(Flag::Require2fa),
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
    let accepting = token.clone();
    let result = state
        .db(move |conn| {
            members::accept_invitation(conn, &config, member_id, &accepting, joiner, ip)
        })
        .await;
    match result {
        Ok(Acceptance::Joined { user: joined, org }) => {
            if user.is_none() {
                session::log_in(&session, &joined)?;
            }
            welcome(&session, &org)?;
            Ok(see_other(&format!("/settings/{}/", org.slug)))
        }
        Ok(Acceptance::Unmet {
            user: joiner,
            org,
            unmet,
        }) => {
            if user.is_none() {
                session::log_in(&session, &joiner)?;
            }
            remember(&session, member_id, &token)?;
            let needs: Vec<&str> = unmet.iter().map(|r| r.noun()).collect();
            let created = if user.is_none() {
                format!("Your account {} is ready. ", joiner.username)
            } else {
                String::new()
            };
            session::flash(
                &session,
                FlashLevel::Info,
                format!(
                    "{created}{} requires {} from every member: set it up here, then you join.",
                    org.name,
                    needs.join(" and ")
                ),
            )?;
            Ok(see_other(&setup_url(unmet[0], req.path())))
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

/// Where a user meets a requirement, coming back to `back` after.
pub fn setup_url(requirement: Requirement, back: &str) -> String {
    let page = match requirement {
        Requirement::TwoFactor => "/account/security/",
        Requirement::VerifiedEmail => "/account/",
    };
    format!("{page}?next={}", encode_query(back))
}

fn welcome(session: &Session, org: &Organization) -> Result<(), AppError> {
    session::flash(
        session,
        FlashLevel::Success,
        format!("Welcome to {}.", org.name),
    )
}

/// The session key of an invitation waiting for its user to meet the organization's requirements.
const PENDING_INVITE: &str = "invite";

#[derive(Debug, Serialize, Deserialize)]
struct PendingInvite {
    member_id: i64,
    token: String,
}

fn remember(session: &Session, member_id: i64, token: &str) -> Result<(), AppError> {
    session.insert(
        PENDING_INVITE,
        PendingInvite {
            member_id,
            token: token.to_owned(),
        },
    )?;
    Ok(())
}

fn pending(session: &Session) -> Option<PendingInvite> {
    session.get::<PendingInvite>(PENDING_INVITE).ok().flatten()
}

/// The link of the invitation waiting in this session, if one is.
pub fn pending_path(session: &Session) -> Option<String> {
    pending(session).map(|p| format!("/accept/{}/{}/", p.member_id, p.token))
}

/// After `user` set something up: accepts the invitation waiting in the session when nothing stands
/// in the way any more, and says so (the organization, to go to next). An invitation that can no
/// longer be accepted (revoked, expired) is dropped with a message; one still waiting for another
/// requirement stays.
pub async fn accept_pending(
    state: &AppState,
    session: &Session,
    req: &HttpRequest,
    user: &User,
) -> Result<Option<Organization>, AppError> {
    let Some(PendingInvite { member_id, token }) = pending(session) else {
        return Ok(None);
    };
    let (config, ip, joiner) = (
        state.config.clone(),
        client_ip(req),
        Joiner::Existing(user.clone()),
    );
    let result = state
        .db(move |conn| members::accept_invitation(conn, &config, member_id, &token, joiner, ip))
        .await;
    match result {
        Ok(Acceptance::Joined { org, .. }) => {
            session.remove(PENDING_INVITE);
            welcome(session, &org)?;
            Ok(Some(org))
        }
        Ok(Acceptance::Unmet { .. }) => Ok(None),
        Err(DomainError::Refused(message)) => {
            session.remove(PENDING_INVITE);
            session::flash(session, FlashLevel::Error, message)?;
            Ok(None)
        }
        Err(other) => Err(other.into()),
    }
}
