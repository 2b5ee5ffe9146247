//! Instance permissions of superusers (Sentry's `UserPermission`).

use diesel::prelude::*;

use crate::db::schema::user_permissions;
use crate::db::{AnyConnection, is_unique_violation};

/// The permissions orgsettings knows; nothing else can be granted.
pub const KNOWN: [&str; 3] = ["broadcasts.admin", "options.admin", "users.admin"];

/// Needed, with superuser mode, to manage users.
pub const USERS_ADMIN: &str = "users.admin";
/// Instance options, mail among them: the outbox page.
pub const OPTIONS_ADMIN: &str = "options.admin";

/// A permission name that orgsettings knows.
pub fn parse(raw: &str) -> Result<&'static str, String> {
    let name = raw.trim();
    KNOWN
        .iter()
        .copied()
        .find(|known| *known == name)
        .ok_or_else(|| {
            format!(
                "Unknown permission `{name}`; the permissions are: {}",
                KNOWN.join(", ")
            )
        })
}

/// The user's permissions, by name.
pub fn list(conn: &mut AnyConnection, user_id: i64) -> QueryResult<Vec<String>> {
    user_permissions::table
        .filter(user_permissions::user_id.eq(user_id))
        .order(user_permissions::permission)
        .select(user_permissions::permission)
        .load(conn)
}

pub fn has(conn: &mut AnyConnection, user_id: i64, permission: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        user_permissions::table
            .filter(user_permissions::user_id.eq(user_id))
            .filter(user_permissions::permission.eq(permission)),
    ))
    .get_result(conn)
}

/// Grants a permission; `false` when the user had it already.
pub fn add(conn: &mut AnyConnection, user_id: i64, permission: &str) -> QueryResult<bool> {
    let inserted = crate::db::write_tx(conn, |conn| {
        diesel::insert_into(user_permissions::table)
            .values((
                user_permissions::user_id.eq(user_id),
                user_permissions::permission.eq(permission),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(err) if is_unique_violation(&err) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Revokes a permission; `false` when the user did not have it.
pub fn remove(conn: &mut AnyConnection, user_id: i64, permission: &str) -> QueryResult<bool> {
    diesel::delete(
        user_permissions::table
            .filter(user_permissions::user_id.eq(user_id))
            .filter(user_permissions::permission.eq(permission)),
    )
    .execute(conn)
    .map(|rows| rows > 0)
}
