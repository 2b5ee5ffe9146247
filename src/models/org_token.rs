//! Organization auth tokens: one row per token, found by the SHA-256 of the token; revoked ones are
//! deactivated, not deleted.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::org_auth_tokens;
use crate::db::{AnyConnection, query};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = org_auth_tokens)]
pub struct OrgToken {
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    pub token_hash: String,
    pub token_last_characters: String,
    pub scopes: String,
    pub created_by_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub deactivated_at: Option<NaiveDateTime>,
}

pub struct NewOrgToken<'a> {
    pub organization_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub token_last_characters: &'a str,
    pub scopes: &'a str,
    pub created_by_id: Option<i64>,
}

pub fn insert(conn: &mut AnyConnection, new: &NewOrgToken<'_>) -> QueryResult<OrgToken> {
    let id: i64 = diesel::insert_into(org_auth_tokens::table)
        .values((
            org_auth_tokens::organization_id.eq(new.organization_id),
            org_auth_tokens::name.eq(new.name),
            org_auth_tokens::token_hash.eq(new.token_hash),
            org_auth_tokens::token_last_characters.eq(new.token_last_characters),
            org_auth_tokens::scopes.eq(new.scopes),
            org_auth_tokens::created_by_id.eq(new.created_by_id),
            org_auth_tokens::created_at.eq(query::now()),
        ))
        .returning(org_auth_tokens::id)
        .get_result(conn)?;
    org_auth_tokens::table
        .find(id)
        .select(OrgToken::as_select())
        .first(conn)
}

/// The organization's active tokens, newest first.
pub fn list_active(conn: &mut AnyConnection, organization_id: i64) -> QueryResult<Vec<OrgToken>> {
    org_auth_tokens::table
        .filter(org_auth_tokens::organization_id.eq(organization_id))
        .filter(org_auth_tokens::deactivated_at.is_null())
        .order(org_auth_tokens::id.desc())
        .select(OrgToken::as_select())
        .load(conn)
}

/// An active token by the digest of its text.
pub fn find_active_by_hash(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> QueryResult<Option<OrgToken>> {
    org_auth_tokens::table
        .filter(org_auth_tokens::token_hash.eq(token_hash))
        .filter(org_auth_tokens::deactivated_at.is_null())
        .select(OrgToken::as_select())
        .get_result(conn)
        .optional()
}

/// One active token of the organization.
pub fn find_active(
    conn: &mut AnyConnection,
    organization_id: i64,
    id: i64,
) -> QueryResult<Option<OrgToken>> {
    org_auth_tokens::table
        .filter(org_auth_tokens::organization_id.eq(organization_id))
        .filter(org_auth_tokens::id.eq(id))
        .filter(org_auth_tokens::deactivated_at.is_null())
        .select(OrgToken::as_select())
        .get_result(conn)
        .optional()
}

pub fn rename(conn: &mut AnyConnection, id: i64, name: &str) -> QueryResult<()> {
    diesel::update(org_auth_tokens::table.find(id))
        .set(org_auth_tokens::name.eq(name))
        .execute(conn)
        .map(|_| ())
}

pub fn deactivate(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    diesel::update(org_auth_tokens::table.find(id))
        .set(org_auth_tokens::deactivated_at.eq(query::now()))
        .execute(conn)
        .map(|_| ())
}

/// Records a use, at most once per interval (see `api_token::touch`).
pub fn touch(
    conn: &mut AnyConnection,
    id: i64,
    now: NaiveDateTime,
    stale_before: NaiveDateTime,
) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::update(
            org_auth_tokens::table.find(id).filter(
                org_auth_tokens::last_used_at
                    .is_null()
                    .or(org_auth_tokens::last_used_at.lt(stale_before)),
            ),
        )
        .set(org_auth_tokens::last_used_at.eq(now))
        .execute(conn)
        .map(|_| ())
    })
}
