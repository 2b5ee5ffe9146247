//! What a save would put at risk, found before it runs so the person saving can confirm first: a slug
//! change (every URL changes), data scrubbing turned off, and members a new requirement would remove.
//! The web layer words them (`web::settings_pages::submit`).

use serde_json::Value;

use super::current::OrgSettings;
use super::save;
use super::update::OrganizationUpdate;
use crate::config::{Feature, Features};
use crate::db::AnyConnection;
use crate::errors::{DomainError, FieldErrors};
use crate::members;
use crate::models::job::Requirement;
use crate::models::user::User;

/// A scrubbing setting that a save turns off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scrubbing {
    /// `dataScrubber`
    DataScrubber,
    /// `dataScrubberDefaults`
    DefaultScrubbers,
    /// `scrubIPAddresses`
    IpAddresses,
}

impl Scrubbing {
    const ALL: [Scrubbing; 3] = [
        Scrubbing::DataScrubber,
        Scrubbing::DefaultScrubbers,
        Scrubbing::IpAddresses,
    ];

    fn api_key(self) -> &'static str {
        match self {
            Scrubbing::DataScrubber => "dataScrubber",
            Scrubbing::DefaultScrubbers => "dataScrubberDefaults",
            Scrubbing::IpAddresses => "scrubIPAddresses",
        }
    }
}

/// One risk of a save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Risk {
    SlugChange {
        from: String,
        to: String,
    },
    ScrubbingOff(Scrubbing),
    /// A requirement this save turns on, and the members (by username) it would remove; the acting
    /// user is never among them (they must comply for the save to pass at all).
    MembersRemoved {
        requirement: Requirement,
        /// How many members would be removed.
        total: usize,
        /// The usernames of the first [`MAX_NAMED`] of them.
        usernames: Vec<String>,
    },
}

/// How many of the members a requirement would remove the confirmation names.
pub const MAX_NAMED: usize = 20;

/// The risks of `update` on the organization as it is (`current`), for `actor`; first the checks a
/// confirmation would not change (the actor must meet a requirement they turn on), as field errors.
pub fn preview(
    conn: &mut AnyConnection,
    update: &OrganizationUpdate,
    current: &OrgSettings,
    features: &Features,
    actor: &User,
) -> Result<Vec<Risk>, DomainError> {
    let mut errors = FieldErrors::new();
    save::check_actor_meets_requirements(conn, update, actor, &mut errors)?;
    errors.into_result()?;
    let mut risks = Vec::new();
    if let Some(slug) = &update.slug
        && slug.as_str() != current.org.slug
    {
        risks.push(Risk::SlugChange {
            from: current.org.slug.clone(),
            to: slug.as_str().to_owned(),
        });
    }
    let values = update.api_values();
    for scrubbing in Scrubbing::ALL {
        let key = scrubbing.api_key();
        let turned_off = values
            .iter()
            .any(|(k, v)| *k == key && *v == Value::Bool(false))
            && current.api_value(key, features) == Some(Value::Bool(true));
        if turned_off {
            risks.push(Risk::ScrubbingOff(scrubbing));
        }
    }
    for (field, on) in &update.flags {
        let Some(requirement) = Requirement::of_flag(field.flag) else {
            continue;
        };
        if requirement == Requirement::VerifiedEmail
            && !features.has(Feature::RequiredEmailVerification)
        {
            continue;
        }
        if !on || current.flags().get(field.flag) {
            continue;
        }
        let (total, usernames) =
            members::non_compliant(conn, current.org.id, requirement, actor.id, MAX_NAMED)?;
        if total > 0 {
            risks.push(Risk::MembersRemoved {
                requirement,
                total,
                usernames,
            });
        }
    }
    Ok(risks)
}
