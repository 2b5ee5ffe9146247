//! Browser tests: headless Chromium drives the real app.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
#[path = "../common/mod.rs"]
mod common;

mod avatar;
mod foundation;
mod members;
mod relays;
mod settings;
mod superuser;
