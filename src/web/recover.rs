//! Getting back into an account: `/account/recover/` asks for a reset link by username or email
//! (the same answer whether or not an account matches), `/account/recover/confirm/{user_id}/{token}/`
//! sets a new password with it. The rules are `crate::recovery`'s.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::AppError;
use super::page::{PageCtx, render};
use super::respond::{link_refusal, see_other, throttle_ip};
use super::session::{self, FlashLevel, MaybeUser};
use crate::errors::{DomainError, FieldErrors};
use crate::models::user::{Password, User};
use crate::recovery;
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "account/recover.html")]
struct RecoverPage {
    ctx: PageCtx,
    login: String,
    error: String,
    form_error: String,
    /// The request went through: the page says what happens next instead of the form.
    sent: bool,
}

fn recover_page(
    session: &Session,
    user: Option<&User>,
    login: String,
    errors: FieldErrors,
    form_error: String,
    sent: bool,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = RecoverPage {
        ctx: PageCtx::new(session, user)?,
        login,
        error: errors.get("login"),
        form_error,
        sent,
    };
    render(status, &page)
}

pub async fn page(session: Session, MaybeUser(user): MaybeUser) -> Result<HttpResponse, AppError> {
    recover_page(
        &session,
        user.as_ref(),
        String::new(),
        FieldErrors::new(),
        String::new(),
        false,
        StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub struct RecoverForm {
    #[serde(default)]
    login: String,
}

/// `POST /account/recover/`.
pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    form: web::Form<RecoverForm>,
) -> Result<HttpResponse, AppError> {
    let login = form.into_inner().login;
    let (config, ip, asked) = (state.config.clone(), throttle_ip(&req), login.clone());
    let result = state
        .db(move |conn| recovery::request(conn, &config, &ip, &asked))
        .await;
    let (errors, form_error, sent, status) = match result {
        Ok(()) => (FieldErrors::new(), String::new(), true, StatusCode::OK),
        Err(DomainError::Invalid(errors)) => {
            (errors, String::new(), false, StatusCode::BAD_REQUEST)
        }
        Err(DomainError::RateLimited(message)) => (
            FieldErrors::new(),
            message,
            false,
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(other) => return Err(other.into()),
    };
    recover_page(
        &session,
        user.as_ref(),
        login,
        errors,
        form_error,
        sent,
        status,
    )
}

#[derive(Template)]
#[template(path = "account/reset.html")]
struct ResetPage {
    ctx: PageCtx,
    path: String,
    /// Whose password this sets (shown when the link is first opened).
    username: String,
    errors: FieldErrors,
    /// Why the link cannot be used.
    link_error: String,
    /// The new password's rule, as help text.
    password_help: String,
}

fn reset_page(
    session: &Session,
    req: &HttpRequest,
    viewer: Option<&User>,
    username: String,
    errors: FieldErrors,
    link_error: String,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = ResetPage {
        ctx: PageCtx::new(session, viewer)?,
        path: req.path().to_owned(),
        username,
        errors,
        link_error,
        password_help: format!("At least {} characters.", Password::MIN_LEN),
    };
    render(status, &page)
}

pub async fn confirm_page(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    MaybeUser(viewer): MaybeUser,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (user_id, token) = path.into_inner();
    let (throttle, ip) = (state.config.login_throttle, throttle_ip(&req));
    let checked = state
        .db(move |conn| recovery::check(conn, throttle, &ip, user_id, &token))
        .await;
    let (username, link_error, status) = match checked {
        Ok(user) => (user.username, String::new(), StatusCode::OK),
        Err(error) => {
            let (status, message) = link_refusal(error)?;
            (String::new(), message, status)
        }
    };
    reset_page(
        &session,
        &req,
        viewer.as_ref(),
        username,
        FieldErrors::new(),
        link_error,
        status,
    )
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// `POST /account/recover/confirm/{user_id}/{token}/`: sets the password, ends every session of the
/// user (this browser's too) and sends them to log in with it.
pub async fn confirm(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    MaybeUser(viewer): MaybeUser,
    path: web::Path<(i64, String)>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, AppError> {
    let (user_id, token) = path.into_inner();
    let form = form.into_inner();
    let (config, ip) = (state.config.clone(), throttle_ip(&req));
    let result = state
        .db(move |conn| {
            recovery::reset(
                conn,
                &config,
                &ip,
                user_id,
                &token,
                (&form.password, &form.password_confirm),
            )
        })
        .await;
    match result {
        Ok(user) => {
            session::log_out(&session);
            session::flash(
                &session,
                FlashLevel::Success,
                format!(
                    "The password of {} is changed. Log in with it.",
                    user.username
                ),
            )?;
            Ok(see_other("/login"))
        }
        Err(DomainError::Invalid(errors)) => reset_page(
            &session,
            &req,
            viewer.as_ref(),
            String::new(),
            errors,
            String::new(),
            StatusCode::BAD_REQUEST,
        ),
        Err(error) => {
            let (status, message) = link_refusal(error)?;
            reset_page(
                &session,
                &req,
                viewer.as_ref(),
                String::new(),
                FieldErrors::new(),
                message,
                status,
            )
        }
    }
}
