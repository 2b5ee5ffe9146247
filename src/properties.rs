//! Property tests of every parser that takes user input: whatever comes in, nothing panics, and a
//! refusal is a message for a field (never an internal error).

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::config::Features;
use crate::errors::DomainError;
use crate::models::organization::OrgName;
use crate::models::slug::Slug;
use crate::models::user::{EmailAddress, Password, Username};
use crate::settings::avatar;
use crate::settings::pii::config::validate_pii_config;
use crate::settings::pii::selector::validate_pii_selector;
use crate::settings::relays::{RelayPublicKey, parse_list};
use crate::settings::update::OrganizationUpdate;
use crate::web::settings_pages::form::{SettingsPage, Submission, changed_fields};

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        "[a-z:.$*|&!()\\[\\]'\\-]{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The API keys of the organization update, and a few that are not.
const KEYS: &[&str] = &[
    "name",
    "slug",
    "defaultRole",
    "cancelDeletion",
    "openMembership",
    "allowSharedIssues",
    "enhancedPrivacy",
    "isEarlyAdopter",
    "codecovAccess",
    "require2FA",
    "requireEmailVerification",
    "dataScrubber",
    "dataScrubberDefaults",
    "sensitiveFields",
    "safeFields",
    "storeCrashReports",
    "attachmentsRole",
    "debugFilesRole",
    "eventsMemberAdmin",
    "alertsMemberWrite",
    "scrubIPAddresses",
    "scrapeJavaScript",
    "allowJoinRequests",
    "relayPiiConfig",
    "apdexThreshold",
    "accountRateLimit",
    "projectRateLimit",
    "trustedRelays",
    "avatar",
    "avatarType",
    "unknownKey",
];

fn update_body() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((prop::sample::select(KEYS), json()), 0..8)
        .prop_map(|pairs| pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The first bytes of PNG, JPEG and GIF files, and none.
const MAGIC: &[&[u8]] = &[b"\x89PNG\r\n\x1a\n", &[0xFF, 0xD8, 0xFF], b"GIF89a", b""];

fn refused_with_field_errors(
    result: Result<OrganizationUpdate, DomainError>,
) -> Result<(), String> {
    match result {
        Ok(_) => Ok(()),
        Err(DomainError::Invalid(errors)) if !errors.is_empty() => Ok(()),
        Err(DomainError::TooLarge(_)) => Ok(()),
        Err(other) => Err(format!("not a field error: {other:?}")),
    }
}

fn refusal_has_words<T>(result: Result<T, String>) -> Result<(), TestCaseError> {
    if let Err(message) = result {
        prop_assert!(!message.trim().is_empty(), "an empty refusal");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn slugs_names_usernames_emails_and_passwords_parse_or_say_why(raw in ".{0,80}") {
        refusal_has_words(Slug::parse(&raw))?;
        refusal_has_words(OrgName::parse(&raw))?;
        refusal_has_words(Username::parse(&raw))?;
        refusal_has_words(EmailAddress::parse(&raw))?;
        refusal_has_words(Password::parse(&raw))?;
        if let Ok(slug) = Slug::parse(&raw) {
            // what is accepted is what the rules allow
            prop_assert!(slug.as_str().len() >= 3 && slug.as_str().len() <= 50);
            prop_assert!(slug.as_str().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        }
        if let Ok(name) = OrgName::parse(&raw) {
            prop_assert!(!name.as_str().chars().any(char::is_control));
        }
    }

    #[test]
    fn slug_like_input_parses_or_says_why(raw in "[ a-zA-Z0-9_-]{0,60}") {
        refusal_has_words(Slug::parse(&raw))?;
    }

    #[test]
    fn any_json_update_parses_or_gives_field_errors(body in update_body()) {
        let features = Features::default();
        let parsed = OrganizationUpdate::parse(&body, true, &features);
        prop_assert!(refused_with_field_errors(parsed).is_ok());
        let parsed = OrganizationUpdate::parse(&body, false, &features);
        prop_assert!(refused_with_field_errors(parsed).is_ok());
    }

    #[test]
    fn any_settings_form_becomes_an_update_or_field_errors(
        pairs in prop::collection::vec((prop::sample::select(KEYS), ".{0,30}"), 0..10),
        shown in prop::collection::btree_map(prop::sample::select(KEYS), json(), 0..6),
    ) {
        let submission = Submission::new(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        let shown: Map<String, Value> = shown.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        for page in [SettingsPage::General, SettingsPage::SecurityAndPrivacy] {
            let fields: Vec<_> = page.sections().iter().flat_map(|s| s.fields.iter()).collect();
            let (changed, _) = changed_fields(&submission, &fields, &shown);
            let parsed = OrganizationUpdate::parse(&changed, true, &Features::default());
            prop_assert!(refused_with_field_errors(parsed).is_ok());
        }
    }

    #[test]
    fn relay_keys_and_lists_parse_or_say_why(raw in ".{0,60}", list in json()) {
        let _ = RelayPublicKey::parse(&raw);
        if let Err(messages) = parse_list(&list, true) {
            prop_assert!(!messages.is_empty() && messages.iter().all(|m| !m.is_empty()));
        }
    }

    #[test]
    fn base64_of_any_text_decodes_or_says_why(raw in ".{0,200}") {
        if let Err(message) = avatar::decode_base64(&raw) {
            prop_assert!(!message.is_empty());
        }
    }

    #[test]
    fn image_headers_of_any_bytes_are_refused_with_an_avatar_error(
        magic in prop::sample::select(MAGIC),
        rest in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&rest);
        // random bytes are never a 256×256 image; whatever they are, the answer is a message
        let refused = avatar::process_upload(&bytes).unwrap_err();
        prop_assert!(!refused.message().is_empty());
    }
}

proptest! {
    // Relay's grammar compiles regexes: fewer, slower cases
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn pii_selectors_parse_or_say_why(raw in "[a-z$*.|&!()\\[\\]'~ 0-9-]{0,40}", any_text in ".{0,40}") {
        for input in [raw, any_text] {
            if let Err(err) = validate_pii_selector(&input) {
                prop_assert!(!err.to_string().is_empty());
            }
        }
    }

    #[test]
    fn pii_configs_parse_or_say_why(config in json()) {
        let text = config.to_string();
        refusal_has_words(validate_pii_config(&text))?;
        // and as the raw text a user might paste
        let half: String = text.chars().take(text.chars().count() / 2).collect();
        refusal_has_words(validate_pii_config(&half))?;
    }
}
