//! Test harness: the real app on a random port with a fresh database per test (a temporary SQLite
//! file, or a new PostgreSQL database), cookie-keeping browsers that do not follow redirects, and the
//! fixtures the tests share. By concern: `services` (which services are there), `database`
//! (`TestDb`, the snapshot of everything a request could change), `app` (`TestApp`), `visitor`
//! (`Visitor` and `Page`: requests, forms, HTML scraping), `fixtures` (users, organizations, codes,
//! emails), `images`.
//!
//! Services: PostgreSQL at `ORGSETTINGS_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! Redis at `ORGSETTINGS_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`). When one is missing the
//! test prints SKIP and passes, unless `ORGSETTINGS_REQUIRE_SERVICES=1`, which makes it fail.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod database;
pub mod fixtures;
pub mod images;
pub mod services;
pub mod visitor;

pub use app::{Options, SecondInstance, TestApp};
pub use database::{TestDb, snapshot};
pub use fixtures::*;
pub use orgsettings::db::Backend;
pub use services::{
    pg_admin_url, redis_url, relay_client, relay_python, require_services, sentry_cli, skip,
};
pub use visitor::{Edit, Page, Visitor, meta_csrf, unescape};

pub const PASSWORD: &str = "correct horse battery";

/// Runs each listed test, `async fn name(app: TestApp)`, once per backend: `name::sqlite` and
/// `name::postgres` (which passes, after SKIP, when PostgreSQL is not there). The tests are plain
/// functions, so rustfmt formats them.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite)
                        .await
                        .expect("SQLite is always available");
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) =
                        $crate::common::TestApp::spawn($crate::common::Backend::Postgres).await
                    {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

/// The same for plain (non-HTTP) tests, `fn name(db: TestDb)`.
#[macro_export]
macro_rules! db_test_on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name(
                        $crate::common::TestDb::create($crate::common::Backend::Sqlite)
                            .expect("SQLite"),
                    );
                }

                #[test]
                fn postgres() {
                    if let Some(db) =
                        $crate::common::TestDb::create($crate::common::Backend::Postgres)
                    {
                        super::$name(db);
                    }
                }
            }
        )*
    };
}
