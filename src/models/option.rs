//! The organization option store (Sentry's `OrganizationOption` manager): one row per (organization,
//! key), the value as JSON text.
//!
//! One indexed query loads every option of an organization. [`OptionsCache`] keeps what a process
//! read, for as long as the organization's row (read fresh by every request) still has the
//! `options_version` the options were read at: the database moves the version on with every
//! change to an option row (a trigger), so a value read after a write is always the written one,
//! on every instance sharing the database (docs/architecture.md, "The options cache").

use std::collections::HashMap;
use std::sync::Arc;

use diesel::prelude::*;
use serde_json::Value;

use super::organization::Organization;
use crate::db::AnyConnection;
use crate::db::query::{self, Upserted};
use crate::db::schema::organization_options;
use crate::kept::Kept;

/// Every stored option of one organization.
#[derive(Debug, Clone, Default)]
pub struct OrgOptions {
    values: HashMap<String, Value>,
}

/// The stored values of option `key`, in any organization, whose text contains `needle`: a
/// prefilter in SQL (the caller parses what it finds; SQLite's `LIKE` ignores ASCII case).
pub fn values_containing(
    conn: &mut AnyConnection,
    key: &str,
    needle: &str,
) -> QueryResult<Vec<String>> {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    organization_options::table
        .filter(organization_options::key.eq(key))
        .filter(
            organization_options::value
                .like(format!("%{escaped}%"))
                .escape('\\'),
        )
        .select(organization_options::value)
        .load(conn)
}

impl OrgOptions {
    /// Loads all options of an organization in one query.
    pub fn load(conn: &mut AnyConnection, organization_id: i64) -> QueryResult<Self> {
        Ok(Self::load_sized(conn, organization_id)?.0)
    }

    /// [`OrgOptions::load`], with the size of the stored text (what the cache counts).
    fn load_sized(conn: &mut AnyConnection, organization_id: i64) -> QueryResult<(Self, usize)> {
        let rows: Vec<(String, String)> = crate::on_native_connection!(conn, |c| {
            organization_options::table
                .filter(organization_options::organization_id.eq(organization_id))
                .select((organization_options::key, organization_options::value))
                .load(c)
        })?;
        let bytes = rows.iter().map(|(k, v)| k.len() + v.len()).sum();
        let options = Self {
            values: rows
                .into_iter()
                .map(|(key, text)| {
                    // a value that is not JSON (written by hand) reads as the text it is
                    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
                    (key, value)
                })
                .collect(),
        };
        Ok((options, bytes))
    }

    /// The stored value, if the option has a row.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// Keeps a value just stored with [`set_value`] (the options as they are after a write,
    /// without reading them back).
    pub fn remember(&mut self, key: &str, value: &Value) {
        self.values.insert(key.to_owned(), value.clone());
    }

    /// Forgets a value just removed with [`unset_value`].
    pub fn forget(&mut self, key: &str) {
        self.values.remove(key);
    }
}

/// The options this process has read, each with the `options_version` it read them at; bounded by
/// the count of organizations and by the size of their stored text ([`Kept`]).
pub struct OptionsCache {
    kept: Kept<i64, (i64, Arc<OrgOptions>)>,
}

impl Default for OptionsCache {
    fn default() -> Self {
        // a thousand organizations, or 8 MiB of stored option text
        Self::with_limits(1000, 8 << 20)
    }
}

impl OptionsCache {
    pub fn with_limits(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            kept: Kept::with_limits(max_entries, max_bytes),
        }
    }

    /// The options of `org` as stored at the version its row was read with, if this process has
    /// read them at that version.
    pub fn get(&self, org: &Organization) -> Option<Arc<OrgOptions>> {
        self.kept
            .get(&org.id, |(version, _)| *version == org.options_version)
            .map(|(_, options)| options)
    }

    /// The options of `org`: kept ones when its row's version is the one they were read at,
    /// otherwise read now (and kept, when `conn` is outside a transaction: what a transaction
    /// reads may be its own writes, not yet committed).
    pub fn load(
        &self,
        conn: &mut AnyConnection,
        org: &Organization,
    ) -> QueryResult<Arc<OrgOptions>> {
        if let Some(options) = self.get(org) {
            return Ok(options);
        }
        let (options, bytes) = OrgOptions::load_sized(conn, org.id)?;
        let options = Arc::new(options);
        if !crate::db::in_transaction(conn)? {
            self.keep(org, options.clone(), bytes);
        }
        Ok(options)
    }

    fn keep(&self, org: &Organization, options: Arc<OrgOptions>, bytes: usize) {
        self.kept
            .keep(org.id, (org.options_version, options), bytes);
    }
}

/// Stores a value (`create_or_update` on the (organization, key) row).
pub fn set_value(
    conn: &mut AnyConnection,
    organization_id: i64,
    key: &str,
    value: &Value,
) -> QueryResult<Upserted> {
    let text = value.to_string();
    query::create_or_update(
        conn,
        |conn| {
            diesel::update(
                organization_options::table
                    .filter(organization_options::organization_id.eq(organization_id))
                    .filter(organization_options::key.eq(key)),
            )
            .set(organization_options::value.eq(&text))
            .execute(conn)
        },
        |conn| {
            diesel::insert_into(organization_options::table)
                .values((
                    organization_options::organization_id.eq(organization_id),
                    organization_options::key.eq(key),
                    organization_options::value.eq(&text),
                ))
                .execute(conn)
        },
    )
}

/// The stored value, or `default` when the option has no row.
pub fn get_value(
    conn: &mut AnyConnection,
    organization_id: i64,
    key: &str,
    default: Value,
) -> QueryResult<Value> {
    let text: Option<String> = organization_options::table
        .filter(organization_options::organization_id.eq(organization_id))
        .filter(organization_options::key.eq(key))
        .select(organization_options::value)
        .first(conn)
        .optional()?;
    Ok(match text {
        Some(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        None => default,
    })
}

/// Removes the option's row; returns whether there was one.
pub fn unset_value(conn: &mut AnyConnection, organization_id: i64, key: &str) -> QueryResult<bool> {
    diesel::delete(
        organization_options::table
            .filter(organization_options::organization_id.eq(organization_id))
            .filter(organization_options::key.eq(key)),
    )
    .execute(conn)
    .map(|rows| rows > 0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::{OptionsCache, OrgOptions};
    use crate::models::organization::Organization;

    fn org(id: i64, options_version: i64) -> Organization {
        Organization {
            id,
            name: "x".into(),
            slug: "x".into(),
            status: crate::models::organization::OrgStatus::Active,
            flags: crate::models::flags::Flags::default(),
            default_role: crate::models::role::Role::Member,
            date_added: chrono::NaiveDateTime::MIN,
            updated_at: chrono::NaiveDateTime::MIN,
            deletion_scheduled_at: None,
            options_version,
        }
    }

    fn options(value: i64) -> Arc<OrgOptions> {
        let mut options = OrgOptions::default();
        options.remember("k", &json!(value));
        Arc::new(options)
    }

    #[test]
    fn kept_options_are_given_only_at_the_version_they_were_read_at() {
        let cache = OptionsCache::default();
        cache.keep(&org(1, 3), options(30), 10);
        assert_eq!(
            cache.get(&org(1, 3)).and_then(|o| o.get("k").cloned()),
            Some(json!(30))
        );
        assert!(cache.get(&org(1, 4)).is_none(), "a newer version");
        assert!(cache.get(&org(2, 3)).is_none(), "another organization");
        cache.keep(&org(1, 4), options(40), 10);
        assert!(cache.get(&org(1, 3)).is_none(), "replaced");
        assert_eq!(
            cache.get(&org(1, 4)).and_then(|o| o.get("k").cloned()),
            Some(json!(40))
        );
    }

    #[test]
    fn the_cache_counts_the_bytes_of_the_options_it_keeps() {
        let cache = OptionsCache::with_limits(3, 100);
        for id in 0..10 {
            cache.keep(&org(id, 0), options(id), 30);
        }
        assert_eq!(cache.kept.size(), (3, 90));
        assert!(cache.get(&org(9, 0)).is_some(), "the last one kept stays");
    }
}
