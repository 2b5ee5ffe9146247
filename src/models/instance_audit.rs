//! The instance audit log: superuser mode, user management and permission changes, which belong to no
//! organization.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::actor::Actor;
use crate::db::schema::instance_audit_entries;
use crate::db::{AnyConnection, query};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = instance_audit_entries)]
pub struct InstanceAuditEntry {
    pub id: i64,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub ip_address: Option<String>,
    pub event: String,
    pub target_user_id: Option<i64>,
    pub data: String,
    pub datetime: NaiveDateTime,
}

/// Instance events, by API-style name.
pub mod event {
    pub const SUPERUSER_ENTER: &str = "superuser.enter";
    pub const SUPERUSER_LEAVE: &str = "superuser.leave";
    pub const USER_CREATE: &str = "user.create";
    pub const USER_ACTIVATE: &str = "user.activate";
    pub const USER_DEACTIVATE: &str = "user.deactivate";
    pub const SUPERUSER_GRANT: &str = "user.superuser.grant";
    pub const SUPERUSER_REVOKE: &str = "user.superuser.revoke";
    pub const TWO_FACTOR_RESET: &str = "user.2fa.reset";
    pub const PERMISSION_ADD: &str = "permission.add";
    pub const PERMISSION_REMOVE: &str = "permission.remove";
    pub const USER_EDIT: &str = "user.edit";
    pub const EMAIL_ADD: &str = "user.email.add";
    pub const EMAIL_REMOVE: &str = "user.email.remove";
    pub const EMAIL_VERIFY: &str = "user.email.verify";
    pub const EMAIL_PRIMARY: &str = "user.email.primary";
    pub const PASSWORD_CHANGE: &str = "user.password.change";
    pub const PASSWORD_RESET_LINK: &str = "user.password.reset-link";
    pub const PASSWORD_RESET: &str = "user.password.reset";
    pub const PASSWORD_SET: &str = "user.password.set";
    pub const API_TOKEN_CREATE: &str = "user.api-token.create";
    pub const API_TOKEN_REMOVE: &str = "user.api-token.remove";
}

/// Writes an entry; call it inside the transaction of the change it records.
pub fn record(
    conn: &mut AnyConnection,
    actor: &Actor,
    event: &str,
    target_user_id: Option<i64>,
    data: Value,
) -> QueryResult<()> {
    diesel::insert_into(instance_audit_entries::table)
        .values((
            instance_audit_entries::actor_id.eq(actor.user_id),
            instance_audit_entries::actor_label.eq(&actor.label),
            instance_audit_entries::ip_address.eq(actor.ip_address.as_deref()),
            instance_audit_entries::event.eq(event),
            instance_audit_entries::target_user_id.eq(target_user_id),
            instance_audit_entries::data.eq(data.to_string()),
            instance_audit_entries::datetime.eq(query::now()),
        ))
        .execute(conn)
        .map(|_| ())
}

impl InstanceAuditEntry {
    /// The newest entries, at most `limit`; optionally only those about one user.
    pub fn recent(
        conn: &mut AnyConnection,
        target_user_id: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        let mut query = instance_audit_entries::table
            .select(InstanceAuditEntry::as_select())
            .order(instance_audit_entries::id.desc())
            .limit(limit)
            .into_boxed();
        if let Some(user_id) = target_user_id {
            query = query.filter(instance_audit_entries::target_user_id.eq(user_id));
        }
        query.load(conn)
    }

    /// The entry as a sentence, e.g. "added permission users.admin to alice".
    pub fn sentence(&self) -> String {
        let data: Value = serde_json::from_str(&self.data).unwrap_or_default();
        let text = |key: &str| {
            data.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let user = text("username");
        match self.event.as_str() {
            event::SUPERUSER_ENTER => match text("reason") {
                reason if reason.is_empty() => "turned on superuser mode".into(),
                reason => format!("turned on superuser mode: {reason}"),
            },
            event::SUPERUSER_LEAVE => "left superuser mode".into(),
            event::USER_CREATE => format!("created user {user}"),
            event::USER_ACTIVATE => format!("activated user {user}"),
            event::USER_DEACTIVATE => format!("deactivated user {user}"),
            event::SUPERUSER_GRANT => format!("made {user} a superuser"),
            event::SUPERUSER_REVOKE => format!("revoked superuser status of {user}"),
            event::TWO_FACTOR_RESET => format!("reset two-factor authentication of {user}"),
            event::PERMISSION_ADD => format!("added permission {} to {user}", text("permission")),
            event::PERMISSION_REMOVE => {
                format!("removed permission {} from {user}", text("permission"))
            }
            event::USER_EDIT => format!("changed the name of {user} to \"{}\"", text("name")),
            event::EMAIL_ADD => format!("added the address {} to {user}", text("email")),
            event::EMAIL_REMOVE => format!("removed the address {} from {user}", text("email")),
            event::EMAIL_VERIFY => format!("verified the address {} of {user}", text("email")),
            event::EMAIL_PRIMARY => format!(
                "changed the primary address of {user} from {} to {}",
                text("from"),
                text("to")
            ),
            event::PASSWORD_CHANGE => format!("changed the password of {user}"),
            event::PASSWORD_RESET_LINK => format!("sent a password reset link to {user}"),
            event::PASSWORD_RESET => format!("reset the password of {user} with an emailed link"),
            event::PASSWORD_SET => format!("set the password of {user}"),
            event::API_TOKEN_CREATE => format!(
                "added the API token \"{}\" ({}) to {user}",
                text("name"),
                text("scopes").replace(' ', ", ")
            ),
            event::API_TOKEN_REMOVE => {
                format!("revoked the API token \"{}\" of {user}", text("name"))
            }
            other => other.to_owned(),
        }
    }
}
