//! Argon2id password hashes (OWASP parameters m=19456 KiB, t=2, p=1), as PHC strings.
//!
//! Hashing takes tens of milliseconds on purpose: call these from `web::block`, never on an async worker.

use anyhow::Context;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(19_456, 2, 1, None).context("argon2 parameters")?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with a fresh random salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let hash = hasher()?
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string. An unusable or malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match hasher() {
        Ok(argon2) => argon2.verify_password(password.as_bytes(), stored).is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification without a user, so an unknown username answers as slowly as
/// a wrong password.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("dummy password for timing").unwrap_or_default());
    let _ = verify(password, stored);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_no_other() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse", &stored));
        assert!(!verify("wrong horse", &stored));
        assert!(!verify("correct horse", "!"));
    }
}
