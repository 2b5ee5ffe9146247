//! Personal API tokens: one row per token, found by the SHA-256 of the token.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::api_tokens;
use crate::db::{AnyConnection, query};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub token_hash: String,
    pub token_last_characters: String,
    pub scopes: String,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

impl ApiToken {
    pub fn is_expired(&self, now: NaiveDateTime) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

/// What a new token row holds (the token itself is never stored).
pub struct NewApiToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub token_last_characters: &'a str,
    pub scopes: &'a str,
    pub expires_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut AnyConnection, new: &NewApiToken<'_>) -> QueryResult<ApiToken> {
    let id: i64 = diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::user_id.eq(new.user_id),
            api_tokens::name.eq(new.name),
            api_tokens::token_hash.eq(new.token_hash),
            api_tokens::token_last_characters.eq(new.token_last_characters),
            api_tokens::scopes.eq(new.scopes),
            api_tokens::expires_at.eq(new.expires_at),
            api_tokens::created_at.eq(query::now()),
        ))
        .returning(api_tokens::id)
        .get_result(conn)?;
    api_tokens::table
        .find(id)
        .select(ApiToken::as_select())
        .first(conn)
}

/// The user's tokens, newest first.
pub fn list_for_user(conn: &mut AnyConnection, user_id: i64) -> QueryResult<Vec<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order(api_tokens::id.desc())
        .select(ApiToken::as_select())
        .load(conn)
}

pub fn find_by_hash(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<Option<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::token_hash.eq(token_hash))
        .select(ApiToken::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_for_user(
    conn: &mut AnyConnection,
    user_id: i64,
    id: i64,
) -> QueryResult<Option<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::id.eq(id))
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
}

/// Deletes one of the user's tokens; `false` when they have none with this id.
pub fn delete_for_user(conn: &mut AnyConnection, user_id: i64, id: i64) -> QueryResult<bool> {
    diesel::delete(
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::id.eq(id)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// Records a use at `now` unless one was recorded since `stale_before` (so a busy token costs
/// one write a minute, not one per request).
pub fn touch(
    conn: &mut AnyConnection,
    id: i64,
    now: NaiveDateTime,
    stale_before: NaiveDateTime,
) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::update(
            api_tokens::table.find(id).filter(
                api_tokens::last_used_at
                    .is_null()
                    .or(api_tokens::last_used_at.lt(stale_before)),
            ),
        )
        .set(api_tokens::last_used_at.eq(now))
        .execute(conn)
        .map(|_| ())
    })
}
