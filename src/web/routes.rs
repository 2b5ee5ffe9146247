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
    ($( $scope:literal { $( $path:literal => { $( $method:ident => $handler:path ),+ $(,)? } ),* $(,)? } )*) => {
        /// Every route of the app (its whole path), in the order of the table.
        pub const ROUTES: &[Route] = &[
            $( $( $( Route { method: stringify!($method), path: concat!($scope, $path) }, )+ )* )*
        ];

        /// Registers every route of the table, each group under its scope.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( register($scope, cfg, |cfg| {
                $( cfg.service(web::resource($path) $( .$method($handler) )+ ); )*
            }); )*
        }
    };
}

/// Registers a group's routes: at the top for the group `""`, otherwise under a scope, so the
/// router tests the scope's one prefix instead of every route of the group (actix tries its
/// patterns in order, and a pattern with a `{segment}` is a regular expression; see
/// `docs/architecture.md`, "Where a request's time goes").
fn register(
    scope: &str,
    cfg: &mut web::ServiceConfig,
    routes: impl FnOnce(&mut web::ServiceConfig),
) {
    if scope.is_empty() {
        routes(cfg);
    } else {
        cfg.service(web::scope(scope).configure(routes));
    }
}

// The groups are tried in this order and a request that enters a scope never leaves it: a scope
// must come before any scope that is a prefix of it (`/api/0/organizations/{org}` before
// `/api/0`), and the top group holds only fixed paths (cheap to compare).
route_table! {
    "" {
        "/" => { get => root },
        "/healthz" => { get => health::healthz },
        "/login" => { get => auth::login_page, post => auth::login },
        "/login/2fa/" => { get => auth::two_factor_page, post => auth::two_factor },
        "/logout" => { post => auth::logout },
        "/superuser/" => { get => superuser::page, post => superuser::submit },
        "/superuser/leave/" => { post => superuser::leave },
        "/organizations/" => { get => organizations::list },
        "/organizations/new/" => { get => organizations::new_page, post => organizations::create },
    }
    "/settings/{org}" {
        "/" => { get => settings_pages::general_page, post => settings_pages::general_submit },
        "/security-and-privacy/" => {
            get => settings_pages::security_page,
            post => settings_pages::security_submit,
        },
        "/security-and-privacy/pii-rules/" => { post => settings_pages::pii_rules::submit },
        "/relays/" => { get => relays::page, post => relays::submit },
        "/avatar/" => { get => avatar::page, post => avatar::submit },
        "/members/" => { get => members::page, post => members::submit },
        "/auth-tokens/" => { get => auth_tokens::page, post => auth_tokens::submit },
        "/audit-log/" => { get => audit_log::page },
        "/audit-log/export.csv" => { get => audit_log::export_csv },
        "/remove/" => { post => settings_pages::remove },
        "/restore/" => { post => settings_pages::restore },
    }
    "/api/0/organizations/{org}" {
        "/" => {
            get => api::organizations::details,
            put => api::organizations::update,
            delete => api::organizations::remove,
        },
        "/audit-logs/" => { get => api::audit_logs::list },
        "/relay_usage/" => { get => api::relays::usage },
        "/members/" => {
            get => api::members::list,
            post => api::members::invite,
        },
        "/members/{member_id}/" => {
            get => api::members::details,
            put => api::members::update,
            delete => api::members::remove,
        },
        "/avatar/" => {
            get => api::organizations::avatar_details,
            put => api::organizations::avatar_update,
        },
    }
    "/api/0" {
        "/" => { get => api::index::index },
        "/internal/health/" => { get => api::index::health },
        "/auth/" => { put => api::sudo::verify },
        "/api-tokens/" => {
            get => api::tokens::list,
            post => api::tokens::create,
            delete => api::tokens::delete,
        },
        "/organizations/" => {
            get => api::organization_index::list,
            post => api::organization_index::create,
        },
        "/relays/register/challenge/" => { post => api::relays::register_challenge },
        "/relays/register/response/" => { post => api::relays::register_response },
        "/relays/publickeys/" => { post => api::relays::public_keys },
    }
    "/static" {
        "/{file}" => { get => assets::serve },
    }
    "/organization-avatar" {
        "/{ident}/" => { get => avatar::serve },
    }
    "/account" {
        "/" => { get => account::page, post => account::submit },
        "/confirm-email/{user_id}/{hash}/" => { get => account::confirm },
        "/password/" => { get => account::password::page, post => account::password::submit },
        "/security/" => {
            get => account::security::security,
            post => account::security::security_submit,
        },
        "/api-tokens/" => { get => account::tokens::page, post => account::tokens::submit },
        "/recover/" => { get => recover::page, post => recover::submit },
        "/recover/confirm/{user_id}/{token}/" => {
            get => recover::confirm_page,
            post => recover::confirm,
        },
    }
    "/accept" {
        "/{member_id}/{token}/" => { get => accept::page, post => accept::accept },
    }
    "/setup" {
        "/{token}/" => { get => setup::setup_page, post => setup::setup },
    }
    "/manage" {
        "/" => { get => manage::index },
        "/users/" => { get => manage::users },
        "/outbox/" => { get => manage::outbox },
        "/users/new/" => { get => manage::new_user_page, post => manage::create_user },
        "/users/{id}/" => { get => manage::user, post => manage::user_action },
        "/users/{id}/permissions/" => { post => manage::permissions },
    }
}

#[cfg(test)]
mod tests {
    use actix_web::dev::Service;
    use actix_web::http::{Method, StatusCode};
    use actix_web::{App, HttpResponse, test};

    use super::{ROUTES, configure};

    /// A path that fits the pattern: each `{segment}` filled in.
    fn path_of(pattern: &str) -> String {
        let mut path = String::new();
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            path.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
            path.push_str("x1");
            rest = &rest[close..];
        }
        path.push_str(rest);
        path
    }

    #[actix_web::test]
    async fn every_route_of_the_table_is_reached_by_its_own_path_and_method() {
        // no state is given: the handlers refuse, but the router has already chosen the route
        let app = test::init_service(App::new().configure(configure)).await;
        for route in ROUTES {
            let method =
                Method::from_bytes(route.method.to_uppercase().as_bytes()).unwrap_or(Method::GET);
            let req = test::TestRequest::default()
                .method(method)
                .uri(&path_of(route.path))
                .to_request();
            let res = app.call(req).await;
            let matched = match &res {
                Ok(res) => res.request().match_pattern(),
                Err(_) => None,
            };
            assert_eq!(
                matched.as_deref(),
                Some(route.path),
                "{} {} reached another route",
                route.method,
                route.path
            );
        }
    }

    #[actix_web::test]
    async fn a_path_no_route_has_gets_the_apps_own_answer_inside_a_scope_too() {
        // the app's default service (the 404 page) answers for paths a scope has no route for
        let app = test::init_service(
            App::new()
                .configure(configure)
                .default_service(actix_web::web::to(HttpResponse::ImATeapot)),
        )
        .await;
        for path in [
            "/nowhere/",
            "/settings/x1/nowhere/",
            "/settings/x1",
            "/api/0/nowhere/",
            "/api/0/organizations/x1/nowhere/",
            "/account/nowhere/",
            "/manage/users/x1/nowhere/",
        ] {
            let res = app
                .call(test::TestRequest::get().uri(path).to_request())
                .await;
            let status = res.map(|res| res.status()).ok();
            assert_eq!(status, Some(StatusCode::IM_A_TEAPOT), "{path}");
        }
    }
}
