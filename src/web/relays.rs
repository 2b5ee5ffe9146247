//! `/settings/{org}/relays/`: the trusted Relay keys. The table, an add form, editing a relay's name
//! and description (`?edit=KEY`), and removing one after a confirmation (`?remove=KEY`). Every change
//! goes through the settings save flow as a one-row change.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::access::OrgAccess;
use super::error::AppError;
use super::page::{PageCtx, Section, render};
use super::respond::see_other;
use super::session::FlashLevel;
use super::session::{self};
use crate::config::Feature;
use crate::errors::{DomainError, FieldErrors};
use crate::models::option::OrgOptions;
use crate::relay::KeyUsage;
use crate::settings::relays::{
    self, MAX_DESCRIPTION_LEN, RelayInput, RelayPublicKey, RelaysChange, StoredRelay,
};
use crate::settings::update::OrganizationUpdate;
use crate::web::state::AppState;

pub struct RelayRow {
    pub public_key: String,
    pub name: String,
    pub description: String,
    pub created: String,
    pub last_modified: String,
    /// The newest registration's Relay version; empty when the key never connected.
    pub version: String,
    pub first_used: String,
    pub last_used: String,
}

/// What a relay form asks for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayAction {
    #[default]
    Add,
    Edit,
    Remove,
}

#[derive(Debug, Default, Deserialize)]
pub struct RelayForm {
    action: RelayAction,
    #[serde(default)]
    name: String,
    #[serde(rename = "publicKey", default)]
    public_key: String,
    #[serde(default)]
    description: String,
}

#[derive(Debug, Deserialize)]
pub struct RelayQuery {
    edit: Option<String>,
    remove: Option<String>,
}

#[derive(Template)]
#[template(path = "settings/relays.html")]
struct RelaysPage {
    ctx: PageCtx,
    slug: String,
    enabled: bool,
    can_write: bool,
    rows: Vec<RelayRow>,
    /// The add form's values and errors.
    add: RelayForm,
    add_errors: FieldErrors,
    /// The relay being edited, with the values in its form.
    editing: Option<RelayForm>,
    edit_errors: FieldErrors,
    /// The relay whose removal is being confirmed.
    removing: Option<RelayRow>,
    max_description: usize,
}

impl RelaysPage {
    /// Whether the row of `key` is the one being edited or removed (highlighted).
    fn is_target(&self, key: &str) -> bool {
        self.editing.as_ref().is_some_and(|e| e.public_key == key)
            || self.removing.as_ref().is_some_and(|r| r.public_key == key)
    }
}

/// "2026-11-27 14:03 UTC" from a stored ISO timestamp.
fn readable(timestamp: &Option<String>) -> String {
    timestamp
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "—".into())
}

fn row(relay: &StoredRelay, usage: Option<&KeyUsage>) -> RelayRow {
    let when = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M UTC").to_string();
    RelayRow {
        version: usage.map(|u| u.version.clone()).unwrap_or_default(),
        first_used: usage.map(|u| when(u.first_used)).unwrap_or_default(),
        last_used: usage.map(|u| when(u.last_used)).unwrap_or_default(),
        public_key: relay.public_key.clone(),
        name: relay.name.clone(),
        description: relay.description.clone().unwrap_or_default(),
        created: readable(&relay.created),
        last_modified: readable(&relay.last_modified),
    }
}

async fn stored(state: &AppState, org_id: i64) -> Result<Vec<StoredRelay>, AppError> {
    let options = state.db(move |conn| OrgOptions::load(conn, org_id)).await?;
    Ok(relays::stored_relays(options.get(relays::OPTION_KEY)))
}

struct View {
    add: RelayForm,
    add_errors: FieldErrors,
    editing: Option<RelayForm>,
    edit_errors: FieldErrors,
    removing: Option<String>,
}

async fn render_page(
    state: &AppState,
    session: &Session,
    access: &OrgAccess,
    view: View,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let enabled = state.config.features.has(Feature::Relay);
    let org_id = access.org.id;
    let (stored, usage) = if enabled {
        state
            .db(move |conn| -> diesel::QueryResult<_> {
                let options = OrgOptions::load(conn, org_id)?;
                let stored = relays::stored_relays(options.get(relays::OPTION_KEY));
                let keys: Vec<String> = stored.iter().map(|r| r.public_key.clone()).collect();
                let usage = crate::relay::usage_by_key(conn, &keys)?;
                Ok((stored, usage))
            })
            .await?
    } else {
        (Vec::new(), Default::default())
    };
    let row = |relay: &StoredRelay| row(relay, usage.get(&relay.public_key));
    let can_write = access.role.can_write() && !access.org.is_pending_deletion();
    let removing = view
        .removing
        .and_then(|key| stored.iter().find(|r| r.public_key == key).map(&row));
    let page = RelaysPage {
        ctx: PageCtx::for_org(session, access, Section::Relays)?,
        slug: access.org.slug.clone(),
        enabled,
        can_write,
        rows: stored.iter().map(&row).collect(),
        add: view.add,
        add_errors: view.add_errors,
        editing: view.editing.filter(|_| can_write),
        edit_errors: view.edit_errors,
        removing: removing.filter(|_| can_write),
        max_description: MAX_DESCRIPTION_LEN,
    };
    render(status, &page)
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    access: OrgAccess,
    query: web::Query<RelayQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let editing = match &query.edit {
        Some(key) if state.config.features.has(Feature::Relay) => stored(&state, access.org.id)
            .await?
            .into_iter()
            .find(|r| &r.public_key == key)
            .map(|r| RelayForm {
                action: RelayAction::Edit,
                name: r.name,
                public_key: r.public_key,
                description: r.description.unwrap_or_default(),
            }),
        _ => None,
    };
    let view = View {
        add: RelayForm::default(),
        add_errors: FieldErrors::new(),
        editing,
        edit_errors: FieldErrors::new(),
        removing: query.remove,
    };
    render_page(&state, &session, &access, view, StatusCode::OK).await
}

/// The name and description of the form, checked with the API's messages, on the form's fields.
fn parse_details(form: &RelayForm, errors: &mut FieldErrors) -> Option<(String, Option<String>)> {
    let name = form.name.trim().to_owned();
    let name_ok = errors.take("name", relays::check_name(&name)).is_some();
    let description = (!form.description.trim().is_empty()).then(|| form.description.clone());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LEN)
    {
        errors.add("description", relays::description_too_long(&name));
    }
    (name_ok && !errors.has("description")).then_some((name, description))
}

fn parse_add(form: &RelayForm) -> Result<RelaysChange, FieldErrors> {
    let mut errors = FieldErrors::new();
    let details = parse_details(form, &mut errors);
    let key = form.public_key.trim();
    let label = form.name.trim();
    let public_key = if key.is_empty() {
        errors.add(
            "publicKey",
            format!("Missing public key for relay key info with name:'{label}' in Trusted Relays"),
        );
        None
    } else {
        errors.take(
            "publicKey",
            RelayPublicKey::parse(key).map_err(|_| {
                format!(
                    "Invalid public key for relay key info with name:'{label}' in Trusted Relays"
                )
            }),
        )
    };
    match (details, public_key) {
        (Some((name, description)), Some(public_key)) if errors.is_empty() => {
            Ok(RelaysChange::Add(RelayInput {
                public_key,
                name,
                description,
            }))
        }
        _ => Err(errors),
    }
}

pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    access: OrgAccess,
    form: web::Form<RelayForm>,
) -> Result<HttpResponse, AppError> {
    access.require_write()?;
    if !state.config.features.has(Feature::Relay) {
        return Err(AppError::forbidden(
            "Relays are not enabled for this organization.",
        ));
    }
    let form = form.into_inner();
    let parsed = match form.action {
        RelayAction::Add => parse_add(&form),
        RelayAction::Edit => {
            let mut errors = FieldErrors::new();
            match parse_details(&form, &mut errors) {
                Some((name, description)) if errors.is_empty() => Ok(RelaysChange::Edit {
                    public_key: form.public_key.clone(),
                    name,
                    description,
                }),
                _ => Err(errors),
            }
        }
        RelayAction::Remove => Ok(RelaysChange::Remove {
            public_key: form.public_key.clone(),
        }),
    };
    let result = match parsed {
        Err(errors) => Err(errors),
        Ok(change) => {
            let update = OrganizationUpdate {
                trusted_relays: Some(change),
                ..OrganizationUpdate::default()
            };
            match access.save(&state, &req, update).await {
                Ok(_) => Ok(()),
                // the key is there already: shown next to the key
                Err(DomainError::Invalid(errors)) if form.action == RelayAction::Add => Err(
                    FieldErrors::single("publicKey", errors.get("trustedRelays")),
                ),
                // the row is gone (someone removed it meanwhile): said at the top of the table
                Err(DomainError::Invalid(errors)) => {
                    session::flash(&session, FlashLevel::Error, errors.get("trustedRelays"))?;
                    return Ok(see_other(&format!("/settings/{}/relays/", access.org.slug)));
                }
                Err(DomainError::Refused(message)) => {
                    session::flash(&session, FlashLevel::Error, message)?;
                    return Ok(see_other(&format!("/settings/{}/relays/", access.org.slug)));
                }
                Err(other) => return Err(other.into()),
            }
        }
    };
    let name = form.name.trim().to_owned();
    match result {
        Ok(()) => {
            let message = match form.action {
                RelayAction::Add => format!("Relay '{name}' added."),
                RelayAction::Edit => format!("Relay '{name}' saved."),
                RelayAction::Remove => {
                    format!("Relay '{name}' removed. Events it forwards are dropped from now on.")
                }
            };
            session::flash(&session, FlashLevel::Success, message)?;
            Ok(see_other(&format!("/settings/{}/relays/", access.org.slug)))
        }
        Err(errors) => {
            let view = if form.action == RelayAction::Add {
                View {
                    add: form,
                    add_errors: errors,
                    editing: None,
                    edit_errors: FieldErrors::new(),
                    removing: None,
                }
            } else {
                View {
                    add: RelayForm::default(),
                    add_errors: FieldErrors::new(),
                    editing: Some(form),
                    edit_errors: errors,
                    removing: None,
                }
            };
            render_page(&state, &session, &access, view, StatusCode::BAD_REQUEST).await
        }
    }
}
