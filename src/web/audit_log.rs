//! `/settings/{org}/audit-log/`: the organization's audit log, newest first, filtered by event and
//! paged by entry id; `export.csv` downloads the filtered rows. Owners and managers only.

use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::access::OrgAccess;
use super::error::AppError;
use super::page::{PageCtx, Section, render};
use crate::db::query;
use crate::models::audit::{AuditEntry, AuditEvent, AuditPage, AuditQuery};
use crate::web::state::AppState;

pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    #[serde(default)]
    event: String,
    before: Option<i64>,
    after: Option<i64>,
}

impl AuditParams {
    fn event(&self) -> Result<Option<AuditEvent>, AppError> {
        if self.event.is_empty() {
            return Ok(None);
        }
        AuditEvent::from_api_name(&self.event)
            .map(Some)
            .ok_or_else(|| {
                AppError::BadRequest(format!("There is no audit event \"{}\".", self.event))
            })
    }
}

pub struct EntryView {
    pub actor: String,
    pub staff: bool,
    pub sentence: String,
    pub ip: String,
    pub iso_time: String,
    pub exact_time: String,
    pub relative_time: String,
}

pub struct EventChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "settings/audit_log.html")]
struct AuditLogPage {
    ctx: PageCtx,
    slug: String,
    entries: Vec<EntryView>,
    events: Vec<EventChoice>,
    event: String,
    newer: Option<i64>,
    older: Option<i64>,
}

fn event_label(event: AuditEvent) -> &'static str {
    match event {
        AuditEvent::MemberInvite => "Member invited",
        AuditEvent::MemberAdd => "Member added",
        AuditEvent::MemberAccept => "Invitation accepted",
        AuditEvent::MemberEdit => "Member edited",
        AuditEvent::MemberRemove => "Member removed",
        AuditEvent::MemberPending => "Member pending",
        AuditEvent::OrgAdd => "Organization created",
        AuditEvent::OrgEdit => "Organization edited",
        AuditEvent::OrgRemove => "Organization removed",
        AuditEvent::OrgRestore => "Organization restored",
        AuditEvent::OrgAuthTokenAdd => "Org auth token added",
        AuditEvent::OrgAuthTokenRemove => "Org auth token removed",
    }
}

fn require_audit_access(access: &OrgAccess) -> Result<(), AppError> {
    if access.role.can_write() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "Only owners and managers can read the audit log.",
        ))
    }
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago", or the date.
pub fn relative_time(then: NaiveDateTime, now: NaiveDateTime) -> String {
    let secs = (now - then).num_seconds().max(0);
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match secs {
        0..=59 => "just now".into(),
        60..=3599 => plural(secs / 60, "minute"),
        3600..=86_399 => plural(secs / 3600, "hour"),
        86_400..=2_591_999 => plural(secs / 86_400, "day"),
        _ => then.format("%Y-%m-%d").to_string(),
    }
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    access: OrgAccess,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, AppError> {
    require_audit_access(&access)?;
    let event = params.event()?;
    let (org_id, before, after) = (access.org.id, params.before, params.after);
    let AuditPage {
        entries,
        newer,
        older,
    } = state
        .db(move |conn| {
            let filter = AuditQuery {
                event,
                ..AuditQuery::default()
            };
            AuditEntry::page(conn, org_id, filter, before, after, PAGE_SIZE)
        })
        .await?;
    let now = query::now();
    let views = entries
        .iter()
        .map(|entry| EntryView {
            actor: entry.actor_label.clone(),
            staff: entry.actor_is_staff,
            sentence: entry.sentence(),
            ip: entry.ip_address.clone().unwrap_or_default(),
            iso_time: entry.datetime.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            exact_time: entry.datetime.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            relative_time: relative_time(entry.datetime, now),
        })
        .collect();
    let selected = params.event.clone();
    let page = AuditLogPage {
        ctx: PageCtx::for_org(&session, &access, Section::AuditLog)?,
        slug: access.org.slug.clone(),
        entries: views,
        events: AuditEvent::ALL
            .into_iter()
            .map(|e| EventChoice {
                value: e.api_name(),
                label: event_label(e),
                selected: e.api_name() == selected,
            })
            .collect(),
        event: selected,
        newer,
        older,
    };
    render(StatusCode::OK, &page)
}

/// A CSV cell: quoted, and text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR at
/// the start) prefixed with `'`.
pub fn csv_cell(text: &str) -> String {
    let neutral = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    format!("\"{}\"", neutral.replace('"', "\"\""))
}

/// How many entries the CSV export reads per query: what it holds in memory at once, whatever the
/// size of the log.
pub const CSV_CHUNK: i64 = 1000;

const CSV_HEADER: &str = "time,member,action,ip_address,event\r\n";

fn csv_rows(entries: &[AuditEntry]) -> String {
    let mut text = String::new();
    for entry in entries {
        let event = entry.event().map(AuditEvent::api_name).unwrap_or_default();
        let row = [
            entry.datetime.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            entry.actor_label.clone(),
            entry.sentence(),
            entry.ip_address.clone().unwrap_or_default(),
            event.to_owned(),
        ];
        let cells: Vec<String> = row.iter().map(|cell| csv_cell(cell)).collect();
        text.push_str(&cells.join(","));
        text.push_str("\r\n");
    }
    text
}

/// `export.csv`: the filtered log, newest first, streamed [`CSV_CHUNK`] entries at a time (each
/// chunk one keyset query, continuing before the last id sent).
pub async fn export_csv(
    state: web::Data<AppState>,
    access: OrgAccess,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, AppError> {
    require_audit_access(&access)?;
    let event = params.event()?;
    let org_id = access.org.id;
    // the state of the stream: the id to continue before (none for the first chunk), or the end
    let start: Option<(Option<i64>, bool)> = Some((None, true));
    let chunks = futures_util::stream::unfold(start, move |cursor| {
        let state = state.clone();
        async move {
            let (before, first) = cursor?;
            let q = AuditQuery {
                event,
                before,
                limit: Some(CSV_CHUNK),
                ..AuditQuery::default()
            };
            match state
                .db(move |conn| AuditEntry::list(conn, org_id, q))
                .await
            {
                Ok(entries) => {
                    let mut text = if first {
                        CSV_HEADER.to_owned()
                    } else {
                        String::new()
                    };
                    text.push_str(&csv_rows(&entries));
                    let next = match entries.last() {
                        Some(last) if entries.len() as i64 == CSV_CHUNK => {
                            Some((Some(last.id), false))
                        }
                        _ => None,
                    };
                    Some((Ok::<_, AppError>(web::Bytes::from(text)), next))
                }
                // the response has begun: the error can only cut it short, so it is logged here
                Err(err) => {
                    tracing::error!(error = %err, organization_id = org_id, "the audit log export stopped");
                    Some((Err(AppError::from(err)), None))
                }
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}-audit-log.csv\"", access.org.slug),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_that_look_like_formulas_are_neutralized() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "\"'+1\"");
        assert_eq!(csv_cell("-2"), "\"'-2\"");
        assert_eq!(csv_cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_cell("plain, text"), "\"plain, text\"");
    }

    #[test]
    fn times_read_relative_to_now() {
        let now = chrono::DateTime::from_timestamp(10_000_000, 0)
            .unwrap()
            .naive_utc();
        let ago = |secs: i64| relative_time(now - chrono::Duration::seconds(secs), now);
        assert_eq!(ago(5), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(7200), "2 hours ago");
        assert_eq!(ago(3 * 86_400), "3 days ago");
        assert_eq!(ago(40 * 86_400), "1970-03-17");
    }
}
