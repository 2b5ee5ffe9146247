//! Failed-login throttle, kept in the database so that every instance behind one database counts the
//! same failures. A scope is a string such as `ip:203.0.113.7` or `user:alice`.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::auth_failures;
use crate::db::{AnyConnection, query};

/// How many failures a scope may have within the window before it is refused.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_failures: u32,
    pub window: Duration,
}

impl Policy {
    fn cutoff(&self, now: NaiveDateTime) -> NaiveDateTime {
        let window = chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::MAX);
        now.checked_sub_signed(window).unwrap_or(NaiveDateTime::MIN)
    }
}

/// When any scope has used up its failures: how long until the oldest of them leaves the window.
pub fn retry_after(
    conn: &mut AnyConnection,
    scopes: &[String],
    policy: Policy,
) -> QueryResult<Option<Duration>> {
    let now = query::now();
    let cutoff = policy.cutoff(now);
    let mut longest: Option<Duration> = None;
    for scope in scopes {
        let recent: Vec<NaiveDateTime> = auth_failures::table
            .filter(auth_failures::scope.eq(scope))
            .filter(auth_failures::created_at.gt(cutoff))
            .order(auth_failures::created_at.desc())
            .limit(i64::from(policy.max_failures))
            .select(auth_failures::created_at)
            .load(conn)?;
        if recent.len() < policy.max_failures as usize {
            continue;
        }
        // The failure that must age out before one more attempt is allowed.
        let Some(oldest) = recent.last() else {
            continue;
        };
        let frees_at = *oldest + chrono::Duration::from_std(policy.window).unwrap_or_default();
        let wait = (frees_at - now).to_std().unwrap_or(Duration::from_secs(1));
        longest = Some(longest.map_or(wait, |l| l.max(wait)));
    }
    Ok(longest)
}

/// Counts one failure against each scope, and forgets failures older than the window.
pub fn record_failure(
    conn: &mut AnyConnection,
    scopes: &[String],
    policy: Policy,
) -> QueryResult<()> {
    let now = query::now();
    diesel::delete(auth_failures::table.filter(auth_failures::created_at.le(policy.cutoff(now))))
        .execute(conn)?;
    // one statement per scope: the MultiConnection has no batch insert
    for scope in scopes {
        diesel::insert_into(auth_failures::table)
            .values((
                auth_failures::scope.eq(scope.as_str()),
                auth_failures::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Forgets a scope's failures (after a successful login to that account).
pub fn clear(conn: &mut AnyConnection, scope: &str) -> QueryResult<()> {
    diesel::delete(auth_failures::table.filter(auth_failures::scope.eq(scope)))
        .execute(conn)
        .map(|_| ())
}
