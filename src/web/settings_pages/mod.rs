//! `/settings/{org}/` (General) and `/settings/{org}/security-and-privacy/`: the settings form, and
//! removing / restoring the organization.

pub mod form;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::access::OrgAccess;
use super::error::AppError;
use super::page::{PageCtx, Section, render};
use super::see_other;
use super::session::{self, FlashLevel};
use crate::auth::throttle::{self, Check, Secret};
use crate::config::Features;
use crate::members;
use crate::models::flags::Flag;
use crate::models::job;
use crate::models::organization::Organization;
use crate::models::role::Role;
use crate::ratelimit;
use crate::secrets::password;
use crate::settings::current::{OrgSettings, REQUIRED_EMAIL_VERIFICATION};
use crate::settings::delete;
use crate::settings::save::Saved;
use crate::settings::update::OrganizationUpdate;
use crate::validation::{Conflict, FieldErrors, SaveError};
use crate::web::state::AppState;
use form::{FieldSpec, Input, SettingsPage, Submission, changed_fields};

/// Hidden field: the values the form showed, as JSON (for conflict detection).
const SHOWN_FIELD: &str = "_shown";
/// Hidden field: the user confirmed the dangerous changes listed on the page.
const CONFIRM_FIELD: &str = "_confirm";
/// Shown after a save that started requirement jobs (they run after the redirect).
pub const JOBS_STARTED: &str = "Any member who does not meet the new requirement is being moved to \
                                a pending invitation and emailed; the Members page shows the \
                                changes as they happen.";

pub struct ChoiceView {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub struct FieldView {
    pub key: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    /// `checkbox`, `text`, `number`, `lines`, `code` or `select`
    pub input: &'static str,
    pub value: String,
    pub checked: bool,
    pub choices: Vec<ChoiceView>,
    pub max_len: usize,
    pub error: String,
    pub disabled: bool,
}

pub struct SectionView {
    pub id: &'static str,
    pub title: &'static str,
    pub fields: Vec<FieldView>,
}

pub struct ConflictView {
    pub label: &'static str,
    pub theirs: String,
    pub yours: String,
}

#[derive(Template)]
#[template(path = "settings/form.html")]
struct SettingsFormPage {
    ctx: PageCtx,
    title: &'static str,
    action: String,
    org: Organization,
    can_write: bool,
    is_owner: bool,
    sections: Vec<SectionView>,
    shown_json: String,
    form_error: String,
    dangers: Vec<String>,
    conflicts: Vec<ConflictView>,
    show_danger_zone: bool,
    remove_error: String,
}

/// What to put in the form besides the stored values.
#[derive(Default)]
struct Overlay {
    submission: Option<Submission>,
    errors: FieldErrors,
    /// What the form claims to have shown (kept across a re-render with errors).
    shown: Option<Map<String, Value>>,
    form_error: String,
    dangers: Vec<String>,
    conflicts: Vec<ConflictView>,
    remove_error: String,
}

fn render_form(
    page: SettingsPage,
    session: &Session,
    access: &OrgAccess,
    current: &OrgSettings,
    features: &Features,
    overlay: Overlay,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let role = access.role;
    let section = match page {
        SettingsPage::General => Section::General,
        SettingsPage::SecurityAndPrivacy => Section::SecurityAndPrivacy,
    };
    let shown = overlay
        .shown
        .unwrap_or_else(|| shown_values(page, current, features));
    let sections = page
        .sections()
        .iter()
        .map(|section| SectionView {
            id: section.id,
            title: section.title,
            fields: section
                .fields
                .iter()
                .filter(|spec| spec.is_shown(current, features))
                .map(|spec| {
                    field_view(
                        spec,
                        current,
                        features,
                        role,
                        overlay.submission.as_ref(),
                        &overlay.errors,
                    )
                })
                .collect(),
        })
        .filter(|section| !section.fields.is_empty())
        .collect();
    let org = current.org.clone();
    let ctx = PageCtx::for_org(session, access, section)?;
    let page_view = SettingsFormPage {
        ctx,
        title: page.title(),
        action: format!("/settings/{}/{}", org.slug, page.subpath()),
        can_write: role.can_write() && !org.is_pending_deletion(),
        is_owner: role.is_owner(),
        show_danger_zone: page == SettingsPage::General
            && role.is_owner()
            && !org.is_pending_deletion(),
        org,
        sections,
        shown_json: Value::Object(shown).to_string(),
        form_error: overlay.form_error,
        dangers: overlay.dangers,
        conflicts: overlay.conflicts,
        remove_error: overlay.remove_error,
    };
    render(status, &page_view)
}

/// The stored values of the page's fields, as the form shows them.
fn shown_values(
    page: SettingsPage,
    current: &OrgSettings,
    features: &Features,
) -> Map<String, Value> {
    page.fields(current, features)
        .filter_map(|spec| Some((spec.key.to_owned(), current.api_value(spec.key, features)?)))
        .collect()
}

fn field_view(
    spec: &'static FieldSpec,
    current: &OrgSettings,
    features: &Features,
    role: Role,
    submission: Option<&Submission>,
    errors: &FieldErrors,
) -> FieldView {
    let stored = current.api_value(spec.key, features).unwrap_or(Value::Null);
    let disabled = !spec.editable_by(role) || current.org.is_pending_deletion();
    // a form that comes back keeps what the user typed
    let typed = submission.filter(|_| !disabled);
    let (value, checked) = match (spec.input, typed) {
        (Input::Checkbox, Some(sub)) => (String::new(), sub.checked(spec)),
        (Input::Checkbox, None) => (String::new(), stored == Value::Bool(true)),
        (_, Some(sub)) => (
            sub.text(spec).unwrap_or_else(|| spec.form_text(&stored)),
            false,
        ),
        (_, None) => (spec.form_text(&stored), false),
    };
    let (input, choices, max_len) = match spec.input {
        Input::Checkbox => ("checkbox", Vec::new(), 0),
        Input::Text { max_len } => ("text", Vec::new(), max_len),
        Input::Number => ("number", Vec::new(), 0),
        Input::Lines => ("lines", Vec::new(), 0),
        Input::Code => ("code", Vec::new(), 0),
        Input::Select(options) => {
            let mut choices: Vec<ChoiceView> = options
                .iter()
                .map(|(v, label)| ChoiceView {
                    value: v,
                    label,
                    selected: *v == value,
                })
                .collect();
            // a stored value the select does not offer (e.g. the retired admin role) stays visible
            if !choices.iter().any(|c| c.selected)
                && let Some((v, label)) = form::ROLE_LABELS.iter().find(|(v, _)| *v == value)
            {
                choices.push(ChoiceView {
                    value: v,
                    label,
                    selected: true,
                });
            }
            ("select", choices, 0)
        }
    };
    FieldView {
        key: spec.key,
        label: spec.label,
        help: spec.help,
        input,
        value,
        checked,
        choices,
        max_len,
        error: errors.get(spec.key),
        disabled,
    }
}

/// The organization's settings as stored now.
async fn load_current(state: &AppState, org_id: i64) -> Result<OrgSettings, AppError> {
    state
        .db(move |conn| -> Result<_, AppError> {
            let org = Organization::find(conn, org_id)?;
            Ok(OrgSettings::load(conn, org)?)
        })
        .await
}

/// The settings of the organization the request resolved (its row is fresh: loaded for this request).
async fn load_options(state: &AppState, access: &OrgAccess) -> Result<OrgSettings, AppError> {
    let (org, avatar) = (access.org.clone(), access.avatar.clone());
    Ok(state
        .db(move |conn| OrgSettings::with_avatar(conn, org, avatar))
        .await?)
}

pub async fn general_page(
    state: web::Data<AppState>,
    session: Session,
    access: OrgAccess,
) -> Result<HttpResponse, AppError> {
    show(SettingsPage::General, state, session, access).await
}

pub async fn security_page(
    state: web::Data<AppState>,
    session: Session,
    access: OrgAccess,
) -> Result<HttpResponse, AppError> {
    show(SettingsPage::SecurityAndPrivacy, state, session, access).await
}

async fn show(
    page: SettingsPage,
    state: web::Data<AppState>,
    session: Session,
    access: OrgAccess,
) -> Result<HttpResponse, AppError> {
    let current = load_options(&state, &access).await?;
    let features = &state.config.features;
    render_form(
        page,
        &session,
        &access,
        &current,
        features,
        Overlay::default(),
        StatusCode::OK,
    )
}

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
        Err(SaveError::Invalid(api_errors)) => {
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
            let dangers = if confirmed {
                Vec::new()
            } else {
                let mut dangers = dangerous_changes(&update, &current, &features);
                let previews =
                    requirement_previews(&state, access.user.id, &update, &current, &features);
                dangers.extend(previews.await?);
                dangers
            };
            if dangers.is_empty() {
                update.expected = Some(shown.clone());
                match access.save(&state, &req, update).await? {
                    Ok(saved) => Outcome::Saved(Box::new(saved)),
                    Err(SaveError::Invalid(errors)) => Outcome::Invalid(errors),
                    Err(SaveError::Conflict(conflicts)) => Outcome::Conflict(conflicts),
                    Err(SaveError::Refused(message)) => Outcome::Refused(message),
                    Err(other) => return Err(other.into()),
                }
            } else {
                Outcome::Confirm(dangers)
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
            if !saved.jobs.is_empty() {
                session::flash(&session, FlashLevel::Info, JOBS_STARTED)?;
            }
            Ok(see_other(&format!(
                "/settings/{}/{}",
                saved.org.slug,
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
                features,
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
                features,
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
                features,
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
                features,
                overlay,
                StatusCode::CONFLICT,
            )
        }
    }
}

/// A value as a person reads it on the page.
fn describe(spec: &FieldSpec, value: &Value) -> String {
    match (spec.input, value) {
        (Input::Checkbox, Value::Bool(true)) => "on".into(),
        (Input::Checkbox, _) => "off".into(),
        (Input::Select(choices), _) => {
            let text = spec.form_text(value);
            choices
                .iter()
                .find(|(v, _)| *v == text)
                .map(|(_, label)| (*label).to_owned())
                .unwrap_or(text)
        }
        (Input::Lines, Value::Array(items)) if items.is_empty() => "(none)".into(),
        (_, Value::Null) => "(none)".into(),
        _ => spec.form_text(value).replace('\n', ", "),
    }
}

/// Changes that break things or weaken privacy, to be confirmed before saving.
fn dangerous_changes(
    update: &OrganizationUpdate,
    current: &OrgSettings,
    features: &Features,
) -> Vec<String> {
    let mut dangers = Vec::new();
    if let Some(slug) = &update.slug
        && slug.as_str() != current.org.slug
    {
        dangers.push(format!(
            "Change the slug from \"{old}\" to \"{new}\": every URL of this organization changes. Links, \
             bookmarks and API scripts that use \"{old}\" are redirected until another organization \
             takes that slug; update them.",
            old = current.org.slug,
            new = slug
        ));
    }
    let turned_off = |key: &str| {
        update
            .api_values()
            .iter()
            .any(|(k, v)| *k == key && *v == Value::Bool(false))
            && current.api_value(key, features) == Some(Value::Bool(true))
    };
    if turned_off("dataScrubber") {
        dangers.push(
            "Stop requiring the data scrubber: projects may then store events without server-side \
             scrubbing, including passwords and credit card numbers that SDKs send."
                .into(),
        );
    }
    if turned_off("dataScrubberDefaults") {
        dangers.push(
            "Stop requiring the default scrubbers: passwords, credit card numbers and similar values \
             may be stored in projects that do not scrub them themselves."
                .into(),
        );
    }
    if turned_off("scrubIPAddresses") {
        dangers.push("Allow storing IP addresses of new events again.".into());
    }
    dangers
}

/// For each member requirement this save turns on: who will be removed (and emailed), named before
/// saving. Nothing when nobody would be removed.
async fn requirement_previews(
    state: &AppState,
    actor_id: i64,
    update: &OrganizationUpdate,
    current: &OrgSettings,
    features: &Features,
) -> Result<Vec<String>, AppError> {
    let mut previews = Vec::new();
    for (field, on) in &update.flags {
        let (kind, what, fix) = match field.flag {
            Flag::Require2fa => (
                job::Requirement::TwoFactor,
                "two-factor authentication",
                "set it up",
            ),
            Flag::RequireEmailVerification if features.has(REQUIRED_EMAIL_VERIFICATION) => (
                job::Requirement::VerifiedEmail,
                "a verified email address",
                "verify their address",
            ),
            _ => continue,
        };
        if !on || current.flags().get(field.flag) {
            continue;
        }
        let org_id = current.org.id;
        let users = state
            .db(move |conn| members::non_compliant(conn, org_id, kind))
            .await?;
        // the acting user must comply for the save to pass at all: they are not listed
        let names: Vec<String> = users
            .iter()
            .filter(|u| u.id != actor_id)
            .map(|u| u.username.clone())
            .collect();
        if names.is_empty() {
            continue;
        }
        previews.push(format!(
            "Require {what}: {} member{} without it will be removed from the organization and emailed: \
             {}. They become pending invitations and can rejoin once they {fix}.",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        ));
    }
    Ok(previews)
}

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
        let actor = access.actor(&req);
        let (org_id, user_id) = (access.org.id, access.user.id);
        let stored_hash = access.user.password_hash.clone();
        let ip = actor.ip_address.clone().unwrap_or_else(|| "unknown".into());
        let policy = state.config.login_throttle;
        // the password goes through the login throttle, like every password check
        let result = state
            .db(move |conn| -> Result<_, AppError> {
                let checked =
                    throttle::check(conn, policy, &ip, Secret::Password { user_id }, |_| {
                        Ok(password::verify(&typed, &stored_hash))
                    })?;
                Ok(match checked {
                    Check::Passed => Ok(delete::schedule(conn, org_id, &actor)),
                    refused => Err(refused),
                })
            })
            .await?;
        match result {
            Ok(Ok(org)) => {
                let due = org
                    .deletion_scheduled_at
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default();
                session::flash(
                    &session,
                    FlashLevel::Info,
                    format!(
                        "{} is scheduled for deletion on {due}. Owners can restore it until then.",
                        org.name
                    ),
                )?;
                return Ok(see_other(&format!("/settings/{}/", org.slug)));
            }
            Ok(Err(SaveError::Refused(message))) => {
                session::flash(&session, FlashLevel::Error, message)?;
                return Ok(see_other(&format!("/settings/{}/", access.org.slug)));
            }
            Ok(Err(other)) => return Err(other.into()),
            Err(Check::Throttled { retry_after }) => (
                format!(
                    "Too many failed attempts. Wait {} before trying again.",
                    ratelimit::wait_text(retry_after)
                ),
                StatusCode::TOO_MANY_REQUESTS,
            ),
            Err(_) => (
                "Your password is not correct.".to_owned(),
                StatusCode::BAD_REQUEST,
            ),
        }
    };
    let current = load_options(&state, &access).await?;
    let overlay = Overlay {
        remove_error: error,
        ..Overlay::default()
    };
    let features = &state.config.features;
    render_form(
        SettingsPage::General,
        &session,
        &access,
        &current,
        features,
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
    let saved = access.save(&state, &req, update).await??;
    let message = if saved.restored {
        format!("{} was restored.", saved.org.name)
    } else {
        format!("{} is not scheduled for deletion.", saved.org.name)
    };
    session::flash(&session, FlashLevel::Success, message)?;
    Ok(see_other(&format!("/settings/{}/", saved.org.slug)))
}
