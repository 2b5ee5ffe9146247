//! Personal API tokens (Sentry's `ApiToken` without an application): `sntryu_` followed by 64 hex
//! digits, made by a user for their own scripts, with a name, the scopes they choose and an optional
//! expiry. Making one emails the user; making and revoking are recorded in the instance audit log.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::scopes::{self, Scopes};
use super::{last_characters, parse_name, random_bytes};
use crate::config::Config;
use crate::db::{AnyConnection, query, write_tx};
use crate::errors::{DomainError, FieldErrors};
use crate::mail;
use crate::models::actor::Actor;
use crate::models::api_token::{self, ApiToken, NewApiToken};
use crate::models::email;
use crate::models::instance_audit::{self, event};
use crate::models::user::User;
use crate::secrets::sha256_hex;

pub const PREFIX: &str = "sntryu_";
/// How many tokens one user may hold.
pub const MAX_PER_USER: i64 = 100;

/// A new token: `sntryu_` and 32 random bytes in hex.
pub fn generate() -> String {
    format!("{PREFIX}{}", crate::secrets::hex(&random_bytes::<32>()))
}

/// What a person asks for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub name: String,
    pub scopes: Vec<String>,
    /// `YYYY-MM-DD` (the token works through that day, UTC) or an RFC 3339 time; empty for none.
    pub expires: String,
}

/// The end of the day `YYYY-MM-DD`, or the RFC 3339 time given.
fn parse_expiry(raw: &str, now: NaiveDateTime) -> Result<Option<NaiveDateTime>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let at = if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        date.succ_opt()
            .and_then(|next| next.and_hms_opt(0, 0, 0))
            .ok_or_else(|| "Enter a valid date.".to_owned())?
    } else {
        crate::drf::datetime(raw)?
    };
    if at <= now {
        return Err("The expiration date must be in the future.".into());
    }
    Ok(Some(at))
}

/// Makes a token for `user`; returns it with its text, which is shown this once. Each bad value is
/// an error on its field (`name`, `scopes`, `expiresAt`).
pub fn create(
    conn: &mut AnyConnection,
    config: &Config,
    actor: &Actor,
    user: &User,
    request: &Request,
) -> Result<(ApiToken, String), DomainError> {
    let now = query::now();
    let mut errors = FieldErrors::new();
    let name = errors.take("name", parse_name(&request.name, false));
    let scopes = errors.take("scopes", scopes::parse_requested(&request.scopes));
    let expires_at = errors.take("expiresAt", parse_expiry(&request.expires, now));
    let (Some(name), Some(scopes), Some(expires_at)) = (name, scopes, expires_at) else {
        return Err(DomainError::Invalid(errors));
    };
    write_tx(conn, |conn| {
        use crate::db::schema::api_tokens;
        let held: i64 = api_tokens::table
            .filter(api_tokens::user_id.eq(user.id))
            .count()
            .get_result(conn)?;
        if held >= MAX_PER_USER {
            return Err(DomainError::Invalid(FieldErrors::single(
                "name",
                format!(
                    "You have {MAX_PER_USER} tokens, the most one account may have: revoke one first."
                ),
            )));
        }
        let text = generate();
        let token = api_token::insert(
            conn,
            &NewApiToken {
                user_id: user.id,
                name: &name,
                token_hash: &sha256_hex(&text),
                token_last_characters: &last_characters(&text),
                scopes: &scopes.to_stored(),
                expires_at,
            },
        )?;
        let notice = mail::api_token_created(
            &config.mail,
            &user.email,
            &user.username,
            &describe(&token),
            actor.ip_address.as_deref(),
            &config.absolute_url("/account/api-tokens/"),
        )
        .map_err(mail::render_failed)?;
        email::queue(conn, &notice)?;
        instance_audit::record(
            conn,
            actor,
            event::API_TOKEN_CREATE,
            Some(user.id),
            json!({"username": user.username, "name": token.name, "scopes": token.scopes}),
        )?;
        Ok((token, text))
    })
}

/// A token as a sentence for emails and the audit log: its name (or last characters) and scopes.
pub fn describe(token: &ApiToken) -> String {
    let label = if token.name.is_empty() {
        format!("…{}", token.token_last_characters)
    } else {
        format!("\"{}\"", token.name)
    };
    format!("{label} ({})", token.scopes.replace(' ', ", "))
}

pub fn list(conn: &mut AnyConnection, user_id: i64) -> QueryResult<Vec<ApiToken>> {
    api_token::list_for_user(conn, user_id)
}

/// Revokes one of the user's tokens at once (the row goes). `Ok(None)` when the user has no token
/// with this id (someone else's looks the same as none).
pub fn revoke(
    conn: &mut AnyConnection,
    actor: &Actor,
    user: &User,
    id: i64,
) -> Result<Option<ApiToken>, DomainError> {
    write_tx(conn, |conn| {
        let Some(token) = api_token::find_for_user(conn, user.id, id)? else {
            return Ok(None);
        };
        api_token::delete_for_user(conn, user.id, id)?;
        instance_audit::record(
            conn,
            actor,
            event::API_TOKEN_REMOVE,
            Some(user.id),
            json!({"username": user.username, "name": token.name, "scopes": token.scopes}),
        )?;
        Ok(Some(token))
    })
}

/// What a token's scopes mean, for the list: its stored scopes as Sentry shows them.
pub fn stored_scopes(token: &ApiToken) -> Scopes {
    Scopes::from_stored(&token.scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_the_prefix_and_64_hex_digits() {
        let token = generate();
        assert!(token.starts_with(PREFIX));
        let hex = &token[PREFIX.len()..];
        assert_eq!(hex.len(), 64);
        assert!(
            hex.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(generate(), token);
    }

    #[test]
    fn an_expiry_is_a_future_day_or_time() {
        let now = NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        assert_eq!(parse_expiry("", now), Ok(None));
        assert_eq!(
            parse_expiry("2026-12-01", now)
                .unwrap()
                .unwrap()
                .to_string(),
            "2026-12-02 00:00:00",
            "a day means through its end"
        );
        assert_eq!(
            parse_expiry("2026-11-30", now),
            Err("The expiration date must be in the future.".into())
        );
        assert!(parse_expiry("2027-01-01T10:00:00Z", now).unwrap().is_some());
        assert!(
            parse_expiry("soon", now)
                .unwrap_err()
                .starts_with("Datetime has wrong format.")
        );
    }
}
