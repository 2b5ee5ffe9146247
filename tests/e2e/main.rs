//! Browser tests: headless Chromium drives the real app.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod browser;
#[path = "../common/mod.rs"]
mod common;

mod avatar;
mod foundation;
mod journeys;
mod members;
mod pages;
mod relays;
mod settings;
mod superuser;
