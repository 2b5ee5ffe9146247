//! What every page's layout needs: the CSRF token, the user in the top bar, flash messages, and the
//! organization sidebar on organization pages.

use actix_session::Session;
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use askama::Template;

use super::csrf;
use super::error::AppError;
use super::session::{Flash, take_flashes};
use crate::models::organization::Organization;
use crate::models::role::Role;
use crate::models::user::User;

pub struct PageCtx {
    pub csrf_token: String,
    pub username: Option<String>,
    pub flashes: Vec<Flash>,
    pub org_nav: Option<OrgNav>,
}

impl PageCtx {
    pub fn new(session: &Session, user: Option<&User>) -> Result<Self, AppError> {
        Ok(Self {
            csrf_token: csrf::token(session)?,
            username: user.map(|u| u.username.clone()),
            flashes: take_flashes(session),
            org_nav: None,
        })
    }

    /// The same, with the organization sidebar, `section` marked as the current one.
    pub fn for_org(
        session: &Session,
        user: &User,
        org: &Organization,
        role: Role,
        section: Section,
    ) -> Result<Self, AppError> {
        let mut ctx = Self::new(session, Some(user))?;
        ctx.org_nav = Some(OrgNav {
            slug: org.slug.clone(),
            name: org.name.clone(),
            role,
            current: section,
        });
        Ok(ctx)
    }

    /// For error pages, which are rendered without a session.
    pub fn bare() -> Self {
        Self {
            csrf_token: String::new(),
            username: None,
            flashes: Vec::new(),
            org_nav: None,
        }
    }
}

/// The sections of an organization's settings, in sidebar order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    General,
    SecurityAndPrivacy,
    Relays,
    AuditLog,
}

impl Section {
    pub const ALL: [Section; 4] = [
        Section::General,
        Section::SecurityAndPrivacy,
        Section::Relays,
        Section::AuditLog,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Section::General => "General",
            Section::SecurityAndPrivacy => "Security & Privacy",
            Section::Relays => "Relays",
            Section::AuditLog => "Audit Log",
        }
    }

    /// The path under `/settings/{org}/`.
    pub fn subpath(self) -> &'static str {
        match self {
            Section::General => "",
            Section::SecurityAndPrivacy => "security-and-privacy/",
            Section::Relays => "relays/",
            Section::AuditLog => "audit-log/",
        }
    }
}

pub struct OrgNav {
    pub slug: String,
    pub name: String,
    pub role: Role,
    pub current: Section,
}

pub struct NavLink {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

impl OrgNav {
    pub fn links(&self) -> Vec<NavLink> {
        Section::ALL
            .into_iter()
            // the audit log is for owners and managers
            .filter(|section| *section != Section::AuditLog || self.role.can_write())
            .map(|section| NavLink {
                href: format!("/settings/{}/{}", self.slug, section.subpath()),
                label: section.label(),
                current: section == self.current,
            })
            .collect()
    }

    pub fn initials(&self) -> String {
        crate::models::organization::initials(&self.name)
    }
}

/// Renders a page with a status (200, or 400 when a form comes back with field errors). Pages carry
/// the user's data and a CSRF token, so shared caches must not keep them.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, AppError> {
    let body = page.render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
