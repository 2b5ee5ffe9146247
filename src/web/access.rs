//! `OrgAccess`: the organization named in the path, as the logged-in user may see it. Every
//! organization page takes it, so every lookup is scoped by the path's organization and the caller's
//! role in it; an organization the user does not belong to is a 404, never its data.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::error::AppError;
use super::session::CurrentUser;
use crate::app::AppState;
use crate::models::member::Member;
use crate::models::organization::Organization;
use crate::models::role::Role;
use crate::models::user::User;

#[derive(Debug, Clone)]
pub struct OrgAccess {
    pub user: User,
    pub org: Organization,
    pub role: Role,
}

impl OrgAccess {
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
}

impl FromRequest for OrgAccess {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let user = CurrentUser::from_request(&req, payload);
        Box::pin(async move {
            let CurrentUser(user) = user.await?;
            let slug = req.match_info().get("org").unwrap_or_default().to_owned();
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState is not registered")))?
                .clone();
            let user_id = user.id;
            let found = state
                .db(move |conn| -> Result<_, AppError> {
                    let Some(org) = Organization::find_by_slug(conn, &slug)? else {
                        return Ok(None);
                    };
                    let member = Member::find(conn, org.id, user_id)?;
                    Ok(member.map(|m| (org, m.role())))
                })
                .await?;
            match found {
                Some((org, role)) => Ok(OrgAccess { user, org, role }),
                None => Err(AppError::NotFound),
            }
        })
    }
}
