//! `POST /settings/{org}/security-and-privacy/pii-rules/`: the rule builder of advanced data
//! scrubbing adds a rule to the Relay PII config, or removes one (after its confirmation). The new
//! config goes through the one save flow, as if typed into the JSON box: the same checks, the same
//! audit entry, and a conflict when someone changed the config meanwhile.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::form::SettingsPage;
use super::view::{Overlay, RuleTyped, load_options, render_form};
use crate::errors::{DomainError, FieldErrors};
use crate::settings::pii::builder::{self, NewRule, RuleForm};
use crate::settings::update::OrganizationUpdate;
use crate::web::access::OrgAccess;
use crate::web::error::AppError;
use crate::web::respond::redirect_with;
use crate::web::session::FlashLevel;
use crate::web::state::AppState;

/// What the builder's forms send.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum RuleAction {
    Add {
        #[serde(default)]
        method: String,
        #[serde(default, rename = "dataType")]
        data_type: String,
        #[serde(default)]
        pattern: String,
        #[serde(default)]
        replacement: String,
        #[serde(default)]
        source: String,
    },
    Remove {
        #[serde(default)]
        rule: String,
    },
}

const KEY: &str = "relayPiiConfig";

pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    access: OrgAccess,
    form: web::Form<RuleAction>,
) -> Result<HttpResponse, AppError> {
    access.require_write()?;
    let current = load_options(&state, &access).await?;
    let features = state.config.features.clone();
    let stored_value = current.api_value(KEY, &features).unwrap_or(Value::Null);
    let stored = stored_value.as_str().unwrap_or_default().to_owned();
    let here = format!(
        "/settings/{}/security-and-privacy/#advanced-data-scrubbing",
        access.org.slug
    );
    let action = form.into_inner();
    let (changed, done, typed) = match action {
        RuleAction::Add {
            method,
            data_type,
            pattern,
            replacement,
            source,
        } => {
            let typed = RuleTyped {
                method,
                data_type,
                pattern,
                replacement,
                source,
            };
            let parsed = NewRule::parse(RuleForm {
                method: &typed.method,
                data_type: &typed.data_type,
                pattern: &typed.pattern,
                replacement: &typed.replacement,
                source: &typed.source,
            });
            let outcome = parsed.and_then(|rule| {
                let message = format!("Rule added: {} in {}.", rule.description(), rule.source);
                builder::append(&stored, &rule)
                    .map(|text| (text, message))
                    .map_err(|message| FieldErrors::single("rule", message))
            });
            match outcome {
                Ok((text, message)) => (text, message, Some(typed)),
                Err(errors) => {
                    return rerender(&session, &access, &state, Some((typed, errors))).await;
                }
            }
        }
        RuleAction::Remove { rule } => match builder::remove(&stored, &rule) {
            Ok(text) => (text, "Rule removed.".to_owned(), None),
            Err(message) => return redirect_with(&session, FlashLevel::Error, message, &here),
        },
    };
    let is_owner = access.role.is_owner();
    let data: Map<String, Value> = [(KEY.to_owned(), json!(changed))].into_iter().collect();
    let parsed = web::block(move || OrganizationUpdate::parse(&data, is_owner, &features)).await?;
    let mut update = match parsed {
        Ok(update) => update,
        Err(DomainError::Invalid(errors)) => {
            let errors = FieldErrors::single("rule", errors.get(KEY));
            return rerender(&session, &access, &state, typed.map(|t| (t, errors))).await;
        }
        Err(other) => return Err(other.into()),
    };
    update.expected = Some([(KEY.to_owned(), stored_value)].into_iter().collect());
    match access.save(&state, &req, update).await {
        Ok(_) => redirect_with(&session, FlashLevel::Success, done, &here),
        Err(DomainError::Conflict(_)) => redirect_with(
            &session,
            FlashLevel::Error,
            "Someone else changed the PII config meanwhile; nothing was saved. Check the rules \
             below and try again.",
            &here,
        ),
        Err(DomainError::Refused(message)) => {
            redirect_with(&session, FlashLevel::Error, message, &here)
        }
        Err(DomainError::Invalid(errors)) => {
            let errors = FieldErrors::single("rule", errors.get(KEY));
            rerender(&session, &access, &state, typed.map(|t| (t, errors))).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn rerender(
    session: &Session,
    access: &OrgAccess,
    state: &AppState,
    rule: Option<(RuleTyped, FieldErrors)>,
) -> Result<HttpResponse, AppError> {
    let current = load_options(state, access).await?;
    render_form(
        SettingsPage::SecurityAndPrivacy,
        session,
        access,
        &current,
        state,
        Overlay {
            rule,
            ..Overlay::default()
        },
        StatusCode::BAD_REQUEST,
    )
}
