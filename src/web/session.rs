//! What the session holds (the logged-in user, the CSRF token, flash messages) and the extractors that
//! read it: `CurrentUser` (login required) and `MaybeUser`.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::error::AppError;
pub use super::layout::{Flash, FlashLevel};
use super::urls::request_path;
use crate::models::user::User;
use crate::web::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "orgsettings_session";
/// How long a logged-in session lives without being used.
pub const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(14 * 24 * 3600);

/// The logged-in user's id (the session store reads it to tie the row to the user).
pub(crate) const USER_ID: &str = "uid";
/// The user's `session_version` when the session was made; a bump on the user ends the session.
const USER_VERSION: &str = "uver";
const FLASHES: &str = "flash";

/// Starts an authenticated session: a new session id (no fixation), the user, a fresh CSRF token,
/// and sudo (the password was just proved).
pub fn log_in(session: &Session, user: &User) -> Result<(), AppError> {
    session.renew();
    session.insert(USER_ID, user.id)?;
    session.insert(USER_VERSION, user.session_version)?;
    super::csrf::rotate(session)?;
    super::sudo::grant(session)?;
    Ok(())
}

const LAST_SEEN_DAY: &str = "seen";

/// Extends a logged-in session's lifetime, at most once a day: the session cookie is set only when
/// the session changes (so images and other plain responses carry none), and this is such a change.
pub fn keep_alive(session: &Session) -> Result<(), AppError> {
    let today = chrono::Utc::now().timestamp() / 86_400;
    if session.get::<i64>(LAST_SEEN_DAY).ok().flatten() != Some(today) {
        session.insert(LAST_SEEN_DAY, today)?;
    }
    Ok(())
}

/// Ends the session's login and everything in it, under a new session id.
pub fn log_out(session: &Session) {
    session.clear();
    session.renew();
}

/// At most this many messages wait for the next page; older ones give way to newer ones.
pub const MAX_FLASHES: usize = 5;
/// A message longer than this is cut (with an ellipsis): it quotes user input such as names.
pub const MAX_FLASH_CHARS: usize = 300;

/// Queues a message for the next page this session renders (after the redirect of a POST). The
/// queue is bounded in count and length, so many POSTs without a page view cannot grow the session.
pub fn flash(
    session: &Session,
    level: FlashLevel,
    message: impl Into<String>,
) -> Result<(), AppError> {
    let queued: Vec<Flash> = session.get(FLASHES).ok().flatten().unwrap_or_default();
    let flash = Flash {
        level,
        message: message.into(),
    };
    session.insert(FLASHES, push_bounded(queued, flash))?;
    Ok(())
}

/// Adds a message to the queue, cut to [`MAX_FLASH_CHARS`], keeping the newest [`MAX_FLASHES`].
fn push_bounded(mut queued: Vec<Flash>, mut flash: Flash) -> Vec<Flash> {
    if flash.message.chars().count() > MAX_FLASH_CHARS {
        flash.message = flash.message.chars().take(MAX_FLASH_CHARS - 1).collect();
        flash.message.push('…');
    }
    queued.push(flash);
    let excess = queued.len().saturating_sub(MAX_FLASHES);
    queued.drain(..excess);
    queued
}

/// Removes a key and returns its value, if it was there. Unlike `Session::remove`, a session
/// without the key is left unchanged, so the store is not written for nothing.
pub fn take(session: &Session, key: &str) -> Option<String> {
    if session.contains_key(key) {
        session.remove(key)
    } else {
        None
    }
}

/// Takes the queued messages; each is shown once.
pub fn take_flashes(session: &Session) -> Vec<Flash> {
    match take(session, FLASHES) {
        Some(raw) => serde_json::from_str(&raw).unwrap_or_default(),
        None => Vec::new(),
    }
}

/// The user id and session version the session was logged in with, if any.
pub(crate) fn session_identity(session: &Session) -> Option<(i64, i32)> {
    match (
        session.get::<i64>(USER_ID),
        session.get::<i32>(USER_VERSION),
    ) {
        (Ok(Some(user_id)), Ok(Some(version))) => Some((user_id, version)),
        _ => None,
    }
}

/// The user of the session, when it is logged in and still valid; an invalid login is cleared.
pub(crate) async fn session_user(req: &HttpRequest) -> Result<Option<User>, AppError> {
    let session = req.get_session();
    let Some(identity) = session_identity(&session) else {
        return Ok(None);
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState is not registered")))?;
    let (user_id, version) = identity;
    let user = state
        .read(move |conn| User::find_for_session(conn, user_id, version))
        .await?;
    if user.is_none() {
        log_out(&session);
    }
    Ok(user)
}

/// The logged-in user; otherwise the request is sent to `/login?next=<this page>`.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match session_user(&req).await? {
                Some(user) => Ok(CurrentUser(user)),
                None => Err(AppError::LoginRequired {
                    next: request_path(&req),
                }),
            }
        })
    }
}

/// The logged-in user, if any.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<User>);

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { session_user(&req).await.map(MaybeUser) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(message: &str) -> Flash {
        Flash {
            level: FlashLevel::Info,
            message: message.to_owned(),
        }
    }

    #[test]
    fn the_queue_keeps_the_newest_messages_and_cuts_long_ones() {
        let mut queued = Vec::new();
        for n in 0..8 {
            queued = push_bounded(queued, info(&n.to_string()));
        }
        let kept: Vec<&str> = queued.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(kept, ["3", "4", "5", "6", "7"]);
        let long = push_bounded(Vec::new(), info(&"é".repeat(5000)));
        assert_eq!(long[0].message.chars().count(), MAX_FLASH_CHARS);
        assert!(long[0].message.ends_with('…'));
    }
}
