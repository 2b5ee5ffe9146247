use thirtyfour::prelude::*;

use crate::browser::{click_button, fill, follow_link, log_in, screenshot, text_of, with_browser};
use crate::common::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_changes_settings_confirms_a_slug_change_and_reads_the_audit_log() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let owner = app.create_user("owner").await;
    app.create_org(&owner, "Acme", "acme").await;
    with_browser("settings", |driver| async move {
        log_in(&driver, &app.url("/login"), "owner").await;
        driver.goto(app.url("/settings/acme/")).await.unwrap();

        fill(&driver, "name", "Acme Corp").await;
        driver.find(By::Id("id_isEarlyAdopter")).await.unwrap().click().await.unwrap();
        fill(&driver, "apdexThreshold", "0").await;
        click_button(&driver, "Save changes").await;
        assert_eq!(text_of(&driver, "#error_apdexThreshold").await, "Ensure this value is greater than or equal to 1.");
        // the first field to fix has the keyboard focus
        let focused = driver.active_element().await.unwrap();
        assert_eq!(focused.attr("name").await.unwrap().as_deref(), Some("apdexThreshold"));
        fill(&driver, "apdexThreshold", "300").await;
        fill(&driver, "slug", "acme-corp").await;
        click_button(&driver, "Save changes").await;
        assert!(text_of(&driver, "#confirm").await.contains("Change the slug from \"acme\" to \"acme-corp\""));
        click_button(&driver, "Confirm and save").await;
        assert_eq!(text_of(&driver, ".flash-success").await, "Changes saved.");
        assert!(driver.current_url().await.unwrap().as_str().ends_with("/settings/acme-corp/"));
        let name = driver.find(By::Id("id_name")).await.unwrap();
        assert_eq!(name.value().await.unwrap().as_deref(), Some("Acme Corp"));
        assert!(driver.find(By::Id("id_isEarlyAdopter")).await.unwrap().is_selected().await.unwrap());

        follow_link(&driver, "Security & Privacy").await;
        driver.find(By::Id("id_dataScrubber")).await.unwrap().click().await.unwrap();
        fill(&driver, "sensitiveFields", "password\nsecret").await;
        click_button(&driver, "Save changes").await;
        assert_eq!(text_of(&driver, ".flash-success").await, "Changes saved.");
        screenshot(&driver, "security-and-privacy").await;

        follow_link(&driver, "Audit Log").await;
        let log = text_of(&driver, "table.audit-log").await;
        assert!(log.contains("edited the organization setting: dataScrubber to True, sensitiveFields to ['password', 'secret']"), "{log}");
        assert!(log.contains("name from Acme to Acme Corp, slug from acme to acme-corp, early_adopter to True"), "{log}");
        assert!(log.contains("created the organization"));
        screenshot(&driver, "audit-log").await;
    })
    .await;
}
