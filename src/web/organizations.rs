//! `/organizations/`: the user's organizations, and creating a new one.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::AppError;
use super::page::AvatarView;
use super::page::{PageCtx, render};
use super::respond::{client_ip, see_other};
use super::session::{self, CurrentUser, FlashLevel};
use crate::config::Terms;
use crate::errors::{DomainError, FieldErrors};
use crate::models::actor::Actor;
use crate::models::organization::{OrgName, OrgWithRole, Organization};
use crate::models::slug::Slug;
use crate::settings::create::{self, NewOrganization};
use crate::web::state::AppState;

pub struct OrgItem {
    pub org: Organization,
    pub role_name: &'static str,
    pub avatar: AvatarView,
}

#[derive(Template)]
#[template(path = "organizations/list.html")]
struct ListPage {
    ctx: PageCtx,
    orgs: Vec<OrgItem>,
}

pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, AppError> {
    let user_id = user.id;
    let all = super::superuser_mode::mode(&session, &user).is_active();
    let orgs = state
        .db(move |conn| {
            if all {
                // superuser mode shows every organization that lets superusers in
                Organization::list_all(conn, user_id).map(|orgs| {
                    orgs.into_iter()
                        .filter(|o| o.role.is_some() || o.org.admits_superusers())
                        .collect()
                })
            } else {
                Organization::list_for_user(conn, user_id)
            }
        })
        .await?;
    let orgs = orgs
        .into_iter()
        .map(
            |OrgWithRole {
                 org,
                 role,
                 upload_ident,
             }| OrgItem {
                avatar: AvatarView::from_parts(&org.name, upload_ident.as_deref()),
                org,
                role_name: role.map_or("Superuser access", |r| r.name()),
            },
        )
        .collect();
    let page = ListPage {
        ctx: PageCtx::new(&session, Some(&user))?,
        orgs,
    };
    render(StatusCode::OK, &page)
}

#[derive(Debug, Default, Deserialize)]
pub struct NewOrgForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default, rename = "agreeTerms")]
    agree_terms: Option<String>,
}

#[derive(Template)]
#[template(path = "organizations/new.html")]
struct NewPage {
    ctx: PageCtx,
    form: NewOrgForm,
    errors: FieldErrors,
    /// The instance's terms, when creating an organization asks to agree to them.
    terms: Option<Terms>,
}

pub async fn new_page(
    state: web::Data<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, AppError> {
    let page = NewPage {
        ctx: PageCtx::new(&session, Some(&user))?,
        form: NewOrgForm::default(),
        errors: FieldErrors::new(),
        terms: state.config.terms.clone(),
    };
    render(StatusCode::OK, &page)
}

/// Parses the form: a name, and a slug unless left empty (then one is made from the name).
fn parse(form: &NewOrgForm) -> Result<NewOrganization, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = errors.take("name", OrgName::parse(&form.name));
    let slug = if form.slug.trim().is_empty() {
        None
    } else {
        errors.take("slug", Slug::parse(&form.slug))
    };
    match name {
        Some(name) if errors.is_empty() => Ok(NewOrganization {
            name,
            slug,
            agreed_to_terms: form.agree_terms.is_some(),
        }),
        _ => Err(errors),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    form: web::Form<NewOrgForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let result = match parse(&form) {
        Err(errors) => Err(errors),
        Ok(new) => {
            let owner = user.clone();
            let actor = Actor::user(&user, client_ip(&req));
            let config = state.config.clone();
            let created = state
                .db(move |conn| create::create(conn, &config, &new, &owner, &actor))
                .await;
            match created {
                Ok(org) => Ok(org),
                Err(DomainError::Invalid(errors)) => Err(errors),
                Err(other) => return Err(other.into()),
            }
        }
    };
    match result {
        Ok(org) => {
            session::flash(
                &session,
                FlashLevel::Success,
                format!("Organization {} created. You are its owner.", org.name),
            )?;
            Ok(see_other(&format!("/settings/{}/", org.slug)))
        }
        Err(errors) => {
            let page = NewPage {
                ctx: PageCtx::new(&session, Some(&user))?,
                form,
                errors,
                terms: state.config.terms.clone(),
            };
            render(StatusCode::BAD_REQUEST, &page)
        }
    }
}
