//! The organization settings save flow, free of HTTP: what an update is ([`update`]), how its values
//! are checked ([`drf`], [`pii`]), the option registry ([`options`]) and flags ([`flags`]), and the save
//! itself ([`save`]): validate, then one write transaction that applies options, flags, name, slug and
//! default role and records one audit entry with the change set in Sentry's words ([`changes`]).
//!
//! The HTML form and the JSON API both build an [`update::OrganizationUpdate`] and call
//! [`save::save`]; neither has logic of its own.

pub mod avatar;
pub mod create;
pub mod current;
pub mod delete;
pub mod options;
pub mod pii;
pub mod relays;
pub mod risks;
pub mod save;
pub mod update;
