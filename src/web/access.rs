//! `OrgAccess`: the organization named in the path, as the logged-in user may see it. Every
//! organization page and API endpoint takes it (`api::ApiAccess` wraps it), so every lookup is scoped
//! by the path's organization and the caller's role in it; an organization the user does not belong
//! to is a 404, never its data. A slug the organization was renamed from answers 301 to the new URL.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::error::AppError;
use super::session::session_user;
use crate::app::AppState;
use crate::models::member::Member;
use crate::models::organization::{Actor, Organization};
use crate::models::role::Role;
use crate::models::user::User;

#[derive(Debug, Clone)]
pub struct OrgAccess {
    pub user: User,
    pub org: Organization,
    pub role: Role,
}

/// Why a request gets no access to the organization in its path.
pub enum Denied {
    NotLoggedIn,
    NotFound,
    /// The organization was renamed: the same URL with its new slug.
    Moved(String),
}

impl OrgAccess {
    /// The user acting on this organization, from the request's client address.
    pub fn actor(&self, req: &HttpRequest) -> Actor {
        Actor::user(&self.user, super::client_ip(req))
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

    /// Finds the user, the organization named by the `org` path segment, and the user's role in it.
    pub async fn resolve(req: &HttpRequest) -> Result<Result<OrgAccess, Denied>, AppError> {
        let Some(user) = session_user(req).await? else {
            return Ok(Err(Denied::NotLoggedIn));
        };
        let slug = req.match_info().get("org").unwrap_or_default().to_owned();
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState is not registered")))?
            .clone();
        let user_id = user.id;
        let lookup = slug.clone();
        let found = state
            .db(move |conn| -> Result<_, AppError> {
                let Some(org) = Organization::find_by_slug(conn, &lookup)? else {
                    return Ok(Err(Organization::renamed_from(conn, &lookup)?));
                };
                let member = Member::find(conn, org.id, user_id)?;
                Ok(Ok(member.map(|m| (org, m.role()))))
            })
            .await?;
        Ok(match found {
            Ok(Some((org, role))) => Ok(OrgAccess { user, org, role }),
            Ok(None) | Err(None) => Err(Denied::NotFound),
            Err(Some(new_slug)) => Err(Denied::Moved(moved_url(req, &slug, &new_slug))),
        })
    }
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
            }
        })
    }
}
