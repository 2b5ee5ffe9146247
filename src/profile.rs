//! The user's own account, free of HTTP: their name, their email addresses (added unverified,
//! verified by an emailed link, made primary only once verified) and their password. Every change
//! is recorded in the instance audit log in the transaction that makes it; a password change ends
//! the user's other sessions and is announced by email, as is a new primary address (to the old one).

use diesel::prelude::*;
use serde_json::json;

use crate::auth::throttle::{self, Secret};
use crate::config::{Config, LoginThrottle};
use crate::db::schema::user_emails;
use crate::db::{AnyConnection, query, write_tx};
use crate::errors::{DomainError, FieldErrors};
use crate::mail;
use crate::models::actor::Actor;
use crate::models::email;
use crate::models::instance_audit::{self, event};
use crate::models::user::{
    ERR_PASSWORDS_DIFFER, EmailAddress, Password, PersonName, User, new_validation_hash,
    normalize_email,
};
use crate::secrets::{secrets_match, sha256_hex};

/// How long an email verification link works.
pub const VERIFICATION_TTL: chrono::Duration = chrono::Duration::days(3);
/// How many addresses one user may have.
pub const MAX_EMAILS: usize = 10;

pub const ERR_NOT_YOURS: &str = "That address is not one of yours.";
pub const ERR_INVALID_LINK: &str =
    "This verification link is not valid. Send a new one from your account page.";
pub const ERR_EXPIRED_LINK: &str =
    "This verification link has expired. Send a new one from your account page.";

/// One of a user's email addresses, with its verification state.
#[derive(Debug, Clone, Queryable)]
pub struct UserEmail {
    pub email: String,
    pub is_verified: bool,
}

pub fn emails_of(conn: &mut AnyConnection, user_id: i64) -> QueryResult<Vec<UserEmail>> {
    user_emails::table
        .filter(user_emails::user_id.eq(user_id))
        .order(user_emails::id)
        .select((user_emails::email, user_emails::is_verified))
        .load(conn)
}

/// The user's address that normalizes like `raw`, or [`ERR_NOT_YOURS`].
fn own_address(
    conn: &mut AnyConnection,
    user_id: i64,
    raw: &str,
) -> Result<UserEmail, DomainError> {
    emails_of(conn, user_id)?
        .into_iter()
        .find(|e| normalize_email(&e.email) == normalize_email(raw))
        .ok_or_else(|| DomainError::Refused(ERR_NOT_YOURS.into()))
}

/// Queues a new verification link for `address` (one of the user's), replacing its old link.
fn queue_verification(
    conn: &mut AnyConnection,
    config: &Config,
    user: &User,
    address: &str,
) -> Result<(), DomainError> {
    let token = new_validation_hash(conn, user.id, address)?;
    let url = config.absolute_url(&format!("/account/confirm-email/{}/{token}/", user.id));
    let message = mail::confirm_email(&config.mail, address, &url).map_err(mail::render_failed)?;
    email::queue(conn, &message)?;
    Ok(())
}

/// Sends (through the outbox) a new verification link for one of the user's unverified addresses.
pub fn send_verification(
    conn: &mut AnyConnection,
    config: &Config,
    user: &User,
    address: &str,
) -> Result<(), DomainError> {
    write_tx(conn, |conn| {
        let known = own_address(conn, user.id, address)?;
        if known.is_verified {
            return Err(DomainError::Refused(format!(
                "{} is already verified.",
                known.email
            )));
        }
        queue_verification(conn, config, user, &known.email)
    })
}

/// Verifies the address whose link was opened (the token is checked under the link throttle);
/// returns the address. Refused when the link is wrong, used, or older than [`VERIFICATION_TTL`].
pub fn confirm_email(
    conn: &mut AnyConnection,
    throttle: LoginThrottle,
    ip: &str,
    user_id: i64,
    token: &str,
) -> Result<String, DomainError> {
    let digest = sha256_hex(token);
    let mut found = None;
    let check = throttle::check(conn, throttle, ip, Secret::Link { user_id }, |conn| {
        let rows: Vec<(i64, String, String, chrono::NaiveDateTime)> = user_emails::table
            .filter(user_emails::user_id.eq(user_id))
            .select((
                user_emails::id,
                user_emails::email,
                user_emails::validation_hash,
                user_emails::date_hash_added,
            ))
            .load(conn)?;
        found = rows
            .into_iter()
            .find(|(_, _, stored, _)| secrets_match(stored, &digest));
        Ok(found.is_some())
    })?;
    let (id, address, added) = match (check, found) {
        (throttle::Check::Throttled { retry_after }, _) => {
            return Err(DomainError::RateLimited(throttle::too_many(retry_after)));
        }
        (throttle::Check::Passed, Some((id, address, _, added))) => (id, address, added),
        _ => return Err(DomainError::Refused(ERR_INVALID_LINK.into())),
    };
    if added + VERIFICATION_TTL < query::now() {
        return Err(DomainError::Refused(ERR_EXPIRED_LINK.into()));
    }
    write_tx(conn, |conn| {
        diesel::update(user_emails::table.find(id))
            .set((
                user_emails::is_verified.eq(true),
                // the link works once
                user_emails::validation_hash.eq(""),
            ))
            .execute(conn)?;
        let username = User::find(conn, user_id)?.map(|u| u.username);
        instance_audit::record(
            conn,
            &Actor {
                user_id: Some(user_id),
                label: username.clone().unwrap_or_default(),
                ip_address: Some(ip.to_owned()),
                is_staff: false,
            },
            event::EMAIL_VERIFY,
            Some(user_id),
            json!({"username": username, "email": address}),
        )?;
        Ok(address)
    })
}

/// Adds an address to the user's account, unverified, and emails it a verification link. It counts
/// (for logins, requirements, being made primary) only once verified.
pub fn add_email(
    conn: &mut AnyConnection,
    config: &Config,
    actor: &Actor,
    user: &User,
    raw: &str,
) -> Result<String, DomainError> {
    let address = EmailAddress::parse(raw)
        .map_err(|message| DomainError::Invalid(FieldErrors::single("email", message)))?;
    write_tx(conn, |conn| {
        let known = emails_of(conn, user.id)?;
        if let Some(same) = known
            .iter()
            .find(|e| normalize_email(&e.email) == address.normalized())
        {
            return Err(DomainError::Invalid(FieldErrors::single(
                "email",
                format!("{} is already one of your addresses.", same.email),
            )));
        }
        if known.len() >= MAX_EMAILS {
            return Err(DomainError::Invalid(FieldErrors::single(
                "email",
                format!("You can have at most {MAX_EMAILS} addresses: remove one first."),
            )));
        }
        diesel::insert_into(user_emails::table)
            .values((
                user_emails::user_id.eq(user.id),
                user_emails::email.eq(address.as_str()),
                user_emails::email_normalized.eq(address.normalized()),
                user_emails::is_verified.eq(false),
                user_emails::validation_hash.eq(""),
                user_emails::date_hash_added.eq(query::now()),
            ))
            .execute(conn)?;
        queue_verification(conn, config, user, address.as_str())?;
        instance_audit::record(
            conn,
            actor,
            event::EMAIL_ADD,
            Some(user.id),
            json!({"username": user.username, "email": address.as_str()}),
        )?;
        Ok(address.as_str().to_owned())
    })
}

/// Removes one of the user's addresses; never the primary one.
pub fn remove_email(
    conn: &mut AnyConnection,
    actor: &Actor,
    user: &User,
    raw: &str,
) -> Result<String, DomainError> {
    write_tx(conn, |conn| {
        let known = own_address(conn, user.id, raw)?;
        if normalize_email(&known.email) == user.email_normalized {
            return Err(DomainError::Refused(format!(
                "{} is your primary address: make another verified address primary first.",
                known.email
            )));
        }
        diesel::delete(
            user_emails::table
                .filter(user_emails::user_id.eq(user.id))
                .filter(user_emails::email_normalized.eq(normalize_email(&known.email))),
        )
        .execute(conn)?;
        instance_audit::record(
            conn,
            actor,
            event::EMAIL_REMOVE,
            Some(user.id),
            json!({"username": user.username, "email": known.email}),
        )?;
        Ok(known.email)
    })
}

/// Makes a verified address of the user's the primary one, and tells the old address.
pub fn make_primary(
    conn: &mut AnyConnection,
    config: &Config,
    actor: &Actor,
    user: &User,
    raw: &str,
) -> Result<String, DomainError> {
    write_tx(conn, |conn| {
        let known = own_address(conn, user.id, raw)?;
        if normalize_email(&known.email) == user.email_normalized {
            return Ok(known.email);
        }
        if !known.is_verified {
            return Err(DomainError::Refused(format!(
                "Verify {} before making it your primary address: open the link we sent to it.",
                known.email
            )));
        }
        User::set_primary_email(conn, user.id, &known.email)?;
        let notice = mail::primary_email_changed(
            &config.mail,
            &user.email,
            &user.username,
            &known.email,
            &config.absolute_url("/account/recover/"),
        )
        .map_err(mail::render_failed)?;
        email::queue(conn, &notice)?;
        instance_audit::record(
            conn,
            actor,
            event::EMAIL_PRIMARY,
            Some(user.id),
            json!({"username": user.username, "from": user.email, "to": known.email}),
        )?;
        Ok(known.email)
    })
}

/// Changes the name the user is shown with.
pub fn change_name(
    conn: &mut AnyConnection,
    actor: &Actor,
    user: &User,
    raw: &str,
) -> Result<(), DomainError> {
    let name = PersonName::parse(raw)
        .map_err(|message| DomainError::Invalid(FieldErrors::single("name", message)))?;
    if name.as_str() == user.name {
        return Ok(());
    }
    write_tx(conn, |conn| {
        User::set_name(conn, user.id, &name)?;
        instance_audit::record(
            conn,
            actor,
            event::USER_EDIT,
            Some(user.id),
            json!({"username": user.username, "name": name.as_str()}),
        )?;
        Ok(())
    })
}

/// What the change-password form sends.
#[derive(Debug, Clone, Copy)]
pub struct PasswordChange<'a> {
    pub current: &'a str,
    pub new: &'a str,
    pub confirm: &'a str,
}

/// Parses a new password typed twice: errors on `new_field` and `{new_field}_confirm`.
pub fn parse_new_password(
    new: &str,
    confirm: &str,
    new_field: &str,
) -> Result<Password, DomainError> {
    let password = Password::parse(new)
        .map_err(|message| DomainError::Invalid(FieldErrors::single(new_field, message)))?;
    if new != confirm {
        return Err(DomainError::Invalid(FieldErrors::single(
            &format!("{new_field}_confirm"),
            ERR_PASSWORDS_DIFFER,
        )));
    }
    Ok(password)
}

/// Changes the user's password once the current one is confirmed (under the login throttle): every
/// session of the user ends (the caller logs the current one in again with the returned user), an
/// entry is recorded and the primary address is told. A bad new password is refused before the
/// current one is checked, so it costs no throttled try.
pub fn change_password(
    conn: &mut AnyConnection,
    config: &Config,
    actor: &Actor,
    user: &User,
    change: PasswordChange<'_>,
) -> Result<User, DomainError> {
    let new = parse_new_password(change.new, change.confirm, "new_password")?;
    let ip = actor.ip_address.as_deref().unwrap_or("unknown");
    throttle::require_password(conn, config.login_throttle, ip, user, change.current)?;
    write_tx(conn, |conn| {
        User::set_password_ending_sessions(conn, user.id, &new)?;
        announce_password_change(conn, config, user, "changed", actor.ip_address.as_deref())?;
        instance_audit::record(
            conn,
            actor,
            event::PASSWORD_CHANGE,
            Some(user.id),
            json!({"username": user.username}),
        )?;
        User::find(conn, user.id)?.ok_or(DomainError::Db(diesel::result::Error::NotFound))
    })
}

/// Queues "Your password was changed" to the user's primary address.
pub(crate) fn announce_password_change(
    conn: &mut AnyConnection,
    config: &Config,
    user: &User,
    how: &str,
    ip: Option<&str>,
) -> Result<(), DomainError> {
    let notice = mail::password_changed(
        &config.mail,
        &user.email,
        &user.username,
        how,
        ip,
        &config.absolute_url("/account/recover/"),
    )
    .map_err(mail::render_failed)?;
    email::queue(conn, &notice)?;
    Ok(())
}
