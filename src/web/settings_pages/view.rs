//! Showing the settings form: the stored values, or what the user typed with the errors next to it.

use std::sync::Arc;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde_json::{Map, Value};

use super::form::{FieldSpec, Input, SettingsPage, Submission};
use crate::config::Features;
use crate::errors::FieldErrors;
use crate::models::organization::Organization;
use crate::models::role::Role;
use crate::settings::current::OrgSettings;
use crate::settings::pii::builder::{self, RuleSummary};
use crate::settings::save;
use crate::web::access::OrgAccess;
use crate::web::error::AppError;
use crate::web::kept::FieldsCache;
use crate::web::page::{PageCtx, Section, render};
use crate::web::state::AppState;

pub struct ChoiceView {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct FieldView {
    pub key: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub input: FieldKind,
    pub value: String,
    pub checked: bool,
    pub choices: Vec<ChoiceView>,
    pub max_len: usize,
    pub error: String,
    /// Where the user fixes what the error is about, when that is elsewhere (their own 2FA or
    /// email address): a link and its text, shown after the error.
    pub fix: Option<(String, &'static str)>,
    pub disabled: bool,
}

/// How a field is entered on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Checkbox,
    Text,
    Number,
    /// One value per line (a textarea, sent as a list).
    Lines,
    /// JSON (a monospace textarea).
    Code,
    Select,
}

impl FieldView {
    /// The longest value a text field takes (0: no limit).
    pub fn max_length(&self) -> usize {
        self.max_len
    }

    /// The ids of the help text and, when there is one, the error: what a screen reader reads
    /// with the field.
    pub fn described_by(&self) -> String {
        if self.error.is_empty() {
            format!("help_{}", self.key)
        } else {
            format!("help_{key} error_{key}", key = self.key)
        }
    }
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
pub(super) struct SettingsFormPage {
    ctx: PageCtx,
    title: &'static str,
    action: String,
    org: Organization,
    can_write: bool,
    is_owner: bool,
    /// The fields' HTML ([`FormFields`]).
    fields: Arc<str>,
    form_error: String,
    dangers: Vec<String>,
    conflicts: Vec<ConflictView>,
    show_danger_zone: bool,
    remove_error: String,
    /// The rule builder of advanced data scrubbing (the Security & Privacy page).
    pii: Option<PiiBuilderView>,
}

/// The form's fields, section by section, with the values they show as JSON (`_shown`).
#[derive(Template)]
#[template(path = "settings/fields.html")]
struct FormFields {
    sections: Vec<SectionView>,
    shown_json: String,
}

/// The rule builder: the rules the stored config has, in words, and the form that adds one.
pub struct PiiBuilderView {
    pub action: String,
    pub rules: Vec<RuleSummary>,
    /// The stored config does not parse: rules cannot be added until it is fixed in the JSON box.
    pub stored_broken: bool,
    pub can_write: bool,
    pub methods: Vec<(&'static str, &'static str)>,
    pub data_types: &'static [(&'static str, &'static str)],
    pub suggestions: &'static [(&'static str, &'static str)],
    pub typed: RuleTyped,
    pub errors: FieldErrors,
    /// The rule whose removal is being confirmed.
    pub removing: Option<RuleSummary>,
}

impl PiiBuilderView {
    /// Whether `id` is the rule whose removal is being confirmed.
    pub fn is_removing(&self, id: &str) -> bool {
        self.removing.as_ref().is_some_and(|r| r.id == id)
    }
}

/// What the builder's form had in it (kept after an error).
#[derive(Debug, Clone, Default)]
pub struct RuleTyped {
    pub method: String,
    pub data_type: String,
    pub pattern: String,
    pub replacement: String,
    pub source: String,
}

/// What to put in the form besides the stored values.
#[derive(Default)]
pub(super) struct Overlay {
    pub(super) submission: Option<Submission>,
    pub(super) errors: FieldErrors,
    /// What the form claims to have shown (kept across a re-render with errors).
    pub(super) shown: Option<Map<String, Value>>,
    pub(super) form_error: String,
    pub(super) dangers: Vec<String>,
    pub(super) conflicts: Vec<ConflictView>,
    pub(super) remove_error: String,
    /// The rule builder's form as typed, with its errors.
    pub(super) rule: Option<(RuleTyped, FieldErrors)>,
    /// The rule whose removal is being confirmed (`?remove-rule=ID`).
    pub(super) removing_rule: Option<String>,
}

pub(super) fn render_form(
    page: SettingsPage,
    session: &Session,
    access: &OrgAccess,
    current: &OrgSettings,
    state: &AppState,
    overlay: Overlay,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let features = &state.config.features;
    let role = access.role;
    let section = match page {
        SettingsPage::General => Section::General,
        SettingsPage::SecurityAndPrivacy => Section::SecurityAndPrivacy,
    };
    let fields = form_fields(page, current, features, role, &overlay, &state.form_fields)?;
    let org = current.org.clone();
    let ctx = PageCtx::for_org(session, access, section)?;
    let can_write = role.can_write() && !org.is_pending_deletion();
    let pii = (page == SettingsPage::SecurityAndPrivacy).then(|| {
        let stored = current
            .api_value("relayPiiConfig", features)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let rules = builder::summarize(&stored);
        let (typed, errors) = overlay.rule.unwrap_or_else(|| {
            (
                RuleTyped {
                    method: "mask".into(),
                    data_type: "creditcard".into(),
                    source: "$string".into(),
                    ..RuleTyped::default()
                },
                FieldErrors::new(),
            )
        });
        PiiBuilderView {
            action: format!("/settings/{}/security-and-privacy/pii-rules/", org.slug),
            removing: overlay
                .removing_rule
                .and_then(|id| rules.iter().find(|r| r.id == id).cloned()),
            stored_broken: !stored.trim().is_empty()
                && serde_json::from_str::<Value>(&stored).is_err(),
            rules,
            can_write,
            methods: builder::Method::ALL
                .into_iter()
                .map(|m| (m.id(), m.label()))
                .collect(),
            data_types: builder::DATA_TYPES,
            suggestions: builder::SOURCE_SUGGESTIONS,
            typed,
            errors,
        }
    });
    let page_view = SettingsFormPage {
        ctx,
        title: page.title(),
        action: format!("/settings/{}/{}", org.slug, page.subpath()),
        can_write,
        is_owner: role.is_owner(),
        pii,
        show_danger_zone: page == SettingsPage::General
            && role.is_owner()
            && !org.is_pending_deletion(),
        org,
        fields,
        form_error: overlay.form_error,
        dangers: overlay.dangers,
        conflicts: overlay.conflicts,
        remove_error: overlay.remove_error,
    };
    render(status, &page_view)
}

/// The fields' HTML: kept from an earlier request when the form shows the stored values (no
/// submission, no errors) of the same row, otherwise rendered (and kept, when it shows them).
fn form_fields(
    page: SettingsPage,
    current: &OrgSettings,
    features: &Features,
    role: Role,
    overlay: &Overlay,
    cache: &FieldsCache,
) -> Result<Arc<str>, AppError> {
    let stored_only =
        overlay.submission.is_none() && overlay.errors.is_empty() && overlay.shown.is_none();
    if stored_only && let Some(html) = cache.get(&current.org, page, role) {
        return Ok(html);
    }
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
    let shown = match &overlay.shown {
        Some(shown) => Value::Object(shown.clone()),
        None => Value::Object(shown_values(page, current, features)),
    };
    let html: Arc<str> = FormFields {
        sections,
        shown_json: shown.to_string(),
    }
    .render()?
    .into();
    if stored_only {
        cache.keep(&current.org, page, role, html.clone());
    }
    Ok(html)
}

/// The stored values of the page's fields, as the form shows them.
pub(super) fn shown_values(
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
        Input::Checkbox => (FieldKind::Checkbox, Vec::new(), 0),
        Input::Text { max_len } => (FieldKind::Text, Vec::new(), max_len),
        Input::Number => (FieldKind::Number, Vec::new(), 0),
        Input::Lines => (FieldKind::Lines, Vec::new(), 0),
        Input::Code => (FieldKind::Code, Vec::new(), 0),
        Input::Select(options) => {
            let mut choices: Vec<ChoiceView> = options
                .iter()
                .map(|(v, label)| ChoiceView {
                    value: (*v).to_owned(),
                    label: (*label).to_owned(),
                    selected: *v == value,
                })
                .collect();
            // a value the select does not offer (the retired admin role, a count set through the
            // API) stays visible and selected, so saving the page keeps it
            if !choices.iter().any(|c| c.selected) && !value.is_empty() {
                choices.push(ChoiceView {
                    label: spec.unoffered_label(&value),
                    value: value.clone(),
                    selected: true,
                });
            }
            (FieldKind::Select, choices, 0)
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
        fix: fix_link(spec, &errors.get(spec.key), &current.org.slug),
        // the page says what is wrong with a PII config in words; the API keeps Relay's text
        error: match spec.key {
            "relayPiiConfig" => errors
                .fields()
                .find(|(field, _)| *field == spec.key)
                .map(|(_, messages)| {
                    messages
                        .iter()
                        .map(|m| builder::explain_config_error(m))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
            _ => errors.get(spec.key),
        },
        disabled,
    }
}

/// The page where the acting user meets a requirement they tried to turn on, coming back here after.
fn fix_link(spec: &FieldSpec, error: &str, slug: &str) -> Option<(String, &'static str)> {
    match spec.key {
        "require2FA" if error.contains(save::ERR_NO_2FA) => Some((
            format!(
                "/account/security/?next={}",
                crate::web::urls::encode_query(&format!("/settings/{slug}/security-and-privacy/"))
            ),
            "Set up two-factor authentication",
        )),
        "requireEmailVerification" if error.contains(save::ERR_EMAIL_VERIFICATION) => {
            Some(("/account/".to_owned(), "Verify your email address"))
        }
        _ => None,
    }
}

/// The organization's settings as stored now.
pub(super) async fn load_current(state: &AppState, org_id: i64) -> Result<OrgSettings, AppError> {
    Ok(state
        .read(move |conn| OrgSettings::load_by_id(conn, org_id))
        .await?)
}

/// The settings of the organization the request resolved (its row is fresh: loaded for this request).
pub(super) async fn load_options(
    state: &AppState,
    access: &OrgAccess,
) -> Result<OrgSettings, AppError> {
    Ok(state
        .settings_of(access.org.clone(), access.avatar.clone())
        .await?)
}

pub async fn general_page(
    state: web::Data<AppState>,
    session: Session,
    access: OrgAccess,
) -> Result<HttpResponse, AppError> {
    show(
        SettingsPage::General,
        state,
        session,
        access,
        Overlay::default(),
    )
    .await
}

/// `?remove-rule=ID` on the Security & Privacy page: the rule whose removal to confirm.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SecurityQuery {
    #[serde(default, rename = "remove-rule")]
    remove_rule: Option<String>,
}

pub async fn security_page(
    state: web::Data<AppState>,
    session: Session,
    access: OrgAccess,
    query: web::Query<SecurityQuery>,
) -> Result<HttpResponse, AppError> {
    let overlay = Overlay {
        removing_rule: query.into_inner().remove_rule,
        ..Overlay::default()
    };
    show(
        SettingsPage::SecurityAndPrivacy,
        state,
        session,
        access,
        overlay,
    )
    .await
}

async fn show(
    page: SettingsPage,
    state: web::Data<AppState>,
    session: Session,
    access: OrgAccess,
    overlay: Overlay,
) -> Result<HttpResponse, AppError> {
    let current = load_options(&state, &access).await?;
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

/// A value as a person reads it on the page.
pub(super) fn describe(spec: &FieldSpec, value: &Value) -> String {
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
