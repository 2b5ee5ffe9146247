use orgsettings::auth::login::INVALID_LOGIN;
use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};
use crate::on_both_backends;

on_both_backends!(
    login_accepts_the_username_or_email_in_any_case_and_lands_on_organizations,
    a_wrong_password_and_an_unknown_user_get_the_same_answer,
    pages_that_need_a_login_send_the_browser_to_login_with_next,
    after_login_a_local_next_is_followed_and_an_offsite_one_ignored,
    login_renews_the_session_and_logout_ends_it,
    an_inactive_user_cannot_log_in_even_with_the_right_password,
    a_session_ends_when_the_users_session_version_is_bumped,
    ten_failed_logins_for_an_account_lock_it_out_with_429_even_for_the_right_password,
    failed_logins_from_one_ip_are_throttled_across_accounts,
    a_successful_login_clears_the_accounts_failures,
);

async fn login_accepts_the_username_or_email_in_any_case_and_lands_on_organizations(app: TestApp) {
    app.create_user("Alice").await;
    for login in ["alice", "ALICE", "Alice@Example.com"] {
        app.get("/login").await;
        let page = app
            .post_form("/login", &[("username", login), ("password", PASSWORD)])
            .await;
        page.assert_redirect("/organizations/");
        assert!(
            app.get("/organizations/").await.contains("Signed in as"),
            "{login}"
        );
        app.post_form("/logout", &[]).await;
    }
}

async fn a_wrong_password_and_an_unknown_user_get_the_same_answer(app: TestApp) {
    app.create_user("alice").await;
    let wrong_password = app
        .submit(
            "/login",
            &[("username", "alice"), ("password", "wrong password")],
        )
        .await;
    let unknown_user = app
        .submit(
            "/login",
            &[("username", "nobody"), ("password", "wrong password")],
        )
        .await;
    for page in [&wrong_password, &unknown_user] {
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.contains(INVALID_LOGIN), "{}", page.body);
    }
    assert_eq!(
        wrong_password.input_value("username").as_deref(),
        Some("alice"),
        "the username is kept"
    );
    assert_eq!(
        wrong_password.input_value("password").as_deref(),
        Some(""),
        "the password is not echoed"
    );
    assert_eq!(
        app.get("/organizations/").await.status,
        StatusCode::SEE_OTHER,
        "still logged out"
    );
}

async fn pages_that_need_a_login_send_the_browser_to_login_with_next(app: TestApp) {
    let page = app.get("/organizations/new/?x=1").await;
    page.assert_redirect("/login?next=%2Forganizations%2Fnew%2F%3Fx%3D1");
    let form = app.get(page.location.as_deref().unwrap()).await;
    assert_eq!(
        form.input_value("next").as_deref(),
        Some("/organizations/new/?x=1")
    );
}

async fn after_login_a_local_next_is_followed_and_an_offsite_one_ignored(app: TestApp) {
    app.create_user("alice").await;
    app.get("/login").await;
    let page = app
        .post_form(
            "/login",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("next", "/organizations/new/"),
            ],
        )
        .await;
    page.assert_redirect("/organizations/new/");
    app.get("/organizations/").await;
    app.post_form("/logout", &[]).await;
    for offsite in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
    ] {
        app.get("/login").await;
        let page = app
            .post_form(
                "/login",
                &[
                    ("username", "alice"),
                    ("password", PASSWORD),
                    ("next", offsite),
                ],
            )
            .await;
        page.assert_redirect("/organizations/");
        app.get("/organizations/").await;
        app.post_form("/logout", &[]).await;
    }
}

async fn login_renews_the_session_and_logout_ends_it(app: TestApp) {
    app.create_user("alice").await;
    app.get("/login").await;
    let anonymous = app.session_cookie().unwrap();
    app.login("alice", PASSWORD).await;
    let logged_in = app.session_cookie().unwrap();
    assert_ne!(anonymous, logged_in);
    assert_eq!(app.get("/organizations/").await.status, StatusCode::OK);
    let page = app.post_form("/logout", &[]).await;
    page.assert_redirect("/login");
    assert_ne!(app.session_cookie().unwrap(), logged_in);
    assert!(
        app.get("/login")
            .await
            .contains("You have been logged out.")
    );
    assert_eq!(
        app.get("/organizations/").await.status,
        StatusCode::SEE_OTHER
    );
}

async fn an_inactive_user_cannot_log_in_even_with_the_right_password(app: TestApp) {
    let user = app.create_user("alice").await;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::users;
        diesel::update(users::table.find(user.id))
            .set(users::is_active.eq(false))
            .execute(conn)
            .unwrap();
    })
    .await;
    let page = app
        .submit("/login", &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.contains("This account is inactive."), "{}", page.body);
}

async fn a_session_ends_when_the_users_session_version_is_bumped(app: TestApp) {
    let user = app.create_user("alice").await;
    app.login("alice", PASSWORD).await;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::users;
        diesel::update(users::table.find(user.id))
            .set(users::session_version.eq(users::session_version + 1))
            .execute(conn)
            .unwrap();
    })
    .await;
    app.get("/organizations/")
        .await
        .assert_redirect("/login?next=%2Forganizations%2F");
}

async fn ten_failed_logins_for_an_account_lock_it_out_with_429_even_for_the_right_password(
    app: TestApp,
) {
    app.create_user("alice").await;
    app.get("/login").await;
    for _ in 0..10 {
        let page = app
            .post_form(
                "/login",
                &[("username", "alice"), ("password", "wrong password")],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
    }
    let page = app
        .post_form("/login", &[("username", "ALICE"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.contains("Too many failed login attempts. Wait 15 minutes before trying again."),
        "{}",
        page.body
    );
    assert_eq!(
        app.get("/organizations/").await.status,
        StatusCode::SEE_OTHER,
        "not logged in"
    );
}

async fn failed_logins_from_one_ip_are_throttled_across_accounts(app: TestApp) {
    app.create_user("bob").await;
    app.get("/login").await;
    for n in 0..10 {
        let login = format!("nobody{n}");
        app.post_form(
            "/login",
            &[("username", login.as_str()), ("password", "wrong password")],
        )
        .await;
    }
    let page = app
        .post_form("/login", &[("username", "bob"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn a_successful_login_clears_the_accounts_failures(app: TestApp) {
    app.create_user("alice").await;
    app.get("/login").await;
    for _ in 0..9 {
        app.post_form(
            "/login",
            &[("username", "alice"), ("password", "wrong password")],
        )
        .await;
    }
    app.login("alice", PASSWORD).await;
    app.post_form("/logout", &[]).await;
    app.get("/login").await;
    let page = app
        .post_form(
            "/login",
            &[("username", "alice"), ("password", "wrong password")],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::BAD_REQUEST,
        "the account's count started over"
    );
}
