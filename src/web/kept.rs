//! What the web layer keeps between requests, built from an organization's row and options: the
//! settings form's fields as HTML and the organization API's answers. Each entry holds the rows it
//! was built from and is given only to a request that has just read those same rows, whose
//! `options_version` stands for the options (docs/architecture.md, "The options cache").

use std::sync::Arc;

use actix_web::web::Bytes;

use crate::kept::Kept;
use crate::models::avatar::OrgAvatar;
use crate::models::organization::Organization;
use crate::models::role::Role;
use crate::tokens::scopes::Scopes;
use crate::web::settings_pages::form::SettingsPage;

/// The settings form's fields as HTML, as the page shows them without a submission, per
/// organization, page and role. At most 1 000 of them, 8 MiB in all.
pub struct FieldsCache {
    kept: Kept<(i64, SettingsPage, Role), (Organization, Arc<str>)>,
}

impl Default for FieldsCache {
    fn default() -> Self {
        Self {
            kept: Kept::with_limits(1000, 8 << 20),
        }
    }
}

impl FieldsCache {
    /// The fields of `page` for `role`, if they were rendered from the row `org`.
    pub fn get(&self, org: &Organization, page: SettingsPage, role: Role) -> Option<Arc<str>> {
        self.kept
            .get(&(org.id, page, role), |(row, _)| row == org)
            .map(|(_, html)| html)
    }

    pub fn keep(&self, org: &Organization, page: SettingsPage, role: Role, html: Arc<str>) {
        let bytes = html.len();
        self.kept
            .keep((org.id, page, role), (org.clone(), html), bytes);
    }

    /// How many fields' HTML are kept, and their bytes.
    pub fn size(&self) -> (usize, usize) {
        self.kept.size()
    }
}

/// The answers of `GET /api/0/organizations/{org}/`, per organization, role and the request's
/// scopes (the answer lists them as `access`). At most 1 000 of them, 4 MiB in all.
pub struct AnswersCache {
    kept: Kept<(i64, Role, Scopes), KeptAnswer>,
}

/// An answer's body with the row and avatar it was written from.
type KeptAnswer = (Organization, Option<OrgAvatar>, Bytes);

impl Default for AnswersCache {
    fn default() -> Self {
        Self {
            kept: Kept::with_limits(1000, 4 << 20),
        }
    }
}

impl AnswersCache {
    /// The answer for `role` and `scopes`, if it was written from the rows `org` and `avatar`.
    pub fn get(
        &self,
        org: &Organization,
        avatar: Option<&OrgAvatar>,
        role: Role,
        scopes: &Scopes,
    ) -> Option<Bytes> {
        self.kept
            .get(&(org.id, role, scopes.clone()), |(row, kept_avatar, _)| {
                row == org && kept_avatar.as_ref() == avatar
            })
            .map(|(_, _, body)| body)
    }

    pub fn keep(
        &self,
        org: &Organization,
        avatar: Option<&OrgAvatar>,
        role: Role,
        scopes: &Scopes,
        body: Bytes,
    ) {
        let bytes = body.len();
        self.kept.keep(
            (org.id, role, scopes.clone()),
            (org.clone(), avatar.cloned(), body),
            bytes,
        );
    }

    /// How many answers are kept, and their bytes.
    pub fn size(&self) -> (usize, usize) {
        self.kept.size()
    }
}
