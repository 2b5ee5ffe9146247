use thirtyfour::prelude::*;

use crate::browser::{click_button, follow_link, log_in, text_of, with_browser};
use crate::common::images::png;
use crate::common::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_uploads_an_avatar_sees_it_in_the_sidebar_and_switches_back_to_initials() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let owner = app.create_user("owner").await;
    app.create_org(&owner, "Acme Corp", "acme").await;
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("logo.png");
    std::fs::write(&image, png(320, 320)).unwrap();
    let tiny = dir.path().join("tiny.png");
    std::fs::write(&tiny, png(64, 64)).unwrap();
    with_browser("avatar", |driver| async move {
        log_in(&driver, &app.url("/login?next=/settings/acme/"), "owner").await;
        // the sidebar starts with the initials
        assert_eq!(
            text_of(&driver, ".sidebar svg.letter-avatar text").await,
            "AC"
        );
        follow_link(&driver, "Avatar").await;
        assert!(
            text_of(&driver, "#help_avatar")
                .await
                .contains("at most 5 MB")
        );

        let file = driver.find(By::Id("id_avatar")).await.unwrap();
        file.send_keys(tiny.to_str().unwrap()).await.unwrap();
        click_button(&driver, "Save avatar").await;
        assert_eq!(
            text_of(&driver, "#error_avatar").await,
            "Invalid image dimensions. The image is 64×64 pixels: it must be at least 256×256."
        );
        // no preview (and no broken image) before a file is chosen
        assert!(
            !driver
                .find(By::Id("upload-figure"))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        );

        let file = driver.find(By::Id("id_avatar")).await.unwrap();
        file.send_keys(image.to_str().unwrap()).await.unwrap();
        // the chosen file is previewed before it is sent, and "upload" gets chosen
        let preview = driver.find(By::Id("upload-preview")).await.unwrap();
        preview.wait_until().displayed().await.unwrap();
        assert!(
            driver
                .find(By::Id("upload-figure"))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        );
        assert!(
            driver
                .find(By::Id("type_upload"))
                .await
                .unwrap()
                .is_selected()
                .await
                .unwrap()
        );
        click_button(&driver, "Save avatar").await;
        assert_eq!(text_of(&driver, ".flash-success").await, "Avatar saved.");
        let sidebar_image = driver.find(By::Css(".sidebar img.avatar")).await.unwrap();
        let src = sidebar_image.attr("src").await.unwrap().unwrap();
        assert!(
            src.starts_with("/organization-avatar/") && src.ends_with("?s=36"),
            "{src}"
        );
        let loaded: bool = driver
            .execute(
                "return arguments[0].complete && arguments[0].naturalWidth === 36;",
                vec![sidebar_image.to_json().unwrap()],
            )
            .await
            .unwrap()
            .convert()
            .unwrap();
        assert!(loaded, "the resized image loads");

        driver
            .find(By::Id("type_letter"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        click_button(&driver, "Save avatar").await;
        assert_eq!(
            text_of(&driver, ".sidebar svg.letter-avatar text").await,
            "AC"
        );
    })
    .await;
}
