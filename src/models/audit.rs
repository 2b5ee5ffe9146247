//! The audit log: one entry per change, with who, from where, and the change data.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::organization::{Actor, Organization};
use crate::db::schema::audit_log_entries;
use crate::db::{AnyConnection, query};

/// Audit events, with Sentry's ids and API names (reference §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    MemberPending,
    OrgAdd,
    OrgEdit,
    OrgRemove,
    OrgRestore,
}

impl AuditEvent {
    pub const ALL: [AuditEvent; 5] = [
        AuditEvent::MemberPending,
        AuditEvent::OrgAdd,
        AuditEvent::OrgEdit,
        AuditEvent::OrgRemove,
        AuditEvent::OrgRestore,
    ];

    pub fn id(self) -> i32 {
        match self {
            AuditEvent::MemberPending => 8,
            AuditEvent::OrgAdd => 10,
            AuditEvent::OrgEdit => 11,
            AuditEvent::OrgRemove => 12,
            AuditEvent::OrgRestore => 13,
        }
    }

    pub fn api_name(self) -> &'static str {
        match self {
            AuditEvent::MemberPending => "member.pending",
            AuditEvent::OrgAdd => "org.create",
            AuditEvent::OrgEdit => "org.edit",
            AuditEvent::OrgRemove => "org.remove",
            AuditEvent::OrgRestore => "org.restore",
        }
    }

    pub fn from_id(id: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.id() == id)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log_entries)]
pub struct AuditEntry {
    pub id: i64,
    pub organization_id: i64,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub actor_is_staff: bool,
    pub ip_address: Option<String>,
    pub event: i32,
    pub target_object: Option<i64>,
    pub target_user_id: Option<i64>,
    pub data: String,
    pub datetime: NaiveDateTime,
}

/// An entry about to be written.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    pub organization_id: i64,
    pub actor: &'a Actor,
    pub event: AuditEvent,
    pub target_object: Option<i64>,
    pub target_user_id: Option<i64>,
    pub data: serde_json::Value,
}

impl<'a> NewAuditEntry<'a> {
    /// An entry about the organization itself (target = the organization).
    pub fn new(
        org: &Organization,
        actor: &'a Actor,
        event: AuditEvent,
        data: serde_json::Value,
    ) -> Self {
        Self {
            organization_id: org.id,
            actor,
            event,
            target_object: Some(org.id),
            target_user_id: None,
            data,
        }
    }
}

/// Writes one entry; call it inside the transaction of the change it records.
pub fn record(conn: &mut AnyConnection, entry: &NewAuditEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log_entries::table)
        .values((
            audit_log_entries::organization_id.eq(entry.organization_id),
            audit_log_entries::actor_id.eq(entry.actor.user_id),
            audit_log_entries::actor_label.eq(&entry.actor.label),
            audit_log_entries::actor_is_staff.eq(entry.actor.is_staff),
            audit_log_entries::ip_address.eq(entry.actor.ip_address.as_deref()),
            audit_log_entries::event.eq(entry.event.id()),
            audit_log_entries::target_object.eq(entry.target_object),
            audit_log_entries::target_user_id.eq(entry.target_user_id),
            audit_log_entries::data.eq(entry.data.to_string()),
            audit_log_entries::datetime.eq(query::now()),
        ))
        .execute(conn)
        .map(|_| ())
}

impl AuditEntry {
    /// Every entry of an organization, newest first.
    pub fn list_for_org(conn: &mut AnyConnection, organization_id: i64) -> QueryResult<Vec<Self>> {
        audit_log_entries::table
            .filter(audit_log_entries::organization_id.eq(organization_id))
            .order(audit_log_entries::id.desc())
            .select(AuditEntry::as_select())
            .load(conn)
    }
}
