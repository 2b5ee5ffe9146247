use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};
use crate::on_both_backends;

on_both_backends!(
    healthz_answers_ok_when_the_database_answers,
    an_unknown_page_is_a_404_in_the_sites_layout,
    pages_carry_the_csrf_meta_tag_security_headers_and_escape_user_data,
    the_root_sends_users_to_their_organizations,
    the_stylesheet_is_served_and_unknown_assets_are_404,
);

async fn healthz_answers_ok_when_the_database_answers(app: TestApp) {
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok\n");
}

async fn an_unknown_page_is_a_404_in_the_sites_layout(app: TestApp) {
    let page = app.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.contains("Page not found"));
    assert!(page.contains("/static/app.css"), "rendered in the layout");
}

async fn pages_carry_the_csrf_meta_tag_security_headers_and_escape_user_data(app: TestApp) {
    let alice = app.create_user("alice").await;
    app.create_org(&alice, "<script>alert(1)</script>", "xss")
        .await;
    app.login("alice", PASSWORD).await;
    let response = app
        .client
        .get(app.url("/organizations/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().to_owned());
    if let Some(cookie) = cookie {
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
    }
    let body = response.text().await.unwrap();
    assert!(crate::common::meta_csrf(&body).is_some());
    assert!(!body.contains("<script>alert(1)</script>"));
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || body.contains("&#60;script&#62;"),
        "{body}"
    );
}

async fn the_root_sends_users_to_their_organizations(app: TestApp) {
    let page = app.get("/").await;
    page.assert_redirect("/organizations/");
}

async fn the_stylesheet_is_served_and_unknown_assets_are_404(app: TestApp) {
    let css = app
        .client
        .get(app.url("/static/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(
        app.get("/static/../Cargo.toml").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/static/nope.js").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_secure_when_the_public_url_is_https() {
    let mut options = crate::common::Options::new(crate::common::Backend::Sqlite);
    options.config = Box::new(|config| config.cookie_secure = true);
    let app = crate::common::TestApp::spawn_with(options).await.unwrap();
    let response = app.client.get(app.url("/login")).send().await.unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
}

on_both_backends!(a_server_error_is_a_500_page_that_keeps_the_cause_out_of_sight,);

async fn a_server_error_is_a_500_page_that_keeps_the_cause_out_of_sight(app: TestApp) {
    app.create_user("alice").await;
    app.login("alice", PASSWORD).await;
    app.with_db(|conn| {
        use diesel::RunQueryDsl;
        diesel::sql_query("DROP TABLE organization_members")
            .execute(conn)
            .unwrap();
    })
    .await;
    let page = app.get("/organizations/").await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(page.contains("Something went wrong"));
    assert!(page.contains("Nothing was changed"));
    assert!(
        !page.contains("organization_members"),
        "no database details on the page"
    );
}
