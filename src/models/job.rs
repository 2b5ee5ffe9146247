//! Jobs: work recorded in the transaction that causes it and finished after it commits, so a crash in
//! between leaves a job row that the next start finishes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::actor::Actor;
use super::flags::Flag;
use crate::db::schema::jobs;
use crate::db::{AnyConnection, query};

/// The member requirement a job enforces: members who do not meet it become pending invites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A verified primary email address.
    VerifiedEmail,
    /// Two-factor authentication.
    TwoFactor,
}

impl Requirement {
    /// The job kind as stored.
    pub fn kind(self) -> &'static str {
        match self {
            Requirement::VerifiedEmail => "require_email_verification",
            Requirement::TwoFactor => "require_2fa",
        }
    }

    /// The organization flag that turns it on.
    pub fn flag(self) -> Flag {
        match self {
            Requirement::VerifiedEmail => Flag::RequireEmailVerification,
            Requirement::TwoFactor => Flag::Require2fa,
        }
    }

    /// The requirement a flag turns on, if it is one.
    pub fn of_flag(flag: Flag) -> Option<Self> {
        [Requirement::VerifiedEmail, Requirement::TwoFactor]
            .into_iter()
            .find(|r| r.flag() == flag)
    }

    /// What a member needs, in words (`… requires two-factor authentication from every member`).
    pub fn noun(self) -> &'static str {
        match self {
            Requirement::VerifiedEmail => "a verified email address",
            Requirement::TwoFactor => "two-factor authentication",
        }
    }

    /// How Sentry's log lines name it (`2FA noncompliant user removed from org`).
    pub fn log_label(self) -> &'static str {
        match self {
            Requirement::VerifiedEmail => "verified email",
            Requirement::TwoFactor => "2FA",
        }
    }
}

impl TryFrom<String> for Requirement {
    type Error = String;

    fn try_from(kind: String) -> Result<Self, String> {
        [Requirement::VerifiedEmail, Requirement::TwoFactor]
            .into_iter()
            .find(|r| r.kind() == kind)
            .ok_or_else(|| format!("unknown job kind {kind}"))
    }
}

/// Starts the requirement jobs a save recorded, once the save's transaction has committed.
/// `jobs::Background` runs them on a thread of their own; a failure leaves the job unfinished for
/// `serve`'s periodic runner.
pub trait Runner: Send + Sync {
    fn start(&self, job_ids: Vec<i64>);
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: i64,
    #[diesel(deserialize_as = String)]
    pub kind: Requirement,
    pub organization_id: i64,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub ip_address: Option<String>,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

impl Job {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.actor_id,
            label: self.actor_label.clone(),
            ip_address: self.ip_address.clone(),
            is_staff: false,
        }
    }
}

/// Records a job (inside the transaction that makes it necessary).
pub fn create(
    conn: &mut AnyConnection,
    kind: Requirement,
    organization_id: i64,
    actor: &Actor,
) -> QueryResult<i64> {
    diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq(kind.kind()),
            jobs::organization_id.eq(organization_id),
            jobs::actor_id.eq(actor.user_id),
            jobs::actor_label.eq(&actor.label),
            jobs::ip_address.eq(actor.ip_address.as_deref()),
            jobs::created_at.eq(query::now()),
        ))
        .returning(jobs::id)
        .get_result(conn)
}

pub fn unfinished(conn: &mut AnyConnection) -> QueryResult<Vec<Job>> {
    jobs::table
        .filter(jobs::finished_at.is_null())
        .order(jobs::id)
        .select(Job::as_select())
        .load(conn)
}

pub fn find(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<Job>> {
    jobs::table
        .find(id)
        .select(Job::as_select())
        .first(conn)
        .optional()
}

pub fn finish(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    diesel::update(jobs::table.find(id))
        .set(jobs::finished_at.eq(query::now()))
        .execute(conn)
        .map(|_| ())
}
