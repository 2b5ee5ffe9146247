//! API tokens, free of HTTP (docs/compatibility.md, "Tokens"): personal tokens (`sntryu_`, a user's,
//! with the scopes they chose) and organization auth tokens (`sntrys_`, an organization's, `org:ci`).
//! Only the SHA-256 of a token is stored, with its last 4 characters for display; the token itself
//! is shown once, when it is made. [`authenticate`] turns the text of an `Authorization: Bearer`
//! header into who is calling, with Sentry's refusals.

pub mod org;
pub mod personal;
pub mod scopes;

use chrono::NaiveDateTime;

use crate::db::{AnyConnection, query};
use crate::models::api_token::{self, ApiToken};
use crate::models::org_token::{self, OrgToken};
use crate::models::user::User;
use crate::secrets::sha256_hex;
use scopes::Scopes;

/// How often a token's "last used" time is written at most: more uses within it write nothing.
pub const LAST_USED_INTERVAL: chrono::Duration = chrono::Duration::seconds(60);

/// The longest token name (Sentry's `CharField(max_length=255)`).
pub const MAX_NAME_LEN: usize = 255;

/// Who a valid token speaks for.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A user's personal token: what it grants, before the user's role in an organization cuts it
    /// down.
    Personal {
        token: ApiToken,
        user: User,
        scopes: Scopes,
    },
    /// An organization's token, good for that organization only.
    Org { token: OrgToken, scopes: Scopes },
}

impl Credential {
    /// The scopes the token grants anywhere (`GET /api/0/` shows them).
    pub fn scopes(&self) -> &Scopes {
        match self {
            Credential::Personal { scopes, .. } | Credential::Org { scopes, .. } => scopes,
        }
    }
}

/// Why a token is refused, with Sentry's texts (all answered 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Invalid,
    Expired,
    UserInactive,
    InvalidOrg,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Invalid => "Invalid token",
            Refusal::Expired => "Token expired",
            Refusal::UserInactive => "User inactive or deleted",
            Refusal::InvalidOrg => "Invalid org token",
        }
    }
}

/// The caller a bearer token names (Sentry's `UserAuthTokenAuthentication` and
/// `OrgAuthTokenAuthentication`), recording its use at most once per [`LAST_USED_INTERVAL`].
pub fn authenticate(
    conn: &mut AnyConnection,
    text: &str,
) -> diesel::QueryResult<Result<Credential, Refusal>> {
    let digest = sha256_hex(text);
    let now = query::now();
    if text.starts_with(org::PREFIX) {
        let Some(token) = org_token::find_active_by_hash(conn, &digest)? else {
            return Ok(Err(Refusal::InvalidOrg));
        };
        if is_stale(token.last_used_at, now) {
            org_token::touch(conn, token.id, now, now - LAST_USED_INTERVAL)?;
        }
        let scopes = Scopes::from_stored(&token.scopes);
        return Ok(Ok(Credential::Org { token, scopes }));
    }
    let Some(token) = api_token::find_by_hash(conn, &digest)? else {
        return Ok(Err(Refusal::Invalid));
    };
    if token.is_expired(now) {
        return Ok(Err(Refusal::Expired));
    }
    let Some(user) = User::find(conn, token.user_id)?.filter(|u| u.is_active) else {
        return Ok(Err(Refusal::UserInactive));
    };
    if is_stale(token.last_used_at, now) {
        api_token::touch(conn, token.id, now, now - LAST_USED_INTERVAL)?;
    }
    let scopes = Scopes::granted_by(&Scopes::from_stored(&token.scopes));
    Ok(Ok(Credential::Personal {
        token,
        user,
        scopes,
    }))
}

fn is_stale(last_used: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    last_used.is_none_or(|at| at + LAST_USED_INTERVAL <= now)
}

/// `n` random bytes from the OS-seeded generator.
fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore;
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// The last 4 characters of a token, for display.
fn last_characters(token: &str) -> String {
    let count = token.chars().count();
    token.chars().skip(count.saturating_sub(4)).collect()
}

/// A token's name: trimmed, at most [`MAX_NAME_LEN`] characters, no control characters.
pub fn parse_name(raw: &str, required: bool) -> Result<String, String> {
    let name = raw.trim();
    if required && name.is_empty() {
        return Err("This field may not be blank.".into());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(format!(
            "Ensure this field has no more than {MAX_NAME_LEN} characters."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("Names cannot contain control characters.".into());
    }
    Ok(name.to_owned())
}
