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
use crate::members::{self, MemberFilter, MemberSort, MemberView};
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
    /// The search typed into the search box.
    search: String,
    /// Links to the pages around the members' and the invitations' pages.
    members_nav: PageNav,
    invites_nav: PageNav,
}

/// How many members (and how many invitations) a page shows.
pub const PAGE_SIZE: i64 = 100;

/// Where a list's page is, and the links to the pages beside it.
#[derive(Debug, Default)]
pub struct PageNav {
    /// The first row shown, counted from 1 (0 when the page is empty).
    pub first: i64,
    pub last: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// What `?remove=ID` or `?revoke=ID` asks to confirm; `query` (Sentry's member search), and the
/// page of members (`page`) and of invitations (`ipage`), counted from 0.
#[derive(Debug, Default, Deserialize)]
pub struct MembersQuery {
    #[serde(default)]
    remove: Option<i64>,
    #[serde(default)]
    revoke: Option<i64>,
    #[serde(default)]
    query: String,
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    ipage: Option<String>,
}

/// A page number from the query string: a bad or negative one is the first page.
fn page_number(raw: &Option<String>) -> i64 {
    raw.as_deref()
        .and_then(|p| p.trim().parse::<i64>().ok())
        .unwrap_or(0)
        .clamp(0, i64::MAX / PAGE_SIZE - 1)
}

/// The page's own address with a search and two page numbers (the first pages left out).
fn members_url(slug: &str, search: &str, page: i64, ipage: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !search.is_empty() {
        query.append_pair("query", search);
    }
    if page > 0 {
        query.append_pair("page", &page.to_string());
    }
    if ipage > 0 {
        query.append_pair("ipage", &ipage.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        format!("/settings/{slug}/members/")
    } else {
        format!("/settings/{slug}/members/?{query}")
    }
}

/// One page of members or invitations (`invited`) matching `filter`, and whether more follow.
fn page_of(
    conn: &mut crate::db::AnyConnection,
    org_id: i64,
    filter: &MemberFilter,
    invited: bool,
    page: i64,
) -> diesel::QueryResult<(Vec<MemberView>, bool)> {
    // a search for the other kind finds none of this one
    if filter.invited == Some(!invited) {
        return Ok((Vec::new(), false));
    }
    let filter = MemberFilter {
        invited: Some(invited),
        sort: MemberSort::RoleThenAddress,
        ..filter.clone()
    };
    let mut rows = members::search(conn, org_id, &filter, page * PAGE_SIZE, PAGE_SIZE + 1)?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    Ok((rows, more))
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
    let (page, ipage) = (page_number(&query.page), page_number(&query.ipage));
    let search = query.query.trim().to_owned();
    let filter = MemberFilter::parse(&search);
    // the row a confirmation is about, wherever its page is
    let target = match (query.remove, query.revoke) {
        (Some(id), _) => Some((id, false)),
        (None, Some(id)) => Some((id, true)),
        (None, None) => None,
    };
    let (joined, pending, target) = state
        .db(move |conn| {
            let joined = page_of(conn, org_id, &filter, false, page)?;
            let pending = page_of(conn, org_id, &filter, true, ipage)?;
            let target = match target {
                Some((id, invited)) => members::search(
                    conn,
                    org_id,
                    &MemberFilter {
                        ids: vec![id],
                        invited: Some(invited),
                        ..MemberFilter::default()
                    },
                    0,
                    1,
                )?
                .pop(),
                None => None,
            };
            Ok::<_, diesel::result::Error>((joined, pending, target))
        })
        .await?;
    let ((joined, more_joined), (pending, more_pending)) = (joined, pending);
    let now = query::now();
    let offered = members::assignable_roles(access.role);
    let can_write = access.role.can_write() && !access.org.is_pending_deletion();
    let slug = access.org.slug.clone();
    let nav = |shown: usize, number: i64, more: bool, link: &dyn Fn(i64) -> String| PageNav {
        first: if shown == 0 {
            0
        } else {
            number * PAGE_SIZE + 1
        },
        last: number * PAGE_SIZE + shown as i64,
        previous: (number > 0).then(|| link(number - 1)),
        next: more.then(|| link(number + 1)),
    };
    let members_nav = nav(joined.len(), page, more_joined, &|p| {
        members_url(&slug, &search, p, ipage)
    });
    let invites_nav = nav(pending.len(), ipage, more_pending, &|p| {
        members_url(&slug, &search, page, p)
    });
    // only a row the user may remove is asked about
    let confirming = target
        .and_then(|v| {
            if v.is_pending() {
                Some(Confirming {
                    id: v.member.id,
                    action: "revoke",
                    who: v.email().to_owned(),
                })
            } else if offered.contains(&v.member.role()) {
                Some(Confirming {
                    id: v.member.id,
                    action: "remove",
                    who: v.username.clone().unwrap_or_default(),
                })
            } else {
                None
            }
        })
        .filter(|_| can_write);
    let page = MembersPage {
        confirming,
        max_at_once: members::MAX_INVITES_AT_ONCE,
        search,
        members_nav,
        invites_nav,
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
        .write(move |conn| match action {
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
