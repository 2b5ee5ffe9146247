//! Authentication, free of HTTP: password hashing, the login check with its throttle, and random tokens.

pub mod login;
pub mod password;
pub mod throttle;
pub mod two_factor;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// 32 random bytes from the OS-seeded CSPRNG, URL-safe base64 (43 characters): CSRF tokens, setup links,
/// email verification hashes.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets in constant time (for equal lengths).
pub fn secrets_match(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
