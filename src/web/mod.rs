//! The HTTP layer (docs/architecture.md, "Layers"). Plumbing: `routes` (the route table), `state`
//! (`AppState`), `respond` (redirects, client address), `session`, `session_store`, `csrf`,
//! `superuser_mode`, `access` (the organization extractor), `page` (layout and rendering), `error`,
//! `limits`, `log`. Pages and endpoints by area: the other modules, and `api/`. Handlers stay thin:
//! parse the request, call the domain on the blocking pool, render or redirect.

pub mod accept;
pub mod access;
pub mod account;
pub mod api;
pub mod assets;
pub mod audit_log;
pub mod auth;
pub mod auth_tokens;
pub mod avatar;
pub mod csrf;
pub mod error;
pub mod form;
pub mod health;
pub mod kept;
pub mod layout;
pub mod limits;
pub mod log;
pub mod manage;
pub mod members;
pub mod organizations;
pub mod page;
pub mod recover;
pub mod relays;
pub mod respond;
pub mod routes;
pub mod session;
pub mod session_store;
pub mod settings_pages;
pub mod setup;
pub mod state;
pub mod sudo;
pub mod superuser;
pub mod superuser_mode;
pub mod urls;
