//! The settings form: which fields each page shows, in which sections, with which input, label and
//! help text; and the translation of a submitted form into the API's JSON, so the form goes through
//! exactly the checks of the API.

use serde_json::{Map, Value};

use crate::config::{Feature, Features};
use crate::errors::FieldErrors;
use crate::models::role::Role;
use crate::settings::current::OrgSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Checkbox,
    Text {
        max_len: usize,
    },
    Number,
    /// One value per line, sent as a list.
    Lines,
    /// Free text (JSON).
    Code,
    Select(&'static [(&'static str, &'static str)]),
}

/// When a field is on the page at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Always,
    WithFeature(Feature),
    /// The legacy rate limits, only where the organization has them.
    WithLegacyRateLimits,
}

#[derive(Debug)]
pub struct FieldSpec {
    pub key: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub input: Input,
    /// Owners only; shown disabled to managers.
    pub owner_only: bool,
    pub shown: Shown,
}

const fn field(
    key: &'static str,
    label: &'static str,
    help: &'static str,
    input: Input,
) -> FieldSpec {
    FieldSpec {
        key,
        label,
        help,
        input,
        owner_only: false,
        shown: Shown::Always,
    }
}

const fn checkbox(key: &'static str, label: &'static str, help: &'static str) -> FieldSpec {
    field(key, label, help, Input::Checkbox)
}

pub struct SectionSpec {
    pub id: &'static str,
    pub title: &'static str,
    pub fields: &'static [FieldSpec],
}

pub const ROLE_LABELS: &[(&str, &str)] = &[
    ("member", "Member"),
    ("admin", "Admin"),
    ("manager", "Manager"),
    ("owner", "Owner"),
];

/// New members are never given the retired admin role from the form.
const DEFAULT_ROLES: &[(&str, &str)] = &[
    ("member", "Member"),
    ("manager", "Manager"),
    ("owner", "Owner"),
];

const CRASH_REPORTS: &[(&str, &str)] = &[
    ("0", "Disabled"),
    ("1", "1 per issue"),
    ("5", "5 per issue"),
    ("10", "10 per issue"),
    ("20", "20 per issue"),
    ("50", "50 per issue"),
    ("100", "100 per issue"),
    ("-1", "Unlimited"),
];

static GENERAL: [SectionSpec; 3] = [
    SectionSpec {
        id: "general",
        title: "General",
        fields: &[
            field(
                "name",
                "Name",
                "The name of your organization, as members see it. Up to 64 characters.",
                Input::Text { max_len: 64 },
            ),
            field(
                "slug",
                "Organization slug",
                "A unique ID used in URLs and the API: 3–50 lowercase letters, numbers and hyphens. \
                 Changing it changes every URL of this organization; links and scripts using the old \
                 slug are redirected until another organization takes it.",
                Input::Text { max_len: 50 },
            ),
        ],
    },
    SectionSpec {
        id: "membership",
        title: "Membership",
        fields: &[
            FieldSpec {
                key: "defaultRole",
                label: "Default role",
                help: "The role new members receive. Only owners can change it.",
                input: Input::Select(DEFAULT_ROLES),
                owner_only: true,
                shown: Shown::Always,
            },
            checkbox(
                "openMembership",
                "Open membership",
                "Allow organization members to freely join any team.",
            ),
            checkbox(
                "allowJoinRequests",
                "Let users request to join",
                "Allow users to request to join your organization.",
            ),
            checkbox(
                "allowMemberInvite",
                "Let members invite others",
                "Sentry's setting for members inviting others. Here only managers and owners invite (members have no invitation requests to send), so it is kept for tools that read it.",
            ),
            checkbox(
                "allowMemberProjectCreation",
                "Let members create projects",
                "Sentry's setting for members creating projects. orgsettings has no projects, so it is kept for tools that read it.",
            ),
            checkbox(
                "eventsMemberAdmin",
                "Let members delete events",
                "Allow members to delete events (including the delete & discard action) by granting them the event:admin scope.",
            ),
            checkbox(
                "alertsMemberWrite",
                "Let members create and edit alerts",
                "Allow members to create, edit and delete alert rules by granting them the alerts:write scope.",
            ),
            field(
                "attachmentsRole",
                "Attachments access",
                "The role required to download event attachments, such as native crash reports or log files.",
                Input::Select(ROLE_LABELS),
            ),
            field(
                "debugFilesRole",
                "Debug files access",
                "The role required to download debug information files, ProGuard mappings and source maps.",
                Input::Select(ROLE_LABELS),
            ),
        ],
    },
    SectionSpec {
        id: "advanced",
        title: "Advanced",
        fields: &[
            checkbox(
                "isEarlyAdopter",
                "Early adopter",
                "Opt in to new features before they are released to the public.",
            ),
            field(
                "apdexThreshold",
                "Apdex threshold (ms)",
                "Transactions faster than this many milliseconds count as satisfying in the Apdex score. At least 1.",
                Input::Number,
            ),
            checkbox(
                "hideAiFeatures",
                "Hide AI features",
                "Hide generative AI features from every member of this organization.",
            ),
            checkbox(
                "aiSuggestedSolution",
                "AI suggested solutions",
                "Show AI-suggested solutions for issues.",
            ),
            checkbox(
                "githubPRBot",
                "GitHub PR comments",
                "Comment on pull requests suspected of causing issues.",
            ),
            checkbox(
                "githubOpenPRBot",
                "GitHub open PR comments",
                "Comment on open pull requests that touch code with known issues.",
            ),
            checkbox(
                "githubNudgeInvite",
                "GitHub invite nudges",
                "Suggest inviting GitHub committers who are not members yet.",
            ),
            checkbox(
                "gitlabPRBot",
                "GitLab merge request comments",
                "Comment on recent merge requests suspected of causing issues. Requires a GitLab integration.",
            ),
            checkbox(
                "issueAlertsThreadFlag",
                "Slack threads for issue alerts",
                "Post replies to an issue alert notification in its Slack thread. Requires a Slack integration.",
            ),
            checkbox(
                "metricAlertsThreadFlag",
                "Slack threads for metric alerts",
                "Post replies to a metric alert notification in its Slack thread. Requires a Slack integration.",
            ),
            FieldSpec {
                key: "accountRateLimit",
                label: "Account rate limit (legacy)",
                help: "Events per minute for the whole organization; empty or 0 for no limit. Between 0 and 1000000.",
                input: Input::Number,
                owner_only: false,
                shown: Shown::WithLegacyRateLimits,
            },
            FieldSpec {
                key: "projectRateLimit",
                label: "Per-project rate limit (legacy)",
                help: "The share of the account limit, in percent, that one project may use. Between 50 and 100.",
                input: Input::Number,
                owner_only: false,
                shown: Shown::WithLegacyRateLimits,
            },
        ],
    },
];

const TRUSTED_RELAYS_ONLY: &[(&str, &str)] = &[("disabled", "Disabled"), ("enabled", "Enabled")];

static SECURITY: [SectionSpec; 4] = [
    SectionSpec {
        id: "security",
        title: "Members and sharing",
        fields: &[
            checkbox(
                "require2FA",
                "Require two-factor authentication",
                "Require and enforce two-factor authentication for all members. You need two-factor authentication yourself to turn this on.",
            ),
            FieldSpec {
                key: "requireEmailVerification",
                label: "Require email verification",
                help: "Require and enforce email address verification for all members. Your own address must be verified to turn this on.",
                input: Input::Checkbox,
                owner_only: false,
                shown: Shown::WithFeature(Feature::RequiredEmailVerification),
            },
            checkbox(
                "allowSuperuserAccess",
                "Allow superuser access",
                "Let this instance's superusers open this organization in superuser mode. When off, superusers who are not members cannot see it at all.",
            ),
            checkbox(
                "allowSharedIssues",
                "Allow shared issues",
                "Enable sharing of limited details on issues with anonymous users.",
            ),
            checkbox(
                "enhancedPrivacy",
                "Enhanced privacy",
                "Limit personally identifiable information (PII) and source code in things like notifications.",
            ),
            checkbox(
                "scrapeJavaScript",
                "Allow JavaScript source fetching",
                "Allow fetching missing JavaScript source context when possible.",
            ),
            field(
                "storeCrashReports",
                "Store native crash reports",
                "Store native crash reports such as minidumps for improved processing and download in issue details.",
                Input::Select(CRASH_REPORTS),
            ),
        ],
    },
    SectionSpec {
        id: "data-scrubbing",
        title: "Data scrubbing",
        fields: &[
            checkbox(
                "dataScrubber",
                "Require data scrubber",
                "Require server-side data scrubbing to be enabled for all projects.",
            ),
            checkbox(
                "dataScrubberDefaults",
                "Require using default scrubbers",
                "Require the default scrubbers to be applied, which keep things like passwords and credit card numbers from being stored, for all projects.",
            ),
            checkbox(
                "scrubIPAddresses",
                "Prevent storing of IP addresses",
                "Do not store IP addresses of new events in any project.",
            ),
            field(
                "sensitiveFields",
                "Global sensitive fields",
                "Additional field names to scrub in all projects, one per line (4000 characters in all). For example: email",
                Input::Lines,
            ),
            field(
                "safeFields",
                "Global safe fields",
                "Fields the data scrubbers leave alone, one Relay selector per line. For example: $frame.vars or $http.headers.x-request-id",
                Input::Lines,
            ),
        ],
    },
    SectionSpec {
        id: "ingestion",
        title: "Ingestion",
        fields: &[field(
            "ingestThroughTrustedRelaysOnly",
            "Ingest through trusted Relays only",
            "Accept events only when they come through one of this organization's trusted Relays (Settings → Relays).",
            Input::Select(TRUSTED_RELAYS_ONLY),
        )],
    },
    SectionSpec {
        id: "advanced-data-scrubbing",
        title: "Advanced data scrubbing",
        fields: &[field(
            "relayPiiConfig",
            "Relay PII config",
            "Custom scrubbing rules in Relay's JSON format (rules, applications and vars). Leave empty for none.",
            Input::Code,
        )],
    },
];

/// The two settings pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingsPage {
    General,
    SecurityAndPrivacy,
}

impl SettingsPage {
    pub fn sections(self) -> &'static [SectionSpec] {
        match self {
            SettingsPage::General => &GENERAL,
            SettingsPage::SecurityAndPrivacy => &SECURITY,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            // not "General": that is the title of the page's first section
            SettingsPage::General => "Organization settings",
            SettingsPage::SecurityAndPrivacy => "Security & Privacy",
        }
    }

    /// The page's path under `/settings/{org}/`.
    pub fn subpath(self) -> &'static str {
        match self {
            SettingsPage::General => "",
            SettingsPage::SecurityAndPrivacy => "security-and-privacy/",
        }
    }

    /// The fields shown for this organization, in page order.
    pub fn fields<'a>(
        self,
        current: &'a OrgSettings,
        features: &'a Features,
    ) -> impl Iterator<Item = &'static FieldSpec> + 'a {
        self.sections()
            .iter()
            .flat_map(|section| section.fields.iter())
            .filter(move |f| f.is_shown(current, features))
    }
}

impl FieldSpec {
    pub fn is_shown(&self, current: &OrgSettings, features: &Features) -> bool {
        match self.shown {
            Shown::Always => true,
            Shown::WithFeature(feature) => features.has(feature),
            Shown::WithLegacyRateLimits => current.has_legacy_rate_limits(),
        }
    }

    pub fn editable_by(&self, role: Role) -> bool {
        role.can_write() && (!self.owner_only || role.is_owner())
    }

    /// The label of a select's value that the select does not offer.
    pub fn unoffered_label(&self, value: &str) -> String {
        if let Some((_, label)) = ROLE_LABELS.iter().find(|(v, _)| *v == value) {
            return (*label).to_owned();
        }
        match self.key {
            "storeCrashReports" => format!("{value} per issue"),
            _ => value.to_owned(),
        }
    }

    /// How a value of this field is written into the form.
    pub fn form_text(&self, value: &Value) -> String {
        match (self.input, value) {
            (_, Value::Null) => String::new(),
            (Input::Lines, Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| item.to_string())
                })
                .collect::<Vec<_>>()
                .join("\n"),
            (_, Value::String(s)) => s.clone(),
            (_, Value::Bool(b)) => b.to_string(),
            (_, other) => other.to_string(),
        }
    }
}

/// A submitted settings form, as the user typed it.
pub struct Submission {
    values: Vec<(String, String)>,
}

impl Submission {
    pub fn new(values: Vec<(String, String)>) -> Self {
        Self { values }
    }

    /// The last value sent for a name (a browser sends each once).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The field as typed, normalized the way the form shows it (line endings, trailing blank lines).
    pub fn text(&self, spec: &FieldSpec) -> Option<String> {
        let raw = self.get(spec.key)?;
        Some(match spec.input {
            Input::Lines | Input::Code => {
                raw.replace("\r\n", "\n").trim_end_matches('\n').to_owned()
            }
            _ => raw.to_owned(),
        })
    }

    pub fn checked(&self, spec: &FieldSpec) -> bool {
        self.get(spec.key).is_some()
    }
}

/// Turns the fields the user changed (compared with what the form showed) into the API's JSON.
/// Checkboxes left unchecked mean false; disabled and hidden fields are left out. A select's value
/// goes to the API as sent, so a value the form does not offer gets the API's own answer (Sentry's
/// `Invalid role`, DRF's `is not a valid choice`). The one form-only check is an empty line in a
/// list, which the API could not tell from a deliberate empty item.
pub fn changed_fields(
    submission: &Submission,
    fields: &[&'static FieldSpec],
    shown: &Map<String, Value>,
) -> (Map<String, Value>, FieldErrors) {
    let mut changed = Map::new();
    let mut errors = FieldErrors::new();
    for spec in fields {
        let shown_value = shown.get(spec.key).cloned().unwrap_or(Value::Null);
        let value = match spec.input {
            Input::Checkbox => {
                let on = submission.checked(spec);
                if shown_value == Value::Bool(on) {
                    continue;
                }
                Value::Bool(on)
            }
            _ => {
                let Some(text) = submission.text(spec) else {
                    continue;
                };
                if text == spec.form_text(&shown_value) {
                    continue;
                }
                match spec.input {
                    Input::Lines => {
                        let lines: Vec<&str> = if text.trim().is_empty() {
                            Vec::new()
                        } else {
                            text.split('\n').collect()
                        };
                        if let Some(n) = lines.iter().position(|l| l.trim().is_empty()) {
                            errors.add(
                                spec.key,
                                format!("Empty values are not allowed (line {}).", n + 1),
                            );
                            continue;
                        }
                        Value::from(lines)
                    }
                    _ => Value::from(text),
                }
            }
        };
        changed.insert(spec.key.to_owned(), value);
    }
    (changed, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(key: &str) -> &'static FieldSpec {
        GENERAL
            .iter()
            .chain(SECURITY.iter())
            .flat_map(|s| s.fields.iter())
            .find(|f| f.key == key)
            .unwrap()
    }

    fn submit(pairs: &[(&str, &str)]) -> Submission {
        Submission::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        )
    }

    #[test]
    fn every_form_field_is_an_api_field() {
        let org = crate::models::organization::Organization {
            id: 1,
            name: "x".into(),
            slug: "x".into(),
            status: crate::models::organization::OrgStatus::Active,
            flags: crate::models::flags::Flags::default(),
            default_role: Role::Member,
            date_added: chrono::NaiveDateTime::MIN,
            updated_at: chrono::NaiveDateTime::MIN,
            deletion_scheduled_at: None,
            options_version: 0,
        };
        let current = OrgSettings {
            org,
            options: Default::default(),
            avatar: None,
        };
        for spec in GENERAL
            .iter()
            .chain(SECURITY.iter())
            .flat_map(|s| s.fields.iter())
        {
            assert!(
                current.api_value(spec.key, &Features::default()).is_some(),
                "{}",
                spec.key
            );
        }
    }

    #[test]
    fn only_fields_that_differ_from_what_was_shown_are_sent() {
        let fields = [
            spec("name"),
            spec("openMembership"),
            spec("isEarlyAdopter"),
            spec("apdexThreshold"),
        ];
        let shown = json!({"name": "Acme", "openMembership": true, "isEarlyAdopter": false, "apdexThreshold": null});
        let (changed, errors) = changed_fields(
            &submit(&[
                ("name", "Acme"),
                ("isEarlyAdopter", "true"),
                ("apdexThreshold", ""),
            ]),
            &fields,
            shown.as_object().unwrap(),
        );
        assert!(errors.is_empty());
        assert_eq!(
            Value::Object(changed),
            json!({"openMembership": false, "isEarlyAdopter": true})
        );
    }

    #[test]
    fn lines_become_lists_empty_lines_are_refused_and_selects_go_to_the_api_as_sent() {
        let fields = [
            spec("sensitiveFields"),
            spec("safeFields"),
            spec("storeCrashReports"),
        ];
        let shown = json!({"sensitiveFields": [], "safeFields": ["a"], "storeCrashReports": 0});
        let (changed, errors) = changed_fields(
            &submit(&[
                ("sensitiveFields", "password\r\nsecret\r\n"),
                ("safeFields", "a\n\nb"),
                ("storeCrashReports", "7"),
            ]),
            &fields,
            shown.as_object().unwrap(),
        );
        assert_eq!(
            Value::Object(changed),
            json!({"sensitiveFields": ["password", "secret"], "storeCrashReports": "7"})
        );
        assert_eq!(
            errors.get("safeFields"),
            "Empty values are not allowed (line 2)."
        );
        assert!(!errors.has("storeCrashReports"));
    }
}
