//! `/settings/{org}/members/`: members with role, verified email and 2FA; pending invitations with
//! their expiry. Owners and managers invite, resend, revoke, change roles and remove members.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::access::OrgAccess;
use super::error::AppError;
use super::page::{PageCtx, Section, render};
use super::respond::see_other;
use super::session::FlashLevel;
use super::session::{self};
use crate::db::query;
use crate::errors::{DomainError, FieldErrors};
use crate::members::{self, MemberView};
use crate::models::role::Role;
use crate::web::state::AppState;

pub struct MemberRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub email_verified: bool,
    pub two_factor: bool,
    pub is_you: bool,
    /// Whether the role select offers the member's current role (a manager sees an owner's role as is).
    pub role_offered: bool,
}

pub struct InviteRow {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub expires: String,
    pub expired: bool,
}

pub struct RoleChoice {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

#[derive(Template)]
#[template(path = "settings/members.html")]
struct MembersPage {
    ctx: PageCtx,
    slug: String,
    can_write: bool,
    members: Vec<MemberRow>,
    invites: Vec<InviteRow>,
    roles: Vec<RoleChoice>,
    invite_email: String,
    invite_role: String,
    errors: FieldErrors,
    /// The member or invitation whose removal is being confirmed.
    confirming: Option<Confirming>,
    max_at_once: usize,
}

/// What `?remove=ID` or `?revoke=ID` asks to confirm.
#[derive(Debug, Default, Deserialize)]
pub struct MembersQuery {
    #[serde(default)]
    remove: Option<i64>,
    #[serde(default)]
    revoke: Option<i64>,
}

/// A removal to confirm: the row, the button's action, and who it is about.
pub struct Confirming {
    pub id: i64,
    pub action: &'static str,
    pub who: String,
}

impl MembersPage {
    fn is_target(&self, id: &i64) -> bool {
        self.confirming.as_ref().is_some_and(|c| c.id == *id)
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_page(
    state: &AppState,
    session: &Session,
    access: &OrgAccess,
    invite_email: String,
    invite_role: String,
    errors: FieldErrors,
    query: MembersQuery,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let org_id = access.org.id;
    let views: Vec<MemberView> = state.db(move |conn| members::list(conn, org_id)).await?;
    let now = query::now();
    let (pending, joined): (Vec<_>, Vec<_>) = views.into_iter().partition(MemberView::is_pending);
    let offered = members::assignable_roles(access.role);
    let can_write = access.role.can_write() && !access.org.is_pending_deletion();
    // only a row on the page, and one the user may remove, is asked about
    let confirming = match (query.remove, query.revoke) {
        (Some(id), _) => joined
            .iter()
            .find(|v| v.member.id == id && offered.contains(&v.member.role()))
            .map(|v| Confirming {
                id,
                action: "remove",
                who: v.username.clone().unwrap_or_default(),
            }),
        (None, Some(id)) => pending
            .iter()
            .find(|v| v.member.id == id)
            .map(|v| Confirming {
                id,
                action: "revoke",
                who: v.email().to_owned(),
            }),
        (None, None) => None,
    }
    .filter(|_| can_write);
    let page = MembersPage {
        confirming,
        max_at_once: members::MAX_INVITES_AT_ONCE,
        ctx: PageCtx::for_org(session, access, Section::Members)?,
        slug: access.org.slug.clone(),
        can_write,
        members: joined
            .into_iter()
            .map(|v| MemberRow {
                id: v.member.id,
                name: v.username.clone().unwrap_or_default(),
                email: v.email().to_owned(),
                role: v.member.role(),
                email_verified: v.email_verified,
                two_factor: v.two_factor,
                is_you: v.member.user_id == Some(access.user.id),
                role_offered: offered.contains(&v.member.role()),
            })
            .collect(),
        invites: pending
            .into_iter()
            .map(|v| InviteRow {
                id: v.member.id,
                email: v.email().to_owned(),
                role: v.member.role(),
                expires: v
                    .member
                    .token_expires_at
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                expired: v.expired(now),
            })
            .collect(),
        roles: members::assignable_roles(access.role)
            .into_iter()
            .map(|r| RoleChoice {
                id: r.id(),
                name: r.name(),
                description: r.description(),
            })
            .collect(),
        invite_email,
        invite_role,
        errors,
    };
    render(status, &page)
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    access: OrgAccess,
    query: web::Query<MembersQuery>,
) -> Result<HttpResponse, AppError> {
    render_page(
        &state,
        &session,
        &access,
        String::new(),
        "member".into(),
        FieldErrors::new(),
        query.into_inner(),
        StatusCode::OK,
    )
    .await
}

/// What the Members page's forms ask for (`action`, with the fields each needs).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum MemberAction {
    Invite {
        #[serde(default)]
        email: String,
        #[serde(default)]
        role: String,
    },
    Resend {
        #[serde(deserialize_with = "crate::web::form::id")]
        member: i64,
    },
    Revoke {
        #[serde(deserialize_with = "crate::web::form::id")]
        member: i64,
    },
    Role {
        #[serde(deserialize_with = "crate::web::form::id")]
        member: i64,
        #[serde(default)]
        role: String,
    },
    Remove {
        #[serde(deserialize_with = "crate::web::form::id")]
        member: i64,
    },
}

pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    access: OrgAccess,
    form: web::Form<MemberAction>,
) -> Result<HttpResponse, AppError> {
    access.require_write()?;
    let action = form.into_inner();
    let here = format!("/settings/{}/members/", access.org.slug);
    let (typed_email, typed_role) = match &action {
        MemberAction::Invite { email, role } => (email.clone(), role.clone()),
        _ => (String::new(), String::new()),
    };
    let actor = access.actor_of(&req);
    let (org, actor_role) = (access.org.clone(), access.role);
    let config = state.config.clone();
    let inviting = matches!(action, MemberAction::Invite { .. });
    let result = state
        .db(move |conn| match action {
            MemberAction::Invite { email, role } => {
                let role = Role::parse(&role).map_err(|message| {
                    DomainError::Invalid(FieldErrors::single("role", message))
                })?;
                members::invite_many(conn, &config, &org, &actor, actor_role, &email, role).map(
                    |invited| {
                        let addresses: Vec<String> =
                            invited.into_iter().filter_map(|m| m.email).collect();
                        match addresses.as_slice() {
                            [one] => format!("Invitation sent to {one}."),
                            many => {
                                format!("{} invitations sent: {}.", many.len(), many.join(", "))
                            }
                        }
                    },
                )
            }
            MemberAction::Resend { member } => members::resend(conn, &config, &org, &actor, member)
                .map(|m| {
                    format!(
                        "Invitation sent again to {}; it is valid for 30 days.",
                        m.email.unwrap_or_default()
                    )
                }),
            MemberAction::Revoke { member } => {
                members::remove(conn, &org, &actor, actor_role, member)
                    .map(|email| format!("Invitation to {email} revoked."))
            }
            MemberAction::Role { member, role } => {
                let role = Role::parse(&role).map_err(DomainError::Refused)?;
                members::change_role(conn, &org, &actor, actor_role, member, role)
                    .map(|_| format!("Role changed to {}.", role.name()))
            }
            MemberAction::Remove { member } => {
                members::remove(conn, &org, &actor, actor_role, member)
                    .map(|email| format!("{email} removed from {}.", org.name))
            }
        })
        .await;
    match result {
        Ok(message) => {
            session::flash(&session, FlashLevel::Success, message)?;
            Ok(see_other(&here))
        }
        Err(DomainError::Invalid(errors)) => {
            render_page(
                &state,
                &session,
                &access,
                typed_email,
                typed_role,
                errors,
                MembersQuery::default(),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(DomainError::RateLimited(message)) if inviting => {
            render_page(
                &state,
                &session,
                &access,
                typed_email,
                typed_role,
                FieldErrors::single("email", message),
                MembersQuery::default(),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await
        }
        Err(DomainError::Refused(message) | DomainError::RateLimited(message)) => {
            session::flash(&session, FlashLevel::Error, message)?;
            Ok(see_other(&here))
        }
        Err(other) => Err(other.into()),
    }
}
