use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_post_without_a_csrf_token_is_refused_with_a_page_that_explains,
    a_token_from_another_session_is_refused,
    a_request_without_any_session_is_refused,
    a_cross_site_origin_is_refused_even_with_the_right_token,
    the_token_may_come_in_the_x_csrftoken_header,
    login_rotates_the_token_so_a_token_seen_before_login_no_longer_works,
    a_form_body_over_the_limit_gets_413_and_changes_nothing,
);

async fn a_post_without_a_csrf_token_is_refused_with_a_page_that_explains(app: TestApp) {
    app.create_user("alice").await;
    app.get("/login").await;
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = response.text().await.unwrap();
    assert!(body.contains("did not carry its security token"), "{body}");
    assert!(body.contains("reload the page"), "{body}");
}

async fn a_token_from_another_session_is_refused(app: TestApp) {
    app.create_user("alice").await;
    let other = TestApp::new_client();
    let foreign_page = other
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let foreign = crate::common::meta_csrf(&foreign_page).unwrap();
    app.get("/login").await;
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", foreign.as_str()),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("does not match your session")
    );
}

async fn a_request_without_any_session_is_refused(app: TestApp) {
    let response = TestApp::new_client()
        .post(app.url("/logout"))
        .form(&[("csrf_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Your session has no security token")
    );
}

async fn a_cross_site_origin_is_refused_even_with_the_right_token(app: TestApp) {
    app.create_user("alice").await;
    let token = app.csrf_token().await;
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("origin", "null"),
    ] {
        let response = app
            .client
            .post(app.url("/login"))
            .header(name, value)
            .form(&[
                ("csrf_token", token.as_str()),
                ("username", "alice"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {value}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("came from another site")
        );
    }
    let same_origin = app
        .client
        .post(app.url("/login"))
        .header("origin", app.base.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), StatusCode::SEE_OTHER);
}

async fn the_token_may_come_in_the_x_csrftoken_header(app: TestApp) {
    app.create_user("alice").await;
    app.login("alice", PASSWORD).await;
    let token = app.csrf_token().await;
    let response = app
        .client
        .post(app.url("/logout"))
        .header("X-CSRFToken", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/organizations/").await.status,
        StatusCode::SEE_OTHER,
        "logged out"
    );
}

async fn login_rotates_the_token_so_a_token_seen_before_login_no_longer_works(app: TestApp) {
    app.create_user("alice").await;
    let before = app.csrf_token().await;
    app.login("alice", PASSWORD).await;
    let response = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf_token", before.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

async fn a_form_body_over_the_limit_gets_413_and_changes_nothing(app: TestApp) {
    let owner = app.create_user("alice").await;
    app.login("alice", PASSWORD).await;
    let huge = "x".repeat(orgsettings::web::limits::FORM_LIMIT + 1);
    let page = app
        .post_form("/organizations/new/", &[("name", huge.as_str())])
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        page.contains("larger than this form accepts"),
        "{}",
        page.body
    );
    let orgs = app
        .with_db(move |conn| {
            orgsettings::models::organization::Organization::list_for_user(conn, owner.id).unwrap()
        })
        .await;
    assert!(orgs.is_empty());
}
