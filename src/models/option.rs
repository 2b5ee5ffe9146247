//! The organization option store (Sentry's `OrganizationOption` manager): one row per (organization,
//! key), the value as JSON text.
//!
//! There is no cache: one indexed query loads every option of an organization, so a value read after a
//! write is always the written one, on every instance sharing the database.

use std::collections::HashMap;

use diesel::prelude::*;
use serde_json::Value;

use crate::db::AnyConnection;
use crate::db::query::{self, Upserted};
use crate::db::schema::organization_options;

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
        let rows: Vec<(String, String)> = crate::on_native_connection!(conn, |c| {
            organization_options::table
                .filter(organization_options::organization_id.eq(organization_id))
                .select((organization_options::key, organization_options::value))
                .load(c)
        })?;
        Ok(Self {
            values: rows
                .into_iter()
                .map(|(key, text)| {
                    // a value that is not JSON (written by hand) reads as the text it is
                    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
                    (key, value)
                })
                .collect(),
        })
    }

    /// The stored value, if the option has a row.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
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
