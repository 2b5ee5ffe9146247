//! An organization's current settings, read the way the API and the form show them.

use std::sync::Arc;

use diesel::QueryResult;
use serde_json::Value;

use super::options::{self, OPTIONS};
use super::update::flag_field_by_api_key;
use crate::config::{Feature, Features};
use crate::db::AnyConnection;
use crate::models::avatar::OrgAvatar;
use crate::models::flags::Flags;
use crate::models::option::{OptionsCache, OrgOptions};
use crate::models::organization::Organization;

#[derive(Debug, Clone)]
pub struct OrgSettings {
    pub org: Organization,
    /// Shared with [`crate::models::option::OptionsCache`] when it came from there.
    pub options: Arc<OrgOptions>,
    pub avatar: Option<OrgAvatar>,
}

impl OrgSettings {
    /// The organization with its options and avatar (two queries).
    /// The settings of the organization with this id, as stored now.
    pub fn load_by_id(conn: &mut AnyConnection, organization_id: i64) -> QueryResult<Self> {
        let org = Organization::find(conn, organization_id)?;
        Self::load(conn, org)
    }

    pub fn load(conn: &mut AnyConnection, org: Organization) -> QueryResult<Self> {
        let avatar = OrgAvatar::find_for_org(conn, org.id)?;
        Self::with_avatar(conn, org, avatar)
    }

    /// The same, for an avatar already loaded (one query).
    pub fn with_avatar(
        conn: &mut AnyConnection,
        org: Organization,
        avatar: Option<OrgAvatar>,
    ) -> QueryResult<Self> {
        let options = Arc::new(OrgOptions::load(conn, org.id)?);
        Ok(Self {
            org,
            options,
            avatar,
        })
    }

    /// [`OrgSettings::with_avatar`], the options from `cache` when it holds them at the version of
    /// `org`'s row (docs/architecture.md, "The options cache").
    pub fn with_kept_options(
        conn: &mut AnyConnection,
        cache: &OptionsCache,
        org: Organization,
        avatar: Option<OrgAvatar>,
    ) -> QueryResult<Self> {
        let options = cache.load(conn, &org)?;
        Ok(Self {
            org,
            options,
            avatar,
        })
    }

    pub fn flags(&self) -> Flags {
        self.org.flags
    }

    /// Whether the organization has a legacy rate-limit option, without which neither can be set.
    pub fn has_legacy_rate_limits(&self) -> bool {
        OPTIONS
            .iter()
            .filter(|def| def.legacy)
            .any(|def| self.options.has(def.key))
    }

    /// The value of an API field, as `GET /api/0/organizations/{slug}/` shows it; `None` for fields
    /// that are not settings.
    pub fn api_value(&self, api_key: &str, features: &Features) -> Option<Value> {
        match api_key {
            "name" => return Some(Value::from(self.org.name.as_str())),
            "slug" => return Some(Value::from(self.org.slug.as_str())),
            "defaultRole" => return Some(Value::from(self.org.default_role.id())),
            _ => {}
        }
        if let Some(field) = flag_field_by_api_key(api_key) {
            let on = self.flags().get(field.flag) != field.inverted;
            let on = if api_key == "requireEmailVerification" {
                on && features.has(Feature::RequiredEmailVerification)
            } else {
                on
            };
            return Some(Value::Bool(on));
        }
        options::by_api_key(api_key).map(|def| def.api_value(self.options.get(def.key)))
    }
}
