//! Every page, at a laptop's and a phone's width: no sideways scrolling, no serious or critical
//! accessibility violation (axe-core), and a screenshot of each for a person to look at.

use crate::audit::{audit, axe_source, problems, set_viewport};
use crate::browser::{click_button, fill, log_in, with_browser};
use crate::common::{Backend, PASSWORD, TestApp, enrol_totp, link_in, outbox, relay_keys};

/// An instance with something on every page: `root` (a superuser with every permission) owns Acme,
/// with a member, a pending invitation, a relay, a data scrubbing rule and audit entries; `tess` has
/// two-factor authentication. Returns the invitation and password reset links.
async fn furnished(app: &TestApp) -> (String, String, i64) {
    let root = app.create_user_with("root", true).await;
    let id = root.id;
    app.with_db(move |conn| {
        for p in orgsettings::models::permission::KNOWN {
            orgsettings::models::permission::add(conn, id, p).unwrap();
        }
    })
    .await;
    let org = app.create_org(&root, "Acme Corp", "acme").await;
    let lee = app.create_user("lee").await;
    app.add_member(&org, &lee, orgsettings::models::role::Role::Member)
        .await;
    let tess = app.create_user("tess").await;
    enrol_totp(app, &tess).await;
    app.login("root", PASSWORD).await;
    app.get("/settings/acme/members/").await;
    app.post_form(
        "/settings/acme/members/",
        &[
            ("action", "invite"),
            ("email", "gus@example.com"),
            ("role", "member"),
        ],
    )
    .await
    .assert_redirect("/settings/acme/members/");
    let invitation = link_in(
        &outbox(app).await.pop().unwrap().body_text,
        &app.base,
        "/accept/",
    )
    .unwrap();
    let key = relay_keys(1).remove(0);
    app.post_form(
        "/settings/acme/relays/",
        &[
            ("action", "add"),
            ("name", "Edge relay in Frankfurt"),
            ("publicKey", key.as_str()),
            ("description", "Forwards the EU region's events"),
        ],
    )
    .await;
    app.post_form(
        "/settings/acme/security-and-privacy/pii-rules/",
        &[
            ("action", "add"),
            ("method", "mask"),
            ("dataType", "creditcard"),
            ("source", "$string"),
        ],
    )
    .await;
    app.get("/account/api-tokens/").await;
    app.post_form(
        "/account/api-tokens/",
        &[
            ("action", "create"),
            ("name", "Nightly report"),
            ("scopes", "org:read"),
            ("scopes", "member:read"),
            ("expires", "2099-12-31"),
        ],
    )
    .await
    .assert_redirect("/account/api-tokens/");
    app.get("/settings/acme/auth-tokens/").await;
    app.post_form(
        "/settings/acme/auth-tokens/",
        &[("action", "create"), ("name", "CI releases")],
    )
    .await
    .assert_redirect("/settings/acme/auth-tokens/");
    let anonymous = app.visitor();
    anonymous.get("/account/recover/").await;
    anonymous
        .post_form("/account/recover/", &[("login", "lee")])
        .await;
    let reset = link_in(
        &outbox(app).await.pop().unwrap().body_text,
        &app.base,
        "/account/recover/confirm/",
    )
    .unwrap();
    (invitation, reset, lee.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_and_a_laptop_and_passes_axe() {
    let Some(axe) = axe_source() else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (invitation, reset, lee_id) = furnished(&app).await;
    let empty = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let setup_token = empty
        .with_db(|conn| orgsettings::models::setup::issue_if_empty(conn).unwrap())
        .await
        .unwrap();
    with_browser("pages", |driver| async move {
        let mut problems = Vec::new();
        let base = app.base.clone();
        let mut check = async |path: &str, name: &str| {
            problems.extend(audit(&driver, &base, path, name, &axe).await);
        };
        // anonymous
        for (path, name) in [
            ("/login", "login"),
            ("/account/recover/", "recover"),
            (reset.as_str(), "reset-password"),
            (invitation.as_str(), "accept-invitation"),
            ("/no-such-page", "not-found"),
        ] {
            check(path, name).await;
        }
        // the second step of a login with two-factor authentication
        log_in(&driver, &app.url("/login"), "tess").await;
        check("/login/2fa/", "login-2fa").await;
        driver.delete_all_cookies().await.unwrap();

        log_in(&driver, &app.url("/login"), "root").await;
        let lee_page = format!("/manage/users/{lee_id}/");
        let lee_confirm = format!("/manage/users/{lee_id}/?confirm=deactivate");
        for (path, name) in [
            ("/organizations/", "organizations"),
            ("/organizations/new/", "new-organization"),
            ("/settings/acme/", "general"),
            (
                "/settings/acme/security-and-privacy/",
                "security-and-privacy",
            ),
            (
                "/settings/acme/security-and-privacy/?remove-rule=0",
                "remove-pii-rule",
            ),
            ("/settings/acme/relays/", "relays"),
            ("/settings/acme/avatar/", "avatar"),
            ("/settings/acme/members/", "members"),
            ("/settings/acme/audit-log/", "audit-log"),
            ("/settings/acme/auth-tokens/", "auth-tokens"),
            ("/settings/acme/auth-tokens/?edit=1", "rename-auth-token"),
            ("/settings/acme/auth-tokens/?revoke=1", "revoke-auth-token"),
            ("/account/", "account"),
            ("/account/password/", "password"),
            ("/account/security/", "two-factor"),
            ("/account/api-tokens/", "api-tokens"),
            ("/account/api-tokens/?revoke=1", "revoke-api-token"),
            ("/superuser/", "superuser"),
        ] {
            check(path, name).await;
        }
        // the relay and member confirmations, and the manage pages in superuser mode
        driver
            .goto(app.url("/settings/acme/relays/"))
            .await
            .unwrap();
        let remove = driver
            .find(thirtyfour::By::Css("a[aria-label^='Remove Edge']"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        check(&remove, "remove-relay").await;
        check(&remove.replace("?remove=", "?edit="), "edit-relay").await;
        check("/settings/acme/members/?remove=2", "remove-member").await;
        driver
            .goto(app.url("/superuser/?next=/manage/"))
            .await
            .unwrap();
        fill(&driver, "password", PASSWORD).await;
        click_button(&driver, "Turn on superuser mode").await;
        for (path, name) in [
            ("/manage/", "manage"),
            ("/manage/users/", "users"),
            ("/manage/users/new/", "new-user"),
            (lee_page.as_str(), "user"),
            (lee_confirm.as_str(), "user-confirm"),
            ("/manage/outbox/", "outbox"),
        ] {
            check(path, name).await;
        }
        // the setup page of an empty instance
        problems.extend(
            audit(
                &driver,
                &empty.base,
                &format!("/setup/{setup_token}/"),
                "setup",
                &axe,
            )
            .await,
        );
        assert!(
            problems.is_empty(),
            "{} problem(s):\n{}",
            problems.len(),
            problems.join("\n")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_catches_sideways_scrolling_and_axe_violations() {
    let Some(axe) = axe_source() else {
        return;
    };
    with_browser("audit-self-check", |driver| async move {
        set_viewport(&driver, 390, 844).await;
        driver
            .goto("data:text/html,<title>x</title><div style='width:900px'>wide</div><img src='a.png'>")
            .await
            .unwrap();
        let found = problems(&driver, &axe).await;
        assert!(
            found.iter().any(|p| p.starts_with("scrolls sideways: 9")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p.starts_with("image-alt (critical)")),
            "{found:?}"
        );
    })
    .await;
}
