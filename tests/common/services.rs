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

/// The Python of the `target/clients` virtualenv, with Sentry's Relay library (`sentry-relay`,
/// `tests/clients/requirements.txt`) importable: `ORGSETTINGS_CLIENTS_PYTHON`, or the one `.ci/run`
/// installs.
pub fn relay_python() -> Option<std::path::PathBuf> {
    let path = match std::env::var_os("ORGSETTINGS_CLIENTS_PYTHON") {
        Some(path) => std::path::PathBuf::from(path),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/clients/bin/python"),
    };
    let importable = path.is_file()
        && std::process::Command::new(&path)
            .args(["-c", "import sentry_relay"])
            .output()
            .is_ok_and(|out| out.status.success());
    if importable {
        Some(path)
    } else {
        skip(
            "sentry-relay",
            &format!("no Python with sentry_relay at {}", path.display()),
        );
        None
    }
}

/// Runs `tests/clients/relay.py` with these arguments; its JSON answer.
pub async fn relay_client(python: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/relay.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .await
        .expect("run tests/clients/relay.py");
    assert!(
        output.status.success(),
        "relay.py {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "relay.py {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
