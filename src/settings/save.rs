//! The save (Sentry's `OrganizationDetailsEndpoint.put` and its serializer's `save`), free of HTTP.
//!
//! In one write transaction: lock the organization row, so saves of one organization run one after
//! another on every backend; refuse while deletion is pending (unless restoring); refuse fields someone
//! else changed since the form was shown; check what needs the database; then write options, flags,
//! name, slug and default role, and one audit entry whose data is the change set in Sentry's words.
//! Any error rolls everything back.

use std::sync::Arc;

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::current::OrgSettings;
use super::options::Kind;
use super::relays::{self, RelaysChange};
use super::update::{AvatarChange, OrganizationUpdate};
use crate::config::{Feature, Features};
use crate::db::{AnyConnection, query, write_tx};
use crate::errors::{Conflict, DomainError, FieldErrors};
use crate::members;
use crate::models::actor::Actor;
use crate::models::audit::{self, AuditEvent, NewAuditEntry};
use crate::models::avatar::{AvatarType, OrgAvatar};
use crate::models::flags::Flag;
use crate::models::job::{self, Requirement};
use crate::models::option::{self, OptionsCache, OrgOptions};
use crate::models::organization::{OrgStatus, Organization, slug_in_use};
use crate::models::user::User;
use crate::pyfmt::py_str;

pub const ERR_NO_2FA: &str =
    "Cannot require two-factor authentication without personal two-factor enabled.";
pub const ERR_EMAIL_VERIFICATION: &str =
    "Cannot require email verification before verifying your email address.";
pub use crate::models::organization::ERR_PENDING_DELETION;
pub const ERR_CODECOV: &str =
    "Codecov access needs a Codecov integration, which this instance does not provide.";

/// Flags whose changes are recorded, in Sentry's order; `require_email_verification` too (docs/compatibility.md, "Where orgsettings decides differently").
const TRACKED_FLAGS: [Flag; 10] = [
    Flag::AllowJoinleave,
    Flag::EnhancedPrivacy,
    Flag::DisableSharedIssues,
    Flag::EarlyAdopter,
    Flag::Require2fa,
    Flag::CodecovAccess,
    Flag::DisableMemberProjectCreation,
    Flag::PreventSuperuserAccess,
    Flag::DisableMemberInvite,
    Flag::RequireEmailVerification,
];

/// Who saves, and under which instance settings.
pub struct SaveContext<'a> {
    pub actor: &'a Actor,
    /// The acting user (their 2FA and email state gate the requirement flags).
    pub user: Option<&'a User>,
    pub features: &'a Features,
    /// Options this process keeps: under the organization's lock, the ones kept at the locked
    /// row's version are the stored ones (an option write moves the version on, which waits for
    /// the lock), so the save need not read them (docs/architecture.md, "The options cache").
    pub kept: &'a OptionsCache,
    /// The organization's avatar as the request read it a moment ago (its access check reads it
    /// with the row): a save that leaves the avatar alone answers with it instead of reading it
    /// again, one statement fewer (under the row lock, on PostgreSQL a round trip that the next
    /// save waits for). A save that changes the avatar reads it under the lock.
    pub avatar: Option<&'a OrgAvatar>,
}

/// [`save`], then the requirement jobs it recorded are started, after the commit: what every page
/// and API call that saves settings runs.
pub fn save_and_start_jobs(
    conn: &mut AnyConnection,
    organization_id: i64,
    update: &OrganizationUpdate,
    ctx: &SaveContext<'_>,
    jobs: &dyn job::Runner,
) -> Result<Saved, DomainError> {
    let saved = save(conn, organization_id, update, ctx)?;
    jobs.start(saved.jobs.clone());
    Ok(saved)
}

/// What a successful save did.
#[derive(Debug)]
pub struct Saved {
    /// The organization, its options and its avatar as the save left them (not read back: what
    /// it wrote, applied to what it read under the lock; the avatar is read back after an avatar
    /// change, and otherwise the one the request read, [`SaveContext::avatar`]). The row's
    /// `options_version` is the one read under the lock: the triggers have moved it on if the
    /// save wrote an option.
    pub settings: OrgSettings,
    /// The ORG_EDIT data: field → Sentry's text, in Sentry's order. Empty when nothing changed.
    pub changes: Map<String, Value>,
    pub restored: bool,
    /// Requirement jobs recorded by this save (members to turn into pending invites); run them after
    /// the commit with `members::run_requirement_job`.
    pub jobs: Vec<i64>,
    /// How many members did not meet a requirement this save turned on, when it committed: the
    /// jobs will move them (0: the jobs will find no one).
    pub members_to_move: usize,
}

pub fn save(
    conn: &mut AnyConnection,
    organization_id: i64,
    update: &OrganizationUpdate,
    ctx: &SaveContext<'_>,
) -> Result<Saved, DomainError> {
    write_tx(conn, |conn| {
        let org = Organization::lock(conn, organization_id)?;
        let options = match ctx.kept.get(&org) {
            Some(options) => options,
            None => Arc::new(OrgOptions::load(conn, org.id)?),
        };
        let avatar = match update.avatar {
            None => ctx.avatar.cloned(),
            Some(_) => OrgAvatar::find_for_org(conn, org.id)?,
        };
        let current = OrgSettings {
            org,
            options,
            avatar,
        };
        let before = &current.org;
        let restoring = before.is_pending_deletion() && update.cancel_deletion == Some(true);
        if before.is_pending_deletion() && !restoring {
            return Err(DomainError::Refused(ERR_PENDING_DELETION.into()));
        }
        check_conflicts(&current, update, ctx.features)?;
        validate_with_database(conn, &current, update, ctx)?;

        let now = query::now();
        let mut changes = Map::new();
        // the options as this save leaves them, kept as they are written
        let mut options = OrgOptions::clone(&current.options);
        apply_options(conn, &current, update, &mut options, &mut changes)?;
        if let Some(change) = &update.trusted_relays {
            apply_relays(conn, &current, change, now, &mut options, &mut changes)?;
        }

        let mut org = before.clone();
        if let Some(name) = &update.name {
            org.name = name.as_str().to_owned();
        }
        if let Some(slug) = &update.slug {
            org.slug = slug.as_str().to_owned();
        }
        if let Some(role) = update.default_role {
            org.default_role = role;
        }
        if restoring {
            org.status = OrgStatus::Active;
            org.deletion_scheduled_at = None;
        }
        for (key, old, new) in [
            ("name", before.name.as_str(), org.name.as_str()),
            ("slug", before.slug.as_str(), org.slug.as_str()),
            (
                "default_role",
                before.default_role.id(),
                org.default_role.id(),
            ),
        ] {
            if old != new {
                changes.insert(key.into(), Value::from(format!("from {old} to {new}")));
            }
        }

        let snapshot = before.flags;
        let mut flags = snapshot;
        for (field, on) in &update.flags {
            if field.flag == Flag::RequireEmailVerification
                && !ctx.features.has(Feature::RequiredEmailVerification)
            {
                continue;
            }
            flags.set(field.flag, *on != field.inverted);
        }
        for flag in TRACKED_FLAGS {
            if flags.flag_has_changed(snapshot, flag) {
                let to = if flags.get(flag) { "True" } else { "False" };
                changes.insert(flag.name().into(), Value::from(format!("to {to}")));
            }
        }
        org.flags = flags;
        let mut jobs = Vec::new();
        let mut members_to_move = 0;
        for requirement in [Requirement::VerifiedEmail, Requirement::TwoFactor] {
            let flag = requirement.flag();
            if flags.get(flag) && !snapshot.get(flag) {
                jobs.push(job::create(conn, requirement, org.id, ctx.actor)?);
                members_to_move += members::non_compliant(conn, org.id, requirement, 0, 0)?.0;
            }
        }
        if let Some(change) = &update.avatar {
            apply_avatar(conn, &current, &org.slug, change, &mut changes)?;
        }

        let row_changed = org.name != before.name
            || org.slug != before.slug
            || org.default_role != before.default_role
            || org.flags != before.flags
            || org.status != before.status;
        // the restore's entry before the edit's, which is written with the row
        if restoring {
            audit::record(
                conn,
                &NewAuditEntry::new(
                    org.id,
                    ctx.actor,
                    AuditEvent::OrgRestore,
                    org.audit_log_data(),
                ),
            )?;
        }
        let edit = (!changes.is_empty()).then(|| {
            NewAuditEntry::new(
                org.id,
                ctx.actor,
                AuditEvent::OrgEdit,
                Value::Object(changes.clone()),
            )
        });
        if row_changed {
            Organization::write_saved(conn, &mut org, edit.as_ref())?;
        } else if let Some(edit) = &edit {
            audit::record(conn, edit)?;
        }
        if org.slug != before.slug {
            Organization::record_rename(conn, org.id, &before.slug, &org.slug)?;
        }
        // an avatar change is the one write whose row is read back (the new ident)
        let avatar = match &update.avatar {
            Some(_) => OrgAvatar::find_for_org(conn, org.id)?,
            None => current.avatar.clone(),
        };
        Ok(Saved {
            settings: OrgSettings {
                org,
                options: options.into(),
                avatar,
            },
            changes,
            restored: restoring,
            jobs,
            members_to_move,
        })
    })
}

/// Refuses fields whose stored value is no longer what the form showed, unless it already equals
/// the value being saved.
fn check_conflicts(
    current: &OrgSettings,
    update: &OrganizationUpdate,
    features: &Features,
) -> Result<(), DomainError> {
    let Some(expected) = &update.expected else {
        return Ok(());
    };
    let conflicts: Vec<Conflict> = update
        .api_values()
        .into_iter()
        .filter_map(|(field, yours)| {
            let shown = expected.get(field)?;
            let theirs = current.api_value(field, features)?;
            (theirs != *shown && theirs != yours).then(|| Conflict {
                field,
                shown: shown.clone(),
                theirs,
                yours,
            })
        })
        .collect();
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Conflict(conflicts))
    }
}

/// The checks that need the database or the acting user (docs/compatibility.md, "Validation").
fn validate_with_database(
    conn: &mut AnyConnection,
    current: &OrgSettings,
    update: &OrganizationUpdate,
    ctx: &SaveContext<'_>,
) -> Result<(), DomainError> {
    let mut errors = FieldErrors::new();
    if let Some(slug) = &update.slug
        && slug.as_str() != current.org.slug
        && Organization::slug_taken(conn, slug)?
    {
        errors = slug_in_use(slug.as_str());
    }
    for (def, _) in &update.options {
        if def.legacy && !current.has_legacy_rate_limits() {
            errors.add(
                def.api_key,
                format!(
                    "The {} option cannot be configured for this organization",
                    def.api_key
                ),
            );
        }
    }
    if let Some(change) = &update.avatar
        && change.avatar_type == AvatarType::Upload
        && change.photo.is_none()
        && current.avatar.as_ref().and_then(|a| a.file_id).is_none()
    {
        errors.add(
            change.fields.type_key(),
            change.fields.upload_without_photo(),
        );
    }
    for (field, on) in &update.flags {
        if *on && field.flag == Flag::CodecovAccess {
            errors.add(field.api_key, ERR_CODECOV);
        }
    }
    if let Some(user) = ctx.user {
        check_actor_meets_requirements(conn, update, user, &mut errors)?;
    }
    errors.into_result()
}

/// A requirement can only be turned on by someone who meets it (Sentry's rule): the field error
/// when `user` has no two-factor authentication, or no verified primary address, for a requirement
/// `update` turns on. Run again by the confirmation step, before it lists whom the requirement
/// removes, so nobody confirms a save that is then refused.
pub fn check_actor_meets_requirements(
    conn: &mut AnyConnection,
    update: &OrganizationUpdate,
    user: &User,
    errors: &mut FieldErrors,
) -> QueryResult<()> {
    for (field, on) in &update.flags {
        if !on {
            continue;
        }
        match field.flag {
            Flag::Require2fa if !user.has_two_factor(conn)? => {
                errors.add(field.api_key, ERR_NO_2FA);
            }
            Flag::RequireEmailVerification if !user.primary_email_verified(conn)? => {
                errors.add(field.api_key, ERR_EMAIL_VERIFICATION);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Applies a relay change to the stored list with Sentry's merge rules: a real change is stored and
/// described; a new order alone is stored without an entry; `[]` with nothing stored writes nothing.
fn apply_relays(
    conn: &mut AnyConnection,
    current: &OrgSettings,
    change: &RelaysChange,
    now: chrono::NaiveDateTime,
    options: &mut OrgOptions,
    changes: &mut Map<String, Value>,
) -> Result<(), DomainError> {
    let stored = relays::stored_relays(current.options.get(relays::OPTION_KEY));
    let incoming = change
        .incoming(&stored)
        .map_err(|message| DomainError::Invalid(FieldErrors::single("trustedRelays", message)))?;
    let merged = relays::merge(&stored, &incoming, &relays::iso_now(now));
    if merged.modified || merged.reordered {
        let value = serde_json::to_value(&merged.relays)
            .map_err(|e| DomainError::Internal(anyhow::Error::new(e).context("storing relays")))?;
        store(conn, current.org.id, options, relays::OPTION_KEY, &value)?;
    }
    if merged.modified {
        changes.insert("trustedRelays".into(), Value::from(merged.description));
    }
    Ok(())
}

/// Stores the avatar (Sentry's `save_avatar`, file named `{slug}.png`) and records the change: a new
/// image, or a switch between the letter avatar and the uploaded one.
fn apply_avatar(
    conn: &mut AnyConnection,
    current: &OrgSettings,
    slug: &str,
    change: &AvatarChange,
    changes: &mut Map<String, Value>,
) -> QueryResult<()> {
    let old_type = current
        .avatar
        .as_ref()
        .map_or(AvatarType::LetterAvatar, OrgAvatar::avatar_type);
    let filename = format!("{slug}.png");
    let photo = change.photo.as_deref().map(|png| (filename.as_str(), png));
    OrgAvatar::save(conn, current.org.id, change.avatar_type, photo)?;
    let description = match (&change.photo, old_type != change.avatar_type) {
        (Some(_), _) => Some(format!("to {} (a new image)", change.avatar_type.id())),
        (None, true) => Some(format!(
            "from {} to {}",
            old_type.id(),
            change.avatar_type.id()
        )),
        (None, false) => None,
    };
    if let Some(description) = description {
        changes.insert("avatar".into(), Value::from(description));
    }
    Ok(())
}

/// Stores an option's value and keeps it in `options`, the options as the save leaves them.
fn store(
    conn: &mut AnyConnection,
    org_id: i64,
    options: &mut OrgOptions,
    key: &str,
    value: &Value,
) -> QueryResult<()> {
    option::set_value(conn, org_id, key, value)?;
    options.remember(key, value);
    Ok(())
}

/// Writes each option of the update and records what changed (docs/compatibility.md, "The save"): a new row whose
/// value equals the default is not a change; an existing row is a change when its value differs.
fn apply_options(
    conn: &mut AnyConnection,
    current: &OrgSettings,
    update: &OrganizationUpdate,
    options: &mut OrgOptions,
    changes: &mut Map<String, Value>,
) -> QueryResult<()> {
    let org_id = current.org.id;
    for (def, value) in &update.options {
        // a null PII config means "none": the row goes (docs/compatibility.md: no "None" string)
        let unset = def.kind == Kind::PiiConfig && value.is_null();
        match current.options.get(def.key) {
            None if unset => {}
            None => {
                store(conn, org_id, options, def.key, value)?;
                if *value != def.default_value() {
                    changes.insert(
                        def.api_key.into(),
                        Value::from(format!("to {}", py_str(value))),
                    );
                }
            }
            Some(old) if old == value => {}
            Some(old) => {
                if unset {
                    option::unset_value(conn, org_id, def.key)?;
                    options.forget(def.key);
                } else {
                    store(conn, org_id, options, def.key, value)?;
                }
                changes.insert(
                    def.api_key.into(),
                    Value::from(format!("from {} to {}", py_str(old), py_str(value))),
                );
            }
        }
    }
    Ok(())
}
