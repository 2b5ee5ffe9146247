//! Membership, free of HTTP: invitations (30 days, accepted at `/accept/{member_id}/{token}/`), role
//! changes and removals with the last-owner rule, and the requirement jobs that turn members who do not
//! have a verified email or two-factor authentication into pending invites (reference §9 and §10).
//! Each change writes its audit entry (and email) in the same transaction.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::config::Config;
use crate::db::schema::{authenticators, organization_members, user_emails, users};
use crate::db::{AnyConnection, query, write_tx};
use crate::mail;
use crate::models::actor::Actor;
use crate::models::audit::{self, AuditEvent, NewAuditEntry};
use crate::models::email;
use crate::models::flags::Flag;
use crate::models::job::{self, Job, kind};
use crate::models::member::Member;
use crate::models::organization::Organization;
use crate::models::role::Role;
use crate::models::user::{EmailAddress, User, normalize_email};
use crate::ratelimit::{self, Limit, Scope};
use crate::secrets::{random_token, secrets_match};
use crate::settings::current::REQUIRED_EMAIL_VERIFICATION;
use crate::validation::{FieldErrors, SaveError};

pub const ERR_RATE_LIMITED: &str = "You are being rate limited for too many invitations.";

/// Invitations (sent or sent again) one user may send per hour, in all organizations.
pub const INVITES_PER_USER: ratelimit::Policy =
    ratelimit::Policy::new(50, std::time::Duration::from_secs(3600));
/// Invitations one organization may send per day (Sentry's `members:invite-by-org`).
pub const INVITES_PER_ORG: ratelimit::Policy =
    ratelimit::Policy::new(100, std::time::Duration::from_secs(24 * 3600));
/// Invitations to one address of one organization per day (Sentry's `members:org-invite-to-email`).
pub const INVITES_PER_ADDRESS: ratelimit::Policy =
    ratelimit::Policy::new(10, std::time::Duration::from_secs(24 * 3600));

/// Counts one invitation against the actor's, the organization's and the address's limits, or
/// refuses it (Sentry's message) when one is used up. Call it inside the invitation's transaction,
/// after its other checks, so a refused or failed invitation counts for nothing.
fn count_invitation(
    conn: &mut AnyConnection,
    org: &Organization,
    actor: &Actor,
    address: &str,
) -> Result<(), SaveError> {
    let mut limits = vec![
        Limit::new(Scope::InvitesByOrg(org.id), INVITES_PER_ORG),
        Limit::new(
            Scope::InvitesToAddress(org.id, normalize_email(address)),
            INVITES_PER_ADDRESS,
        ),
    ];
    if let Some(user_id) = actor.user_id {
        limits.push(Limit::new(Scope::InvitesByUser(user_id), INVITES_PER_USER));
    }
    match ratelimit::acquire(conn, &limits)? {
        Ok(_counted) => Ok(()),
        Err(_) => Err(SaveError::RateLimited(ERR_RATE_LIMITED.into())),
    }
}

/// How long an invitation can be accepted.
pub const INVITE_TTL: Duration = Duration::days(30);

pub const ERR_LAST_OWNER: &str =
    "The last owner cannot be removed or demoted: make someone else an owner first.";

/// A member or pending invite, with what the members page shows about them.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub member: Member,
    pub username: Option<String>,
    pub user_email: Option<String>,
    pub email_verified: bool,
    pub two_factor: bool,
}

impl MemberView {
    pub fn is_pending(&self) -> bool {
        self.member.user_id.is_none()
    }

    /// The address shown: the invite's, or the user's.
    pub fn email(&self) -> &str {
        self.member
            .email
            .as_deref()
            .or(self.user_email.as_deref())
            .unwrap_or("")
    }

    pub fn expired(&self, now: NaiveDateTime) -> bool {
        self.member.token_expires_at.is_some_and(|at| at <= now)
    }
}

/// Sentry's `member.get_audit_log_data()` (the parts orgsettings has).
fn audit_data(member: &Member, email: &str) -> Value {
    json!({
        "id": member.id,
        "email": email,
        "user": member.user_id,
        "role": member.role,
        "invite_status": if member.user_id.is_some() { "approved" } else { "pending" },
    })
}

/// Members and invites of an organization, owners first, then by name (three queries).
pub fn list(conn: &mut AnyConnection, organization_id: i64) -> QueryResult<Vec<MemberView>> {
    // the member row, and for a user: username, email, normalized email
    type Row = (Member, Option<(String, String, String)>);
    let rows: Vec<Row> = organization_members::table
        .left_join(users::table)
        .filter(organization_members::organization_id.eq(organization_id))
        .order(organization_members::id)
        .select((
            Member::as_select(),
            (users::username, users::email, users::email_normalized).nullable(),
        ))
        .load(conn)?;
    let user_ids: Vec<i64> = rows.iter().filter_map(|(m, _)| m.user_id).collect();
    let verified: Vec<(i64, String)> = user_emails::table
        .filter(user_emails::user_id.eq_any(&user_ids))
        .filter(user_emails::is_verified.eq(true))
        .select((user_emails::user_id, user_emails::email_normalized))
        .load(conn)?;
    let enrolled: Vec<i64> = authenticators::table
        .filter(authenticators::user_id.eq_any(&user_ids))
        .filter(authenticators::kind.eq("totp"))
        .filter(authenticators::confirmed.eq(true))
        .select(authenticators::user_id)
        .load(conn)?;
    let mut views: Vec<MemberView> = rows
        .into_iter()
        .map(|(member, user)| {
            let (username, user_email, normalized) = match user {
                Some((username, email, normalized)) => (Some(username), Some(email), normalized),
                None => (None, None, String::new()),
            };
            let email_verified = member.user_id.is_some_and(|id| {
                verified
                    .iter()
                    .any(|(uid, e)| *uid == id && *e == normalized)
            });
            let two_factor = member.user_id.is_some_and(|id| enrolled.contains(&id));
            MemberView {
                member,
                username,
                user_email,
                email_verified,
                two_factor,
            }
        })
        .collect();
    views.sort_by_key(|v| {
        (
            v.is_pending(),
            std::cmp::Reverse(v.member.role()),
            v.email().to_lowercase(),
        )
    });
    Ok(views)
}

fn owner_count(conn: &mut AnyConnection, organization_id: i64) -> QueryResult<i64> {
    organization_members::table
        .filter(organization_members::organization_id.eq(organization_id))
        .filter(organization_members::user_id.is_not_null())
        .filter(organization_members::role.eq(Role::Owner.id()))
        .count()
        .get_result(conn)
}

/// The roles `actor_role` may give: owners any current role, managers up to manager.
pub fn assignable_roles(actor_role: Role) -> Vec<Role> {
    [Role::Member, Role::Manager, Role::Owner]
        .into_iter()
        .filter(|role| actor_role.is_owner() || *role <= Role::Manager)
        .collect()
}

fn find_member(
    conn: &mut AnyConnection,
    organization_id: i64,
    member_id: i64,
) -> Result<Member, SaveError> {
    organization_members::table
        .find(member_id)
        .filter(organization_members::organization_id.eq(organization_id))
        .select(Member::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            SaveError::Refused("That member is not in this organization any more.".into())
        })
}

fn new_token(now: NaiveDateTime) -> (String, NaiveDateTime) {
    (random_token(), now + INVITE_TTL)
}

/// The link that accepts an invitation.
pub fn invite_url(config: &Config, member: &Member) -> String {
    config.absolute_url(&format!(
        "/accept/{}/{}/",
        member.id,
        member.token.as_deref().unwrap_or_default()
    ))
}

fn queue_invite(
    conn: &mut AnyConnection,
    config: &Config,
    org: &Organization,
    member: &Member,
    inviter: &str,
) -> Result<(), SaveError> {
    let expires = member
        .token_expires_at
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let message = mail::invite(
        &config.mail,
        member.email.as_deref().unwrap_or_default(),
        inviter,
        &org.name,
        member.role().name(),
        &invite_url(config, member),
        &expires,
    )
    .map_err(|e| SaveError::Internal(anyhow::Error::new(e).context("rendering the invitation")))?;
    email::queue(conn, &message)?;
    Ok(())
}

/// Invites an email address with a role: a pending member, an email with the accept link, an audit
/// entry. Refused for a member's address, an address already invited, or a role above the inviter's.
pub fn invite(
    conn: &mut AnyConnection,
    config: &Config,
    org: &Organization,
    actor: &Actor,
    actor_role: Role,
    raw_email: &str,
    role: Role,
) -> Result<Member, SaveError> {
    let mut errors = FieldErrors::new();
    let address = errors.take("email", EmailAddress::parse(raw_email));
    if !assignable_roles(actor_role).contains(&role) {
        errors.add(
            "role",
            format!("You cannot invite members as {}.", role.name()),
        );
    }
    let Some(address) = address else {
        return Err(SaveError::Invalid(errors));
    };
    errors.into_result()?;
    write_tx(conn, |conn| {
        Organization::lock(conn, org.id)?;
        let normalized = address.normalized();
        let is_member: bool = diesel::select(diesel::dsl::exists(
            organization_members::table
                .inner_join(users::table)
                .filter(organization_members::organization_id.eq(org.id))
                .filter(users::email_normalized.eq(&normalized)),
        ))
        .get_result(conn)?;
        if is_member {
            return Err(SaveError::Invalid(FieldErrors::single(
                "email",
                format!(
                    "{} is already a member of this organization.",
                    address.as_str()
                ),
            )));
        }
        let invited: bool = diesel::select(diesel::dsl::exists(
            organization_members::table
                .filter(organization_members::organization_id.eq(org.id))
                .filter(organization_members::email_normalized.eq(&normalized)),
        ))
        .get_result(conn)?;
        if invited {
            return Err(SaveError::Invalid(FieldErrors::single(
                "email",
                format!(
                    "{} has already been invited; resend the invitation instead.",
                    address.as_str()
                ),
            )));
        }
        count_invitation(conn, org, actor, address.as_str())?;
        let now = query::now();
        let (token, expires) = new_token(now);
        let id: i64 = diesel::insert_into(organization_members::table)
            .values((
                organization_members::organization_id.eq(org.id),
                organization_members::email.eq(address.as_str()),
                organization_members::email_normalized.eq(&normalized),
                organization_members::role.eq(role.id()),
                organization_members::token.eq(&token),
                organization_members::token_expires_at.eq(expires),
                organization_members::date_added.eq(now),
            ))
            .returning(organization_members::id)
            .get_result(conn)?;
        let member = find_member(conn, org.id, id)?;
        queue_invite(conn, config, org, &member, &actor.label)?;
        audit::record(
            conn,
            &member_entry(
                org,
                actor,
                AuditEvent::MemberInvite,
                &member,
                address.as_str(),
                None,
            ),
        )?;
        Ok(member)
    })
}

fn member_entry<'a>(
    org: &Organization,
    actor: &'a Actor,
    event: AuditEvent,
    member: &Member,
    email: &str,
    target_user_id: Option<i64>,
) -> NewAuditEntry<'a> {
    NewAuditEntry {
        organization_id: org.id,
        actor,
        event,
        target_object: Some(member.id),
        target_user_id,
        data: audit_data(member, email),
    }
}

/// Sends a pending invitation again, with a new token and expiry (an expired one works again).
pub fn resend(
    conn: &mut AnyConnection,
    config: &Config,
    org: &Organization,
    actor: &Actor,
    member_id: i64,
) -> Result<Member, SaveError> {
    write_tx(conn, |conn| {
        Organization::lock(conn, org.id)?;
        let member = find_member(conn, org.id, member_id)?;
        if member.user_id.is_some() {
            return Err(SaveError::Refused("This member has already joined.".into()));
        }
        count_invitation(
            conn,
            org,
            actor,
            member.email.as_deref().unwrap_or_default(),
        )?;
        let (token, expires) = new_token(query::now());
        diesel::update(organization_members::table.find(member.id))
            .set((
                organization_members::token.eq(&token),
                organization_members::token_expires_at.eq(expires),
            ))
            .execute(conn)?;
        let member = find_member(conn, org.id, member_id)?;
        queue_invite(conn, config, org, &member, &actor.label)?;
        let email = member.email.clone().unwrap_or_default();
        audit::record(
            conn,
            &member_entry(org, actor, AuditEvent::MemberInvite, &member, &email, None),
        )?;
        Ok(member)
    })
}

/// Changes a member's role, within what the actor may give; the last owner stays an owner.
pub fn change_role(
    conn: &mut AnyConnection,
    org: &Organization,
    actor: &Actor,
    actor_role: Role,
    member_id: i64,
    role: Role,
) -> Result<Member, SaveError> {
    write_tx(conn, |conn| {
        Organization::lock(conn, org.id)?;
        let member = find_member(conn, org.id, member_id)?;
        if member.role() == role {
            return Ok(member);
        }
        let allowed = assignable_roles(actor_role);
        if !allowed.contains(&role) || (member.role() == Role::Owner && !actor_role.is_owner()) {
            return Err(SaveError::Refused(format!(
                "Your role ({}) cannot make this change; ask an owner.",
                actor_role.name()
            )));
        }
        if member.role() == Role::Owner
            && member.user_id.is_some()
            && owner_count(conn, org.id)? <= 1
        {
            return Err(SaveError::Refused(ERR_LAST_OWNER.into()));
        }
        diesel::update(organization_members::table.find(member.id))
            .set(organization_members::role.eq(role.id()))
            .execute(conn)?;
        let member = find_member(conn, org.id, member_id)?;
        let email = member_email(conn, &member)?;
        audit::record(
            conn,
            &member_entry(
                org,
                actor,
                AuditEvent::MemberEdit,
                &member,
                &email,
                member.user_id,
            ),
        )?;
        Ok(member)
    })
}

fn member_email(conn: &mut AnyConnection, member: &Member) -> QueryResult<String> {
    Ok(match (&member.email, member.user_id) {
        (Some(email), _) => email.clone(),
        (None, Some(user_id)) => User::find(conn, user_id)?
            .map(|u| u.email)
            .unwrap_or_default(),
        (None, None) => String::new(),
    })
}

/// Removes a member or revokes an invitation; the last owner stays, and only owners remove owners.
pub fn remove(
    conn: &mut AnyConnection,
    org: &Organization,
    actor: &Actor,
    actor_role: Role,
    member_id: i64,
) -> Result<String, SaveError> {
    write_tx(conn, |conn| {
        Organization::lock(conn, org.id)?;
        let member = find_member(conn, org.id, member_id)?;
        if member.role() == Role::Owner && !actor_role.is_owner() {
            return Err(SaveError::Refused("Only owners can remove owners.".into()));
        }
        if member.role() == Role::Owner
            && member.user_id.is_some()
            && owner_count(conn, org.id)? <= 1
        {
            return Err(SaveError::Refused(ERR_LAST_OWNER.into()));
        }
        let email = member_email(conn, &member)?;
        diesel::delete(organization_members::table.find(member.id)).execute(conn)?;
        audit::record(
            conn,
            &member_entry(
                org,
                actor,
                AuditEvent::MemberRemove,
                &member,
                &email,
                member.user_id,
            ),
        )?;
        Ok(email)
    })
}

/// An invitation as its link names it, if the token matches.
pub fn find_invite(
    conn: &mut AnyConnection,
    member_id: i64,
    token: &str,
) -> QueryResult<Option<(Member, Organization)>> {
    let found: Option<(Member, Organization)> = organization_members::table
        .inner_join(crate::db::schema::organizations::table)
        .filter(organization_members::id.eq(member_id))
        .filter(organization_members::user_id.is_null())
        .select((Member::as_select(), Organization::as_select()))
        .first(conn)
        .optional()?;
    Ok(found.filter(|(member, _)| {
        member
            .token
            .as_deref()
            .is_some_and(|stored| secrets_match(stored, token))
    }))
}

/// Why a user cannot join (yet): the organization's requirements they do not meet.
pub fn unmet_requirements(
    conn: &mut AnyConnection,
    org: &Organization,
    user: &User,
    config: &Config,
) -> QueryResult<Vec<&'static str>> {
    let flags = org.flags;
    let mut unmet = Vec::new();
    if flags.get(Flag::RequireEmailVerification)
        && config.features.has(REQUIRED_EMAIL_VERIFICATION)
        && !user.primary_email_verified(conn)?
    {
        unmet.push("a verified email address");
    }
    if flags.get(Flag::Require2fa) && !user.has_two_factor(conn)? {
        unmet.push("two-factor authentication");
    }
    Ok(unmet)
}

/// Accepts an invitation as `user`: they become the member, with the invited role.
pub fn accept(
    conn: &mut AnyConnection,
    config: &Config,
    member_id: i64,
    token: &str,
    user: &User,
    actor: &Actor,
) -> Result<Organization, SaveError> {
    write_tx(conn, |conn| {
        let org_id: Option<i64> = organization_members::table
            .find(member_id)
            .select(organization_members::organization_id)
            .first(conn)
            .optional()?;
        if let Some(org_id) = org_id {
            Organization::lock(conn, org_id)?;
        }
        let Some((member, org)) = find_invite(conn, member_id, token)? else {
            return Err(SaveError::Refused(
                "This invitation is not valid: it was used, revoked or replaced by a newer one."
                    .into(),
            ));
        };
        if member.token_expires_at.is_some_and(|at| at <= query::now()) {
            return Err(SaveError::Refused(
                "This invitation has expired. Ask an owner or manager of the organization to send it again.".into(),
            ));
        }
        if Member::find(conn, org.id, user.id)?.is_some() {
            return Err(SaveError::Refused(format!(
                "You are already a member of {}.",
                org.name
            )));
        }
        let unmet = unmet_requirements(conn, &org, user, config)?;
        if !unmet.is_empty() {
            return Err(SaveError::Refused(format!(
                "{} requires {} from every member. Set it up first, then open this link again.",
                org.name,
                unmet.join(" and ")
            )));
        }
        diesel::update(organization_members::table.find(member.id))
            .set((
                organization_members::user_id.eq(user.id),
                organization_members::email.eq(None::<String>),
                organization_members::email_normalized.eq(None::<String>),
                organization_members::token.eq(None::<String>),
                organization_members::token_expires_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        let joined = find_member(conn, org.id, member.id)?;
        audit::record(
            conn,
            &member_entry(
                &org,
                actor,
                AuditEvent::MemberAccept,
                &joined,
                &user.email,
                Some(user.id),
            ),
        )?;
        Ok(org)
    })
}

/// The members a requirement would remove now, by username (for the confirmation before saving).
pub fn non_compliant(
    conn: &mut AnyConnection,
    organization_id: i64,
    requirement: &str,
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

fn complies(conn: &mut AnyConnection, user: &User, requirement: &str) -> QueryResult<bool> {
    match requirement {
        kind::REQUIRE_2FA => user.has_two_factor(conn),
        _ => user.primary_email_verified(conn),
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
    let flag = if job.kind == kind::REQUIRE_2FA {
        Flag::Require2fa
    } else {
        Flag::RequireEmailVerification
    };
    let mut removed = 0;
    // the requirement may have been turned off again before an interrupted job was resumed
    if org.flags.get(flag) {
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
    let label = if job.kind == kind::REQUIRE_2FA {
        "2FA"
    } else {
        "verified email"
    };
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
        if complies(conn, &user, &job.kind)? {
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
        let message = if job.kind == kind::REQUIRE_2FA {
            mail::setup_2fa(
                &config.mail,
                &user.email,
                &org.name,
                &config.absolute_url("/account/security/"),
                &invite,
            )?
        } else {
            let hash = new_validation_hash(conn, user.id, &user.email)?;
            let confirm =
                config.absolute_url(&format!("/account/confirm-email/{}/{hash}/", user.id));
            mail::setup_email(&config.mail, &user.email, &org.name, &confirm, &invite)?
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

/// A fresh verification hash for one of a user's addresses (the link in the email carries it).
pub fn new_validation_hash(
    conn: &mut AnyConnection,
    user_id: i64,
    address: &str,
) -> QueryResult<String> {
    let hash = random_token();
    diesel::update(
        user_emails::table
            .filter(user_emails::user_id.eq(user_id))
            .filter(user_emails::email_normalized.eq(normalize_email(address))),
    )
    .set((
        user_emails::validation_hash.eq(&hash),
        user_emails::date_hash_added.eq(query::now()),
    ))
    .execute(conn)?;
    Ok(hash)
}

/// Runs every unfinished job (at start and periodically); returns how many members were removed.
pub fn run_unfinished_jobs(conn: &mut AnyConnection, config: &Config) -> anyhow::Result<usize> {
    let mut removed = 0;
    for job in job::unfinished(conn)? {
        removed += run_requirement_job(conn, config, job.id)?;
    }
    Ok(removed)
}
