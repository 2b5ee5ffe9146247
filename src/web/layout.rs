//! What every page's layout shows, as data: the context of the base template (`PageCtx`), the
//! organization sidebar, avatars, and flash messages. Free of requests and sessions, so the error
//! pages can use it too; `page` fills it from a request.

use serde::{Deserialize, Serialize};

use crate::models::avatar::OrgAvatar;
use crate::models::organization::{Organization, initials};
use crate::models::role::Role;
use crate::settings::avatar::letter_color;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashLevel {
    Success,
    Info,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub level: FlashLevel,
    pub message: String,
}

impl Flash {
    /// Errors are announced at once (`role="alert"`); the others politely (`role="status"`).
    pub fn is_error(&self) -> bool {
        self.level == FlashLevel::Error
    }

    pub fn css_class(&self) -> &'static str {
        match self.level {
            FlashLevel::Success => "flash flash-success",
            FlashLevel::Info => "flash flash-info",
            FlashLevel::Error => "flash flash-error",
        }
    }
}

pub struct PageCtx {
    pub csrf_token: String,
    pub username: Option<String>,
    /// While superuser mode is on: the time left, for the banner.
    pub superuser_left: Option<String>,
    pub is_superuser: bool,
    pub flashes: Vec<Flash>,
    pub org_nav: Option<OrgNav>,
    pub account_nav: Option<AccountNav>,
}

impl PageCtx {
    /// For error pages, which are rendered without a session.
    pub fn bare() -> Self {
        Self {
            csrf_token: String::new(),
            username: None,
            superuser_left: None,
            is_superuser: false,
            flashes: Vec::new(),
            org_nav: None,
            account_nav: None,
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
    AuthTokens,
    AuditLog,
}

impl Section {
    pub const ALL: [Section; 7] = [
        Section::General,
        Section::SecurityAndPrivacy,
        Section::Relays,
        Section::Avatar,
        Section::Members,
        Section::AuthTokens,
        Section::AuditLog,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Section::General => "General",
            Section::SecurityAndPrivacy => "Security & Privacy",
            Section::Relays => "Relays",
            Section::Avatar => "Avatar",
            Section::Members => "Members",
            Section::AuthTokens => "Auth Tokens",
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
            Section::AuthTokens => "auth-tokens/",
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
            // the audit log and the auth tokens are for owners and managers
            .filter(|section| {
                !matches!(section, Section::AuditLog | Section::AuthTokens) || self.role.can_write()
            })
            .map(|section| NavLink {
                href: format!("/settings/{}/{}", self.slug, section.subpath()),
                label: section.label(),
                current: section == self.current,
            })
            .collect()
    }
}

/// The pages of the user's own account, in sidebar order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSection {
    Details,
    Password,
    Security,
    ApiTokens,
}

impl AccountSection {
    pub const ALL: [AccountSection; 4] = [
        AccountSection::Details,
        AccountSection::Password,
        AccountSection::Security,
        AccountSection::ApiTokens,
    ];

    pub fn label(self) -> &'static str {
        match self {
            AccountSection::Details => "Details and email",
            AccountSection::Password => "Password",
            AccountSection::Security => "Two-factor authentication",
            AccountSection::ApiTokens => "API tokens",
        }
    }

    pub fn href(self) -> &'static str {
        match self {
            AccountSection::Details => "/account/",
            AccountSection::Password => "/account/password/",
            AccountSection::Security => "/account/security/",
            AccountSection::ApiTokens => "/account/api-tokens/",
        }
    }
}

/// The account sidebar: its pages, and the way back to the organization the user came from.
pub struct AccountNav {
    pub current: AccountSection,
    /// The last organization whose settings the user opened: its slug and name.
    pub back_to: Option<(String, String)>,
}

impl AccountNav {
    pub fn links(&self) -> Vec<NavLink> {
        AccountSection::ALL
            .into_iter()
            .map(|section| NavLink {
                href: section.href().to_owned(),
                label: section.label(),
                current: section == self.current,
            })
            .collect()
    }
}
