//! Superuser mode: a superuser's powers apply only while their session holds a grant, made at
//! `/superuser/` by re-entering the password. It ends after an idle time or an absolute limit, on
//! logout, or with the "Leave" button; the session id is renewed on entering and leaving.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::{Deserialize, Serialize};

use super::auth::safe_next;
use super::error::AppError;
use super::page::{PageCtx, render};
use super::session::{self, CurrentUser, FlashLevel};
use super::{client_ip, see_other};
use crate::auth::throttle::{self, Check, Secret};
use crate::config::Config;
use crate::db::write_tx;
use crate::models::actor::Actor;
use crate::models::instance_audit::{self, event};
use crate::models::user::User;
use crate::ratelimit;
use crate::secrets::password;
use crate::web::state::AppState;

const GRANT: &str = "su";
pub const REASON_MAX_LEN: usize = 256;

/// The grant kept in the session. It carries its own limits, so any page can tell the time left.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Grant {
    user_id: i64,
    since: i64,
    last: i64,
    idle_secs: i64,
    max_secs: i64,
}

impl Grant {
    fn ends_at(&self) -> i64 {
        (self.last + self.idle_secs).min(self.since + self.max_secs)
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The session's superuser mode for `user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    /// On, with this many seconds left (unless used again before).
    Active {
        seconds_left: i64,
    },
    /// It was on and ran out: the user is sent back to `/superuser/`.
    Expired,
}

impl Mode {
    pub fn is_active(self) -> bool {
        matches!(self, Mode::Active { .. })
    }
}

/// The user whose active (unexpired) grant the session holds, if any; the caller still checks that the
/// user is an active superuser.
pub fn granted_user(session: &Session) -> Option<i64> {
    let grant = session.get::<Grant>(GRANT).ok().flatten()?;
    (grant.ends_at() > now()).then_some(grant.user_id)
}

/// Reads the mode without changing the session.
pub fn mode(session: &Session, user: &User) -> Mode {
    let Ok(Some(grant)) = session.get::<Grant>(GRANT) else {
        return Mode::Off;
    };
    if grant.user_id != user.id || !user.is_superuser || !user.is_active {
        return Mode::Off;
    }
    match grant.ends_at() - now() {
        left if left > 0 => Mode::Active { seconds_left: left },
        _ => Mode::Expired,
    }
}

/// Reads the mode for a request that uses the powers: an active grant counts as activity (idle time
/// starts over); an expired one is removed, under a new session id.
pub fn use_powers(session: &Session, user: &User) -> Result<Mode, AppError> {
    let current = mode(session, user);
    match current {
        Mode::Active { .. } => {
            if let Ok(Some(mut grant)) = session.get::<Grant>(GRANT) {
                grant.last = now();
                session.insert(GRANT, &grant)?;
            }
            Ok(mode(session, user))
        }
        Mode::Expired => {
            session.remove(GRANT);
            session.renew();
            Ok(Mode::Expired)
        }
        Mode::Off => Ok(Mode::Off),
    }
}

fn enter(session: &Session, user: &User, config: &Config) -> Result<(), AppError> {
    let now = now();
    session.renew();
    session.insert(
        GRANT,
        Grant {
            user_id: user.id,
            since: now,
            last: now,
            idle_secs: config.superuser_idle.as_secs() as i64,
            max_secs: config.superuser_max.as_secs() as i64,
        },
    )?;
    Ok(())
}

/// "14 minutes", "1 hour 5 minutes"
pub fn time_left(seconds: i64) -> String {
    let minutes = (seconds + 59) / 60;
    let (hours, minutes) = (minutes / 60, minutes % 60);
    let unit = |n: i64, word: &str| {
        if n == 1 {
            format!("1 {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    match (hours, minutes) {
        (0, m) => unit(m, "minute"),
        (h, 0) => unit(h, "hour"),
        (h, m) => format!("{} {}", unit(h, "hour"), unit(m, "minute")),
    }
}

#[derive(Template)]
#[template(path = "superuser.html")]
struct SuperuserPage {
    ctx: PageCtx,
    next: String,
    reason: String,
    error: String,
    is_superuser: bool,
    expired: bool,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    expired: String,
}

pub async fn page(
    session: Session,
    CurrentUser(user): CurrentUser,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(&query.next).unwrap_or_default().to_owned();
    if mode(&session, &user).is_active() && !next.is_empty() {
        return Ok(see_other(&next));
    }
    let page = SuperuserPage {
        ctx: PageCtx::new(&session, Some(&user))?,
        next,
        reason: String::new(),
        error: String::new(),
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
        reason,
        next,
    } = form.into_inner();
    let reason = reason
        .trim()
        .chars()
        .take(REASON_MAX_LEN)
        .collect::<String>();
    let ip = client_ip(&req);
    let policy = state.config.login_throttle;
    let actor = Actor::user(&user, ip.clone());
    let (stored, user_id, audit_reason) = (user.password_hash.clone(), user.id, reason.clone());
    let ip = ip.unwrap_or_else(|| "unknown".into());
    // the password check goes through the login throttle, like a login
    let outcome = state
        .db(move |conn| -> Result<Result<(), String>, AppError> {
            let checked = throttle::check(conn, policy, &ip, Secret::Password { user_id }, |_| {
                Ok(password::verify(&typed, &stored))
            })?;
            match checked {
                Check::Passed => {}
                Check::Failed => return Ok(Err("Your password is not correct.".into())),
                Check::Throttled { retry_after } => {
                    return Ok(Err(format!(
                        "Too many failed attempts. Wait {} before trying again.",
                        ratelimit::wait_text(retry_after)
                    )));
                }
            }
            write_tx(conn, |conn| {
                instance_audit::record(
                    conn,
                    &actor,
                    event::SUPERUSER_ENTER,
                    Some(user_id),
                    serde_json::json!({"reason": audit_reason}),
                )
            })?;
            Ok(Ok(()))
        })
        .await?;
    match outcome {
        Ok(()) => {
            enter(&session, &user, &state.config)?;
            session::flash(&session, FlashLevel::Info, "Superuser mode is on.")?;
            Ok(see_other(safe_next(&next).unwrap_or("/manage/")))
        }
        Err(error) => {
            let page = SuperuserPage {
                ctx: PageCtx::new(&session, Some(&user))?,
                next: safe_next(&next).unwrap_or_default().to_owned(),
                reason,
                error,
                is_superuser: true,
                expired: false,
            };
            render(StatusCode::BAD_REQUEST, &page)
        }
    }
}

/// `POST /superuser/leave/`
pub async fn leave(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, AppError> {
    if session::take(&session, GRANT).is_some() {
        let actor = Actor::user(&user, client_ip(&req));
        let user_id = user.id;
        state
            .db(move |conn| {
                instance_audit::record(
                    conn,
                    &actor,
                    event::SUPERUSER_LEAVE,
                    Some(user_id),
                    serde_json::json!({}),
                )
            })
            .await?;
        session.renew();
        session::flash(&session, FlashLevel::Info, "Superuser mode is off.")?;
    }
    Ok(see_other("/organizations/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_in_minutes_and_hours() {
        assert_eq!(time_left(30), "1 minute");
        assert_eq!(time_left(14 * 60 + 1), "15 minutes");
        assert_eq!(time_left(3600), "1 hour");
        assert_eq!(time_left(3600 + 5 * 60), "1 hour 5 minutes");
        assert_eq!(time_left(2 * 3600 + 60), "2 hours 1 minute");
    }

    #[test]
    fn a_grant_ends_at_the_earlier_of_idle_and_absolute_limits() {
        let grant = Grant {
            user_id: 1,
            since: 0,
            last: 100,
            idle_secs: 900,
            max_secs: 600,
        };
        assert_eq!(grant.ends_at(), 600);
        let grant = Grant {
            user_id: 1,
            since: 0,
            last: 100,
            idle_secs: 60,
            max_secs: 600,
        };
        assert_eq!(grant.ends_at(), 160);
    }
}
