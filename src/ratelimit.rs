//! Rate limits kept in the database, so every instance behind one database counts the same events:
//! password and code checks (the login throttle) and invitations.
//!
//! An attempt is counted *before* the work it limits, in one step with the check that it may
//! happen ([`acquire`]): in one write transaction, serialized per scope (SQLite's `BEGIN IMMEDIATE`
//! runs one writer at a time; on PostgreSQL a transaction-scoped advisory lock per scope), the
//! recent events of every scope are counted and, when all are under their limit, one event is
//! recorded for each. So N attempts at once, at the limit, get at most the limit between them. An
//! attempt that turns out to be harmless (the right password) is [`Attempt::forgive`]n afterwards.
//!
//! Free of HTTP; runs diesel: call it from the blocking pool.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::schema::rate_events;
use crate::db::{AnyConnection, query, write_tx};

/// How many events a scope may have within a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub max: u32,
    pub window: Duration,
}

impl From<crate::config::LoginThrottle> for Policy {
    fn from(throttle: crate::config::LoginThrottle) -> Self {
        Self::new(throttle.max_failures, throttle.window)
    }
}

impl Policy {
    pub const fn new(max: u32, window: Duration) -> Self {
        Self { max, window }
    }

    fn window(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::MAX)
    }

    fn cutoff(&self, now: NaiveDateTime) -> NaiveDateTime {
        now.checked_sub_signed(self.window())
            .unwrap_or(NaiveDateTime::MIN)
    }
}

/// What an event is counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Password and code checks from one client address.
    Ip(String),
    /// Password checks of one account, whatever name (username or email) was typed to reach it.
    Password(i64),
    /// Password checks against a login name that matches no account.
    UnknownLogin(String),
    /// Second-factor checks of one account (authenticator codes and recovery codes); never cleared
    /// by the password.
    SecondFactor(i64),
    /// Checks of emailed links of one account (password reset, email verification).
    Link(i64),
    /// Password reset requests from one client address.
    RecoverFromIp(String),
    /// Password reset emails to one account.
    RecoverAccount(i64),
    /// Invitations sent or sent again by one user.
    InvitesByUser(i64),
    /// Invitations sent or sent again for one organization.
    InvitesByOrg(i64),
    /// Invitations sent or sent again to one address (normalized) of one organization.
    InvitesToAddress(i64, String),
    /// Organizations created by one user.
    OrgCreate(i64),
}

impl Scope {
    /// The text stored in `rate_events.scope`.
    pub fn key(&self) -> String {
        match self {
            Scope::Ip(ip) => format!("ip:{ip}"),
            Scope::Password(user_id) => format!("password:{user_id}"),
            Scope::UnknownLogin(name) => format!("login:{name}"),
            Scope::SecondFactor(user_id) => format!("2fa:{user_id}"),
            Scope::Link(user_id) => format!("link:{user_id}"),
            Scope::RecoverFromIp(ip) => format!("recover-ip:{ip}"),
            Scope::RecoverAccount(user_id) => format!("recover:{user_id}"),
            Scope::InvitesByUser(user_id) => format!("invites-by-user:{user_id}"),
            Scope::InvitesByOrg(org_id) => format!("invites-by-org:{org_id}"),
            Scope::InvitesToAddress(org_id, address) => format!("invites-to:{org_id}:{address}"),
            Scope::OrgCreate(user_id) => format!("org-create:{user_id}"),
        }
    }
}

/// A scope with its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub scope: Scope,
    pub policy: Policy,
}

impl Limit {
    pub fn new(scope: Scope, policy: Policy) -> Self {
        Self { scope, policy }
    }
}

/// An attempt that was counted. Dropping it keeps it counted (a failure); [`Attempt::forgive`]
/// takes it back (a success).
#[derive(Debug)]
#[must_use = "an attempt is counted until it is forgiven"]
pub struct Attempt {
    ids: Vec<i64>,
}

impl Attempt {
    /// The attempt was harmless (the right password, say): it no longer counts.
    pub fn forgive(self, conn: &mut AnyConnection) -> QueryResult<()> {
        diesel::delete(rate_events::table.filter(rate_events::id.eq_any(&self.ids)))
            .execute(conn)
            .map(|_| ())
    }
}

/// Counts one attempt against every limit, or none when any of them is used up; then the answer is
/// how long until the busiest scope frees a place.
pub fn acquire(
    conn: &mut AnyConnection,
    limits: &[Limit],
) -> QueryResult<Result<Attempt, Duration>> {
    write_tx(conn, |conn| {
        let keys: Vec<String> = limits.iter().map(|l| l.scope.key()).collect();
        lock_scopes(conn, &keys)?;
        let now = query::now();
        let mut wait: Option<Duration> = None;
        for (limit, key) in limits.iter().zip(&keys) {
            let cutoff = limit.policy.cutoff(now);
            // what has left the window is of no use any more
            diesel::delete(
                rate_events::table
                    .filter(rate_events::scope.eq(key))
                    .filter(rate_events::created_at.le(cutoff)),
            )
            .execute(conn)?;
            let recent: Vec<NaiveDateTime> = rate_events::table
                .filter(rate_events::scope.eq(key))
                .order(rate_events::created_at.desc())
                .limit(i64::from(limit.policy.max))
                .select(rate_events::created_at)
                .load(conn)?;
            if recent.len() < limit.policy.max as usize {
                continue;
            }
            // the event that must leave the window before one more is allowed
            let Some(oldest) = recent.last() else {
                continue;
            };
            let frees_at = *oldest + limit.policy.window();
            let this = (frees_at - now).to_std().unwrap_or(Duration::from_secs(1));
            wait = Some(wait.map_or(this, |w| w.max(this)));
        }
        if let Some(wait) = wait {
            return Ok(Err(wait));
        }
        let mut ids = Vec::with_capacity(keys.len());
        for key in keys {
            let id: i64 = diesel::insert_into(rate_events::table)
                .values((rate_events::scope.eq(key), rate_events::created_at.eq(now)))
                .returning(rate_events::id)
                .get_result(conn)?;
            ids.push(id);
        }
        Ok(Ok(Attempt { ids }))
    })
}

/// On PostgreSQL, takes a transaction-scoped advisory lock for each scope (in a fixed order, so two
/// attempts never wait on each other crosswise): the next attempt on a scope waits until this
/// transaction has counted and recorded. SQLite's `BEGIN IMMEDIATE` already serializes writers.
fn lock_scopes(conn: &mut AnyConnection, keys: &[String]) -> QueryResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        let mut sorted: Vec<&String> = keys.iter().collect();
        sorted.sort();
        sorted.dedup();
        for key in sorted {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind::<Text, _>(key.as_str())
                .execute(pg)?;
        }
    }
    Ok(())
}

/// Forgets every event of a scope (a successful login clears its account's password failures).
pub fn clear(conn: &mut AnyConnection, scope: &Scope) -> QueryResult<()> {
    diesel::delete(rate_events::table.filter(rate_events::scope.eq(scope.key())))
        .execute(conn)
        .map(|_| ())
}

/// Deletes events older than `age` (the longest window in use), for scopes that stopped being used.
pub fn purge(conn: &mut AnyConnection, age: Duration) -> QueryResult<usize> {
    let cutoff = Policy::new(0, age).cutoff(query::now());
    diesel::delete(rate_events::table.filter(rate_events::created_at.le(cutoff))).execute(conn)
}

/// "a minute", "15 minutes", "2 hours": how long to wait, rounded up, for messages.
pub fn wait_text(wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    match minutes {
        1 => "a minute".to_owned(),
        m if m < 120 => format!("{m} minutes"),
        m => format!("{} hours", m.div_ceil(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_in_minutes_or_hours_rounded_up() {
        assert_eq!(wait_text(Duration::from_secs(0)), "a minute");
        assert_eq!(wait_text(Duration::from_secs(59)), "a minute");
        assert_eq!(wait_text(Duration::from_secs(61)), "2 minutes");
        assert_eq!(wait_text(Duration::from_secs(900)), "15 minutes");
        assert_eq!(wait_text(Duration::from_secs(3 * 3600)), "3 hours");
    }

    #[test]
    fn every_scope_has_its_own_key() {
        let keys = [
            Scope::Ip("203.0.113.7".into()).key(),
            Scope::Password(7).key(),
            Scope::UnknownLogin("7".into()).key(),
            Scope::SecondFactor(7).key(),
            Scope::Link(7).key(),
            Scope::RecoverFromIp("7".into()).key(),
            Scope::RecoverAccount(7).key(),
            Scope::InvitesByUser(7).key(),
            Scope::InvitesByOrg(7).key(),
            Scope::InvitesToAddress(7, "a@example.com".into()).key(),
        ];
        let mut unique = keys.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "{keys:?}");
    }
}
