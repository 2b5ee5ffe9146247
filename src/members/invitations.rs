//! Invitations: sending, sending again, and accepting them.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::config::{Config, Feature};
use crate::db::schema::{organization_members, users};
use crate::db::{AnyConnection, query, write_tx};
use crate::errors::{DomainError, FieldErrors};
use crate::mail;
use crate::models::actor::Actor;
use crate::models::audit::{self, AuditEvent};
use crate::models::email;
use crate::models::flags::Flag;
use crate::models::job::Requirement;
use crate::models::member::Member;
use crate::models::organization::Organization;
use crate::models::role::Role;
use crate::models::user::{EmailAddress, NewUser, User, normalize_email};
use crate::ratelimit::{self, Limit, Scope};
use crate::secrets::{random_token, secrets_match};

use super::{assignable_roles, find_member, member_entry};

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
) -> Result<(), DomainError> {
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
        Err(_) => Err(DomainError::RateLimited(ERR_RATE_LIMITED.into())),
    }
}

/// How long an invitation can be accepted.
pub const INVITE_TTL: Duration = Duration::days(30);

pub(super) fn new_token(now: NaiveDateTime) -> (String, NaiveDateTime) {
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
) -> Result<(), DomainError> {
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
    .map_err(|e| {
        DomainError::Internal(anyhow::Error::new(e).context("rendering the invitation"))
    })?;
    email::queue(conn, &message)?;
    Ok(())
}

/// Invites an email address with a role: a pending member, an email with the accept link (unless
/// `send_email` is off: the API's `sendInvite: false`), an audit entry. Refused for a member's
/// address, an address already invited, or a role above the inviter's.
#[allow(clippy::too_many_arguments)]
pub fn invite(
    conn: &mut AnyConnection,
    config: &Config,
    org: &Organization,
    actor: &Actor,
    actor_role: Role,
    raw_email: &str,
    role: Role,
    send_email: bool,
) -> Result<Member, DomainError> {
    let mut errors = FieldErrors::new();
    let address = errors.take("email", EmailAddress::parse(raw_email));
    if !assignable_roles(actor_role).contains(&role) {
        errors.add(
            "role",
            format!("You cannot invite members as {}.", role.name()),
        );
    }
    let Some(address) = address else {
        return Err(DomainError::Invalid(errors));
    };
    errors.into_result()?;
    write_tx(conn, |conn| {
        Organization::lock_active(conn, org.id)?;
        let normalized = address.normalized();
        let is_member: bool = diesel::select(diesel::dsl::exists(
            organization_members::table
                .inner_join(users::table)
                .filter(organization_members::organization_id.eq(org.id))
                .filter(users::email_normalized.eq(&normalized)),
        ))
        .get_result(conn)?;
        if is_member {
            return Err(DomainError::Invalid(FieldErrors::single(
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
            return Err(DomainError::Invalid(FieldErrors::single(
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
                organization_members::role_rank.eq(role.list_rank()),
                organization_members::sort_address.eq(&normalized),
                organization_members::token.eq(&token),
                organization_members::token_expires_at.eq(expires),
                organization_members::date_added.eq(now),
            ))
            .returning(organization_members::id)
            .get_result(conn)?;
        let member = find_member(conn, org.id, id)?;
        if send_email {
            queue_invite(conn, config, org, &member, &actor.label)?;
        }
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

/// How many addresses one invitation form takes at once.
pub const MAX_INVITES_AT_ONCE: usize = 20;

/// The addresses of a list typed into the invitation form: separated by commas, semicolons, spaces
/// or new lines; the same address twice (in any case) counts once.
pub fn split_addresses(raw: &str) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    raw.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .filter(|part| seen.insert(normalize_email(part)))
        .collect()
}

/// Invites every address of a typed list with one role, all or none: each address is checked as
/// [`invite`] checks one, and the first refusal (a bad or already invited address, a rate limit)
/// sends no invitation at all, with the addresses at fault named on the `email` field.
pub fn invite_many(
    conn: &mut AnyConnection,
    config: &Config,
    org: &Organization,
    actor: &Actor,
    actor_role: Role,
    raw: &str,
    role: Role,
) -> Result<Vec<Member>, DomainError> {
    let addresses = split_addresses(raw);
    if addresses.is_empty() {
        return Err(DomainError::Invalid(FieldErrors::single(
            "email",
            "Enter at least one email address.",
        )));
    }
    if addresses.len() > MAX_INVITES_AT_ONCE {
        return Err(DomainError::Invalid(FieldErrors::single(
            "email",
            format!(
                "Invite at most {MAX_INVITES_AT_ONCE} addresses at once ({} given).",
                addresses.len()
            ),
        )));
    }
    let mut errors = FieldErrors::new();
    for address in &addresses {
        if let Err(message) = EmailAddress::parse(address) {
            errors.add("email", format!("“{address}”: {message}"));
        }
    }
    errors.into_result()?;
    write_tx(conn, |conn| {
        let mut invited = Vec::with_capacity(addresses.len());
        for address in &addresses {
            invited.push(invite(
                conn, config, org, actor, actor_role, address, role, true,
            )?);
        }
        Ok(invited)
    })
}

/// Sends a pending invitation again, with a new token and expiry (an expired one works again).
pub fn resend(
    conn: &mut AnyConnection,
    config: &Config,
    org: &Organization,
    actor: &Actor,
    member_id: i64,
) -> Result<Member, DomainError> {
    write_tx(conn, |conn| {
        Organization::lock_active(conn, org.id)?;
        let member = find_member(conn, org.id, member_id)?;
        if member.user_id.is_some() {
            return Err(DomainError::Refused(
                "This member has already joined.".into(),
            ));
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

pub const ERR_INVALID_INVITATION: &str =
    "This invitation is not valid: it was used, revoked or replaced by a newer one.";
pub const ERR_EXPIRED_INVITATION: &str =
    "This invitation has expired. Ask an owner or manager of the organization to send it again.";

/// An invitation as its link shows it.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub member: Member,
    pub org: Organization,
    pub expired: bool,
    /// What the organization requires that the looking user does not have yet.
    pub unmet: Vec<Requirement>,
}

/// The invitation a link names (refused when the token does not match), as `user` would accept it.
pub fn invitation(
    conn: &mut AnyConnection,
    config: &Config,
    member_id: i64,
    token: &str,
    user: Option<&User>,
) -> Result<Invitation, DomainError> {
    let (member, org) = find_invite(conn, member_id, token)?
        .ok_or_else(|| DomainError::Refused(ERR_INVALID_INVITATION.into()))?;
    let unmet = match user {
        Some(user) => unmet_requirements(conn, &org, user, config)?,
        None => Vec::new(),
    };
    let expired = is_expired(&member);
    Ok(Invitation {
        member,
        org,
        expired,
        unmet,
    })
}

/// Who accepts an invitation.
#[derive(Debug, Clone)]
pub enum Joiner {
    /// The logged-in user.
    Existing(User),
    /// A new account for the invited address, which then counts as verified (the link proved it);
    /// its email field is ignored.
    NewAccount(NewUser),
}

/// What became of accepting an invitation.
#[derive(Debug)]
pub enum Acceptance {
    /// The user is a member now.
    Joined { user: User, org: Organization },
    /// The user (perhaps the account just made) does not meet the organization's requirements yet;
    /// the invitation stays pending, to be accepted once they do (Sentry keeps it in the session
    /// and accepts it after the 2FA setup).
    Unmet {
        user: User,
        org: Organization,
        unmet: Vec<Requirement>,
    },
}

/// Accepts an invitation, for an existing user or a new account made in the same transaction
/// (nothing is created when the invitation is refused). A new account is kept when only the
/// organization's requirements stand in the way: it is what its owner sets them up with.
pub fn accept_invitation(
    conn: &mut AnyConnection,
    config: &Config,
    member_id: i64,
    token: &str,
    joiner: Joiner,
    ip_address: Option<String>,
) -> Result<Acceptance, DomainError> {
    write_tx(conn, |conn| {
        let (member, org) = find_invite(conn, member_id, token)?
            .ok_or_else(|| DomainError::Refused(ERR_INVALID_INVITATION.into()))?;
        if is_expired(&member) {
            return Err(DomainError::Refused(ERR_EXPIRED_INVITATION.into()));
        }
        let user = match joiner {
            Joiner::Existing(user) => user,
            Joiner::NewAccount(new_user) => {
                let address = EmailAddress::parse(member.email.as_deref().unwrap_or_default())
                    .map_err(DomainError::Refused)?;
                let user = User::create(
                    conn,
                    &NewUser {
                        email: address,
                        email_verified: true,
                        ..new_user
                    },
                )?;
                // the new account is logged in at once: its first login
                User::record_login(conn, user.id)?;
                User::find(conn, user.id)?.unwrap_or(user)
            }
        };
        let unmet = unmet_requirements(conn, &org, &user, config)?;
        if !unmet.is_empty() {
            return Ok(Acceptance::Unmet { user, org, unmet });
        }
        let actor = Actor::user(&user, ip_address);
        let org = accept(conn, config, member_id, token, &user, &actor)?;
        Ok(Acceptance::Joined { user, org })
    })
}

fn is_expired(member: &Member) -> bool {
    member.token_expires_at.is_some_and(|at| at <= query::now())
}

/// Why a user cannot join (yet): the organization's requirements they do not meet.
pub fn unmet_requirements(
    conn: &mut AnyConnection,
    org: &Organization,
    user: &User,
    config: &Config,
) -> QueryResult<Vec<Requirement>> {
    let flags = org.flags;
    let mut unmet = Vec::new();
    if flags.get(Flag::RequireEmailVerification)
        && config.features.has(Feature::RequiredEmailVerification)
        && !user.primary_email_verified(conn)?
    {
        unmet.push(Requirement::VerifiedEmail);
    }
    if flags.get(Flag::Require2fa) && !user.has_two_factor(conn)? {
        unmet.push(Requirement::TwoFactor);
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
) -> Result<Organization, DomainError> {
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
            return Err(DomainError::Refused(ERR_INVALID_INVITATION.into()));
        };
        if is_expired(&member) {
            return Err(DomainError::Refused(ERR_EXPIRED_INVITATION.into()));
        }
        if Member::find(conn, org.id, user.id)?.is_some() {
            return Err(DomainError::Refused(format!(
                "You are already a member of {}.",
                org.name
            )));
        }
        let unmet = unmet_requirements(conn, &org, user, config)?;
        if !unmet.is_empty() {
            let needs: Vec<&str> = unmet.iter().map(|r| r.noun()).collect();
            return Err(DomainError::Refused(format!(
                "{} requires {} from every member. Set it up first, then open this link again.",
                org.name,
                needs.join(" and ")
            )));
        }
        diesel::update(organization_members::table.find(member.id))
            .set((
                organization_members::user_id.eq(user.id),
                organization_members::email.eq(None::<String>),
                organization_members::email_normalized.eq(None::<String>),
                organization_members::sort_address.eq(&user.email_normalized),
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
