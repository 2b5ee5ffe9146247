//! Superuser mode, the manage pages and their audit entries.

use orgsettings::models::instance_audit::InstanceAuditEntry;
use orgsettings::models::permission;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{Options, PASSWORD, TestApp, Visitor, instance_events};
use crate::on_both_backends;

/// A superuser `admin` with `users.admin`, logged in (superuser mode off).
async fn admin_app(app: &TestApp) -> orgsettings::models::user::User {
    let admin = app.create_user_with("admin", true).await;
    let id = admin.id;
    app.with_db(move |conn| permission::add(conn, id, permission::USERS_ADMIN).unwrap())
        .await;
    app.login("admin", PASSWORD).await;
    admin
}

async fn enter_superuser_mode(visitor: &Visitor, next: &str) -> crate::common::Page {
    visitor.get("/superuser/").await;
    visitor
        .post_form(
            "/superuser/",
            &[
                ("password", PASSWORD),
                ("reason", "support ticket 42"),
                ("next", next),
            ],
        )
        .await
}

on_both_backends!(
    superuser_powers_apply_only_while_superuser_mode_is_on,
    a_wrong_password_at_superuser_counts_toward_the_login_throttle,
    ordinary_users_get_403_everywhere_under_manage,
    managing_users_needs_the_users_admin_permission,
    each_manage_action_changes_the_user_and_is_audited,
    a_refused_change_says_so_and_changes_nothing,
    two_superusers_revoking_each_other_at_once_leave_one_superuser,
    privilege_changes_end_the_affected_users_sessions,
    users_can_be_searched_by_username_or_email_and_paged,
    logging_out_ends_superuser_mode,
);

async fn superuser_powers_apply_only_while_superuser_mode_is_on(app: TestApp) {
    admin_app(&app).await;
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Secret Org", "secret").await;
    // without the mode, a superuser is an ordinary user, told how to open the organization
    let outside = app.get("/settings/secret/").await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN);
    assert!(outside.contains("You are not a member of this organization."));
    assert!(
        outside.contains(
            "href=\"/superuser/?next=%2Fsettings%2Fsecret%2F\">Turn on superuser mode</a>"
        )
    );
    let (status, body) = app.api_get("/api/0/organizations/secret/").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["detail"]["code"], "superuser-required",
        "Sentry's answer"
    );
    assert_eq!(
        app.api_get("/api/0/organizations/no-such-org/").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/settings/no-such-org/").await.status,
        StatusCode::NOT_FOUND
    );
    let refused = app.get("/manage/").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.contains("Turn on superuser mode first"));
    assert!(!app.get("/organizations/").await.contains("Secret Org"));

    let before = app.session_cookie().unwrap();
    let entered = enter_superuser_mode(&app, "/settings/secret/").await;
    entered.assert_redirect("/settings/secret/");
    assert_ne!(
        app.session_cookie().unwrap(),
        before,
        "the session id is renewed"
    );
    let page = app.get("/settings/secret/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("Superuser mode is on"));
    assert!(app.get("/organizations/").await.contains("Secret Org"));
    assert!(
        app.get("/organizations/")
            .await
            .contains("Superuser access")
    );

    // what the superuser changes is marked as staff in the organization's audit log
    app.api_put(
        "/api/0/organizations/secret/",
        json!({"isEarlyAdopter": true}),
    )
    .await;
    let staff = app
        .with_db(move |conn| {
            orgsettings::models::audit::AuditEntry::list(conn, org.id, Default::default()).unwrap()
                [0]
            .actor_is_staff
        })
        .await;
    assert!(staff);
    let owner_view = app.visitor();
    owner_view.login("owner", PASSWORD).await;
    let log = owner_view.get("/settings/secret/audit-log/").await;
    assert!(
        log.contains("admin <span class=\"role-tag\">Staff</span>")
            || log
                .body
                .contains("admin <span class=\"role-tag\">Staff</span>"),
        "{}",
        log.body
    );

    let left = app.post_form("/superuser/leave/", &[]).await;
    left.assert_redirect("/organizations/");
    assert_eq!(
        app.get("/settings/secret/").await.status,
        StatusCode::FORBIDDEN,
        "outside the mode again"
    );
    assert_eq!(app.get("/manage/").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        instance_events(&app).await,
        ["superuser.enter", "superuser.leave"]
    );
    let reason = app
        .with_db(|conn| {
            InstanceAuditEntry::recent(conn, None, 10)
                .unwrap()
                .pop()
                .unwrap()
                .sentence()
        })
        .await;
    assert_eq!(reason, "turned on superuser mode: support ticket 42");
}

async fn a_wrong_password_at_superuser_counts_toward_the_login_throttle(app: TestApp) {
    admin_app(&app).await;
    app.get("/superuser/").await;
    let wrong = app
        .post_form("/superuser/", &[("password", "not it at all")])
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong.field_error("password").as_deref(),
        Some("Your password is not correct.")
    );
    for _ in 0..9 {
        app.post_form("/superuser/", &[("password", "not it at all")])
            .await;
    }
    let throttled = app
        .post_form("/superuser/", &[("password", PASSWORD)])
        .await;
    assert!(
        throttled
            .field_error("password")
            .unwrap()
            .starts_with("Too many failed attempts.")
    );
    assert_eq!(app.get("/manage/").await.status, StatusCode::FORBIDDEN);
}

async fn ordinary_users_get_403_everywhere_under_manage(app: TestApp) {
    let admin = admin_app(&app).await;
    app.create_user("bob").await;
    let bob = app.visitor();
    bob.login("bob", PASSWORD).await;
    let user_page = format!("/manage/users/{}/", admin.id);
    for path in [
        "/manage/",
        "/manage/users/",
        "/manage/users/new/",
        user_page.as_str(),
    ] {
        assert_eq!(
            bob.get(path).await.status,
            StatusCode::FORBIDDEN,
            "GET {path}"
        );
    }
    let permissions = format!("/manage/users/{}/permissions/", admin.id);
    for (path, fields) in [
        (user_page.as_str(), vec![("action", "revoke-superuser")]),
        (
            permissions.as_str(),
            vec![("action", "add"), ("permission", "users.admin")],
        ),
        (
            "/manage/users/new/",
            vec![
                ("username", "x"),
                ("email", "x@example.com"),
                ("password", PASSWORD),
            ],
        ),
    ] {
        assert_eq!(
            bob.post_form(path, &fields).await.status,
            StatusCode::FORBIDDEN,
            "POST {path}"
        );
    }
    let refused = bob
        .post_form("/superuser/", &[("password", PASSWORD)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(instance_events(&app).await.is_empty(), "nothing happened");
}

async fn managing_users_needs_the_users_admin_permission(app: TestApp) {
    app.create_user_with("root", true).await;
    app.login("root", PASSWORD).await;
    enter_superuser_mode(&app, "/manage/").await;
    let index = app.get("/manage/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.contains("Managing users needs the users.admin permission"));
    let refused = app.get("/manage/users/").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.contains("This page needs the users.admin permission."));
}

async fn each_manage_action_changes_the_user_and_is_audited(app: TestApp) {
    let admin = admin_app(&app).await;
    enter_superuser_mode(&app, "/manage/").await;
    // create
    let created = app
        .submit(
            "/manage/users/new/",
            &[
                ("username", "carol"),
                ("email", "carol@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let carol_page = created.location.clone().unwrap();
    let taken = app
        .submit(
            "/manage/users/new/",
            &[
                ("username", "CAROL"),
                ("email", "c2@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        taken.field_error("username").as_deref(),
        Some("A user with that username already exists.")
    );
    assert_eq!(
        taken.input_value("email").as_deref(),
        Some("c2@example.com")
    );
    let page = app.get(&carol_page).await;
    assert!(page.contains("Activity about this user"));
    assert!(page.contains("created user carol"));

    app.post_form(&carol_page, &[("action", "deactivate")])
        .await
        .assert_redirect(&carol_page);
    assert!(app.get(&carol_page).await.contains("carol deactivated."));
    app.post_form(&carol_page, &[("action", "activate")])
        .await
        .assert_redirect(&carol_page);
    app.post_form(&carol_page, &[("action", "grant-superuser")])
        .await
        .assert_redirect(&carol_page);
    let page = app.get(&carol_page).await;
    assert!(page.contains("carol is now a superuser."));
    let permissions = format!("{carol_page}permissions/");
    app.post_form(
        &permissions,
        &[("action", "add"), ("permission", "options.admin")],
    )
    .await
    .assert_redirect(&carol_page);
    assert!(
        app.get(&carol_page)
            .await
            .contains("Added permission options.admin to carol.")
    );
    app.post_form(
        &permissions,
        &[("action", "add"), ("permission", "options.admin")],
    )
    .await;
    assert!(
        app.get(&carol_page)
            .await
            .contains("carol already has the permission options.admin; nothing changed.")
    );
    app.post_form(
        &permissions,
        &[("action", "add"), ("permission", "root.admin")],
    )
    .await;
    assert!(
        app.get(&carol_page)
            .await
            .contains("Unknown permission `root.admin`")
    );
    app.post_form(
        &permissions,
        &[("action", "remove"), ("permission", "options.admin")],
    )
    .await;
    // reset 2FA (an enrolled authenticator, inserted directly)
    let carol_id: i64 = carol_page
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::authenticators;
        diesel::insert_into(authenticators::table)
            .values((
                authenticators::user_id.eq(carol_id),
                authenticators::kind.eq("totp"),
                authenticators::config.eq("JBSWY3DPEHPK3PXP"),
                authenticators::confirmed.eq(true),
                authenticators::created_at.eq(orgsettings::db::query::now()),
            ))
            .execute(conn)
            .unwrap();
    })
    .await;
    assert!(app.get(&carol_page).await.contains(
        "Two-factor authentication</dt><dd><span class=\"badge badge-success\">enrolled</span>"
    ));
    app.post_form(&carol_page, &[("action", "reset-2fa")])
        .await
        .assert_redirect(&carol_page);
    let page = app.get(&carol_page).await;
    assert!(page.contains("carol must set up two-factor authentication again."));
    assert!(
        page.contains(
            "Two-factor authentication</dt><dd><span class=\"badge\">not enrolled</span>"
        )
    );
    app.post_form(&carol_page, &[("action", "revoke-superuser")])
        .await
        .assert_redirect(&carol_page);

    let events = instance_events(&app).await;
    assert_eq!(
        &events[1..],
        [
            "user.create",
            "user.deactivate",
            "user.activate",
            "user.superuser.grant",
            "permission.add",
            "permission.remove",
            "user.2fa.reset",
            "user.superuser.revoke",
        ]
    );
    let actors = app
        .with_db(|conn| InstanceAuditEntry::recent(conn, None, 100).unwrap())
        .await;
    assert!(
        actors
            .iter()
            .all(|e| e.actor_id == Some(admin.id) && e.actor_label == "admin")
    );
}

async fn a_refused_change_says_so_and_changes_nothing(app: TestApp) {
    let admin = admin_app(&app).await;
    enter_superuser_mode(&app, "/manage/").await;
    let own = format!("/manage/users/{}/", admin.id);
    app.post_form(&own, &[("action", "revoke-superuser")])
        .await
        .assert_redirect(&own);
    let page = app.get(&own).await;
    assert!(page.contains("You are the last superuser"), "{}", page.body);
    assert!(!page.contains("is no longer a superuser"));
    app.post_form(&own, &[("action", "deactivate")]).await;
    assert!(
        app.get(&own)
            .await
            .contains("You cannot deactivate your own account.")
    );
    let bob = app.create_user("bob").await;
    let bob_permissions = format!("/manage/users/{}/permissions/", bob.id);
    app.post_form(
        &bob_permissions,
        &[("action", "add"), ("permission", "users.admin")],
    )
    .await;
    assert!(
        app.get(&own)
            .await
            .contains("Permissions apply to superusers only")
    );
    let admin_id = admin.id;
    let (still_super, bob_perms) = app
        .with_db(move |conn| {
            (
                orgsettings::models::user::User::find(conn, admin_id)
                    .unwrap()
                    .unwrap()
                    .is_superuser,
                permission::list(conn, bob.id).unwrap(),
            )
        })
        .await;
    assert!(still_super && bob_perms.is_empty());
    assert_eq!(
        instance_events(&app).await,
        ["superuser.enter"],
        "refused changes write no entry"
    );
    // with a second superuser, giving up one's own status works and keeps this session logged in
    app.post_form(
        &format!("/manage/users/{}/", bob.id),
        &[("action", "grant-superuser")],
    )
    .await;
    app.post_form(&own, &[("action", "revoke-superuser")])
        .await
        .assert_redirect(&own);
    assert_eq!(
        app.get("/organizations/").await.status,
        StatusCode::OK,
        "still logged in"
    );
    assert_eq!(
        app.get("/manage/").await.status,
        StatusCode::FORBIDDEN,
        "but no longer a superuser"
    );
}

async fn two_superusers_revoking_each_other_at_once_leave_one_superuser(app: TestApp) {
    use orgsettings::accounts;
    use orgsettings::models::actor::Actor;
    use orgsettings::models::user::User;
    for round in 0..5 {
        let ann = app.create_user_with(&format!("ann{round}"), true).await;
        let bob = app.create_user_with(&format!("bob{round}"), true).await;
        // everyone else gives up their status first, so these two are the only superusers
        let (ann_id, bob_id) = (ann.id, bob.id);
        app.with_db(move |conn| {
            use diesel::prelude::*;
            use orgsettings::db::schema::users;
            diesel::update(
                users::table
                    .filter(users::id.ne(ann_id))
                    .filter(users::id.ne(bob_id)),
            )
            .set(users::is_superuser.eq(false))
            .execute(conn)
            .unwrap();
        })
        .await;
        let start = std::sync::Arc::new(std::sync::Barrier::new(2));
        let revokes: Vec<_> = [(ann, bob_id), (bob, ann_id)]
            .into_iter()
            .map(|(actor, target)| {
                let (pool, start) = (app.pool.clone(), start.clone());
                tokio::task::spawn_blocking(move || {
                    let mut conn = pool.get().unwrap();
                    start.wait();
                    accounts::set_superuser(&mut conn, &Actor::user(&actor, None), target, false)
                        .is_ok()
                })
            })
            .collect();
        let mut succeeded = 0;
        for revoke in revokes {
            succeeded += usize::from(revoke.await.unwrap());
        }
        assert_eq!(
            succeeded, 1,
            "round {round}: exactly one revocation goes through"
        );
        let left = app
            .with_db(|conn| User::lock_active_superusers(conn).unwrap())
            .await;
        assert_eq!(left, 1, "round {round}");
    }
}

async fn privilege_changes_end_the_affected_users_sessions(app: TestApp) {
    admin_app(&app).await;
    let bob_user = app.create_user("bob").await;
    let bob = app.visitor();
    bob.login("bob", PASSWORD).await;
    assert_eq!(bob.get("/organizations/").await.status, StatusCode::OK);
    enter_superuser_mode(&app, "/manage/").await;
    app.post_form(
        &format!("/manage/users/{}/", bob_user.id),
        &[("action", "grant-superuser")],
    )
    .await;
    assert_eq!(
        bob.get("/organizations/").await.status,
        StatusCode::SEE_OTHER,
        "bob logs in again"
    );
}

async fn users_can_be_searched_by_username_or_email_and_paged(app: TestApp) {
    admin_app(&app).await;
    for n in 0..55 {
        app.create_user(&format!("user{n:02}")).await;
    }
    enter_superuser_mode(&app, "/manage/").await;
    let first = app.get("/manage/users/").await;
    assert!(first.contains("56 users"));
    assert!(first.contains("Page 1 of 2"));
    let second = app.get("/manage/users/?page=2").await;
    assert!(second.contains("Page 2 of 2") && second.contains("user54"));
    let found = app.get("/manage/users/?q=USER07%40EXAMPLE").await;
    assert!(found.contains("1 user matching"));
    assert!(found.contains(">user07<"));
    let none = app.get("/manage/users/?q=nobody").await;
    assert!(none.contains("0 users matching"));
}

async fn logging_out_ends_superuser_mode(app: TestApp) {
    admin_app(&app).await;
    enter_superuser_mode(&app, "/manage/").await;
    app.post_form("/logout", &[]).await;
    app.login("admin", PASSWORD).await;
    assert_eq!(app.get("/manage/").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_superuser_mode_sends_the_browser_back_with_the_page_it_wanted() {
    let mut options = Options::new(crate::common::Backend::Sqlite);
    options.config = Box::new(|s| s.superuser_idle = std::time::Duration::from_secs(1));
    let app = TestApp::spawn_with(options).await.unwrap();
    admin_app(&app).await;
    enter_superuser_mode(&app, "/manage/").await;
    assert_eq!(app.get("/manage/users/").await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let sent_back = app.get("/manage/users/?q=x").await;
    sent_back.assert_redirect("/superuser/?next=%2Fmanage%2Fusers%2F%3Fq%3Dx&expired=1");
    let page = app.get(sent_back.location.as_deref().unwrap()).await;
    assert!(page.contains("Your superuser mode ended."));
    assert_eq!(
        page.input_value("next").as_deref(),
        Some("/manage/users/?q=x")
    );
    let again = app
        .post_form(
            "/superuser/",
            &[("password", PASSWORD), ("next", "/manage/users/?q=x")],
        )
        .await;
    again.assert_redirect("/manage/users/?q=x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superuser_mode_ends_at_its_absolute_limit_even_when_used() {
    let mut options = Options::new(crate::common::Backend::Sqlite);
    options.config = Box::new(|s| s.superuser_max = std::time::Duration::from_secs(2));
    let app = TestApp::spawn_with(options).await.unwrap();
    admin_app(&app).await;
    enter_superuser_mode(&app, "/manage/").await;
    for _ in 0..3 {
        assert_eq!(app.get("/manage/").await.status, StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert_eq!(app.get("/manage/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_superuser_made_by_the_setup_link_can_manage_users() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite)
        .await
        .unwrap();
    let token = app
        .with_db(|conn| orgsettings::models::setup::issue_if_empty(conn).unwrap())
        .await
        .unwrap();
    let path = format!("/setup/{token}/");
    app.submit(
        &path,
        &[
            ("username", "root"),
            ("email", "root@example.com"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("organization", "Acme"),
            ("slug", ""),
        ],
    )
    .await;
    enter_superuser_mode(&app, "/manage/users/")
        .await
        .assert_redirect("/manage/users/");
    assert_eq!(app.get("/manage/users/").await.status, StatusCode::OK);
}
