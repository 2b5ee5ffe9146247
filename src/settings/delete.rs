//! Scheduling an organization's deletion, and carrying out the deletions that are due.
//!
//! Restoring goes through the save flow (`cancelDeletion: true`), which writes ORG_RESTORE.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::config::LoginThrottle;
use crate::db::schema::organizations;
use crate::db::{AnyConnection, query, write_tx};
use crate::errors::DomainError;
use crate::models::actor::Actor;
use crate::models::audit::{self, AuditEvent, NewAuditEntry};
use crate::models::avatar::OrgAvatar;
use crate::models::organization::{OrgStatus, Organization};
use crate::models::user::User;

/// How long a scheduled deletion waits, during which owners can restore the organization.
pub const GRACE_PERIOD: Duration = Duration::days(1);

pub const ERR_ALREADY_SCHEDULED: &str = "This organization is already scheduled for deletion.";

/// Marks the organization pending deletion (due after the grace period) and writes ORG_REMOVE.
pub fn schedule(
    conn: &mut AnyConnection,
    organization_id: i64,
    actor: &Actor,
) -> Result<Organization, DomainError> {
    write_tx(conn, |conn| {
        let mut org = Organization::lock(conn, organization_id)?;
        if org.is_pending_deletion() {
            return Err(DomainError::Refused(ERR_ALREADY_SCHEDULED.into()));
        }
        let now = query::now();
        org.status = OrgStatus::PendingDeletion;
        org.deletion_scheduled_at = Some(now + GRACE_PERIOD);
        diesel::update(organizations::table.find(org.id))
            .set((
                organizations::status.eq(org.status.code()),
                organizations::deletion_scheduled_at.eq(org.deletion_scheduled_at),
                organizations::updated_at.eq(now),
            ))
            .execute(conn)?;
        org.updated_at = now;
        audit::record(
            conn,
            &NewAuditEntry::new(org.id, actor, AuditEvent::OrgRemove, org.audit_log_data()),
        )?;
        Ok(org)
    })
}

/// [`schedule`], or nothing when the organization is pending deletion already (the API answers
/// the same either way, as Sentry's does).
pub fn schedule_unless_pending(
    conn: &mut AnyConnection,
    organization_id: i64,
    actor: &Actor,
) -> Result<Organization, DomainError> {
    write_tx(conn, |conn| {
        let org = Organization::lock(conn, organization_id)?;
        if org.is_pending_deletion() {
            return Ok(org);
        }
        schedule(conn, organization_id, actor)
    })
}

/// [`schedule`], asked for by `user` with their password (checked under the login throttle: a field
/// error on `password`, or `RateLimited`).
pub fn schedule_after_password(
    conn: &mut AnyConnection,
    throttle: LoginThrottle,
    organization_id: i64,
    actor: &Actor,
    user: &User,
    password: &str,
) -> Result<Organization, DomainError> {
    let ip = actor.ip_address.as_deref().unwrap_or("unknown");
    crate::auth::throttle::require_password(conn, throttle, ip, user, password)?;
    schedule(conn, organization_id, actor)
}

/// Deletes every organization whose scheduled deletion is due (with its members, options, redirects
/// and audit log); returns their slugs. Each is locked and checked again first, so one restored
/// meanwhile (or deleted by another instance) is left alone.
pub fn delete_due(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<Vec<String>> {
    write_tx(conn, |conn| {
        let due: Vec<i64> = organizations::table
            .filter(organizations::status.eq(OrgStatus::PendingDeletion.code()))
            .filter(organizations::deletion_scheduled_at.le(now))
            .select(organizations::id)
            .load(conn)?;
        let mut deleted = Vec::new();
        for id in due {
            let org = match Organization::lock(conn, id) {
                Ok(org) => org,
                Err(diesel::result::Error::NotFound) => continue,
                Err(err) => return Err(err),
            };
            if !org.is_pending_deletion() || org.deletion_scheduled_at.is_none_or(|at| at > now) {
                continue;
            }
            OrgAvatar::delete_file_of(conn, id)?;
            diesel::delete(organizations::table.find(id)).execute(conn)?;
            deleted.push(org.slug);
        }
        Ok(deleted)
    })
}
