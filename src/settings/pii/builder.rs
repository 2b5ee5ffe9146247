//! The rule builder of advanced data scrubbing (docs/relay-pii.md, "The rule builder"): what Sentry's
//! settings page offers besides the raw JSON. A rule is a method (mask, remove, hash, replace), a data
//! type (one of Relay's built-in kinds, or a custom regex) and a source (a selector). Adding one writes
//! the same Relay PII config a person would type: the rule under the next free numeric id in `rules`,
//! its id appended to `applications[source]`. The result is checked as any config is.
//!
//! Also here: the rules of a config in words, for the page, and Relay's parse errors in words.

use serde_json::{Map, Value, json};

use super::config::validate_pii_config;
use super::selector::validate_pii_selector;
use crate::errors::FieldErrors;

/// How a match is scrubbed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Mask,
    Remove,
    Hash,
    Replace,
}

impl Method {
    pub const ALL: [Method; 4] = [Method::Mask, Method::Remove, Method::Hash, Method::Replace];

    pub fn id(self) -> &'static str {
        match self {
            Method::Mask => "mask",
            Method::Remove => "remove",
            Method::Hash => "hash",
            Method::Replace => "replace",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Method::Mask => "Mask: replace every character with *",
            Method::Remove => "Remove: delete the value",
            Method::Hash => "Hash: replace it with its hash",
            Method::Replace => "Replace: put a placeholder text instead",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Method::Mask => "Mask",
            Method::Remove => "Remove",
            Method::Hash => "Hash",
            Method::Replace => "Replace",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.id() == raw)
    }
}

/// What is scrubbed: Relay's rule types the builder offers, `pattern` being a custom regex.
pub const DATA_TYPES: &[(&str, &str)] = &[
    ("creditcard", "Credit card numbers"),
    ("password", "Password fields"),
    ("ip", "IP addresses"),
    ("email", "Email addresses"),
    ("imei", "IMEI numbers"),
    ("mac", "MAC addresses"),
    ("uuid", "UUIDs"),
    ("iban", "IBANs"),
    ("pemkey", "PEM keys"),
    ("url_auth", "Credentials in URLs"),
    ("us_ssn", "US social security numbers"),
    ("userpath", "Usernames in file paths"),
    ("anything", "Anything (the whole value)"),
    ("pattern", "A custom regular expression"),
];

/// Sources a person usually means, offered as suggestions (any selector is accepted).
pub const SOURCE_SUGGESTIONS: &[(&str, &str)] = &[
    ("$string", "Every string in the event"),
    ("**", "Every value in the event"),
    ("$http.headers", "HTTP request headers"),
    ("$http.cookies", "HTTP cookies"),
    ("$http.query_string", "The request's query string"),
    ("$http.data", "The request body"),
    ("$user.ip_address", "The user's IP address"),
    ("$user.email", "The user's email address"),
    ("$frame.vars", "Local variables of stack frames"),
    ("$error.value", "Exception messages"),
    ("$message", "Log messages"),
    ("$breadcrumb.message", "Breadcrumb messages"),
    ("extra.**", "Additional data (extra)"),
    ("contexts.**", "Contexts"),
];

/// The default text of a `replace` rule (Relay's).
pub const DEFAULT_REPLACEMENT: &str = "[Filtered]";
/// The longest regex, placeholder or source the builder takes.
pub const MAX_FIELD_LEN: usize = 1000;

/// What the builder's form sends.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleForm<'a> {
    pub method: &'a str,
    pub data_type: &'a str,
    pub pattern: &'a str,
    pub replacement: &'a str,
    pub source: &'a str,
}

/// A checked rule, ready to be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    pub method: Method,
    pub data_type: &'static str,
    /// The regex of a `pattern` rule.
    pub pattern: Option<String>,
    /// The placeholder of a `replace` rule.
    pub replacement: Option<String>,
    pub source: String,
}

impl NewRule {
    /// Checks the form: each problem on its own field (`method`, `dataType`, `pattern`,
    /// `replacement`, `source`), with Relay's texts for selectors and regexes.
    pub fn parse(form: RuleForm<'_>) -> Result<NewRule, FieldErrors> {
        let mut errors = FieldErrors::new();
        let method = Method::parse(form.method);
        if method.is_none() {
            errors.add(
                "method",
                format!("\"{}\" is not a valid choice.", form.method),
            );
        }
        let data_type = DATA_TYPES
            .iter()
            .find(|(id, _)| *id == form.data_type)
            .map(|(id, _)| *id);
        if data_type.is_none() {
            errors.add(
                "dataType",
                format!("\"{}\" is not a valid choice.", form.data_type),
            );
        }
        for (field, value) in [
            ("pattern", form.pattern),
            ("replacement", form.replacement),
            ("source", form.source),
        ] {
            if value.chars().count() > MAX_FIELD_LEN {
                errors.add(
                    field,
                    format!("Ensure this field has no more than {MAX_FIELD_LEN} characters."),
                );
            }
        }
        let pattern = (data_type == Some("pattern")).then(|| form.pattern.to_owned());
        if let Some(regex) = &pattern {
            if regex.is_empty() {
                errors.add("pattern", "Enter the regular expression to match.");
            } else if let Err(err) = regex::RegexBuilder::new(regex)
                .size_limit(super::config::REGEX_SIZE_LIMIT)
                .build()
            {
                errors.add("pattern", err.to_string());
            }
        }
        let replacement = (method == Some(Method::Replace)).then(|| {
            let text = form.replacement.trim();
            if text.is_empty() {
                DEFAULT_REPLACEMENT.to_owned()
            } else {
                text.to_owned()
            }
        });
        let source = form.source.trim().to_owned();
        if source.is_empty() {
            errors.add(
                "source",
                "Enter where to look: a selector such as $string or $http.headers.",
            );
        } else if let Err(err) = validate_pii_selector(&source) {
            errors.add("source", crate::pyfmt::py_capitalize(&err.to_string()));
        }
        match (method, data_type) {
            (Some(method), Some(data_type)) if errors.is_empty() => Ok(NewRule {
                method,
                data_type,
                pattern,
                replacement,
                source,
            }),
            _ => Err(errors),
        }
    }

    /// The rule in words: "Mask credit card numbers".
    pub fn description(&self) -> String {
        describe(&self.to_json())
    }

    fn to_json(&self) -> Value {
        let mut redaction = json!({"method": self.method.id()});
        if let Some(text) = &self.replacement {
            redaction["text"] = Value::from(text.as_str());
        }
        let mut rule = json!({"type": self.data_type, "redaction": redaction});
        if let Some(pattern) = &self.pattern {
            rule["pattern"] = Value::from(pattern.as_str());
        }
        rule
    }
}

/// `text` (the stored config; empty for none) as a JSON object.
fn config_object(text: &str) -> Result<Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("The stored config is not a JSON object.".into()),
        Err(err) => Err(explain_config_error(&err.to_string())),
    }
}

fn pretty(config: Map<String, Value>) -> String {
    serde_json::to_string_pretty(&Value::Object(config)).unwrap_or_default()
}

/// The config `text` with `rule` added under the next free numeric id and applied to its source.
/// `Err` when the stored config cannot take it (it does not parse, or the result is refused).
pub fn append(text: &str, rule: &NewRule) -> Result<String, String> {
    let mut config = config_object(text)?;
    let rules = config
        .entry("rules")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(rules) = rules.as_object_mut() else {
        return Err("The stored config's \"rules\" is not an object.".into());
    };
    let id = (0..)
        .map(|n: u64| n.to_string())
        .find(|id| !rules.contains_key(id))
        .unwrap_or_default();
    rules.insert(id.clone(), rule.to_json());
    let applications = config
        .entry("applications")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(applications) = applications.as_object_mut() else {
        return Err("The stored config's \"applications\" is not an object.".into());
    };
    let list = applications
        .entry(rule.source.clone())
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(list) = list.as_array_mut() else {
        return Err(format!(
            "The stored config applies \"{}\" to something that is not a list.",
            rule.source
        ));
    };
    list.push(Value::from(id));
    let result = pretty(config);
    validate_pii_config(&result).map_err(|err| explain_config_error(&err))?;
    Ok(result)
}

/// The config `text` without the rule `id`: gone from `rules` and from every application (an
/// application left with no rule goes too). `Err` when the config does not parse or has no such rule.
pub fn remove(text: &str, id: &str) -> Result<String, String> {
    let mut config = config_object(text)?;
    let removed = config
        .get_mut("rules")
        .and_then(Value::as_object_mut)
        .and_then(|rules| rules.remove(id));
    if removed.is_none() {
        return Err(format!("There is no rule \"{id}\" any more."));
    }
    if let Some(applications) = config
        .get_mut("applications")
        .and_then(Value::as_object_mut)
    {
        for list in applications.values_mut() {
            if let Some(items) = list.as_array_mut() {
                items.retain(|item| item.as_str() != Some(id));
            }
        }
        applications.retain(|_, list| list.as_array().is_none_or(|items| !items.is_empty()));
    }
    let result = if config
        .values()
        .all(|v| v.as_object().is_some_and(Map::is_empty))
    {
        String::new()
    } else {
        pretty(config)
    };
    if !result.is_empty() {
        validate_pii_config(&result).map_err(|err| explain_config_error(&err))?;
    }
    Ok(result)
}

/// One rule of a config, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSummary {
    pub id: String,
    /// "Mask credit card numbers", "Replace matches of `\d+` with [Filtered]".
    pub description: String,
    /// The sources it applies to.
    pub sources: Vec<String>,
}

/// The rules a config defines, in words, in id order (numbers by value), each with its sources in
/// the config's order. Empty for no config or one that does not parse.
pub fn summarize(text: &str) -> Vec<RuleSummary> {
    let Ok(config) = config_object(text) else {
        return Vec::new();
    };
    let applications: Vec<(String, Vec<String>)> = config
        .get("applications")
        .and_then(Value::as_object)
        .map(|apps| {
            apps.iter()
                .map(|(source, list)| {
                    let ids = list
                        .as_array()
                        .map(|items| {
                            items
                                .iter()
                                .filter_map(|i| i.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    (source.clone(), ids)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut summaries: Vec<RuleSummary> = config
        .get("rules")
        .and_then(Value::as_object)
        .map(|rules| {
            rules
                .iter()
                .map(|(id, rule)| RuleSummary {
                    id: id.clone(),
                    description: describe(rule),
                    sources: applications
                        .iter()
                        .filter(|(_, ids)| ids.contains(id))
                        .map(|(source, _)| source.clone())
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    summaries.sort_by(|a, b| match (a.id.parse::<u64>(), b.id.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.id.cmp(&b.id),
    });
    summaries
}

fn describe(rule: &Value) -> String {
    let ty = rule
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let redaction = rule.get("redaction");
    let method = redaction
        .and_then(|r| r.get("method"))
        .and_then(Value::as_str)
        .and_then(Method::parse);
    let what = match ty {
        "pattern" => format!(
            "matches of {}",
            rule.get("pattern").and_then(Value::as_str).unwrap_or("?")
        ),
        other => DATA_TYPES.iter().find(|(id, _)| *id == other).map_or_else(
            || format!("\"{other}\" values"),
            |(_, label)| label.to_lowercase(),
        ),
    };
    match method {
        Some(Method::Replace) => {
            let text = redaction
                .and_then(|r| r.get("text"))
                .and_then(Value::as_str)
                .unwrap_or(DEFAULT_REPLACEMENT);
            format!("Replace {what} with {text}")
        }
        Some(method) => format!("{} {what}", method.verb()),
        None => format!("Scrub {what}"),
    }
}

/// Relay's (serde_json's) message for a config that does not parse, said in words first, then as
/// Relay says it. The API keeps Relay's text alone; the page shows this.
pub fn explain_config_error(relay: &str) -> String {
    let (message, place) = match relay.rsplit_once(" at line ") {
        Some((message, position)) => {
            let place = position
                .split_once(" column ")
                .map(|(line, column)| format!(" (line {line}, column {column})"))
                .unwrap_or_default();
            (message, place)
        }
        None => (relay, String::new()),
    };
    let words = if message.starts_with("trailing characters") {
        "There is more text after the end of the JSON object".to_owned()
    } else if message.starts_with("EOF while parsing") {
        "The JSON ends too early: a closing } or ] or \" is missing".to_owned()
    } else if message.starts_with("expected value") {
        "A value is missing or is not JSON (text needs double quotes)".to_owned()
    } else if message.starts_with("key must be a string") {
        "A key is not a string: keys need double quotes".to_owned()
    } else if message.starts_with("expected `,` or `}`") {
        "A comma between members, or the closing }, is missing".to_owned()
    } else if message.starts_with("expected `,` or `]`") {
        "A comma between items, or the closing ], is missing".to_owned()
    } else if message.starts_with("expected `:`") {
        "A colon is missing after a key".to_owned()
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        format!("A member is missing: {rest}")
    } else if let Some(rest) = message.strip_prefix("duplicate field ") {
        format!("A member appears twice: {rest}")
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        let name = rest.split(", expected").next().unwrap_or(rest);
        format!("{name} is not a rule type or redaction method Relay knows")
    } else if message.contains("expected a selector") {
        "A key of \"applications\" is not a valid selector (such as $string or $http.headers)"
            .to_owned()
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another type"));
        format!("A value has the wrong type: {found} where {expected} is needed")
    } else if message.starts_with("regex parse error") || message.contains("size limit") {
        "A rule's regular expression is not valid".to_owned()
    } else if !place.is_empty() {
        "The config is not in Relay's format".to_owned()
    } else {
        // not Relay's (a length limit, say): already in words
        return relay.to_owned();
    };
    format!("{words}{place}. Relay says: {relay}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form<'a>(method: &'a str, data_type: &'a str, source: &'a str) -> RuleForm<'a> {
        RuleForm {
            method,
            data_type,
            pattern: "",
            replacement: "",
            source,
        }
    }

    #[test]
    fn a_rule_is_added_under_the_next_free_id_and_applied_to_its_source() {
        let mask = NewRule::parse(form("mask", "creditcard", "$string")).unwrap();
        let once = append("", &mask).unwrap();
        let value: Value = serde_json::from_str(&once).unwrap();
        assert_eq!(
            value,
            json!({
                "rules": {"0": {"type": "creditcard", "redaction": {"method": "mask"}}},
                "applications": {"$string": ["0"]}
            })
        );
        let mut replace = form("replace", "pattern", " $http.headers ");
        replace.pattern = r"\d{4}";
        let replace = NewRule::parse(replace).unwrap();
        let twice: Value = serde_json::from_str(&append(&once, &replace).unwrap()).unwrap();
        assert_eq!(
            twice["rules"]["1"],
            json!({"type": "pattern", "pattern": r"\d{4}", "redaction": {"method": "replace", "text": "[Filtered]"}})
        );
        assert_eq!(twice["applications"]["$http.headers"], json!(["1"]));
        let again = NewRule::parse(form("hash", "email", "$string")).unwrap();
        let thrice: Value =
            serde_json::from_str(&append(&serde_json::to_string(&twice).unwrap(), &again).unwrap())
                .unwrap();
        assert_eq!(thrice["applications"]["$string"], json!(["0", "2"]));
    }

    #[test]
    fn every_offered_choice_makes_a_config_relay_accepts() {
        for (data_type, _) in DATA_TYPES {
            for method in Method::ALL {
                for (source, _) in SOURCE_SUGGESTIONS {
                    let mut input = form(method.id(), data_type, source);
                    input.pattern = "secret-[a-z]+";
                    let rule = NewRule::parse(input).unwrap();
                    let config = append("", &rule).unwrap();
                    assert_eq!(validate_pii_config(&config), Ok(()), "{config}");
                }
            }
        }
    }

    #[test]
    fn bad_choices_sources_and_regexes_are_refused_on_their_fields() {
        let errors = NewRule::parse(form("shred", "dna", "foo bar")).unwrap_err();
        assert_eq!(errors.get("method"), "\"shred\" is not a valid choice.");
        assert_eq!(errors.get("dataType"), "\"dna\" is not a valid choice.");
        assert_eq!(errors.get("source"), "Invalid syntax near \"foo bar\"");
        let mut bad_regex = form("mask", "pattern", "$string");
        bad_regex.pattern = "(";
        assert!(
            NewRule::parse(bad_regex)
                .unwrap_err()
                .get("pattern")
                .contains("unclosed group")
        );
        let no_regex = NewRule::parse(form("mask", "pattern", "$string")).unwrap_err();
        assert_eq!(
            no_regex.get("pattern"),
            "Enter the regular expression to match."
        );
        assert!(
            NewRule::parse(form("mask", "ip", ""))
                .unwrap_err()
                .has("source")
        );
    }

    #[test]
    fn a_config_that_does_not_parse_takes_no_rule() {
        let rule = NewRule::parse(form("mask", "ip", "$string")).unwrap();
        assert!(
            append("{\"rules\": ", &rule)
                .unwrap_err()
                .starts_with("The JSON ends too early")
        );
        assert_eq!(
            append("[1]", &rule),
            Err("The stored config is not a JSON object.".into())
        );
    }

    #[test]
    fn removing_a_rule_takes_it_out_of_every_application() {
        let a = NewRule::parse(form("mask", "ip", "$string")).unwrap();
        let b = NewRule::parse(form("remove", "email", "$string")).unwrap();
        let both = append(&append("", &a).unwrap(), &b).unwrap();
        let one: Value = serde_json::from_str(&remove(&both, "0").unwrap()).unwrap();
        assert_eq!(one["applications"], json!({"$string": ["1"]}));
        assert!(one["rules"].get("0").is_none());
        assert_eq!(
            remove(&serde_json::to_string(&one).unwrap(), "1"),
            Ok(String::new())
        );
        assert_eq!(
            remove(&both, "9"),
            Err("There is no rule \"9\" any more.".into())
        );
    }

    #[test]
    fn rules_read_as_sentences_with_their_sources() {
        let text = r#"{"rules": {"10": {"type": "pattern", "pattern": "x+", "redaction": {"method": "replace", "text": "[gone]"}},
            "2": {"type": "creditcard", "redaction": {"method": "mask"}}, "custom": {"type": "bogus_type_name"}},
            "applications": {"$string": ["2", "10"], "$http.headers": ["2"]}}"#;
        let summaries = summarize(text);
        let read: Vec<(&str, &str, Vec<&str>)> = summaries
            .iter()
            .map(|s| {
                (
                    s.id.as_str(),
                    s.description.as_str(),
                    s.sources.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            read,
            [
                (
                    "2",
                    "Mask credit card numbers",
                    vec!["$string", "$http.headers"]
                ),
                ("10", "Replace matches of x+ with [gone]", vec!["$string"]),
                ("custom", "Scrub \"bogus_type_name\" values", vec![]),
            ]
        );
        assert!(summarize("not json").is_empty());
    }

    #[test]
    fn relays_parse_errors_are_said_in_words_with_the_place_and_relays_text() {
        assert_eq!(
            explain_config_error("trailing characters at line 1 column 3"),
            "There is more text after the end of the JSON object (line 1, column 3). Relay says: \
             trailing characters at line 1 column 3"
        );
        assert!(
            explain_config_error("invalid type: null, expected a map at line 1 column 14")
                .starts_with(
                    "A value has the wrong type: null where a map is needed (line 1, column 14)."
                )
        );
        assert!(
            explain_config_error(
                "unknown variant `bogus`, expected one of `anything`, `pattern` at line 1 column 30"
            )
            .starts_with(
                "`bogus` is not a rule type or redaction method Relay knows (line 1, column 30)."
            )
        );
        assert_eq!(
            explain_config_error("Ensure this field has no more than 100000 characters."),
            "Ensure this field has no more than 100000 characters.",
            "a message that is not Relay's stays as it is"
        );
        assert!(
            explain_config_error("regex parse error:\n    (\n    ^\nerror: unclosed group")
                .starts_with(
                    "A rule's regular expression is not valid. Relay says: regex parse error"
                )
        );
    }
}
