//! Relay's `validate_pii_config` (docs/relay-pii.md, "Configs"): typed JSON parsing with serde into the
//! same shapes Relay uses (so serde_json's messages match byte for byte), then compiling the regexes of
//! the rules the applications reach.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde::de::{self, Deserializer, Unexpected, Visitor};

use super::selector::Selector;

/// Relay's compiled-size limit for rule regexes.
pub const REGEX_SIZE_LIMIT: usize = 262_144;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // read only by serde: its shape is what validates
pub struct PiiConfig {
    #[serde(default)]
    rules: BTreeMap<String, RuleSpec>,
    #[serde(default)]
    vars: Vars,
    #[serde(default)]
    applications: BTreeMap<SelectorKey, Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Vars {
    #[serde(default)]
    hash_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct RuleSpec {
    #[serde(flatten)]
    ty: RuleType,
    #[serde(default)]
    redaction: Redaction,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(dead_code)]
enum RuleType {
    Anything,
    Pattern(PatternRule),
    Imei,
    Mac,
    Uuid,
    Email,
    Ip,
    Creditcard,
    Iban,
    Userpath,
    Pemkey,
    UrlAuth,
    UsSsn,
    Bearer,
    Password,
    Cookies,
    #[serde(alias = "redactPair")]
    RedactPair(RedactPairRule),
    Multiple(MultipleRule),
    Alias(AliasRule),
    Unknown(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PatternRule {
    pattern: String,
    #[serde(default)]
    replace_groups: Option<BTreeSet<u8>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedactPairRule {
    key_pattern: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct MultipleRule {
    rules: Vec<String>,
    #[serde(default)]
    hide_inner: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct AliasRule {
    rule: String,
    #[serde(default)]
    hide_inner: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
#[allow(dead_code)]
enum Redaction {
    #[default]
    Default,
    Remove,
    Replace(ReplaceRedaction),
    Mask,
    Hash,
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct ReplaceRedaction {
    #[serde(default = "default_replace_text")]
    text: String,
}

fn default_replace_text() -> String {
    "[Filtered]".into()
}

/// An `applications` key: a selector, refused as "expected a selector" when it does not parse.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SelectorKey(Selector);

impl<'de> Deserialize<'de> for SelectorKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SelectorVisitor;

        impl Visitor<'_> for SelectorVisitor {
            type Value = SelectorKey;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a selector")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<SelectorKey, E> {
                value
                    .parse()
                    .map(SelectorKey)
                    .map_err(|_| E::invalid_value(Unexpected::Str(value), &self))
            }
        }

        deserializer.deserialize_str(SelectorVisitor)
    }
}

/// Relay's `validate_pii_config`: `Err` carries Relay's text.
pub fn validate_pii_config(text: &str) -> Result<(), String> {
    let config: PiiConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
    config.compile_reached_regexes()
}

impl PiiConfig {
    /// Compiles the regex of every `pattern` and `redact_pair` rule an application reaches, in Relay's
    /// order: applications by parsed selector, then the reached rules by name.
    fn compile_reached_regexes(&self) -> Result<(), String> {
        for rule_names in self.applications.values() {
            let mut reached = BTreeSet::new();
            for name in rule_names {
                self.reach(name, &mut reached);
            }
            for name in &reached {
                let pattern = match self.rules.get(name).map(|rule| &rule.ty) {
                    Some(RuleType::Pattern(rule)) => &rule.pattern,
                    Some(RuleType::RedactPair(rule)) => &rule.key_pattern,
                    _ => continue,
                };
                regex::RegexBuilder::new(pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    /// Collects the custom rules reachable from `name`: custom rules first, then built-ins, following
    /// `multiple` and `alias` references; unknown names are skipped, cycles tolerated.
    fn reach(&self, name: &str, reached: &mut BTreeSet<String>) {
        match self.rules.get(name) {
            Some(rule) => {
                if !reached.insert(name.to_owned()) {
                    return;
                }
                match &rule.ty {
                    RuleType::Multiple(multiple) => {
                        for inner in &multiple.rules {
                            self.reach(inner, reached);
                        }
                    }
                    RuleType::Alias(alias) => self.reach(&alias.rule, reached),
                    _ => {}
                }
            }
            None => {
                for inner in builtin_references(name) {
                    self.reach(&inner, reached);
                }
            }
        }
    }
}

/// The names a built-in rule refers to (docs/relay-pii.md, "Built-in rules"), so a custom rule that shadows one of them is
/// reached through the built-in too.
fn builtin_references(name: &str) -> Vec<String> {
    const COMMON: [&str; 10] = [
        "@ip",
        "@email",
        "@creditcard",
        "@pemkey",
        "@urlauth",
        "@userpath",
        "@password",
        "@usssn",
        "@bearer",
        "@iban",
    ];
    const COMMON_FILTER: [&str; 8] = [
        "@creditcard:filter",
        "@pemkey:filter",
        "@urlauth:legacy",
        "@userpath:filter",
        "@password:filter",
        "@usssn:filter",
        "@bearer:filter",
        "@iban:filter",
    ];
    let default_variant = match name {
        "@common" => return COMMON.iter().map(|s| (*s).to_owned()).collect(),
        "@common:filter" => return COMMON_FILTER.iter().map(|s| (*s).to_owned()).collect(),
        "@anything" | "@ip" | "@imei" | "@email" | "@iban" | "@creditcard" | "@pemkey"
        | "@urlauth" | "@userpath" | "@bearer" => "replace",
        "@mac" | "@uuid" | "@usssn" => "mask",
        "@password" => "remove",
        _ => return Vec::new(),
    };
    vec![format!("{name}:{default_variant}")]
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_OF: &str = "expected one of `anything`, `pattern`, `imei`, `mac`, `uuid`, `email`, `ip`, `creditcard`, `iban`, `userpath`, `pemkey`, `url_auth`, `us_ssn`, `bearer`, `password`, `cookies`, `redactPair`, `redact_pair`, `multiple`, `alias`, `unknown`";

    /// Verdicts of the real library (docs/relay-pii.md, "The examples").
    fn examples() -> Vec<(&'static str, Option<String>)> {
        let e = |s: &str| Some(s.to_owned());
        vec![
            ("{}", None),
            ("", e("EOF while parsing a value at line 1 column 0")),
            ("   ", e("EOF while parsing a value at line 1 column 3")),
            (
                "null",
                e("invalid type: null, expected struct PiiConfig at line 1 column 4"),
            ),
            ("[]", None),
            ("[{}, {}, {}]", None),
            (
                "[{}, {}, {}, {}]",
                e("trailing characters at line 1 column 14"),
            ),
            (
                "true",
                e("invalid type: boolean `true`, expected struct PiiConfig at line 1 column 4"),
            ),
            (
                "\"x\"",
                e("invalid type: string \"x\", expected struct PiiConfig at line 1 column 3"),
            ),
            ("hello", e("expected value at line 1 column 1")),
            ("{} x", e("trailing characters at line 1 column 4")),
            ("{\"rules\": {},}", e("trailing comma at line 1 column 14")),
            (
                "{'rules': {}}",
                e("key must be a string at line 1 column 2"),
            ),
            ("\u{feff}{}", e("expected value at line 1 column 1")),
            ("\n\n{x", e("key must be a string at line 3 column 2")),
            ("{\"foo\": 1, \"Rules\": 2}", None),
            (
                "{\"rules\": {}, \"rules\": {}}",
                e("duplicate field `rules` at line 1 column 21"),
            ),
            (
                "{\"rules\": null}",
                e("invalid type: null, expected a map at line 1 column 14"),
            ),
            (
                "{\"rules\": []}",
                e("invalid type: sequence, expected a map at line 1 column 10"),
            ),
            (
                "{\"vars\": null}",
                e("invalid type: null, expected struct Vars at line 1 column 13"),
            ),
            ("{\"vars\": {\"hashKey\": \"abc\"}}", None),
            ("{\"vars\": {\"hashKey\": null, \"other\": 1}}", None),
            (
                "{\"vars\": {\"hashKey\": 1}}",
                e("invalid type: integer `1`, expected a string at line 1 column 22"),
            ),
            ("{\"applications\": {}}", None),
            (
                "{\"applications\": []}",
                e("invalid type: sequence, expected a map at line 1 column 17"),
            ),
            (
                "{\"applications\": null}",
                e("invalid type: null, expected a map at line 1 column 21"),
            ),
            (
                "{\"applications\": {\"$string\": [\"@ip\", \"@email\"]}}",
                None,
            ),
            ("{\"applications\": {\"$string\": [\"nope\"]}}", None),
            ("{\"applications\": {\"$string\": []}}", None),
            (
                "{\"applications\": {\"$string\": \"@ip\"}}",
                e("invalid type: string \"@ip\", expected a sequence at line 1 column 34"),
            ),
            (
                "{\"applications\": {\"$string\": [\"@ip\", null]}}",
                e("invalid type: null, expected a string at line 1 column 41"),
            ),
            (
                "{\"applications\": {\"foo bar\": [\"@ip\"]}}",
                e("invalid value: string \"foo bar\", expected a selector at line 1 column 27"),
            ),
            (
                "{\"applications\": {\"$bogus\": [\"@ip\"]}}",
                e("invalid value: string \"$bogus\", expected a selector at line 1 column 26"),
            ),
            (
                "{\"applications\": {\"*\": [\"@ip\"]}}",
                e("invalid value: string \"*\", expected a selector at line 1 column 21"),
            ),
            (
                "{\"applications\": {\"\": [\"@ip\"]}}",
                e("invalid value: string \"\", expected a selector at line 1 column 20"),
            ),
            (
                "{\"applications\": {\"freeform\": [\"@ip\"], \"  $string \": [\"@email\"]}}",
                None,
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"pattern\", \"pattern\": \"[0-9]+\", \"redaction\": {\"method\": \"replace\", \"text\": \"X\"}}}, \"applications\": {\"$string\": [\"r\"]}}",
                None,
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"pattern\", \"pattern\": \"(abc\"}}, \"applications\": {\"$string\": [\"r\"]}}",
                e("regex parse error:\n    (abc\n    ^\nerror: unclosed group"),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"pattern\", \"pattern\": \"(abc\"}}}",
                None,
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"pattern\", \"pattern\": \"a(?=b)\"}}, \"applications\": {\"$string\": [\"r\"]}}",
                e(
                    "regex parse error:\n    a(?=b)\n     ^^^\nerror: look-around, including look-ahead and look-behind, is not supported",
                ),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"pattern\", \"pattern\": \"(a)\\\\1\"}}, \"applications\": {\"$string\": [\"r\"]}}",
                e(
                    "regex parse error:\n    (a)\\1\n       ^^\nerror: backreferences are not supported",
                ),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"pattern\", \"pattern\": \"\\\\w{300}\"}}, \"applications\": {\"$string\": [\"r\"]}}",
                e("Compiled regex exceeds size limit of 262144 bytes."),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"pattern\", \"pattern\": \"a\\n(\"}}, \"applications\": {\"$string\": [\"r\"]}}",
                e(
                    "regex parse error:\n~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n1: a\n2: (\n   ^\n~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\nerror: unclosed group",
                ),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"pattern\"}}}",
                e("missing field `pattern` at line 1 column 35"),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"pattern\", \"pattern\": \"a\", \"replaceGroups\": [1, 256]}}}",
                e("invalid value: integer `256`, expected u8 at line 1 column 78"),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"pattern\", \"pattern\": \"(a)\", \"replaceGroups\": [5]}}, \"applications\": {\"$string\": [\"r\"]}}",
                None,
            ),
            (
                "{\"rules\": {\"r\": {\"pattern\": \"a\"}}}",
                e("missing field `type` at line 1 column 32"),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"foo\"}}}",
                Some(format!(
                    "unknown variant `foo`, {ONE_OF} at line 1 column 31"
                )),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"unknown\"}}}",
                e("invalid type: map, expected a string at line 1 column 35"),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": 1}}}",
                e("missing field `pattern` at line 1 column 27"),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": 20}}}",
                e(
                    "invalid value: integer `20`, expected variant index 0 <= i < 20 at line 1 column 28",
                ),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"urlAuth\"}}}",
                Some(format!(
                    "unknown variant `urlAuth`, {ONE_OF} at line 1 column 35"
                )),
            ),
            (
                "{\"rules\": {\"r\": \"ip\"}}",
                e("invalid type: string \"ip\", expected struct RuleSpec at line 1 column 20"),
            ),
            ("{\"rules\": {\"r\": {\"type\": \"ip\", \"foo\": 1}}}", None),
            (
                "{\"rules\": {\"r\": {\"type\": \"ip\", \"type\": \"email\"}}}",
                e("duplicate field `type` at line 1 column 47"),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"redact_pair\", \"keyPattern\": \"pass\"}}, \"applications\": {\"**\": [\"r\"]}}",
                None,
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"redactPair\", \"key_pattern\": \"x\"}}}",
                e("missing field `keyPattern` at line 1 column 58"),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"redact_pair\", \"keyPattern\": \"(not valid regex\"}}, \"applications\": {\"*.everything\": [\"r\"]}}",
                e("regex parse error:\n    (not valid regex\n    ^\nerror: unclosed group"),
            ),
            (
                "{\"rules\": {\"m\": {\"type\": \"multiple\", \"rules\": [\"@ip\", \"x\"], \"hideInner\": true}}, \"applications\": {\"$string\": [\"m\"]}}",
                None,
            ),
            (
                "{\"rules\": {\"m\": {\"type\": \"multiple\"}}}",
                e("missing field `rules` at line 1 column 36"),
            ),
            (
                "{\"rules\": {\"m\": {\"type\": \"multiple\", \"rules\": [\"bad\"]}, \"bad\": {\"type\": \"pattern\", \"pattern\": \"[\"}}, \"applications\": {\"$string\": [\"m\"]}}",
                e("regex parse error:\n    [\n    ^\nerror: unclosed character class"),
            ),
            (
                "{\"rules\": {\"a\": {\"type\": \"alias\", \"rule\": \"@email\", \"hideInner\": false}}, \"applications\": {\"$string\": [\"a\"]}}",
                None,
            ),
            (
                "{\"rules\": {\"a\": {\"type\": \"alias\", \"rule\": \"b\"}, \"b\": {\"type\": \"alias\", \"rule\": \"a\"}}, \"applications\": {\"$string\": [\"a\"]}}",
                None,
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"ip\", \"redaction\": {\"method\": \"hash\", \"algorithm\": \"HMAC-SHA1\", \"key\": \"k\"}}}}",
                None,
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"ip\", \"redaction\": {\"method\": \"mask\", \"maskChar\": \"#\", \"range\": [0, -4]}}}}",
                None,
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"ip\", \"redaction\": {\"method\": \"foo\"}}}}",
                None,
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"ip\", \"redaction\": {}}}}",
                e("missing field `method` at line 1 column 46"),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"ip\", \"redaction\": null}}}",
                e(
                    "invalid type: null, expected internally tagged enum Redaction at line 1 column 48",
                ),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"ip\", \"redaction\": {\"method\": \"replace\", \"text\": 5}}}}",
                e("invalid type: integer `5`, expected a string at line 1 column 77"),
            ),
            (
                "{\"rules\": {\"r\": {\"type\": \"ip\"}, \"r\": {\"type\": \"pattern\", \"pattern\": \"(\"}}, \"applications\": {\"$string\": [\"r\"]}}",
                e("regex parse error:\n    (\n    ^\nerror: unclosed group"),
            ),
            (
                "{\"rules\": {\"b\": {\"type\": \"pattern\", \"pattern\": \"(\"}, \"a\": {\"type\": \"pattern\", \"pattern\": \"[\"}}, \"applications\": {\"$string\": [\"b\", \"a\"]}}",
                e("regex parse error:\n    [\n    ^\nerror: unclosed character class"),
            ),
            (
                "{\n  \"rules\": {\n    \"r\": {\"type\": \"nope\"}\n  }\n}",
                Some(format!(
                    "unknown variant `nope`, {ONE_OF} at line 3 column 25"
                )),
            ),
        ]
    }

    #[test]
    fn every_example_of_the_reference_gets_relays_verdict() {
        for (text, expected) in examples() {
            let got = validate_pii_config(text).err();
            assert_eq!(got, expected, "config {text:?}");
        }
    }

    #[test]
    fn a_custom_rule_shadowing_a_builtin_is_reached_through_the_builtin() {
        let text = r#"{"rules": {"@ip:replace": {"type": "pattern", "pattern": "("}}, "applications": {"$string": ["@common"]}}"#;
        assert!(
            validate_pii_config(text)
                .unwrap_err()
                .starts_with("regex parse error")
        );
        let unreached = r#"{"rules": {"@ip:replace": {"type": "pattern", "pattern": "("}}, "applications": {"$string": ["@email"]}}"#;
        assert_eq!(validate_pii_config(unreached), Ok(()));
    }
}
