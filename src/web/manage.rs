//! `/manage/`: the superuser pages. Superuser mode must be on (an expired mode sends the browser back
//! to `/superuser/`, keeping the page it wanted); managing users also needs the `users.admin`
//! permission. Everyone else gets 403.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use askama::Template;
use serde::Deserialize;

use super::audit_log::relative_time as relative;
use super::error::AppError;
use super::page::{PageCtx, render};
use super::respond::client_ip;
use super::respond::see_other;
use super::session::{self, CurrentUser, FlashLevel};
use super::superuser_mode::{self, Mode};
use super::urls::encode_query;
use super::urls::request_path;
use crate::accounts::{self, PermissionChange};
use crate::errors::{DomainError, FieldErrors};
use crate::models::actor::Actor;
use crate::models::instance_audit::InstanceAuditEntry;
use crate::models::organization::OrgWithRole;
use crate::models::permission::{self, OPTIONS_ADMIN, USERS_ADMIN};
use crate::models::user::{NewUser, SignUp, User};
use crate::recovery;
use crate::web::state::AppState;

pub const PAGE_SIZE: i64 = 50;
/// Pages past this are not served (a `?page=` near `i64::MAX` must not overflow the offset).
pub const MAX_PAGE: i64 = 1_000_000;

/// The page asked for, between 1 and [`MAX_PAGE`], and its row offset.
fn page_and_offset(page: Option<i64>) -> (i64, i64) {
    let page = page.unwrap_or(1).clamp(1, MAX_PAGE);
    (page, (page - 1) * PAGE_SIZE)
}

/// A superuser with superuser mode on, and their permissions.
pub struct Staff {
    pub user: User,
    pub permissions: Vec<String>,
}

impl Staff {
    pub fn require(&self, permission: &str) -> Result<(), AppError> {
        if self.permissions.iter().any(|p| p == permission) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "This page needs the {permission} permission. A superuser can grant it with \
                 `orgsettings permissions add -u {} -p {permission}`.",
                self.user.username
            )))
        }
    }

    fn actor(&self, req: &HttpRequest) -> Actor {
        let mut actor = Actor::user(&self.user, client_ip(req));
        actor.is_staff = true;
        actor
    }
}

impl FromRequest for Staff {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let user = CurrentUser::from_request(&req, payload);
        Box::pin(async move {
            let CurrentUser(user) = user.await?;
            if !user.is_superuser {
                return Err(AppError::forbidden("The manage pages are for superusers."));
            }
            match superuser_mode::use_powers(&req.get_session(), &user)? {
                Mode::Active { .. } => {}
                Mode::Expired => {
                    let next = encode_query(&request_path(&req));
                    return Err(AppError::Redirect(format!(
                        "/superuser/?next={next}&expired=1"
                    )));
                }
                Mode::Off => {
                    return Err(AppError::SuperuserModeRequired {
                        next: request_path(&req),
                        for_org: false,
                    });
                }
            }
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState is not registered")))?
                .clone();
            let user_id = user.id;
            let permissions = state
                .db(move |conn| permission::list(conn, user_id))
                .await?;
            Ok(Staff { user, permissions })
        })
    }
}

pub struct ActivityRow {
    pub actor: String,
    pub sentence: String,
    pub ip: String,
    pub when: String,
    pub exact: String,
}

fn activity(entries: Vec<InstanceAuditEntry>) -> Vec<ActivityRow> {
    let now = crate::db::query::now();
    entries
        .into_iter()
        .map(|entry| ActivityRow {
            sentence: entry.sentence(),
            actor: entry.actor_label,
            ip: entry.ip_address.unwrap_or_default(),
            when: relative(entry.datetime, now),
            exact: entry.datetime.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "manage/index.html")]
struct IndexPage {
    ctx: PageCtx,
    can_manage_users: bool,
    can_read_outbox: bool,
    users: i64,
    organizations: Vec<OrgWithRole>,
    activity: Vec<ActivityRow>,
}

pub async fn index(
    state: web::Data<AppState>,
    session: Session,
    staff: Staff,
) -> Result<HttpResponse, AppError> {
    let user_id = staff.user.id;
    let accounts::Overview {
        users,
        organizations,
        activity: entries,
    } = state
        .db(move |conn| accounts::overview(conn, user_id))
        .await?;
    let page = IndexPage {
        ctx: PageCtx::new(&session, Some(&staff.user))?,
        can_manage_users: staff.permissions.iter().any(|p| p == USERS_ADMIN),
        can_read_outbox: staff.permissions.iter().any(|p| p == OPTIONS_ADMIN),
        users,
        organizations,
        activity: activity(entries),
    };
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub is_active: bool,
    pub is_superuser: bool,
}

#[derive(Template)]
#[template(path = "manage/users.html")]
struct UsersPage {
    ctx: PageCtx,
    q: String,
    q_encoded: String,
    users: Vec<UserRow>,
    total: i64,
    page: i64,
    pages: i64,
}

pub async fn users(
    state: web::Data<AppState>,
    session: Session,
    staff: Staff,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(USERS_ADMIN)?;
    let q = query.q.trim().to_owned();
    let (page, offset) = page_and_offset(query.page);
    let search = q.clone();
    let (users, total) = state
        .db(move |conn| User::search(conn, &search, offset, PAGE_SIZE))
        .await?;
    let view = UsersPage {
        ctx: PageCtx::new(&session, Some(&staff.user))?,
        q_encoded: encode_query(&q),
        q,
        users: users
            .into_iter()
            .map(|u| UserRow {
                id: u.id,
                username: u.username,
                email: u.email,
                is_active: u.is_active,
                is_superuser: u.is_superuser,
            })
            .collect(),
        total,
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
    };
    render(StatusCode::OK, &view)
}

pub struct MembershipRow {
    pub slug: String,
    pub name: String,
    pub role: &'static str,
}

#[derive(Template)]
#[template(path = "manage/user.html")]
struct UserPage {
    ctx: PageCtx,
    target: User,
    email_verified: bool,
    two_factor: bool,
    memberships: Vec<MembershipRow>,
    permissions: Vec<String>,
    grantable: Vec<&'static str>,
    activity: Vec<ActivityRow>,
    is_self: bool,
    confirming: Option<ConfirmView>,
}

pub async fn user(
    state: web::Data<AppState>,
    session: Session,
    staff: Staff,
    id: web::Path<i64>,
    query: web::Query<UserQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(USERS_ADMIN)?;
    let id = id.into_inner();
    let accounts::UserDetails {
        user: target,
        email_verified,
        two_factor,
        memberships: orgs,
        permissions,
        activity: entries,
    } = state
        .db(move |conn| accounts::user_details(conn, id))
        .await?
        .ok_or(AppError::NotFound)?;
    let grantable = permission::KNOWN
        .iter()
        .copied()
        .filter(|p| !permissions.iter().any(|held| held == p))
        .collect();
    let confirming = query.confirm.and_then(|action| {
        let (title, text, button, danger) = action.confirmation(&target)?;
        Some(ConfirmView {
            action: action.value(),
            title,
            text,
            button,
            danger,
        })
    });
    let page = UserPage {
        ctx: PageCtx::new(&session, Some(&staff.user))?,
        confirming,
        is_self: target.id == staff.user.id,
        email_verified,
        two_factor,
        memberships: orgs
            .into_iter()
            .map(|item| MembershipRow {
                slug: item.org.slug,
                name: item.org.name,
                role: item.role.map_or("", |r| r.name()),
            })
            .collect(),
        permissions,
        grantable,
        activity: activity(entries),
        target,
    };
    render(StatusCode::OK, &page)
}

/// What the buttons of a user's page ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserAction {
    Activate,
    Deactivate,
    GrantSuperuser,
    RevokeSuperuser,
    #[serde(rename = "reset-2fa")]
    ResetTwoFactor,
    /// Email the user a link to set a new password.
    SendResetLink,
}

impl UserAction {
    /// The value the form sends.
    fn value(self) -> &'static str {
        match self {
            UserAction::Activate => "activate",
            UserAction::Deactivate => "deactivate",
            UserAction::GrantSuperuser => "grant-superuser",
            UserAction::RevokeSuperuser => "revoke-superuser",
            UserAction::ResetTwoFactor => "reset-2fa",
            UserAction::SendResetLink => "send-reset-link",
        }
    }

    /// What the confirmation before a consequential action says: title, text, button, and whether
    /// it is destructive. `None`: the action needs no confirmation.
    fn confirmation(self, target: &User) -> Option<(String, String, &'static str, bool)> {
        let name = &target.username;
        match self {
            UserAction::Deactivate => Some((
                format!("Deactivate {name}?"),
                format!(
                    "{name} can no longer log in, and every session of theirs ends now. You can activate the account again later."
                ),
                "Deactivate",
                true,
            )),
            UserAction::GrantSuperuser => Some((
                format!("Make {name} a superuser?"),
                format!(
                    "In superuser mode, {name} can open and change every organization's settings and, with permissions, manage users. Their sessions end now; they log in again."
                ),
                "Make superuser",
                false,
            )),
            UserAction::RevokeSuperuser => Some((
                format!("Revoke the superuser status of {name}?"),
                format!(
                    "{name} loses superuser mode and every permission's use; their sessions end now."
                ),
                "Revoke superuser status",
                true,
            )),
            UserAction::ResetTwoFactor => Some((
                format!("Reset the two-factor authentication of {name}?"),
                format!(
                    "Their authenticator and recovery codes stop working. Organizations that require two-factor authentication will move {name} to a pending invitation until they set it up again."
                ),
                "Reset two-factor authentication",
                true,
            )),
            UserAction::Activate | UserAction::SendResetLink => None,
        }
    }
}

/// The form of a user's page: `action`.
#[derive(Debug, Deserialize)]
pub struct UserActionForm {
    action: UserAction,
}

/// `?confirm=ACTION` on a user's page: the action to confirm first.
#[derive(Debug, Default, Deserialize)]
pub struct UserQuery {
    confirm: Option<UserAction>,
}

/// The confirmation shown above a user's page.
pub struct ConfirmView {
    /// The `action` its button sends.
    pub action: &'static str,
    pub title: String,
    pub text: String,
    pub button: &'static str,
    pub danger: bool,
}

/// What the permission buttons ask for (`action` and `permission`).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum PermissionAction {
    Add {
        #[serde(default)]
        permission: String,
    },
    Remove {
        #[serde(default)]
        permission: String,
    },
}

/// After a change to the acting user's own account ended their sessions, keeps this one (renewed).
fn keep_own_session(session: &Session, staff: &Staff, changed: &User) -> Result<(), AppError> {
    if changed.id == staff.user.id && changed.is_active {
        session::log_in(session, changed)?;
    }
    Ok(())
}

/// `POST /manage/users/{id}/`: activate, deactivate, grant or revoke superuser, reset 2FA.
pub async fn user_action(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    staff: Staff,
    id: web::Path<i64>,
    form: web::Form<UserActionForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(USERS_ADMIN)?;
    let id = id.into_inner();
    let action = form.into_inner().action;
    let actor = staff.actor(&req);
    let config = state.config.clone();
    let result = state
        .db(move |conn| match action {
            UserAction::Activate => {
                accounts::set_active(conn, &actor, id, true).map(|u| (u, "activated"))
            }
            UserAction::Deactivate => {
                accounts::set_active(conn, &actor, id, false).map(|u| (u, "deactivated"))
            }
            UserAction::GrantSuperuser => {
                accounts::set_superuser(conn, &actor, id, true).map(|u| (u, "is now a superuser"))
            }
            UserAction::RevokeSuperuser => accounts::set_superuser(conn, &actor, id, false)
                .map(|u| (u, "is no longer a superuser")),
            UserAction::ResetTwoFactor => {
                accounts::reset_two_factor(conn, &actor, id).map(|(user, reset)| {
                    let what = if reset {
                        "must set up two-factor authentication again"
                    } else {
                        "had no two-factor authentication to reset"
                    };
                    (user, what)
                })
            }
            UserAction::SendResetLink => recovery::send_by_superuser(conn, &config, &actor, id)
                .map(|user| (user, "was sent a link to set a new password")),
        })
        .await;
    match result {
        Ok((user, what)) => {
            keep_own_session(&session, &staff, &user)?;
            session::flash(
                &session,
                FlashLevel::Success,
                format!("{} {what}.", user.username),
            )?;
        }
        Err(DomainError::Refused(message)) => session::flash(&session, FlashLevel::Error, message)?,
        Err(other) => return Err(other.into()),
    }
    Ok(see_other(&format!("/manage/users/{id}/")))
}

/// `POST /manage/users/{id}/permissions/`: add or remove a known permission of a superuser.
pub async fn permissions(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    staff: Staff,
    id: web::Path<i64>,
    form: web::Form<PermissionAction>,
) -> Result<HttpResponse, AppError> {
    staff.require(USERS_ADMIN)?;
    let id = id.into_inner();
    let (add, permission) = match form.into_inner() {
        PermissionAction::Add { permission } => (true, permission),
        PermissionAction::Remove { permission } => (false, permission),
    };
    let actor = staff.actor(&req);
    let name = permission.clone();
    let result = state
        .db(move |conn| accounts::change_permission_of(conn, &actor, id, &name, add))
        .await;
    match result {
        Ok((user, PermissionChange::Done)) => {
            keep_own_session(&session, &staff, &user)?;
            let message = if add {
                format!("Added permission {permission} to {}.", user.username)
            } else {
                format!("Removed permission {permission} from {}.", user.username)
            };
            session::flash(&session, FlashLevel::Success, message)?;
        }
        Ok((user, PermissionChange::Unchanged)) => {
            let message = if add {
                format!(
                    "{} already has the permission {permission}; nothing changed.",
                    user.username
                )
            } else {
                format!(
                    "{} does not have the permission {permission}; nothing changed.",
                    user.username
                )
            };
            session::flash(&session, FlashLevel::Info, message)?;
        }
        Err(DomainError::Refused(message)) => session::flash(&session, FlashLevel::Error, message)?,
        Err(other) => return Err(other.into()),
    }
    Ok(see_other(&format!("/manage/users/{id}/")))
}

#[derive(Debug, Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    superuser: Option<String>,
    #[serde(default)]
    email_verified: Option<String>,
}

#[derive(Template)]
#[template(path = "manage/new_user.html")]
struct NewUserPage {
    ctx: PageCtx,
    form: NewUserForm,
    errors: FieldErrors,
}

pub async fn new_user_page(session: Session, staff: Staff) -> Result<HttpResponse, AppError> {
    staff.require(USERS_ADMIN)?;
    let page = NewUserPage {
        ctx: PageCtx::new(&session, Some(&staff.user))?,
        form: NewUserForm::default(),
        errors: FieldErrors::new(),
    };
    render(StatusCode::OK, &page)
}

pub async fn create_user(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    staff: Staff,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(USERS_ADMIN)?;
    let mut form = form.into_inner();
    let mut errors = FieldErrors::new();
    let sign_up = SignUp {
        username: &form.username,
        email: &form.email,
        password: &form.password,
        password_confirm: None,
    };
    if let Some(new_user) = NewUser::parse(sign_up, &mut errors) {
        let new_user = NewUser {
            is_superuser: form.superuser.is_some(),
            email_verified: form.email_verified.is_some(),
            ..new_user
        };
        let actor = staff.actor(&req);
        let created = state
            .db(move |conn| accounts::create_user(conn, &actor, &new_user))
            .await;
        match created {
            Ok(user) => {
                session::flash(
                    &session,
                    FlashLevel::Success,
                    format!("User {} created.", user.username),
                )?;
                return Ok(see_other(&format!("/manage/users/{}/", user.id)));
            }
            Err(DomainError::Invalid(more)) => {
                for (field, messages) in more.fields() {
                    for message in messages {
                        errors.add(field, message.clone());
                    }
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
    form.password.clear();
    let page = NewUserPage {
        ctx: PageCtx::new(&session, Some(&staff.user))?,
        form,
        errors,
    };
    render(StatusCode::BAD_REQUEST, &page)
}

#[derive(Debug, Deserialize)]
pub struct OutboxQuery {
    page: Option<i64>,
    #[serde(default)]
    unsent: String,
}

pub struct EmailRow {
    pub to: String,
    pub subject: String,
    pub kind: String,
    pub created: String,
    pub state: String,
    pub sent: bool,
    pub body: String,
}

#[derive(Template)]
#[template(path = "manage/outbox.html")]
struct OutboxPage {
    ctx: PageCtx,
    emails: Vec<EmailRow>,
    total: i64,
    page: i64,
    pages: i64,
    unsent: bool,
    smtp: bool,
}

/// `GET /manage/outbox/`: every email orgsettings wrote, newest first, with its delivery state. It
/// holds live links (invitations, verifications), so it needs `options.admin` (mail is an instance
/// option in Sentry), as managing users needs `users.admin`.
pub async fn outbox(
    state: web::Data<AppState>,
    session: Session,
    staff: Staff,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(OPTIONS_ADMIN)?;
    let (page, offset) = page_and_offset(query.page);
    let unsent = query.unsent == "1";
    let (emails, total) = state
        .db(move |conn| crate::models::email::list(conn, unsent, offset, PAGE_SIZE))
        .await?;
    let view = OutboxPage {
        ctx: PageCtx::new(&session, Some(&staff.user))?,
        emails: emails
            .into_iter()
            .map(|e| EmailRow {
                sent: e.sent_at.is_some(),
                state: match (e.sent_at, &e.last_error) {
                    (Some(at), _) => format!("sent {}", at.format("%Y-%m-%d %H:%M UTC")),
                    (None, Some(error)) => {
                        format!("not sent after {} attempt(s): {error}", e.attempts)
                    }
                    (None, None) => "not sent".into(),
                },
                to: e.to_address,
                subject: e.subject,
                kind: e.kind,
                created: e.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                body: e.body_text,
            })
            .collect(),
        total,
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        unsent,
        smtp: state.config.mail.smtp_url.is_some(),
    };
    render(StatusCode::OK, &view)
}
