use thirtyfour::prelude::*;

use crate::browser::{click_button, fill, follow_link, log_in, text_of, with_browser};
use crate::common::{Backend, PASSWORD, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superuser_turns_on_superuser_mode_and_grants_a_permission() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.create_user_with("admin", true).await;
    let admin_id = admin.id;
    app.with_db(move |conn| {
        orgsettings::models::permission::add(conn, admin_id, "users.admin").unwrap()
    })
    .await;
    app.create_user_with("carol", true).await;
    with_browser("superuser", |driver| async move {
        log_in(&driver, &app.url("/login"), "admin").await;
        follow_link(&driver, "Manage").await;
        // the manage link asks for the password first
        assert!(
            driver
                .current_url()
                .await
                .unwrap()
                .as_str()
                .contains("/superuser/?next=/manage/")
        );
        fill(&driver, "password", PASSWORD).await;
        fill(&driver, "reason", "granting carol options.admin").await;
        click_button(&driver, "Turn on superuser mode").await;
        assert!(
            text_of(&driver, ".superuser-banner")
                .await
                .contains("Superuser mode is on")
        );
        follow_link(&driver, "Users").await;
        fill(&driver, "q", "carol").await;
        click_button(&driver, "Search").await;
        follow_link(&driver, "carol").await;
        let option = driver
            .find(By::Css("#id_permission option[value='options.admin']"))
            .await
            .unwrap();
        option.click().await.unwrap();
        click_button(&driver, "Add").await;
        assert_eq!(
            text_of(&driver, ".flash-success").await,
            "Added permission options.admin to carol."
        );
        assert!(
            text_of(&driver, "main")
                .await
                .contains("added permission options.admin to carol")
        );
        click_button(&driver, "Leave superuser mode").await;
        assert!(
            driver
                .find_all(By::Css(".superuser-banner"))
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}
