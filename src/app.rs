//! Builds the actix `App` (routes, middleware, shared state) and runs the HTTP server. Used by
//! `orgsettings serve` and by the tests, so both run exactly the same stack.

use std::net::TcpListener;

use actix_session::SessionMiddleware;
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_session::storage::SessionStore;
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::web::error::AppError;
use crate::web::limits::{FORM_LIMIT, UPLOAD_LIMIT};
use crate::web::log::log_request;
use crate::web::respond::{form_error, not_found};
use crate::web::session::{SESSION_COOKIE, SESSION_TTL};
pub use crate::web::session_store::Sessions;
pub use crate::web::state::AppState;
use crate::web::{csrf, routes};

/// The whole application: state, routes and middleware.
pub fn build_app<S: SessionStore + 'static>(
    state: AppState,
    store: S,
    key: Key,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cookie_secure = state.config.cookie_secure;
    let sessions = SessionMiddleware::builder(store, key)
        .cookie_name(SESSION_COOKIE.to_owned())
        .cookie_secure(cookie_secure)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(SESSION_TTL.try_into().unwrap_or_default())
                // only responses that change the session set the cookie (images are served without one)
                .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
        )
        .build();
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::new(FORM_LIMIT))
        .app_data(
            web::FormConfig::default()
                .limit(FORM_LIMIT)
                .error_handler(form_error),
        )
        .app_data(
            actix_multipart::form::MultipartFormConfig::default()
                .total_limit(UPLOAD_LIMIT)
                .memory_limit(UPLOAD_LIMIT)
                .error_handler(|err, _| {
                    AppError::BadRequest(format!("The upload could not be read: {err}")).into()
                }),
        )
        .configure(routes::configure)
        .default_service(web::to(not_found))
        .wrap(from_fn(csrf::protect))
        .wrap(sessions)
        .wrap(
            DefaultHeaders::new()
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("X-Frame-Options", "DENY"))
                .add(("Referrer-Policy", "same-origin"))
                .add((
                    "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                     object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
                )),
        )
        .wrap(from_fn(log_request))
}

/// Starts the server on a bound listener; the returned future runs it until stopped.
pub fn start(
    listener: TcpListener,
    state: AppState,
    sessions: Sessions,
    key: Key,
    workers: Option<usize>,
) -> anyhow::Result<Server> {
    let server = HttpServer::new(move || build_app(state.clone(), sessions.clone(), key.clone()));
    let server = match workers {
        Some(n) => server.workers(n.max(1)),
        None => server,
    };
    Ok(server
        .listen(listener)
        .context("listening on the bound socket")?
        .run())
}
