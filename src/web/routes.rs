//! The route table: every path, its methods and their handlers, in one place. The same table is
//! also data ([`ROUTES`]), so the tests can check that every state-changing route has its row in the
//! role × route and CSRF tests: a route cannot be added without them.

use actix_web::web;

use super::respond::root;
use super::{
    accept, account, api, assets, audit_log, auth, auth_tokens, avatar, health, manage, members,
    organizations, recover, relays, settings_pages, setup, superuser,
};

/// One route: an HTTP method (lowercase) and a path pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
}

impl Route {
    /// Whether requests of this method change state (and so need a CSRF token and a role check).
    pub fn is_state_changing(&self) -> bool {
        !matches!(self.method, "get" | "head" | "options")
    }
}

macro_rules! route_table {
    ($( $path:literal => { $( $method:ident => $handler:path ),+ $(,)? } ),* $(,)?) => {
        /// Every route of the app, in the order of the table.
        pub const ROUTES: &[Route] = &[
            $( $( Route { method: stringify!($method), path: $path }, )+ )*
        ];

        /// Registers every route of the table.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( cfg.service(web::resource($path) $( .$method($handler) )+ ); )*
        }
    };
}

route_table! {
    "/" => { get => root },
    "/healthz" => { get => health::healthz },
    "/static/{file}" => { get => assets::serve },
    "/login" => { get => auth::login_page, post => auth::login },
    "/login/2fa/" => { get => auth::two_factor_page, post => auth::two_factor },
    "/logout" => { post => auth::logout },
    "/superuser/" => { get => superuser::page, post => superuser::submit },
    "/superuser/leave/" => { post => superuser::leave },
    "/manage/" => { get => manage::index },
    "/manage/users/" => { get => manage::users },
    "/manage/outbox/" => { get => manage::outbox },
    "/manage/users/new/" => { get => manage::new_user_page, post => manage::create_user },
    "/manage/users/{id}/" => { get => manage::user, post => manage::user_action },
    "/manage/users/{id}/permissions/" => { post => manage::permissions },
    "/setup/{token}/" => { get => setup::setup_page, post => setup::setup },
    "/account/" => { get => account::page, post => account::submit },
    "/account/confirm-email/{user_id}/{hash}/" => { get => account::confirm },
    "/account/password/" => { get => account::password::page, post => account::password::submit },
    "/account/security/" => {
        get => account::security::security,
        post => account::security::security_submit,
    },
    "/account/api-tokens/" => { get => account::tokens::page, post => account::tokens::submit },
    "/account/recover/" => { get => recover::page, post => recover::submit },
    "/account/recover/confirm/{user_id}/{token}/" => {
        get => recover::confirm_page,
        post => recover::confirm,
    },
    "/accept/{member_id}/{token}/" => { get => accept::page, post => accept::accept },
    "/organizations/" => { get => organizations::list },
    "/organizations/new/" => { get => organizations::new_page, post => organizations::create },
    "/api/0/" => { get => api::index::index },
    "/api/0/internal/health/" => { get => api::index::health },
    "/api/0/auth/" => { put => api::sudo::verify },
    "/api/0/api-tokens/" => {
        get => api::tokens::list,
        post => api::tokens::create,
        delete => api::tokens::delete,
    },
    "/api/0/organizations/" => {
        get => api::organization_index::list,
        post => api::organization_index::create,
    },
    "/api/0/organizations/{org}/" => {
        get => api::organizations::details,
        put => api::organizations::update,
        delete => api::organizations::remove,
    },
    "/api/0/organizations/{org}/audit-logs/" => { get => api::audit_logs::list },
    "/api/0/organizations/{org}/relay_usage/" => { get => api::relays::usage },
    "/api/0/relays/register/challenge/" => { post => api::relays::register_challenge },
    "/api/0/relays/register/response/" => { post => api::relays::register_response },
    "/api/0/relays/publickeys/" => { post => api::relays::public_keys },
    "/api/0/organizations/{org}/members/" => {
        get => api::members::list,
        post => api::members::invite,
    },
    "/api/0/organizations/{org}/members/{member_id}/" => {
        get => api::members::details,
        put => api::members::update,
        delete => api::members::remove,
    },
    "/api/0/organizations/{org}/avatar/" => {
        get => api::organizations::avatar_details,
        put => api::organizations::avatar_update,
    },
    "/settings/{org}/" => { get => settings_pages::general_page, post => settings_pages::general_submit },
    "/settings/{org}/security-and-privacy/" => {
        get => settings_pages::security_page,
        post => settings_pages::security_submit,
    },
    "/settings/{org}/security-and-privacy/pii-rules/" => { post => settings_pages::pii_rules::submit },
    "/settings/{org}/relays/" => { get => relays::page, post => relays::submit },
    "/settings/{org}/avatar/" => { get => avatar::page, post => avatar::submit },
    "/organization-avatar/{ident}/" => { get => avatar::serve },
    "/settings/{org}/members/" => { get => members::page, post => members::submit },
    "/settings/{org}/auth-tokens/" => { get => auth_tokens::page, post => auth_tokens::submit },
    "/settings/{org}/audit-log/" => { get => audit_log::page },
    "/settings/{org}/audit-log/export.csv" => { get => audit_log::export_csv },
    "/settings/{org}/remove/" => { post => settings_pages::remove },
    "/settings/{org}/restore/" => { post => settings_pages::restore },
}
