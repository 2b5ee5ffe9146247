//! Sessions kept in Redis (`REDIS_URL`).

use reqwest::StatusCode;

use crate::common::{Backend, Options, PASSWORD, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_logout_ends_the_session_on_the_server_so_a_copied_cookie_is_dead() {
    let mut options = Options::new(Backend::Sqlite);
    options.redis = true;
    let Some(app) = TestApp::spawn_with(options).await else {
        return;
    };
    app.create_user("alice").await;
    app.login("alice", PASSWORD).await;
    let cookie = app.session_cookie().unwrap();
    assert_eq!(app.get("/organizations/").await.status, StatusCode::OK);
    app.post_form("/logout", &[]).await;
    app.set_session_cookie(&cookie);
    let page = app.get("/organizations/").await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "the old session id is dead on the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_sharing_redis_and_a_database_share_sessions() {
    let mut first = Options::new(Backend::Sqlite);
    first.redis = true;
    let Some(app) = TestApp::spawn_with(first).await else {
        return;
    };
    app.create_user("alice").await;
    app.login("alice", PASSWORD).await;
    let cookie = app.session_cookie().unwrap();
    let second = app.second_instance().await;
    let response = TestApp::new_client()
        .get(second.url("/organizations/"))
        .header(
            "cookie",
            format!("{}={cookie}", orgsettings::web::session::SESSION_COOKIE),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
