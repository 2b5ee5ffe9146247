//! `GET/PUT /api/0/organizations/{org}/`

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use orgsettings::models::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::images::png;
use crate::common::{Backend, PASSWORD, TestApp, audit_entries};
use crate::on_both_backends;

const URL: &str = "/api/0/organizations/acme/";

on_both_backends!(
    get_shows_the_organization_with_sentrys_field_names,
    put_changes_only_the_fields_sent_and_audits_them_in_sentrys_words,
    creating_an_option_at_its_default_writes_no_entry,
    every_validation_error_comes_back_in_one_400_and_nothing_is_written,
    wrong_json_types_and_bodies_get_drfs_answers,
    a_put_without_the_csrf_header_is_refused_in_json,
    roles_decide_who_reads_and_who_writes,
    strangers_get_404_and_anonymous_callers_401,
    a_renamed_slug_redirects_api_calls_too,
    rate_limits_can_only_be_set_where_the_organization_has_them_each_naming_itself,
    a_null_pii_config_means_none,
    concurrent_saves_of_different_fields_all_land,
    deletion_blocks_other_saves_until_an_owner_restores_with_cancel_deletion,
    a_puts_answer_is_what_a_get_reads_afterwards,
);

async fn get_shows_the_organization_with_sentrys_field_names(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let (status, body) = app.api_get(URL).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], json!(org.id.to_string()));
    assert_eq!(body["slug"], "acme");
    assert_eq!(body["name"], "Acme");
    assert_eq!(body["status"], json!({"id": "active", "name": "active"}));
    assert_eq!(body["openMembership"], true);
    assert_eq!(body["allowSharedIssues"], true);
    assert_eq!(body["dataScrubber"], false);
    assert_eq!(body["scrapeJavaScript"], true);
    assert_eq!(body["sensitiveFields"], json!([]));
    assert_eq!(body["storeCrashReports"], 0);
    assert_eq!(body["attachmentsRole"], "member");
    assert_eq!(body["debugFilesRole"], "admin");
    assert_eq!(body["relayPiiConfig"], json!(null));
    assert_eq!(body["defaultRole"], "member");
    assert_eq!(body["role"], "owner");
    // Sentry's owner scopes, sorted
    assert_eq!(
        body["access"],
        json!([
            "alerts:read",
            "alerts:write",
            "event:admin",
            "event:read",
            "event:write",
            "member:admin",
            "member:invite",
            "member:read",
            "member:write",
            "org:admin",
            "org:integrations",
            "org:read",
            "org:write",
            "project:admin",
            "project:read",
            "project:releases",
            "project:write",
            "team:admin",
            "team:read",
            "team:write"
        ])
    );
    assert_eq!(body["quota"]["projectLimit"], 100);
    assert_eq!(body["trustedRelays"], json!([]));
    assert_eq!(body["avatar"]["avatarType"], "letter_avatar");
    assert!(
        body["features"]
            .as_array()
            .unwrap()
            .contains(&json!("organizations:relay"))
    );
}

async fn put_changes_only_the_fields_sent_and_audits_them_in_sentrys_words(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let (status, body) = app
        .api_put(
            URL,
            json!({
                "name": "Foo Bar",
                "dataScrubber": true,
                "sensitiveFields": ["password"],
                "isEarlyAdopter": true,
                "unknownKey": "ignored",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Foo Bar");
    assert_eq!(body["dataScrubber"], true);
    assert_eq!(body["sensitiveFields"], json!(["password"]));
    assert_eq!(body["openMembership"], true, "untouched");
    let (event, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(event, "org.edit");
    assert_eq!(
        data,
        json!({
            "dataScrubber": "to True",
            "sensitiveFields": "to ['password']",
            "name": "from Acme to Foo Bar",
            "early_adopter": "to True",
        })
    );
    // an unchanged value writes no entry
    let before = audit_entries(&app, org.id).await.len();
    app.api_put(URL, json!({"dataScrubber": true, "name": "Foo Bar"}))
        .await;
    assert_eq!(audit_entries(&app, org.id).await.len(), before);
    // a later change reads "from X to Y"
    app.api_put(URL, json!({"dataScrubber": false, "sensitiveFields": []}))
        .await;
    let (_, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(
        data,
        json!({"dataScrubber": "from True to False", "sensitiveFields": "from ['password'] to []"})
    );
}

async fn creating_an_option_at_its_default_writes_no_entry(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let before = audit_entries(&app, org.id).await.len();
    let (status, _) = app
        .api_put(
            URL,
            json!({"dataScrubber": false, "scrapeJavaScript": true, "attachmentsRole": "member"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(audit_entries(&app, org.id).await.len(), before);
    let org_id = org.id;
    let stored = app
        .with_db(move |conn| {
            orgsettings::models::option::get_value(
                conn,
                org_id,
                "sentry:require_scrub_data",
                json!(null),
            )
            .unwrap()
        })
        .await;
    assert_eq!(stored, json!(false), "the row exists");
}

async fn every_validation_error_comes_back_in_one_400_and_nothing_is_written(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let before = audit_entries(&app, org.id).await.len();
    let (status, body) = app
        .api_put(
            URL,
            json!({
                "name": "x".repeat(65),
                "slug": "ab",
                "openMembership": "perhaps",
                "storeCrashReports": -2,
                "apdexThreshold": 0,
                "attachmentsRole": "boss",
                "defaultRole": "boss",
                "sensitiveFields": ["password", ""],
                "safeFields": ["$http.headers", "$HTTP"],
                "relayPiiConfig": "{}x",
                "dataScrubber": true,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    insta::allow_duplicates! {
        insta::assert_snapshot!(serde_json::to_string_pretty(&body).unwrap(), @r#"
    {
      "apdexThreshold": [
        "Ensure this value is greater than or equal to 1."
      ],
      "attachmentsRole": [
        "Invalid role"
      ],
      "defaultRole": [
        "\"boss\" is not a valid choice."
      ],
      "name": [
        "Ensure this field has no more than 64 characters."
      ],
      "openMembership": [
        "Must be a valid boolean."
      ],
      "relayPiiConfig": [
        "trailing characters at line 1 column 3"
      ],
      "safeFields": [
        "Invalid syntax near \"$http\" (line 2)"
      ],
      "sensitiveFields": [
        "This field may not be blank."
      ],
      "slug": [
        "This slug \"ab\" is too short. Minimum of 3 characters."
      ],
      "storeCrashReports": [
        "Ensure this value is greater than or equal to -1."
      ]
    }
    "#);
    }
    assert_eq!(audit_entries(&app, org.id).await.len(), before);
    let (_, body) = app.api_get(URL).await;
    assert_eq!(
        body["dataScrubber"], false,
        "the valid field was not saved either"
    );
}

async fn wrong_json_types_and_bodies_get_drfs_answers(app: TestApp) {
    app.owner_of_acme().await;
    let (status, body) = app
        .api_put(
            URL,
            json!({"sensitiveFields": "password", "name": true, "slug": null}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["sensitiveFields"],
        json!(["Expected a list of items but got type \"str\"."])
    );
    assert_eq!(body["name"], json!(["Not a valid string."]));
    assert_eq!(body["slug"], json!(["This field may not be null."]));
    let (status, body) = app.api_put(URL, json!(["not", "an", "object"])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    );
    let token = app.csrf_token().await;
    let response = app
        .client
        .put(app.url(URL))
        .header("X-CSRFToken", &token)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - "),
        "{body}"
    );
    let response = app
        .client
        .put(app.url(URL))
        .header("X-CSRFToken", &token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn a_put_without_the_csrf_header_is_refused_in_json(app: TestApp) {
    app.owner_of_acme().await;
    let response = app
        .client
        .put(app.url(URL))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("CSRF Failed: "),
        "{body}"
    );
}

async fn roles_decide_who_reads_and_who_writes(app: TestApp) {
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Acme", "acme").await;
    for (name, role) in [
        ("member", Role::Member),
        ("admin", Role::Admin),
        ("manager", Role::Manager),
    ] {
        let user = app.create_user(name).await;
        app.add_member(&org, &user, role).await;
    }
    for name in ["member", "admin"] {
        let visitor = app.visitor();
        visitor.login(name, PASSWORD).await;
        assert_eq!(visitor.api_get(URL).await.0, StatusCode::OK, "{name} reads");
        let (status, body) = visitor.api_put(URL, json!({"name": "Nope"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
        assert_eq!(
            body,
            json!({"detail": "You do not have permission to perform this action."})
        );
    }
    let manager = app.visitor();
    manager.login("manager", PASSWORD).await;
    let (status, body) = manager
        .api_put(URL, json!({"defaultRole": "owner", "name": "Managed"}))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "owner-only fields are ignored, as Sentry does"
    );
    assert_eq!(body["defaultRole"], "member");
    assert_eq!(body["name"], "Managed");
    assert_eq!(
        body["access"],
        json!([
            "alerts:read",
            "alerts:write",
            "event:admin",
            "event:read",
            "event:write",
            "member:admin",
            "member:invite",
            "member:read",
            "member:write",
            "org:integrations",
            "org:read",
            "org:write",
            "project:admin",
            "project:read",
            "project:releases",
            "project:write",
            "team:admin",
            "team:read",
            "team:write"
        ]),
        "Sentry's manager scopes: no org:admin"
    );
}

async fn strangers_get_404_and_anonymous_callers_401(app: TestApp) {
    app.owner_of_acme().await;
    app.create_user("stranger").await;
    let stranger = app.visitor();
    stranger.login("stranger", PASSWORD).await;
    assert_eq!(stranger.api_get(URL).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        stranger.api_put(URL, json!({"name": "x"})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        stranger.api_get("/api/0/organizations/nope/").await.0,
        StatusCode::NOT_FOUND
    );
    let anonymous = TestApp::new_client()
        .get(app.url(URL))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": "Authentication credentials were not provided."})
    );
}

async fn a_renamed_slug_redirects_api_calls_too(app: TestApp) {
    app.owner_of_acme().await;
    let (status, body) = app.api_put(URL, json!({"slug": "acme-corp"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let response = app.client.get(app.url(URL)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        response.headers()["location"],
        "/api/0/organizations/acme-corp/"
    );
}

async fn rate_limits_can_only_be_set_where_the_organization_has_them_each_naming_itself(
    app: TestApp,
) {
    app.owner_of_acme().await;
    let (status, body) = app
        .api_put(URL, json!({"accountRateLimit": 10, "projectRateLimit": 60}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({
            "accountRateLimit": ["The accountRateLimit option cannot be configured for this organization"],
            "projectRateLimit": ["The projectRateLimit option cannot be configured for this organization"],
        })
    );
}

async fn a_null_pii_config_means_none(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    app.api_put(URL, json!({"relayPiiConfig": null})).await;
    let org_id = org.id;
    let stored = app
        .with_db(move |conn| {
            orgsettings::models::option::get_value(
                conn,
                org_id,
                "sentry:relay_pii_config",
                json!("absent"),
            )
            .unwrap()
        })
        .await;
    assert_eq!(stored, json!("absent"), "no \"None\" string stored");
    app.api_put(URL, json!({"relayPiiConfig": "{}"})).await;
    let (_, body) = app.api_put(URL, json!({"relayPiiConfig": null})).await;
    assert_eq!(body["relayPiiConfig"], json!(null));
    let (_, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(data, json!({"relayPiiConfig": "from {} to None"}));
}

async fn concurrent_saves_of_different_fields_all_land(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let fields = [
        "isEarlyAdopter",
        "enhancedPrivacy",
        "dataScrubber",
        "dataScrubberDefaults",
        "scrubIPAddresses",
        "allowSharedIssues",
        "openMembership",
        "scrapeJavaScript",
    ];
    let expected: Vec<bool> = fields
        .iter()
        .map(|f| {
            !matches!(
                *f,
                "allowSharedIssues" | "openMembership" | "scrapeJavaScript"
            )
        })
        .collect();
    let puts = fields
        .iter()
        .zip(&expected)
        .map(|(field, value)| app.api_put(URL, json!({ *field: *value })));
    for (status, body) in futures::future::join_all(puts).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, body) = app.api_get(URL).await;
    for (field, value) in fields.iter().zip(expected) {
        assert_eq!(body[*field], json!(value), "{field} kept");
    }
    let edits = audit_entries(&app, org.id)
        .await
        .into_iter()
        .filter(|(e, _)| e == "org.edit")
        .count();
    assert_eq!(edits, fields.len(), "one entry per save, none lost");
}

async fn deletion_blocks_other_saves_until_an_owner_restores_with_cancel_deletion(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let org_id = org.id;
    let actor = orgsettings::models::actor::Actor::cli();
    app.with_db(move |conn| orgsettings::settings::delete::schedule(conn, org_id, &actor).unwrap())
        .await;
    let (_, body) = app.api_get(URL).await;
    assert_eq!(
        body["status"],
        json!({"id": "pending_deletion", "name": "pending deletion"})
    );
    let (status, body) = app.api_put(URL, json!({"name": "Still here"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"detail": orgsettings::settings::save::ERR_PENDING_DELETION})
    );
    let (status, _) = app.api_put(URL, json!({"cancelDeletion": false})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "false does not restore");
    let (status, body) = app
        .api_put(URL, json!({"cancelDeletion": true, "name": "Acme Back"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"]["id"], "active");
    assert_eq!(body["name"], "Acme Back");
    let entries = audit_entries(&app, org.id).await;
    let events: Vec<&str> = entries.iter().map(|(e, _)| e.as_str()).collect();
    // the restore, then the edit that came with it (written with the row, in one statement on
    // PostgreSQL)
    assert_eq!(
        events,
        ["org.create", "org.remove", "org.restore", "org.edit"]
    );
    assert_eq!(entries[3].1, json!({"name": "from Acme to Acme Back"}));
}

/// A non-default value for every field a script can set, with the audit key its change is recorded
/// under.
fn every_field() -> Vec<(&'static str, serde_json::Value, &'static str)> {
    vec![
        ("name", json!("Renamed"), "name"),
        ("slug", json!("renamed"), "slug"),
        ("defaultRole", json!("manager"), "default_role"),
        ("openMembership", json!(false), "allow_joinleave"),
        ("allowSharedIssues", json!(false), "disable_shared_issues"),
        ("enhancedPrivacy", json!(true), "enhanced_privacy"),
        ("isEarlyAdopter", json!(true), "early_adopter"),
        (
            "requireEmailVerification",
            json!(true),
            "require_email_verification",
        ),
        ("dataScrubber", json!(true), "dataScrubber"),
        ("dataScrubberDefaults", json!(true), "dataScrubberDefaults"),
        ("sensitiveFields", json!(["card_number"]), "sensitiveFields"),
        ("safeFields", json!(["$frame.vars"]), "safeFields"),
        ("storeCrashReports", json!(5), "storeCrashReports"),
        ("attachmentsRole", json!("manager"), "attachmentsRole"),
        ("debugFilesRole", json!("owner"), "debugFilesRole"),
        ("eventsMemberAdmin", json!(false), "eventsMemberAdmin"),
        ("alertsMemberWrite", json!(false), "alertsMemberWrite"),
        ("scrubIPAddresses", json!(true), "scrubIPAddresses"),
        ("scrapeJavaScript", json!(false), "scrapeJavaScript"),
        (
            "relayPiiConfig",
            json!("{\"applications\": {\"$string\": [\"@email\"]}}"),
            "relayPiiConfig",
        ),
        ("allowJoinRequests", json!(false), "allowJoinRequests"),
        ("apdexThreshold", json!(400), "apdexThreshold"),
        ("aiSuggestedSolution", json!(false), "aiSuggestedSolution"),
        ("githubPRBot", json!(false), "githubPRBot"),
        ("githubOpenPRBot", json!(false), "githubOpenPRBot"),
        ("githubNudgeInvite", json!(false), "githubNudgeInvite"),
    ]
}

on_both_backends!(
    every_field_can_be_set_through_the_api_is_shown_back_and_audited,
    every_form_field_can_be_changed_from_its_page_and_is_shown_back,
);

async fn every_field_can_be_set_through_the_api_is_shown_back_and_audited(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let mut url = URL.to_owned();
    for (field, value, audit_key) in every_field() {
        let (status, body) = app.api_put(&url, json!({ field: value.clone() })).await;
        assert_eq!(status, StatusCode::OK, "{field}: {body}");
        assert_eq!(body[field], value, "{field} is shown back");
        let (_, data) = audit_entries(&app, org.id).await.pop().unwrap();
        assert!(
            data.get(audit_key).is_some(),
            "{field} audited under {audit_key}: {data}"
        );
        url = format!("/api/0/organizations/{}/", body["slug"].as_str().unwrap());
    }
}

async fn every_form_field_can_be_changed_from_its_page_and_is_shown_back(app: TestApp) {
    use crate::common::Edit;
    let org = app.owner_of_acme().await.1;
    let general = [
        Edit::Set("name", "Renamed"),
        Edit::Set("defaultRole", "manager"),
        Edit::Uncheck("openMembership"),
        Edit::Uncheck("allowJoinRequests"),
        Edit::Uncheck("eventsMemberAdmin"),
        Edit::Uncheck("alertsMemberWrite"),
        Edit::Set("attachmentsRole", "manager"),
        Edit::Set("debugFilesRole", "owner"),
        Edit::Set("isEarlyAdopter", "true"),
        Edit::Set("apdexThreshold", "400"),
        Edit::Uncheck("aiSuggestedSolution"),
        Edit::Uncheck("githubPRBot"),
        Edit::Uncheck("githubOpenPRBot"),
        Edit::Uncheck("githubNudgeInvite"),
    ];
    app.submit_form("/settings/acme/", &general)
        .await
        .assert_redirect("/settings/acme/");
    let security = [
        Edit::Set("requireEmailVerification", "true"),
        Edit::Uncheck("allowSharedIssues"),
        Edit::Set("enhancedPrivacy", "true"),
        Edit::Uncheck("scrapeJavaScript"),
        Edit::Set("storeCrashReports", "5"),
        Edit::Set("dataScrubber", "true"),
        Edit::Set("dataScrubberDefaults", "true"),
        Edit::Set("scrubIPAddresses", "true"),
        Edit::Set("sensitiveFields", "card_number"),
        Edit::Set("safeFields", "$frame.vars"),
        Edit::Set(
            "relayPiiConfig",
            "{\"applications\": {\"$string\": [\"@email\"]}}",
        ),
    ];
    app.submit_form("/settings/acme/security-and-privacy/", &security)
        .await
        .assert_redirect("/settings/acme/security-and-privacy/");
    let (_, body) = app.api_get(URL).await;
    for (field, value, _) in every_field().into_iter().filter(|(f, _, _)| *f != "slug") {
        assert_eq!(body[field], value, "{field}");
    }
    let edits = audit_entries(&app, org.id)
        .await
        .into_iter()
        .filter(|(e, _)| e == "org.edit")
        .count();
    assert_eq!(edits, 2, "one entry per save");
}

async fn a_puts_answer_is_what_a_get_reads_afterwards(app: TestApp) {
    // the answer is built from what the save wrote, not read back: each kind of write must come
    // out as the next read sees it
    app.owner_of_acme().await;
    let pii = r#"{"rules": {"0": {"type": "ip", "redaction": {"method": "remove"}}}, "applications": {"$string": ["0"]}}"#;
    let relay = json!({
        "publicKey": "gyKnK-__yfEOweJ95sB1JoqAh6VlS4c_uIwsrrQ4G7E",
        "name": "edge"
    });
    for body in [
        // a new option row, a flag, the organization's row
        json!({"name": "Acme Renamed", "storeCrashReports": 5, "allowSharedIssues": false}),
        // a changed row, a list and a JSON option, trusted relays
        json!({"storeCrashReports": 7, "sensitiveFields": ["ssn"], "relayPiiConfig": pii,
               "trustedRelays": [relay]}),
        // a removed row (a null PII config), a new image
        json!({"relayPiiConfig": null, "avatar": STANDARD.encode(png(256, 256))}),
        // back to the letter avatar, nothing else
        json!({"avatarType": "letter_avatar"}),
    ] {
        let (status, answer) = app.api_put(URL, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}: {answer}");
        let (status, read) = app.api_get(URL).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer, read, "after {body}");
    }
    let (_, read) = app.api_get(URL).await;
    assert_eq!(read["storeCrashReports"], 7);
    assert_eq!(read["relayPiiConfig"], json!(null));
    assert_eq!(read["avatar"]["avatarType"], "letter_avatar");
    assert_eq!(read["trustedRelays"][0]["name"], "edge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_two_saves_of_an_organization_hold_connections_and_the_rest_wait_without_one()
{
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let org = app.owner_of_acme().await.1;
    app.api_get(URL).await;
    let entries = audit_entries(&app, org.id).await.len();
    // another client holds the organization's row lock
    let mut holder = diesel::PgConnection::establish(app.db.url()).unwrap();
    holder.batch_execute("BEGIN").unwrap();
    diesel::sql_query(format!(
        "SELECT id FROM organizations WHERE id = {} FOR UPDATE",
        org.id
    ))
    .execute(&mut holder)
    .unwrap();
    let saves = futures::future::join_all(
        (0..6).map(|i| app.api_put(URL, json!({"name": format!("Queued {i}")}))),
    );
    tokio::pin!(saves);
    tokio::select! {
        _ = &mut saves => panic!("the saves ran while another client held the row lock"),
        _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
    }
    // two saves wait for the row lock inside PostgreSQL, each with a connection; four wait for
    // their turn without one (a save still reading its session holds one for a moment)
    let busy = || {
        let state = app.pool.state();
        state.connections - state.idle_connections
    };
    let settles_at_two = || async {
        for _ in 0..150 {
            if busy() == 2 {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        false
    };
    assert!(settles_at_two().await, "{} connections busy, not 2", busy());
    let (status, _) = app.api_get(URL).await;
    assert_eq!(status, StatusCode::OK, "a read answers meanwhile");
    assert!(
        settles_at_two().await,
        "still two saves in the database, not {}",
        busy()
    );
    holder.batch_execute("COMMIT").unwrap();
    for (status, body) in saves.await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(
        audit_entries(&app, org.id).await.len(),
        entries + 6,
        "each save landed, one after another"
    );
}
