//! Role changes and removals, with the last-owner rule.

use diesel::prelude::*;

use crate::db::schema::organization_members;
use crate::db::{AnyConnection, write_tx};
use crate::errors::DomainError;
use crate::models::actor::Actor;
use crate::models::audit::{self, AuditEvent};
use crate::models::member::Member;
use crate::models::organization::Organization;
use crate::models::role::Role;

use super::{assignable_roles, find_member, member_email, member_entry};

pub const ERR_LAST_OWNER: &str =
    "The last owner cannot be removed or demoted: make someone else an owner first.";

fn owner_count(conn: &mut AnyConnection, organization_id: i64) -> QueryResult<i64> {
    organization_members::table
        .filter(organization_members::organization_id.eq(organization_id))
        .filter(organization_members::user_id.is_not_null())
        .filter(organization_members::role.eq(Role::Owner.id()))
        .count()
        .get_result(conn)
}

/// Changes a member's role, within what the actor may give; the last owner stays an owner.
pub fn change_role(
    conn: &mut AnyConnection,
    org: &Organization,
    actor: &Actor,
    actor_role: Role,
    member_id: i64,
    role: Role,
) -> Result<Member, DomainError> {
    write_tx(conn, |conn| {
        Organization::lock_active(conn, org.id)?;
        let member = find_member(conn, org.id, member_id)?;
        if member.role() == role {
            return Ok(member);
        }
        let allowed = assignable_roles(actor_role);
        if !allowed.contains(&role) || (member.role() == Role::Owner && !actor_role.is_owner()) {
            return Err(DomainError::Refused(format!(
                "Your role ({}) cannot make this change; ask an owner.",
                actor_role.name()
            )));
        }
        if member.role() == Role::Owner
            && member.user_id.is_some()
            && owner_count(conn, org.id)? <= 1
        {
            return Err(DomainError::Refused(ERR_LAST_OWNER.into()));
        }
        diesel::update(organization_members::table.find(member.id))
            .set((
                organization_members::role.eq(role.id()),
                organization_members::role_rank.eq(role.list_rank()),
            ))
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

/// Removes a member or revokes an invitation; the last owner stays, and only owners remove owners.
pub fn remove(
    conn: &mut AnyConnection,
    org: &Organization,
    actor: &Actor,
    actor_role: Role,
    member_id: i64,
) -> Result<String, DomainError> {
    write_tx(conn, |conn| {
        Organization::lock_active(conn, org.id)?;
        let member = find_member(conn, org.id, member_id)?;
        if member.role() == Role::Owner && !actor_role.is_owner() {
            return Err(DomainError::Refused(
                "Only owners can remove owners.".into(),
            ));
        }
        if member.role() == Role::Owner
            && member.user_id.is_some()
            && owner_count(conn, org.id)? <= 1
        {
            return Err(DomainError::Refused(ERR_LAST_OWNER.into()));
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

/// What the members API's `PUT` asks of one member: send a pending invitation again, change the
/// role, or both, all or nothing (a refused role change sends nothing).
#[allow(clippy::too_many_arguments)]
pub fn update(
    conn: &mut AnyConnection,
    config: &crate::config::Config,
    org: &Organization,
    actor: &Actor,
    actor_role: Role,
    member_id: i64,
    role: Option<Role>,
    resend: bool,
) -> Result<(), DomainError> {
    write_tx(conn, |conn| {
        if resend {
            if find_member(conn, org.id, member_id)?.user_id.is_some() {
                return Err(DomainError::Refused(ERR_RESEND_MEMBER.into()));
            }
            super::resend(conn, config, org, actor, member_id)?;
        }
        if let Some(role) = role {
            change_role(conn, org, actor, actor_role, member_id, role)?;
        }
        Ok(())
    })
}

/// Sentry's answer for `reinvite` on a member who has joined.
pub const ERR_RESEND_MEMBER: &str = "You cannot modify invitations sent to an existing member.";
