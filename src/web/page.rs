//! What every page's layout needs: the CSRF token, the user in the top bar, flash messages, and the
//! organization sidebar on organization pages.

use actix_session::Session;
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use askama::Template;

use super::access::OrgAccess;
use super::csrf;
use super::error::AppError;
use super::session::{Flash, take_flashes};
use super::superuser_mode;
use crate::models::avatar::OrgAvatar;
use crate::models::organization::{Organization, initials};
use crate::models::role::Role;
use crate::models::user::User;
use crate::settings::avatar::letter_color;

pub struct PageCtx {
    pub csrf_token: String,
    pub username: Option<String>,
    /// While superuser mode is on: the time left, for the banner.
    pub superuser_left: Option<String>,
    pub is_superuser: bool,
    pub flashes: Vec<Flash>,
    pub org_nav: Option<OrgNav>,
}

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
        })
    }

    /// The same, with the organization sidebar, `section` marked as the current one.
    pub fn for_org(
        session: &Session,
        access: &OrgAccess,
        section: Section,
    ) -> Result<Self, AppError> {
        let mut ctx = Self::new(session, Some(&access.user))?;
        ctx.org_nav = Some(OrgNav {
            slug: access.org.slug.clone(),
            name: access.org.name.clone(),
            role: access.role,
            current: section,
            avatar: AvatarView::of(&access.org, access.avatar.as_ref()),
        });
        Ok(ctx)
    }

    /// For error pages, which are rendered without a session.
    pub fn bare() -> Self {
        Self {
            csrf_token: String::new(),
            username: None,
            superuser_left: None,
            is_superuser: false,
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
    Avatar,
    Members,
    AuditLog,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::General,
        Section::SecurityAndPrivacy,
        Section::Relays,
        Section::Avatar,
        Section::Members,
        Section::AuditLog,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Section::General => "General",
            Section::SecurityAndPrivacy => "Security & Privacy",
            Section::Relays => "Relays",
            Section::Avatar => "Avatar",
            Section::Members => "Members",
            Section::AuditLog => "Audit Log",
        }
    }

    /// The path under `/settings/{org}/`.
    pub fn subpath(self) -> &'static str {
        match self {
            Section::General => "",
            Section::SecurityAndPrivacy => "security-and-privacy/",
            Section::Relays => "relays/",
            Section::Avatar => "avatar/",
            Section::Members => "members/",
            Section::AuditLog => "audit-log/",
        }
    }
}

pub struct OrgNav {
    pub slug: String,
    pub name: String,
    pub role: Role,
    pub current: Section,
    pub avatar: AvatarView,
}

/// How an organization's avatar shows: its uploaded image, or its letter avatar.
pub struct AvatarView {
    /// The image URL (without size), when the uploaded image is the avatar.
    pub url: Option<String>,
    pub initials: String,
    pub color: &'static str,
    pub name: String,
}

impl AvatarView {
    pub fn of(org: &Organization, avatar: Option<&OrgAvatar>) -> Self {
        Self::from_parts(
            &org.name,
            avatar
                .filter(|a| a.shows_upload())
                .map(|a| a.ident.as_str()),
        )
    }

    /// From the name and the ident of the uploaded image that shows, if one does.
    pub fn from_parts(name: &str, upload_ident: Option<&str>) -> Self {
        Self {
            url: upload_ident.map(|ident| format!("/organization-avatar/{ident}/")),
            initials: initials(name),
            color: letter_color(name),
            name: name.to_owned(),
        }
    }
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
