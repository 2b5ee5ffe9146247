//! `/setup/{token}/`: the one-time page of an empty instance that creates the first superuser and
//! their organization, then logs them in.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::AppError;
use super::page::{PageCtx, render};
use super::respond::{client_ip, see_other};
use super::session::FlashLevel;
use super::session::{self};
use crate::errors::{DomainError, FieldErrors};
use crate::models::organization::OrgName;
use crate::models::setup;
use crate::models::slug::Slug;
use crate::models::user::{NewUser, SignUp};
use crate::web::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    organization: String,
    #[serde(default)]
    slug: String,
}

#[derive(Template)]
#[template(path = "setup/setup.html")]
struct SetupPage {
    ctx: PageCtx,
    token: String,
    form: SetupForm,
    errors: FieldErrors,
}

fn link_gone() -> AppError {
    AppError::BadRequest(
        "This setup link is not valid any more: it was used already, or the server printed a newer \
         one when it restarted. Log in, or use the newest link."
            .into(),
    )
}

pub async fn setup_page(
    state: web::Data<AppState>,
    session: Session,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let candidate = token.clone();
    if !state
        .db(move |conn| setup::is_valid(conn, &candidate))
        .await?
    {
        return Err(link_gone());
    }
    let page = SetupPage {
        ctx: PageCtx::new(&session, None)?,
        token,
        form: SetupForm::default(),
        errors: FieldErrors::new(),
    };
    render(StatusCode::OK, &page)
}

fn parse(form: &SetupForm) -> Result<(NewUser, OrgName, Option<Slug>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let sign_up = SignUp {
        username: &form.username,
        email: &form.email,
        password: &form.password,
        password_confirm: Some(&form.password_confirm),
    };
    let new_user = NewUser::parse(sign_up, &mut errors);
    let org_name = errors.take("organization", OrgName::parse(&form.organization));
    let slug = if form.slug.trim().is_empty() {
        None
    } else {
        errors.take("slug", Slug::parse(&form.slug))
    };
    match (new_user, org_name) {
        (Some(new_user), Some(org_name)) if errors.is_empty() => Ok((
            NewUser {
                is_superuser: true,
                ..new_user
            },
            org_name,
            slug,
        )),
        _ => Err(errors),
    }
}

pub async fn setup(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let mut form = form.into_inner();
    let errors = match parse(&form) {
        Err(errors) => errors,
        Ok((new_user, org_name, slug)) => {
            let candidate = token.clone();
            let ip = client_ip(&req);
            let done = state
                .db(move |conn| {
                    setup::complete(conn, &candidate, &new_user, &org_name, slug.as_ref(), ip)
                })
                .await;
            match done {
                Ok(Some((user, org))) => {
                    session::log_in(&session, &user)?;
                    session::flash(
                        &session,
                        FlashLevel::Success,
                        format!(
                            "Welcome, {}. You are the superuser of this instance and the owner of {}.",
                            user.username, org.name
                        ),
                    )?;
                    tracing::info!(user_id = user.id, org = %org.slug, "setup completed");
                    return Ok(see_other(&format!("/settings/{}/", org.slug)));
                }
                Ok(None) => return Err(link_gone()),
                Err(DomainError::Invalid(errors)) => errors,
                Err(other) => return Err(other.into()),
            }
        }
    };
    form.password.clear();
    form.password_confirm.clear();
    let page = SetupPage {
        ctx: PageCtx::new(&session, None)?,
        token,
        form,
        errors,
    };
    render(StatusCode::BAD_REQUEST, &page)
}
