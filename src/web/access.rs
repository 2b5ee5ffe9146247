//! `OrgAccess`: the organization named in the path, as the logged-in user may see it. Every
//! organization page and API endpoint takes it (`api::ApiAccess` wraps it), so every lookup is scoped
//! by the path's organization and the caller's role in it; an organization the user does not belong
//! to is a 404, never its data. A slug the organization was renamed from answers 301 to the new URL.

use std::future::Future;
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::error::AppError;
use super::session::{log_out, session_identity, valid_session_user};
use super::superuser;
use crate::models::actor::Actor;
use crate::models::avatar::OrgAvatar;
use crate::models::flags::Flag;
use crate::models::organization::Organization;
use crate::models::role::Role;
use crate::models::user::User;
use crate::settings::save::{SaveContext, Saved, save};
use crate::settings::update::OrganizationUpdate;
use crate::validation::SaveError;
use crate::web::state::AppState;

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

/// Why a request gets no access to the organization in its path.
pub enum Denied {
    NotLoggedIn,
    NotFound,
    /// The organization was renamed: the same URL with its new slug.
    Moved(String),
    /// The organization requires two-factor authentication, which the user has not set up.
    TwoFactorRequired(String),
}

impl OrgAccess {
    /// The user acting on this organization, from the request's client address.
    pub fn actor(&self, req: &HttpRequest) -> Actor {
        let mut actor = Actor::user(&self.user, super::client_ip(req));
        actor.is_staff = self.staff;
        actor
    }

    /// Runs the settings save flow as this user (off the async workers), then starts the requirement
    /// jobs the save recorded. The inner result is the save's own answer (field errors, refusal, conflict).
    pub async fn save(
        &self,
        state: &AppState,
        req: &HttpRequest,
        update: OrganizationUpdate,
    ) -> Result<Result<Saved, SaveError>, AppError> {
        let actor = self.actor(req);
        let (org_id, user) = (self.org.id, self.user.clone());
        let features = state.config.features.clone();
        let saved = state
            .db(move |conn| {
                let ctx = SaveContext {
                    actor: &actor,
                    user: Some(&user),
                    features: &features,
                };
                Ok::<_, AppError>(save(conn, org_id, &update, &ctx))
            })
            .await?;
        if let Ok(saved) = &saved {
            crate::jobs::start_requirement_jobs(
                state.pool.clone(),
                state.config.clone(),
                saved.jobs.clone(),
            );
        }
        Ok(saved)
    }

    /// Refuses (403) unless the role may change settings (`org:write`).
    pub fn require_write(&self) -> Result<(), AppError> {
        if self.role.can_write() {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "Your role in {} ({}) can view these settings but not change them. Ask an owner or \
                 manager.",
                self.org.name,
                self.role.name()
            )))
        }
    }

    /// Finds the user, the organization named by the `org` path segment, and the user's role in it,
    /// with one database round trip.
    pub async fn resolve(req: &HttpRequest) -> Result<Result<OrgAccess, Denied>, AppError> {
        let session = req.get_session();
        let Some(identity) = session_identity(&session) else {
            return Ok(Err(Denied::NotLoggedIn));
        };
        let slug = req.match_info().get("org").unwrap_or_default().to_owned();
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState is not registered")))?
            .clone();
        let lookup = slug.clone();
        let granted = superuser::granted_user(&session);
        let found = state
            .db(move |conn| -> Result<_, AppError> {
                let Some(user) = valid_session_user(conn, identity)? else {
                    return Ok(Lookup::NoUser);
                };
                // an active superuser mode gives owner powers in every organization
                let superuser = user.is_superuser && granted == Some(user.id);
                let member = Organization::find_for_member(conn, &lookup, user.id)?;
                let (org, role, avatar, staff) = match member {
                    Some((org, role, avatar)) if superuser && role != Role::Owner => {
                        (org, Role::Owner, avatar, true)
                    }
                    Some((org, role, avatar)) => (org, role, avatar, false),
                    None => {
                        match Organization::find_by_slug(conn, &lookup)?.filter(|_| superuser) {
                            Some(org) => {
                                let avatar = OrgAvatar::find_for_org(conn, org.id)?;
                                (org, Role::Owner, avatar, true)
                            }
                            // a slug that is not one of the user's organizations may be one renamed since
                            None => {
                                return Ok(
                                    match Organization::renamed_from(conn, &lookup, user.id)? {
                                        Some(new_slug) => Lookup::Renamed(new_slug),
                                        None => Lookup::Missing,
                                    },
                                );
                            }
                        }
                    }
                };
                // reference §1: members without 2FA get 401 while the organization requires it
                if org.flags.get(Flag::Require2fa) && !staff && !user.has_two_factor(conn)? {
                    return Ok(Lookup::TwoFactorRequired(org.name));
                }
                Ok(Lookup::Found(Box::new(OrgAccess {
                    role,
                    user,
                    org,
                    avatar,
                    staff,
                })))
            })
            .await?;
        Ok(match found {
            Lookup::Found(access) => {
                if access.staff {
                    superuser::use_powers(&session, &access.user)?;
                }
                Ok(*access)
            }
            Lookup::NoUser => {
                log_out(&session);
                Err(Denied::NotLoggedIn)
            }
            Lookup::Missing => Err(Denied::NotFound),
            Lookup::TwoFactorRequired(name) => Err(Denied::TwoFactorRequired(name)),
            Lookup::Renamed(new_slug) => Err(Denied::Moved(moved_url(req, &slug, &new_slug))),
        })
    }
}

enum Lookup {
    Found(Box<OrgAccess>),
    NoUser,
    Missing,
    Renamed(String),
    TwoFactorRequired(String),
}

/// The request's URL with the old slug's path segment replaced by the new slug.
fn moved_url(req: &HttpRequest, old: &str, new: &str) -> String {
    let path = req
        .path()
        .replacen(&format!("/{old}/"), &format!("/{new}/"), 1);
    match req.query_string() {
        "" => path,
        query => format!("{path}?{query}"),
    }
}

impl FromRequest for OrgAccess {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match OrgAccess::resolve(&req).await? {
                Ok(access) => Ok(access),
                Err(Denied::NotLoggedIn) => Err(AppError::LoginRequired {
                    next: super::session::request_path(&req),
                }),
                Err(Denied::NotFound) => Err(AppError::NotFound),
                Err(Denied::Moved(location)) => Err(AppError::MovedPermanently(location)),
                Err(Denied::TwoFactorRequired(name)) => Err(AppError::TwoFactorRequired(name)),
            }
        })
    }
}
