//! The requirement jobs: members without a verified email or two-factor authentication become
//! pending invitations, each emailed and audited once.

use diesel::prelude::*;

use crate::config::Config;
use crate::db::schema::{authenticators, organization_members, user_emails, users};
use crate::db::{AnyConnection, query, write_tx};
use crate::mail;
use crate::models::audit::{self, AuditEvent};
use crate::models::email;
use crate::models::job::{self, Job, Requirement};
use crate::models::organization::Organization;
use crate::models::user::{User, new_validation_hash};

use super::invitations::{invite_url, new_token};
use super::{find_member, member_entry};

/// How many members a requirement's job looks at per query: memory stays bounded in organizations
/// of any size.
pub const CHUNK: i64 = 500;

/// How many members one transaction of a job moves. Each is still checked again under the
/// organization's lock (a savepoint each); batching them spares a commit per member, which on
/// PostgreSQL is a flush of its log (100 000 members: 298 s one transaction each, 206 s in
/// batches; 33 s and 21 s on SQLite). A batch holds the write lock for about 0.2 ms per member on
/// SQLite, so other writes wait at most one batch (~10 ms).
pub const BATCH: usize = 50;

/// The users of the organization's members who do not meet `requirement`, in member-id order,
/// after member id `after`, at most `limit`, with their member ids; one query.
fn non_compliant_chunk(
    conn: &mut AnyConnection,
    organization_id: i64,
    requirement: Requirement,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, User)>> {
    let members = organization_members::table
        .inner_join(users::table)
        .filter(organization_members::organization_id.eq(organization_id))
        .filter(organization_members::id.gt(after));
    match requirement {
        Requirement::TwoFactor => members
            .filter(diesel::dsl::not(
                users::id.eq_any(
                    authenticators::table
                        .filter(authenticators::kind.eq("totp"))
                        .filter(authenticators::confirmed.eq(true))
                        .select(authenticators::user_id),
                ),
            ))
            .order(organization_members::id)
            .limit(limit)
            .select((organization_members::id, User::as_select()))
            .load(conn),
        // the primary address has no verified row of its own
        Requirement::VerifiedEmail => members
            .left_join(
                user_emails::table.on(user_emails::user_id
                    .eq(users::id)
                    .and(user_emails::email_normalized.eq(users::email_normalized))
                    .and(user_emails::is_verified.eq(true))),
            )
            .filter(user_emails::id.is_null())
            .order(organization_members::id)
            .limit(limit)
            .select((organization_members::id, User::as_select()))
            .load(conn),
    }
}

/// How many members do not meet the requirement, leaving out `except_user`: one `COUNT` with the
/// joins of [`non_compliant_chunk`].
fn non_compliant_count(
    conn: &mut AnyConnection,
    organization_id: i64,
    requirement: Requirement,
    except_user: i64,
) -> QueryResult<i64> {
    let members = organization_members::table
        .inner_join(users::table)
        .filter(organization_members::organization_id.eq(organization_id))
        .filter(users::id.ne(except_user));
    match requirement {
        Requirement::TwoFactor => members
            .filter(diesel::dsl::not(
                users::id.eq_any(
                    authenticators::table
                        .filter(authenticators::kind.eq("totp"))
                        .filter(authenticators::confirmed.eq(true))
                        .select(authenticators::user_id),
                ),
            ))
            .count()
            .get_result(conn),
        Requirement::VerifiedEmail => members
            .left_join(
                user_emails::table.on(user_emails::user_id
                    .eq(users::id)
                    .and(user_emails::email_normalized.eq(users::email_normalized))
                    .and(user_emails::is_verified.eq(true))),
            )
            .filter(user_emails::id.is_null())
            .count()
            .get_result(conn),
    }
}

/// The members a requirement would remove now (for the confirmation before saving, and the save's
/// count): how many (one `COUNT`), and the usernames of at most `shown` of them, the first by
/// membership, alphabetically.
pub fn non_compliant(
    conn: &mut AnyConnection,
    organization_id: i64,
    requirement: Requirement,
    except_user: i64,
    shown: usize,
) -> QueryResult<(usize, Vec<String>)> {
    let total = non_compliant_count(conn, organization_id, requirement, except_user)?;
    let mut names: Vec<String> = if shown == 0 {
        Vec::new()
    } else {
        non_compliant_chunk(conn, organization_id, requirement, 0, shown as i64 + 1)?
            .into_iter()
            .filter(|(_, user)| user.id != except_user)
            .take(shown)
            .map(|(_, user)| user.username)
            .collect()
    };
    names.sort_by_key(|name| name.to_lowercase());
    Ok((usize::try_from(total).unwrap_or(0), names))
}

fn complies(conn: &mut AnyConnection, user: &User, requirement: Requirement) -> QueryResult<bool> {
    match requirement {
        Requirement::TwoFactor => user.has_two_factor(conn),
        Requirement::VerifiedEmail => user.primary_email_verified(conn),
    }
}

/// Runs a requirement job: each member who does not comply becomes a pending invite (email kept,
/// new token and expiry), gets the "Mandatory" email and a MEMBER_PENDING entry, [`BATCH`] members
/// per transaction that locks the organization and re-reads each member, so running a job twice
/// (after a crash, or twice at once) removes and emails no one twice: a batch that fails leaves
/// nothing of itself, and its members are moved when the job runs again.
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
        // chunk by chunk (each member is checked again in its own transaction); a member moved
        // is no longer a user member, so the next chunk starts after the last id read
        let mut after = 0;
        loop {
            let chunk = non_compliant_chunk(conn, org.id, job.kind, after, CHUNK)?;
            let Some((last, _)) = chunk.last() else {
                break;
            };
            after = *last;
            for batch in chunk.chunks(BATCH) {
                removed += write_tx(conn, |conn| -> anyhow::Result<usize> {
                    let mut moved = 0;
                    for (member_id, _) in batch {
                        if remove_if_non_compliant(conn, config, &org, &job, *member_id)? {
                            moved += 1;
                        }
                    }
                    Ok(moved)
                })?;
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
                organization_members::sort_address.eq(&user.email_normalized),
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
