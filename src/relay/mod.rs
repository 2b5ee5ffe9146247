//! Relay registration, free of HTTP (Sentry's `api/endpoints/relay/` and `RelayAuthentication`;
//! docs/relay-registration.md): the challenge and response of the handshake, the signed requests of
//! a registered relay, the public keys it may ask for, and the usage the Relays page shows.
//!
//! Every refusal is Sentry's answer (status and `detail`), and none writes anything.

pub mod auth;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use serde_json::{Map, Value, json};

pub use crate::config::RelayConfig as RelaySettings;
use crate::db::{AnyConnection, write_tx};
use crate::errors::FieldErrors;
use crate::models::relay;
use auth::{PublicKey, Unpack};

/// A signature on the handshake may be this old (Relay's `create_register_challenge` and
/// `validate_register_response` default), and so may the challenge token.
pub const REGISTER_MAX_AGE: i64 = 60;
/// A registered relay's signed request may be this old (Sentry's `RelayAuthentication`).
pub const REQUEST_MAX_AGE: i64 = 300;
/// At most this many relay ids per `publickeys` request.
pub const MAX_RELAY_IDS: usize = 1000;

pub const ERR_NO_JSON: &str = "No valid json body";
pub const ERR_VERSION: &str =
    "Relay version no longer supported, please upgrade to a more recent version";
pub const ERR_MISSING_KEY: &str = "Missing public key";
pub const ERR_NOT_ALLOWED: &str = "Relay is not allowed to register";
pub const ERR_MISSING_SIGNATURE: &str = "Missing relay signature";
pub const ERR_ID_MISMATCH: &str = "relay_id in payload did not match header";
pub const ERR_OTHER_KEY: &str = "Attempted to register agent with a different public key";
pub const ERR_CHALLENGE_EXPIRED: &str = "Challenge expired";
pub const ERR_CHALLENGE_USED: &str = "Challenge already answered";
pub const ERR_UNKNOWN_RELAY: &str = "Unknown relay";
pub const ERR_INVALID_SIGNATURE: &str = "Invalid relay signature";
pub const ERR_NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";
const ERR_ID_PATTERN: &str = "This value does not match the required pattern.";

/// A relay's request: its headers and body as sent.
pub struct SignedRequest<'a> {
    pub relay_id: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// Sentry's answer to a refused relay request.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    /// 400 with the serializer's field errors.
    Invalid(FieldErrors),
    /// 400 `{"detail": …}`.
    BadRequest(String),
    /// 401 `{"detail": …}`.
    Unauthorized(String),
    /// 403 `{"detail": …}`.
    Forbidden(String),
}

/// The first line of a Relay error, as Sentry shows it.
fn unpack_refusal(err: Unpack) -> Refusal {
    Refusal::BadRequest(err.message().to_owned())
}

/// The register response's answer to a Relay error: an expired token or signature is Sentry's
/// 401 `Challenge expired`, the others as [`unpack_refusal`].
fn response_refusal(err: Unpack) -> Refusal {
    match err {
        Unpack::Expired => Refusal::Unauthorized(ERR_CHALLENGE_EXPIRED.into()),
        other => unpack_refusal(other),
    }
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        // DRF's serializer then refuses a body that is not an object
        Ok(other) => Err(Refusal::Invalid(FieldErrors::single(
            "non_field_errors",
            format!(
                "Invalid data. Expected a dictionary, but got {}.",
                crate::drf::python_type_name(&other)
            ),
        ))),
        Err(_) => Err(Refusal::BadRequest(ERR_NO_JSON.into())),
    }
}

/// `RelayIdSerializer`'s `relay_id` and the other required text fields.
fn check_fields(body: &Map<String, Value>, extra: &[(&str, Option<usize>)]) -> Result<(), Refusal> {
    let mut errors = FieldErrors::new();
    match body.get("relay_id") {
        None => errors.add("relay_id", crate::drf::REQUIRED),
        Some(value) => {
            if let Some(id) = errors.take("relay_id", crate::drf::string(value, false, None))
                && !auth::is_relay_id(&id)
            {
                errors.add("relay_id", ERR_ID_PATTERN);
            }
        }
    }
    for (field, max_len) in extra {
        match body.get(*field) {
            None => errors.add(field, crate::drf::REQUIRED),
            Some(value) => {
                errors.take(field, crate::drf::string(value, false, *max_len));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Invalid(errors))
    }
}

/// The registered or static relay with this id, and whether it is static.
fn relay_from_id(
    conn: &mut AnyConnection,
    settings: &RelaySettings,
    relay_id: &str,
) -> QueryResult<Option<(String, bool, bool)>> {
    if let Some(found) = settings.static_relays.get(relay_id) {
        return Ok(Some((found.public_key.clone(), found.internal, true)));
    }
    Ok(relay::find(conn, relay_id)?.map(|r| (r.public_key, r.is_internal, false)))
}

/// Whether some organization lists this key among its trusted relays.
fn key_is_trusted(conn: &mut AnyConnection, public_key: &str) -> QueryResult<bool> {
    crate::settings::relays::trusted_anywhere(conn, public_key)
}

/// `POST /api/0/relays/register/challenge/`: checks the relay's self-signed request and answers
/// `{"relay_id", "token"}`, the token to sign back within [`REGISTER_MAX_AGE`] seconds.
pub fn register_challenge(
    conn: &mut AnyConnection,
    settings: &RelaySettings,
    request: &SignedRequest<'_>,
    now: DateTime<Utc>,
) -> QueryResult<Result<Value, Refusal>> {
    let body = match json_object(request.body) {
        Ok(body) => body,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if let Err(refusal) = check_fields(&body, &[("public_key", Some(64))]) {
        return Ok(Err(refusal));
    }
    if !auth::is_version_supported(body.get("version").and_then(Value::as_str)) {
        return Ok(Err(Refusal::Forbidden(ERR_VERSION.into())));
    }
    let Some(key_text) = body.get("public_key").and_then(Value::as_str) else {
        return Ok(Err(Refusal::BadRequest(ERR_MISSING_KEY.into())));
    };
    let is_static = request
        .relay_id
        .is_some_and(|id| settings.static_relays.contains_key(id));
    if !settings.open_registration && !is_static && !key_is_trusted(conn, key_text)? {
        return Ok(Err(Refusal::Forbidden(ERR_NOT_ALLOWED.into())));
    }
    let Some(signature) = request.signature else {
        return Ok(Err(Refusal::BadRequest(ERR_MISSING_SIGNATURE.into())));
    };
    // Relay's `RegisterRequest::bootstrap_unpack`: the body is signed by the key it carries
    let Some(public_key) = PublicKey::parse(key_text) else {
        return Ok(Err(unpack_refusal(Unpack::BadPayload)));
    };
    if let Err(err) = public_key.verify(request.body, signature, REGISTER_MAX_AGE, now) {
        return Ok(Err(unpack_refusal(err)));
    }
    let relay_id = body
        .get("relay_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if Some(relay_id) != request.relay_id {
        return Ok(Err(Refusal::BadRequest(ERR_ID_MISMATCH.into())));
    }
    if let Some((known_key, _, _)) = relay_from_id(conn, settings, relay_id)?
        && known_key != key_text
    {
        return Ok(Err(Refusal::BadRequest(ERR_OTHER_KEY.into())));
    }
    let state = auth::new_state(relay_id, &public_key, now);
    let token = auth::sign_state(&state, &settings.secret).ok_or_else(|| {
        diesel::result::Error::SerializationError("the challenge token could not be made".into())
    })?;
    Ok(Ok(json!({ "relay_id": relay_id, "token": token })))
}

/// `POST /api/0/relays/register/response/`: checks the signed answer to a challenge, records the
/// registration (the relay and its usage for this version) and answers `{"relay_id"}`.
pub fn register_response(
    conn: &mut AnyConnection,
    settings: &RelaySettings,
    request: &SignedRequest<'_>,
    now: DateTime<Utc>,
) -> QueryResult<Result<Value, Refusal>> {
    let body = match json_object(request.body) {
        Ok(body) => body,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if let Err(refusal) = check_fields(&body, &[("token", None)]) {
        return Ok(Err(refusal));
    }
    let Some(signature) = request.signature else {
        return Ok(Err(Refusal::BadRequest(ERR_MISSING_SIGNATURE.into())));
    };
    let token = body
        .get("token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let state = match auth::unpack_state(token, &settings.secret, REGISTER_MAX_AGE, now) {
        Ok(state) => state,
        Err(err) => return Ok(Err(response_refusal(err))),
    };
    let Some(public_key) = PublicKey::parse(&state.public_key) else {
        return Ok(Err(unpack_refusal(Unpack::BadPayload)));
    };
    if let Err(err) = public_key.verify(request.body, signature, REGISTER_MAX_AGE, now) {
        return Ok(Err(response_refusal(err)));
    }
    let relay_id = body
        .get("relay_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // the token was made for one relay id: answering it for another is refused too
    if Some(relay_id) != request.relay_id || relay_id != state.relay_id {
        return Ok(Err(Refusal::BadRequest(ERR_ID_MISMATCH.into())));
    }
    let version = match body.get("version") {
        Some(Value::String(version)) if !version.is_empty() => version.clone(),
        _ => "0.0.0".to_owned(),
    };
    if !auth::is_version_supported(Some(&version)) || version.chars().count() > 32 {
        return Ok(Err(Refusal::Forbidden(ERR_VERSION.into())));
    }
    let known = relay_from_id(conn, settings, relay_id)?;
    if let Some((known_key, _, _)) = &known
        && known_key != public_key.as_str()
    {
        return Ok(Err(Refusal::BadRequest(ERR_OTHER_KEY.into())));
    }
    let expires = (now + chrono::Duration::seconds(REGISTER_MAX_AGE * 2)).naive_utc();
    let static_relay = known.is_some_and(|(_, _, is_static)| is_static);
    let now = crate::db::query::now();
    let answered = write_tx(conn, |conn| -> QueryResult<bool> {
        if !relay::use_challenge(conn, &state.rand, expires)? {
            return Ok(false);
        }
        // static relays need no row and leave no usage (Sentry's `relay_from_id`)
        if !static_relay {
            relay::upsert(conn, relay_id, public_key.as_str(), false, now)?;
            relay::record_usage(conn, relay_id, &version, public_key.as_str(), now)?;
        }
        Ok(true)
    })?;
    if !answered {
        return Ok(Err(Refusal::BadRequest(ERR_CHALLENGE_USED.into())));
    }
    Ok(Ok(json!({ "relay_id": relay_id })))
}

/// A relay whose signed request was accepted, and the JSON it sent.
#[derive(Debug)]
pub struct Caller {
    pub relay_id: String,
    pub internal: bool,
    pub body: Value,
}

/// Sentry's `RelayAuthentication`: a known relay (registered or static) whose signature over the
/// body is at most [`REQUEST_MAX_AGE`] seconds old.
pub fn authenticate(
    conn: &mut AnyConnection,
    settings: &RelaySettings,
    request: &SignedRequest<'_>,
    now: DateTime<Utc>,
) -> QueryResult<Result<Caller, Refusal>> {
    let Some(relay_id) = request.relay_id else {
        return Ok(Err(Refusal::Unauthorized(ERR_NOT_AUTHENTICATED.into())));
    };
    let Some(signature) = request.signature else {
        return Ok(Err(Refusal::Unauthorized(ERR_MISSING_SIGNATURE.into())));
    };
    let Some((key, internal, _)) = relay_from_id(conn, settings, relay_id)? else {
        return Ok(Err(Refusal::Unauthorized(ERR_UNKNOWN_RELAY.into())));
    };
    let verified = PublicKey::parse(&key)
        .map(|key| key.verify(request.body, signature, REQUEST_MAX_AGE, now))
        .unwrap_or(Err(Unpack::BadEncoding));
    let body = match (verified, serde_json::from_slice::<Value>(request.body)) {
        (Ok(()), Ok(body)) => body,
        _ => return Ok(Err(Refusal::Unauthorized(ERR_INVALID_SIGNATURE.into()))),
    };
    Ok(Ok(Caller {
        relay_id: relay_id.to_owned(),
        internal,
        body,
    }))
}

/// `POST /api/0/relays/publickeys/`, for an [`authenticate`]d relay: for each id in `relay_ids`, the relay's key (`public_keys`,
/// the legacy answer) and `{"publicKey", "internal"}` (`relays`), `null` for unknown ids;
/// `internal` is shown only to internal relays.
pub fn public_keys(
    conn: &mut AnyConnection,
    settings: &RelaySettings,
    request: &SignedRequest<'_>,
    now: DateTime<Utc>,
) -> QueryResult<Result<Value, Refusal>> {
    let caller = match authenticate(conn, settings, request, now)? {
        Ok(caller) => caller,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let ids: Vec<String> = match caller.body.get("relay_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) if ids.len() <= MAX_RELAY_IDS => ids
            .iter()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect(),
        Some(Value::Array(_)) => {
            return Ok(Err(Refusal::BadRequest(format!(
                "At most {MAX_RELAY_IDS} relay ids per request."
            ))));
        }
        Some(_) => return Ok(Err(Refusal::BadRequest("relay_ids must be a list.".into()))),
    };
    let mut legacy = Map::new();
    let mut relays = Map::new();
    for id in &ids {
        legacy.insert(id.clone(), Value::Null);
        relays.insert(id.clone(), Value::Null);
    }
    let mut found: Vec<(String, String, bool)> = relay::find_many(conn, &ids)?
        .into_iter()
        .map(|r| (r.relay_id, r.public_key, r.is_internal))
        .collect();
    found.extend(ids.iter().filter_map(|id| {
        settings
            .static_relays
            .get(id)
            .map(|s| (id.clone(), s.public_key.clone(), s.internal))
    }));
    for (id, key, internal) in found {
        legacy.insert(id.clone(), Value::from(key.clone()));
        relays.insert(
            id,
            json!({"publicKey": key, "internal": internal && caller.internal}),
        );
    }
    Ok(Ok(json!({"public_keys": legacy, "relays": relays})))
}

/// The registrations of the organization's trusted keys, newest first (Sentry's
/// `OrganizationRelayUsage`): relays that registered with a key the organization does not trust
/// are not among them.
pub fn usage_for_organization(
    conn: &mut AnyConnection,
    organization_id: i64,
) -> QueryResult<Vec<relay::RelayUsage>> {
    let keys: Vec<String> = trusted_keys(conn, organization_id)?;
    relay::usage_of_keys(conn, &keys)
}

fn trusted_keys(conn: &mut AnyConnection, organization_id: i64) -> QueryResult<Vec<String>> {
    let options = crate::models::option::OrgOptions::load(conn, organization_id)?;
    Ok(
        crate::settings::relays::stored_relays(options.get(crate::settings::relays::OPTION_KEY))
            .into_iter()
            .map(|relay| relay.public_key)
            .collect(),
    )
}

/// What the Relays page shows of one trusted key: the newest registration's version, when the key
/// was first and last used (`None`: it never registered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsage {
    pub version: String,
    pub first_used: chrono::NaiveDateTime,
    pub last_used: chrono::NaiveDateTime,
}

/// Per key among `keys` (an organization's trusted relays, as the caller read them), its usage, if
/// it registered.
pub fn usage_by_key(
    conn: &mut AnyConnection,
    keys: &[String],
) -> QueryResult<HashMap<String, KeyUsage>> {
    let mut by_key: HashMap<String, KeyUsage> = HashMap::new();
    // newest first: the first row of a key names its current version
    for row in relay::usage_of_keys(conn, keys)? {
        by_key
            .entry(row.public_key.clone())
            .and_modify(|usage| usage.first_used = usage.first_used.min(row.first_seen))
            .or_insert(KeyUsage {
                version: row.version,
                first_used: row.first_seen,
                last_used: row.last_seen,
            });
    }
    Ok(by_key)
}
