//! The danger zone of the General page: an owner removes the organization (slug and password typed
//! again) or restores one that is pending deletion.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::form::SettingsPage;
use super::view::{Overlay, load_options, render_form};
use crate::errors::DomainError;
use crate::settings::delete;
use crate::settings::update::OrganizationUpdate;
use crate::web::access::OrgAccess;
use crate::web::error::AppError;
use crate::web::respond::redirect_with;
use crate::web::session::FlashLevel;
use crate::web::state::AppState;

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    confirm_slug: String,
    #[serde(default)]
    password: String,
}

/// `POST /settings/{org}/remove/`: an owner schedules the organization's deletion, after typing its
/// slug and their password.
pub async fn remove(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    access: OrgAccess,
    form: web::Form<RemoveForm>,
) -> Result<HttpResponse, AppError> {
    if !access.role.is_owner() {
        return Err(AppError::forbidden(
            "Only owners can remove an organization.",
        ));
    }
    let RemoveForm {
        confirm_slug,
        password: typed,
    } = form.into_inner();
    let (error, status) = if confirm_slug.trim() != access.org.slug {
        (
            format!(
                "Type the organization's slug, {}, to confirm.",
                access.org.slug
            ),
            StatusCode::BAD_REQUEST,
        )
    } else {
        let actor = access.actor_of(&req);
        let (org_id, user) = (access.org.id, access.user.clone());
        let throttle = state.config.login_throttle;
        let scheduled = state
            .db(move |conn| {
                delete::schedule_after_password(conn, throttle, org_id, &actor, &user, &typed)
            })
            .await;
        match scheduled {
            Ok(org) => {
                let due = org
                    .deletion_scheduled_at
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default();
                return redirect_with(
                    &session,
                    FlashLevel::Info,
                    format!(
                        "{} is scheduled for deletion on {due}. Owners can restore it until then.",
                        org.name
                    ),
                    &format!("/settings/{}/", org.slug),
                );
            }
            Err(DomainError::Refused(message)) => {
                return redirect_with(
                    &session,
                    FlashLevel::Error,
                    message,
                    &format!("/settings/{}/", access.org.slug),
                );
            }
            Err(DomainError::Invalid(errors)) => (errors.get("password"), StatusCode::BAD_REQUEST),
            Err(DomainError::RateLimited(message)) => (message, StatusCode::TOO_MANY_REQUESTS),
            Err(other) => return Err(other.into()),
        }
    };
    let current = load_options(&state, &access).await?;
    let overlay = Overlay {
        remove_error: error,
        ..Overlay::default()
    };
    render_form(
        SettingsPage::General,
        &session,
        &access,
        &current,
        &state,
        overlay,
        status,
    )
}

/// `POST /settings/{org}/restore/`: an owner cancels a scheduled deletion (`cancelDeletion: true`).
pub async fn restore(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    access: OrgAccess,
) -> Result<HttpResponse, AppError> {
    if !access.role.is_owner() {
        return Err(AppError::forbidden(
            "Only owners can restore an organization.",
        ));
    }
    let update = OrganizationUpdate {
        cancel_deletion: Some(true),
        ..OrganizationUpdate::default()
    };
    let saved = access.save(&state, &req, update).await?;
    let message = if saved.restored {
        format!("{} was restored.", saved.settings.org.name)
    } else {
        format!("{} is not scheduled for deletion.", saved.settings.org.name)
    };
    redirect_with(
        &session,
        FlashLevel::Success,
        message,
        &format!("/settings/{}/", saved.settings.org.slug),
    )
}
