//! `GET /api/0/organizations/{org}/audit-logs/` (Sentry's `OrganizationAuditLogsEndpoint`): the
//! audit log as `{"rows": [...], "options": [...]}`, newest first, filtered by `event` (an API
//! name; an unknown one matches nothing), `actor` (a user id), `start` and `end`, a page at a
//! time with key cursors (`id:0:is_prev`), so entries written meanwhile never shift a page.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{ApiAccess, OrgWrite};
use super::error::ApiError;
use super::pagination::{Cursor, Link, PageRequest, link_header};
use super::serialize::iso;
use crate::drf;
use crate::errors::FieldErrors;
use crate::models::audit::{AuditEntry, AuditEvent, AuditQuery};
use crate::models::user::User;
use crate::web::state::AppState;

/// The filters of the query string; every bad value at once (DRF's messages).
fn filters(req: &HttpRequest) -> Result<(AuditQuery, bool), ApiError> {
    let mut errors = FieldErrors::new();
    let mut query = AuditQuery::default();
    let mut nothing = false;
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match key.as_ref() {
            "event" => match AuditEvent::from_api_name(&value) {
                Some(event) => query.event = Some(event),
                None => nothing = true,
            },
            "actor" => match value.trim().parse::<i64>() {
                Ok(id) => query.actor = Some(id),
                Err(_) => errors.add("actor", drf::NOT_AN_INTEGER),
            },
            "start" => query.start = errors.take("start", drf::datetime(&value)),
            "end" => query.end = errors.take("end", drf::datetime(&value)),
            _ => {}
        }
    }
    errors.into_result()?;
    Ok((query, nothing))
}

/// Sentry's user block for an actor or a target.
fn user_json(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "name": if user.name.is_empty() { &user.username } else { &user.name },
        "username": user.username,
        "email": user.email,
        "avatarUrl": null,
        "isActive": user.is_active,
    })
}

fn row(entry: &AuditEntry, users: &[User]) -> Value {
    let find = |id: Option<i64>| id.and_then(|id| users.iter().find(|u| u.id == id));
    let actor = match find(entry.actor_id) {
        Some(user) => user_json(user),
        // the command line, or a user removed since: the name recorded with the entry
        None => json!({"id": entry.actor_id.map(|id| id.to_string()), "name": entry.actor_label}),
    };
    json!({
        "id": entry.id.to_string(),
        "actor": actor,
        "event": entry.event().map(AuditEvent::api_name),
        "ipAddress": entry.ip_address,
        "note": entry.sentence(),
        "targetObject": entry.target_object,
        "targetUser": find(entry.target_user_id).map(user_json),
        "data": serde_json::from_str::<Value>(&entry.data).unwrap_or(Value::Null),
        "dateCreated": iso(entry.datetime),
    })
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    api: ApiAccess<OrgWrite>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::from_request(&req)?;
    let (filter, nothing) = filters(&req)?;
    let (before, after) = match page.cursor {
        Some(Cursor {
            value,
            is_prev: true,
            ..
        }) => (None, Some(value)),
        Some(Cursor { value, .. }) => (Some(value), None),
        None => (None, None),
    };
    let (org_id, size) = (api.access.org.id, page.per_page);
    let (found, users) = state
        .db(move |conn| {
            if nothing {
                return Ok((None, Vec::new()));
            }
            let found = AuditEntry::page(conn, org_id, filter, before, after, size)?;
            let ids: Vec<i64> = found
                .entries
                .iter()
                .flat_map(|e| [e.actor_id, e.target_user_id])
                .flatten()
                .collect();
            let users = User::find_many(conn, &ids)?;
            Ok::<_, diesel::result::Error>((Some(found), users))
        })
        .await?;
    let (rows, previous, next) = match found {
        None => (Vec::new(), None, None),
        Some(found) => (
            found.entries.iter().map(|e| row(e, &users)).collect(),
            found.newer,
            found.older,
        ),
    };
    let link = |id: Option<i64>, is_prev: bool| Link {
        cursor: Cursor {
            value: id.unwrap_or(0),
            offset: 0,
            is_prev,
        },
        has_results: id.is_some(),
    };
    let options: Vec<&str> = AuditEvent::ALL.iter().map(|e| e.api_name()).collect();
    Ok(HttpResponse::Ok()
        .insert_header((
            "Link",
            link_header(&req, &state.config, link(previous, true), link(next, false)),
        ))
        .json(json!({"rows": rows, "options": options})))
}
