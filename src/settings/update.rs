//! `OrganizationUpdate`: a typed partial update of an organization's settings. Absent means
//! unchanged. Built from a JSON object (API) or from a submitted form (which the web layer turns into
//! the same JSON first), so both get the same checks and messages.

use serde_json::{Map, Value};

use super::avatar as images;
use super::options::{OPTIONS, OptionDef};
use super::relays::{self, RelaysChange};
use crate::config::{Feature, Features};
use crate::drf;
use crate::errors::{DomainError, FieldErrors};
use crate::models::avatar::AvatarType;
use crate::models::flags::Flag;
use crate::models::organization::OrgName;
use crate::models::role::Role;
use crate::models::slug::Slug;

/// An API field stored as an organization flag.
#[derive(Debug, PartialEq, Eq)]
pub struct FlagField {
    pub api_key: &'static str,
    pub flag: Flag,
    /// `allowSharedIssues` is stored as `disable_shared_issues`.
    pub inverted: bool,
}

const fn flag_field(api_key: &'static str, flag: Flag) -> FlagField {
    FlagField {
        api_key,
        flag,
        inverted: false,
    }
}

const fn inverted_flag_field(api_key: &'static str, flag: Flag) -> FlagField {
    FlagField {
        api_key,
        flag,
        inverted: true,
    }
}

pub static FLAG_FIELDS: [FlagField; 10] = [
    flag_field("openMembership", Flag::AllowJoinleave),
    inverted_flag_field("allowSharedIssues", Flag::DisableSharedIssues),
    flag_field("enhancedPrivacy", Flag::EnhancedPrivacy),
    flag_field("isEarlyAdopter", Flag::EarlyAdopter),
    flag_field("codecovAccess", Flag::CodecovAccess),
    flag_field("require2FA", Flag::Require2fa),
    flag_field("requireEmailVerification", Flag::RequireEmailVerification),
    inverted_flag_field("allowMemberInvite", Flag::DisableMemberInvite),
    inverted_flag_field(
        "allowMemberProjectCreation",
        Flag::DisableMemberProjectCreation,
    ),
    inverted_flag_field("allowSuperuserAccess", Flag::PreventSuperuserAccess),
];

pub fn flag_field_by_api_key(api_key: &str) -> Option<&'static FlagField> {
    FLAG_FIELDS.iter().find(|f| f.api_key == api_key)
}

pub const ROLE_CHOICES: [&str; 4] = ["member", "admin", "manager", "owner"];

#[derive(Debug, Default, Clone)]
pub struct OrganizationUpdate {
    pub name: Option<OrgName>,
    pub slug: Option<Slug>,
    /// Owner only.
    pub default_role: Option<Role>,
    /// Owner only: `true` restores an organization pending deletion.
    pub cancel_deletion: Option<bool>,
    /// Flag fields, with the value the API field was given (before inversion).
    pub flags: Vec<(&'static FlagField, bool)>,
    /// Options, in registry order, with the value to store.
    pub options: Vec<(&'static OptionDef, Value)>,
    /// The trusted relays: a new list (API) or a one-row change (the relays page).
    pub trusted_relays: Option<RelaysChange>,
    /// The avatar: letter avatar or upload, with a new image already checked and re-encoded.
    pub avatar: Option<AvatarChange>,
    /// The values the editing form showed, by API key: a field someone else changed since is not
    /// overwritten (see `save`). `None` for the API.
    pub expected: Option<Map<String, Value>>,
}

/// The largest body [`OrganizationUpdate::parses_quickly`] lets parse on an async worker.
pub const QUICK_PARSE_BYTES: usize = 16 * 1024;

impl OrganizationUpdate {
    /// Parses the fields of a request body. Unknown keys are ignored; owner-only keys are ignored
    /// unless `is_owner`, as Sentry's serializer does. An avatar image is decoded here: call this off
    /// the async workers. An image over the size limit is `DomainError::TooLarge` (413, as Sentry).
    pub fn parse(
        data: &Map<String, Value>,
        is_owner: bool,
        features: &Features,
    ) -> Result<Self, DomainError> {
        let mut errors = FieldErrors::new();
        let mut update = OrganizationUpdate::default();
        if let Some(value) = data.get("name") {
            update.name = errors.take(
                "name",
                drf::string(value, false, Some(OrgName::MAX_LEN)).and_then(|s| OrgName::parse(&s)),
            );
        }
        if let Some(value) = data.get("slug") {
            update.slug = errors.take("slug", parse_slug(value));
        }
        if is_owner {
            if let Some(value) = data.get("defaultRole") {
                update.default_role = errors.take(
                    "defaultRole",
                    drf::choice(value, &ROLE_CHOICES).and_then(Role::parse),
                );
            }
            if let Some(value) = data.get("cancelDeletion") {
                update.cancel_deletion = errors.take("cancelDeletion", drf::boolean(value));
            }
        }
        for field in &FLAG_FIELDS {
            if let Some(value) = data.get(field.api_key)
                && let Some(on) = errors.take(field.api_key, drf::boolean(value))
            {
                update.flags.push((field, on));
            }
        }
        for def in &OPTIONS {
            if let Some(value) = data.get(def.api_key)
                && let Some(parsed) = errors.take(def.api_key, def.parse(value))
            {
                update.options.push((def, parsed));
            }
        }
        // `null` leaves the relays alone, as in Sentry
        if let Some(value) = data.get("trustedRelays").filter(|v| !v.is_null()) {
            match relays::parse_list(value, features.has(Feature::Relay)) {
                Ok(list) => update.trusted_relays = Some(RelaysChange::Replace(list)),
                Err(messages) => {
                    for message in messages {
                        errors.add("trustedRelays", message);
                    }
                }
            }
        }
        if data.contains_key("avatar") || data.contains_key("avatarType") {
            update.avatar = AvatarChange::parse(
                data.get("avatarType"),
                data.get("avatar"),
                AvatarFields::Organization,
                &mut errors,
            )?;
        }
        if errors.is_empty() {
            Ok(update)
        } else {
            Err(DomainError::Invalid(errors))
        }
    }

    /// Whether parsing `data`, a body of `body_len` bytes, takes so little time that it may run
    /// on an async worker rather than be sent to the blocking pool (a thread hand-off each way,
    /// which costs more than parsing a small update: docs/architecture.md, "Where a request's time
    /// goes"). Small bodies are quick unless they carry a field whose check is real work: Relay's
    /// PII config (its rules and regular expressions are compiled), trusted relays (each key is
    /// decoded as an Ed25519 point) or an image.
    pub fn parses_quickly(data: &Map<String, Value>, body_len: usize) -> bool {
        const SLOW_KEYS: [&str; 4] = ["relayPiiConfig", "trustedRelays", "avatar", "avatar_photo"];
        body_len <= QUICK_PARSE_BYTES && !SLOW_KEYS.iter().any(|key| data.contains_key(*key))
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.slug.is_none()
            && self.default_role.is_none()
            && self.cancel_deletion.is_none()
            && self.flags.is_empty()
            && self.options.is_empty()
            && self.trusted_relays.is_none()
            && self.avatar.is_none()
    }

    /// The new value of every field this update sets, as the API shows it.
    pub fn api_values(&self) -> Vec<(&'static str, Value)> {
        let mut values = Vec::new();
        if let Some(name) = &self.name {
            values.push(("name", Value::from(name.as_str())));
        }
        if let Some(slug) = &self.slug {
            values.push(("slug", Value::from(slug.as_str())));
        }
        if let Some(role) = self.default_role {
            values.push(("defaultRole", Value::from(role.id())));
        }
        for (field, on) in &self.flags {
            values.push((field.api_key, Value::Bool(*on)));
        }
        for (def, value) in &self.options {
            values.push((def.api_key, def.api_value(Some(value))));
        }
        values
    }
}

/// Which endpoint's field names an avatar change came with (they differ, and so do the messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvatarFields {
    /// `PUT /api/0/organizations/{org}/`: `avatarType`, `avatar`
    Organization,
    /// `PUT /api/0/organizations/{org}/avatar/`: `avatar_type`, `avatar_photo`
    Endpoint,
    /// The avatar page: `avatarType`, the file input `avatar`
    Page,
}

impl AvatarFields {
    pub fn type_key(self) -> &'static str {
        match self {
            AvatarFields::Organization | AvatarFields::Page => "avatarType",
            AvatarFields::Endpoint => "avatar_type",
        }
    }

    pub fn photo_key(self) -> &'static str {
        match self {
            AvatarFields::Organization | AvatarFields::Page => "avatar",
            AvatarFields::Endpoint => "avatar_photo",
        }
    }

    /// Sentry's message for `upload` with no image sent and none stored.
    pub fn upload_without_photo(self) -> &'static str {
        match self {
            AvatarFields::Organization => "Cannot set avatarType to upload without avatar",
            AvatarFields::Endpoint => "Cannot set avatar_type to upload without avatar_photo",
            AvatarFields::Page => "Choose an image to upload, or use the letter avatar.",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarChange {
    pub avatar_type: AvatarType,
    /// A new image, checked and re-encoded as PNG.
    pub photo: Option<Vec<u8>>,
    pub fields: AvatarFields,
}

impl AvatarChange {
    /// Parses an avatar type and a base64 image. Without a type, an image means `upload` (Sentry);
    /// the dedicated endpoint requires the type.
    pub fn parse(
        avatar_type: Option<&Value>,
        photo: Option<&Value>,
        fields: AvatarFields,
        errors: &mut FieldErrors,
    ) -> Result<Option<Self>, DomainError> {
        let parsed_type = match avatar_type {
            None if fields == AvatarFields::Endpoint => Err(drf::REQUIRED.to_owned()),
            None => Ok(AvatarType::Upload),
            Some(Value::Null) => Err(drf::NOT_NULL.to_owned()),
            Some(Value::String(s)) if s == "gravatar" => Err(
                "Organizations cannot use Gravatar avatars: choose upload or letter_avatar."
                    .to_owned(),
            ),
            Some(value) => drf::choice(value, &AvatarType::CHOICES)
                .map(|choice| AvatarType::parse(choice).unwrap_or(AvatarType::LetterAvatar)),
        };
        let avatar_type = errors.take(fields.type_key(), parsed_type);
        let photo = match photo {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(text)) => match images::decode_base64(text) {
                Err(message) => {
                    errors.add(fields.photo_key(), message);
                    None
                }
                Ok(bytes) if bytes.len() > images::MAX_BYTES => {
                    return Err(DomainError::TooLarge(images::ERR_TOO_LARGE.into()));
                }
                Ok(bytes) => match images::process_upload(&bytes) {
                    Ok(png) => Some(png),
                    Err(err) => {
                        errors.add(fields.photo_key(), err.message());
                        None
                    }
                },
            },
            Some(_) => {
                errors.add(fields.photo_key(), drf::NOT_A_STRING);
                None
            }
        };
        Ok(avatar_type.map(|avatar_type| AvatarChange {
            avatar_type,
            photo,
            fields,
        }))
    }
}

fn parse_slug(value: &Value) -> Result<Slug, String> {
    match value {
        Value::String(raw) if drf::py_strip(raw).is_empty() => Err(drf::NOT_BLANK.into()),
        Value::String(raw) => Slug::parse(raw),
        Value::Null => Err(drf::NOT_NULL.into()),
        _ => Err(drf::NOT_A_STRING.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value, is_owner: bool) -> Result<OrganizationUpdate, FieldErrors> {
        match OrganizationUpdate::parse(body.as_object().unwrap(), is_owner, &Features::default()) {
            Ok(update) => Ok(update),
            Err(DomainError::Invalid(errors)) => Err(errors),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn small_updates_without_relays_pii_rules_or_images_parse_quickly() {
        let quick = |body: Value, len: usize| {
            OrganizationUpdate::parses_quickly(body.as_object().unwrap(), len)
        };
        assert!(quick(json!({"name": "Acme", "openMembership": true}), 40));
        assert!(quick(
            json!({"sensitiveFields": ["card"]}),
            QUICK_PARSE_BYTES
        ));
        assert!(!quick(json!({"name": "Acme"}), QUICK_PARSE_BYTES + 1));
        for slow in ["relayPiiConfig", "trustedRelays", "avatar", "avatar_photo"] {
            assert!(!quick(json!({ slow: null }), 20), "{slow}");
        }
    }

    #[test]
    fn absent_fields_stay_unchanged_and_unknown_keys_are_ignored() {
        let update = parse(json!({"whatever": 1, "dataScrubber": true}), true).unwrap();
        assert!(update.name.is_none() && update.slug.is_none() && update.flags.is_empty());
        assert_eq!(update.options.len(), 1);
        assert_eq!(update.options[0].0.api_key, "dataScrubber");
        assert!(parse(json!({}), true).unwrap().is_empty());
    }

    #[test]
    fn owner_only_fields_are_ignored_for_managers() {
        let update = parse(
            json!({"defaultRole": "owner", "cancelDeletion": true}),
            false,
        )
        .unwrap();
        assert!(update.default_role.is_none() && update.cancel_deletion.is_none());
        let owner = parse(json!({"defaultRole": "manager"}), true).unwrap();
        assert_eq!(owner.default_role, Some(Role::Manager));
        let errors = parse(json!({"defaultRole": "boss"}), true).unwrap_err();
        assert_eq!(errors.get("defaultRole"), "\"boss\" is not a valid choice.");
    }

    #[test]
    fn every_bad_field_reports_its_own_error_at_once() {
        let errors = parse(
            json!({
                "name": "",
                "slug": "foo bar",
                "openMembership": "maybe",
                "storeCrashReports": 1000,
                "apdexThreshold": "fast",
                "sensitiveFields": "password",
                "debugFilesRole": "boss",
            }),
            true,
        )
        .unwrap_err();
        assert_eq!(errors.get("name"), "This field may not be blank.");
        assert_eq!(
            errors.get("slug"),
            "The slug \"foo bar\" should not contain any whitespace."
        );
        assert_eq!(errors.get("openMembership"), "Must be a valid boolean.");
        assert_eq!(
            errors.get("storeCrashReports"),
            "Ensure this value is less than or equal to 100."
        );
        assert_eq!(errors.get("apdexThreshold"), "A valid integer is required.");
        assert_eq!(
            errors.get("sensitiveFields"),
            "Expected a list of items but got type \"str\"."
        );
        assert_eq!(errors.get("debugFilesRole"), "Invalid role");
    }

    #[test]
    fn allow_shared_issues_reads_back_as_given() {
        let update = parse(json!({"allowSharedIssues": false}), false).unwrap();
        assert_eq!(
            update.api_values(),
            vec![("allowSharedIssues", json!(false))]
        );
        assert!(update.flags[0].0.inverted);
    }
}
