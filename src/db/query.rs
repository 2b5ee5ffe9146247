//! Query helpers shared by every model (Sentry's `db/models/query.py`).
//!
//! diesel's `MultiConnection` cannot express `ON CONFLICT`, so "upsert" is built from an UPDATE and an
//! INSERT, the way Sentry's `create_or_update` does it: update the row the lookup matches; if there is
//! none, insert one; if that insert loses a race against a concurrent insert of the same row (a unique
//! violation), update the row the winner created.
//!
//! The helpers take the statements as closures, so each model keeps its own typed diesel queries and
//! the control flow (and its race handling) lives here once.

use chrono::{NaiveDateTime, Timelike};
use diesel::QueryResult;

use super::{AnyConnection, is_unique_violation};

/// What [`create_or_update`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new row was inserted.
    Created,
    /// This many existing rows were updated.
    Updated(usize),
}

/// Updates the row(s) matching a lookup; when none matches, inserts lookup + values + defaults.
///
/// * `update` runs the `UPDATE … SET values WHERE lookup` and returns the number of rows it changed;
///   it may run twice (again after a lost insert race).
/// * `insert` runs the `INSERT` of lookup, values and the create-only defaults.
///
/// The insert runs in a savepoint (or its own transaction), so a unique violation from a concurrent
/// insert leaves an enclosing transaction usable: the update is then retried and wins.
pub fn create_or_update(
    conn: &mut AnyConnection,
    mut update: impl FnMut(&mut AnyConnection) -> QueryResult<usize>,
    insert: impl FnOnce(&mut AnyConnection) -> QueryResult<usize>,
) -> QueryResult<Upserted> {
    let rows = update(conn)?;
    if rows > 0 {
        return Ok(Upserted::Updated(rows));
    }
    match super::write_tx(conn, insert) {
        Ok(_) => Ok(Upserted::Created),
        Err(err) if is_unique_violation(&err) => update(conn).map(Upserted::Updated),
        Err(err) => Err(err),
    }
}

/// The current time as stored in the database: UTC, without offset, at microsecond precision (what
/// PostgreSQL keeps), so a value read back compares equal to the one written.
pub fn now() -> NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    let micros = now.and_utc().timestamp_subsec_micros();
    now.with_nanosecond(micros * 1000).unwrap_or(now)
}
