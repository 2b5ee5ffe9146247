//! The email outbox: every email is recorded before anything tries to send it, so nothing is lost
//! when SMTP is down or not configured, and superusers can read what was sent.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::emails;
use crate::db::{AnyConnection, query};

/// After this many failed attempts an email is not tried again (it stays in the outbox).
pub const MAX_ATTEMPTS: i32 = 10;

/// How long a claimed email belongs to the sender that claimed it; after that (the sender died while
/// sending) another sender may try it.
pub const CLAIM_LEASE: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = emails)]
pub struct Email {
    pub id: i64,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub kind: String,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
}

/// An email to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// What it is about, e.g. `member.invite`, `user.setup_email`.
    pub kind: &'static str,
}

/// Records an email in the outbox; call it inside the transaction of the change it tells about.
pub fn queue(conn: &mut AnyConnection, email: &NewEmail) -> QueryResult<i64> {
    let now = query::now();
    let id = diesel::insert_into(emails::table)
        .values((
            emails::to_address.eq(&email.to),
            emails::subject.eq(&email.subject),
            emails::body_text.eq(&email.text),
            emails::body_html.eq(&email.html),
            emails::kind.eq(email.kind),
            emails::created_at.eq(now),
            emails::next_attempt_at.eq(now),
        ))
        .returning(emails::id)
        .get_result(conn)?;
    tracing::info!(email_id = id, to = %email.to, subject = %email.subject, kind = email.kind, "email queued");
    Ok(id)
}

/// Unsent emails whose next attempt is due, oldest first.
pub fn due(conn: &mut AnyConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<Email>> {
    emails::table
        .filter(emails::sent_at.is_null())
        .filter(emails::next_attempt_at.le(now))
        .filter(emails::attempts.lt(MAX_ATTEMPTS))
        .order(emails::id)
        .limit(limit)
        .select(Email::as_select())
        .load(conn)
}

/// Claims a due email for this sender by moving its next attempt past the lease, if it is still due:
/// of two senders (two `serve` instances) that read it, only the one whose UPDATE still finds it due
/// sends it. The other's UPDATE waits for the row on PostgreSQL, then finds it not due any more.
pub fn claim(conn: &mut AnyConnection, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    crate::db::write(conn, |conn| {
        diesel::update(
            emails::table
                .find(id)
                .filter(emails::sent_at.is_null())
                .filter(emails::next_attempt_at.le(now)),
        )
        .set(emails::next_attempt_at.eq(now + CLAIM_LEASE))
        .execute(conn)
        .map(|rows| rows == 1)
    })
}

pub fn mark_sent(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::update(emails::table.find(id))
            .set((
                emails::sent_at.eq(query::now()),
                emails::attempts.eq(emails::attempts + 1),
                emails::last_error.eq(None::<String>),
            ))
            .execute(conn)
            .map(|_| ())
    })
}

/// The wait before the attempt after `attempts` failures: 1, 2, 4 … minutes, at most an hour.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let minutes = 1i64 << attempts.clamp(0, 6);
    chrono::Duration::minutes(minutes.min(60))
}

pub fn mark_failed(conn: &mut AnyConnection, email: &Email, error: &str) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        let attempts = email.attempts + 1;
        diesel::update(emails::table.find(email.id))
            .set((
                emails::attempts.eq(attempts),
                emails::next_attempt_at.eq(query::now() + backoff(attempts - 1)),
                emails::last_error.eq(error),
            ))
            .execute(conn)
            .map(|_| ())
    })
}

/// The newest emails, for the outbox page; optionally only unsent ones.
pub fn list(
    conn: &mut AnyConnection,
    unsent_only: bool,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Email>, i64)> {
    let base = || {
        let query = emails::table.into_boxed();
        if unsent_only {
            query.filter(emails::sent_at.is_null())
        } else {
            query
        }
    };
    let total = base().count().get_result(conn)?;
    let page = base()
        .order(emails::id.desc())
        .offset(offset)
        .limit(limit)
        .select(Email::as_select())
        .load(conn)?;
    Ok((page, total))
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let minutes: Vec<i64> = (0..8).map(|n| backoff(n).num_minutes()).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60]);
    }
}
