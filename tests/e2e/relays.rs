use thirtyfour::prelude::*;

use crate::browser::{
    click_button, fill, follow_css, follow_link, log_in, screenshot, text_of, with_browser,
};
use crate::common::{Backend, TestApp};

const KEY: &str = "IbXZDWy8DcGLVoT_Z6-ODALEnsyhKiC_i-0r3azaztQ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_adds_edits_and_removes_a_relay() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let owner = app.create_user("owner").await;
    app.create_org(&owner, "Acme", "acme").await;
    with_browser("relays", |driver| async move {
        log_in(&driver, &app.url("/login?next=/settings/acme/"), "owner").await;
        follow_link(&driver, "Relays").await;

        fill(&driver, "name", "Office").await;
        fill(&driver, "publicKey", "not-a-key").await;
        click_button(&driver, "Add relay").await;
        assert_eq!(
            text_of(&driver, "#error_publicKey").await,
            "Invalid public key for relay key info with name:'Office' in Trusted Relays"
        );
        fill(&driver, "publicKey", KEY).await;
        fill(&driver, "description", "Berlin office").await;
        click_button(&driver, "Add relay").await;
        assert_eq!(
            text_of(&driver, ".flash-success").await,
            "Relay 'Office' added."
        );
        let table = text_of(&driver, "table.relays").await;
        assert!(
            table.contains(KEY) && table.contains("Berlin office"),
            "{table}"
        );
        // with JavaScript the copy button shows up
        assert!(
            driver
                .find(By::Css("button.copy"))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        );
        screenshot(&driver, "relays").await;

        follow_css(&driver, "a[aria-label='Edit Office']").await;
        let key = driver.find(By::Id("id_edit_key")).await.unwrap();
        assert_eq!(key.attr("readonly").await.unwrap().as_deref(), Some("true"));
        let name = driver.find(By::Id("id_edit_name")).await.unwrap();
        name.clear().await.unwrap();
        name.send_keys("Headquarters").await.unwrap();
        click_button(&driver, "Save relay").await;
        assert_eq!(
            text_of(&driver, ".flash-success").await,
            "Relay 'Headquarters' saved."
        );

        follow_css(&driver, "a[aria-label='Remove Headquarters']").await;
        assert!(
            text_of(&driver, "#confirm-remove")
                .await
                .contains("events it forwards will be dropped")
        );
        click_button(&driver, "Remove relay").await;
        assert!(
            text_of(&driver, ".flash-success")
                .await
                .starts_with("Relay 'Headquarters' removed.")
        );
        assert_eq!(
            text_of(&driver, "p.empty").await,
            "No relays are trusted yet."
        );
    })
    .await;
}
