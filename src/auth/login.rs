//! The login check: who a login name means, whether the password matches, and the throttle around it.
//!
//! Runs diesel and argon2: call it from `web::block`.

use std::time::Duration;

use diesel::QueryResult;

use super::throttle;
use crate::config::LoginThrottle;
use crate::db::AnyConnection;
use crate::errors::DomainError;
use crate::models::user::User;
use crate::ratelimit::{self, Scope};
use crate::secrets::password;

pub const INVALID_LOGIN: &str = "Please enter a correct username and password.";

#[derive(Debug)]
pub enum LoginOutcome {
    Success(User),
    /// Unknown user or wrong password: the same answer, after about the same time.
    Invalid,
    /// The password matched, but the account is deactivated.
    Inactive,
    /// Too many recent failures from this IP or for this account.
    Throttled {
        retry_after: Duration,
    },
}

/// Checks a username-or-email and password. The attempt is counted before the password is checked,
/// per client address and per account the name resolves to (so `alice` and `alice@example.com`
/// share one count), or per name when it resolves to none. A success takes the attempt back,
/// clears the account's password failures and records the login time.
pub fn authenticate(
    conn: &mut AnyConnection,
    login: &str,
    password_input: &str,
    ip: &str,
    policy: LoginThrottle,
) -> QueryResult<LoginOutcome> {
    let candidates: Vec<User> = if login.trim().is_empty() {
        Vec::new()
    } else {
        User::find_by_login(conn, login)?
    };
    let scopes: Vec<Scope> = if candidates.is_empty() {
        vec![Scope::UnknownLogin(login.trim().to_lowercase())]
    } else {
        candidates.iter().map(|u| Scope::Password(u.id)).collect()
    };
    let attempt = match ratelimit::acquire(conn, &throttle::limits(policy, ip, scopes))? {
        Ok(attempt) => attempt,
        Err(retry_after) => return Ok(LoginOutcome::Throttled { retry_after }),
    };
    let mut matched = None;
    let mut verified_any = false;
    for user in candidates.into_iter().filter(User::has_usable_password) {
        verified_any = true;
        if password::verify(password_input, &user.password_hash) {
            matched = Some(user);
            break;
        }
    }
    if !verified_any {
        password::verify_dummy(password_input);
    }
    match matched {
        Some(user) if !user.is_active => {
            attempt.forgive(conn)?;
            Ok(LoginOutcome::Inactive)
        }
        Some(user) => {
            attempt.forgive(conn)?;
            ratelimit::clear(conn, &Scope::Password(user.id))?;
            User::record_login(conn, user.id)?;
            Ok(LoginOutcome::Success(user))
        }
        None => Ok(LoginOutcome::Invalid),
    }
}

/// What a wrong code at the second step of a login answers.
pub const ERR_WRONG_LOGIN_CODE: &str =
    "That code is not right. Enter the code your app shows now, or a recovery code.";

/// The second step of a login: the user's authenticator code or a recovery code, checked under the
/// second-factor throttle (a field error on `code`, or `RateLimited`).
pub fn second_factor(
    conn: &mut AnyConnection,
    policy: LoginThrottle,
    ip: &str,
    user_id: i64,
    code: &str,
) -> Result<User, DomainError> {
    let Some(user) = User::find(conn, user_id)?.filter(|u| u.is_active) else {
        return Err(DomainError::Refused(INVALID_LOGIN.into()));
    };
    throttle::require(
        conn,
        policy,
        ip,
        throttle::Secret::SecondFactor { user_id },
        ("code", ERR_WRONG_LOGIN_CODE),
        |conn| super::two_factor::verify(conn, &user, code),
    )?;
    Ok(user)
}
