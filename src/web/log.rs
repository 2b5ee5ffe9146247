//! One log line per request: method, route, status, latency. The route is the pattern the request
//! matched (`/accept/{member_id}/{token}/`), not its path, so the secrets some paths carry
//! (invitation and reset links) never reach the log; a path that matched no route is logged as it
//! came.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

/// The middleware (`middleware::from_fn(log::log_request)`), outermost.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let result = next.call(req).await;
    let latency_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    match &result {
        // the fields are worked out only when the line is written (the level lets it through)
        Ok(res) => tracing::info!(
            method = %method,
            path = %route_of(res.request()),
            status = res.status().as_u16(),
            latency_ms,
            "request"
        ),
        Err(err) => tracing::warn!(
            method = %method,
            path = "(no route)",
            status = err.as_response_error().status_code().as_u16(),
            latency_ms,
            error = %err,
            "request"
        ),
    }
    result
}

/// The pattern the request matched, or its path when it matched none.
fn route_of(req: &actix_web::HttpRequest) -> String {
    req.match_pattern().unwrap_or_else(|| req.path().to_owned())
}
