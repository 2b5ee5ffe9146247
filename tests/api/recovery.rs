//! Getting back into an account and changing it: `/account/recover/` and its links,
//! `/account/password/`, the name and addresses on `/account/`, the superuser's reset link, and
//! superuser mode with two-factor authentication.

use reqwest::StatusCode;

use crate::common::{
    PASSWORD, TestApp, enrol_totp, instance_events, link_in, next_totp_code, outbox,
};
use crate::on_both_backends;

const RECOVER: &str = "/account/recover/";
const NEW_PASSWORD: &str = "a brand new password";

on_both_backends!(
    a_forgotten_password_is_reset_with_a_single_use_emailed_link,
    asking_for_a_link_answers_the_same_whether_or_not_an_account_matches,
    a_reset_ends_every_session_of_the_user,
    reset_links_expire_after_an_hour_and_a_newer_one_replaces_the_older,
    reset_requests_are_limited_per_account_and_per_address,
    forged_reset_links_are_throttled,
    changing_the_password_needs_the_current_one_and_ends_the_other_sessions,
    an_address_is_added_unverified_and_becomes_primary_only_once_verified,
    the_primary_address_cannot_be_removed_and_a_removal_is_confirmed_first,
    the_name_is_saved_and_audited_and_a_bad_one_is_refused_next_to_the_field,
    a_superuser_sends_a_user_a_reset_link,
    consequential_manage_actions_are_confirmed_first,
    superuser_mode_asks_a_superuser_with_two_factor_for_a_code,
    the_account_pages_share_a_sidebar_that_leads_back_to_the_organization,
);

/// Asks for a reset link as an anonymous visitor; the link's path from the newest email.
async fn reset_link_for(app: &TestApp, login: &str) -> String {
    let visitor = app.visitor();
    visitor.get(RECOVER).await;
    let page = visitor.post_form(RECOVER, &[("login", login)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let mail = outbox(app).await.pop().unwrap();
    link_in(&mail.body_text, &app.base, "/account/recover/confirm/").unwrap()
}

async fn can_log_in(app: &TestApp, username: &str, password: &str) -> bool {
    let visitor = app.visitor();
    visitor.get("/login").await;
    let page = visitor
        .post_form("/login", &[("username", username), ("password", password)])
        .await;
    page.status == StatusCode::SEE_OTHER
}

async fn a_forgotten_password_is_reset_with_a_single_use_emailed_link(app: TestApp) {
    app.create_user("alice").await;
    let link = reset_link_for(&app, "alice@example.com").await;
    let mail = outbox(&app).await.pop().unwrap();
    assert_eq!(mail.subject, "[orgsettings] Password Recovery");
    assert_eq!(mail.kind, "user.password_recovery");
    assert_eq!(mail.to_address, "alice@example.com");
    assert!(mail.body_text.contains("works once, for 1 hour"));
    let stored: Vec<String> = app
        .with_db(|conn| {
            use diesel::prelude::*;
            use orgsettings::db::schema::password_resets;
            password_resets::table
                .select(password_resets::token_hash)
                .load(conn)
                .unwrap()
        })
        .await;
    let token = link.trim_end_matches('/').rsplit('/').next().unwrap();
    assert_eq!(
        stored,
        [orgsettings::secrets::sha256_hex(token)],
        "only the token's digest is stored"
    );

    let visitor = app.visitor();
    let form = visitor.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.contains("For the account <strong>alice</strong>."));
    let mismatch = visitor
        .post_form(
            &link,
            &[
                ("password", NEW_PASSWORD),
                ("password_confirm", "something else"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        mismatch.field_error("password_confirm").as_deref(),
        Some("The two passwords do not match.")
    );
    let short = visitor
        .post_form(
            &link,
            &[("password", "short"), ("password_confirm", "short")],
        )
        .await;
    assert!(short.field_error("password").unwrap().contains("too short"));
    assert!(
        can_log_in(&app, "alice", PASSWORD).await,
        "nothing changed yet"
    );

    visitor
        .post_form(
            &link,
            &[
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await
        .assert_redirect("/login");
    assert!(
        visitor
            .get("/login")
            .await
            .contains("The password of alice is changed. Log in with it.")
    );
    assert!(can_log_in(&app, "alice", NEW_PASSWORD).await);
    assert!(!can_log_in(&app, "alice", PASSWORD).await);
    let again = app.visitor().get(&link).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "a link works once");
    assert!(again.contains("This password reset link is not valid"));
    let notice = outbox(&app).await.pop().unwrap();
    assert_eq!(notice.kind, "user.password_changed");
    assert!(
        notice
            .body_text
            .contains("was reset with an emailed link from 127.0.0.1")
    );
    let events = instance_events(&app).await;
    assert_eq!(events, ["user.password.reset"]);
}

async fn asking_for_a_link_answers_the_same_whether_or_not_an_account_matches(app: TestApp) {
    app.create_user("alice").await;
    let before = outbox(&app).await.len();
    let visitor = app.visitor();
    visitor.get(RECOVER).await;
    let known = visitor.post_form(RECOVER, &[("login", "alice")]).await;
    let unknown = visitor.post_form(RECOVER, &[("login", "nobody")]).await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(
        known.body.replace("“alice”", "“X”"),
        unknown.body.replace("“nobody”", "“X”"),
        "the pages differ only in the name typed"
    );
    assert_eq!(outbox(&app).await.len(), before + 1, "one email, for alice");
    let empty = visitor.post_form(RECOVER, &[("login", "  ")]).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        empty.field_error("login").as_deref(),
        Some("This field is required.")
    );
    let long = "a".repeat(300);
    let too_long = visitor.post_form(RECOVER, &[("login", &long)]).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
}

async fn a_reset_ends_every_session_of_the_user(app: TestApp) {
    app.create_user("alice").await;
    app.login("alice", PASSWORD).await;
    assert_eq!(app.get("/account/").await.status, StatusCode::OK);
    let link = reset_link_for(&app, "alice").await;
    let other = app.visitor();
    other.get(&link).await;
    other
        .post_form(
            &link,
            &[
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await
        .assert_redirect("/login");
    app.get("/account/")
        .await
        .assert_redirect("/login?next=%2Faccount%2F");
}

async fn reset_links_expire_after_an_hour_and_a_newer_one_replaces_the_older(app: TestApp) {
    app.create_user("alice").await;
    let first = reset_link_for(&app, "alice").await;
    let second = reset_link_for(&app, "alice").await;
    assert_ne!(first, second);
    assert_eq!(
        app.visitor().get(&first).await.status,
        StatusCode::BAD_REQUEST,
        "replaced by the newer link"
    );
    assert_eq!(app.visitor().get(&second).await.status, StatusCode::OK);
    app.with_db(|conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::password_resets;
        diesel::update(password_resets::table)
            .set(
                password_resets::created_at
                    .eq(orgsettings::db::query::now() - chrono::Duration::minutes(61)),
            )
            .execute(conn)
            .unwrap();
    })
    .await;
    let expired = app.visitor().get(&second).await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert!(expired.contains("has expired (links work for 1 hour)"));
}

async fn reset_requests_are_limited_per_account_and_per_address(app: TestApp) {
    app.create_user("alice").await;
    let before = outbox(&app).await.len();
    let visitor = app.visitor();
    visitor.get(RECOVER).await;
    let per_account = orgsettings::recovery::EMAILS_PER_ACCOUNT.max as usize;
    let per_address = orgsettings::recovery::REQUESTS_PER_IP.max as usize;
    for _ in 0..per_address {
        let page = visitor.post_form(RECOVER, &[("login", "alice")]).await;
        assert_eq!(page.status, StatusCode::OK);
    }
    assert_eq!(
        outbox(&app).await.len(),
        before + per_account,
        "more requests are answered alike but send nothing"
    );
    let limited = visitor.post_form(RECOVER, &[("login", "alice")]).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.contains("Too many password reset requests from your address."));
}

async fn forged_reset_links_are_throttled(app: TestApp) {
    let app = app
        .respawn_with(|config| config.login_throttle.max_failures = 3)
        .await;
    let alice = app.create_user("alice").await;
    let visitor = app.visitor();
    for n in 0..3 {
        let page = visitor
            .get(&format!(
                "/account/recover/confirm/{}/forged-{n}/",
                alice.id
            ))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
    }
    let throttled = visitor
        .get(&format!("/account/recover/confirm/{}/forged-4/", alice.id))
        .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.contains("Too many failed attempts."));
}

async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions(app: TestApp) {
    app.create_user("alice").await;
    let elsewhere = app.visitor();
    elsewhere.login("alice", PASSWORD).await;
    app.login("alice", PASSWORD).await;
    app.get("/account/password/").await;
    let wrong = app
        .post_form(
            "/account/password/",
            &[
                ("password", "not my password"),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong.field_error("password").as_deref(),
        Some("Your password is not correct.")
    );
    let short = app
        .post_form(
            "/account/password/",
            &[
                ("password", PASSWORD),
                ("new_password", "short"),
                ("new_password_confirm", "short"),
            ],
        )
        .await;
    assert!(
        short
            .field_error("new_password")
            .unwrap()
            .contains("too short")
    );
    assert!(
        can_log_in(&app, "alice", PASSWORD).await,
        "nothing changed yet"
    );

    app.post_form(
        "/account/password/",
        &[
            ("password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("new_password_confirm", NEW_PASSWORD),
        ],
    )
    .await
    .assert_redirect("/account/password/");
    let page = app.get("/account/password/").await;
    assert_eq!(page.status, StatusCode::OK, "this session goes on");
    assert!(page.contains("Your password is changed. Your other sessions were ended."));
    elsewhere
        .get("/account/")
        .await
        .assert_redirect("/login?next=%2Faccount%2F");
    assert!(can_log_in(&app, "alice", NEW_PASSWORD).await);
    let notice = outbox(&app).await.pop().unwrap();
    assert_eq!(notice.subject, "[orgsettings] Your password was changed");
    assert!(link_in(&notice.body_text, &app.base, "/account/recover/").is_some());
    assert_eq!(instance_events(&app).await, ["user.password.change"]);
}

async fn an_address_is_added_unverified_and_becomes_primary_only_once_verified(app: TestApp) {
    app.create_user("bob").await;
    app.login("bob", PASSWORD).await;
    app.get("/account/").await;
    app.post_form(
        "/account/",
        &[("action", "add"), ("email", "Bob.New@Example.com")],
    )
    .await
    .assert_redirect("/account/");
    let page = app.get("/account/").await;
    assert!(page.contains("Bob.New@Example.com is added."));
    assert!(page.contains("<td data-label=\"Address\">Bob.New@Example.com</td>"));
    let duplicate = app
        .post_form(
            "/account/",
            &[("action", "add"), ("email", "bob.new@example.com")],
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        duplicate.field_error("new_email").as_deref(),
        Some("Bob.New@Example.com is already one of your addresses.")
    );
    assert!(
        duplicate.contains(
            "id=\"id_new_email\" name=\"email\" type=\"email\" value=\"bob.new@example.com\""
        ),
        "the input is kept"
    );

    app.post_form(
        "/account/",
        &[("action", "primary"), ("email", "Bob.New@Example.com")],
    )
    .await;
    assert!(
        app.get("/account/")
            .await
            .contains("Verify Bob.New@Example.com before making it your primary address")
    );
    assert!(
        !can_log_in(&app, "bob.new@example.com", PASSWORD).await,
        "an unverified address does not log in"
    );

    let mail = outbox(&app).await.pop().unwrap();
    assert_eq!(mail.to_address, "Bob.New@Example.com");
    let confirm = link_in(&mail.body_text, &app.base, "/account/confirm-email/").unwrap();
    assert_eq!(app.get(&confirm).await.status, StatusCode::OK);
    app.get("/account/").await;
    app.post_form(
        "/account/",
        &[("action", "primary"), ("email", "bob.new@example.com")],
    )
    .await
    .assert_redirect("/account/");
    assert!(
        app.get("/account/")
            .await
            .contains("Bob.New@Example.com is your primary address now.")
    );
    assert!(can_log_in(&app, "bob.new@example.com", PASSWORD).await);
    let notice = outbox(&app).await.pop().unwrap();
    assert_eq!(
        notice.to_address, "bob@example.com",
        "the old address is told"
    );
    assert_eq!(notice.kind, "user.email_changed");
    assert_eq!(
        instance_events(&app).await,
        ["user.email.add", "user.email.verify", "user.email.primary"]
    );
}

async fn the_primary_address_cannot_be_removed_and_a_removal_is_confirmed_first(app: TestApp) {
    app.create_user("bob").await;
    app.login("bob", PASSWORD).await;
    app.get("/account/").await;
    app.post_form(
        "/account/",
        &[("action", "add"), ("email", "spare@example.com")],
    )
    .await;
    let asked = app.get("/account/?remove=spare%40example.com").await;
    assert!(asked.contains("Remove spare@example.com?"));
    assert!(
        asked.contains("<tr class=\"is-target\">"),
        "the row is highlighted"
    );
    assert!(
        !app.get("/account/?remove=bob%40example.com")
            .await
            .contains("Remove bob@example.com?"),
        "the primary address is never offered for removal"
    );
    app.post_form(
        "/account/",
        &[("action", "remove"), ("email", "bob@example.com")],
    )
    .await;
    assert!(
        app.get("/account/")
            .await
            .contains("bob@example.com is your primary address")
    );
    app.post_form(
        "/account/",
        &[("action", "remove"), ("email", "spare@example.com")],
    )
    .await
    .assert_redirect("/account/");
    let page = app.get("/account/").await;
    assert!(page.contains("spare@example.com is removed from your account."));
    assert!(!page.contains("<td data-label=\"Address\">spare@example.com</td>"));
    assert_eq!(
        instance_events(&app).await,
        ["user.email.add", "user.email.remove"]
    );
}

async fn the_name_is_saved_and_audited_and_a_bad_one_is_refused_next_to_the_field(app: TestApp) {
    app.create_user("carol").await;
    app.login("carol", PASSWORD).await;
    app.get("/account/").await;
    let long = "n".repeat(201);
    let refused = app
        .post_form("/account/", &[("action", "name"), ("name", &long)])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.field_error("name").as_deref(),
        Some("Ensure this field has no more than 200 characters.")
    );
    assert_eq!(refused.input_value("name").as_deref(), Some(long.as_str()));
    app.post_form(
        "/account/",
        &[("action", "name"), ("name", "  Carol Danvers ")],
    )
    .await
    .assert_redirect("/account/");
    let page = app.get("/account/").await;
    assert!(page.contains("Your name is saved."));
    assert_eq!(page.input_value("name").as_deref(), Some("Carol Danvers"));
    assert_eq!(instance_events(&app).await, ["user.edit"]);
}

/// A superuser `root` with every permission, in superuser mode, as the default visitor.
async fn staff(app: &TestApp) -> orgsettings::models::user::User {
    let root = app.create_user_with("root", true).await;
    let id = root.id;
    app.with_db(move |conn| {
        for p in orgsettings::models::permission::KNOWN {
            orgsettings::models::permission::add(conn, id, p).unwrap();
        }
    })
    .await;
    app.login("root", PASSWORD).await;
    app.get("/superuser/").await;
    app.post_form("/superuser/", &[("password", PASSWORD)])
        .await
        .assert_redirect("/manage/");
    root
}

async fn a_superuser_sends_a_user_a_reset_link(app: TestApp) {
    staff(&app).await;
    let dave = app.create_user("dave").await;
    let page = format!("/manage/users/{}/", dave.id);
    app.get(&page).await;
    app.post_form(&page, &[("action", "send-reset-link")])
        .await
        .assert_redirect(&page);
    assert!(
        app.get(&page)
            .await
            .contains("dave was sent a link to set a new password.")
    );
    let mail = outbox(&app).await.pop().unwrap();
    assert_eq!(mail.to_address, "dave@example.com");
    assert!(
        mail.body_text
            .contains("root, an administrator of orgsettings, sent you a link")
    );
    let link = link_in(&mail.body_text, &app.base, "/account/recover/confirm/").unwrap();
    assert_eq!(app.visitor().get(&link).await.status, StatusCode::OK);
    assert!(
        instance_events(&app)
            .await
            .contains(&"user.password.reset-link".to_owned())
    );
}

async fn consequential_manage_actions_are_confirmed_first(app: TestApp) {
    staff(&app).await;
    let erin = app.create_user_with("erin", true).await;
    let page = format!("/manage/users/{}/", erin.id);
    let shown = app.get(&page).await;
    assert!(!shown.contains("id=\"confirm\""));
    assert!(shown.contains("href=\"?confirm=revoke-superuser#confirm\""));
    for (action, title) in [
        ("revoke-superuser", "Revoke the superuser status of erin?"),
        ("deactivate", "Deactivate erin?"),
    ] {
        let asked = app.get(&format!("{page}?confirm={action}")).await;
        assert!(asked.contains(title), "{action}");
        assert!(
            asked.contains(&format!(
                "name=\"action\" value=\"{action}\" class=\"danger\""
            )),
            "{action}: the button that does it sits in the confirmation"
        );
    }
    assert!(
        !app.get(&format!("{page}?confirm=activate"))
            .await
            .contains("id=\"confirm\""),
        "a harmless action needs no confirmation"
    );
    let granted = app.create_user("frank").await;
    let asked = app
        .get(&format!(
            "/manage/users/{}/?confirm=grant-superuser",
            granted.id
        ))
        .await;
    assert!(asked.contains("Make frank a superuser?"));
    assert!(
        asked.contains("class=\"confirm\""),
        "not styled as an error"
    );
}

async fn superuser_mode_asks_a_superuser_with_two_factor_for_a_code(app: TestApp) {
    let root = app.create_user_with("root", true).await;
    app.login("root", PASSWORD).await;
    let secret = enrol_totp(&app, &root).await;
    let page = app.get("/superuser/").await;
    assert!(page.contains("name=\"code\""));
    let without = app
        .post_form("/superuser/", &[("password", PASSWORD), ("code", "000000")])
        .await;
    assert_eq!(without.status, StatusCode::BAD_REQUEST);
    assert!(
        without
            .field_error("code")
            .unwrap()
            .starts_with("That code is not right.")
    );
    assert_eq!(app.get("/manage/").await.status, StatusCode::FORBIDDEN);
    // enrolling used the current code; the next time step's is unused
    let code = next_totp_code(&secret);
    app.post_form("/superuser/", &[("password", PASSWORD), ("code", &code)])
        .await
        .assert_redirect("/manage/");
}

async fn the_account_pages_share_a_sidebar_that_leads_back_to_the_organization(app: TestApp) {
    app.owner_of_acme().await;
    let before = app.get("/account/").await;
    assert!(before.contains("aria-labelledby=\"account-nav-title\""));
    assert!(!before.contains("Back to Acme"));
    app.get("/settings/acme/").await;
    for path in ["/account/", "/account/password/", "/account/security/"] {
        let page = app.get(path).await;
        assert!(
            page.contains(&format!("<a href=\"{path}\" aria-current=\"page\">")),
            "{path}"
        );
        assert!(
            page.contains("<a href=\"/settings/acme/\">Back to Acme</a>"),
            "{path}"
        );
    }
}
