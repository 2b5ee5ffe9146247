//! Relay's wire formats, as `relay-auth` defines them (docs/relay-registration.md): signatures over
//! a request body with a timestamped header, and the challenge token the upstream signs with its
//! own secret. Free of HTTP and of the database.
//!
//! Messages are Relay's `UnpackError` texts, which Sentry passes on as the answer's `detail`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::Verifier;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha512;

pub const ERR_BAD_SIGNATURE: &str = "invalid signature on data";
pub const ERR_BAD_ENCODING: &str = "bad key encoding";
pub const ERR_BAD_PAYLOAD: &str = "could not deserialize payload";
pub const ERR_SIGNATURE_EXPIRED: &str = "signature is too old";

/// Why signed data was refused (Relay's `UnpackError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unpack {
    BadSignature,
    BadEncoding,
    BadPayload,
    Expired,
}

impl Unpack {
    pub fn message(self) -> &'static str {
        match self {
            Unpack::BadSignature => ERR_BAD_SIGNATURE,
            Unpack::BadEncoding => ERR_BAD_ENCODING,
            Unpack::BadPayload => ERR_BAD_PAYLOAD,
            Unpack::Expired => ERR_SIGNATURE_EXPIRED,
        }
    }
}

/// A relay's Ed25519 public key: 32 bytes, base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    text: String,
    key: ed25519_dalek::VerifyingKey,
}

impl PublicKey {
    pub fn parse(text: &str) -> Option<PublicKey> {
        let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(text).ok()?.try_into().ok()?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()?;
        Some(PublicKey {
            text: text.to_owned(),
            key,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Checks `signature` (`{signature}.{header}`, Relay's `SecretKey::sign`) over `data` and that
    /// its header's timestamp is at most `max_age` seconds away from `now`, either way. A header
    /// without a timestamp is refused (Relay would accept it forever).
    pub fn verify(
        &self,
        data: &[u8],
        signature: &str,
        max_age: i64,
        now: DateTime<Utc>,
    ) -> Result<(), Unpack> {
        let (sig, header) = signature.split_once('.').ok_or(Unpack::BadSignature)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| Unpack::BadSignature)?;
        let sig = ed25519_dalek::Signature::from_slice(&sig).map_err(|_| Unpack::BadSignature)?;
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| Unpack::BadSignature)?;
        let mut signed = Vec::with_capacity(header.len() + 1 + data.len());
        signed.extend_from_slice(&header);
        signed.push(0);
        signed.extend_from_slice(data);
        self.key
            .verify(&signed, &sig)
            .map_err(|_| Unpack::BadSignature)?;
        let header: SignatureHeader =
            serde_json::from_slice(&header).map_err(|_| Unpack::BadSignature)?;
        let signed_at = header
            .t
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .ok_or(Unpack::Expired)?
            .with_timezone(&Utc);
        if (now - signed_at).num_seconds().abs() > max_age {
            return Err(Unpack::Expired);
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct SignatureHeader {
    t: Option<String>,
}

/// What the challenge token carries from the challenge to the response (Relay's `RegisterState`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegisterState {
    pub timestamp: i64,
    pub relay_id: String,
    pub public_key: String,
    pub rand: String,
}

type HmacSha512 = Hmac<Sha512>;

/// The MAC keyed with `secret`; `None` only if the key were refused (HMAC takes any length).
fn mac(secret: &[u8]) -> Option<HmacSha512> {
    HmacSha512::new_from_slice(secret).ok()
}

/// A new state for `relay_id` and `public_key` at `now`, with 64 random bytes.
pub fn new_state(relay_id: &str, public_key: &PublicKey, now: DateTime<Utc>) -> RegisterState {
    let mut rand = [0u8; 64];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut rand);
    RegisterState {
        timestamp: now.timestamp(),
        relay_id: relay_id.to_owned(),
        public_key: public_key.as_str().to_owned(),
        rand: URL_SAFE_NO_PAD.encode(rand),
    }
}

/// The challenge token: `{base64url(state JSON)}:{base64url(HMAC-SHA512(secret, first part))}`;
/// `None` if it cannot be made (neither step fails for a state of strings and a number).
pub fn sign_state(state: &RegisterState, secret: &[u8]) -> Option<String> {
    let json = serde_json::to_string(state).ok()?;
    let token = URL_SAFE_NO_PAD.encode(json.as_bytes());
    let mut mac = mac(secret)?;
    mac.update(token.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    Some(format!("{token}:{signature}"))
}

/// The state of a token this instance signed, at most `max_age` seconds old.
pub fn unpack_state(
    signed: &str,
    secret: &[u8],
    max_age: i64,
    now: DateTime<Utc>,
) -> Result<RegisterState, Unpack> {
    let (token, signature) = signed.split_once(':').unwrap_or((signed, ""));
    let code = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Unpack::BadEncoding)?;
    let mut mac = mac(secret).ok_or(Unpack::BadSignature)?;
    mac.update(token.as_bytes());
    mac.verify_slice(&code).map_err(|_| Unpack::BadSignature)?;
    let json = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| Unpack::BadEncoding)?;
    let state: RegisterState = serde_json::from_slice(&json).map_err(|_| Unpack::BadPayload)?;
    if state.timestamp + max_age < now.timestamp() {
        return Err(Unpack::Expired);
    }
    Ok(state)
}

/// Whether `text` is a relay id as Sentry's serializer takes it: a lowercase UUID.
pub fn is_relay_id(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, len)| {
            group.len() == len
                && group
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
}

/// Relay's version check: a version is supported when it parses (`MAJOR.MINOR.PATCH`, with
/// anything after a `-` ignored) and is not older than the oldest supported, which Relay sets to
/// 0.0.0; an absent version is a legacy Relay and supported.
pub fn is_version_supported(version: Option<&str>) -> bool {
    let Some(version) = version.filter(|v| !v.is_empty()) else {
        return true;
    };
    let mut parts = version.split(['.', '-']).map(|p| p.parse::<u8>());
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(Ok(_)), Some(Ok(_)), Some(Ok(_)))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;

    fn signer() -> (ed25519_dalek::SigningKey, PublicKey) {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let public = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
        (key, PublicKey::parse(&public).unwrap())
    }

    fn sign(key: &ed25519_dalek::SigningKey, data: &[u8], header: &str) -> String {
        let mut signed = header.as_bytes().to_vec();
        signed.push(0);
        signed.extend_from_slice(data);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(key.sign(&signed).to_bytes()),
            URL_SAFE_NO_PAD.encode(header)
        )
    }

    #[test]
    fn a_signature_verifies_for_its_data_and_time_only() {
        let (key, public) = signer();
        let now = Utc::now();
        let header = format!("{{\"t\":\"{}\"}}", now.to_rfc3339());
        let sig = sign(&key, b"body", &header);
        assert_eq!(public.verify(b"body", &sig, 60, now), Ok(()));
        assert_eq!(
            public.verify(b"other", &sig, 60, now),
            Err(Unpack::BadSignature)
        );
        let later = now + chrono::Duration::seconds(61);
        assert_eq!(
            public.verify(b"body", &sig, 60, later),
            Err(Unpack::Expired)
        );
        let earlier = now - chrono::Duration::seconds(61);
        assert_eq!(
            public.verify(b"body", &sig, 60, earlier),
            Err(Unpack::Expired)
        );
        let untimed = sign(&key, b"body", "{}");
        assert_eq!(
            public.verify(b"body", &untimed, 60, now),
            Err(Unpack::Expired)
        );
        assert_eq!(
            public.verify(b"body", "garbage", 60, now),
            Err(Unpack::BadSignature)
        );
    }

    #[test]
    fn a_state_unpacks_with_its_secret_within_its_age_only() {
        let (_, public) = signer();
        let now = Utc::now();
        let state = new_state("67f400f9-7924-40c4-82a3-3fdb25b6d820", &public, now);
        let token = sign_state(&state, b"secret").unwrap();
        assert_eq!(unpack_state(&token, b"secret", 60, now), Ok(state));
        assert_eq!(
            unpack_state(&token, b"another", 60, now),
            Err(Unpack::BadSignature)
        );
        let later = now + chrono::Duration::seconds(61);
        assert_eq!(
            unpack_state(&token, b"secret", 60, later),
            Err(Unpack::Expired)
        );
        assert_eq!(
            unpack_state("a:!!", b"secret", 60, now),
            Err(Unpack::BadEncoding)
        );
    }

    #[test]
    fn relay_ids_are_lowercase_uuids_and_versions_parse() {
        assert!(is_relay_id("67f400f9-7924-40c4-82a3-3fdb25b6d820"));
        assert!(!is_relay_id("67F400F9-7924-40C4-82A3-3FDB25B6D820"));
        assert!(!is_relay_id("67f400f9792440c482a33fdb25b6d820"));
        assert!(is_version_supported(Some("24.1.0")));
        assert!(is_version_supported(Some("21.4.1-beta")));
        assert!(is_version_supported(None));
        assert!(!is_version_supported(Some("garbage")));
        assert!(!is_version_supported(Some("1.2")));
    }
}
