//! The one-time setup link of an empty instance: it lets the first visitor create the first superuser
//! and organization, and dies once used.

use diesel::prelude::*;

use crate::db::schema::setup_tokens;
use crate::db::{AnyConnection, query, write_tx};
use crate::errors::DomainError;
use crate::models::actor::Actor;
use crate::models::organization::{OrgName, Organization};
use crate::models::permission;
use crate::models::slug::Slug;
use crate::models::user::{NewUser, User};
use crate::secrets::{random_token, secrets_match};

/// When the instance has no user yet, makes a fresh setup token (replacing any earlier one) and
/// returns it; otherwise removes any leftover token and returns `None`.
pub fn issue_if_empty(conn: &mut AnyConnection) -> QueryResult<Option<String>> {
    write_tx(conn, |conn| {
        diesel::delete(setup_tokens::table).execute(conn)?;
        if User::count(conn)? > 0 {
            return Ok(None);
        }
        let token = random_token();
        diesel::insert_into(setup_tokens::table)
            .values((
                setup_tokens::token.eq(&token),
                setup_tokens::created_at.eq(query::now()),
            ))
            .execute(conn)?;
        Ok(Some(token))
    })
}

/// Whether `token` is the live setup token (and the instance is still empty).
pub fn is_valid(conn: &mut AnyConnection, token: &str) -> QueryResult<bool> {
    let stored: Vec<String> = setup_tokens::table.select(setup_tokens::token).load(conn)?;
    Ok(stored.iter().any(|s| secrets_match(s, token)) && User::count(conn)? == 0)
}

/// Uses the token up, inside the transaction that creates the first user: returns false (and
/// changes nothing) when it is not valid any more, e.g. a second visitor was faster.
pub fn consume(conn: &mut AnyConnection, token: &str) -> QueryResult<bool> {
    if !is_valid(conn, token)? {
        return Ok(false);
    }
    // of two visitors at once, only the one whose DELETE still finds the token goes on (the other
    // waits for the row on PostgreSQL, then finds it gone)
    let deleted = diesel::delete(setup_tokens::table).execute(conn)?;
    Ok(deleted > 0)
}

/// Creates the first superuser and their organization with the setup token, all in one transaction.
/// `Ok(None)` when the token is not valid any more (used, replaced, or the instance has users).
pub fn complete(
    conn: &mut AnyConnection,
    token: &str,
    new_user: &NewUser,
    org_name: &OrgName,
    slug: Option<&Slug>,
    ip_address: Option<String>,
) -> Result<Option<(User, Organization)>, DomainError> {
    write_tx(conn, |conn| {
        if !consume(conn, token)? {
            return Ok(None);
        }
        let user = User::create(conn, new_user)?;
        // the setup link logs its user in: that is their first login
        User::record_login(conn, user.id)?;
        let user = User::find(conn, user.id)?.unwrap_or(user);
        // the first superuser may do everything, managing users included
        for name in permission::KNOWN {
            permission::add(conn, user.id, name)?;
        }
        let actor = Actor::user(&user, ip_address);
        let org = Organization::create(conn, org_name, slug, &user, &actor)?;
        Ok(Some((user, org)))
    })
}
