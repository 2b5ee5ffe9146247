//! Server-side sessions. The cookie carries a random key; the table keeps only the key's SHA-256,
//! so reading the table does not give anyone a live session. Each row holds the session's state (a
//! JSON object of strings), the user it is logged in as, and when it expires.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::sessions;
use crate::db::{AnyConnection, query};

/// The stored form of a session key.
pub fn key_hash(key: &str) -> String {
    crate::secrets::sha256_hex(key)
}

/// The state of an unexpired session.
pub fn load(conn: &mut AnyConnection, key_hash: &str) -> QueryResult<Option<String>> {
    let now = query::now();
    crate::on_native_connection!(conn, |c| sessions::table
        .filter(sessions::key_hash.eq(key_hash))
        .filter(sessions::expires_at.gt(now))
        .select(sessions::state)
        .get_result(c)
        .optional())
}

pub fn insert(
    conn: &mut AnyConnection,
    key_hash: &str,
    user_id: Option<i64>,
    state: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::insert_into(sessions::table)
            .values((
                sessions::key_hash.eq(key_hash),
                sessions::user_id.eq(user_id),
                sessions::state.eq(state),
                sessions::created_at.eq(query::now()),
                sessions::expires_at.eq(expires_at),
            ))
            .execute(conn)
            .map(|_| ())
    })
}

/// Replaces the state of a live session; `false` when it no longer exists (ended or expired), in
/// which case nothing is written: an ended session stays ended.
pub fn update(
    conn: &mut AnyConnection,
    key_hash: &str,
    user_id: Option<i64>,
    state: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<bool> {
    crate::db::write(conn, |conn| {
        diesel::update(
            sessions::table
                .filter(sessions::key_hash.eq(key_hash))
                .filter(sessions::expires_at.gt(query::now())),
        )
        .set((
            sessions::user_id.eq(user_id),
            sessions::state.eq(state),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|rows| rows > 0)
    })
}

pub fn extend(
    conn: &mut AnyConnection,
    key_hash: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::update(sessions::table.filter(sessions::key_hash.eq(key_hash)))
            .set(sessions::expires_at.eq(expires_at))
            .execute(conn)
            .map(|_| ())
    })
}

pub fn delete(conn: &mut AnyConnection, key_hash: &str) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::delete(sessions::table.filter(sessions::key_hash.eq(key_hash)))
            .execute(conn)
            .map(|_| ())
    })
}

/// Ends every session logged in as the user.
pub fn delete_for_user(conn: &mut AnyConnection, user_id: i64) -> QueryResult<usize> {
    crate::db::write(conn, |conn| {
        diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
    })
}

/// Deletes expired sessions; returns how many.
pub fn purge_expired(conn: &mut AnyConnection) -> QueryResult<usize> {
    crate::db::write(conn, |conn| {
        diesel::delete(sessions::table.filter(sessions::expires_at.le(query::now()))).execute(conn)
    })
}

/// How many sessions are stored (live or not yet purged).
pub fn count(conn: &mut AnyConnection) -> QueryResult<i64> {
    sessions::table.count().get_result(conn)
}
