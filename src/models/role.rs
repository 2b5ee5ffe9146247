//! Organization roles (docs/compatibility.md, "Access"): member < admin (retired) < manager < owner.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    /// Retired: kept for existing members, never offered for new ones; it cannot change settings.
    Admin,
    Manager,
    Owner,
}

impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Role::parse(&raw)
    }
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Member, Role::Admin, Role::Manager, Role::Owner];

    /// Parses a role id (`member`, `admin`, `manager`, `owner`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "member" => Ok(Role::Member),
            "admin" => Ok(Role::Admin),
            "manager" => Ok(Role::Manager),
            "owner" => Ok(Role::Owner),
            _ => Err("Invalid role".into()),
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Owner => "owner",
        }
    }

    /// Where the role's members stand on the Members page: owners (0) first, then managers,
    /// admins and members (3). Stored with each member (`organization_members.role_rank`, see
    /// docs/architecture.md, "Member order").
    pub fn list_rank(self) -> i32 {
        match self {
            Role::Owner => 0,
            Role::Manager => 1,
            Role::Admin => 2,
            Role::Member => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Member => "Member",
            Role::Admin => "Admin",
            Role::Manager => "Manager",
            Role::Owner => "Owner",
        }
    }

    /// What the role may do here, for wherever a role is chosen.
    pub fn description(self) -> &'static str {
        match self {
            Role::Member => {
                "Sees the organization's settings, relays and members, and changes nothing."
            }
            Role::Admin => {
                "Retired: sees what a member sees. Give a manager or owner role instead."
            }
            Role::Manager => {
                "Changes the settings, relays, avatar and members (except owners), and reads the \
                 audit log. Cannot change the default role or remove the organization."
            }
            Role::Owner => {
                "Everything a manager does, and the default role, other owners and removing the \
                 organization."
            }
        }
    }

    pub fn is_retired(self) -> bool {
        self == Role::Admin
    }

    /// `org:write`: may save the organization's settings.
    pub fn can_write(self) -> bool {
        matches!(self, Role::Manager | Role::Owner)
    }

    /// `org:admin`: may change owner-only settings (default role, deletion).
    pub fn is_owner(self) -> bool {
        self == Role::Owner
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_managers_and_owners_write_and_only_owners_administer() {
        let writers: Vec<_> = Role::ALL.into_iter().filter(|r| r.can_write()).collect();
        assert_eq!(writers, [Role::Manager, Role::Owner]);
        let owners: Vec<_> = Role::ALL.into_iter().filter(|r| r.is_owner()).collect();
        assert_eq!(owners, [Role::Owner]);
    }

    #[test]
    fn role_ids_round_trip_and_unknown_ids_are_invalid() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.id()), Ok(role));
        }
        assert_eq!(Role::parse("Owner"), Err("Invalid role".into()));
    }
}
