//! Registered relays and their usage (Sentry's `Relay` and `RelayUsage`), and the challenge tokens
//! already answered.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{relay_challenges_used, relay_usage, relays};
use crate::db::{AnyConnection, is_unique_violation, query};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = relays)]
pub struct Relay {
    pub id: i64,
    pub relay_id: String,
    pub public_key: String,
    pub is_internal: bool,
    pub first_seen: NaiveDateTime,
}

/// One registration of a relay id with a version (Sentry's `RelayUsage`).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = relay_usage)]
pub struct RelayUsage {
    pub relay_id: String,
    pub version: String,
    pub public_key: String,
    pub first_seen: NaiveDateTime,
    pub last_seen: NaiveDateTime,
}

pub fn find(conn: &mut AnyConnection, relay_id: &str) -> QueryResult<Option<Relay>> {
    relays::table
        .filter(relays::relay_id.eq(relay_id))
        .select(Relay::as_select())
        .get_result(conn)
        .optional()
}

/// The registered relays among `ids`.
pub fn find_many(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<Relay>> {
    relays::table
        .filter(relays::relay_id.eq_any(ids))
        .select(Relay::as_select())
        .load(conn)
}

/// Creates the relay, or updates its internal flag (its key never changes: a different key is
/// refused before this).
pub fn upsert(
    conn: &mut AnyConnection,
    relay_id: &str,
    public_key: &str,
    is_internal: bool,
    now: NaiveDateTime,
) -> QueryResult<()> {
    query::create_or_update(
        conn,
        |conn| {
            diesel::update(relays::table.filter(relays::relay_id.eq(relay_id)))
                .set(relays::is_internal.eq(is_internal))
                .execute(conn)
        },
        |conn| {
            diesel::insert_into(relays::table)
                .values((
                    relays::relay_id.eq(relay_id),
                    relays::public_key.eq(public_key),
                    relays::is_internal.eq(is_internal),
                    relays::first_seen.eq(now),
                ))
                .execute(conn)
        },
    )
    .map(|_| ())
}

/// Records a registration: a new row for a new relay id and version, else its last seen (and key).
pub fn record_usage(
    conn: &mut AnyConnection,
    relay_id: &str,
    version: &str,
    public_key: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    query::create_or_update(
        conn,
        |conn| {
            diesel::update(
                relay_usage::table
                    .filter(relay_usage::relay_id.eq(relay_id))
                    .filter(relay_usage::version.eq(version)),
            )
            .set((
                relay_usage::last_seen.eq(now),
                relay_usage::public_key.eq(public_key),
            ))
            .execute(conn)
        },
        |conn| {
            diesel::insert_into(relay_usage::table)
                .values((
                    relay_usage::relay_id.eq(relay_id),
                    relay_usage::version.eq(version),
                    relay_usage::public_key.eq(public_key),
                    relay_usage::first_seen.eq(now),
                    relay_usage::last_seen.eq(now),
                ))
                .execute(conn)
        },
    )
    .map(|_| ())
}

/// The usage of relays registered with any of `keys`, newest first.
pub fn usage_of_keys(conn: &mut AnyConnection, keys: &[String]) -> QueryResult<Vec<RelayUsage>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    // the keys come from one organization's trusted relays (at most 1 000): in chunks, so no
    // statement takes more variables than SQLite allows
    for chunk in keys.chunks(500) {
        found.extend(
            relay_usage::table
                .filter(relay_usage::public_key.eq_any(chunk))
                .select(RelayUsage::as_select())
                .load(conn)?,
        );
    }
    found.sort_by_key(|row| std::cmp::Reverse(row.last_seen));
    Ok(found)
}

/// Marks a challenge token answered; `false` when it already was.
pub fn use_challenge(
    conn: &mut AnyConnection,
    nonce: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<bool> {
    let inserted = crate::db::write(conn, |conn| {
        diesel::insert_into(relay_challenges_used::table)
            .values((
                relay_challenges_used::nonce.eq(nonce),
                relay_challenges_used::expires_at.eq(expires_at),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(err) if is_unique_violation(&err) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Forgets answered challenges that have expired; returns how many.
pub fn purge_used_challenges(conn: &mut AnyConnection) -> QueryResult<usize> {
    crate::db::write(conn, |conn| {
        diesel::delete(
            relay_challenges_used::table.filter(relay_challenges_used::expires_at.le(query::now())),
        )
        .execute(conn)
    })
}

/// How many usage rows there are (for tests: refused requests write none).
pub fn usage_count(conn: &mut AnyConnection) -> QueryResult<i64> {
    relay_usage::table.count().get_result(conn)
}
