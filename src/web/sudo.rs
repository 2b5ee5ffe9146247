//! Sudo: a recent proof of the password, which the riskiest API calls of a browser session ask
//! for (Sentry's `@sudo_required`, from django-sudo). Logging in grants it, as django-sudo does on
//! every login, and so does `PUT /api/0/auth/` with the password; it lasts 3 hours (django-sudo's
//! `SUDO_COOKIE_AGE`). A token request counts as sudo by itself.

use actix_session::Session;

use super::error::AppError;

/// How long a password proves the session's user.
pub const SUDO_AGE_SECS: i64 = 3 * 3600;

const SUDO_UNTIL: &str = "sudo";

/// Grants sudo for [`SUDO_AGE_SECS`] from now.
pub fn grant(session: &Session) -> Result<(), AppError> {
    session.insert(SUDO_UNTIL, chrono::Utc::now().timestamp() + SUDO_AGE_SECS)?;
    Ok(())
}

/// Whether the session's password was proved recently enough.
pub fn is_active(session: &Session) -> bool {
    session
        .get::<i64>(SUDO_UNTIL)
        .ok()
        .flatten()
        .is_some_and(|until| chrono::Utc::now().timestamp() < until)
}
