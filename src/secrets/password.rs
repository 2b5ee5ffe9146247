//! Argon2id password hashes (OWASP parameters m=19456 KiB, t=2, p=1), as PHC strings.
//!
//! Hashing takes tens of milliseconds on purpose: call these from `web::block`, never on an async worker.

use anyhow::Context;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// At most this many hashes or verifications run at once in the process: each takes 19 MiB and a
/// core for tens of milliseconds, so a burst of logins waits its turn instead of taking the memory
/// and the cores of everything else (docs/architecture.md, "Memory").
pub const CONCURRENT_HASHES: usize = 2;

static RUNNING: std::sync::Mutex<usize> = std::sync::Mutex::new(0);
static FREED: std::sync::Condvar = std::sync::Condvar::new();

/// Runs `f` when fewer than [`CONCURRENT_HASHES`] others run.
fn in_turn<T>(f: impl FnOnce() -> T) -> T {
    struct Slot;
    impl Drop for Slot {
        fn drop(&mut self) {
            let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
            *running -= 1;
            FREED.notify_one();
        }
    }
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    while *running >= CONCURRENT_HASHES {
        running = FREED.wait(running).unwrap_or_else(|e| e.into_inner());
    }
    *running += 1;
    drop(running);
    let _slot = Slot;
    f()
}

fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(19_456, 2, 1, None).context("argon2 parameters")?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with a fresh random salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let hasher = hasher()?;
    let hash = in_turn(|| hasher.hash_password(password.as_bytes()))
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string. An unusable or malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match hasher() {
        Ok(argon2) => in_turn(|| argon2.verify_password(password.as_bytes(), stored).is_ok()),
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

    #[test]
    fn no_more_than_two_hashes_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static INSIDE: AtomicUsize = AtomicUsize::new(0);
        static MOST: AtomicUsize = AtomicUsize::new(0);
        let threads: Vec<_> = (0..6)
            .map(|_| {
                std::thread::spawn(|| {
                    in_turn(|| {
                        let now = INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
                        MOST.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(30));
                        INSIDE.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(MOST.load(Ordering::SeqCst), CONCURRENT_HASHES);
    }
}
