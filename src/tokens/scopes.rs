//! Sentry's API scopes (`conf/server.py`: `SENTRY_SCOPES`, `SENTRY_SCOPE_HIERARCHY_MAPPING`,
//! `SENTRY_SCOPE_SETS` and each role's `scopes`; docs/compatibility.md, "Tokens"). What a request may
//! do is a set of these: a role's set for a browser session, a token's set (widened by the hierarchy)
//! cut down to the role's for a token.

use std::collections::BTreeSet;

use crate::models::role::Role;

/// Every scope a token may carry, in the order Sentry's page groups them.
pub const ALL: &[&str] = &[
    "org:read",
    "org:write",
    "org:admin",
    "org:integrations",
    "org:ci",
    "member:read",
    "member:invite",
    "member:write",
    "member:admin",
    "team:read",
    "team:write",
    "team:admin",
    "project:read",
    "project:write",
    "project:admin",
    "project:releases",
    "event:read",
    "event:write",
    "event:admin",
    "alerts:read",
    "alerts:write",
    "openid",
    "profile",
    "email",
];

/// Sentry's groups of scopes, with what each grants (`SENTRY_SCOPE_SETS`), for the token page.
pub const GROUPS: &[(&str, &[(&str, &str)])] = &[
    (
        "Organization",
        &[
            ("org:read", "Read access to organization details."),
            (
                "org:write",
                "Read and write access to organization details.",
            ),
            (
                "org:admin",
                "Read, write, and admin access to organization details.",
            ),
            (
                "org:integrations",
                "Read, write, and admin access to organization integrations.",
            ),
        ],
    ),
    (
        "Members",
        &[
            ("member:read", "Read access to organization members."),
            (
                "member:invite",
                "Member invite access to organization members.",
            ),
            (
                "member:write",
                "Read and write access to organization members.",
            ),
            (
                "member:admin",
                "Read, write, and admin access to organization members.",
            ),
        ],
    ),
    (
        "Teams",
        &[
            ("team:read", "Read access to teams."),
            ("team:write", "Read and write access to teams."),
            ("team:admin", "Read, write, and admin access to teams."),
        ],
    ),
    (
        "Projects",
        &[
            ("project:read", "Read access to projects."),
            ("project:write", "Read and write access to projects."),
            (
                "project:admin",
                "Read, write, and admin access to projects.",
            ),
            (
                "project:releases",
                "Read, write, and admin access to project releases.",
            ),
        ],
    ),
    (
        "Issues and events",
        &[
            ("event:read", "Read access to events."),
            ("event:write", "Read and write access to events."),
            ("event:admin", "Read, write, and admin access to events."),
        ],
    ),
    (
        "Alerts",
        &[
            ("alerts:read", "Read alerts"),
            ("alerts:write", "Read and write alerts"),
        ],
    ),
];

/// A set of scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(BTreeSet<&'static str>);

impl Scopes {
    /// The scopes named, each one known (unknown names are the caller's to refuse first).
    pub fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self(
            names
                .into_iter()
                .filter_map(|name| ALL.iter().copied().find(|s| *s == name))
                .collect(),
        )
    }

    /// What a token's stored scopes grant, widened as Sentry widens them
    /// (`SENTRY_SCOPE_HIERARCHY_MAPPING`: `org:write` also reads, `org:admin` also writes, …).
    pub fn granted_by(stored: &Scopes) -> Self {
        let mut widened = BTreeSet::new();
        for scope in &stored.0 {
            widened.extend(hierarchy(scope).iter().copied());
        }
        Self(widened)
    }

    /// A role's scopes (Sentry's `SENTRY_ROLES`).
    pub fn of_role(role: Role) -> Self {
        Self::of(role_scopes(role).iter().copied())
    }

    pub fn intersection(&self, other: &Scopes) -> Self {
        Self(self.0.intersection(&other.0).copied().collect())
    }

    pub fn has(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// Whether any of `wanted` is here (Sentry's `has_any_scope`).
    pub fn has_any(&self, wanted: &[&str]) -> bool {
        wanted.iter().any(|scope| self.has(scope))
    }

    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As stored: the names, sorted, space-separated.
    pub fn to_stored(&self) -> String {
        self.0.iter().copied().collect::<Vec<_>>().join(" ")
    }

    pub fn from_stored(text: &str) -> Self {
        Self::of(text.split_whitespace())
    }
}

/// Parses the scopes a person asked for: each must be one of [`ALL`], as DRF's `MultipleChoiceField`
/// says (`"x" is not a valid choice.`), and at least one is needed.
pub fn parse_requested(names: &[String]) -> Result<Scopes, String> {
    if names.is_empty() {
        return Err(crate::drf::REQUIRED.into());
    }
    if let Some(unknown) = names.iter().find(|n| !ALL.contains(&n.as_str())) {
        return Err(format!("\"{unknown}\" is not a valid choice."));
    }
    Ok(Scopes::of(names.iter().map(String::as_str)))
}

fn hierarchy(scope: &str) -> &'static [&'static str] {
    match scope {
        "org:read" => &["org:read"],
        "org:write" => &["org:read", "org:write"],
        "org:admin" => &["org:read", "org:write", "org:admin", "org:integrations"],
        "org:integrations" => &["org:integrations"],
        "org:ci" => &["org:ci"],
        "member:invite" => &["member:read", "member:invite"],
        "member:read" => &["member:read"],
        "member:write" => &["member:read", "member:invite", "member:write"],
        "member:admin" => &[
            "member:read",
            "member:invite",
            "member:write",
            "member:admin",
        ],
        "team:read" => &["team:read"],
        "team:write" => &["team:read", "team:write"],
        "team:admin" => &["team:read", "team:write", "team:admin"],
        "project:read" => &["project:read"],
        "project:write" => &["project:read", "project:write"],
        "project:admin" => &["project:read", "project:write", "project:admin"],
        "project:releases" => &["project:releases"],
        "event:read" => &["event:read"],
        "event:write" => &["event:read", "event:write"],
        "event:admin" => &["event:read", "event:write", "event:admin"],
        "alerts:read" => &["alerts:read"],
        "alerts:write" => &["alerts:read", "alerts:write"],
        "openid" => &["openid"],
        "profile" => &["profile"],
        "email" => &["email"],
        _ => &[],
    }
}

fn role_scopes(role: Role) -> &'static [&'static str] {
    match role {
        Role::Member => &[
            "event:read",
            "event:write",
            "event:admin",
            "project:releases",
            "project:read",
            "org:read",
            "member:invite",
            "member:read",
            "team:read",
            "alerts:read",
            "alerts:write",
        ],
        Role::Admin => &[
            "event:read",
            "event:write",
            "event:admin",
            "org:read",
            "member:read",
            "member:invite",
            "project:read",
            "project:write",
            "project:admin",
            "project:releases",
            "team:read",
            "team:write",
            "team:admin",
            "org:integrations",
            "alerts:read",
            "alerts:write",
        ],
        Role::Manager => &[
            "event:read",
            "event:write",
            "event:admin",
            "member:invite",
            "member:read",
            "member:write",
            "member:admin",
            "project:read",
            "project:write",
            "project:admin",
            "project:releases",
            "team:read",
            "team:write",
            "team:admin",
            "org:read",
            "org:write",
            "org:integrations",
            "alerts:read",
            "alerts:write",
        ],
        Role::Owner => &[
            "org:read",
            "org:write",
            "org:admin",
            "org:integrations",
            "member:invite",
            "member:read",
            "member:write",
            "member:admin",
            "team:read",
            "team:write",
            "team:admin",
            "project:read",
            "project:write",
            "project:admin",
            "project:releases",
            "event:read",
            "event:write",
            "event:admin",
            "alerts:read",
            "alerts:write",
        ],
    }
}

/// The scopes a request needs, by method, for the organization endpoints (Sentry's
/// `OrganizationPermission.scope_map`): any one of them will do.
pub const ORG_READ: &[&str] = &["org:read", "org:write", "org:admin"];
pub const ORG_WRITE: &[&str] = &["org:write", "org:admin"];
pub const ORG_ADMIN: &[&str] = &["org:admin"];
/// The member endpoints' (Sentry's `MemberPermission`; inviting needs `member:write`, since
/// orgsettings has no invitation requests for `member:invite` to make).
pub const MEMBER_READ: &[&str] = &["member:read", "member:write", "member:admin"];
pub const MEMBER_WRITE: &[&str] = &["member:write", "member:admin"];
pub const MEMBER_ADMIN: &[&str] = &["member:admin"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hierarchy_widens_each_scope_and_every_scope_has_one() {
        for scope in ALL {
            assert!(hierarchy(scope).contains(scope), "{scope}");
        }
        let admin = Scopes::granted_by(&Scopes::of(["org:admin"]));
        assert_eq!(
            admin.iter().collect::<Vec<_>>(),
            ["org:admin", "org:integrations", "org:read", "org:write"]
        );
    }

    #[test]
    fn a_token_does_no_more_than_the_role_allows() {
        let token = Scopes::granted_by(&Scopes::of(["org:write"]));
        let member = token.intersection(&Scopes::of_role(Role::Member));
        assert!(member.has_any(ORG_READ) && !member.has_any(ORG_WRITE));
        let manager = token.intersection(&Scopes::of_role(Role::Manager));
        assert!(manager.has_any(ORG_WRITE) && !manager.has("org:admin"));
    }

    #[test]
    fn requested_scopes_must_be_known_and_present() {
        assert_eq!(
            parse_requested(&["org:read".into(), "org:god".into()]),
            Err("\"org:god\" is not a valid choice.".into())
        );
        assert_eq!(parse_requested(&[]), Err("This field is required.".into()));
        let stored = parse_requested(&["org:write".into(), "member:read".into()]).unwrap();
        assert_eq!(stored.to_stored(), "member:read org:write");
        assert_eq!(Scopes::from_stored(&stored.to_stored()), stored);
    }

    #[test]
    fn every_grouped_scope_is_a_scope() {
        for (_, scopes) in GROUPS {
            for (scope, _) in *scopes {
                assert!(ALL.contains(scope), "{scope}");
            }
        }
    }
}
