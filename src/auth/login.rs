//! The login check: who a login name means, whether the password matches, and the throttle around it.
//!
//! Runs diesel and argon2: call it from `web::block`.

use std::time::Duration;

use diesel::QueryResult;

use super::{password, throttle};
use crate::db::AnyConnection;
use crate::models::user::User;

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

/// The throttle scopes of one attempt: the client's IP and the account name as typed (lowercased).
pub fn scopes(login: &str, ip: &str) -> Vec<String> {
    vec![
        format!("ip:{ip}"),
        format!("user:{}", login.trim().to_lowercase()),
    ]
}

/// Checks a username-or-email and password. Failures count toward the throttle; a success clears the
/// account's count and records the login time.
pub fn authenticate(
    conn: &mut AnyConnection,
    login: &str,
    password_input: &str,
    ip: &str,
    policy: throttle::Policy,
) -> QueryResult<LoginOutcome> {
    let scopes = scopes(login, ip);
    if let Some(retry_after) = throttle::retry_after(conn, &scopes, policy)? {
        return Ok(LoginOutcome::Throttled { retry_after });
    }
    let candidates: Vec<User> = if login.trim().is_empty() {
        Vec::new()
    } else {
        User::find_by_login(conn, login)?
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
        Some(user) if !user.is_active => Ok(LoginOutcome::Inactive),
        Some(user) => {
            throttle::clear(conn, &scopes[1])?;
            User::record_login(conn, user.id)?;
            Ok(LoginOutcome::Success(user))
        }
        None => {
            throttle::record_failure(conn, &scopes, policy)?;
            Ok(LoginOutcome::Invalid)
        }
    }
}
