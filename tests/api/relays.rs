//! Trusted relays: `/settings/{org}/relays/` and the `trustedRelays` field of the API.

use orgsettings::models::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{PASSWORD, TestApp, audit_entries};
use crate::on_both_backends;

const URL: &str = "/api/0/organizations/acme/";
const PAGE: &str = "/settings/acme/relays/";
const KEYS: [&str; 4] = [
    "IbXZDWy8DcGLVoT_Z6-ODALEnsyhKiC_i-0r3azaztQ",
    "CZa3eDblYqBVoxK3O_4fr5WBbUmUVwc6FrRXbOQTPfk",
    "gyKnK-__yfEOweJ95sB1JoqAh6VlS4c_uIwsrrQ4G7E",
    "kSdr7ozq2T3gLg7FehJro2PH_NnNMJrrCslleKGZQd8",
];

fn relay(key: &str, name: &str) -> Value {
    json!({"publicKey": key, "name": name})
}

async fn put_relays(app: &TestApp, relays: Value) -> (StatusCode, Value) {
    app.api_put(URL, json!({"trustedRelays": relays})).await
}

async fn last_edit(app: &TestApp, org_id: i64) -> Value {
    let entries = audit_entries(app, org_id).await;
    entries
        .into_iter()
        .rev()
        .find(|(e, _)| e == "org.edit")
        .map(|(_, d)| d)
        .unwrap_or(Value::Null)
}

on_both_backends!(
    the_merge_rules_hold_over_three_successive_saves,
    every_bad_relay_gets_sentrys_message_and_nothing_is_saved,
    an_empty_list_with_nothing_stored_writes_nothing_and_null_leaves_relays_alone,
    an_owner_adds_edits_and_removes_a_relay_on_the_page,
    the_add_form_shows_each_problem_next_to_its_field_and_keeps_the_input,
    two_admins_editing_different_rows_at_once_keep_both_changes,
    members_see_the_relays_but_cannot_change_them,
    a_thousand_relays_save_and_render,
);

async fn a_thousand_relays_save_and_render(app: TestApp) {
    app.owner_of_acme().await;
    // key derivation is slow in a debug build: one batch for both lists
    let keys = crate::common::relay_keys(1001);
    let relays: Vec<serde_json::Value> = keys[..1000]
        .iter()
        .enumerate()
        .map(|(i, key)| json!({"publicKey": key, "name": format!("relay {i}"), "description": "edge"}))
        .collect();
    let (status, body) = put_relays(&app, json!(relays)).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["trustedRelays"].as_array().unwrap().len(), 1000);
    let page = app.get("/settings/acme/relays/").await;
    assert_eq!(page.status, reqwest::StatusCode::OK);
    assert!(page.contains(&keys[999]) && page.contains("relay 999"));
    // one more is over the limit, and changes nothing
    let mut over = relays.clone();
    over.push(json!({"publicKey": keys[1000], "name": "one too many"}));
    let (status, _) = put_relays(&app, json!(over)).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    let (_, read) = app.api_get("/api/0/organizations/acme/").await;
    assert_eq!(read["trustedRelays"].as_array().unwrap().len(), 1000);
}

async fn the_merge_rules_hold_over_three_successive_saves(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    // 1: two new relays share one timestamp; client dates are ignored
    let (status, body) = put_relays(&app, json!([
        {"publicKey": KEYS[0], "name": " Office ", "created": "1999-01-01T00:00:00+00:00"},
        {"publicKey": KEYS[1], "name": "Cloud", "description": "eu-west", "lastModified": "1999-01-01T00:00:00+00:00"},
    ])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = body["trustedRelays"].as_array().unwrap().clone();
    assert_eq!(first[0]["name"], "Office", "the name is trimmed");
    assert_eq!(
        first[0]["created"], first[1]["created"],
        "one timestamp per save"
    );
    assert_eq!(first[0]["created"], first[0]["lastModified"]);
    assert_ne!(first[0]["created"], "1999-01-01T00:00:00+00:00");
    assert!(first[0]["created"].as_str().unwrap().ends_with("+00:00"));
    assert!(
        first[0].get("description").is_none(),
        "unset values are left out"
    );
    assert_eq!(first[1]["description"], "eu-west");
    assert_eq!(
        last_edit(&app, org.id).await,
        json!({"trustedRelays": format!("added relay 'Office' ({}); added relay 'Cloud' ({})", KEYS[0], KEYS[1])})
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    // 2: rename one, keep one, add one
    let (_, body) = put_relays(&app, json!([relay(KEYS[0], "HQ"), {"publicKey": KEYS[1], "name": "Cloud", "description": "eu-west"}, relay(KEYS[2], "Lab")])).await;
    let second = body["trustedRelays"].as_array().unwrap().clone();
    assert_eq!(
        second[0]["created"], first[0]["created"],
        "a kept key keeps created"
    );
    assert_ne!(
        second[0]["lastModified"], first[0]["lastModified"],
        "a renamed relay is modified"
    );
    assert_eq!(
        second[1]["lastModified"], first[1]["lastModified"],
        "an unchanged relay is not"
    );
    assert_eq!(
        second[2]["created"], second[0]["lastModified"],
        "the new one has this save's time"
    );
    assert_eq!(
        last_edit(&app, org.id).await,
        json!({"trustedRelays": format!("edited relay 'HQ' ({}): name from 'Office' to 'HQ'; added relay 'Lab' ({})", KEYS[0], KEYS[2])})
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    // 3: remove one and reorder the rest
    let (_, body) = put_relays(&app, json!([relay(KEYS[2], "Lab"), relay(KEYS[0], "HQ")])).await;
    let third = body["trustedRelays"].as_array().unwrap().clone();
    assert_eq!(third[0]["publicKey"], KEYS[2]);
    assert_eq!(
        third[1]["lastModified"], second[0]["lastModified"],
        "moving is not modifying"
    );
    assert_eq!(
        last_edit(&app, org.id).await,
        json!({"trustedRelays": format!("removed relay 'Cloud' ({})", KEYS[1])})
    );

    // a new order alone is stored, with no audit entry
    let entries = audit_entries(&app, org.id).await.len();
    let (_, body) = put_relays(&app, json!([relay(KEYS[0], "HQ"), relay(KEYS[2], "Lab")])).await;
    assert_eq!(body["trustedRelays"][0]["publicKey"], KEYS[0]);
    assert_eq!(audit_entries(&app, org.id).await.len(), entries);
}

async fn every_bad_relay_gets_sentrys_message_and_nothing_is_saved(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let valid = KEYS[0];
    let not_a_point = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";
    let cases = [
        (
            json!(["x"]),
            "Bad structure received for Trusted Relays".to_owned(),
        ),
        (
            json!([{"publicKey": valid}]),
            "Relay key info with missing name in Trusted Relays".to_owned(),
        ),
        (
            json!([{"publicKey": valid, "name": "   "}]),
            "Relay key info with empty name in Trusted Relays".to_owned(),
        ),
        (
            json!([{"name": "a"}]),
            "Missing public key for relay key info with name:'a' in Trusted Relays".to_owned(),
        ),
        (
            json!([{"name": "a", "publicKey": ""}]),
            "Missing public key for relay key info with name:'a' in Trusted Relays".to_owned(),
        ),
        (
            json!([relay(&valid[..42], "a")]),
            "Invalid public key for relay key info with name:'a' in Trusted Relays".to_owned(),
        ),
        (
            json!([relay(&format!("{valid}="), "a")]),
            "Invalid public key for relay key info with name:'a' in Trusted Relays".to_owned(),
        ),
        (
            json!([relay(&valid.replace('_', "/"), "a")]),
            "Invalid public key for relay key info with name:'a' in Trusted Relays".to_owned(),
        ),
        (
            json!([relay(not_a_point, "a")]),
            "Invalid public key for relay key info with name:'a' in Trusted Relays".to_owned(),
        ),
        (
            json!([relay(valid, "a"), relay(valid, "b")]),
            format!("Duplicated key in Trusted Relays: '{valid}'"),
        ),
        (
            json!([{"publicKey": valid, "name": "a", "description": "d".repeat(1001)}]),
            "The description of relay 'a' is too long: at most 1000 characters.".to_owned(),
        ),
        (
            json!({"publicKey": valid}),
            "Expected a list of items but got type \"dict\".".to_owned(),
        ),
    ];
    for (relays, message) in cases {
        let (status, body) = put_relays(&app, relays.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{relays}");
        assert_eq!(body, json!({"trustedRelays": [message]}), "{relays}");
    }
    let (_, body) = app.api_get(URL).await;
    assert_eq!(body["trustedRelays"], json!([]));
    assert_eq!(
        audit_entries(&app, org.id).await.len(),
        1,
        "only the creation"
    );
}

async fn an_empty_list_with_nothing_stored_writes_nothing_and_null_leaves_relays_alone(
    app: TestApp,
) {
    let org = app.owner_of_acme().await.1;
    put_relays(&app, json!([])).await;
    assert_eq!(audit_entries(&app, org.id).await.len(), 1);
    put_relays(&app, json!([relay(KEYS[0], "One")])).await;
    let (_, body) = app
        .api_put(URL, json!({"trustedRelays": null, "name": "Renamed"}))
        .await;
    assert_eq!(body["trustedRelays"].as_array().unwrap().len(), 1);
    let (_, body) = put_relays(&app, json!([])).await;
    assert_eq!(body["trustedRelays"], json!([]));
    assert_eq!(
        last_edit(&app, org.id).await,
        json!({"trustedRelays": format!("removed relay 'One' ({})", KEYS[0])})
    );
}

async fn an_owner_adds_edits_and_removes_a_relay_on_the_page(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let page = app.get(PAGE).await;
    assert!(page.contains("No relays are trusted yet."));
    assert!(page.contains("Never paste the secret key here."));
    let added = app
        .post_form(
            PAGE,
            &[
                ("action", "add"),
                ("name", "Office"),
                ("publicKey", KEYS[0]),
                ("description", "Berlin"),
            ],
        )
        .await;
    added.assert_redirect(PAGE);
    let page = app.get(PAGE).await;
    assert!(page.contains("Relay 'Office' added."));
    assert!(page.contains(KEYS[0]) && page.contains("Berlin"));

    let edit = app.get(&format!("{PAGE}?edit={}", KEYS[0])).await;
    assert_eq!(edit.input_value("name").as_deref(), Some("Office"));
    assert!(edit.body.contains("readonly"), "the key is read-only");
    let saved = app
        .post_form(
            PAGE,
            &[
                ("action", "edit"),
                ("publicKey", KEYS[0]),
                ("name", "HQ"),
                ("description", ""),
            ],
        )
        .await;
    saved.assert_redirect(PAGE);
    assert!(app.get(PAGE).await.contains("Relay 'HQ' saved."));

    let confirm = app.get(&format!("{PAGE}?remove={}", KEYS[0])).await;
    assert!(confirm.contains("Remove the relay “HQ”?"));
    assert!(confirm.contains("events it forwards will be dropped"));
    let removed = app
        .post_form(
            PAGE,
            &[("action", "remove"), ("publicKey", KEYS[0]), ("name", "HQ")],
        )
        .await;
    removed.assert_redirect(PAGE);
    let page = app.get(PAGE).await;
    assert!(page.contains("Relay 'HQ' removed."));
    assert!(page.contains("No relays are trusted yet."));

    let words: Vec<String> = audit_entries(&app, org.id)
        .await
        .into_iter()
        .filter_map(|(_, d)| {
            d.get("trustedRelays")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        words,
        [
            format!("added relay 'Office' ({})", KEYS[0]),
            format!(
                "edited relay 'HQ' ({}): name from 'Office' to 'HQ', description from 'Berlin' to none",
                KEYS[0]
            ),
            format!("removed relay 'HQ' ({})", KEYS[0]),
        ]
    );
    let log = app.get("/settings/acme/audit-log/").await;
    assert!(log.contains(&format!(
        "edited the organization setting: trustedRelays removed relay 'HQ' ({})",
        KEYS[0]
    )));
}

async fn the_add_form_shows_each_problem_next_to_its_field_and_keeps_the_input(app: TestApp) {
    app.owner_of_acme().await;
    let page = app
        .submit(
            PAGE,
            &[
                ("action", "add"),
                ("name", " "),
                ("publicKey", "not a key"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        page.field_error("name").as_deref(),
        Some("Relay key info with empty name in Trusted Relays")
    );
    assert_eq!(
        page.field_error("publicKey").as_deref(),
        Some("Invalid public key for relay key info with name:'' in Trusted Relays")
    );
    assert_eq!(page.input_value("publicKey").as_deref(), Some("not a key"));

    let long = "d".repeat(1001);
    let page = app
        .submit(
            PAGE,
            &[
                ("action", "add"),
                ("name", "Office"),
                ("publicKey", ""),
                ("description", long.as_str()),
            ],
        )
        .await;
    assert_eq!(
        page.field_error("publicKey").as_deref(),
        Some("Missing public key for relay key info with name:'Office' in Trusted Relays")
    );
    assert_eq!(
        page.field_error("description").as_deref(),
        Some("The description of relay 'Office' is too long: at most 1000 characters.")
    );

    app.submit(
        PAGE,
        &[
            ("action", "add"),
            ("name", "Office"),
            ("publicKey", KEYS[0]),
        ],
    )
    .await
    .assert_redirect(PAGE);
    let again = app
        .submit(
            PAGE,
            &[("action", "add"), ("name", "Copy"), ("publicKey", KEYS[0])],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        again.field_error("publicKey").as_deref(),
        Some("This organization already trusts this key, as 'Office'.")
    );
    assert_eq!(again.input_value("name").as_deref(), Some("Copy"));
}

async fn two_admins_editing_different_rows_at_once_keep_both_changes(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let manager = app.create_user("manager").await;
    app.add_member(&org, &manager, Role::Manager).await;
    put_relays(&app, json!([relay(KEYS[0], "Old"), relay(KEYS[1], "Kept")])).await;
    let other = app.visitor();
    other.login("manager", PASSWORD).await;

    // both have the page open; the manager removes one row, the owner adds another
    app.get(PAGE).await;
    other.get(PAGE).await;
    other
        .post_form(
            PAGE,
            &[
                ("action", "remove"),
                ("publicKey", KEYS[0]),
                ("name", "Old"),
            ],
        )
        .await
        .assert_redirect(PAGE);
    app.post_form(
        PAGE,
        &[("action", "add"), ("name", "New"), ("publicKey", KEYS[2])],
    )
    .await
    .assert_redirect(PAGE);
    let (_, body) = app.api_get(URL).await;
    let names: Vec<&str> = body["trustedRelays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Kept", "New"]);

    // editing the row that is gone is refused with a clear message, not re-created
    let stale = app
        .post_form(
            PAGE,
            &[
                ("action", "edit"),
                ("publicKey", KEYS[0]),
                ("name", "Renamed"),
            ],
        )
        .await;
    stale.assert_redirect(PAGE);
    assert!(
        app.get(PAGE)
            .await
            .contains("This relay is not in the list any more: someone removed it meanwhile.")
    );
    let (_, body) = app.api_get(URL).await;
    assert_eq!(body["trustedRelays"].as_array().unwrap().len(), 2);
}

async fn members_see_the_relays_but_cannot_change_them(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    put_relays(&app, json!([relay(KEYS[0], "Office")])).await;
    let member = app.create_user("member").await;
    app.add_member(&org, &member, Role::Member).await;
    let visitor = app.visitor();
    visitor.login("member", PASSWORD).await;
    let page = visitor.get(PAGE).await;
    assert!(page.contains(KEYS[0]));
    assert!(!page.contains("Add relay"));
    assert!(!page.contains("?edit="));
    let refused = visitor
        .post_form(PAGE, &[("action", "remove"), ("publicKey", KEYS[0])])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_relay_feature_off_the_page_says_so_and_the_api_refuses() {
    let mut options = crate::common::Options::new(crate::common::Backend::Sqlite);
    options.config = Box::new(|s| {
        s.features = orgsettings::config::Features::parse("-organizations:relay").unwrap()
    });
    let app = TestApp::spawn_with(options).await.unwrap();
    app.owner_of_acme().await;
    let page = app.get(PAGE).await;
    assert!(page.contains("Relays are not enabled for this organization."));
    assert!(!page.contains("Add relay"));
    assert_eq!(
        app.post_form(
            PAGE,
            &[("action", "add"), ("name", "x"), ("publicKey", KEYS[0])]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let (status, body) = put_relays(&app, json!([relay(KEYS[0], "Office")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"trustedRelays": ["Organization does not have the relay feature enabled"]})
    );
    let (_, body) = app.api_get(URL).await;
    assert!(
        !body["features"]
            .as_array()
            .unwrap()
            .contains(&json!("organizations:relay"))
    );
}
