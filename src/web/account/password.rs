//! `/account/password/`: changing one's password. The current one is asked for (and checked under
//! the login throttle); every other session of the user ends, this one goes on under a new id.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{AccountSection, keep_logged_in};
use crate::errors::{DomainError, FieldErrors};
use crate::models::actor::Actor;
use crate::models::user::{Password, User};
use crate::profile::{self, PasswordChange};
use crate::web::error::AppError;
use crate::web::page::{PageCtx, render};
use crate::web::respond::{client_ip, see_other};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage {
    ctx: PageCtx,
    username: String,
    has_password: bool,
    errors: FieldErrors,
    form_error: String,
    /// The new password's rule, as help text.
    password_help: String,
}

fn password_page(
    session: &Session,
    user: &User,
    errors: FieldErrors,
    form_error: String,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = PasswordPage {
        ctx: PageCtx::for_account(session, user, AccountSection::Password)?,
        username: user.username.clone(),
        has_password: user.has_usable_password(),
        errors,
        form_error,
        password_help: format!("At least {} characters.", Password::MIN_LEN),
    };
    render(status, &page)
}

pub async fn page(
    session: Session,
    crate::web::session::CurrentUser(user): crate::web::session::CurrentUser,
) -> Result<HttpResponse, AppError> {
    password_page(
        &session,
        &user,
        FieldErrors::new(),
        String::new(),
        StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

/// `POST /account/password/`.
pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    crate::web::session::CurrentUser(user): crate::web::session::CurrentUser,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let (config, actor, acting) = (
        state.config.clone(),
        Actor::user(&user, client_ip(&req)),
        user.clone(),
    );
    let changed = state
        .db(move |conn| {
            let change = PasswordChange {
                current: &form.password,
                new: &form.new_password,
                confirm: &form.new_password_confirm,
            };
            profile::change_password(conn, &config, &actor, &acting, change)
        })
        .await;
    match changed {
        Ok(user) => {
            keep_logged_in(
                &session,
                &user,
                "Your password is changed. Your other sessions were ended.",
            )?;
            Ok(see_other("/account/password/"))
        }
        Err(DomainError::Invalid(errors)) => password_page(
            &session,
            &user,
            errors,
            String::new(),
            StatusCode::BAD_REQUEST,
        ),
        Err(DomainError::RateLimited(message)) => password_page(
            &session,
            &user,
            FieldErrors::new(),
            message,
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(other) => Err(other.into()),
    }
}
