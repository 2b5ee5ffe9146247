//! Trusted relays (docs/compatibility.md, "Trusted relays"): the Relay public keys an organization trusts, stored in the option
//! `sentry:trusted-relays` in the saved order, merged with Sentry's rules for `created` and
//! `last_modified`, and described in words in the audit log (see the decisions in docs/compatibility.md).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use diesel::QueryResult;

use crate::db::AnyConnection;
use crate::drf;

pub const OPTION_KEY: &str = "sentry:trusted-relays";
pub const MAX_DESCRIPTION_LEN: usize = 1000;
/// Longest relay name.
pub const MAX_NAME_LEN: usize = 200;
/// Most relays one organization trusts.
pub const MAX_RELAYS: usize = 1000;

pub const ERR_BAD_STRUCTURE: &str = "Bad structure received for Trusted Relays";
pub const ERR_MISSING_NAME: &str = "Relay key info with missing name in Trusted Relays";
pub const ERR_EMPTY_NAME: &str = "Relay key info with empty name in Trusted Relays";
pub const ERR_FEATURE_OFF: &str = "Organization does not have the relay feature enabled";

/// A Relay public key: URL-safe base64 without padding (43 characters) of 32 bytes that are a valid
/// Ed25519 point.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelayPublicKey(String);

impl RelayPublicKey {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| "bad key encoding")?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| "bad key data")?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| "bad key data")?;
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One relay as a request gives it: the checked key, the trimmed name and the description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayInput {
    pub public_key: RelayPublicKey,
    pub name: String,
    pub description: Option<String>,
}

/// One relay as stored (field order as Sentry's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRelay {
    pub public_key: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub last_modified: Option<String>,
}

impl StoredRelay {
    /// The API's form (`publicKey`, `lastModified`), leaving out what is unset (Sentry 2023).
    pub fn to_api(&self) -> Value {
        let mut item = serde_json::Map::new();
        item.insert("publicKey".into(), Value::from(self.public_key.as_str()));
        item.insert("name".into(), Value::from(self.name.as_str()));
        for (key, value) in [
            ("description", &self.description),
            ("created", &self.created),
            ("lastModified", &self.last_modified),
        ] {
            if let Some(value) = value {
                item.insert(key.into(), Value::from(value.as_str()));
            }
        }
        Value::Object(item)
    }
}

/// The stored list (empty when the option is unset or unreadable).
/// Whether any organization trusts this relay key (who may register when open registration is off).
pub fn trusted_anywhere(conn: &mut AnyConnection, public_key: &str) -> QueryResult<bool> {
    let candidates = crate::models::option::values_containing(conn, OPTION_KEY, public_key)?;
    Ok(candidates.iter().any(|text| {
        serde_json::from_str::<Value>(text)
            .ok()
            .is_some_and(|value| {
                stored_relays(Some(&value))
                    .iter()
                    .any(|relay| relay.public_key == public_key)
            })
    }))
}

pub fn stored_relays(value: Option<&Value>) -> Vec<StoredRelay> {
    value
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Parses one item of `trustedRelays` with Sentry's messages.
pub fn parse_item(item: &Value) -> Result<RelayInput, String> {
    let Value::Object(item) = item else {
        return Err(ERR_BAD_STRUCTURE.into());
    };
    let name = match item.get("name") {
        None | Some(Value::Null) => return Err(ERR_MISSING_NAME.into()),
        Some(Value::String(name)) => drf::py_strip(name).to_owned(),
        Some(_) => {
            return Err("Relay key info with a name that is not text in Trusted Relays".into());
        }
    };
    check_name(&name)?;
    let key = match item.get("publicKey") {
        Some(Value::String(key)) => key.as_str(),
        _ => "",
    };
    if key.is_empty() {
        return Err(format!(
            "Missing public key for relay key info with name:'{name}' in Trusted Relays"
        ));
    }
    let public_key = RelayPublicKey::parse(key).map_err(|_| {
        format!("Invalid public key for relay key info with name:'{name}' in Trusted Relays")
    })?;
    let description = match item.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            return Err(format!(
                "The description of relay '{name}' must be text in Trusted Relays"
            ));
        }
    };
    if let Some(text) = &description
        && text.chars().count() > MAX_DESCRIPTION_LEN
    {
        return Err(description_too_long(&name));
    }
    Ok(RelayInput {
        public_key,
        name,
        description,
    })
}

/// A relay name (already trimmed): not empty, not too long, on one line.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(ERR_EMPTY_NAME.into());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(format!(
            "Relay key info with a name longer than {MAX_NAME_LEN} characters in Trusted Relays"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(
            "Relay key info with a name containing control characters (such as line breaks) in \
             Trusted Relays"
                .into(),
        );
    }
    Ok(())
}

/// The list is longer than [`MAX_RELAYS`] (DRF's `ListField(max_length=…)` message).
pub fn too_many() -> String {
    format!("Ensure this field has no more than {MAX_RELAYS} elements.")
}

pub fn description_too_long(name: &str) -> String {
    format!(
        "The description of relay '{name}' is too long: at most {MAX_DESCRIPTION_LEN} characters."
    )
}

pub fn duplicated_key(key: &str) -> String {
    format!("Duplicated key in Trusted Relays: '{key}'")
}

/// Parses the `trustedRelays` field: every item first (their errors, in order), then the feature and
/// duplicate checks, as Sentry's serializer does.
pub fn parse_list(value: &Value, feature_on: bool) -> Result<Vec<RelayInput>, Vec<String>> {
    let items = match value {
        Value::Array(items) if items.len() > MAX_RELAYS => return Err(vec![too_many()]),
        Value::Array(items) => items,
        other => {
            return Err(vec![format!(
                "Expected a list of items but got type \"{}\".",
                drf::python_type_name(other)
            )]);
        }
    };
    let mut errors = Vec::new();
    let mut relays = Vec::new();
    for item in items {
        match parse_item(item) {
            Ok(relay) => relays.push(relay),
            Err(message) => errors.push(message),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if !feature_on {
        return Err(vec![ERR_FEATURE_OFF.into()]);
    }
    let mut seen = std::collections::HashSet::new();
    for relay in &relays {
        if !seen.insert(relay.public_key.as_str()) {
            return Err(vec![duplicated_key(relay.public_key.as_str())]);
        }
    }
    Ok(relays)
}

/// A change to the relay list: the whole list (API), or one row (the relays page), applied to the
/// list as stored when the save runs, so two people editing different rows do not undo each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelaysChange {
    Replace(Vec<RelayInput>),
    Add(RelayInput),
    Edit {
        public_key: String,
        name: String,
        description: Option<String>,
    },
    Remove {
        public_key: String,
    },
}

impl RelaysChange {
    /// The list this change asks for, given the stored one; an error names the row it cannot apply to.
    pub fn incoming(&self, stored: &[StoredRelay]) -> Result<Vec<RelayInput>, String> {
        let as_input = |relay: &StoredRelay| RelayInput {
            public_key: RelayPublicKey(relay.public_key.clone()),
            name: relay.name.clone(),
            description: relay.description.clone(),
        };
        let find = |key: &str| stored.iter().position(|r| r.public_key == key);
        let mut list: Vec<RelayInput> = stored.iter().map(as_input).collect();
        match self {
            RelaysChange::Replace(relays) => return Ok(relays.clone()),
            RelaysChange::Add(relay) => {
                if let Some(i) = find(relay.public_key.as_str()) {
                    return Err(format!(
                        "This organization already trusts this key, as '{}'.",
                        stored[i].name
                    ));
                }
                if list.len() >= MAX_RELAYS {
                    return Err(too_many());
                }
                list.push(relay.clone());
            }
            RelaysChange::Edit {
                public_key,
                name,
                description,
            } => {
                let i = find(public_key).ok_or_else(gone)?;
                list[i].name = name.clone();
                list[i].description = description.clone();
            }
            RelaysChange::Remove { public_key } => {
                let i = find(public_key).ok_or_else(gone)?;
                list.remove(i);
            }
        }
        Ok(list)
    }
}

fn gone() -> String {
    "This relay is not in the list any more: someone removed it meanwhile.".into()
}

/// The result of merging an incoming list into the stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub relays: Vec<StoredRelay>,
    /// A relay was added, removed, renamed or re-described (an audit-worthy change).
    pub modified: bool,
    /// Only the order changed: stored, not audited.
    pub reordered: bool,
    /// What changed, in words, for the audit log.
    pub description: String,
}

/// Sentry's `save_trusted_relays` merge: a kept key keeps `created`; `last_modified` becomes `now`
/// for a new key or a changed name or description; client dates are ignored; a removed key is a
/// change. All relays of one save share `now`.
pub fn merge(stored: &[StoredRelay], incoming: &[RelayInput], now: &str) -> Merged {
    let mut relays = Vec::with_capacity(incoming.len());
    let mut words = Vec::new();
    let mut modified = false;
    for relay in incoming {
        let key = relay.public_key.as_str();
        let existing = stored.iter().find(|r| r.public_key == key);
        let created = existing
            .and_then(|r| r.created.clone())
            .unwrap_or_else(|| now.to_owned());
        let mut last_modified = existing.and_then(|r| r.last_modified.clone());
        match existing {
            None => {
                modified = true;
                last_modified = Some(now.to_owned());
                words.push(format!("added relay '{}' ({key})", relay.name));
            }
            Some(old) if old.name != relay.name || old.description != relay.description => {
                modified = true;
                last_modified = Some(now.to_owned());
                let mut what = Vec::new();
                if old.name != relay.name {
                    what.push(format!("name from '{}' to '{}'", old.name, relay.name));
                }
                if old.description != relay.description {
                    what.push(format!(
                        "description from {} to {}",
                        quoted(&old.description),
                        quoted(&relay.description)
                    ));
                }
                words.push(format!(
                    "edited relay '{}' ({key}): {}",
                    relay.name,
                    what.join(", ")
                ));
            }
            Some(_) => {}
        }
        relays.push(StoredRelay {
            public_key: key.to_owned(),
            name: relay.name.clone(),
            description: relay.description.clone(),
            created: Some(created),
            last_modified,
        });
    }
    for old in stored {
        if !incoming
            .iter()
            .any(|r| r.public_key.as_str() == old.public_key)
        {
            modified = true;
            words.push(format!("removed relay '{}' ({})", old.name, old.public_key));
        }
    }
    let reordered = !modified
        && stored
            .iter()
            .map(|r| &r.public_key)
            .ne(relays.iter().map(|r| &r.public_key));
    Merged {
        relays,
        modified,
        reordered,
        description: words.join("; "),
    }
}

fn quoted(text: &Option<String>) -> String {
    match text {
        Some(text) => format!("'{text}'"),
        None => "none".into(),
    }
}

/// The time as Python's `datetime.isoformat()` writes it for UTC (microseconds left out when zero).
pub fn iso_now(now: chrono::NaiveDateTime) -> String {
    use chrono::Timelike;
    if now.nanosecond() / 1000 == 0 {
        now.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        now.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub const KEYS: [&str; 4] = [
        "IbXZDWy8DcGLVoT_Z6-ODALEnsyhKiC_i-0r3azaztQ",
        "CZa3eDblYqBVoxK3O_4fr5WBbUmUVwc6FrRXbOQTPfk",
        "gyKnK-__yfEOweJ95sB1JoqAh6VlS4c_uIwsrrQ4G7E",
        "kSdr7ozq2T3gLg7FehJro2PH_NnNMJrrCslleKGZQd8",
    ];

    fn input(key: &str, name: &str, description: Option<&str>) -> RelayInput {
        RelayInput {
            public_key: RelayPublicKey::parse(key).unwrap(),
            name: name.into(),
            description: description.map(str::to_owned),
        }
    }

    #[test]
    fn keys_from_sentrys_tests_are_valid_and_malformed_ones_are_not() {
        for key in KEYS {
            assert!(RelayPublicKey::parse(key).is_ok(), "{key}");
        }
        let valid = KEYS[0];
        let cases = [
            "Bad Key".to_owned(),
            valid[..42].to_owned(),
            format!("{valid}A"),
            format!("{valid}="),
            valid.replace('_', "/"),
            valid.replace('-', "+"),
            // 32 bytes, but not a point on the curve
            URL_SAFE_NO_PAD.encode([2u8; 32]),
        ];
        for key in &cases {
            assert!(RelayPublicKey::parse(key).is_err(), "{key}");
        }
    }

    #[test]
    fn items_get_sentrys_messages() {
        let cases = [
            (json!("x"), ERR_BAD_STRUCTURE.to_owned()),
            (json!({"publicKey": KEYS[0]}), ERR_MISSING_NAME.to_owned()),
            (
                json!({"name": null, "publicKey": KEYS[0]}),
                ERR_MISSING_NAME.to_owned(),
            ),
            (
                json!({"name": "  ", "publicKey": KEYS[0]}),
                ERR_EMPTY_NAME.to_owned(),
            ),
            (
                json!({"name": "a"}),
                "Missing public key for relay key info with name:'a' in Trusted Relays".to_owned(),
            ),
            (
                json!({"name": " a ", "publicKey": "Bad Key"}),
                "Invalid public key for relay key info with name:'a' in Trusted Relays".to_owned(),
            ),
            (
                json!({"name": "a", "publicKey": KEYS[0], "description": "d".repeat(1001)}),
                description_too_long("a"),
            ),
        ];
        for (item, message) in cases {
            assert_eq!(parse_item(&item), Err(message), "{item}");
        }
    }

    #[test]
    fn the_list_checks_items_then_the_feature_then_duplicates() {
        let dup = json!([{"name": "a", "publicKey": KEYS[0]}, {"name": "b", "publicKey": KEYS[0]}]);
        assert_eq!(parse_list(&dup, true), Err(vec![duplicated_key(KEYS[0])]));
        assert_eq!(
            parse_list(&dup, false),
            Err(vec![ERR_FEATURE_OFF.to_owned()])
        );
        let bad = json!([{"name": "a", "publicKey": "x"}, "y"]);
        assert_eq!(
            parse_list(&bad, false).unwrap_err().len(),
            2,
            "item errors come first"
        );
        assert_eq!(
            parse_list(&json!({"a": 1}), true),
            Err(vec![
                "Expected a list of items but got type \"dict\".".to_owned()
            ])
        );
    }

    #[test]
    fn merging_keeps_created_and_bumps_last_modified_only_on_real_changes() {
        let first = merge(
            &[],
            &[
                input(KEYS[0], "one", None),
                input(KEYS[1], "two", Some("d")),
            ],
            "T1",
        );
        assert!(first.modified);
        assert_eq!(first.relays[0].created.as_deref(), Some("T1"));
        assert_eq!(first.relays[1].last_modified.as_deref(), Some("T1"));

        // same content: nothing modified, dates kept
        let same = merge(
            &first.relays,
            &[
                input(KEYS[0], "one", None),
                input(KEYS[1], "two", Some("d")),
            ],
            "T2",
        );
        assert!(!same.modified && !same.reordered);
        assert_eq!(same.relays, first.relays);

        // rename one, keep the other, add a third
        let second = merge(
            &first.relays,
            &[
                input(KEYS[0], "uno", None),
                input(KEYS[1], "two", Some("d")),
                input(KEYS[2], "three", None),
            ],
            "T3",
        );
        assert!(second.modified);
        assert_eq!(second.relays[0].created.as_deref(), Some("T1"));
        assert_eq!(second.relays[0].last_modified.as_deref(), Some("T3"));
        assert_eq!(second.relays[1].last_modified.as_deref(), Some("T1"));
        assert_eq!(second.relays[2].created.as_deref(), Some("T3"));
        assert_eq!(
            second.description,
            format!(
                "edited relay 'uno' ({}): name from 'one' to 'uno'; added relay 'three' ({})",
                KEYS[0], KEYS[2]
            )
        );

        // only the order changes: stored, not a modification
        let reordered = merge(
            &second.relays,
            &[
                input(KEYS[2], "three", None),
                input(KEYS[0], "uno", None),
                input(KEYS[1], "two", Some("d")),
            ],
            "T4",
        );
        assert!(!reordered.modified && reordered.reordered);
        assert_eq!(reordered.relays[0].public_key, KEYS[2]);

        // a description from none to "" is a change; a removal is a change
        let third = merge(
            &second.relays,
            &[
                input(KEYS[0], "uno", Some("")),
                input(KEYS[2], "three", None),
            ],
            "T5",
        );
        assert_eq!(
            third.description,
            format!(
                "edited relay 'uno' ({}): description from none to ''; removed relay 'two' ({})",
                KEYS[0], KEYS[1]
            )
        );
    }

    #[test]
    fn one_row_changes_apply_to_the_list_as_stored() {
        let stored = merge(
            &[],
            &[input(KEYS[0], "one", None), input(KEYS[1], "two", None)],
            "T1",
        )
        .relays;
        let add = RelaysChange::Add(input(KEYS[2], "three", None));
        assert_eq!(add.incoming(&stored).unwrap().len(), 3);
        let again = RelaysChange::Add(input(KEYS[0], "copy", None));
        assert_eq!(
            again.incoming(&stored),
            Err("This organization already trusts this key, as 'one'.".into())
        );
        let remove = RelaysChange::Remove {
            public_key: KEYS[3].into(),
        };
        assert!(
            remove
                .incoming(&stored)
                .unwrap_err()
                .contains("someone removed it")
        );
    }

    #[test]
    fn timestamps_read_like_pythons_isoformat() {
        let t = chrono::DateTime::from_timestamp(1_590_006_082, 123_456_000)
            .unwrap()
            .naive_utc();
        assert_eq!(iso_now(t), "2020-05-20T20:21:22.123456+00:00");
        let whole = chrono::DateTime::from_timestamp(1_590_006_082, 0)
            .unwrap()
            .naive_utc();
        assert_eq!(iso_now(whole), "2020-05-20T20:21:22+00:00");
    }
}
