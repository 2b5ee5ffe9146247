//! The superuser-mode pages: `/superuser/` (re-enter the password, and a current code with
//! two-factor authentication; optionally give a reason) and `/superuser/leave/`. The grant itself is `superuser_mode`'s.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::AppError;
use super::page::{PageCtx, render};
use super::respond::{client_ip, see_other};
use super::session::{self, CurrentUser, FlashLevel};
use super::superuser_mode;
use super::urls::safe_next;
use crate::accounts::{self, SuperuserEntry};
use crate::errors::{DomainError, FieldErrors};
use crate::models::actor::Actor;
use crate::models::user::User;
use crate::web::state::AppState;

pub const REASON_MAX_LEN: usize = 256;

#[derive(Template)]
#[template(path = "superuser.html")]
struct SuperuserPage {
    ctx: PageCtx,
    next: String,
    reason: String,
    error: String,
    code_error: String,
    /// The user has two-factor authentication: a code is asked too.
    needs_code: bool,
    is_superuser: bool,
    expired: bool,
}

async fn needs_code(state: &AppState, user: &User) -> Result<bool, AppError> {
    let of = user.clone();
    Ok(state.db(move |conn| of.has_two_factor(conn)).await?)
}

#[derive(Debug, Deserialize)]
pub struct SuperuserQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    expired: String,
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    query: web::Query<SuperuserQuery>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(&query.next).unwrap_or_default().to_owned();
    if superuser_mode::mode(&session, &user).is_active() && !next.is_empty() {
        return Ok(see_other(&next));
    }
    let page = SuperuserPage {
        needs_code: user.is_superuser && needs_code(&state, &user).await?,
        ctx: PageCtx::new(&session, Some(&user))?,
        next,
        reason: String::new(),
        error: String::new(),
        code_error: String::new(),
        is_superuser: user.is_superuser,
        expired: query.expired == "1",
    };
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct EnterForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    next: String,
}

pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    form: web::Form<EnterForm>,
) -> Result<HttpResponse, AppError> {
    if !user.is_superuser {
        return Err(AppError::forbidden(
            "Superuser mode is for the instance's superusers.",
        ));
    }
    let EnterForm {
        password: typed,
        code,
        reason,
        next,
    } = form.into_inner();
    let reason = reason
        .trim()
        .chars()
        .take(REASON_MAX_LEN)
        .collect::<String>();
    let actor = Actor::user(&user, client_ip(&req));
    let (throttle, checking) = (state.config.login_throttle, user.clone());
    let audit_reason = reason.clone();
    let entered = state
        .db(move |conn| {
            let entry = SuperuserEntry {
                password: &typed,
                code: &code,
                reason: &audit_reason,
            };
            accounts::enter_superuser_mode(conn, throttle, &actor, &checking, entry)
        })
        .await;
    let (status, errors) = match entered {
        Ok(()) => {
            superuser_mode::enter(&session, &user, &state.config)?;
            // the banner on every page says so: no flash besides it
            return Ok(see_other(safe_next(&next).unwrap_or("/manage/")));
        }
        Err(DomainError::Invalid(errors)) => (StatusCode::BAD_REQUEST, errors),
        Err(DomainError::RateLimited(message)) => (
            StatusCode::TOO_MANY_REQUESTS,
            FieldErrors::single("password", message),
        ),
        Err(other) => return Err(other.into()),
    };
    let needs_code = needs_code(&state, &user).await?;
    let page = SuperuserPage {
        ctx: PageCtx::new(&session, Some(&user))?,
        next: safe_next(&next).unwrap_or_default().to_owned(),
        reason,
        error: errors.get("password"),
        code_error: errors.get("code"),
        needs_code,
        is_superuser: true,
        expired: false,
    };
    render(status, &page)
}

/// `POST /superuser/leave/`
pub async fn leave(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, AppError> {
    if superuser_mode::leave(&session) {
        let actor = Actor::user(&user, client_ip(&req));
        let user_id = user.id;
        state
            .db(move |conn| accounts::record_superuser_leave(conn, &actor, user_id))
            .await?;
        session::flash(&session, FlashLevel::Info, "Superuser mode is off.")?;
    }
    Ok(see_other("/organizations/"))
}
