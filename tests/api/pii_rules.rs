//! The rule builder of advanced data scrubbing: `/settings/{org}/security-and-privacy/pii-rules/`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestApp, audit_entries};
use crate::on_both_backends;

const SECURITY: &str = "/settings/acme/security-and-privacy/";
const RULES: &str = "/settings/acme/security-and-privacy/pii-rules/";
const BACK: &str = "/settings/acme/security-and-privacy/#advanced-data-scrubbing";

on_both_backends!(
    a_rule_is_added_to_the_pii_config_saved_and_audited,
    a_bad_rule_is_refused_next_to_its_fields_with_the_input_kept,
    a_rule_is_removed_after_a_confirmation,
    the_builder_adds_to_the_config_as_stored_keeping_a_change_made_meanwhile,
    members_cannot_use_the_builder,
);

async fn stored_config(app: &TestApp) -> Value {
    let (_, body) = app.api_get("/api/0/organizations/acme/").await;
    match body["relayPiiConfig"].as_str() {
        Some(text) => serde_json::from_str(text).unwrap(),
        None => Value::Null,
    }
}

async fn add(app: &TestApp, fields: &[(&str, &str)]) -> crate::common::Page {
    app.get(SECURITY).await;
    let mut body = vec![("action", "add")];
    body.extend_from_slice(fields);
    app.post_form(RULES, &body).await
}

async fn a_rule_is_added_to_the_pii_config_saved_and_audited(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    add(
        &app,
        &[
            ("method", "mask"),
            ("dataType", "creditcard"),
            ("source", "$string"),
        ],
    )
    .await
    .assert_redirect(BACK);
    let page = app.get(SECURITY).await;
    assert!(page.contains("Rule added: Mask credit card numbers in $string."));
    assert!(page.contains("Mask credit card numbers in <code>$string</code>"));
    add(
        &app,
        &[
            ("method", "replace"),
            ("dataType", "pattern"),
            ("pattern", "secret-[a-z]+"),
            ("replacement", "[token]"),
            ("source", "$http.headers"),
        ],
    )
    .await
    .assert_redirect(BACK);
    assert_eq!(
        stored_config(&app).await,
        json!({
            "rules": {
                "0": {"type": "creditcard", "redaction": {"method": "mask"}},
                "1": {"type": "pattern", "pattern": "secret-[a-z]+", "redaction": {"method": "replace", "text": "[token]"}},
            },
            "applications": {"$string": ["0"], "$http.headers": ["1"]}
        })
    );
    let textarea = app.get(SECURITY).await.textarea("relayPiiConfig").unwrap();
    assert!(
        textarea.contains("\"secret-[a-z]+\""),
        "the JSON box shows it"
    );
    let entries = audit_entries(&app, org.id).await;
    let edits: Vec<&Value> = entries
        .iter()
        .filter(|(e, _)| e == "org.edit")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(edits.len(), 2);
    assert!(edits[0].get("relayPiiConfig").is_some(), "{:?}", edits[0]);
}

async fn a_bad_rule_is_refused_next_to_its_fields_with_the_input_kept(app: TestApp) {
    app.owner_of_acme().await;
    let refused = add(
        &app,
        &[
            ("method", "mask"),
            ("dataType", "pattern"),
            ("pattern", "("),
            ("source", "foo bar"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.field_error("source").as_deref(),
        Some("Invalid syntax near \"foo bar\"")
    );
    assert!(
        refused
            .field_error("pattern")
            .unwrap()
            .contains("unclosed group")
    );
    assert_eq!(refused.input_value("source").as_deref(), Some("foo bar"));
    assert_eq!(refused.input_value("pattern").as_deref(), Some("("));
    assert_eq!(stored_config(&app).await, Value::Null, "nothing saved");
}

async fn a_rule_is_removed_after_a_confirmation(app: TestApp) {
    app.owner_of_acme().await;
    for source in ["$string", "$frame.vars"] {
        add(
            &app,
            &[
                ("method", "hash"),
                ("dataType", "email"),
                ("source", source),
            ],
        )
        .await;
    }
    let asked = app.get(&format!("{SECURITY}?remove-rule=0")).await;
    assert!(asked.contains("Remove the rule “Hash email addresses”?"));
    assert!(asked.contains("<li class=\"is-target\">"));
    assert!(
        !app.get(&format!("{SECURITY}?remove-rule=7"))
            .await
            .contains("id=\"confirm-rule\""),
        "no confirmation for a rule that is not there"
    );
    app.post_form(RULES, &[("action", "remove"), ("rule", "0")])
        .await
        .assert_redirect(BACK);
    assert!(app.get(SECURITY).await.contains("Rule removed."));
    assert_eq!(
        stored_config(&app).await,
        json!({
            "rules": {"1": {"type": "email", "redaction": {"method": "hash"}}},
            "applications": {"$frame.vars": ["1"]}
        })
    );
    app.post_form(RULES, &[("action", "remove"), ("rule", "1")])
        .await
        .assert_redirect(BACK);
    assert_eq!(
        stored_config(&app).await,
        Value::Null,
        "no rules: no config"
    );
    app.post_form(RULES, &[("action", "remove"), ("rule", "1")])
        .await
        .assert_redirect(BACK);
    assert!(
        app.get(SECURITY)
            .await
            .contains("There is no rule \"1\" any more.")
    );
}

async fn the_builder_adds_to_the_config_as_stored_keeping_a_change_made_meanwhile(app: TestApp) {
    app.owner_of_acme().await;
    // the builder reads the stored config when it runs, so a change through the API before is kept
    let theirs = r#"{"rules": {"0": {"type": "ip", "redaction": {"method": "remove"}}}, "applications": {"$user.ip_address": ["0"]}}"#;
    let (status, _) = app
        .api_put(
            "/api/0/organizations/acme/",
            json!({"relayPiiConfig": theirs}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    add(
        &app,
        &[
            ("method", "mask"),
            ("dataType", "imei"),
            ("source", "$string"),
        ],
    )
    .await
    .assert_redirect(BACK);
    let stored = stored_config(&app).await;
    assert_eq!(stored["rules"]["0"]["type"], "ip", "theirs kept");
    assert_eq!(stored["rules"]["1"]["type"], "imei");
}

async fn members_cannot_use_the_builder(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let mia = app.create_user("mia").await;
    app.add_member(&org, &mia, orgsettings::models::role::Role::Member)
        .await;
    let member = app.visitor();
    member.login("mia", crate::common::PASSWORD).await;
    let page = member.get(SECURITY).await;
    assert!(
        !page.contains("id=\"add-rule\""),
        "no builder form for members"
    );
    member.get(SECURITY).await;
    let refused = member
        .post_form(
            RULES,
            &[
                ("action", "add"),
                ("method", "mask"),
                ("dataType", "ip"),
                ("source", "$string"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
