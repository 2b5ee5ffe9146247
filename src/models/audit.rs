//! The audit log: one entry per change, with who, from where, and the change data.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::actor::Actor;
use crate::db::schema::audit_log_entries;
use crate::db::{AnyConnection, query};

/// Audit events, with Sentry's ids and API names (docs/compatibility.md, "Audit log").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    MemberInvite,
    MemberAdd,
    MemberAccept,
    MemberEdit,
    MemberRemove,
    MemberPending,
    OrgAdd,
    OrgEdit,
    OrgRemove,
    OrgRestore,
    OrgAuthTokenAdd,
    OrgAuthTokenRemove,
}

impl AuditEvent {
    pub const ALL: [AuditEvent; 12] = [
        AuditEvent::MemberInvite,
        AuditEvent::MemberAdd,
        AuditEvent::MemberAccept,
        AuditEvent::MemberEdit,
        AuditEvent::MemberRemove,
        AuditEvent::MemberPending,
        AuditEvent::OrgAdd,
        AuditEvent::OrgEdit,
        AuditEvent::OrgRemove,
        AuditEvent::OrgRestore,
        AuditEvent::OrgAuthTokenAdd,
        AuditEvent::OrgAuthTokenRemove,
    ];

    pub fn id(self) -> i32 {
        match self {
            AuditEvent::MemberInvite => 1,
            AuditEvent::MemberAdd => 2,
            AuditEvent::MemberAccept => 3,
            AuditEvent::MemberEdit => 4,
            AuditEvent::MemberRemove => 5,
            AuditEvent::MemberPending => 8,
            AuditEvent::OrgAdd => 10,
            AuditEvent::OrgEdit => 11,
            AuditEvent::OrgRemove => 12,
            AuditEvent::OrgRestore => 13,
            AuditEvent::OrgAuthTokenAdd => 176,
            AuditEvent::OrgAuthTokenRemove => 177,
        }
    }

    pub fn api_name(self) -> &'static str {
        match self {
            AuditEvent::MemberInvite => "member.invite",
            AuditEvent::MemberAdd => "member.add",
            AuditEvent::MemberAccept => "member.accept-invite",
            AuditEvent::MemberEdit => "member.edit",
            AuditEvent::MemberRemove => "member.remove",
            AuditEvent::MemberPending => "member.pending",
            AuditEvent::OrgAdd => "org.create",
            AuditEvent::OrgEdit => "org.edit",
            AuditEvent::OrgRemove => "org.remove",
            AuditEvent::OrgRestore => "org.restore",
            AuditEvent::OrgAuthTokenAdd => "org-auth-token.create",
            AuditEvent::OrgAuthTokenRemove => "org-auth-token.remove",
        }
    }

    pub fn from_id(id: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.id() == id)
    }

    pub fn from_api_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.api_name() == name)
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
        organization_id: i64,
        actor: &'a Actor,
        event: AuditEvent,
        data: serde_json::Value,
    ) -> Self {
        Self {
            organization_id,
            actor,
            event,
            target_object: Some(organization_id),
            target_user_id: None,
            data,
        }
    }
}

/// Writes one entry; call it inside the transaction of the change it records.
/// Runs on the concrete connection, where diesel finds the prepared statement without writing its
/// SQL again (docs/architecture.md, "Where a request's time goes").
pub fn record(conn: &mut AnyConnection, entry: &NewAuditEntry<'_>) -> QueryResult<()> {
    let values = (
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
    );
    crate::on_native_connection!(conn, |c| diesel::insert_into(audit_log_entries::table)
        .values(&values)
        .execute(c))
    .map(|_| ())
}

/// Which entries of an organization to list: optionally one event, and a page given by an entry id
/// to continue before (older) or after (newer). Pages are keyed by id, so entries added meanwhile do
/// not shift them.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditQuery {
    pub event: Option<AuditEvent>,
    /// Entries by this user only.
    pub actor: Option<i64>,
    /// Entries written at or after this time.
    pub start: Option<NaiveDateTime>,
    /// Entries written at or before this time.
    pub end: Option<NaiveDateTime>,
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

/// One page of an organization's audit log, newest first, with the ids to ask for the pages beside it.
#[derive(Debug)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// `after=` this id gives the newer page, if there is one.
    pub newer: Option<i64>,
    /// `before=` this id gives the older page, if there is one.
    pub older: Option<i64>,
}

impl AuditEntry {
    /// A page of `size` entries matching `filter` (its event, actor and times), starting `before`
    /// or `after` an entry id (keyset pagination: a new entry never shifts a page).
    pub fn page(
        conn: &mut AnyConnection,
        organization_id: i64,
        filter: AuditQuery,
        before: Option<i64>,
        after: Option<i64>,
        size: i64,
    ) -> QueryResult<AuditPage> {
        let q = AuditQuery {
            before,
            after,
            // one more than shown, to know whether there is a further page
            limit: Some(size + 1),
            ..filter
        };
        let mut entries = AuditEntry::list(conn, organization_id, q)?;
        let newer_exists = match entries.first() {
            Some(first) if before.is_some() || after.is_some() => !AuditEntry::list(
                conn,
                organization_id,
                AuditQuery {
                    after: Some(first.id),
                    before: None,
                    limit: Some(1),
                    ..filter
                },
            )?
            .is_empty(),
            _ => false,
        };
        let more = entries.len() as i64 > size;
        if more {
            if after.is_some() {
                entries.remove(0);
            } else {
                entries.pop();
            }
        }
        let older = match (after.is_some(), entries.last()) {
            (true, Some(last)) => Some(last.id),
            (false, Some(last)) if more => Some(last.id),
            _ => None,
        };
        let newer = match (after.is_some() && more, newer_exists, entries.first()) {
            (true, _, Some(first)) | (_, true, Some(first)) => Some(first.id),
            _ => None,
        };
        Ok(AuditPage {
            entries,
            newer,
            older,
        })
    }

    pub fn event(&self) -> Option<AuditEvent> {
        AuditEvent::from_id(self.event)
    }

    /// Entries of an organization, newest first.
    pub fn list(
        conn: &mut AnyConnection,
        organization_id: i64,
        q: AuditQuery,
    ) -> QueryResult<Vec<Self>> {
        let mut query = audit_log_entries::table
            .filter(audit_log_entries::organization_id.eq(organization_id))
            .select(AuditEntry::as_select())
            .into_boxed();
        if let Some(event) = q.event {
            query = query.filter(audit_log_entries::event.eq(event.id()));
        }
        if let Some(actor) = q.actor {
            query = query.filter(audit_log_entries::actor_id.eq(actor));
        }
        if let Some(start) = q.start {
            query = query.filter(audit_log_entries::datetime.ge(start));
        }
        if let Some(end) = q.end {
            query = query.filter(audit_log_entries::datetime.le(end));
        }
        if let Some(limit) = q.limit {
            query = query.limit(limit);
        }
        if let Some(after) = q.after {
            let mut newer: Vec<Self> = query
                .filter(audit_log_entries::id.gt(after))
                .order(audit_log_entries::id.asc())
                .load(conn)?;
            newer.reverse();
            return Ok(newer);
        }
        if let Some(before) = q.before {
            query = query.filter(audit_log_entries::id.lt(before));
        }
        query.order(audit_log_entries::id.desc()).load(conn)
    }

    /// The action as a sentence (Sentry's audit log rendering), e.g. "edited the organization
    /// setting: name from Foo to Bar, require_2fa to True".
    pub fn sentence(&self) -> String {
        let data: serde_json::Value = serde_json::from_str(&self.data).unwrap_or_default();
        match self.event() {
            Some(AuditEvent::OrgEdit) => {
                let parts: Vec<String> = data
                    .as_object()
                    .map(|changes| {
                        changes
                            .iter()
                            .map(|(key, value)| match value {
                                serde_json::Value::String(text) => format!("{key} {text}"),
                                other => format!("{key} {other}"),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                format!("edited the organization setting: {}", parts.join(", "))
            }
            Some(AuditEvent::OrgAdd) => "created the organization".into(),
            Some(AuditEvent::OrgRemove) => "removed the organization".into(),
            Some(AuditEvent::OrgRestore) => "restored the organization".into(),
            Some(event @ (AuditEvent::OrgAuthTokenAdd | AuditEvent::OrgAuthTokenRemove)) => {
                let name = data.get("name").and_then(|v| v.as_str()).unwrap_or("");
                let verb = if event == AuditEvent::OrgAuthTokenAdd {
                    "added"
                } else {
                    "removed"
                };
                format!("{verb} org auth token {name}")
            }
            Some(event) => {
                let who = data
                    .get("email")
                    .and_then(|v| v.as_str())
                    .filter(|e| !e.is_empty())
                    .unwrap_or("a member");
                let role = data
                    .get("role")
                    .and_then(|v| v.as_str())
                    .unwrap_or("member");
                match event {
                    // Sentry's text, "2FA" even when the requirement was a verified email
                    AuditEvent::MemberPending => format!("required member {who} to setup 2FA"),
                    AuditEvent::MemberInvite => format!("invited member {who}"),
                    AuditEvent::MemberAdd => format!("added member {who}"),
                    AuditEvent::MemberAccept => "accepted the membership invite".into(),
                    AuditEvent::MemberEdit => format!("edited member {who} (role: {role})"),
                    _ => format!("removed member {who}"),
                }
            }
            None => format!("event {}", self.event),
        }
    }
}
