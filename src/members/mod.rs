//! Membership, free of HTTP (docs/compatibility.md, "Members"): the member list, and in their own
//! files invitations (30 days, accepted at `/accept/{member_id}/{token}/`, rate-limited), role
//! changes and removals with the last-owner rule, and the requirement jobs that turn members who
//! lack a verified email or two-factor authentication into pending invites. Each change writes its
//! audit entry (and email) in the same transaction, after locking the organization row.

mod invitations;
mod requirements;
mod roles;
mod search;

pub use invitations::*;
pub use requirements::*;
pub use roles::*;
pub use search::*;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::AnyConnection;
use crate::db::schema::{authenticators, organization_members, user_emails};
use crate::errors::DomainError;
use crate::models::actor::Actor;
use crate::models::audit::{AuditEvent, NewAuditEntry};
use crate::models::member::Member;
use crate::models::organization::Organization;
use crate::models::role::Role;
use crate::models::user::User;

/// A member or pending invite, with what the members page shows about them.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub member: Member,
    pub username: Option<String>,
    /// The user's name (may be empty).
    pub user_name: Option<String>,
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

/// A member row with its user's username, email, normalized email and name (for a user).
pub(crate) type MemberRow = (Member, Option<(String, String, String, String)>);

/// The rows with whether each user's address is verified and whether they have two-factor
/// authentication (two queries, over the users of these rows only).
pub(crate) fn views_of(
    conn: &mut AnyConnection,
    rows: Vec<MemberRow>,
) -> QueryResult<Vec<MemberView>> {
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
    Ok(rows
        .into_iter()
        .map(|(member, user)| {
            let (username, user_email, normalized, user_name) = match user {
                Some((username, email, normalized, name)) => {
                    (Some(username), Some(email), normalized, Some(name))
                }
                None => (None, None, String::new(), None),
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
                user_name,
                user_email,
                email_verified,
                two_factor,
            }
        })
        .collect())
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
) -> Result<Member, DomainError> {
    organization_members::table
        .find(member_id)
        .filter(organization_members::organization_id.eq(organization_id))
        .select(Member::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            DomainError::Refused("That member is not in this organization any more.".into())
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

fn member_email(conn: &mut AnyConnection, member: &Member) -> QueryResult<String> {
    Ok(match (&member.email, member.user_id) {
        (Some(email), _) => email.clone(),
        (None, Some(user_id)) => User::find(conn, user_id)?
            .map(|u| u.email)
            .unwrap_or_default(),
        (None, None) => String::new(),
    })
}
