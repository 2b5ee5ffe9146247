//! Relay's endpoints (docs/relay-registration.md): `POST /api/0/relays/register/challenge/`,
//! `…/register/response/` and `…/publickeys/`, authenticated by the relay's signature (no session,
//! no CSRF token), and `GET /api/0/organizations/{org}/relay_usage/`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{ApiAccess, OrgRead};
use super::error::ApiError;
use super::serialize::iso;
use crate::config::Feature;
use crate::relay::{self, Refusal, SignedRequest};
use crate::web::state::AppState;

/// A relay's request body may be this large (a registration is a few hundred bytes; a
/// `publickeys` request of 1 000 ids about 40 KiB).
pub const RELAY_BODY_LIMIT: usize = 64 * 1024;

const RELAY_ID: &str = "x-sentry-relay-id";
const RELAY_SIGNATURE: &str = "x-sentry-relay-signature";

/// The request as the domain takes it: its relay headers and body.
struct Relayed {
    relay_id: Option<String>,
    signature: Option<String>,
    body: web::Bytes,
}

impl Relayed {
    async fn read(req: &HttpRequest, payload: web::Payload) -> Result<Relayed, ApiError> {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let body = payload
            .to_bytes_limited(RELAY_BODY_LIMIT)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?
            .map_err(|e| {
                ApiError::BadRequest(format!("The request body could not be read: {e}"))
            })?;
        Ok(Relayed {
            relay_id: header(RELAY_ID),
            signature: header(RELAY_SIGNATURE),
            body,
        })
    }

    fn signed(&self) -> SignedRequest<'_> {
        SignedRequest {
            relay_id: self.relay_id.as_deref(),
            signature: self.signature.as_deref(),
            body: &self.body,
        }
    }
}

fn answer(result: Result<Value, Refusal>) -> Result<HttpResponse, ApiError> {
    match result {
        Ok(body) => Ok(HttpResponse::Ok().json(body)),
        Err(Refusal::Invalid(errors)) => Err(ApiError::Invalid(errors)),
        Err(Refusal::BadRequest(detail)) => Err(ApiError::Detail(StatusCode::BAD_REQUEST, detail)),
        Err(Refusal::Unauthorized(detail)) => {
            Err(ApiError::Detail(StatusCode::UNAUTHORIZED, detail))
        }
        Err(Refusal::Forbidden(detail)) => Err(ApiError::Detail(StatusCode::FORBIDDEN, detail)),
    }
}

/// One of the domain's relay steps, as the three endpoints call them.
type Step = fn(
    &mut crate::db::AnyConnection,
    &relay::RelaySettings,
    &SignedRequest<'_>,
    chrono::DateTime<chrono::Utc>,
) -> diesel::QueryResult<Result<Value, Refusal>>;

/// Reads the relay's request and runs `step` on it on the blocking pool.
async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
    step: Step,
) -> Result<HttpResponse, ApiError> {
    let relayed = Relayed::read(&req, payload).await?;
    let settings = state.config.relay.clone();
    let result = state
        .db(move |conn| step(conn, &settings, &relayed.signed(), chrono::Utc::now()))
        .await?;
    answer(result)
}

pub async fn register_challenge(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    handle(state, req, payload, relay::register_challenge).await
}

pub async fn register_response(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    handle(state, req, payload, relay::register_response).await
}

pub async fn public_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    handle(state, req, payload, relay::public_keys).await
}

/// `GET /api/0/organizations/{org}/relay_usage/`: the registrations of the organization's trusted
/// keys, newest first; 404 without the `organizations:relay` feature.
pub async fn usage(
    state: web::Data<AppState>,
    access: ApiAccess<OrgRead>,
) -> Result<HttpResponse, ApiError> {
    if !state.config.features.has(Feature::Relay) {
        return Err(ApiError::NotFound);
    }
    let org_id = access.access.org.id;
    let rows = state
        .db(move |conn| relay::usage_for_organization(conn, org_id))
        .await?;
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            json!({
                "relayId": row.relay_id,
                "version": row.version,
                "firstSeen": iso(row.first_seen),
                "lastSeen": iso(row.last_seen),
                "publicKey": row.public_key,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(rows))
}
