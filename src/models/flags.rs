//! The organization flags bitfield (docs/compatibility.md, "Organization"). Bit numbers are fixed: only append.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    AllowJoinleave,
    EnhancedPrivacy,
    DisableSharedIssues,
    EarlyAdopter,
    Require2fa,
    DisableNewVisibilityFeatures,
    RequireEmailVerification,
    CodecovAccess,
    DisableMemberProjectCreation,
    PreventSuperuserAccess,
    DisableMemberInvite,
}

impl Flag {
    /// Every flag, in bit order.
    pub const ALL: [Flag; 11] = [
        Flag::AllowJoinleave,
        Flag::EnhancedPrivacy,
        Flag::DisableSharedIssues,
        Flag::EarlyAdopter,
        Flag::Require2fa,
        Flag::DisableNewVisibilityFeatures,
        Flag::RequireEmailVerification,
        Flag::CodecovAccess,
        Flag::DisableMemberProjectCreation,
        Flag::PreventSuperuserAccess,
        Flag::DisableMemberInvite,
    ];

    pub fn bit(self) -> u32 {
        match self {
            Flag::AllowJoinleave => 0,
            Flag::EnhancedPrivacy => 1,
            Flag::DisableSharedIssues => 2,
            Flag::EarlyAdopter => 3,
            Flag::Require2fa => 4,
            Flag::DisableNewVisibilityFeatures => 5,
            Flag::RequireEmailVerification => 6,
            Flag::CodecovAccess => 7,
            Flag::DisableMemberProjectCreation => 8,
            Flag::PreventSuperuserAccess => 9,
            Flag::DisableMemberInvite => 10,
        }
    }

    /// The flag's name, as in Sentry's model and audit data.
    pub fn name(self) -> &'static str {
        match self {
            Flag::AllowJoinleave => "allow_joinleave",
            Flag::EnhancedPrivacy => "enhanced_privacy",
            Flag::DisableSharedIssues => "disable_shared_issues",
            Flag::EarlyAdopter => "early_adopter",
            Flag::Require2fa => "require_2fa",
            Flag::DisableNewVisibilityFeatures => "disable_new_visibility_features",
            Flag::RequireEmailVerification => "require_email_verification",
            Flag::CodecovAccess => "codecov_access",
            Flag::DisableMemberProjectCreation => "disable_member_project_creation",
            Flag::PreventSuperuserAccess => "prevent_superuser_access",
            Flag::DisableMemberInvite => "disable_member_invite",
        }
    }

    fn mask(self) -> i64 {
        1 << self.bit()
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A bitfield value. `Copy`, so a snapshot taken before a change cannot be changed with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(i64);

impl From<i64> for Flags {
    fn from(bits: i64) -> Self {
        Self::from_bits(bits)
    }
}

impl Flags {
    pub const fn from_bits(bits: i64) -> Self {
        Self(bits)
    }

    pub const fn bits(self) -> i64 {
        self.0
    }

    pub fn get(self, flag: Flag) -> bool {
        self.0 & flag.mask() != 0
    }

    pub fn set(&mut self, flag: Flag, on: bool) {
        if on {
            self.0 |= flag.mask();
        } else {
            self.0 &= !flag.mask();
        }
    }

    /// `(flag, is_set)` for every flag, in bit order.
    pub fn items(self) -> impl Iterator<Item = (Flag, bool)> {
        Flag::ALL
            .into_iter()
            .map(move |flag| (flag, self.get(flag)))
    }

    /// Whether `flag` differs between this value and an earlier snapshot.
    pub fn flag_has_changed(self, snapshot: Flags, flag: Flag) -> bool {
        self.get(flag) != snapshot.get(flag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_follow_the_reference_order() {
        let bits: Vec<u32> = Flag::ALL.iter().map(|f| f.bit()).collect();
        assert_eq!(bits, (0..11).collect::<Vec<_>>());
        assert_eq!(Flag::Require2fa.mask(), 16);
        assert_eq!(Flag::CodecovAccess.mask(), 128);
    }

    #[test]
    fn setting_and_clearing_a_flag_leaves_the_others_alone() {
        let mut flags = Flags::from_bits(1);
        let snapshot = flags;
        flags.set(Flag::Require2fa, true);
        flags.set(Flag::AllowJoinleave, false);
        assert_eq!(flags.bits(), 16);
        assert!(flags.flag_has_changed(snapshot, Flag::Require2fa));
        assert!(flags.flag_has_changed(snapshot, Flag::AllowJoinleave));
        assert!(!flags.flag_has_changed(snapshot, Flag::EarlyAdopter));
        assert_eq!(snapshot.bits(), 1, "the snapshot kept its value");
        let items: Vec<(Flag, bool)> = flags.items().take(5).collect();
        assert_eq!(
            items,
            vec![
                (Flag::AllowJoinleave, false),
                (Flag::EnhancedPrivacy, false),
                (Flag::DisableSharedIssues, false),
                (Flag::EarlyAdopter, false),
                (Flag::Require2fa, true),
            ]
        );
    }
}
