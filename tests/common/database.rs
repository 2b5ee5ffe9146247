//! A fresh database per test, and a snapshot of everything a request could change.

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use orgsettings::db::{self, DatabaseUrl, Pool};

use super::Backend;
use super::app::TestApp;
use super::services::{pg_admin_url, skip};

/// A fresh database for one test; removed when dropped.
pub enum TestDb {
    Sqlite {
        dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

static PG_COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// `None` (after SKIP) when PostgreSQL is not reachable.
    pub fn create(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Some(TestDb::Sqlite { dir, url })
            }
            Backend::Postgres => {
                let admin_url = pg_admin_url();
                let mut admin = match PgConnection::establish(&admin_url) {
                    Ok(conn) => conn,
                    Err(err) => {
                        skip("PostgreSQL", &format!("{admin_url}: {err}"));
                        return None;
                    }
                };
                let name = format!(
                    "orgsettings_test_{}_{}_{}",
                    std::process::id(),
                    PG_COUNTER.fetch_add(1, Ordering::SeqCst),
                    rand_suffix()
                );
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .expect("create test database");
                let mut url = url::Url::parse(&admin_url).expect("PG URL");
                url.set_path(&name);
                Some(TestDb::Postgres {
                    admin_url,
                    name,
                    url: url.to_string(),
                })
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            TestDb::Sqlite { .. } => Backend::Sqlite,
            TestDb::Postgres { .. } => Backend::Postgres,
        }
    }

    /// A migrated pool on this database.
    pub fn pool(&self) -> Pool {
        let url = DatabaseUrl::parse(self.url()).expect("test database URL");
        let pool = db::connect(&url, 8).expect("connect to the test database");
        db::migrate(&pool, &url).expect("migrate the test database");
        pool
    }

    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match self {
            TestDb::Sqlite { dir, .. } => Some(dir.path()),
            TestDb::Postgres { .. } => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:x}")
}

/// Everything a request could change that matters, as text rows per table: the state before and
/// after a refused request must be equal. Sessions, rate-limit events and last-login times are left
/// out (they change on every attempt by design).
pub async fn snapshot(app: &TestApp) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    const TABLES: &[(&str, &str)] = &[
        (
            "users",
            "username, name, email, password_hash, is_active, is_superuser, session_version",
        ),
        (
            "user_emails",
            "user_id, email, is_verified, validation_hash",
        ),
        ("user_permissions", "user_id, permission"),
        (
            "organizations",
            "name, slug, status, flags, default_role, deletion_scheduled_at",
        ),
        (
            "organization_members",
            "organization_id, user_id, email, role, token, token_expires_at",
        ),
        ("organization_options", "organization_id, key, value"),
        ("organization_slug_redirects", "slug, organization_id"),
        ("files", "name, size"),
        (
            "organization_avatars",
            "organization_id, avatar_type, file_id, ident",
        ),
        (
            "audit_log_entries",
            "organization_id, actor_label, event, data",
        ),
        ("instance_audit_entries", "actor_label, event, data"),
        ("authenticators", "user_id, kind, config, last_step"),
        ("emails", "to_address, subject, kind"),
        ("jobs", "kind, organization_id, finished_at"),
        ("setup_tokens", "token"),
    ];
    app.with_db(|conn| {
        let mut rows = Vec::new();
        for (table, columns) in TABLES {
            let concat = columns
                .split(", ")
                .map(|c| format!("COALESCE(CAST({c} AS TEXT), '∅')"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let query = format!(
                "SELECT CAST(id AS TEXT) || ':' || {concat} AS row FROM {table} ORDER BY id"
            );
            let found: Vec<Row> = diesel::sql_query(query).load(conn).expect("snapshot");
            rows.extend(found.into_iter().map(|r| format!("{table} {}", r.row)));
        }
        rows
    })
    .await
}
