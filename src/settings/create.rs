//! Creating an organization, for the page and `POST /api/0/organizations/` alike: the creator
//! becomes its owner (audited as `org.create`), agrees to the terms when the instance has them, and
//! may create a few an hour (Sentry's `api.rate-limit.org-create`).

use std::time::Duration;

use crate::config::Config;
use crate::db::{AnyConnection, write_tx};
use crate::errors::{DomainError, FieldErrors};
use crate::models::actor::Actor;
use crate::models::organization::{OrgName, Organization};
use crate::models::slug::Slug;
use crate::models::user::User;
use crate::ratelimit::{self, Limit, Policy, Scope};

/// Organizations one user may create per hour.
pub const ORGS_PER_HOUR: Policy = Policy::new(5, Duration::from_secs(3600));

pub const ERR_TOO_MANY: &str = "You are attempting to create too many organizations too quickly.";
/// DRF's message for `agreeTerms: false` (Sentry's `validate_agreeTerms`).
pub const ERR_AGREE_TERMS: &str = "This attribute is required.";

/// What the creator asked for, checked.
pub struct NewOrganization {
    pub name: OrgName,
    /// Made from the name when `None`.
    pub slug: Option<Slug>,
    /// Whether the creator agreed to the instance's terms (asked only when it has them).
    pub agreed_to_terms: bool,
}

/// Creates the organization with `owner` as its owner. Refused, changing nothing: terms not agreed
/// to where asked (`agreeTerms`), a taken slug (`slug`), over the hourly limit (`RateLimited`).
pub fn create(
    conn: &mut AnyConnection,
    config: &Config,
    new: &NewOrganization,
    owner: &User,
    actor: &Actor,
) -> Result<Organization, DomainError> {
    if config.terms.is_some() && !new.agreed_to_terms {
        return Err(DomainError::Invalid(FieldErrors::single(
            "agreeTerms",
            ERR_AGREE_TERMS,
        )));
    }
    write_tx(conn, |conn| {
        let limit = Limit::new(Scope::OrgCreate(owner.id), ORGS_PER_HOUR);
        if ratelimit::acquire(conn, &[limit])?.is_err() {
            return Err(DomainError::RateLimited(ERR_TOO_MANY.into()));
        }
        // a refused creation (a taken slug) rolls the count back with it
        Organization::create(conn, &new.name, new.slug.as_ref(), owner, actor)
    })
}
