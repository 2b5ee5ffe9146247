//! Organization auth tokens (Sentry's `OrgAuthToken`): `sntrys_`, then base64 of a JSON payload
//! (`iat`, `url`, `region_url`, `org`), `_`, and a random secret, as Sentry's
//! `utils/security/orgauthtoken_token.py` makes them; `url` is this instance's public URL, so
//! `sentry-cli` finds the server from the token alone. Scope `org:ci`. Owners and managers make,
//! rename and revoke them; making and revoking are in the organization's audit log (Sentry's
//! `org-auth-token.create` / `.remove`), and the owners are emailed when one is made.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::scopes::Scopes;
use super::{last_characters, parse_name, random_bytes};
use crate::config::Config;
use crate::db::schema::{organization_members, users};
use crate::db::{AnyConnection, write_tx};
use crate::errors::{DomainError, FieldErrors};
use crate::mail;
use crate::models::actor::Actor;
use crate::models::audit::{self, AuditEvent, NewAuditEntry};
use crate::models::email;
use crate::models::org_token::{self, NewOrgToken, OrgToken};
use crate::models::organization::Organization;
use crate::models::role::Role;
use crate::secrets::sha256_hex;

pub const PREFIX: &str = "sntrys_";
/// The one scope an organization token carries.
pub const SCOPE: &str = "org:ci";
/// How many active tokens one organization may hold.
pub const MAX_PER_ORG: usize = 100;

/// This instance's URL as Sentry's `system.url-prefix` reads: without a trailing slash.
pub fn instance_url(config: &Config) -> String {
    config.public_url.as_str().trim_end_matches('/').to_owned()
}

/// A new token for the organization `slug` on the instance at `url`.
pub fn generate(slug: &str, url: &str, iat: f64) -> String {
    // Python's json.dumps separators, as Sentry writes the payload
    let field = |key: &str, value: Value| format!("\"{key}\": {value}");
    let payload = format!(
        "{{{}}}",
        [
            field("iat", json!(iat)),
            field("url", json!(url)),
            field("region_url", json!(url)),
            field("org", json!(slug)),
        ]
        .join(", ")
    );
    let secret = STANDARD_NO_PAD.encode(random_bytes::<32>());
    format!("{PREFIX}{}_{secret}", STANDARD.encode(payload))
}

/// The payload of an organization token (Sentry's `parse_token`): `None` when it is not one.
pub fn parse(token: &str) -> Option<Value> {
    let rest = token.strip_prefix(PREFIX)?;
    if token.matches('_').count() != 2 {
        return None;
    }
    let (payload, _) = rest.rsplit_once('_')?;
    let bytes = STANDARD.decode(payload).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("iat")?;
    Some(value)
}

/// Makes a token for `org`; returns it with its text, shown this once.
pub fn create(
    conn: &mut AnyConnection,
    config: &Config,
    actor: &Actor,
    org: &Organization,
    raw_name: &str,
) -> Result<(OrgToken, String), DomainError> {
    let name = parse_name(raw_name, true)
        .map_err(|message| DomainError::Invalid(FieldErrors::single("name", message)))?;
    write_tx(conn, |conn| {
        if org_token::list_active(conn, org.id)?.len() >= MAX_PER_ORG {
            return Err(DomainError::Invalid(FieldErrors::single(
                "name",
                format!(
                    "This organization has {MAX_PER_ORG} tokens, the most it may have: revoke one first."
                ),
            )));
        }
        let iat = chrono::Utc::now().timestamp_micros() as f64 / 1_000_000.0;
        let text = generate(&org.slug, &instance_url(config), iat);
        let token = org_token::insert(
            conn,
            &NewOrgToken {
                organization_id: org.id,
                name: &name,
                token_hash: &sha256_hex(&text),
                token_last_characters: &last_characters(&text),
                scopes: SCOPE,
                created_by_id: actor.user_id,
            },
        )?;
        audit::record(
            conn,
            &NewAuditEntry {
                target_object: Some(token.id),
                ..NewAuditEntry::new(
                    org.id,
                    actor,
                    AuditEvent::OrgAuthTokenAdd,
                    json!({"name": token.name, "scopes": [SCOPE]}),
                )
            },
        )?;
        let owners: Vec<String> = organization_members::table
            .inner_join(users::table)
            .filter(organization_members::organization_id.eq(org.id))
            .filter(organization_members::role.eq(Role::Owner.id()))
            .filter(users::is_active.eq(true))
            .select(users::email)
            .load(conn)?;
        for owner in owners {
            let notice = mail::org_token_created(
                &config.mail,
                &owner,
                &org.name,
                &token.name,
                &actor.label,
                &config.absolute_url(&format!("/settings/{}/auth-tokens/", org.slug)),
            )
            .map_err(mail::render_failed)?;
            email::queue(conn, &notice)?;
        }
        Ok((token, text))
    })
}

pub fn list(conn: &mut AnyConnection, organization_id: i64) -> QueryResult<Vec<OrgToken>> {
    org_token::list_active(conn, organization_id)
}

/// One active token of the organization.
pub fn find(
    conn: &mut AnyConnection,
    organization_id: i64,
    id: i64,
) -> QueryResult<Option<OrgToken>> {
    org_token::find_active(conn, organization_id, id)
}

/// Renames an active token; `Ok(None)` when the organization has none with this id.
pub fn rename(
    conn: &mut AnyConnection,
    org: &Organization,
    id: i64,
    raw_name: &str,
) -> Result<Option<OrgToken>, DomainError> {
    let name = parse_name(raw_name, true)
        .map_err(|message| DomainError::Invalid(FieldErrors::single("name", message)))?;
    write_tx(conn, |conn| {
        if org_token::find_active(conn, org.id, id)?.is_none() {
            return Ok(None);
        }
        org_token::rename(conn, id, &name)?;
        Ok(org_token::find_active(conn, org.id, id)?)
    })
}

/// Revokes an active token at once (it stays, deactivated, for the record); `Ok(None)` when the
/// organization has none with this id.
pub fn revoke(
    conn: &mut AnyConnection,
    actor: &Actor,
    org: &Organization,
    id: i64,
) -> Result<Option<OrgToken>, DomainError> {
    write_tx(conn, |conn| {
        let Some(token) = org_token::find_active(conn, org.id, id)? else {
            return Ok(None);
        };
        org_token::deactivate(conn, id)?;
        audit::record(
            conn,
            &NewAuditEntry {
                target_object: Some(token.id),
                ..NewAuditEntry::new(
                    org.id,
                    actor,
                    AuditEvent::OrgAuthTokenRemove,
                    json!({"name": token.name, "scopes": [SCOPE]}),
                )
            },
        )?;
        Ok(Some(token))
    })
}

/// What an organization token may do: `org:ci`, in its own organization only.
pub fn scopes() -> Scopes {
    Scopes::of([SCOPE])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_carries_the_instance_url_and_the_organization_as_sentrys_does() {
        let token = generate("acme", "https://errors.example.com", 1701436800.25);
        assert!(token.starts_with(PREFIX));
        assert_eq!(
            token.matches('_').count(),
            2,
            "Sentry's parse_token needs exactly two"
        );
        let payload = parse(&token).unwrap();
        assert_eq!(
            payload,
            json!({"iat": 1701436800.25, "url": "https://errors.example.com", "region_url": "https://errors.example.com", "org": "acme"})
        );
        let encoded = &token[PREFIX.len()..token.rfind('_').unwrap()];
        assert_eq!(
            String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap(),
            r#"{"iat": 1701436800.25, "url": "https://errors.example.com", "region_url": "https://errors.example.com", "org": "acme"}"#
        );
        assert_ne!(generate("acme", "u", 1.0), generate("acme", "u", 1.0));
        assert!(parse("sntryu_abc").is_none());
        assert!(parse("sntrys_bm90IGpzb24=_x").is_none());
    }
}
