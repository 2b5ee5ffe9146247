//! `GET/PUT /api/0/organizations/{org}/` and `GET/PUT /api/0/organizations/{org}/avatar/`

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

use super::auth::{ApiAccess, OrgAdmin, OrgRead, OrgWrite};
use super::error::ApiError;
use super::{json_body, serialize};
use crate::config::Features;
use crate::errors::{DomainError, FieldErrors};
use crate::settings::current::OrgSettings;
use crate::settings::update::{AvatarChange, AvatarFields, OrganizationUpdate};
use crate::web::error::AppError;
use crate::web::limits::API_BODY_LIMIT;
use crate::web::respond::client_ip;
use crate::web::state::AppState;

/// The organization as the request resolved it (its row and avatar were read for this request), with
/// its options: the answer kept for that row and avatar, or written now (and kept).
async fn show<P>(state: &AppState, api: &ApiAccess<P>) -> Result<HttpResponse, ApiError> {
    let access = &api.access;
    let (org, avatar, role) = (&access.org, access.avatar.as_ref(), access.role);
    if let Some(body) = state.org_answers.get(org, avatar, role, &api.scopes) {
        return Ok(json_answer(body));
    }
    let current = state.settings_of(org.clone(), avatar.cloned()).await?;
    let body = serialize::organization(&current, role, &api.scopes, &state.config);
    let body = Bytes::from(
        serde_json::to_vec(&body)
            .map_err(|err| ApiError::Internal(anyhow::Error::new(err).context("writing JSON")))?,
    );
    state
        .org_answers
        .keep(org, avatar, role, &api.scopes, body.clone());
    Ok(json_answer(body))
}

/// A 200 with a JSON body already written.
fn json_answer(body: Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body)
}

fn answer<P>(
    state: &AppState,
    api: &ApiAccess<P>,
    current: &OrgSettings,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(serialize::organization(
        current,
        api.access.role,
        &api.scopes,
        &state.config,
    )))
}

pub async fn details(
    state: web::Data<AppState>,
    access: ApiAccess<OrgRead>,
) -> Result<HttpResponse, ApiError> {
    show(&state, &access).await
}

pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    access: ApiAccess<OrgWrite>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    save_and_show(state, req, access, payload, OrganizationUpdate::parse).await
}

/// `GET /api/0/organizations/{org}/avatar/`: the organization, as the avatar endpoint answers.
pub async fn avatar_details(
    state: web::Data<AppState>,
    access: ApiAccess<OrgRead>,
) -> Result<HttpResponse, ApiError> {
    show(&state, &access).await
}

/// `PUT /api/0/organizations/{org}/avatar/` with `avatar_type` and `avatar_photo` (base64).
pub async fn avatar_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    access: ApiAccess<OrgWrite>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    save_and_show(state, req, access, payload, |data, _, _| {
        let mut errors = FieldErrors::new();
        let avatar = AvatarChange::parse(
            data.get("avatar_type"),
            data.get("avatar_photo"),
            AvatarFields::Endpoint,
            &mut errors,
        )?;
        errors.into_result()?;
        Ok(OrganizationUpdate {
            avatar,
            ..OrganizationUpdate::default()
        })
    })
    .await
}

/// Reads the JSON object, parses it off the async workers (images are decoded there), saves, and
/// answers with the organization.
async fn save_and_show<F>(
    state: web::Data<AppState>,
    req: HttpRequest,
    api: ApiAccess<OrgWrite>,
    payload: web::Payload,
    parse: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(&Map<String, Value>, bool, &Features) -> Result<OrganizationUpdate, DomainError>
        + Send
        + 'static,
{
    let is_owner = api.is_admin();
    let body = json_body(&req, payload, API_BODY_LIMIT).await?;
    let Value::Object(data) = body else {
        let got = crate::drf::python_type_name(&body);
        return Err(ApiError::Invalid(FieldErrors::single(
            "non_field_errors",
            format!("Invalid data. Expected a dictionary, but got {got}."),
        )));
    };
    let features = state.config.features.clone();
    // an image in the body is decoded while parsing: that is image work, queued as such
    let has_image = ["avatar", "avatar_photo"]
        .iter()
        .any(|key| data.get(*key).is_some_and(|v| !v.is_null()));
    let body_len = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let update = if has_image {
        state
            .image_work(move || parse(&data, is_owner, &features))
            .await??
    } else if OrganizationUpdate::parses_quickly(&data, body_len) {
        parse(&data, is_owner, &features)?
    } else {
        web::block(move || parse(&data, is_owner, &features))
            .await
            .map_err(AppError::from)??
    };
    let current = api.access.save(&state, &req, update).await?.settings;
    answer(&state, &api, &current)
}

/// `DELETE /api/0/organizations/{org}/`: schedules the deletion as the page does (`org:admin`),
/// answering 202 with the organization and its pending status; an organization already pending
/// deletion answers the same, unchanged. A session needs sudo (a recent password); a token is sudo.
pub async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: actix_session::Session,
    api: ApiAccess<OrgAdmin>,
) -> Result<HttpResponse, ApiError> {
    if !api.by_token && !crate::web::sudo::is_active(&session) {
        return Err(ApiError::SudoRequired(api.access.user.username.clone()));
    }
    let actor = api.access.actor(client_ip(&req));
    let org_id = api.access.org.id;
    let current = state
        .db(move |conn| {
            crate::settings::delete::schedule_unless_pending(conn, org_id, &actor)?;
            Ok::<_, DomainError>(OrgSettings::load_by_id(conn, org_id)?)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(serialize::organization(
        &current,
        api.access.role,
        &api.scopes,
        &state.config,
    )))
}
