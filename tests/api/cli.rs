//! The `orgsettings` binary: commands, messages, exit codes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use orgsettings::models::user::User;

use crate::common::{Backend, TestDb};
use crate::db_test_on_both_backends;

fn orgsettings(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orgsettings"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("ORGSETTINGS_LOG", "warn")
        .env_remove("ORGSETTINGS_PASSWORD")
        .output()
        .expect("run orgsettings")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

db_test_on_both_backends!(
    createuser_creates_a_user_who_is_found_by_username_and_email,
    createuser_refuses_a_taken_username_in_any_case_with_one_line_and_exit_1,
    createuser_refuses_bad_values_each_with_its_reason,
    createuser_with_org_and_role_adds_the_membership,
    createorg_names_an_unknown_or_ambiguous_owner,
    migrate_applies_the_migrations_once,
    setpassword_sets_a_password_ends_sessions_and_is_audited,
);

fn createuser_creates_a_user_who_is_found_by_username_and_email(db: TestDb) {
    let out = orgsettings(
        db.url(),
        &[
            "createuser",
            "--username",
            "Alice",
            "--email",
            "alice@example.com",
            "--password",
            "correct horse",
            "--superuser",
            "--email-verified",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "Created superuser `Alice` <alice@example.com>.\n"
    );
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    let found = User::find_by_login(&mut conn, "alice").unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].is_superuser);
    assert!(found[0].primary_email_verified(&mut conn).unwrap());
    assert!(orgsettings::secrets::password::verify(
        "correct horse",
        &found[0].password_hash
    ));
}

fn createuser_refuses_a_taken_username_in_any_case_with_one_line_and_exit_1(db: TestDb) {
    assert!(
        orgsettings(
            db.url(),
            &[
                "createuser",
                "--username",
                "alice",
                "--email",
                "a@example.com",
                "--password",
                "correct horse"
            ]
        )
        .status
        .success()
    );
    let out = orgsettings(
        db.url(),
        &[
            "createuser",
            "--username",
            "ALICE",
            "--email",
            "b@example.com",
            "--password",
            "correct horse",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "Error: username: A user with that username already exists.\n"
    );
}

fn createuser_refuses_bad_values_each_with_its_reason(db: TestDb) {
    let out = orgsettings(
        db.url(),
        &[
            "createuser",
            "--username",
            "a b",
            "--email",
            "nope",
            "--password",
            "short",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("Error: "), "{err}");
    assert!(err.contains("email: Enter a valid email address."), "{err}");
    assert!(
        err.contains("password: This password is too short."),
        "{err}"
    );
    assert!(err.contains("username: Enter a valid username"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

fn createuser_with_org_and_role_adds_the_membership(db: TestDb) {
    assert!(
        orgsettings(
            db.url(),
            &[
                "createuser",
                "--username",
                "owner",
                "--email",
                "o@example.com",
                "--password",
                "correct horse"
            ]
        )
        .status
        .success()
    );
    let org = orgsettings(
        db.url(),
        &[
            "createorg",
            "--name",
            "Acme Corp",
            "--owner",
            "O@example.com",
        ],
    );
    assert!(org.status.success(), "{}", stderr(&org));
    assert_eq!(
        stdout(&org),
        "Created organization `Acme Corp` (slug `acme-corp`), owned by `owner`.\n"
    );
    let out = orgsettings(
        db.url(),
        &[
            "createuser",
            "--username",
            "mgr",
            "--email",
            "m@example.com",
            "--password",
            "correct horse",
            "--org",
            "acme-corp",
            "--role",
            "manager",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "Created user `mgr` <m@example.com>, manager of `acme-corp`.\n"
    );
    let missing = orgsettings(
        db.url(),
        &[
            "createuser",
            "--username",
            "x1",
            "--email",
            "x@example.com",
            "--password",
            "correct horse",
            "--org",
            "nope",
            "--role",
            "member",
        ],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        stderr(&missing),
        "Error: org: no organization with the slug `nope`\n"
    );
    let retired = orgsettings(
        db.url(),
        &[
            "createuser",
            "--username",
            "x2",
            "--email",
            "y@example.com",
            "--password",
            "correct horse",
            "--org",
            "acme-corp",
            "--role",
            "admin",
        ],
    );
    assert_eq!(retired.status.code(), Some(1));
    assert!(stderr(&retired).contains("the admin role is retired"));
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    assert!(
        User::find_by_login(&mut conn, "x1").unwrap().is_empty(),
        "nothing created on failure"
    );
}

fn createorg_names_an_unknown_or_ambiguous_owner(db: TestDb) {
    let out = orgsettings(
        db.url(),
        &["createorg", "--name", "Acme", "--owner", "ghost"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "Error: No user matching `ghost`\n");
    for name in ["one", "two"] {
        assert!(
            orgsettings(
                db.url(),
                &[
                    "createuser",
                    "--username",
                    name,
                    "--email",
                    "shared@example.com",
                    "--password",
                    "correct horse"
                ]
            )
            .status
            .success()
        );
    }
    let out = orgsettings(
        db.url(),
        &[
            "createorg",
            "--name",
            "Acme",
            "--owner",
            "shared@example.com",
        ],
    );
    assert_eq!(
        stderr(&out),
        "Error: Found more than one user matching `shared@example.com`\n"
    );
    let taken_slug = orgsettings(
        db.url(),
        &[
            "createorg",
            "--name",
            "Acme",
            "--slug",
            "api",
            "--owner",
            "one",
        ],
    );
    assert_eq!(
        stderr(&taken_slug),
        "Error: slug: This slug \"api\" is reserved and not allowed.\n"
    );
}

fn migrate_applies_the_migrations_once(db: TestDb) {
    let first = orgsettings(db.url(), &["migrate"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).starts_with("Applied "), "{}", stdout(&first));
    let second = orgsettings(db.url(), &["migrate"]);
    assert!(
        stdout(&second).starts_with("No migrations to apply"),
        "{}",
        stdout(&second)
    );
}

#[test]
fn an_unreachable_postgres_server_fails_at_once_naming_the_url_without_its_password() {
    let out = orgsettings("postgres://app:s3cret@127.0.0.1:1/app", &["migrate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "Error: cannot connect to the database `postgres://app:***@127.0.0.1:1/app`"
        ),
        "{err}"
    );
    assert!(
        err.contains("Connection refused") || err.contains("connection refused"),
        "the real cause: {err}"
    );
    assert!(!err.contains("s3cret"));
    assert!(!err.contains("Invalid connection url"));
}

#[test]
fn a_sqlite_file_that_cannot_be_opened_is_named_with_the_cause() {
    let out = orgsettings("sqlite:///no/such/dir/app.db", &["migrate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("`sqlite:///no/such/dir/app.db`")
            && err.contains("unable to open database file"),
        "{err}"
    );
}

#[test]
fn an_unsupported_database_scheme_is_refused() {
    let out = orgsettings("mysql://root@localhost/db", &["migrate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unsupported scheme `mysql`"));
}

/// Starts `serve` on a free port and returns its stdout up to the "serving" line.
fn serve_until_ready(db: &TestDb, extra: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orgsettings"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .env("DATABASE_URL", db.url())
        .env("ORGSETTINGS_LOG", "warn")
        .current_dir(db.sqlite_dir().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut printed = String::new();
    let reader = BufReader::new(child.stdout.take().unwrap());
    for line in reader.lines() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("is serving") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    printed
}

#[test]
fn serve_on_an_empty_database_prints_a_setup_link_and_keeps_its_session_key() {
    let db = TestDb::create(Backend::Sqlite).unwrap();
    let printed = serve_until_ready(&db, &[]);
    assert!(
        printed.contains("This instance has no users yet"),
        "{printed}"
    );
    assert!(printed.contains("/setup/"), "{printed}");
    let key_file = db.sqlite_dir().unwrap().join("test.db.session-key");
    let key = std::fs::read_to_string(&key_file).expect("the key file next to the database");
    serve_until_ready(&db, &[]);
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        key,
        "a restart keeps the key"
    );
}

#[test]
fn serve_demo_fills_an_empty_database_and_prints_the_logins() {
    let db = TestDb::create(Backend::Sqlite).unwrap();
    let printed = serve_until_ready(&db, &["--demo"]);
    assert!(
        printed.contains("Demo data created: organization `demo`"),
        "{printed}"
    );
    for who in ["admin", "owner", "manager", "member"] {
        assert!(
            printed.lines().any(|l| l.trim_start().starts_with(who)),
            "{who}: {printed}"
        );
    }
    assert!(
        !printed.contains("/setup/"),
        "no setup link once the demo has users"
    );
    let again = serve_until_ready(&db, &["--demo"]);
    assert!(again.contains("no demo data added"), "{again}");
}

fn ok_lines(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        stderr(out)
    );
    stdout(out)
}

db_test_on_both_backends!(
    permissions_add_list_and_remove_print_sentrys_messages,
    permissions_refuse_unknown_ambiguous_and_ordinary_users_with_exit_1,
    users_without_a_usable_password_are_not_found_by_the_permissions_command,
);

fn permissions_add_list_and_remove_print_sentrys_messages(db: TestDb) {
    let url = db.url();
    ok_lines(&orgsettings(
        url,
        &[
            "createuser",
            "--username",
            "admin",
            "--email",
            "admin@example.com",
            "--password",
            "correct horse",
            "--superuser",
        ],
    ));
    let out = orgsettings(
        url,
        &["permissions", "add", "-u", "ADMIN", "-p", "users.admin"],
    );
    assert_eq!(
        ok_lines(&out),
        "Added permission `users.admin` to `admin`\n"
    );
    let out = orgsettings(
        url,
        &[
            "permissions",
            "add",
            "--user",
            "admin@example.com",
            "--permission",
            "users.admin",
        ],
    );
    assert_eq!(
        ok_lines(&out),
        "Permission already exists for `admin`\n",
        "exit 0 too"
    );
    ok_lines(&orgsettings(
        url,
        &[
            "permissions",
            "add",
            "-u",
            "admin",
            "-p",
            "broadcasts.admin",
        ],
    ));
    let out = orgsettings(url, &["permissions", "list", "-u", "admin"]);
    assert_eq!(
        ok_lines(&out),
        "Permissions for `admin`:\n- broadcasts.admin\n- users.admin\n"
    );
    let out = orgsettings(
        url,
        &["permissions", "remove", "-u", "admin", "-p", "users.admin"],
    );
    assert_eq!(
        ok_lines(&out),
        "Removed permission `users.admin` from `admin`\n"
    );
    let out = orgsettings(
        url,
        &["permissions", "remove", "-u", "admin", "-p", "users.admin"],
    );
    assert_eq!(ok_lines(&out), "Permission does not exist for `admin`\n");

    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    let entries =
        orgsettings::models::instance_audit::InstanceAuditEntry::recent(&mut conn, None, 10)
            .unwrap();
    let events: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.event.as_str(), e.actor_label.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            ("permission.remove", "CLI"),
            ("permission.add", "CLI"),
            ("permission.add", "CLI")
        ],
        "changes are audited, no-ops are not"
    );
}

fn permissions_refuse_unknown_ambiguous_and_ordinary_users_with_exit_1(db: TestDb) {
    let url = db.url();
    for name in ["one", "two"] {
        ok_lines(&orgsettings(
            url,
            &[
                "createuser",
                "--username",
                name,
                "--email",
                "shared@example.com",
                "--password",
                "correct horse",
                "--superuser",
            ],
        ));
    }
    ok_lines(&orgsettings(
        url,
        &[
            "createuser",
            "--username",
            "bob",
            "--email",
            "bob@example.com",
            "--password",
            "correct horse",
        ],
    ));
    let cases: [(&[&str], &str); 5] = [
        (
            &["permissions", "list", "-u", "ghost"],
            "Error: No user matching `ghost`\n",
        ),
        (
            &["permissions", "list", "-u", "ghost@example.com"],
            "Error: No user matching `ghost@example.com`\n",
        ),
        (
            &[
                "permissions",
                "add",
                "-u",
                "SHARED@example.com",
                "-p",
                "users.admin",
            ],
            "Error: Found more than one user matching `SHARED@example.com`\n",
        ),
        (
            &["permissions", "add", "-u", "bob", "-p", "users.admin"],
            "Error: User `bob` does not have superuser status\n",
        ),
        (
            &["permissions", "add", "-u", "one", "-p", "users.root"],
            "Error: Unknown permission `users.root`; the permissions are: broadcasts.admin, options.admin, users.admin\n",
        ),
    ];
    for (args, message) in cases {
        let out = orgsettings(url, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&out), message, "{args:?}");
    }
    let long = "x".repeat(40);
    let out = orgsettings(url, &["permissions", "add", "-u", "one", "-p", &long]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("Error: Unknown permission"),
        "a name longer than the column is refused cleanly"
    );
}

fn users_without_a_usable_password_are_not_found_by_the_permissions_command(db: TestDb) {
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    let new_user = orgsettings::models::user::NewUser {
        username: orgsettings::models::user::Username::parse("nopass").unwrap(),
        email: orgsettings::models::user::EmailAddress::parse("nopass@example.com").unwrap(),
        password: None,
        is_superuser: true,
        email_verified: true,
    };
    orgsettings::models::user::User::create(&mut conn, &new_user).unwrap();
    let out = orgsettings(db.url(), &["permissions", "list", "-u", "nopass"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "Error: No user matching `nopass`\n");
}

#[test]
fn the_permissions_command_explains_itself() {
    let db = TestDb::create(Backend::Sqlite).unwrap();
    let out = orgsettings(db.url(), &["permissions", "--help"]);
    assert!(
        stdout(&out).contains("Manage Permissions for Users."),
        "{}",
        stdout(&out)
    );
    for sub in ["add", "remove", "list"] {
        assert!(stdout(&out).contains(sub));
    }
}

#[test]
fn serve_refuses_the_old_trust_proxy_setting_and_names_its_replacement() {
    let db = TestDb::create(Backend::Sqlite).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_orgsettings"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", db.url())
        .env("ORGSETTINGS_LOG", "warn")
        .env("ORGSETTINGS_TRUST_PROXY", "true")
        .stdin(Stdio::null())
        .output()
        .expect("run orgsettings");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("Error: ORGSETTINGS_TRUST_PROXY is gone"),
        "{err}"
    );
    assert!(err.contains("ORGSETTINGS_TRUSTED_PROXIES"), "{err}");
}

#[test]
fn serve_refuses_trusted_proxies_that_are_not_addresses() {
    let db = TestDb::create(Backend::Sqlite).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_orgsettings"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--trusted-proxies",
            "10.0.0.0/8,proxy.local",
        ])
        .env("DATABASE_URL", db.url())
        .env("ORGSETTINGS_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run orgsettings");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`proxy.local` in ORGSETTINGS_TRUSTED_PROXIES"),
        "{}",
        stderr(&out)
    );
}

fn setpassword_sets_a_password_ends_sessions_and_is_audited(db: TestDb) {
    let created = orgsettings(
        db.url(),
        &[
            "createuser",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--password",
            "correct horse",
        ],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    let before = User::find_by_login(&mut conn, "alice").unwrap().remove(0);

    let short = orgsettings(
        db.url(),
        &["setpassword", "-u", "alice", "--password", "short"],
    );
    assert_eq!(short.status.code(), Some(1));
    assert!(stderr(&short).starts_with("Error: password: This password is too short."));
    let ghost = orgsettings(
        db.url(),
        &["setpassword", "-u", "ghost", "--password", "long enough"],
    );
    assert_eq!(stderr(&ghost), "Error: No user matching `ghost`\n");

    let out = orgsettings(
        db.url(),
        &[
            "setpassword",
            "--user",
            "alice@example.com",
            "--password",
            "battery staple",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "Set the password of `alice`; every session of theirs ended.\n"
    );
    let after = User::find_by_login(&mut conn, "alice").unwrap().remove(0);
    assert!(orgsettings::secrets::password::verify(
        "battery staple",
        &after.password_hash
    ));
    assert!(
        after.session_version > before.session_version,
        "sessions end"
    );
    let entries =
        orgsettings::models::instance_audit::InstanceAuditEntry::recent(&mut conn, None, 10)
            .unwrap();
    assert_eq!(entries[0].event, "user.password.set");
    assert_eq!(entries[0].actor_label, "CLI");
}
