//! The HTTP layer: routes, extractors, middleware and handlers by area. Handlers stay thin: parse the
//! request, call the model or save flow (on the blocking pool), render or redirect.

pub mod accept;
pub mod access;
pub mod account;
pub mod api;
pub mod assets;
pub mod audit_log;
pub mod auth;
pub mod avatar;
pub mod csrf;
pub mod error;
pub mod health;
pub mod limits;
pub mod manage;
pub mod members;
pub mod organizations;
pub mod page;
pub mod relays;
pub mod routes;
pub mod session;
pub mod session_store;
pub mod settings_pages;
pub mod setup;
pub mod state;
pub mod superuser;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::web::state::AppState;
pub use audit_log::relative_time as relative;
use error::AppError;

pub async fn root() -> HttpResponse {
    see_other("/organizations/")
}

/// The answer to a successful POST: 303 to the page to show next.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// Form bodies that do not parse (tampered or wrong types) or are too large.
pub fn form_error(err: actix_web::error::UrlencodedError, _: &HttpRequest) -> actix_web::Error {
    use actix_web::error::UrlencodedError;
    match err {
        UrlencodedError::Overflow { .. } => AppError::PayloadTooLarge.into(),
        other => AppError::BadRequest(format!("The form could not be read: {other}")).into(),
    }
}

/// The client's IP address: the connection's peer, or, when the peer is one of the trusted reverse
/// proxies, the address they say the client has (see `config::TrustedProxies::client`).
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Some(peer.to_string());
    };
    let proxies = &state.config.trusted_proxies;
    if proxies.is_empty() {
        return Some(peer.to_string());
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .collect();
    Some(proxies.client(peer, &forwarded).to_string())
}

/// One log line per request: method, path, status, latency.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let result = next.call(req).await;
    let latency_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    match &result {
        Ok(res) => tracing::info!(
            method = %method,
            path = %path,
            status = res.status().as_u16(),
            latency_ms,
            "request"
        ),
        Err(err) => tracing::warn!(
            method = %method,
            path = %path,
            status = err.as_response_error().status_code().as_u16(),
            latency_ms,
            error = %err,
            "request"
        ),
    }
    result
}
