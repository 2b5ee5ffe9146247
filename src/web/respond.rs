//! Shared answers of the handlers: redirects, the 404 of unknown paths, refused form bodies, and the
//! client's address.

use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use super::error::AppError;
use super::session::FlashLevel;
use super::session::{self};
use super::state::AppState;

/// `/`: the organizations list.
pub async fn root() -> HttpResponse {
    see_other("/organizations/")
}

/// The answer to a successful POST: 303 to the page to show next.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// POST → redirect → GET with a message: queues the flash for the next page and answers 303.
pub fn redirect_with(
    session: &Session,
    level: FlashLevel,
    message: impl Into<String>,
    location: &str,
) -> Result<HttpResponse, AppError> {
    session::flash(session, level, message)?;
    Ok(see_other(location))
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
/// [`client_ip`] for the throttle, which counts per address: `unknown` when there is none (a
/// request without a peer address, as in some tests).
pub fn throttle_ip(req: &HttpRequest) -> String {
    client_ip(req).unwrap_or_else(|| "unknown".into())
}

/// The status and message of an emailed link (or code) that cannot be used: 400 when it is not
/// valid, 429 when its checks are throttled. Other errors go on as errors.
pub fn link_refusal(error: crate::errors::DomainError) -> Result<(StatusCode, String), AppError> {
    use crate::errors::DomainError;
    match error {
        DomainError::Refused(message) => Ok((StatusCode::BAD_REQUEST, message)),
        DomainError::RateLimited(message) => Ok((StatusCode::TOO_MANY_REQUESTS, message)),
        other => Err(other.into()),
    }
}

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
