use thirtyfour::prelude::*;

use crate::browser::{click_button, fill, follow_link, log_in, screenshot, text_of, with_browser};
use crate::common::{Backend, PASSWORD, TestApp, next_totp_code, totp_code, unverify};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requiring_email_verification_turns_an_unverified_member_into_a_pending_invite() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Acme", "acme").await;
    let lee = app.create_user("lee").await;
    app.add_member(&org, &lee, orgsettings::models::role::Role::Member)
        .await;
    unverify(&app, &lee).await;
    with_browser("require-email", |driver| async move {
        log_in(
            &driver,
            &app.url("/login?next=/settings/acme/members/"),
            "owner",
        )
        .await;
        let members = text_of(&driver, "table.members").await;
        assert!(members.contains("lee"), "{members}");

        follow_link(&driver, "Security & Privacy").await;
        driver
            .find(By::Id("id_requireEmailVerification"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        click_button(&driver, "Save changes").await;
        let confirm = text_of(&driver, "#confirm").await;
        assert!(
            confirm.contains("1 member without it will be removed") && confirm.contains("lee"),
            "{confirm}"
        );
        click_button(&driver, "Confirm and save").await;
        assert_eq!(text_of(&driver, ".flash-success").await, "Changes saved.");
        assert_eq!(
            text_of(&driver, ".flash-info").await,
            orgsettings::web::settings_pages::JOBS_STARTED
        );

        // the removal runs after the save answered: reload until it shows
        follow_link(&driver, "Members").await;
        let mut members = text_of(&driver, "table.members").await;
        for _ in 0..50 {
            if !members.contains("lee@example.com") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            driver.refresh().await.unwrap();
            members = text_of(&driver, "table.members").await;
        }
        assert!(!members.contains("lee@example.com"), "{members}");
        let invites = text_of(&driver, "table.invites").await;
        assert!(invites.contains("lee@example.com"), "{invites}");
        screenshot(&driver, "members").await;
        follow_link(&driver, "Audit Log").await;
        assert!(
            text_of(&driver, "table.audit-log")
                .await
                .contains("required member lee@example.com to setup 2FA")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_sets_up_two_factor_and_logs_in_with_a_code() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.create_user("tess").await;
    with_browser("totp", |driver| async move {
        log_in(&driver, &app.url("/login?next=/account/security/"), "tess").await;
        let secret = text_of(&driver, "#totp-secret").await;
        screenshot(&driver, "security").await;
        fill(&driver, "code", &totp_code(&secret)).await;
        click_button(&driver, "Turn on two-factor authentication").await;
        assert_eq!(
            text_of(&driver, ".flash-success").await,
            "Two-factor authentication is on."
        );
        assert!(
            text_of(&driver, "#recovery-codes")
                .await
                .contains("shown only this once")
        );
        click_button(&driver, "Log out").await;

        fill(&driver, "username", "tess").await;
        fill(&driver, "password", PASSWORD).await;
        click_button(&driver, "Log in").await;
        assert!(
            driver
                .current_url()
                .await
                .unwrap()
                .as_str()
                .ends_with("/login/2fa/")
        );
        fill(&driver, "code", &next_totp_code(&secret)).await;
        click_button(&driver, "Log in").await;
        assert_eq!(text_of(&driver, "h1").await, "Organizations");
    })
    .await;
}
