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
