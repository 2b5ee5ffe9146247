//! `GET/PUT /api/0/organizations/{org}/`

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::error::ApiError;
use super::{ApiAccess, json_body, serialize};
use crate::app::{AppState, FORM_LIMIT};
use crate::models::organization::Organization;
use crate::settings::current::OrgSettings;
use crate::settings::save::{SaveContext, save};
use crate::settings::update::OrganizationUpdate;
use crate::web::error::AppError;

async fn load(state: &AppState, org_id: i64) -> Result<OrgSettings, ApiError> {
    Ok(state
        .db(move |conn| -> Result<_, AppError> {
            let org = Organization::find(conn, org_id)?;
            Ok(OrgSettings::load(conn, org)?)
        })
        .await?)
}

pub async fn details(
    state: web::Data<AppState>,
    ApiAccess(access): ApiAccess,
) -> Result<HttpResponse, ApiError> {
    let current = load(&state, access.org.id).await?;
    Ok(HttpResponse::Ok().json(serialize::organization(
        &current,
        access.role,
        &state.settings,
    )))
}

pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiAccess(access): ApiAccess,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if !access.role.can_write() {
        return Err(ApiError::Forbidden);
    }
    let body = json_body(&req, payload, FORM_LIMIT).await?;
    let Value::Object(data) = body else {
        let got = crate::settings::drf::python_type_name(&body);
        return Err(ApiError::Invalid(crate::validation::FieldErrors::single(
            "non_field_errors",
            format!("Invalid data. Expected a dictionary, but got {got}."),
        )));
    };
    let update = OrganizationUpdate::parse(&data, access.role.is_owner(), &state.settings.features)
        .map_err(ApiError::Invalid)?;
    let actor = access.actor(&req);
    let (org_id, user) = (access.org.id, access.user.clone());
    let features = state.settings.features.clone();
    state
        .db(move |conn| {
            let ctx = SaveContext {
                actor: &actor,
                user: Some(&user),
                features: &features,
            };
            Ok::<_, AppError>(save(conn, org_id, &update, &ctx))
        })
        .await??;
    let current = load(&state, org_id).await?;
    Ok(HttpResponse::Ok().json(serialize::organization(
        &current,
        access.role,
        &state.settings,
    )))
}
