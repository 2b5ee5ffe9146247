//! The settings pages: `/settings/{org}/` and `/settings/{org}/security-and-privacy/`.

use orgsettings::models::role::Role;
use orgsettings::settings::save::{ERR_EMAIL_VERIFICATION, ERR_NO_2FA};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{Backend, Edit, PASSWORD, TestApp, audit_entries, enrol_totp};
use crate::on_both_backends;

const GENERAL: &str = "/settings/acme/";
const SECURITY: &str = "/settings/acme/security-and-privacy/";

on_both_backends!(
    an_owner_changes_general_settings_and_sees_them_saved_and_audited,
    the_security_page_saves_flags_lists_and_a_pii_config,
    submitting_the_form_unchanged_saves_nothing_and_writes_no_entry,
    bad_input_is_refused_next_to_each_field_with_the_input_kept_and_nothing_saved,
    each_slug_rule_is_refused_next_to_the_slug,
    a_slug_change_is_confirmed_first_then_old_urls_redirect_until_taken,
    turning_off_the_data_scrubber_asks_for_confirmation,
    members_and_the_retired_admin_role_read_the_settings_but_cannot_save,
    a_manager_saves_settings_but_not_the_owner_only_default_role,
    another_admins_change_is_not_overwritten_and_the_conflict_is_shown,
    requiring_email_verification_needs_your_own_verified_email_and_is_audited,
    requiring_two_factor_needs_your_own_two_factor,
    legacy_rate_limits_appear_only_where_the_organization_has_them,
    the_require_email_verification_field_is_hidden_when_its_feature_is_off,
    the_settings_page_takes_the_same_few_queries_however_many_options_are_set,
    a_rename_through_the_api_takes_a_fixed_few_statements,
    options_changed_anywhere_show_on_the_next_read,
    the_kept_form_fields_show_the_row_read_now_and_the_viewers_own_role,
    a_tampered_select_gets_the_apis_own_message,
    a_requirement_everyone_meets_saves_without_saying_members_are_moved,
    a_stored_value_the_select_does_not_offer_is_shown_and_kept_by_a_save,
);

async fn an_owner_changes_general_settings_and_sees_them_saved_and_audited(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let page = app
        .submit_form(
            GENERAL,
            &[
                Edit::Set("name", "Acme Corp"),
                Edit::Set("defaultRole", "manager"),
                Edit::Uncheck("openMembership"),
                Edit::Set("isEarlyAdopter", "true"),
                Edit::Set("attachmentsRole", "owner"),
                Edit::Set("apdexThreshold", "250"),
            ],
        )
        .await;
    page.assert_redirect(GENERAL);
    let shown = app.get(GENERAL).await;
    assert!(shown.contains("Changes saved."));
    assert_eq!(shown.input_value("name").as_deref(), Some("Acme Corp"));
    assert_eq!(shown.selected("defaultRole").as_deref(), Some("manager"));
    assert!(!shown.is_checked("openMembership"));
    assert!(shown.is_checked("isEarlyAdopter"));
    assert_eq!(shown.selected("attachmentsRole").as_deref(), Some("owner"));
    assert_eq!(shown.input_value("apdexThreshold").as_deref(), Some("250"));

    let entries = audit_entries(&app, org.id).await;
    let (event, data) = entries.last().unwrap();
    assert_eq!(event, "org.edit");
    assert_eq!(
        data,
        &json!({
            "attachmentsRole": "to owner",
            "apdexThreshold": "to 250",
            "name": "from Acme to Acme Corp",
            "default_role": "from member to manager",
            "allow_joinleave": "to False",
            "early_adopter": "to True",
        })
    );
    let keys: Vec<&String> = data.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "attachmentsRole",
            "apdexThreshold",
            "name",
            "default_role",
            "allow_joinleave",
            "early_adopter"
        ],
        "Sentry's order"
    );
}

async fn the_security_page_saves_flags_lists_and_a_pii_config(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let config = r#"{"applications": {"$string": ["@ip"]}}"#;
    let page = app
        .submit_form(
            SECURITY,
            &[
                Edit::Uncheck("allowSharedIssues"),
                Edit::Set("enhancedPrivacy", "true"),
                Edit::Set("dataScrubber", "true"),
                Edit::Set("sensitiveFields", "password\r\nsecret_key\r\n"),
                Edit::Set("safeFields", "$frame.vars"),
                Edit::Set("storeCrashReports", "-1"),
                Edit::Set("relayPiiConfig", config),
            ],
        )
        .await;
    page.assert_redirect(SECURITY);
    let shown = app.get(SECURITY).await;
    assert!(!shown.is_checked("allowSharedIssues"));
    assert!(shown.is_checked("dataScrubber"));
    assert_eq!(
        shown.textarea("sensitiveFields").as_deref(),
        Some("password\nsecret_key")
    );
    assert_eq!(shown.textarea("relayPiiConfig").as_deref(), Some(config));
    assert_eq!(shown.selected("storeCrashReports").as_deref(), Some("-1"));
    let (_, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(
        data,
        json!({
            "dataScrubber": "to True",
            "sensitiveFields": "to ['password', 'secret_key']",
            "safeFields": "to ['$frame.vars']",
            "storeCrashReports": "to -1",
            "relayPiiConfig": format!("to {config}"),
            "enhanced_privacy": "to True",
            "disable_shared_issues": "to True",
        })
    );
}

async fn submitting_the_form_unchanged_saves_nothing_and_writes_no_entry(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let before = audit_entries(&app, org.id).await.len();
    app.submit_form(GENERAL, &[]).await.assert_redirect(GENERAL);
    assert!(app.get(GENERAL).await.contains("No changes to save."));
    app.submit_form(SECURITY, &[])
        .await
        .assert_redirect(SECURITY);
    assert_eq!(audit_entries(&app, org.id).await.len(), before);
}

async fn bad_input_is_refused_next_to_each_field_with_the_input_kept_and_nothing_saved(
    app: TestApp,
) {
    let org = app.owner_of_acme().await.1;
    let long_name = "n".repeat(65);
    let before = audit_entries(&app, org.id).await.len();
    let page = app
        .submit_form(
            GENERAL,
            &[
                Edit::Set("name", Box::leak(long_name.into_boxed_str())),
                Edit::Set("apdexThreshold", "fast"),
                Edit::Set("debugFilesRole", "boss"),
                Edit::Uncheck("openMembership"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        page.field_error("name").as_deref(),
        Some("Ensure this field has no more than 64 characters.")
    );
    assert_eq!(
        page.field_error("apdexThreshold").as_deref(),
        Some("A valid integer is required.")
    );
    assert_eq!(
        page.field_error("debugFilesRole").as_deref(),
        Some("Invalid role")
    );
    assert_eq!(page.input_value("apdexThreshold").as_deref(), Some("fast"));
    assert!(
        !page.is_checked("openMembership"),
        "the unchecked box stays unchecked"
    );
    assert!(page.contains("Some settings need fixing; nothing was saved."));
    assert_eq!(audit_entries(&app, org.id).await.len(), before);
    assert_eq!(
        app.get(GENERAL).await.input_value("name").as_deref(),
        Some("Acme")
    );

    let security = app
        .submit_form(
            SECURITY,
            &[
                Edit::Set(
                    "sensitiveFields",
                    Box::leak(
                        format!("{}\n{}", "a".repeat(2000), "b".repeat(2001)).into_boxed_str(),
                    ),
                ),
                Edit::Set("safeFields", "$http.headers\nfoo bar\n$bogus"),
                Edit::Set("relayPiiConfig", "{\"rules\": null}"),
                Edit::Set("storeCrashReports", "101"),
            ],
        )
        .await;
    assert_eq!(security.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        security.field_error("sensitiveFields").as_deref(),
        Some("List of sensitive fields is too long.")
    );
    assert_eq!(
        security.field_error("safeFields").as_deref(),
        Some("Invalid syntax near \"foo bar\" (line 2),\nUnknown value (line 3)")
    );
    assert_eq!(
        security.field_error("relayPiiConfig").as_deref(),
        Some(
            "A value has the wrong type: null where a map is needed (line 1, column 14). Relay \
             says: invalid type: null, expected a map at line 1 column 14"
        ),
        "in words on the page; the API keeps Relay's text alone"
    );
    assert_eq!(
        security.field_error("storeCrashReports").as_deref(),
        Some("Ensure this value is less than or equal to 100.")
    );
    assert_eq!(
        security.textarea("safeFields").as_deref(),
        Some("$http.headers\nfoo bar\n$bogus")
    );

    let empty_line = app
        .submit_form(
            SECURITY,
            &[Edit::Set("sensitiveFields", "password\n\nsecret")],
        )
        .await;
    assert_eq!(
        empty_line.field_error("sensitiveFields").as_deref(),
        Some("Empty values are not allowed (line 2).")
    );
    assert_eq!(audit_entries(&app, org.id).await.len(), before);
}

async fn each_slug_rule_is_refused_next_to_the_slug(app: TestApp) {
    let owner_org = app.owner_of_acme().await.1;
    let other = app.create_user("other").await;
    app.create_org(&other, "Taken", "taken").await;
    let cases: [(&'static str, &str); 5] = [
        (
            "ab",
            "This slug \"ab\" is too short. Minimum of 3 characters.",
        ),
        ("api", "This slug \"api\" is reserved and not allowed."),
        ("taken", "The slug \"taken\" is already in use."),
        (
            "foo bar",
            "The slug \"foo bar\" should not contain any whitespace.",
        ),
        ("1234", orgsettings::models::slug::PATTERN_MESSAGE),
    ];
    for (slug, message) in cases {
        let page = app
            .submit_form(
                GENERAL,
                &[Edit::Set("slug", slug), Edit::Set("_confirm", "1")],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{slug}");
        assert_eq!(page.field_error("slug").as_deref(), Some(message), "{slug}");
        assert_eq!(page.input_value("slug").as_deref(), Some(slug));
    }
    assert_eq!(app.get(GENERAL).await.status, StatusCode::OK);
    assert_eq!(owner_org.slug, "acme");
}

async fn a_slug_change_is_confirmed_first_then_old_urls_redirect_until_taken(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let asked = app
        .submit_form(GENERAL, &[Edit::Set("slug", "acme-corp")])
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.contains("Please confirm"));
    assert!(asked.contains("Change the slug from \"acme\" to \"acme-corp\""));
    assert_eq!(
        asked.input_value("slug").as_deref(),
        Some("acme-corp"),
        "input kept"
    );
    assert_eq!(
        app.get(GENERAL).await.status,
        StatusCode::OK,
        "not saved yet"
    );

    let asked = app
        .submit_form(GENERAL, &[Edit::Set("slug", "acme-corp")])
        .await;
    let saved = app.resubmit(&asked, GENERAL, &[]).await;
    saved.assert_redirect("/settings/acme-corp/");
    let moved = app.get("/settings/acme/security-and-privacy/?x=1").await;
    assert_eq!(moved.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        moved.location.as_deref(),
        Some("/settings/acme-corp/security-and-privacy/?x=1")
    );
    let (_, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(data, json!({"slug": "from acme to acme-corp"}));

    // someone outside the organization does not learn its new slug
    app.create_user("outsider").await;
    let outsider = app.visitor();
    outsider.login("outsider", PASSWORD).await;
    assert_eq!(
        outsider.get("/settings/acme/").await.status,
        StatusCode::NOT_FOUND
    );

    // another organization takes the old slug: it is theirs now
    app.visitor().get("/login").await;
    let stranger = app.create_user("stranger").await;
    app.create_org(&stranger, "New Acme", "acme").await;
    assert_eq!(app.get(GENERAL).await.status, StatusCode::NOT_FOUND);
}

async fn turning_off_the_data_scrubber_asks_for_confirmation(app: TestApp) {
    app.owner_of_acme().await;
    app.submit_form(SECURITY, &[Edit::Set("dataScrubber", "true")])
        .await
        .assert_redirect(SECURITY);
    let asked = app
        .submit_form(SECURITY, &[Edit::Uncheck("dataScrubber")])
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.contains("Stop requiring the data scrubber"));
    assert!(
        !asked.is_checked("dataScrubber"),
        "the user's choice is kept"
    );
    assert!(
        app.get(SECURITY).await.is_checked("dataScrubber"),
        "not saved before confirming"
    );
    let asked = app
        .submit_form(SECURITY, &[Edit::Uncheck("dataScrubber")])
        .await;
    app.resubmit(&asked, SECURITY, &[])
        .await
        .assert_redirect(SECURITY);
    assert!(!app.get(SECURITY).await.is_checked("dataScrubber"));
}

async fn members_and_the_retired_admin_role_read_the_settings_but_cannot_save(app: TestApp) {
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Acme", "acme").await;
    for (name, role) in [("member", Role::Member), ("admin", Role::Admin)] {
        let user = app.create_user(name).await;
        app.add_member(&org, &user, role).await;
        let visitor = app.visitor();
        visitor.login(name, PASSWORD).await;
        let page = visitor.get(GENERAL).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("Only owners and managers can change them."));
        assert!(page.is_disabled("name"));
        assert!(!page.contains("Save changes"));
        let refused = visitor.post_form(GENERAL, &[("name", "Hacked")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{name}");
    }
    assert_eq!(
        app.with_db(
            move |conn| orgsettings::models::organization::Organization::find(conn, org.id)
                .unwrap()
                .name
        )
        .await,
        "Acme"
    );
}

async fn a_manager_saves_settings_but_not_the_owner_only_default_role(app: TestApp) {
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Acme", "acme").await;
    let manager = app.create_user("manager").await;
    app.add_member(&org, &manager, Role::Manager).await;
    app.login("manager", PASSWORD).await;
    let page = app.get(GENERAL).await;
    assert!(page.is_disabled("defaultRole"));
    assert!(
        !page.contains("Remove organization"),
        "the danger zone is for owners"
    );
    let saved = app
        .submit_form(GENERAL, &[Edit::Set("name", "Managed")])
        .await;
    saved.assert_redirect(GENERAL);
    // a forged defaultRole field is ignored for managers
    let forged = app
        .submit_form(GENERAL, &[Edit::Set("defaultRole", "owner")])
        .await;
    forged.assert_redirect(GENERAL);
    let org = app
        .with_db(move |conn| {
            orgsettings::models::organization::Organization::find(conn, org.id).unwrap()
        })
        .await;
    assert_eq!(
        (org.name.as_str(), org.default_role.id()),
        ("Managed", "member")
    );
}

async fn another_admins_change_is_not_overwritten_and_the_conflict_is_shown(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let manager = app.create_user("manager").await;
    app.add_member(&org, &manager, Role::Manager).await;
    let other = app.visitor();
    other.login("manager", PASSWORD).await;

    // both open the page; the manager saves a new name and turns off open membership first
    let mine = app.get(GENERAL).await;
    other
        .submit_form(
            GENERAL,
            &[
                Edit::Set("name", "Their Name"),
                Edit::Uncheck("openMembership"),
            ],
        )
        .await
        .assert_redirect(GENERAL);

    // a different field merges without a conflict, and keeps their changes
    let merged = app
        .resubmit(&mine, GENERAL, &[Edit::Set("isEarlyAdopter", "true")])
        .await;
    merged.assert_redirect(GENERAL);
    let now = app.get(GENERAL).await;
    assert_eq!(now.input_value("name").as_deref(), Some("Their Name"));
    assert!(now.is_checked("isEarlyAdopter"));
    assert!(
        !now.is_checked("openMembership"),
        "their unchecked box was not re-checked by my stale form"
    );

    // the same field from a stale form is a conflict: shown, not saved
    let stale = app.get(GENERAL).await;
    other
        .submit_form(GENERAL, &[Edit::Set("name", "Newer Name")])
        .await
        .assert_redirect(GENERAL);
    let conflict = app
        .resubmit(
            &stale,
            GENERAL,
            &[
                Edit::Set("name", "My Name"),
                Edit::Set("apdexThreshold", "300"),
            ],
        )
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert!(conflict.contains("Someone else changed these settings while you were editing them."));
    assert!(
        conflict.contains("<strong>Name</strong> is now “Newer Name”; you entered “My Name”."),
        "{}",
        conflict.body
    );
    assert_eq!(
        conflict.input_value("name").as_deref(),
        Some("My Name"),
        "my input is kept"
    );
    assert_eq!(
        app.get(GENERAL)
            .await
            .input_value("apdexThreshold")
            .as_deref(),
        Some(""),
        "nothing of mine was saved"
    );
    // saving again applies my version
    let again = app.resubmit(&conflict, GENERAL, &[]).await;
    again.assert_redirect(GENERAL);
    let now = app.get(GENERAL).await;
    assert_eq!(now.input_value("name").as_deref(), Some("My Name"));
    assert_eq!(now.input_value("apdexThreshold").as_deref(), Some("300"));
}

async fn requiring_email_verification_needs_your_own_verified_email_and_is_audited(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    app.submit_form(SECURITY, &[Edit::Set("requireEmailVerification", "true")])
        .await
        .assert_redirect(SECURITY);
    assert!(
        app.get(SECURITY)
            .await
            .is_checked("requireEmailVerification")
    );
    let (_, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(data, json!({"require_email_verification": "to True"}));

    let unverified = app.create_user("unverified").await;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::user_emails;
        diesel::update(user_emails::table.filter(user_emails::user_id.eq(unverified.id)))
            .set(user_emails::is_verified.eq(false))
            .execute(conn)
            .unwrap();
    })
    .await;
    let their_org = app
        .create_org(
            &app.with_db(|conn| {
                orgsettings::models::user::User::find_by_login(conn, "unverified")
                    .unwrap()
                    .remove(0)
            })
            .await,
            "Theirs",
            "theirs",
        )
        .await;
    let visitor = app.visitor();
    visitor.login("unverified", PASSWORD).await;
    let page = visitor
        .submit_form(
            "/settings/theirs/security-and-privacy/",
            &[Edit::Set("requireEmailVerification", "true")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        page.field_error("requireEmailVerification").as_deref(),
        Some(ERR_EMAIL_VERIFICATION)
    );
    assert_eq!(their_org.flags.bits() & 64, 0);
}

async fn requiring_two_factor_needs_your_own_two_factor(app: TestApp) {
    let (owner, org) = app.owner_of_acme().await;
    // a member it would remove: the refusal still comes first, not a confirmation
    let lee = app.create_user("lee").await;
    app.add_member(&org, &lee, Role::Member).await;
    let page = app
        .submit_form(SECURITY, &[Edit::Set("require2FA", "true")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(page.field_error("require2FA").as_deref(), Some(ERR_NO_2FA));
    assert!(!page.contains("Please confirm"), "{}", page.body);
    assert!(page.contains(
        "href=\"/account/security/?next=%2Fsettings%2Facme%2Fsecurity-and-privacy%2F\">Set up two-factor authentication</a>"
    ));
    assert!(!app.get(SECURITY).await.is_checked("require2FA"));

    // once enrolled, the confirmation names lee, and the notice about moving members follows
    enrol_totp(&app, &owner).await;
    let asked = app
        .submit_form(SECURITY, &[Edit::Set("require2FA", "true")])
        .await;
    assert!(
        asked.contains("Please confirm") && asked.contains("lee"),
        "{}",
        asked.body
    );
    app.resubmit(&asked, SECURITY, &[])
        .await
        .assert_redirect(SECURITY);
    let saved = app.get(SECURITY).await;
    assert!(saved.contains(orgsettings::web::settings_pages::JOBS_STARTED));
}

async fn a_requirement_everyone_meets_saves_without_saying_members_are_moved(app: TestApp) {
    let (owner, _) = app.owner_of_acme().await;
    enrol_totp(&app, &owner).await;
    app.submit_form(SECURITY, &[Edit::Set("require2FA", "true")])
        .await
        .assert_redirect(SECURITY);
    let saved = app.get(SECURITY).await;
    assert!(saved.contains("Changes saved.") && saved.is_checked("require2FA"));
    assert!(!saved.contains(orgsettings::web::settings_pages::JOBS_STARTED));
}

async fn legacy_rate_limits_appear_only_where_the_organization_has_them(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    assert!(!app.get(GENERAL).await.contains("name=\"accountRateLimit\""));
    let org_id = org.id;
    app.with_db(move |conn| {
        orgsettings::models::option::set_value(
            conn,
            org_id,
            "sentry:account-rate-limit",
            &json!(500),
        )
        .unwrap()
    })
    .await;
    let page = app.get(GENERAL).await;
    assert_eq!(page.input_value("accountRateLimit").as_deref(), Some("500"));
    assert_eq!(page.input_value("projectRateLimit").as_deref(), Some("100"));
    let saved = app
        .submit_form(
            GENERAL,
            &[
                Edit::Set("accountRateLimit", "1000"),
                Edit::Set("projectRateLimit", "49"),
            ],
        )
        .await;
    assert_eq!(
        saved.field_error("projectRateLimit").as_deref(),
        Some("Ensure this value is greater than or equal to 50.")
    );
    app.submit_form(GENERAL, &[Edit::Set("accountRateLimit", "1000")])
        .await
        .assert_redirect(GENERAL);
    let (_, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(data, json!({"accountRateLimit": "from 500 to 1000"}));
}

async fn the_require_email_verification_field_is_hidden_when_its_feature_is_off(app: TestApp) {
    drop(app);
    let mut options = crate::common::Options::new(crate::common::Backend::Sqlite);
    options.config = Box::new(|s| {
        s.features =
            orgsettings::config::Features::parse("-organizations:required-email-verification")
                .unwrap()
    });
    let app = TestApp::spawn_with(options).await.unwrap();
    app.owner_of_acme().await;
    assert!(!app.get(SECURITY).await.contains("requireEmailVerification"));
}

async fn the_settings_page_takes_the_same_few_queries_however_many_options_are_set(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    app.get(GENERAL).await;
    let before = app.queries();
    app.get(GENERAL).await;
    let bare = app.queries() - before;
    let org_id = org.id;
    app.with_db(move |conn| {
        for def in orgsettings::settings::options::OPTIONS.iter() {
            orgsettings::models::option::set_value(conn, org_id, def.key, &def.default_value())
                .unwrap();
        }
    })
    .await;
    let before = app.queries();
    app.get(GENERAL).await;
    let first = app.queries() - before;
    let before = app.queries();
    app.get(GENERAL).await;
    let full = app.queries() - before;
    assert_eq!(bare, full);
    // the session; its user with the organization, the member's role and the avatar (a
    // connection that has just answered is handed out without the pool's check); the options
    // only on the first view after they changed, later ones find them kept
    assert_eq!(
        (first, full),
        (3, 2),
        "queries after the change, and after that"
    );
}

async fn options_changed_anywhere_show_on_the_next_read(app: TestApp) {
    // kept options are good while the organization's options_version stands; the database moves
    // it on for every write to an option row, whoever makes it
    let org = app.owner_of_acme().await.1;
    let api = "/api/0/organizations/acme/";
    let crash_reports = |body: serde_json::Value| body["storeCrashReports"].clone();
    assert_eq!(crash_reports(app.api_get(api).await.1), json!(0));
    // a hand-made insert, update and delete, behind the server's back
    for (sql, shown) in [
        (
            "INSERT INTO organization_options (organization_id, key, value) \
             VALUES ({org}, 'sentry:store_crash_reports', '5')",
            json!(5),
        ),
        (
            "UPDATE organization_options SET value = '9' WHERE organization_id = {org} \
             AND key = 'sentry:store_crash_reports'",
            json!(9),
        ),
        (
            "DELETE FROM organization_options WHERE organization_id = {org} \
             AND key = 'sentry:store_crash_reports'",
            json!(0),
        ),
    ] {
        let sql = sql.replace("{org}", &org.id.to_string());
        app.with_db(move |conn| {
            diesel::RunQueryDsl::execute(diesel::sql_query(sql), conn).unwrap()
        })
        .await;
        assert_eq!(crash_reports(app.api_get(api).await.1), shown);
        assert_eq!(
            app.get(SECURITY)
                .await
                .selected("storeCrashReports")
                .as_deref(),
            Some(shown.to_string().as_str())
        );
    }
    // another instance on the same database saves; this one reads the new value at once
    let second = app.second_instance().await;
    let cookie = app.session_cookie().unwrap();
    let csrf = app.csrf_token().await;
    let response = TestApp::new_client()
        .put(second.url(api))
        .header(
            "cookie",
            format!("{}={cookie}", orgsettings::web::session::SESSION_COOKIE),
        )
        .header("x-csrftoken", csrf)
        .header("referer", second.url("/"))
        .json(&json!({"storeCrashReports": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(crash_reports(app.api_get(api).await.1), json!(7));
    // a save compares with the options at its locked row's version, not with ones kept earlier:
    // 11 stored by hand just before it is already the value, so nothing changes and no entry
    let sql = format!(
        "UPDATE organization_options SET value = '11' WHERE organization_id = {} \
         AND key = 'sentry:store_crash_reports'",
        org.id
    );
    app.with_db(move |conn| diesel::RunQueryDsl::execute(diesel::sql_query(sql), conn).unwrap())
        .await;
    let entries = audit_entries(&app, org.id).await.len();
    let (status, body) = app.api_put(api, json!({"storeCrashReports": 11})).await;
    assert_eq!(
        (status, crash_reports(body)),
        (reqwest::StatusCode::OK, json!(11))
    );
    assert_eq!(
        audit_entries(&app, org.id).await.len(),
        entries,
        "no change to record"
    );
}

async fn the_kept_form_fields_show_the_row_read_now_and_the_viewers_own_role(app: TestApp) {
    // the fields' HTML is kept per organization, page and role while the row read by the request
    // is the one they were rendered from (the row's options_version stands for the options)
    let (_, org) = app.owner_of_acme().await;
    let manager = app.create_user("manager").await;
    app.add_member(&org, &manager, Role::Manager).await;
    let kept = || app.state.form_fields.size().0;
    let owner_page = app.get(GENERAL).await;
    assert_eq!(owner_page.input_value("name").as_deref(), Some("Acme"));
    assert!(!owner_page.is_disabled("defaultRole"));
    assert_eq!(kept(), 1, "rendered once and kept");
    assert_eq!(
        app.get(GENERAL).await.input_value("name").as_deref(),
        Some("Acme")
    );
    assert_eq!(kept(), 1, "the second view used what was kept");
    // a manager gets fields of their own: the owner-only default role disabled
    let as_manager = app.visitor_logged_in("manager").await;
    assert!(as_manager.get(GENERAL).await.is_disabled("defaultRole"));
    assert!(!app.get(GENERAL).await.is_disabled("defaultRole"));
    assert_eq!(kept(), 2);
    // the row changed behind the server's back: name, flags, default role
    let sql = format!(
        "UPDATE organizations SET name = 'Hand & Made', flags = 0, default_role = 'manager' \
         WHERE id = {}",
        org.id
    );
    app.with_db(move |conn| diesel::RunQueryDsl::execute(diesel::sql_query(sql), conn).unwrap())
        .await;
    let page = app.get(GENERAL).await;
    // (escaped: the kept HTML goes into the page as it is, so it is escaped when rendered)
    assert_eq!(page.input_value("name").as_deref(), Some("Hand &#38; Made"));
    assert_eq!(page.selected("defaultRole").as_deref(), Some("manager"));
    assert!(!page.is_checked("openMembership"));
    // a form that comes back with errors shows the user's input, not the kept fields
    let refused = app
        .submit_form(GENERAL, &[Edit::Set("apdexThreshold", "-5")])
        .await;
    assert!(refused.field_error("apdexThreshold").is_some());
    assert_eq!(refused.input_value("apdexThreshold").as_deref(), Some("-5"));
    assert_eq!(
        app.get(GENERAL)
            .await
            .input_value("apdexThreshold")
            .as_deref(),
        Some(""),
        "the stored (empty) value again"
    );
}

async fn a_tampered_select_gets_the_apis_own_message(app: TestApp) {
    app.owner_of_acme().await;
    for (field, value) in [
        ("defaultRole", "nope"),
        ("attachmentsRole", "nope"),
        ("debugFilesRole", "boss"),
        ("storeCrashReports", "many"),
    ] {
        let (status, body) = app
            .api_put("/api/0/organizations/acme/", json!({ field: value }))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}");
        let api_message = body[field][0].as_str().unwrap().to_owned();
        let page = if field == "storeCrashReports" {
            SECURITY
        } else {
            GENERAL
        };
        let form = app.submit_form(page, &[Edit::Set(field, value)]).await;
        assert_eq!(form.status, StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(form.field_error(field), Some(api_message), "{field}");
    }
}

async fn a_stored_value_the_select_does_not_offer_is_shown_and_kept_by_a_save(app: TestApp) {
    app.owner_of_acme().await;
    // the API takes any count up to 100; the form offers a few
    let (status, _) = app
        .api_put(
            "/api/0/organizations/acme/",
            json!({"storeCrashReports": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = app.get(SECURITY).await;
    assert_eq!(page.selected("storeCrashReports").as_deref(), Some("7"));
    let saved = app
        .submit_form(SECURITY, &[Edit::Uncheck("allowSharedIssues")])
        .await;
    saved.assert_redirect(SECURITY);
    let (_, body) = app.api_get("/api/0/organizations/acme/").await;
    assert_eq!(body["storeCrashReports"], json!(7));
}

async fn a_rename_through_the_api_takes_a_fixed_few_statements(app: TestApp) {
    app.owner_of_acme().await;
    app.api_put("/api/0/organizations/acme/", json!({"name": "Warm"}))
        .await;
    // a read keeps the options; a rename does not change them
    app.api_get("/api/0/organizations/acme/").await;
    let before = app.queries();
    let (status, body) = app
        .api_put(
            "/api/0/organizations/acme/",
            json!({"name": "Acme Renamed"}),
        )
        .await;
    let statements = app.queries() - before;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Acme Renamed");
    // the session, its user with the organization, role and avatar (2); the save: BEGIN, the
    // row locked and read in one statement (the options are the ones kept at the locked row's
    // version, the avatar the one the request read), the UPDATE, the audit entry (one statement
    // with the UPDATE on PostgreSQL), COMMIT (5, 4 on PostgreSQL); the answer is what the save
    // left, not read again. It was 16 before the API's reads were merged, 13 before the lock
    // read the row, 12 before the user and their membership were read together, 11 before the
    // answer stopped reading the avatar and options back, 9 before the save used the kept
    // options and 8 before it used the request's avatar; nothing here grows with the
    // organization.
    let expected = match app.backend {
        Backend::Sqlite => 7,
        Backend::Postgres => 6,
    };
    assert_eq!(statements, expected, "{statements} statements");
}
