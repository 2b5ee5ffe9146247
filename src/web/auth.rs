//! Login and logout.

use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::AppError;
use super::page::{PageCtx, render};
use super::respond::{see_other, throttle_ip};
use super::session::FlashLevel;
use super::session::{self, MaybeUser};
use super::urls::{NextQuery, safe_next};
use crate::auth::login::{self, INVALID_LOGIN, LoginOutcome};
use crate::errors::DomainError;
use crate::models::user::User;
use crate::ratelimit;
use crate::web::state::AppState;

/// Where to go after login when no (acceptable) `next` was given.
pub const DEFAULT_LANDING: &str = "/organizations/";

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: PageCtx,
    username: String,
    next: String,
    error: String,
    no_users: bool,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login_page(
    state: web::Data<AppState>,
    session: Session,
    user: MaybeUser,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(&query.next).unwrap_or_default().to_owned();
    if user.0.is_some() {
        return Ok(see_other(if next.is_empty() {
            DEFAULT_LANDING
        } else {
            &next
        }));
    }
    let no_users = state.db(User::count).await? == 0;
    let page = LoginPage {
        ctx: PageCtx::new(&session, None)?,
        username: String::new(),
        next,
        error: String::new(),
        no_users,
    };
    render(StatusCode::OK, &page)
}

pub async fn login(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let LoginForm {
        username,
        password,
        next,
    } = form.into_inner();
    let ip = throttle_ip(&req);
    let policy = state.config.login_throttle;
    let login_name = username.clone();
    let outcome = state
        .db(move |conn| login::authenticate(conn, &login_name, &password, &ip, policy))
        .await?;
    let mut retry_after_secs = None;
    let (status, error) = match outcome {
        LoginOutcome::Success(user) => {
            let checking = user.clone();
            if state.db(move |conn| checking.has_two_factor(conn)).await? {
                // the password was right; the second factor comes next, on its own page
                session.renew();
                session.insert(
                    PENDING_LOGIN,
                    PendingLogin {
                        user_id: user.id,
                        version: user.session_version,
                        next: safe_next(&next).unwrap_or(DEFAULT_LANDING).to_owned(),
                        since: chrono::Utc::now().timestamp(),
                    },
                )?;
                return Ok(see_other("/login/2fa/"));
            }
            session::log_in(&session, &user)?;
            tracing::info!(user_id = user.id, "login");
            return Ok(see_other(safe_next(&next).unwrap_or(DEFAULT_LANDING)));
        }
        LoginOutcome::Invalid => (StatusCode::BAD_REQUEST, INVALID_LOGIN.to_owned()),
        LoginOutcome::Inactive => (
            StatusCode::BAD_REQUEST,
            "This account is inactive. Ask an administrator of this instance to reactivate it."
                .to_owned(),
        ),
        LoginOutcome::Throttled { retry_after } => {
            retry_after_secs = Some(retry_after.as_secs().max(1));
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed login attempts. Wait {} before trying again.",
                    ratelimit::wait_text(retry_after)
                ),
            )
        }
    };
    let page = LoginPage {
        ctx: PageCtx::new(&session, None)?,
        username,
        next: safe_next(&next).unwrap_or_default().to_owned(),
        error,
        no_users: false,
    };
    let mut response = render(status, &page)?;
    if let Some(secs) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    Ok(response)
}

const PENDING_LOGIN: &str = "login_2fa";
/// How long the second step waits for its code.
const PENDING_LOGIN_SECS: i64 = 600;

/// A login whose password was right and whose second factor is still to come.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct PendingLogin {
    user_id: i64,
    version: i32,
    next: String,
    since: i64,
}

#[derive(Template)]
#[template(path = "auth/two_factor.html")]
struct TwoFactorPage {
    ctx: PageCtx,
    error: String,
}

fn pending_login(session: &Session) -> Option<PendingLogin> {
    let pending: PendingLogin = session.get(PENDING_LOGIN).ok().flatten()?;
    (chrono::Utc::now().timestamp() - pending.since < PENDING_LOGIN_SECS).then_some(pending)
}

/// `GET /login/2fa/`: the second step of a login, for users with two-factor authentication.
pub async fn two_factor_page(session: Session) -> Result<HttpResponse, AppError> {
    if pending_login(&session).is_none() {
        return Ok(see_other("/login"));
    }
    let page = TwoFactorPage {
        ctx: PageCtx::new(&session, None)?,
        error: String::new(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /login/2fa/`: a code from the authenticator app, or a recovery code.
pub async fn two_factor(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let Some(pending) = pending_login(&session) else {
        session::flash(
            &session,
            FlashLevel::Info,
            "That took too long: log in again.",
        )?;
        return Ok(see_other("/login"));
    };
    let code = form.into_inner().code;
    let ip = throttle_ip(&req);
    let (throttle, user_id) = (state.config.login_throttle, pending.user_id);
    let outcome = state
        .db(move |conn| login::second_factor(conn, throttle, &ip, user_id, &code))
        .await;
    let (status, error) = match outcome {
        Ok(user) if user.session_version == pending.version => {
            session.remove(PENDING_LOGIN);
            session::log_in(&session, &user)?;
            tracing::info!(user_id = user.id, "login with two-factor authentication");
            return Ok(see_other(&pending.next));
        }
        Ok(_) => {
            session.remove(PENDING_LOGIN);
            return Ok(see_other("/login"));
        }
        Err(DomainError::Invalid(errors)) => (StatusCode::BAD_REQUEST, errors.get("code")),
        Err(DomainError::Refused(message)) => (StatusCode::BAD_REQUEST, message),
        Err(DomainError::RateLimited(message)) => (StatusCode::TOO_MANY_REQUESTS, message),
        Err(other) => return Err(other.into()),
    };
    let page = TwoFactorPage {
        ctx: PageCtx::new(&session, None)?,
        error,
    };
    render(status, &page)
}

pub async fn logout(session: Session) -> Result<HttpResponse, AppError> {
    session::log_out(&session);
    session::flash(&session, FlashLevel::Info, "You have been logged out.")?;
    Ok(see_other("/login"))
}
