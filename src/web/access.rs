//! The `OrgAccess` extractor: the organization named in the path, as the logged-in user may see it
//! (`crate::access` decides). Every organization page and API endpoint takes it (`api::ApiAccess`
//! wraps it), so every lookup is scoped by the path's organization and the caller's role in it; an
//! organization the user does not belong to is a 404, never its data. A slug the organization was
//! renamed from answers 301 to the new URL.

use std::future::Future;
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::error::AppError;
use super::respond::client_ip;
use super::session::{log_out, session_identity};
use super::superuser_mode;
use super::urls::request_path;
pub use crate::access::OrgAccess;
use crate::access::{self, Lookup};
use crate::errors::DomainError;
use crate::models::actor::Actor;
use crate::settings::save::{SaveContext, Saved, save_and_start_jobs};
use crate::settings::update::OrganizationUpdate;
use crate::web::state::AppState;

/// Why a request gets no access to the organization in its path.
pub enum Denied {
    NotLoggedIn,
    NotFound,
    /// The organization was renamed: the same URL with its new slug.
    Moved(String),
    /// The organization requires two-factor authentication, which the user has not set up.
    TwoFactorRequired(String),
    /// A superuser with superuser mode off, who is not a member.
    SuperuserModeOff,
    /// The lookup itself failed (the database, the session).
    Failed(AppError),
}

impl From<AppError> for Denied {
    fn from(err: AppError) -> Self {
        Denied::Failed(err)
    }
}

impl From<diesel::result::Error> for Denied {
    fn from(err: diesel::result::Error) -> Self {
        Denied::Failed(err.into())
    }
}

impl OrgAccess {
    /// The user acting on this organization, from the request's client address.
    pub fn actor_of(&self, req: &HttpRequest) -> Actor {
        self.actor(client_ip(req))
    }

    /// Runs the settings save flow as this user and starts the requirement jobs it recorded, off the
    /// async workers. The answer is the save's own (field errors, refusal, conflict).
    pub async fn save(
        &self,
        state: &AppState,
        req: &HttpRequest,
        update: OrganizationUpdate,
    ) -> Result<Saved, DomainError> {
        let actor = self.actor_of(req);
        let (org_id, user, avatar) = (self.org.id, self.user.clone(), self.avatar.clone());
        let (features, jobs) = (state.config.features.clone(), state.jobs.clone());
        let kept = state.kept_options();
        state
            .save_of(org_id, move |conn| {
                let ctx = SaveContext {
                    actor: &actor,
                    user: Some(&user),
                    features: &features,
                    kept: &kept,
                    avatar: avatar.as_ref(),
                };
                save_and_start_jobs(conn, org_id, &update, &ctx, &jobs)
            })
            .await
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

    /// Resolves the organization of the `org` path segment for the session's user.
    pub async fn resolve(req: &HttpRequest) -> Result<OrgAccess, Denied> {
        let session = req.get_session();
        let Some(identity) = session_identity(&session) else {
            return Err(Denied::NotLoggedIn);
        };
        let slug = req.match_info().get("org").unwrap_or_default().to_owned();
        let state = app_state(req)?;
        let granted = superuser_mode::granted_user(&session);
        let lookup = slug.clone();
        let found = state
            .read(move |conn| access::resolve(conn, &lookup, identity, granted))
            .await?;
        conclude(req, &session, &slug, found)
    }
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState is not registered")))
}

/// What a lookup means for the request: the access, or why there is none.
fn conclude(
    req: &HttpRequest,
    session: &actix_session::Session,
    slug: &str,
    found: Lookup,
) -> Result<OrgAccess, Denied> {
    match found {
        Lookup::Found(access) => {
            if access.staff {
                superuser_mode::use_powers(session, &access.user)?;
            }
            Ok(*access)
        }
        Lookup::NoUser => {
            log_out(session);
            Err(Denied::NotLoggedIn)
        }
        Lookup::Missing => Err(Denied::NotFound),
        Lookup::TwoFactorRequired(name) => Err(Denied::TwoFactorRequired(name)),
        Lookup::SuperuserModeOff => Err(Denied::SuperuserModeOff),
        Lookup::Renamed(new_slug) => Err(Denied::Moved(moved_url(req, slug, &new_slug))),
    }
}

/// The request's URL with the old slug's path segment replaced by the new slug.
pub(crate) fn moved_url(req: &HttpRequest, old: &str, new: &str) -> String {
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
            match OrgAccess::resolve(&req).await {
                Ok(access) => Ok(access),
                Err(Denied::Failed(err)) => Err(err),
                Err(Denied::NotLoggedIn) => Err(AppError::LoginRequired {
                    next: request_path(&req),
                }),
                Err(Denied::NotFound) => Err(AppError::NotFound),
                Err(Denied::Moved(location)) => Err(AppError::MovedPermanently(location)),
                Err(Denied::TwoFactorRequired(name)) => Err(AppError::TwoFactorRequired(name)),
                Err(Denied::SuperuserModeOff) => Err(AppError::SuperuserModeRequired {
                    next: request_path(&req),
                    for_org: true,
                }),
            }
        })
    }
}
