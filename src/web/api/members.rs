//! The members API (Sentry's `organization_member/index.py` and `details.py`):
//! `GET/POST /api/0/organizations/{org}/members/` and `GET/PUT/DELETE …/members/{member_id}/`,
//! through the domain functions of the Members page, with its rules and messages.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

use super::auth::{ApiAccess, MemberAdmin, MemberRead, MemberWrite};
use super::error::ApiError;
use super::pagination::{PageRequest, link_header, page_links};
use super::{json_body, serialize};
use crate::db::query;
use crate::drf;
use crate::errors::{DomainError, FieldErrors};
use crate::members::{self, MemberFilter, MemberView};
use crate::models::role::Role;
use crate::web::limits::API_BODY_LIMIT;
use crate::web::respond::client_ip;
use crate::web::state::AppState;

async fn object(req: &HttpRequest, payload: web::Payload) -> Result<Map<String, Value>, ApiError> {
    match json_body(req, payload, API_BODY_LIMIT).await? {
        Value::Object(data) => Ok(data),
        other => Err(ApiError::Invalid(FieldErrors::single(
            "non_field_errors",
            format!(
                "Invalid data. Expected a dictionary, but got {}.",
                drf::python_type_name(&other)
            ),
        ))),
    }
}

/// The role a body asks for: `orgRole`, or the deprecated `role`; with the key it came in.
fn requested_role(data: &Map<String, Value>) -> Result<Option<(&'static str, Role)>, ApiError> {
    for key in ["orgRole", "role"] {
        if let Some(value) = data.get(key).filter(|v| !v.is_null()) {
            let text = drf::choice(value, &crate::settings::update::ROLE_CHOICES)
                .map_err(|message| ApiError::Invalid(FieldErrors::single(key, message)))?;
            let role = Role::parse(text)
                .map_err(|message| ApiError::Invalid(FieldErrors::single(key, message)))?;
            return Ok(Some((key, role)));
        }
    }
    Ok(None)
}

/// The member of this organization a path names: an id, or `me` (the caller's own membership).
async fn find(
    state: &AppState,
    org_id: i64,
    caller_id: i64,
    member_id: &str,
) -> Result<MemberView, ApiError> {
    let filter = match member_id {
        "me" => MemberFilter {
            user_ids: vec![caller_id],
            ..MemberFilter::default()
        },
        id => MemberFilter {
            ids: vec![id.parse().map_err(|_| ApiError::NotFound)?],
            ..MemberFilter::default()
        },
    };
    state
        .db(move |conn| members::search(conn, org_id, &filter, 0, 1))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    api: ApiAccess<MemberRead>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::from_request(&req)?;
    let (number, offset) = page.page()?;
    let raw = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == "query")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let filter = MemberFilter::parse(&raw);
    let (org_id, limit) = (api.access.org.id, page.per_page);
    let mut views = state
        .db(move |conn| members::search(conn, org_id, &filter, offset, limit + 1))
        .await?;
    let more = views.len() as i64 > limit;
    views.truncate(limit as usize);
    let now = query::now();
    let body: Vec<Value> = views.iter().map(|v| serialize::member(v, now)).collect();
    let (previous, next) = page_links(limit, number, more);
    Ok(HttpResponse::Ok()
        .insert_header(("Link", link_header(&req, &state.config, previous, next)))
        .json(body))
}

/// `POST`: `email`, `orgRole` (or `role`; the organization's default when left out) and
/// `sendInvite` (default true): 201 with the invitation.
pub async fn invite(
    state: web::Data<AppState>,
    req: HttpRequest,
    api: ApiAccess<MemberWrite>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let data = object(&req, payload).await?;
    let email = match data.get("email") {
        None => {
            return Err(ApiError::Invalid(FieldErrors::single(
                "email",
                drf::REQUIRED,
            )));
        }
        Some(value) => drf::string(value, false, Some(75))
            .map_err(|message| ApiError::Invalid(FieldErrors::single("email", message)))?,
    };
    let (role_key, role) =
        requested_role(&data)?.unwrap_or(("orgRole", api.access.org.default_role));
    let send = match data.get("sendInvite") {
        None => true,
        Some(value) => drf::boolean(value)
            .map_err(|message| ApiError::Invalid(FieldErrors::single("sendInvite", message)))?,
    };
    let actor = api.access.actor(client_ip(&req));
    let (org, actor_role, config) = (
        api.access.org.clone(),
        api.access.role,
        state.config.clone(),
    );
    let org_id = org.id;
    let made = state
        .write(move |conn| {
            members::invite(conn, &config, &org, &actor, actor_role, &email, role, send)
        })
        .await;
    let member = match made {
        Ok(member) => member,
        // the page names the role field `role`; the API names what was sent
        Err(DomainError::Invalid(errors)) => {
            return Err(ApiError::Invalid(errors.renamed("role", role_key)));
        }
        Err(other) => return Err(other.into()),
    };
    let id = member.id.to_string();
    let view = find(&state, org_id, 0, &id).await?;
    Ok(HttpResponse::Created().json(serialize::member(&view, query::now())))
}

pub async fn details(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    api: ApiAccess<MemberRead>,
) -> Result<HttpResponse, ApiError> {
    let view = find(&state, api.access.org.id, api.access.user.id, &path.1).await?;
    let mut body = serialize::member(&view, query::now());
    // Sentry's details add the roles the caller may give
    body["orgRoleList"] = Value::from(
        members::assignable_roles(api.access.role)
            .iter()
            .map(|r| serde_json::json!({"id": r.id(), "name": r.name()}))
            .collect::<Vec<_>>(),
    );
    Ok(HttpResponse::Ok().json(body))
}

/// `PUT`: `orgRole` (or `role`) changes the role; `reinvite: true` sends a pending invitation
/// again (`regenerate: true` as well: every resend makes a new link here).
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    api: ApiAccess<MemberWrite>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let data = object(&req, payload).await?;
    let view = find(&state, api.access.org.id, api.access.user.id, &path.1).await?;
    let flag = |key: &str| -> Result<bool, ApiError> {
        match data.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(value) => drf::boolean(value)
                .map_err(|message| ApiError::Invalid(FieldErrors::single(key, message))),
        }
    };
    let resend = flag("reinvite")? || flag("regenerate")?;
    let role = requested_role(&data)?;
    let actor = api.access.actor(client_ip(&req));
    let (org, actor_role, config) = (
        api.access.org.clone(),
        api.access.role,
        state.config.clone(),
    );
    let (org_id, member_id) = (org.id, view.member.id);
    state
        .write(move |conn| {
            members::update(
                conn,
                &config,
                &org,
                &actor,
                actor_role,
                member_id,
                role.map(|(_, role)| role),
                resend,
            )
        })
        .await?;
    let view = find(&state, org_id, 0, &member_id.to_string()).await?;
    Ok(HttpResponse::Ok().json(serialize::member(&view, query::now())))
}

pub async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    api: ApiAccess<MemberAdmin>,
) -> Result<HttpResponse, ApiError> {
    let view = find(&state, api.access.org.id, api.access.user.id, &path.1).await?;
    let actor = api.access.actor(client_ip(&req));
    let (org, actor_role, member_id) = (api.access.org.clone(), api.access.role, view.member.id);
    state
        .write(move |conn| members::remove(conn, &org, &actor, actor_role, member_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
