//! orgsettings: Sentry's organization settings save flow as one Actix-web monolith.

pub mod access;
pub mod accounts;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod drf;
pub mod errors;
pub mod jobs;
pub mod kept;
pub mod mail;
pub mod members;
pub mod models;
pub mod profile;
pub mod pyfmt;
pub mod ratelimit;
pub mod recovery;
pub mod relay;
pub mod secrets;
pub mod settings;
pub mod tokens;
pub mod web;

#[cfg(test)]
mod properties;
