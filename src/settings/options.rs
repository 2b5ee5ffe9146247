//! The organization options (docs/compatibility.md, "Options"): API key, option key, type and default, in
//! Sentry's order, which is also the order of their entries in an audit change set.

use serde_json::Value;

use super::pii;
use crate::drf;
use crate::models::role::Role;

/// `MAX_SENSITIVE_FIELD_CHARS`
pub const MAX_SENSITIVE_FIELD_CHARS: usize = 4000;
/// The same bound for safe fields (Sentry has none; a 7 MB entry made every read 7 MB).
pub const MAX_SAFE_FIELD_CHARS: usize = 4000;
/// Longest `relayPiiConfig` (Sentry has no bound; this is far above any hand-written config).
pub const MAX_PII_CONFIG_CHARS: usize = 100_000;
/// `STORE_CRASH_REPORTS_MAX`
pub const STORE_CRASH_REPORTS_MAX: i64 = 100;
/// `STORE_CRASH_REPORTS_ALL`: keep every crash report.
pub const STORE_CRASH_REPORTS_ALL: i64 = -1;

/// How an option's input is checked and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int {
        min: Option<i64>,
        max: Option<i64>,
    },
    /// DRF's `EmptyIntegerField(allow_null=True)`: `""` and `null` mean no value.
    NullableInt {
        min: i64,
        max: i64,
    },
    /// A role id (`member`, `admin`, `manager`, `owner`).
    Role,
    SensitiveFields,
    SafeFields,
    /// Relay PII config as JSON text; blank or null means none.
    PiiConfig,
    /// One of a few strings (DRF's `ChoiceField`).
    Choice(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    None,
    Bool(bool),
    Int(i64),
    Str(&'static str),
}

#[derive(Debug, PartialEq, Eq)]
pub struct OptionDef {
    /// The field name in the API and the form (`dataScrubber`).
    pub api_key: &'static str,
    /// The stored option key (`sentry:require_scrub_data`).
    pub key: &'static str,
    pub kind: Kind,
    pub default: Default,
    /// Legacy rate limits: settable only where the organization already has one of them.
    pub legacy: bool,
}

const fn def(api_key: &'static str, key: &'static str, kind: Kind, default: Default) -> OptionDef {
    OptionDef {
        api_key,
        key,
        kind,
        default,
        legacy: false,
    }
}

/// `ingestThroughTrustedRelaysOnly`'s values (Sentry's choices).
pub const TRUSTED_RELAYS_ONLY_CHOICES: &[&str] = &["enabled", "disabled"];

pub static OPTIONS: [OptionDef; 25] = [
    OptionDef {
        api_key: "projectRateLimit",
        key: "sentry:project-rate-limit",
        kind: Kind::NullableInt { min: 50, max: 100 },
        default: Default::Int(100),
        legacy: true,
    },
    OptionDef {
        api_key: "accountRateLimit",
        key: "sentry:account-rate-limit",
        kind: Kind::NullableInt {
            min: 0,
            max: 1_000_000,
        },
        default: Default::Int(0),
        legacy: true,
    },
    def(
        "dataScrubber",
        "sentry:require_scrub_data",
        Kind::Bool,
        Default::Bool(false),
    ),
    def(
        "sensitiveFields",
        "sentry:sensitive_fields",
        Kind::SensitiveFields,
        Default::None,
    ),
    def(
        "safeFields",
        "sentry:safe_fields",
        Kind::SafeFields,
        Default::None,
    ),
    def(
        "scrapeJavaScript",
        "sentry:scrape_javascript",
        Kind::Bool,
        Default::Bool(true),
    ),
    def(
        "dataScrubberDefaults",
        "sentry:require_scrub_defaults",
        Kind::Bool,
        Default::Bool(false),
    ),
    def(
        "storeCrashReports",
        "sentry:store_crash_reports",
        Kind::Int {
            min: Some(STORE_CRASH_REPORTS_ALL),
            max: Some(STORE_CRASH_REPORTS_MAX),
        },
        Default::Int(0),
    ),
    def(
        "attachmentsRole",
        "sentry:attachments_role",
        Kind::Role,
        Default::Str("member"),
    ),
    def(
        "debugFilesRole",
        "sentry:debug_files_role",
        Kind::Role,
        Default::Str("admin"),
    ),
    def(
        "eventsMemberAdmin",
        "sentry:events_member_admin",
        Kind::Bool,
        Default::Bool(true),
    ),
    def(
        "alertsMemberWrite",
        "sentry:alerts_member_write",
        Kind::Bool,
        Default::Bool(true),
    ),
    def(
        "scrubIPAddresses",
        "sentry:require_scrub_ip_address",
        Kind::Bool,
        Default::Bool(false),
    ),
    def(
        "relayPiiConfig",
        "sentry:relay_pii_config",
        Kind::PiiConfig,
        Default::None,
    ),
    def(
        "allowJoinRequests",
        "sentry:join_requests",
        Kind::Bool,
        Default::Bool(true),
    ),
    def(
        "apdexThreshold",
        "sentry:apdex_threshold",
        Kind::Int {
            min: Some(1),
            max: None,
        },
        Default::None,
    ),
    def(
        "aiSuggestedSolution",
        "sentry:ai_suggested_solution",
        Kind::Bool,
        Default::Bool(true),
    ),
    def(
        "hideAiFeatures",
        "sentry:hide_ai_features",
        Kind::Bool,
        Default::Bool(false),
    ),
    def(
        "githubPRBot",
        "sentry:github_pr_bot",
        Kind::Bool,
        Default::Bool(true),
    ),
    def(
        "githubOpenPRBot",
        "sentry:github_open_pr_bot",
        Kind::Bool,
        Default::Bool(true),
    ),
    def(
        "githubNudgeInvite",
        "sentry:github_nudge_invite",
        Kind::Bool,
        Default::Bool(true),
    ),
    def(
        "gitlabPRBot",
        "sentry:gitlab_pr_bot",
        Kind::Bool,
        Default::Bool(true),
    ),
    def(
        "issueAlertsThreadFlag",
        "sentry:issue_alerts_thread_flag",
        Kind::Bool,
        Default::Bool(true),
    ),
    def(
        "metricAlertsThreadFlag",
        "sentry:metric_alerts_thread_flag",
        Kind::Bool,
        Default::Bool(true),
    ),
    def(
        "ingestThroughTrustedRelaysOnly",
        "sentry:ingest-through-trusted-relays-only",
        Kind::Choice(TRUSTED_RELAYS_ONLY_CHOICES),
        Default::Str("disabled"),
    ),
];

/// The option with this API key.
pub fn by_api_key(api_key: &str) -> Option<&'static OptionDef> {
    OPTIONS.iter().find(|def| def.api_key == api_key)
}

impl OptionDef {
    pub fn default_value(&self) -> Value {
        match self.default {
            Default::None => Value::Null,
            Default::Bool(b) => Value::Bool(b),
            Default::Int(n) => Value::from(n),
            Default::Str(s) => Value::from(s),
        }
    }

    /// Checks an input with the option's rules (docs/compatibility.md, "Validation") and returns the value to store.
    pub fn parse(&self, input: &Value) -> Result<Value, String> {
        match self.kind {
            Kind::Bool => drf::boolean(input).map(Value::Bool),
            Kind::Int { min, max } => drf::integer(input, min, max).map(Value::from),
            Kind::NullableInt { min, max } => match input {
                Value::Null => Ok(Value::Null),
                Value::String(s) if s.is_empty() => Ok(Value::Null),
                other => drf::integer(other, Some(min), Some(max)).map(Value::from),
            },
            Kind::Role => {
                let text = drf::string(input, false, None)?;
                Role::parse(&text).map(|role| Value::from(role.id()))
            }
            Kind::SensitiveFields => {
                let items = drf::string_list(input)?;
                let total: usize = items.iter().map(|s| s.chars().count()).sum();
                if total > MAX_SENSITIVE_FIELD_CHARS {
                    return Err("List of sensitive fields is too long.".into());
                }
                Ok(Value::from(items))
            }
            Kind::SafeFields => {
                let items = drf::string_list(input)?;
                let total: usize = items.iter().map(|s| s.chars().count()).sum();
                if total > MAX_SAFE_FIELD_CHARS {
                    return Err("List of safe fields is too long.".into());
                }
                pii::validate_safe_fields(&items)?;
                Ok(Value::from(items))
            }
            Kind::PiiConfig => {
                if input.is_null() {
                    return Ok(Value::Null);
                }
                let text = drf::string(input, true, Some(MAX_PII_CONFIG_CHARS))?;
                if !text.is_empty() {
                    pii::config::validate_pii_config(&text)?;
                }
                Ok(Value::from(text))
            }
            Kind::Choice(choices) => drf::choice(input, choices).map(Value::from),
        }
    }

    /// How a stored value (or the default) reads in the API and the form: lists default to `[]`, an
    /// empty PII config reads as `null`.
    pub fn api_value(&self, stored: Option<&Value>) -> Value {
        let value = match stored {
            Some(value) => value.clone(),
            None => self.default_value(),
        };
        match (self.kind, value) {
            (Kind::SensitiveFields | Kind::SafeFields, Value::Null) => Value::Array(Vec::new()),
            (Kind::PiiConfig, Value::String(s)) if s.is_empty() => Value::Null,
            (_, value) => value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_registry_has_sentrys_options_in_sentrys_order() {
        let keys: Vec<&str> = OPTIONS.iter().map(|d| d.api_key).collect();
        assert_eq!(keys.len(), 25);
        assert_eq!(keys[0], "projectRateLimit");
        assert_eq!(keys[2], "dataScrubber");
        assert_eq!(keys[13], "relayPiiConfig");
        assert_eq!(keys[17], "hideAiFeatures");
        assert_eq!(keys[20], "githubNudgeInvite");
        assert_eq!(keys[24], "ingestThroughTrustedRelaysOnly");
        let choice = by_api_key("ingestThroughTrustedRelaysOnly").unwrap();
        assert_eq!(choice.parse(&json!("enabled")), Ok(json!("enabled")));
        assert_eq!(
            choice.parse(&json!("on")),
            Err("\"on\" is not a valid choice.".into())
        );
        assert_eq!(
            by_api_key("debugFilesRole").unwrap().default_value(),
            json!("admin")
        );
    }

    #[test]
    fn sensitive_fields_are_limited_to_4000_characters_in_total() {
        let def = by_api_key("sensitiveFields").unwrap();
        let at_limit = json!(["a".repeat(2000), "b".repeat(2000)]);
        assert!(def.parse(&at_limit).is_ok());
        let over = json!(["a".repeat(2000), "b".repeat(2001)]);
        assert_eq!(
            def.parse(&over),
            Err("List of sensitive fields is too long.".into())
        );
        assert_eq!(
            def.parse(&json!(["ok", " "])),
            Err("This field may not be blank.".into())
        );
    }

    #[test]
    fn roles_crash_reports_and_rate_limits_check_their_ranges() {
        let role = by_api_key("attachmentsRole").unwrap();
        assert_eq!(role.parse(&json!("manager")), Ok(json!("manager")));
        assert_eq!(role.parse(&json!("boss")), Err("Invalid role".into()));
        let crash = by_api_key("storeCrashReports").unwrap();
        assert_eq!(crash.parse(&json!(-1)), Ok(json!(-1)));
        assert_eq!(
            crash.parse(&json!(101)),
            Err("Ensure this value is less than or equal to 100.".into())
        );
        let project = by_api_key("projectRateLimit").unwrap();
        assert_eq!(project.parse(&json!("")), Ok(Value::Null));
        assert_eq!(
            project.parse(&json!(49)),
            Err("Ensure this value is greater than or equal to 50.".into())
        );
    }

    #[test]
    fn a_blank_pii_config_is_stored_empty_and_reads_as_null() {
        let def = by_api_key("relayPiiConfig").unwrap();
        assert_eq!(def.parse(&json!("   ")), Ok(json!("")));
        assert_eq!(def.api_value(Some(&json!(""))), Value::Null);
        assert_eq!(def.parse(&json!(null)), Ok(Value::Null));
        assert!(
            def.parse(&json!("{\"rules\": null}"))
                .unwrap_err()
                .starts_with("invalid type: null")
        );
        assert_eq!(
            def.parse(&json!({"rules": {}})),
            Err("Not a valid string.".into())
        );
    }
}
