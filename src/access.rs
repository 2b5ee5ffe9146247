//! Who may see an organization, free of HTTP: the organization a slug names, as one logged-in user
//! may see it (their role; owner powers in superuser mode, marked as staff), or why they may not
//! (not theirs, renamed since, two-factor authentication required). See `docs/architecture.md`,
//! "Access".

use diesel::QueryResult;

use crate::db::AnyConnection;
use crate::models::actor::Actor;
use crate::models::avatar::OrgAvatar;
use crate::models::flags::Flag;
use crate::models::organization::{Membership, Organization};
use crate::models::role::Role;
use crate::models::user::User;

/// An organization as the user may see it.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    pub user: User,
    pub org: Organization,
    pub role: Role,
    /// The organization's avatar row, if it has one (shown in the sidebar of every page).
    pub avatar: Option<OrgAvatar>,
    /// Access comes from superuser mode, not (only) from membership: actions are marked as staff.
    pub staff: bool,
}

impl OrgAccess {
    /// The user acting on this organization, from a client address.
    pub fn actor(&self, ip_address: Option<String>) -> Actor {
        let mut actor = Actor::user(&self.user, ip_address);
        actor.is_staff = self.staff;
        actor
    }
}

/// What a slug turned out to be for a user.
#[derive(Debug)]
pub enum Lookup {
    Found(Box<OrgAccess>),
    /// The session's user is gone, deactivated, or their sessions were ended.
    NoUser,
    /// No organization of the user's has this slug (whether or not one exists).
    Missing,
    /// One of the user's organizations used to have this slug; its slug now.
    Renamed(String),
    /// The organization (named) requires two-factor authentication, which the user has not set up.
    TwoFactorRequired(String),
    /// The user is a superuser with superuser mode off, and not a member: the mode would open it.
    SuperuserModeOff,
}

/// Resolves `slug` for the session's user (`user_id` at `session_version`), with one query in the
/// common case (the user and their membership together). `superuser_granted` is the user a
/// superuser-mode grant of the session is for.
pub fn resolve(
    conn: &mut AnyConnection,
    slug: &str,
    (user_id, session_version): (i64, i32),
    superuser_granted: Option<i64>,
) -> QueryResult<Lookup> {
    let Some((user, membership)) = Organization::find_user_and_membership(conn, user_id, slug)?
    else {
        return Ok(Lookup::NoUser);
    };
    if !user.is_active || user.session_version != session_version {
        return Ok(Lookup::NoUser);
    }
    // an active superuser mode gives owner powers in every organization
    let superuser = user.is_superuser && superuser_granted == Some(user.id);
    conclude(conn, slug, user, superuser, membership)
}

/// Resolves `slug` for `user` (a token's); `superuser` when the user is in superuser mode (never
/// for a token: a token does not carry the mode).
pub fn resolve_for(
    conn: &mut AnyConnection,
    slug: &str,
    user: User,
    superuser: bool,
) -> QueryResult<Lookup> {
    let membership = Organization::find_for_member(conn, slug, user.id)?;
    conclude(conn, slug, user, superuser, membership)
}

/// What the user's membership (or its absence) in the organization of `slug` gives them.
fn conclude(
    conn: &mut AnyConnection,
    slug: &str,
    user: User,
    superuser: bool,
    membership: Option<Membership>,
) -> QueryResult<Lookup> {
    // an organization that turned off `allowSuperuserAccess` gives superuser mode nothing: its
    // members keep their role, everyone else finds nothing (docs/compatibility.md, "Access")
    let admits = Organization::admits_superusers;
    let (org, role, avatar, staff) = match membership {
        Some((org, role, avatar)) if superuser && role != Role::Owner && admits(&org) => {
            (org, Role::Owner, avatar, true)
        }
        Some((org, role, avatar)) => (org, role, avatar, false),
        None => match Organization::find_by_slug(conn, slug)? {
            Some(org) if superuser && admits(&org) => {
                let avatar = OrgAvatar::find_for_org(conn, org.id)?;
                (org, Role::Owner, avatar, true)
            }
            Some(org) if user.is_superuser && !superuser && admits(&org) => {
                return Ok(Lookup::SuperuserModeOff);
            }
            // a slug that is not one of the user's organizations may be one renamed since
            _ => {
                return Ok(match Organization::renamed_from(conn, slug, user.id)? {
                    Some(new_slug) => Lookup::Renamed(new_slug),
                    None => Lookup::Missing,
                });
            }
        },
    };
    // members without 2FA are refused while the organization requires it (docs/compatibility.md,
    // "Access"); superusers in superuser mode are not members
    if org.flags.get(Flag::Require2fa) && !staff && !user.has_two_factor(conn)? {
        return Ok(Lookup::TwoFactorRequired(org.name));
    }
    Ok(Lookup::Found(Box::new(OrgAccess {
        user,
        org,
        role,
        avatar,
        staff,
    })))
}
