//! User administration, free of HTTP: what superusers do from `/manage/` and the command line.
//! Every change runs in one transaction with its instance audit entry; a refused change writes
//! nothing and says why. Privilege changes end the affected user's sessions.

use diesel::prelude::*;
use serde_json::json;

use crate::auth::throttle;
use crate::config::LoginThrottle;
use crate::db::schema::authenticators;
use crate::db::{AnyConnection, write_tx};
use crate::errors::DomainError;
use crate::models::actor::Actor;
use crate::models::instance_audit::{self, InstanceAuditEntry, event};
use crate::models::organization::{OrgWithRole, Organization};
use crate::models::permission;
use crate::models::user::{NewUser, User};

pub const ERR_LAST_SUPERUSER: &str =
    "You are the last superuser: make someone else a superuser before giving up your own status.";
pub const ERR_DEACTIVATE_SELF: &str = "You cannot deactivate your own account.";
pub const ERR_NOT_SUPERUSER: &str =
    "Permissions apply to superusers only: grant superuser status first.";

fn target(conn: &mut AnyConnection, id: i64) -> Result<User, DomainError> {
    User::find(conn, id)?.ok_or(DomainError::Db(diesel::result::Error::NotFound))
}

/// Creates a user (and records it).
pub fn create_user(
    conn: &mut AnyConnection,
    actor: &Actor,
    new: &NewUser,
) -> Result<User, DomainError> {
    write_tx(conn, |conn| {
        let user = User::create(conn, new)?;
        instance_audit::record(
            conn,
            actor,
            event::USER_CREATE,
            Some(user.id),
            json!({"username": user.username, "superuser": user.is_superuser}),
        )?;
        Ok(user)
    })
}

/// Activates or deactivates a user; deactivation ends their sessions. Nobody deactivates themselves.
pub fn set_active(
    conn: &mut AnyConnection,
    actor: &Actor,
    user_id: i64,
    active: bool,
) -> Result<User, DomainError> {
    write_tx(conn, |conn| {
        let user = target(conn, user_id)?;
        if !active && actor.user_id == Some(user.id) {
            return Err(DomainError::Refused(ERR_DEACTIVATE_SELF.into()));
        }
        if user.is_active == active {
            return Ok(user);
        }
        if !active && user.is_superuser && User::lock_active_superusers(conn)? <= 1 {
            return Err(DomainError::Refused(
                "This is the last active superuser: make someone else a superuser first.".into(),
            ));
        }
        let name = if active {
            event::USER_ACTIVATE
        } else {
            event::USER_DEACTIVATE
        };
        apply_flags(conn, actor, &user, active, user.is_superuser, name)
    })
}

/// Grants or revokes superuser status, ending the user's sessions. The last superuser keeps it.
pub fn set_superuser(
    conn: &mut AnyConnection,
    actor: &Actor,
    user_id: i64,
    superuser: bool,
) -> Result<User, DomainError> {
    write_tx(conn, |conn| {
        let user = target(conn, user_id)?;
        if user.is_superuser == superuser {
            return Ok(user);
        }
        if !superuser && user.is_active && User::lock_active_superusers(conn)? <= 1 {
            return Err(DomainError::Refused(ERR_LAST_SUPERUSER.into()));
        }
        let name = if superuser {
            event::SUPERUSER_GRANT
        } else {
            event::SUPERUSER_REVOKE
        };
        apply_flags(conn, actor, &user, user.is_active, superuser, name)
    })
}

/// Sets a user's active / superuser flags (ending their sessions), records `event` in the instance
/// audit log, and returns the user as stored now.
fn apply_flags(
    conn: &mut AnyConnection,
    actor: &Actor,
    user: &User,
    active: bool,
    superuser: bool,
    name: &str,
) -> Result<User, DomainError> {
    User::set_flags_ending_sessions(conn, user.id, active, superuser)?;
    instance_audit::record(
        conn,
        actor,
        name,
        Some(user.id),
        json!({"username": user.username}),
    )?;
    target(conn, user.id)
}

/// Removes the user's second factors (they enrol again); `false` when there were none. Returns the
/// user too.
pub fn reset_two_factor(
    conn: &mut AnyConnection,
    actor: &Actor,
    user_id: i64,
) -> Result<(User, bool), DomainError> {
    write_tx(conn, |conn| {
        let user = target(conn, user_id)?;
        let removed =
            diesel::delete(authenticators::table.filter(authenticators::user_id.eq(user.id)))
                .execute(conn)?;
        if removed > 0 {
            instance_audit::record(
                conn,
                actor,
                event::TWO_FACTOR_RESET,
                Some(user.id),
                json!({"username": user.username}),
            )?;
        }
        Ok((user, removed > 0))
    })
}

/// What a permission change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionChange {
    Done,
    /// Adding a permission the user has, or removing one they do not have.
    Unchanged,
}

/// Grants (`add`) or revokes a known permission of a superuser, ending their sessions.
pub fn change_permission(
    conn: &mut AnyConnection,
    actor: &Actor,
    user: &User,
    permission_name: &str,
    add: bool,
) -> Result<PermissionChange, DomainError> {
    let permission = permission::parse(permission_name).map_err(DomainError::Refused)?;
    if !user.is_superuser {
        return Err(DomainError::Refused(ERR_NOT_SUPERUSER.into()));
    }
    write_tx(conn, |conn| {
        let changed = if add {
            permission::add(conn, user.id, permission)?
        } else {
            permission::remove(conn, user.id, permission)?
        };
        if !changed {
            return Ok(PermissionChange::Unchanged);
        }
        User::end_sessions(conn, user.id)?;
        let name = if add {
            event::PERMISSION_ADD
        } else {
            event::PERMISSION_REMOVE
        };
        instance_audit::record(
            conn,
            actor,
            name,
            Some(user.id),
            json!({"username": user.username, "permission": permission}),
        )?;
        Ok(PermissionChange::Done)
    })
}

/// What a superuser types to turn on superuser mode.
#[derive(Debug, Clone, Copy)]
pub struct SuperuserEntry<'a> {
    pub password: &'a str,
    /// A current code, for a user with two-factor authentication.
    pub code: &'a str,
    pub reason: &'a str,
}

/// Turns on superuser mode for `user` once they re-entered their password and, when they have
/// two-factor authentication, a current code (each checked under its throttle), and records it with
/// the reason they gave.
pub fn enter_superuser_mode(
    conn: &mut AnyConnection,
    throttle: LoginThrottle,
    actor: &Actor,
    user: &User,
    entry: SuperuserEntry<'_>,
) -> Result<(), DomainError> {
    let ip = actor.ip_address.as_deref().unwrap_or("unknown");
    throttle::require_password(conn, throttle, ip, user, entry.password)?;
    if user.has_two_factor(conn)? {
        crate::auth::two_factor::require_code(conn, throttle, ip, user, entry.code)?;
    }
    let reason = entry.reason;
    write_tx(conn, |conn| {
        instance_audit::record(
            conn,
            actor,
            event::SUPERUSER_ENTER,
            Some(user.id),
            json!({"reason": reason}),
        )
    })?;
    Ok(())
}

/// Records that `user` left superuser mode.
pub fn record_superuser_leave(
    conn: &mut AnyConnection,
    actor: &Actor,
    user_id: i64,
) -> QueryResult<()> {
    instance_audit::record(
        conn,
        actor,
        event::SUPERUSER_LEAVE,
        Some(user_id),
        json!({}),
    )
}

/// [`change_permission`] for the user with this id; the user as stored afterwards.
pub fn change_permission_of(
    conn: &mut AnyConnection,
    actor: &Actor,
    user_id: i64,
    permission_name: &str,
    add: bool,
) -> Result<(User, PermissionChange), DomainError> {
    let user = target(conn, user_id)?;
    let change = change_permission(conn, actor, &user, permission_name, add)?;
    Ok((target(conn, user_id)?, change))
}

/// What `/manage/` shows: how many users, every organization (with the viewer's role), recent
/// instance activity.
#[derive(Debug)]
pub struct Overview {
    pub users: i64,
    pub organizations: Vec<OrgWithRole>,
    pub activity: Vec<InstanceAuditEntry>,
}

pub fn overview(conn: &mut AnyConnection, viewer_id: i64) -> QueryResult<Overview> {
    Ok(Overview {
        users: User::count(conn)?,
        organizations: Organization::list_all(conn, viewer_id)?,
        activity: InstanceAuditEntry::recent(conn, None, 20)?,
    })
}

/// What `/manage/users/{id}/` shows of a user.
#[derive(Debug)]
pub struct UserDetails {
    pub user: User,
    pub email_verified: bool,
    pub two_factor: bool,
    pub memberships: Vec<OrgWithRole>,
    pub permissions: Vec<String>,
    pub activity: Vec<InstanceAuditEntry>,
}

pub fn user_details(conn: &mut AnyConnection, user_id: i64) -> QueryResult<Option<UserDetails>> {
    let Some(user) = User::find(conn, user_id)? else {
        return Ok(None);
    };
    Ok(Some(UserDetails {
        email_verified: user.primary_email_verified(conn)?,
        two_factor: user.has_two_factor(conn)?,
        memberships: Organization::list_for_user(conn, user_id)?,
        permissions: permission::list(conn, user_id)?,
        activity: InstanceAuditEntry::recent(conn, Some(user_id), 20)?,
        user,
    }))
}
