//! What every page's layout needs: the CSRF token, the user in the top bar, flash messages, and the
//! organization sidebar on organization pages.

use actix_session::Session;
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use askama::Template;

use super::csrf;
use super::error::AppError;
pub use super::layout::{
    AccountNav, AccountSection, AvatarView, NavLink, OrgNav, PageCtx, Section,
};
use super::session::take_flashes;
use super::superuser_mode;
use crate::access::OrgAccess;
use crate::models::user::User;

impl PageCtx {
    pub fn new(session: &Session, user: Option<&User>) -> Result<Self, AppError> {
        if user.is_some() {
            super::session::keep_alive(session)?;
        }
        let superuser_left = match user.map(|u| superuser_mode::mode(session, u)) {
            Some(superuser_mode::Mode::Active { seconds_left }) => {
                Some(superuser_mode::time_left(seconds_left))
            }
            _ => None,
        };
        Ok(Self {
            csrf_token: csrf::token(session)?,
            username: user.map(|u| u.username.clone()),
            superuser_left,
            is_superuser: user.is_some_and(|u| u.is_superuser),
            flashes: take_flashes(session),
            org_nav: None,
            account_nav: None,
        })
    }

    /// The same, with the account sidebar, `section` marked as the current one.
    pub fn for_account(
        session: &Session,
        user: &User,
        section: AccountSection,
    ) -> Result<Self, AppError> {
        let mut ctx = Self::new(session, Some(user))?;
        ctx.account_nav = Some(AccountNav {
            current: section,
            back_to: session.get::<(String, String)>(LAST_ORG).ok().flatten(),
        });
        Ok(ctx)
    }

    /// The same, with the organization sidebar, `section` marked as the current one.
    pub fn for_org(
        session: &Session,
        access: &OrgAccess,
        section: Section,
    ) -> Result<Self, AppError> {
        let mut ctx = Self::new(session, Some(&access.user))?;
        let last = (access.org.slug.clone(), access.org.name.clone());
        if session
            .get::<(String, String)>(LAST_ORG)
            .ok()
            .flatten()
            .as_ref()
            != Some(&last)
        {
            session.insert(LAST_ORG, last)?;
        }
        ctx.org_nav = Some(OrgNav {
            slug: access.org.slug.clone(),
            name: access.org.name.clone(),
            role: access.role,
            current: section,
            avatar: AvatarView::of(&access.org, access.avatar.as_ref()),
        });
        Ok(ctx)
    }
}

/// The session key of the last organization whose pages the user opened (slug, name): the
/// account pages lead back to it.
const LAST_ORG: &str = "last_org";

/// Renders a page with a status (200, or 400 when a form comes back with field errors). Pages carry
/// the user's data and a CSRF token, so shared caches must not keep them.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, AppError> {
    let body = page.render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
