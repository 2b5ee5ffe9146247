//! Integration tests: the real app over HTTP (and the real binary for the CLI), each test with a
//! fresh database. One binary, so the crate links once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod account;
mod api_audit_logs;
mod api_fields;
mod api_members;
mod api_organization_index;
mod api_organizations;
mod audit_log;
mod auth;
mod avatar;
mod cli;
mod csrf;
mod db_helpers;
mod deletion;
mod layers;
mod matrix;
mod members;
mod organizations;
mod pages;
mod pii_rules;
mod recovery;
mod redis_sessions;
mod relay_registration;
mod relays;
mod requirements;
mod security;
mod sentry_cli;
mod settings;
mod setup;
mod superusers;
mod token_pages;
mod tokens;
