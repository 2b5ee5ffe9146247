//! Whole paths a person takes: joining an organization that requires two-factor authentication,
//! getting back into an account, building a data scrubbing rule, and making an API token for a
//! script and revoking it.

use thirtyfour::prelude::*;

use crate::browser::{
    click_button, fill, follow_css, follow_link, log_in, screenshot, text_of, with_browser,
};
use crate::common::{Backend, PASSWORD, TestApp, enrol_totp, link_in, outbox, totp_code};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitee_joins_an_organization_that_requires_two_factor_authentication() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Acme", "acme").await;
    app.login("owner", PASSWORD).await;
    enrol_totp(&app, &owner).await;
    let org_id = org.id;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::organizations as o;
        let bit = 1 << orgsettings::models::flags::Flag::Require2fa.bit();
        diesel::update(o::table.find(org_id))
            .set(o::flags.eq(o::flags + bit))
            .execute(conn)
            .unwrap();
    })
    .await;
    app.get("/settings/acme/members/").await;
    app.post_form(
        "/settings/acme/members/",
        &[
            ("action", "invite"),
            ("email", "erin@example.com"),
            ("role", "member"),
        ],
    )
    .await;
    let link = link_in(
        &outbox(&app).await.pop().unwrap().body_text,
        &app.base,
        "/accept/",
    )
    .unwrap();
    with_browser("invitee-2fa", |driver| async move {
        driver.goto(app.url(&link)).await.unwrap();
        assert!(
            text_of(&driver, "main")
                .await
                .contains("Acme requires two-factor authentication")
        );
        fill(&driver, "username", "erin").await;
        fill(&driver, "password", PASSWORD).await;
        fill(&driver, "password_confirm", PASSWORD).await;
        click_button(&driver, "Create account and join").await;
        // the account exists and is logged in; the invitation waits for the setup
        assert!(
            driver
                .current_url()
                .await
                .unwrap()
                .path()
                .ends_with("/account/security/")
        );
        assert!(
            text_of(&driver, ".flash-info")
                .await
                .contains("Your account erin is ready.")
        );
        screenshot(&driver, "invitee-2fa-setup").await;
        let secret = text_of(&driver, "#totp-secret").await;
        fill(&driver, "code", &totp_code(&secret)).await;
        click_button(&driver, "Turn on two-factor authentication").await;
        assert!(text_of(&driver, "main").await.contains("Welcome to Acme."));
        assert!(
            text_of(&driver, "#recovery-codes")
                .await
                .contains("shown only this once")
        );
        follow_link(&driver, "I saved them: continue to Acme").await;
        assert_eq!(text_of(&driver, "h1").await, "Organization settings");
        assert!(text_of(&driver, ".org-badge").await.contains("Acme"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_who_forgot_their_password_resets_it_by_email_and_logs_in() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.create_user("alice").await;
    with_browser("password-reset", |driver| async move {
        driver.goto(app.url("/login")).await.unwrap();
        follow_link(&driver, "Forgot password?").await;
        fill(&driver, "login", "alice@example.com").await;
        click_button(&driver, "Send reset link").await;
        assert!(
            text_of(&driver, "#recover_sent")
                .await
                .contains("If an account matches")
        );
        let mail = outbox(&app).await.pop().unwrap();
        let link = link_in(&mail.body_text, &app.base, "/account/recover/confirm/").unwrap();
        driver.goto(app.url(&link)).await.unwrap();
        assert!(
            text_of(&driver, "main")
                .await
                .contains("For the account alice.")
        );
        fill(&driver, "password", "a new password").await;
        fill(&driver, "password_confirm", "another one").await;
        click_button(&driver, "Set password").await;
        assert_eq!(
            text_of(&driver, "#error_password_confirm").await,
            "The two passwords do not match."
        );
        fill(&driver, "password", "a new password").await;
        fill(&driver, "password_confirm", "a new password").await;
        click_button(&driver, "Set password").await;
        assert!(
            text_of(&driver, ".flash-success")
                .await
                .contains("The password of alice is changed.")
        );
        fill(&driver, "username", "alice").await;
        fill(&driver, "password", "a new password").await;
        click_button(&driver, "Log in").await;
        assert_eq!(text_of(&driver, "h1").await, "Organizations");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_builds_a_data_scrubbing_rule_and_removes_it() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let owner = app.create_user("owner").await;
    app.create_org(&owner, "Acme", "acme").await;
    with_browser("rule-builder", |driver| async move {
        log_in(
            &driver,
            &app.url("/login?next=/settings/acme/security-and-privacy/"),
            "owner",
        )
        .await;
        // the regex and placeholder fields show only when they apply
        let pattern = driver.find(By::Id("id_pattern")).await.unwrap();
        assert!(!pattern.is_displayed().await.unwrap());
        driver
            .find(By::Css("#id_dataType option[value='pattern']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert!(pattern.is_displayed().await.unwrap());
        driver
            .find(By::Css("#id_method option[value='replace']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        fill(&driver, "pattern", "tok_[0-9a-f]{8}").await;
        fill(&driver, "replacement", "[token]").await;
        fill(&driver, "source", "$http.headers").await;
        let add = driver
            .query(By::XPath("//button[normalize-space()='Add rule']"))
            .first()
            .await
            .unwrap();
        add.scroll_into_view().await.unwrap();
        let page = driver.find(By::Css("html")).await.unwrap();
        add.click().await.unwrap();
        page.wait_until().stale().await.unwrap();
        assert_eq!(
            text_of(&driver, ".flash-success").await,
            "Rule added: Replace matches of tok_[0-9a-f]{8} with [token] in $http.headers."
        );
        let json = driver
            .find(By::Id("id_relayPiiConfig"))
            .await
            .unwrap()
            .value()
            .await
            .unwrap()
            .unwrap();
        assert!(
            json.contains("\"tok_[0-9a-f]{8}\"") && json.contains("\"$http.headers\""),
            "{json}"
        );
        screenshot(&driver, "rule-builder").await;

        let remove = driver
            .find(By::Css("a[aria-label^='Remove the rule']"))
            .await
            .unwrap();
        remove.scroll_into_view().await.unwrap();
        let page = driver.find(By::Css("html")).await.unwrap();
        remove.click().await.unwrap();
        page.wait_until().stale().await.unwrap();
        assert!(
            text_of(&driver, "#confirm-rule")
                .await
                .contains("Remove the rule")
        );
        click_button(&driver, "Remove rule").await;
        assert_eq!(text_of(&driver, ".flash-success").await, "Rule removed.");
        let json = driver
            .find(By::Id("id_relayPiiConfig"))
            .await
            .unwrap()
            .value()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(json, "");
    })
    .await;
}

/// `GET /api/0/organizations/acme/` as a script would send it, with `token`.
async fn script_reads_acme(app: &TestApp, token: &str) -> (reqwest::StatusCode, serde_json::Value) {
    let response = TestApp::new_client()
        .get(app.url("/api/0/organizations/acme/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_makes_a_token_for_a_script_and_revokes_it() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let owner = app.create_user("owner").await;
    app.create_org(&owner, "Acme", "acme").await;
    with_browser("api-token", |driver| async move {
        log_in(
            &driver,
            &app.url("/login?next=/account/api-tokens/"),
            "owner",
        )
        .await;
        assert_eq!(text_of(&driver, "h1").await, "API tokens");
        fill(&driver, "name", "nightly report").await;
        // org:read is ticked already; add member:read
        let org_read = driver.find(By::Id("scope_org_read")).await.unwrap();
        assert!(org_read.is_selected().await.unwrap());
        let member_read = driver.find(By::Id("scope_member_read")).await.unwrap();
        member_read.scroll_into_view().await.unwrap();
        member_read.click().await.unwrap();
        assert!(member_read.is_selected().await.unwrap());
        click_button(&driver, "Make token").await;
        assert_eq!(
            text_of(&driver, ".flash-success").await,
            "Token made. Copy it now: it is shown only this once."
        );
        let token = text_of(&driver, "#new-token-text").await;
        assert!(token.starts_with("sntryu_") && token.len() == 71, "{token}");
        let copy = driver
            .find(By::Css("#new-token button.copy"))
            .await
            .unwrap();
        assert!(
            copy.is_displayed().await.unwrap(),
            "the script shows the copy button"
        );
        screenshot(&driver, "api-token-made").await;

        // the script reads the organization with it
        let (status, body) = script_reads_acme(&app, &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["slug"], "acme");
        let access = body["access"].as_array().unwrap();
        assert_eq!(access.len(), 2, "{body}");
        assert!(access.contains(&"org:read".into()) && access.contains(&"member:read".into()));

        // a reload no longer shows it; the list names it by its last characters
        driver.refresh().await.unwrap();
        assert!(
            driver
                .find_all(By::Id("new-token-text"))
                .await
                .unwrap()
                .is_empty()
        );
        let listed = text_of(&driver, "table.api-tokens tbody").await;
        assert!(listed.contains("nightly report"), "{listed}");
        assert!(listed.contains(&token[token.len() - 4..]), "{listed}");
        assert!(!driver.source().await.unwrap().contains(&token));

        follow_css(&driver, "a[aria-label^='Revoke the token nightly report']").await;
        assert!(
            text_of(&driver, "#confirm-title")
                .await
                .contains("nightly report")
        );
        click_button(&driver, "Revoke token").await;
        assert!(
            text_of(&driver, ".flash-success")
                .await
                .contains("is revoked: it works no more.")
        );
        assert_eq!(text_of(&driver, "main .empty").await, "No tokens yet.");

        let (status, body) = script_reads_acme(&app, &token).await;
        assert_eq!(status, 401);
        assert_eq!(body["detail"], "Invalid token");
    })
    .await;
}
