use thirtyfour::prelude::*;

use crate::browser::{click_button, fill, follow_link, text_of, with_browser};
use crate::common::{Backend, PASSWORD, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_logs_in_creates_an_organization_and_sees_it_listed() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.create_user("alice").await;
    with_browser("login-create-org", |driver| async move {
        driver.goto(app.url("/organizations/")).await.unwrap();
        // sent to the login page, which brings the browser back afterwards
        assert!(
            driver
                .current_url()
                .await
                .unwrap()
                .as_str()
                .contains("/login?next=")
        );
        fill(&driver, "username", "ALICE").await;
        fill(&driver, "password", "wrong password").await;
        click_button(&driver, "Log in").await;
        assert_eq!(
            text_of(&driver, "#login_error").await,
            "Please enter a correct username and password."
        );
        fill(&driver, "password", PASSWORD).await;
        click_button(&driver, "Log in").await;
        assert_eq!(text_of(&driver, "h1").await, "Organizations");

        follow_link(&driver, "New organization").await;
        fill(&driver, "name", "Acme Corp").await;
        fill(&driver, "slug", "login").await;
        click_button(&driver, "Create organization").await;
        assert_eq!(
            text_of(&driver, "#error_slug").await,
            "This slug \"login\" is reserved and not allowed."
        );
        let name = driver.find(By::Css("[name=name]")).await.unwrap();
        assert_eq!(
            name.value().await.unwrap().as_deref(),
            Some("Acme Corp"),
            "input kept"
        );
        fill(&driver, "slug", "").await;
        click_button(&driver, "Create organization").await;
        assert_eq!(
            text_of(&driver, ".flash-success").await,
            "Organization Acme Corp created. You are its owner."
        );
        assert!(
            driver
                .current_url()
                .await
                .unwrap()
                .as_str()
                .ends_with("/settings/acme-corp/")
        );

        follow_link(&driver, "All organizations").await;
        let listed = text_of(&driver, ".org-list").await;
        assert!(
            listed.contains("Acme Corp") && listed.contains("Owner"),
            "{listed}"
        );
        let shot = driver.screenshot_as_png().await.unwrap();
        assert!(shot.starts_with(b"\x89PNG"));
    })
    .await;
}
