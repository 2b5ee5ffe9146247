//! Saving the settings form: the changed fields become the API's JSON, parsed and checked as the API
//! does; risky changes are confirmed first; then the one save flow runs.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

use super::form::{FieldSpec, SettingsPage, Submission, changed_fields};
use super::view::{
    ConflictView, Overlay, describe, load_current, load_options, render_form, shown_values,
};
use super::{CONFIRM_FIELD, JOBS_STARTED, SHOWN_FIELD};
use crate::errors::{Conflict, DomainError, FieldErrors};
use crate::models::job::Requirement;
use crate::settings::risks::{self, Risk, Scrubbing};
use crate::settings::save::Saved;
use crate::settings::update::OrganizationUpdate;
use crate::web::access::OrgAccess;
use crate::web::error::AppError;
use crate::web::respond::see_other;
use crate::web::session::FlashLevel;
use crate::web::session::{self};
use crate::web::state::AppState;

pub async fn general_submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    access: OrgAccess,
    body: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    submit(
        SettingsPage::General,
        state,
        session,
        req,
        access,
        body.into_inner(),
    )
    .await
}

pub async fn security_submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    access: OrgAccess,
    body: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    submit(
        SettingsPage::SecurityAndPrivacy,
        state,
        session,
        req,
        access,
        body.into_inner(),
    )
    .await
}

/// What became of a submitted form.
enum Outcome {
    Saved(Box<Saved>),
    Invalid(FieldErrors),
    Confirm(Vec<String>),
    Conflict(Vec<Conflict>),
    Refused(String),
}

async fn submit(
    page: SettingsPage,
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    access: OrgAccess,
    body: Vec<(String, String)>,
) -> Result<HttpResponse, AppError> {
    access.require_write()?;
    let submission = Submission::new(body);
    let claimed_shown: Option<Map<String, Value>> = submission
        .get(SHOWN_FIELD)
        .and_then(|text| serde_json::from_str(text).ok());
    let confirmed = submission.get(CONFIRM_FIELD) == Some("1");
    let features = state.config.features.clone();
    let (org_id, role) = (access.org.id, access.role);
    let current = load_options(&state, &access).await?;
    let fields: Vec<&'static FieldSpec> = page
        .fields(&current, &features)
        .filter(|spec| spec.editable_by(role))
        .collect();
    let shown = claimed_shown
        .clone()
        .unwrap_or_else(|| shown_values(page, &current, &features));
    let (changed, mut errors) = changed_fields(&submission, &fields, &shown);
    // parsing compiles Relay's regexes: off the async workers
    let is_owner = role.is_owner();
    let parse_features = features.clone();
    let parsed =
        web::block(move || OrganizationUpdate::parse(&changed, is_owner, &parse_features)).await?;
    let outcome = match parsed {
        Err(DomainError::Invalid(api_errors)) => {
            for (field, messages) in api_errors.fields() {
                for message in messages {
                    errors.add(field, message.clone());
                }
            }
            Outcome::Invalid(errors)
        }
        Err(other) => return Err(other.into()),
        Ok(_) if !errors.is_empty() => Outcome::Invalid(errors),
        Ok(mut update) => {
            let preview = if confirmed {
                Ok(Vec::new())
            } else {
                let (checking, current, features, actor) = (
                    update.clone(),
                    current.clone(),
                    features.clone(),
                    access.user.clone(),
                );
                state
                    .db(move |conn| risks::preview(conn, &checking, &current, &features, &actor))
                    .await
            };
            match preview {
                Err(DomainError::Invalid(errors)) => Outcome::Invalid(errors),
                Err(other) => return Err(other.into()),
                Ok(risks) if !risks.is_empty() => {
                    Outcome::Confirm(risks.iter().map(describe_risk).collect())
                }
                Ok(_) => {
                    update.expected = Some(shown.clone());
                    match access.save(&state, &req, update).await {
                        Ok(saved) => Outcome::Saved(Box::new(saved)),
                        Err(DomainError::Invalid(errors)) => Outcome::Invalid(errors),
                        Err(DomainError::Conflict(conflicts)) => Outcome::Conflict(conflicts),
                        Err(DomainError::Refused(message)) => Outcome::Refused(message),
                        Err(other) => return Err(other.into()),
                    }
                }
            }
        }
    };
    let features = &state.config.features;
    let mut overlay = Overlay {
        submission: Some(submission),
        shown: claimed_shown,
        ..Overlay::default()
    };
    match outcome {
        Outcome::Saved(saved) => {
            let message = if saved.changes.is_empty() {
                "No changes to save."
            } else {
                "Changes saved."
            };
            session::flash(&session, FlashLevel::Success, message)?;
            if saved.members_to_move > 0 {
                session::flash(&session, FlashLevel::Info, JOBS_STARTED)?;
            }
            Ok(see_other(&format!(
                "/settings/{}/{}",
                saved.settings.org.slug,
                page.subpath()
            )))
        }
        Outcome::Invalid(errors) => {
            overlay.errors = errors;
            overlay.form_error = "Some settings need fixing; nothing was saved.".into();
            render_form(
                page,
                &session,
                &access,
                &current,
                &state,
                overlay,
                StatusCode::BAD_REQUEST,
            )
        }
        Outcome::Confirm(dangers) => {
            overlay.dangers = dangers;
            render_form(
                page,
                &session,
                &access,
                &current,
                &state,
                overlay,
                StatusCode::OK,
            )
        }
        Outcome::Refused(message) => {
            overlay.form_error = message;
            let current = load_current(&state, org_id).await?;
            render_form(
                page,
                &session,
                &access,
                &current,
                &state,
                overlay,
                StatusCode::BAD_REQUEST,
            )
        }
        Outcome::Conflict(conflicts) => {
            let current = load_current(&state, org_id).await?;
            overlay.conflicts = conflicts
                .into_iter()
                .filter_map(|c| {
                    let spec = page.fields(&current, features).find(|f| f.key == c.field)?;
                    Some(ConflictView {
                        label: spec.label,
                        theirs: describe(spec, &c.theirs),
                        yours: describe(spec, &c.yours),
                    })
                })
                .collect();
            overlay.form_error =
                "Someone else changed these settings while you were editing them. \
                                  Nothing was saved. Check the values below and save again."
                    .into();
            // the next save is measured against what is stored now
            overlay.shown = Some(shown_values(page, &current, features));
            render_form(
                page,
                &session,
                &access,
                &current,
                &state,
                overlay,
                StatusCode::CONFLICT,
            )
        }
    }
}

/// A risk of a save, in words, for the confirmation above the form.
fn describe_risk(risk: &Risk) -> String {
    match risk {
        Risk::SlugChange { from, to } => format!(
            "Change the slug from \"{from}\" to \"{to}\": every URL of this organization changes. Links, \
             bookmarks and API scripts that use \"{from}\" are redirected until another organization \
             takes that slug; update them."
        ),
        Risk::ScrubbingOff(Scrubbing::DataScrubber) => {
            "Stop requiring the data scrubber: projects may then store events without server-side \
             scrubbing, including passwords and credit card numbers that SDKs send."
                .into()
        }
        Risk::ScrubbingOff(Scrubbing::DefaultScrubbers) => {
            "Stop requiring the default scrubbers: passwords, credit card numbers and similar values \
             may be stored in projects that do not scrub them themselves."
                .into()
        }
        Risk::ScrubbingOff(Scrubbing::IpAddresses) => {
            "Allow storing IP addresses of new events again.".into()
        }
        Risk::MembersRemoved {
            requirement,
            total,
            usernames,
        } => {
            let (what, fix) = match requirement {
                Requirement::TwoFactor => ("two-factor authentication", "set it up"),
                Requirement::VerifiedEmail => ("a verified email address", "verify their address"),
            };
            let others = total.saturating_sub(usernames.len());
            let named = if others > 0 {
                format!("{} and {others} more", usernames.join(", "))
            } else {
                usernames.join(", ")
            };
            format!(
                "Require {what}: {total} member{} without it will be removed from the organization \
                 and emailed: {named}. They become pending invitations and can rejoin once they {fix}.",
                if *total == 1 { "" } else { "s" },
            )
        }
    }
}
