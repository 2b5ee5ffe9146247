//! The throttle around every check of a password or a second-factor code: logins, the second step
//! of a login, superuser mode, removing an organization, changing a password, turning two-factor
//! authentication off or making new recovery codes; and of the tokens of emailed links (password
//! reset, email verification). Each check is counted before it runs, per client address and per
//! account ([`crate::ratelimit`]), so parallel guesses get no more tries than sequential ones.
//! Password failures and second-factor failures are counted apart: knowing the password gives no
//! fresh supply of code guesses.

use std::time::Duration;

use crate::config::LoginThrottle;
use crate::db::AnyConnection;
use crate::errors::{DomainError, FieldErrors};
use crate::ratelimit::{self, Limit, Policy, Scope};

/// What is being checked, and for which account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    Password {
        user_id: i64,
    },
    /// An authenticator code or a recovery code.
    SecondFactor {
        user_id: i64,
    },
    /// The token of an emailed link (password reset, email verification).
    Link {
        user_id: i64,
    },
}

impl Secret {
    fn scope(self) -> Scope {
        match self {
            Secret::Password { user_id } => Scope::Password(user_id),
            Secret::SecondFactor { user_id } => Scope::SecondFactor(user_id),
            Secret::Link { user_id } => Scope::Link(user_id),
        }
    }
}

/// The answer of a throttled check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Passed,
    Failed,
    /// Too many recent failures from this address or for this account: nothing was checked.
    Throttled {
        retry_after: Duration,
    },
}

/// The limits of one check: the client's address and the account's secret.
pub fn limits(
    throttle: LoginThrottle,
    ip: &str,
    scopes: impl IntoIterator<Item = Scope>,
) -> Vec<Limit> {
    let policy = Policy::from(throttle);
    std::iter::once(Scope::Ip(ip.to_owned()))
        .chain(scopes)
        .map(|scope| Limit::new(scope, policy))
        .collect()
}

/// Runs `verify` (which checks the password or code) under the throttle. A pass is not counted and
/// clears the account's failures of that kind; a failure stays counted.
pub fn check(
    conn: &mut AnyConnection,
    policy: LoginThrottle,
    ip: &str,
    secret: Secret,
    verify: impl FnOnce(&mut AnyConnection) -> anyhow::Result<bool>,
) -> anyhow::Result<Check> {
    let attempt = match ratelimit::acquire(conn, &limits(policy, ip, [secret.scope()]))? {
        Ok(attempt) => attempt,
        Err(retry_after) => return Ok(Check::Throttled { retry_after }),
    };
    if !verify(conn)? {
        return Ok(Check::Failed);
    }
    attempt.forgive(conn)?;
    ratelimit::clear(conn, &secret.scope())?;
    Ok(Check::Passed)
}

/// The message when a client address or account has used up its failures.
pub fn too_many(retry_after: Duration) -> String {
    format!(
        "Too many failed attempts. Wait {} before trying again.",
        crate::ratelimit::wait_text(retry_after)
    )
}

/// [`check`] as the domain answers it: `Ok` when it passed; a wrong password or code is a field error
/// on `field` with `wrong` as its message; too many failures are `RateLimited` with the wait.
pub fn require(
    conn: &mut AnyConnection,
    throttle: LoginThrottle,
    ip: &str,
    secret: Secret,
    (field, wrong): (&str, &str),
    verify: impl FnOnce(&mut AnyConnection) -> anyhow::Result<bool>,
) -> Result<(), DomainError> {
    match check(conn, throttle, ip, secret, verify)? {
        Check::Passed => Ok(()),
        Check::Failed => Err(DomainError::Invalid(FieldErrors::single(field, wrong))),
        Check::Throttled { retry_after } => Err(DomainError::RateLimited(too_many(retry_after))),
    }
}

/// What a wrong password answers.
pub const ERR_WRONG_PASSWORD: &str = "Your password is not correct.";
/// What a wrong code answers.
pub const ERR_WRONG_CODE: &str =
    "That code is not right. Enter the 6-digit code your app shows now.";

/// The user's password, checked under the throttle (a field error on `password`).
pub fn require_password(
    conn: &mut AnyConnection,
    throttle: LoginThrottle,
    ip: &str,
    user: &crate::models::user::User,
    typed: &str,
) -> Result<(), DomainError> {
    require(
        conn,
        throttle,
        ip,
        Secret::Password { user_id: user.id },
        ("password", ERR_WRONG_PASSWORD),
        |_| Ok(crate::secrets::password::verify(typed, &user.password_hash)),
    )
}
