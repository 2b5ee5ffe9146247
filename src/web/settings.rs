//! `/settings/{org}/`: the organization's general page.

use actix_session::Session;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use super::access::OrgAccess;
use super::error::AppError;
use super::page::{PageCtx, Section, render};
use crate::models::organization::Organization;
use crate::models::role::Role;

#[derive(Template)]
#[template(path = "settings/general.html")]
struct GeneralPage {
    ctx: PageCtx,
    org: Organization,
    role: Role,
}

pub async fn general_page(session: Session, access: OrgAccess) -> Result<HttpResponse, AppError> {
    let page = GeneralPage {
        ctx: PageCtx::for_org(
            &session,
            &access.user,
            &access.org,
            access.role,
            Section::General,
        )?,
        org: access.org,
        role: access.role,
    };
    render(StatusCode::OK, &page)
}
