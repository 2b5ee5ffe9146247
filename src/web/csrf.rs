//! CSRF protection: a synchronizer token kept in the session, checked by one middleware on every
//! state-changing request, so no handler can forget it.
//!
//! A request passes when its token (the `X-CSRFToken` header, or the `csrf_token` field of a form body)
//! equals the session's, compared in constant time, and when its `Origin` / `Sec-Fetch-Site` headers,
//! if the browser sent them, do not name another site.

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use futures_util::StreamExt;

use super::error::AppError;
use super::limits::{DRAIN_LIMIT, UPLOAD_LIMIT};
use crate::secrets::{random_token, secrets_match};
use crate::web::state::AppState;

const SESSION_KEY: &str = "csrf";
pub const FORM_FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrftoken";

/// The session's token, created on first use.
pub fn token(session: &Session) -> Result<String, AppError> {
    if let Ok(Some(token)) = session.get::<String>(SESSION_KEY) {
        return Ok(token);
    }
    rotate(session)
}

/// Replaces the session's token (on login, so a token seen before login is worthless after it).
pub fn rotate(session: &Session) -> Result<String, AppError> {
    let token = random_token();
    session.insert(SESSION_KEY, &token)?;
    Ok(token)
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The middleware (`middleware::from_fn(csrf::protect)`), inside the session middleware.
pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // a token request speaks for itself: its session is not used, so there is nothing to forge
    let token_request =
        req.path().starts_with("/api/") && req.headers().contains_key(header::AUTHORIZATION);
    // neither is a Relay's request: it is signed with the relay's key, and its handlers read no
    // session (web::api::relays)
    let relay_request = req.path().starts_with("/api/0/relays/");
    if is_state_changing(req.method())
        && !token_request
        && !relay_request
        && let Err(err) = check(&mut req).await
    {
        let response = if req.path().starts_with("/api/") {
            api_refusal(&err)
        } else {
            actix_web::ResponseError::error_response(&err)
        };
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// DRF's shape for a CSRF failure, for API clients.
fn api_refusal(err: &AppError) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(err);
    let detail = match err {
        AppError::Csrf(reason) => format!("CSRF Failed: {reason}"),
        AppError::PayloadTooLarge => "Request body too large.".into(),
        other => other.to_string(),
    };
    HttpResponse::build(status).json(serde_json::json!({ "detail": detail }))
}

async fn check(req: &mut ServiceRequest) -> Result<(), AppError> {
    check_origin(req)?;
    let session = req.get_session();
    let expected = match session.get::<String>(SESSION_KEY) {
        Ok(Some(token)) => token,
        _ => {
            return Err(AppError::Csrf(
                "Your session has no security token: it expired, or your browser did not send its cookie.",
            ));
        }
    };
    let presented = match req.headers().get(HEADER) {
        Some(value) => value.to_str().unwrap_or_default().to_owned(),
        None => token_from_body(req).await?,
    };
    if presented.is_empty() {
        return Err(AppError::Csrf(
            "The request did not carry its security token.",
        ));
    }
    if !secrets_match(&presented, &expected) {
        return Err(AppError::Csrf(
            "The request's security token does not match your session.",
        ));
    }
    Ok(())
}

/// Refuses requests that the browser says come from another site.
fn check_origin(req: &ServiceRequest) -> Result<(), AppError> {
    const CROSS_SITE: &str = "The request came from another site.";
    if let Some(site) = req.headers().get("sec-fetch-site") {
        let site = site.to_str().unwrap_or_default();
        if site == "cross-site" || site == "same-site" {
            return Err(AppError::Csrf(CROSS_SITE));
        }
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let info = req.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host());
    let public = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.config.public_url.origin().ascii_serialization());
    if origin.eq_ignore_ascii_case(&own) || public.as_deref() == Some(origin) {
        Ok(())
    } else {
        Err(AppError::Csrf(CROSS_SITE))
    }
}

/// Reads the `csrf_token` field of a form body (URL-encoded or multipart), and puts the body back
/// for the handler.
async fn token_from_body(req: &mut ServiceRequest) -> Result<String, AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type.starts_with("multipart/form-data") {
        return token_from_multipart(req).await;
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Ok(String::new());
    }
    let body = req.extract::<web::Bytes>().await.map_err(|err| {
        if err.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest(format!("The request body could not be read: {err}"))
        }
    })?;
    let token = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == FORM_FIELD)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    req.set_payload(Payload::from(body));
    Ok(token)
}

/// The same for a multipart body (file uploads), read up to [`UPLOAD_LIMIT`].
async fn token_from_multipart(req: &mut ServiceRequest) -> Result<String, AppError> {
    let mut payload = req.extract::<web::Payload>().await.map_err(|err| {
        AppError::BadRequest(format!("The request body could not be read: {err}"))
    })?;
    let unreadable = |err: actix_web::error::PayloadError| {
        AppError::BadRequest(format!("The request body could not be read: {err}"))
    };
    let mut body = web::BytesMut::new();
    let mut too_large = false;
    let mut received = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(unreadable)?;
        received += chunk.len();
        if received > UPLOAD_LIMIT {
            // keep reading (and dropping) a while, so the browser gets to see the answer instead of
            // a connection reset in the middle of its upload
            too_large = true;
            if received > DRAIN_LIMIT {
                break;
            }
            continue;
        }
        body.extend_from_slice(&chunk);
    }
    if too_large {
        return Err(AppError::UploadTooLarge);
    }
    let body = body.freeze();
    let stream: Payload = Payload::from(body.clone());
    let mut parts = actix_multipart::Multipart::new(req.headers(), stream);
    let mut token = String::new();
    while let Some(field) = parts.next().await {
        let Ok(mut field) = field else { break };
        let is_token = field.name() == Some(FORM_FIELD);
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            let Ok(chunk) = chunk else { break };
            if is_token {
                value.extend_from_slice(&chunk);
            }
        }
        if is_token {
            token = String::from_utf8_lossy(&value).into_owned();
            break;
        }
    }
    req.set_payload(Payload::from(body));
    Ok(token)
}
