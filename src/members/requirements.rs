//! The requirement jobs: members without a verified email or two-factor authentication become
//! pending invitations, each emailed and audited once.

use diesel::prelude::*;

use crate::config::Config;
use crate::db::schema::organization_members;
use crate::db::{AnyConnection, query, write_tx};
use crate::mail;
use crate::models::audit::{self, AuditEvent};
use crate::models::email;
use crate::models::job::{self, Job, Requirement};
use crate::models::organization::Organization;
use crate::models::user::{User, new_validation_hash};

use super::invitations::{invite_url, new_token};
use super::{find_member, member_entry};

/// The members a requirement would remove now, by username (for the confirmation before saving).
pub fn non_compliant(
    conn: &mut AnyConnection,
    organization_id: i64,
    requirement: Requirement,
) -> QueryResult<Vec<User>> {
    let members: Vec<i64> = organization_members::table
        .filter(organization_members::organization_id.eq(organization_id))
        .filter(organization_members::user_id.is_not_null())
        .select(organization_members::user_id.assume_not_null())
        .load(conn)?;
    let mut found = Vec::new();
    for user_id in members {
        if let Some(user) = User::find(conn, user_id)?
            && !complies(conn, &user, requirement)?
        {
            found.push(user);
        }
    }
    found.sort_by_key(|user| user.username.to_lowercase());
    Ok(found)
}

fn complies(conn: &mut AnyConnection, user: &User, requirement: Requirement) -> QueryResult<bool> {
    match requirement {
        Requirement::TwoFactor => user.has_two_factor(conn),
        Requirement::VerifiedEmail => user.primary_email_verified(conn),
    }
}

/// Runs a requirement job: each member who does not comply becomes a pending invite (email kept,
/// new token and expiry), gets the "Mandatory" email and a MEMBER_PENDING entry, each in its own
/// transaction that locks the organization and re-reads the member, so running a job twice (after a
/// crash, or twice at once) removes and emails no one twice.
/// Returns how many members were removed.
pub fn run_requirement_job(
    conn: &mut AnyConnection,
    config: &Config,
    job_id: i64,
) -> anyhow::Result<usize> {
    let Some(job) = job::find(conn, job_id)? else {
        return Ok(0);
    };
    if job.finished_at.is_some() {
        return Ok(0);
    }
    let org = Organization::find(conn, job.organization_id)?;
    let mut removed = 0;
    // the requirement may have been turned off again before an interrupted job was resumed
    if org.flags.get(job.kind.flag()) {
        let candidates: Vec<i64> = organization_members::table
            .filter(organization_members::organization_id.eq(org.id))
            .filter(organization_members::user_id.is_not_null())
            .select(organization_members::id)
            .load(conn)?;
        for member_id in candidates {
            if remove_if_non_compliant(conn, config, &org, &job, member_id)? {
                removed += 1;
            }
        }
    }
    job::finish(conn, job.id)?;
    Ok(removed)
}

fn remove_if_non_compliant(
    conn: &mut AnyConnection,
    config: &Config,
    org: &Organization,
    job: &Job,
    member_id: i64,
) -> anyhow::Result<bool> {
    let label = job.kind.log_label();
    write_tx(conn, |conn| -> anyhow::Result<bool> {
        Organization::lock(conn, org.id)?;
        let Ok(member) = find_member(conn, org.id, member_id) else {
            return Ok(false);
        };
        let Some(user_id) = member.user_id else {
            return Ok(false);
        };
        let Some(user) = User::find(conn, user_id)? else {
            return Ok(false);
        };
        if complies(conn, &user, job.kind)? {
            return Ok(false);
        }
        if user.email.trim().is_empty() {
            tracing::warn!(
                organization_id = org.id,
                user_id = user.id,
                member_id = member.id,
                "Could not remove {label} noncompliant user from org"
            );
            return Ok(false);
        }
        let (token, expires) = new_token(query::now());
        diesel::update(organization_members::table.find(member.id))
            .set((
                organization_members::user_id.eq(None::<i64>),
                organization_members::email.eq(&user.email),
                organization_members::email_normalized.eq(&user.email_normalized),
                organization_members::token.eq(&token),
                organization_members::token_expires_at.eq(expires),
            ))
            .execute(conn)?;
        let pending = find_member(conn, org.id, member.id)?;
        let invite = invite_url(config, &pending);
        let message = match job.kind {
            Requirement::TwoFactor => mail::setup_2fa(
                &config.mail,
                &user.email,
                &org.name,
                &config.absolute_url("/account/security/"),
                &invite,
            )?,
            Requirement::VerifiedEmail => {
                let hash = new_validation_hash(conn, user.id, &user.email)?;
                let confirm =
                    config.absolute_url(&format!("/account/confirm-email/{}/{hash}/", user.id));
                mail::setup_email(&config.mail, &user.email, &org.name, &confirm, &invite)?
            }
        };
        email::queue(conn, &message)?;
        let actor = job.actor();
        audit::record(
            conn,
            &member_entry(
                org,
                &actor,
                AuditEvent::MemberPending,
                &pending,
                &user.email,
                Some(user.id),
            ),
        )?;
        tracing::info!(
            organization_id = org.id,
            user_id = user.id,
            member_id = member.id,
            "{label} noncompliant user removed from org"
        );
        Ok(true)
    })
}

/// Runs every unfinished job (at start and periodically); returns how many members were removed.
pub fn run_unfinished_jobs(conn: &mut AnyConnection, config: &Config) -> anyhow::Result<usize> {
    let mut removed = 0;
    for job in job::unfinished(conn)? {
        removed += run_requirement_job(conn, config, job.id)?;
    }
    Ok(removed)
}
