//! Jobs: work recorded in the transaction that causes it and finished after it commits, so a crash in
//! between leaves a job row that the next start finishes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::actor::Actor;
use crate::db::schema::jobs;
use crate::db::{AnyConnection, query};

pub mod kind {
    /// Turn members without a verified primary email into pending invites.
    pub const REQUIRE_EMAIL_VERIFICATION: &str = "require_email_verification";
    /// Turn members without two-factor authentication into pending invites.
    pub const REQUIRE_2FA: &str = "require_2fa";
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: i64,
    pub kind: String,
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
    kind: &str,
    organization_id: i64,
    actor: &Actor,
) -> QueryResult<i64> {
    diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq(kind),
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
