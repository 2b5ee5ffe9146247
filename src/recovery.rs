//! Getting back into an account, free of HTTP: a password reset link (Sentry's `LostPasswordHash`),
//! asked for with a username or address on `/account/recover/`, or sent by a superuser.
//!
//! The link carries a random token; only its SHA-256 is stored, one per user (a newer link replaces
//! the older), for [`RESET_TTL`], and it works once. Asking answers the same whether or not an
//! account matches, so the form tells nobody which addresses have accounts; asking is limited per
//! client address and per account, and every check of a link's token goes through the link throttle.
//! A reset ends every session of the user and does not log anyone in: a user with two-factor
//! authentication still needs their code.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::auth::throttle::{self, Check, Secret};
use crate::config::{Config, LoginThrottle};
use crate::db::schema::password_resets;
use crate::db::{AnyConnection, query, write_tx};
use crate::errors::{DomainError, FieldErrors};
use crate::mail;
use crate::models::actor::Actor;
use crate::models::email;
use crate::models::instance_audit::{self, event};
use crate::models::user::User;
use crate::profile::{announce_password_change, parse_new_password};
use crate::ratelimit::{self, Limit, Policy, Scope};
use crate::secrets::{random_token, secrets_match, sha256_hex};

/// How long a reset link works (Sentry's `LostPasswordHash.is_valid`).
pub const RESET_TTL: chrono::Duration = chrono::Duration::hours(1);
/// Reset requests one client address may make per hour.
pub const REQUESTS_PER_IP: Policy = Policy::new(10, std::time::Duration::from_secs(3600));
/// Reset emails one account receives per hour, however many addresses ask; more requests are
/// answered the same way and send nothing.
pub const EMAILS_PER_ACCOUNT: Policy = Policy::new(3, std::time::Duration::from_secs(3600));
/// The longest login name the form takes.
pub const MAX_LOGIN_LEN: usize = 254;

pub const ERR_INVALID_RESET_LINK: &str = "This password reset link is not valid: it was used, \
     replaced by a newer one, or has expired (links work for 1 hour). Ask for a new one.";

/// Asks for a reset link for the account(s) `login` names (username or primary address, as at
/// login). Answers `Ok` whether or not one matched; only the per-address limit is told.
pub fn request(
    conn: &mut AnyConnection,
    config: &Config,
    ip: &str,
    login: &str,
) -> Result<(), DomainError> {
    let login = login.trim();
    if login.is_empty() {
        return Err(DomainError::Invalid(FieldErrors::single(
            "login",
            "This field is required.",
        )));
    }
    if login.chars().count() > MAX_LOGIN_LEN {
        return Err(DomainError::Invalid(FieldErrors::single(
            "login",
            format!("Ensure this field has no more than {MAX_LOGIN_LEN} characters."),
        )));
    }
    let limits = [Limit::new(
        Scope::RecoverFromIp(ip.to_owned()),
        REQUESTS_PER_IP,
    )];
    if let Err(wait) = ratelimit::acquire(conn, &limits)? {
        return Err(DomainError::RateLimited(format!(
            "Too many password reset requests from your address. Wait {} before asking again.",
            ratelimit::wait_text(wait)
        )));
    }
    for user in User::find_by_login(conn, login)? {
        if !user.is_active {
            continue;
        }
        let limits = [Limit::new(
            Scope::RecoverAccount(user.id),
            EMAILS_PER_ACCOUNT,
        )];
        if ratelimit::acquire(conn, &limits)?.is_ok() {
            write_tx(conn, |conn| issue(conn, config, &user, None, Some(ip)))?;
        }
    }
    Ok(())
}

/// A superuser sends `user_id` a reset link (recorded); returns the user.
pub fn send_by_superuser(
    conn: &mut AnyConnection,
    config: &Config,
    actor: &Actor,
    user_id: i64,
) -> Result<User, DomainError> {
    write_tx(conn, |conn| {
        let user =
            User::find(conn, user_id)?.ok_or(DomainError::Db(diesel::result::Error::NotFound))?;
        if !user.is_active {
            return Err(DomainError::Refused(format!(
                "{} is deactivated: activate the account before sending it a reset link.",
                user.username
            )));
        }
        issue(conn, config, &user, Some(&actor.label), None)?;
        instance_audit::record(
            conn,
            actor,
            event::PASSWORD_RESET_LINK,
            Some(user.id),
            json!({"username": user.username}),
        )?;
        Ok(user)
    })
}

/// Makes a new link for `user` (replacing any older one) and queues it to their primary address.
fn issue(
    conn: &mut AnyConnection,
    config: &Config,
    user: &User,
    requested_by: Option<&str>,
    ip: Option<&str>,
) -> Result<(), DomainError> {
    let token = random_token();
    diesel::delete(password_resets::table.filter(password_resets::user_id.eq(user.id)))
        .execute(conn)?;
    diesel::insert_into(password_resets::table)
        .values((
            password_resets::user_id.eq(user.id),
            password_resets::token_hash.eq(sha256_hex(&token)),
            password_resets::created_at.eq(query::now()),
        ))
        .execute(conn)?;
    let url = config.absolute_url(&format!("/account/recover/confirm/{}/{token}/", user.id));
    let message = mail::password_reset(
        &config.mail,
        &user.email,
        &user.username,
        &url,
        requested_by,
        ip,
    )
    .map_err(mail::render_failed)?;
    email::queue(conn, &message)?;
    Ok(())
}

/// The user a reset link is for, when its token is right, unused and not expired (checked under the
/// link throttle).
pub fn check(
    conn: &mut AnyConnection,
    throttle: LoginThrottle,
    ip: &str,
    user_id: i64,
    token: &str,
) -> Result<User, DomainError> {
    let digest = sha256_hex(token);
    let mut user = None;
    let checked = throttle::check(conn, throttle, ip, Secret::Link { user_id }, |conn| {
        let stored: Option<(String, NaiveDateTime)> = password_resets::table
            .filter(password_resets::user_id.eq(user_id))
            .select((password_resets::token_hash, password_resets::created_at))
            .first(conn)
            .optional()?;
        let valid = stored.is_some_and(|(hash, created)| {
            secrets_match(&hash, &digest) && created + RESET_TTL > query::now()
        });
        if valid {
            user = User::find(conn, user_id)?.filter(|u| u.is_active);
        }
        Ok(user.is_some())
    })?;
    match (checked, user) {
        (Check::Passed, Some(user)) => Ok(user),
        (Check::Throttled { retry_after }, _) => {
            Err(DomainError::RateLimited(throttle::too_many(retry_after)))
        }
        _ => Err(DomainError::Refused(ERR_INVALID_RESET_LINK.into())),
    }
}

/// Sets a new password with a reset link: the link is used up, every session of the user ends, the
/// reset is recorded and the primary address told. Returns the user (who logs in next).
pub fn reset(
    conn: &mut AnyConnection,
    config: &Config,
    ip: &str,
    user_id: i64,
    token: &str,
    (new, confirm): (&str, &str),
) -> Result<User, DomainError> {
    let password = parse_new_password(new, confirm, "password")?;
    let user = check(conn, config.login_throttle, ip, user_id, token)?;
    write_tx(conn, |conn| {
        // the link works once, even when two resets race: only one deletes it
        let used = diesel::delete(
            password_resets::table
                .filter(password_resets::user_id.eq(user.id))
                .filter(password_resets::token_hash.eq(sha256_hex(token))),
        )
        .execute(conn)?;
        if used == 0 {
            return Err(DomainError::Refused(ERR_INVALID_RESET_LINK.into()));
        }
        User::set_password_ending_sessions(conn, user.id, &password)?;
        announce_password_change(conn, config, &user, "reset with an emailed link", Some(ip))?;
        instance_audit::record(
            conn,
            &Actor::user(&user, Some(ip.to_owned())),
            event::PASSWORD_RESET,
            Some(user.id),
            json!({"username": user.username}),
        )?;
        Ok(user)
    })
}

/// Sets a user's password from the command line (recorded as the CLI); every session ends.
pub fn set_password(
    conn: &mut AnyConnection,
    user: &User,
    new: &crate::models::user::Password,
) -> Result<(), DomainError> {
    write_tx(conn, |conn| {
        User::set_password_ending_sessions(conn, user.id, new)?;
        diesel::delete(password_resets::table.filter(password_resets::user_id.eq(user.id)))
            .execute(conn)?;
        instance_audit::record(
            conn,
            &Actor::cli(),
            event::PASSWORD_SET,
            Some(user.id),
            json!({"username": user.username}),
        )?;
        Ok(())
    })
}
