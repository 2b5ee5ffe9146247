//! Which services the tests can use, and what a missing one means.

pub fn require_services() -> bool {
    std::env::var("ORGSETTINGS_REQUIRE_SERVICES").as_deref() == Ok("1")
}

/// Says why a test cannot run: SKIP (pass) normally, a failure when services are required.
pub fn skip(what: &str, why: &str) {
    if require_services() {
        panic!("{what} is required (ORGSETTINGS_REQUIRE_SERVICES=1) but unavailable: {why}");
    }
    eprintln!("SKIP: {what} unavailable: {why}");
}

pub fn pg_admin_url() -> String {
    std::env::var("ORGSETTINGS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("ORGSETTINGS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The `sentry-cli` binary the client tests run: `ORGSETTINGS_SENTRY_CLI`, or the one `.ci/run`
/// installs from PyPI into the `target/clients` virtualenv (`tests/clients/requirements.txt`).
pub fn sentry_cli() -> Option<std::path::PathBuf> {
    let path = match std::env::var_os("ORGSETTINGS_SENTRY_CLI") {
        Some(path) => std::path::PathBuf::from(path),
        None => {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/clients/bin/sentry-cli")
        }
    };
    if path.is_file() {
        Some(path)
    } else {
        skip("sentry-cli", &format!("no binary at {}", path.display()));
        None
    }
}
