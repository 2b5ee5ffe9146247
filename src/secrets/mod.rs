//! Secrets, free of everything else in the crate: password hashes, random tokens, constant-time
//! comparison and SHA-256 digests. The models and the domain both use them, so they sit below both.

pub mod password;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

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

/// The SHA-256 of a text, as 64 lowercase hex digits: how tokens and session keys are stored.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
