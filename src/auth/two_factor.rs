//! Two-factor authentication: TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of clock
//! skew, no code accepted twice) and single-use recovery codes. Recovery codes alone are not a second
//! factor for an organization's 2FA requirement (docs/compatibility.md, "Access").

use diesel::prelude::*;
use rand::RngCore;
use totp_rs::{Algorithm, Secret, TOTP};

use super::throttle;
use crate::config::LoginThrottle;
use crate::db::schema::authenticators;
use crate::db::{AnyConnection, query, write_tx};
use crate::errors::DomainError;
use crate::models::user::User;

pub const TOTP_KIND: &str = "totp";
pub const RECOVERY_KIND: &str = "recovery";
pub const RECOVERY_CODES: usize = 10;
const STEP: u64 = 30;
const ISSUER: &str = "orgsettings";

/// A fresh TOTP secret (160 random bits), base32.
pub fn new_secret() -> String {
    match Secret::generate_secret().to_encoded() {
        Secret::Encoded(text) => text,
        Secret::Raw(_) => String::new(),
    }
}

fn totp(secret: &str, account: &str) -> anyhow::Result<TOTP> {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .map_err(|e| anyhow::anyhow!("the TOTP secret is not base32: {e:?}"))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP,
        bytes,
        Some(ISSUER.into()),
        account.to_owned(),
    )
    .map_err(|e| anyhow::anyhow!("TOTP setup: {e}"))
}

/// The QR code of the `otpauth://` URL, as a base64 PNG (for a `data:` image).
pub fn qr_png_base64(secret: &str, account: &str) -> anyhow::Result<String> {
    totp(secret, account)?
        .get_qr_base64()
        .map_err(|e| anyhow::anyhow!("rendering the QR code: {e}"))
}

/// The code of a secret at a time (for tests and the docs' examples).
pub fn code_at(secret: &str, unix_seconds: u64) -> anyhow::Result<String> {
    Ok(totp(secret, "x")?.generate(unix_seconds))
}

fn now_secs() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

/// The time step a code matches (current one, or one step either side), if any.
fn matching_step(secret: &str, code: &str, now: u64) -> anyhow::Result<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let generator = totp(secret, "x")?;
    let current = now / STEP;
    for step in [current.saturating_sub(1), current, current + 1] {
        if crate::secrets::secrets_match(&generator.generate(step * STEP), &code) {
            return Ok(Some(step as i64));
        }
    }
    Ok(None)
}

/// Whether `code` is right for a secret being set up (nothing stored yet).
pub fn code_is_valid(secret: &str, code: &str) -> anyhow::Result<bool> {
    Ok(matching_step(secret, code, now_secs())?.is_some())
}

fn hash_code(code: &str) -> String {
    let normalized: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect();
    crate::secrets::sha256_hex(&normalized)
}

/// Ten new recovery codes (`xxxxx-xxxxx`, 50 random bits each).
fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rng().fill_bytes(&mut bytes);
            let chars: String = bytes
                .iter()
                .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

fn store_recovery_codes(conn: &mut AnyConnection, user_id: i64) -> QueryResult<Vec<String>> {
    let codes = new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| hash_code(c)).collect();
    let config = serde_json::to_string(&hashes).unwrap_or_else(|_| "[]".into());
    diesel::delete(
        authenticators::table
            .filter(authenticators::user_id.eq(user_id))
            .filter(authenticators::kind.eq(RECOVERY_KIND)),
    )
    .execute(conn)?;
    diesel::insert_into(authenticators::table)
        .values((
            authenticators::user_id.eq(user_id),
            authenticators::kind.eq(RECOVERY_KIND),
            authenticators::config.eq(config),
            authenticators::confirmed.eq(true),
            authenticators::created_at.eq(query::now()),
        ))
        .execute(conn)?;
    Ok(codes)
}

/// Turns on TOTP for a user after they proved the secret with a code; returns the recovery codes
/// (shown once). `Ok(None)` when the code is wrong.
pub fn enrol(
    conn: &mut AnyConnection,
    user: &User,
    secret: &str,
    code: &str,
) -> anyhow::Result<Option<Vec<String>>> {
    let Some(step) = matching_step(secret, code, now_secs())? else {
        return Ok(None);
    };
    write_tx(conn, |conn| -> anyhow::Result<Option<Vec<String>>> {
        diesel::delete(authenticators::table.filter(authenticators::user_id.eq(user.id)))
            .execute(conn)?;
        diesel::insert_into(authenticators::table)
            .values((
                authenticators::user_id.eq(user.id),
                authenticators::kind.eq(TOTP_KIND),
                authenticators::config.eq(secret),
                authenticators::confirmed.eq(true),
                authenticators::created_at.eq(query::now()),
                authenticators::last_used_at.eq(query::now()),
                authenticators::last_step.eq(step),
            ))
            .execute(conn)?;
        Ok(Some(store_recovery_codes(conn, user.id)?))
    })
}

/// Checks a login's second factor: a TOTP code (each accepted once) or an unused recovery code
/// (then used up). Each UPDATE requires the value it read (compare and set), so of two logins with
/// the same code at once only one gets in, on PostgreSQL too.
pub fn verify(conn: &mut AnyConnection, user: &User, code: &str) -> anyhow::Result<bool> {
    write_tx(conn, |conn| -> anyhow::Result<bool> {
        let rows: Vec<(i64, String, String, i64)> = authenticators::table
            .filter(authenticators::user_id.eq(user.id))
            .filter(authenticators::confirmed.eq(true))
            .select((
                authenticators::id,
                authenticators::kind,
                authenticators::config,
                authenticators::last_step,
            ))
            .load(conn)?;
        for (id, kind, config, last_step) in &rows {
            if kind == TOTP_KIND
                && let Some(step) = matching_step(config, code, now_secs())?
                && step > *last_step
            {
                let changed = diesel::update(
                    authenticators::table
                        .find(id)
                        .filter(authenticators::last_step.eq(last_step)),
                )
                .set((
                    authenticators::last_step.eq(step),
                    authenticators::last_used_at.eq(query::now()),
                ))
                .execute(conn)?;
                return Ok(changed == 1);
            }
        }
        let hashed = hash_code(code);
        for (id, kind, config, _) in &rows {
            if kind != RECOVERY_KIND {
                continue;
            }
            let mut hashes: Vec<String> = serde_json::from_str(config).unwrap_or_default();
            if let Some(i) = hashes
                .iter()
                .position(|h| crate::secrets::secrets_match(h, &hashed))
            {
                hashes.remove(i);
                let changed = diesel::update(
                    authenticators::table
                        .find(id)
                        .filter(authenticators::config.eq(config)),
                )
                .set((
                    authenticators::config.eq(serde_json::to_string(&hashes)?),
                    authenticators::last_used_at.eq(query::now()),
                ))
                .execute(conn)?;
                return Ok(changed == 1);
            }
        }
        Ok(false)
    })
}

/// How many recovery codes the user has left.
pub fn recovery_codes_left(conn: &mut AnyConnection, user_id: i64) -> QueryResult<usize> {
    let config: Option<String> = authenticators::table
        .filter(authenticators::user_id.eq(user_id))
        .filter(authenticators::kind.eq(RECOVERY_KIND))
        .select(authenticators::config)
        .first(conn)
        .optional()?;
    Ok(config
        .and_then(|c| serde_json::from_str::<Vec<String>>(&c).ok())
        .map_or(0, |codes| codes.len()))
}

/// New recovery codes, replacing the old ones.
pub fn regenerate_recovery_codes(
    conn: &mut AnyConnection,
    user_id: i64,
) -> QueryResult<Vec<String>> {
    write_tx(conn, |conn| store_recovery_codes(conn, user_id))
}

/// Turns two-factor authentication off (all of the user's authenticators).
pub fn disable(conn: &mut AnyConnection, user_id: i64) -> QueryResult<()> {
    diesel::delete(authenticators::table.filter(authenticators::user_id.eq(user_id)))
        .execute(conn)
        .map(|_| ())
}

/// What the security page shows of a user's two-factor authentication.
#[derive(Debug, Clone)]
pub struct Status {
    pub enrolled: bool,
    pub recovery_codes_left: usize,
    /// The user's organizations that require it, by name.
    pub required_by: Vec<String>,
}

pub fn status(conn: &mut AnyConnection, user: &User) -> QueryResult<Status> {
    Ok(Status {
        enrolled: user.has_two_factor(conn)?,
        recovery_codes_left: recovery_codes_left(conn, user.id)?,
        required_by: required_by(conn, user.id)?,
    })
}

/// The organizations (by name) of the user that require two-factor authentication.
pub fn required_by(conn: &mut AnyConnection, user_id: i64) -> QueryResult<Vec<String>> {
    Ok(
        crate::models::organization::Organization::list_for_user(conn, user_id)?
            .into_iter()
            .filter(|item| item.org.flags.get(crate::models::flags::Flag::Require2fa))
            .map(|item| item.org.name)
            .collect(),
    )
}

/// [`enrol`] with its code checked under the throttle; the recovery codes, shown once.
pub fn enrol_checked(
    conn: &mut AnyConnection,
    throttle: LoginThrottle,
    ip: &str,
    user: &User,
    secret: &str,
    code: &str,
) -> Result<Vec<String>, DomainError> {
    let mut codes = None;
    throttle::require(
        conn,
        throttle,
        ip,
        throttle::Secret::SecondFactor { user_id: user.id },
        ("code", throttle::ERR_WRONG_CODE),
        |conn| {
            codes = enrol(conn, user, secret, code)?;
            Ok(codes.is_some())
        },
    )?;
    codes.ok_or_else(|| DomainError::Internal(anyhow::anyhow!("enrolled without recovery codes")))
}

/// New recovery codes, after a current code (checked under the throttle).
pub fn regenerate_checked(
    conn: &mut AnyConnection,
    throttle: LoginThrottle,
    ip: &str,
    user: &User,
    code: &str,
) -> Result<Vec<String>, DomainError> {
    require_code(conn, throttle, ip, user, code)?;
    Ok(regenerate_recovery_codes(conn, user.id)?)
}

/// Turns two-factor authentication off after a current code (checked under the throttle); refused
/// while one of the user's organizations requires it.
pub fn disable_checked(
    conn: &mut AnyConnection,
    throttle: LoginThrottle,
    ip: &str,
    user: &User,
    code: &str,
) -> Result<(), DomainError> {
    require_code(conn, throttle, ip, user, code)?;
    let required = required_by(conn, user.id)?;
    if !required.is_empty() {
        return Err(DomainError::Refused(format!(
            "{} requires two-factor authentication: it stays on.",
            required.join(", ")
        )));
    }
    Ok(disable(conn, user.id)?)
}

/// A current authenticator or recovery code of `user`, checked under the throttle (a field error on
/// `code`).
pub fn require_code(
    conn: &mut AnyConnection,
    throttle: LoginThrottle,
    ip: &str,
    user: &User,
    code: &str,
) -> Result<(), DomainError> {
    throttle::require(
        conn,
        throttle,
        ip,
        throttle::Secret::SecondFactor { user_id: user.id },
        ("code", throttle::ERR_WRONG_CODE),
        |conn| verify(conn, user, code),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_current_step_and_one_step_either_side_only() {
        let secret = new_secret();
        let now = 1_000_000_020;
        let step = (now / STEP) as i64;
        let at = |t: u64| code_at(&secret, t).unwrap();
        assert_eq!(matching_step(&secret, &at(now), now).unwrap(), Some(step));
        assert_eq!(
            matching_step(&secret, &at(now - 30), now).unwrap(),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(&secret, &at(now + 30), now).unwrap(),
            Some(step + 1)
        );
        assert_eq!(matching_step(&secret, &at(now - 90), now).unwrap(), None);
        assert_eq!(matching_step(&secret, "12345", now).unwrap(), None);
        assert_eq!(matching_step(&secret, "abcdef", now).unwrap(), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_the_same_however_they_are_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        assert_eq!(hash_code("abcde-fghij"), hash_code(" ABCDEFGHIJ "));
    }
}
