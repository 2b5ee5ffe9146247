//! Organization slugs (docs/compatibility.md, "Slugs"): lowercase, 3–50 characters of `a-z 0-9 -`,
//! not all digits, no leading or trailing `-`, not reserved. Uniqueness is checked against the database
//! by the flows that save one.

use std::fmt;

pub const MIN_LEN: usize = 3;
pub const MAX_LEN: usize = 50;

/// Sentry's RESERVED_ORGANIZATION_SLUGS (2024), plus this app's own top-level routes.
pub const RESERVED: &[&str] = &[
    "404",
    "500",
    "_admin",
    "_experiment",
    "_static",
    "about",
    "accept",
    "access",
    "account",
    "accountspayable",
    "acl",
    "admin",
    "answers",
    "ap",
    "api",
    "app",
    "at",
    "au1",
    "auth",
    "authentication",
    "avatar",
    "billing",
    "blog",
    "branding",
    "careers",
    "client",
    "clients",
    "community",
    "contact",
    "corp",
    "customers",
    "de",
    "debug",
    "devinfra",
    "docs",
    "enterprise",
    "eu",
    "events",
    "expenses",
    "ext",
    "extension",
    "extensions",
    "features",
    "finance",
    "for",
    "from",
    "get-cli",
    "github-deployment-gate",
    "guide",
    "help",
    "ingest",
    "ingest-beta",
    "integration-platform",
    "integrations",
    "invoice",
    "invoices",
    "ja",
    "jobs",
    "legal",
    "login",
    "logout",
    "lp",
    "mail",
    "manage",
    "my",
    "onboarding",
    "organization-avatar",
    "organizations",
    "out",
    "payment",
    "payments",
    "platforms",
    "plugins",
    "policy",
    "pricing",
    "privacy",
    "project-avatar",
    "projects",
    "receipt",
    "receipts",
    "referrals",
    "register",
    "remote",
    "resources",
    "sa1",
    "sales",
    "security",
    "sentry-apps",
    "settings",
    "signup",
    "sponsorship",
    "ssh",
    "sso",
    "staff",
    "subscribe",
    "support",
    "syntax",
    "syntaxfm",
    "team-avatar",
    "teams",
    "terms",
    "thanks",
    "themonitor",
    "trust",
    "us",
    "vs",
    "welcome",
    "healthz",
    "static",
    "setup",
    "superuser",
    "new",
];

pub const PATTERN_MESSAGE: &str = "Enter a valid slug consisting of lowercase letters, numbers or hyphens, \
     not starting or ending with a hyphen. It cannot be entirely numeric.";

/// A slug that passed every format rule. Always lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    /// Checks a slug as typed, in this order: whitespace, too long, too short, characters, reserved.
    /// Uppercase letters are accepted and lowercased.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().any(char::is_whitespace) {
            return Err(format!(
                "The slug \"{}\" should not contain any whitespace.",
                raw.trim()
            ));
        }
        let value = raw.to_lowercase();
        let len = value.chars().count();
        if len > MAX_LEN {
            return Err(format!(
                "Ensure this field has no more than {MAX_LEN} characters."
            ));
        }
        if len < MIN_LEN {
            return Err(format!(
                "This slug \"{value}\" is too short. Minimum of {MIN_LEN} characters."
            ));
        }
        let chars_ok = value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !chars_ok
            || value.starts_with('-')
            || value.ends_with('-')
            || value.chars().all(|c| c.is_ascii_digit())
        {
            return Err(PATTERN_MESSAGE.into());
        }
        if RESERVED.contains(&value.as_str()) {
            return Err(format!(
                "This slug \"{value}\" is reserved and not allowed."
            ));
        }
        Ok(Self(value))
    }

    /// A slug made from a name: lowercase ASCII letters and digits, other runs turned into one `-`,
    /// padded to the minimum length and kept clear of the reserved and all-digit forms. The caller
    /// still makes it unique (see [`Slug::with_suffix`]).
    pub fn from_name(name: &str) -> Self {
        let mut slug = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let mut slug: String = slug.trim_end_matches('-').chars().take(MAX_LEN).collect();
        slug = slug.trim_end_matches('-').to_owned();
        if slug.is_empty() {
            slug.push_str("org");
        }
        if slug.chars().count() < MIN_LEN
            || slug.chars().all(|c| c.is_ascii_digit())
            || RESERVED.contains(&slug.as_str())
        {
            slug = format!("{slug}-org").chars().take(MAX_LEN).collect();
        }
        Self(slug)
    }

    /// `slug-N`, shortened so it stays within the maximum length.
    pub fn with_suffix(&self, n: u32) -> Self {
        let suffix = format!("-{n}");
        let keep = MAX_LEN - suffix.len();
        let base: String = self.0.chars().take(keep).collect();
        Self(format!("{}{suffix}", base.trim_end_matches('-')))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_slugs_are_lowercased() {
        assert_eq!(Slug::parse("SaNtRy").unwrap().as_str(), "santry");
        assert_eq!(Slug::parse("acme-2").unwrap().as_str(), "acme-2");
    }

    #[test]
    fn each_slug_rule_has_its_own_message() {
        let cases = [
            (
                "foo bar",
                "The slug \"foo bar\" should not contain any whitespace.",
            ),
            (
                "foo-bar ",
                "The slug \"foo-bar\" should not contain any whitespace.",
            ),
            (
                "ab",
                "This slug \"ab\" is too short. Minimum of 3 characters.",
            ),
            ("login", "This slug \"login\" is reserved and not allowed."),
            ("1234", PATTERN_MESSAGE),
            ("-abc", PATTERN_MESSAGE),
            ("abc-", PATTERN_MESSAGE),
            ("a_bc", PATTERN_MESSAGE),
            ("ümlaut", PATTERN_MESSAGE),
        ];
        for (input, message) in cases {
            assert_eq!(Slug::parse(input), Err(message.to_owned()), "{input:?}");
        }
        assert_eq!(
            Slug::parse(&"a".repeat(51)),
            Err("Ensure this field has no more than 50 characters.".to_owned())
        );
    }

    #[test]
    fn slugs_made_from_names_always_parse() {
        for name in [
            "Acme Corp",
            "  ",
            "42",
            "A",
            "Login",
            "Ünïcödé Ltd.",
            &"x".repeat(80),
            "a--b__c",
        ] {
            let slug = Slug::from_name(name);
            assert!(Slug::parse(slug.as_str()).is_ok(), "{name:?} gave {slug}");
            assert!(
                Slug::parse(slug.with_suffix(12).as_str()).is_ok(),
                "{name:?} suffixed"
            );
        }
        assert_eq!(Slug::from_name("Acme Corp!").as_str(), "acme-corp");
    }
}
