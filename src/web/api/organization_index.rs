//! `GET/POST /api/0/organizations/` (Sentry's `OrganizationIndexEndpoint`): the caller's
//! organizations, newest first, a page at a time (`?query=`, `?owner=1`, `?show=all` for a superuser
//! in superuser mode), and creating one, whose creator becomes its owner.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::auth::{OrgRead, OrgWrite, UserAccess};
use super::error::ApiError;
use super::pagination::{PageRequest, link_header, page_links};
use super::{json_body, serialize};
use crate::drf;
use crate::errors::FieldErrors;
use crate::models::org_search::{self, Among, OrgFilter};
use crate::models::organization::OrgName;
use crate::models::role::Role;
use crate::models::slug::Slug;
use crate::settings::create::{self, NewOrganization};
use crate::settings::current::OrgSettings;
use crate::tokens::scopes::Scopes;
use crate::web::limits::API_BODY_LIMIT;
use crate::web::respond::client_ip;
use crate::web::state::AppState;
use crate::web::superuser_mode;

/// The value of a query parameter.
fn param(req: &HttpRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    caller: UserAccess<OrgRead>,
) -> Result<HttpResponse, ApiError> {
    let user = caller.user;
    let config = state.config.clone();
    if matches!(param(&req, "owner").as_deref(), Some("1" | "true")) {
        let user_id = user.id;
        let owned = state
            .db(move |conn| org_search::owned_by(conn, user_id))
            .await?;
        let body: Vec<Value> = owned
            .iter()
            .map(|(org, avatar, single)| {
                json!({
                    "organization": serialize::organization_summary(org, avatar.as_ref(), &config),
                    "singleOwner": single,
                })
            })
            .collect();
        return Ok(HttpResponse::Ok().json(body));
    }
    let page = PageRequest::from_request(&req)?;
    let (number, offset) = page.page()?;
    // a token never carries superuser mode
    let all = caller.token_scopes.is_none()
        && param(&req, "show").as_deref() == Some("all")
        && superuser_mode::mode(&session, &user).is_active();
    let among = if all {
        Among::All
    } else {
        Among::MemberOf(user.id)
    };
    let filter = OrgFilter::parse(&param(&req, "query").unwrap_or_default());
    let limit = page.per_page;
    let mut rows = state
        .db(move |conn| org_search::page(conn, among, &filter, offset, limit + 1))
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let (previous, next) = page_links(limit, number, more);
    let body: Vec<Value> = rows
        .iter()
        .map(|(org, avatar)| serialize::organization_summary(org, avatar.as_ref(), &config))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Link", link_header(&req, &config, previous, next)))
        .json(body))
}

/// The body's fields, checked as Sentry's `OrganizationPostSerializer` checks them; every error at
/// once.
fn parse(data: &Map<String, Value>, asks_terms: bool) -> Result<NewOrganization, ApiError> {
    let mut errors = FieldErrors::new();
    let name = match data.get("name") {
        None => {
            errors.add("name", drf::REQUIRED);
            None
        }
        Some(value) => errors
            .take("name", drf::string(value, false, None))
            .and_then(|text| errors.take("name", OrgName::parse(&text))),
    };
    let slug = match data.get("slug") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(value) => errors
            .take("slug", drf::string(value, false, None))
            .and_then(|text| errors.take("slug", Slug::parse(&text))),
    };
    let agreed_to_terms = match data.get("agreeTerms") {
        None if asks_terms => {
            errors.add("agreeTerms", drf::REQUIRED);
            false
        }
        None => false,
        Some(value) => errors
            .take("agreeTerms", drf::boolean(value))
            .unwrap_or(false),
    };
    errors.into_result()?;
    // without a name there is an error on it, returned just above
    let Some(name) = name else {
        return Err(ApiError::Invalid(FieldErrors::single(
            "name",
            drf::REQUIRED,
        )));
    };
    Ok(NewOrganization {
        name,
        slug,
        agreed_to_terms,
    })
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: UserAccess<OrgWrite>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&req, payload, API_BODY_LIMIT).await?;
    let Value::Object(data) = body else {
        return Err(ApiError::Invalid(FieldErrors::single(
            "non_field_errors",
            format!(
                "Invalid data. Expected a dictionary, but got {}.",
                drf::python_type_name(&body)
            ),
        )));
    };
    let new = parse(&data, state.config.terms.is_some())?;
    let owner = caller.user.clone();
    let actor = crate::models::actor::Actor::user(&owner, client_ip(&req));
    let config = state.config.clone();
    let current = state
        .db(move |conn| {
            let org = create::create(conn, &config, &new, &owner, &actor)?;
            Ok::<_, crate::errors::DomainError>(OrgSettings::load(conn, org)?)
        })
        .await?;
    let role_scopes = Scopes::of_role(Role::Owner);
    let access = match &caller.token_scopes {
        Some(scopes) => scopes.intersection(&role_scopes),
        None => role_scopes,
    };
    Ok(HttpResponse::Created().json(serialize::organization(
        &current,
        Role::Owner,
        &access,
        &state.config,
    )))
}
