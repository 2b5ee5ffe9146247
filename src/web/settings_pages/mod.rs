//! `/settings/{org}/` (General) and `/settings/{org}/security-and-privacy/`: the settings form
//! ([`view`] shows it, [`submit`] saves it, [`form`] says which fields each page has) and the danger
//! zone ([`danger_zone`]: removing and restoring the organization); the rule builder of advanced data
//! scrubbing ([`pii_rules`]).

pub mod danger_zone;
pub mod form;
pub mod pii_rules;
pub mod submit;
pub mod view;

pub use danger_zone::{remove, restore};
pub use submit::{general_submit, security_submit};
pub use view::{general_page, security_page};

/// Hidden field: the values the form showed, as JSON (for conflict detection).
const SHOWN_FIELD: &str = "_shown";
/// Hidden field: the user confirmed the risky changes listed on the page.
const CONFIRM_FIELD: &str = "_confirm";
/// Shown after a save that started requirement jobs (they run after the redirect).
pub const JOBS_STARTED: &str = "Any member who does not meet the new requirement is being moved to \
                                a pending invitation and emailed; the Members page shows the \
                                changes as they happen.";
