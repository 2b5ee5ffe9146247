//! Every field `PUT /api/0/organizations/{org}/` accepts comes back from `GET` as stored: a list
//! generated from the app's own field registry, so a field added there is in this test too.

use orgsettings::settings::options::{Default as OptionDefault, Kind, OPTIONS};
use orgsettings::settings::update::FLAG_FIELDS;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{PASSWORD, TestApp, audit_entries, enrol_totp, relay_keys};
use crate::on_both_backends;

const URL: &str = "/api/0/organizations/acme/";

on_both_backends!(
    every_field_put_accepts_comes_back_from_get_as_put_stored_it,
    the_new_flags_are_audited_with_sentrys_flag_names,
    the_new_fields_are_on_the_pages_and_saved_from_them,
    an_organization_that_turns_off_superuser_access_is_closed_to_superuser_mode,
);

/// A value different from the default for an option of this kind.
fn other_value(kind: Kind, default: OptionDefault) -> Value {
    match (kind, default) {
        (Kind::Bool, OptionDefault::Bool(on)) => json!(!on),
        (Kind::Bool, _) => json!(true),
        (Kind::Int { min, max }, _) => json!(max.unwrap_or(min.unwrap_or(0) + 10)),
        (Kind::NullableInt { max, .. }, _) => json!(max),
        (Kind::Role, _) => json!("manager"),
        (Kind::SensitiveFields, _) => json!(["card_number", "pin"]),
        (Kind::SafeFields, _) => json!(["extra.request_id"]),
        (Kind::PiiConfig, _) => {
            json!(r#"{"rules":{},"applications":{"$string":["@creditcard:mask"]}}"#)
        }
        (Kind::Choice(choices), OptionDefault::Str(current)) => {
            json!(
                choices
                    .iter()
                    .find(|c| **c != current)
                    .expect("another choice")
            )
        }
        (Kind::Choice(choices), _) => json!(choices[0]),
    }
}

/// Every field with a value that is not its default, except the slug (changed last, since it
/// moves the URL) and the ones the PUT refuses here (listed with why).
fn generated_fields(current: &Value) -> Vec<(String, Value)> {
    let mut fields: Vec<(String, Value)> = vec![
        ("name".into(), json!("Acme Widgets")),
        ("defaultRole".into(), json!("manager")),
        (
            "trustedRelays".into(),
            json!([{"publicKey": relay_keys(1)[0], "name": "edge", "description": "EU"}]),
        ),
    ];
    for field in &FLAG_FIELDS {
        // codecovAccess needs a Codecov integration, which no organization here has (refused below)
        if field.api_key == "codecovAccess" {
            continue;
        }
        let now = current[field.api_key]
            .as_bool()
            .unwrap_or_else(|| panic!("GET shows {}", field.api_key));
        fields.push((field.api_key.into(), json!(!now)));
    }
    for def in &OPTIONS {
        // the legacy rate limits are settable only where the organization already has them
        // (tested in api_organizations.rs)
        if def.legacy {
            continue;
        }
        fields.push((def.api_key.into(), other_value(def.kind, def.default)));
    }
    fields
}

async fn every_field_put_accepts_comes_back_from_get_as_put_stored_it(app: TestApp) {
    let (owner, _) = app.owner_of_acme().await;
    // require2FA asks for the owner's own two-factor authentication
    enrol_totp(&app, &owner).await;
    let (_, current) = app.api_get(URL).await;
    let fields = generated_fields(&current);
    assert!(fields.len() >= 35, "{} fields", fields.len());
    for (key, value) in &fields {
        assert_ne!(
            &current[key.as_str()],
            value,
            "{key} is sent with a new value"
        );
        let (status, answer) = app.api_put(URL, json!({ key.as_str(): value })).await;
        assert_eq!(status, StatusCode::OK, "PUT {key}: {answer}");
        let (_, read) = app.api_get(URL).await;
        let shown = match key.as_str() {
            // the stored relays carry their times too; the fields sent come back as sent
            "trustedRelays" => json!(
                read[key.as_str()]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| json!({
                        "publicKey": r["publicKey"],
                        "name": r["name"],
                        "description": r["description"]
                    }))
                    .collect::<Vec<_>>()
            ),
            _ => read[key.as_str()].clone(),
        };
        assert_eq!(&shown, value, "GET {key} after PUT");
        assert_eq!(
            &answer[key.as_str()],
            &read[key.as_str()],
            "PUT answers what GET reads"
        );
    }
    // the slug last: the organization moves
    let (status, answer) = app.api_put(URL, json!({"slug": "acme-widgets"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, read) = app.api_get("/api/0/organizations/acme-widgets/").await;
    assert_eq!(read["slug"], "acme-widgets");
    // and the one that is refused, refused without a change
    let (status, answer) = app
        .api_put(
            "/api/0/organizations/acme-widgets/",
            json!({"codecovAccess": true}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (_, read) = app.api_get("/api/0/organizations/acme-widgets/").await;
    assert_eq!(read["codecovAccess"], false);
    // unknown keys are ignored, as Sentry does
    let (status, _) = app
        .api_put(
            "/api/0/organizations/acme-widgets/",
            json!({"noSuchField": 1, "autofixEnabled": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn the_new_flags_are_audited_with_sentrys_flag_names(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    let (status, body) = app
        .api_put(
            URL,
            json!({
                "allowMemberInvite": false,
                "allowMemberProjectCreation": false,
                "allowSuperuserAccess": false,
                "hideAiFeatures": true,
                "ingestThroughTrustedRelaysOnly": "enabled",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (event, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(event, "org.edit");
    assert_eq!(
        data,
        json!({
            "hideAiFeatures": "to True",
            "ingestThroughTrustedRelaysOnly": "to enabled",
            "disable_member_project_creation": "to True",
            "prevent_superuser_access": "to True",
            "disable_member_invite": "to True",
        })
    );
    let (status, body) = app
        .api_put(URL, json!({"ingestThroughTrustedRelaysOnly": "always"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"ingestThroughTrustedRelaysOnly": ["\"always\" is not a valid choice."]})
    );
}

async fn the_new_fields_are_on_the_pages_and_saved_from_them(app: TestApp) {
    app.owner_of_acme().await;
    let general = app.get("/settings/acme/").await;
    for name in [
        "allowMemberInvite",
        "allowMemberProjectCreation",
        "hideAiFeatures",
        "gitlabPRBot",
        "issueAlertsThreadFlag",
        "metricAlertsThreadFlag",
    ] {
        assert!(
            general.input_value(name).is_some() || general.is_checked(name),
            "{name} is on the General page"
        );
    }
    assert!(general.is_checked("allowMemberInvite"));
    assert!(general.contains("Let members invite others"));
    let security = app.get("/settings/acme/security-and-privacy/").await;
    assert!(security.is_checked("allowSuperuserAccess"));
    assert_eq!(
        security
            .selected("ingestThroughTrustedRelaysOnly")
            .as_deref(),
        Some("disabled")
    );
    let saved = app
        .submit_form(
            "/settings/acme/security-and-privacy/",
            &[
                crate::common::Edit::Uncheck("allowSuperuserAccess"),
                crate::common::Edit::Set("ingestThroughTrustedRelaysOnly", "enabled"),
            ],
        )
        .await;
    saved.assert_redirect("/settings/acme/security-and-privacy/");
    let (_, read) = app.api_get(URL).await;
    assert_eq!(read["allowSuperuserAccess"], false);
    assert_eq!(read["ingestThroughTrustedRelaysOnly"], "enabled");
}

async fn an_organization_that_turns_off_superuser_access_is_closed_to_superuser_mode(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    let (status, _) = app
        .api_put(URL, json!({"allowSuperuserAccess": false}))
        .await;
    assert_eq!(status, StatusCode::OK);
    app.create_user_with("root", true).await;
    let root = app.visitor_logged_in("root").await;
    root.get("/superuser/").await;
    root.post_form("/superuser/", &[("password", PASSWORD)])
        .await
        .assert_redirect("/manage/");
    assert_eq!(
        root.get("/settings/acme/").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(root.api_get(URL).await.0, StatusCode::NOT_FOUND);
    assert!(
        !root
            .get("/organizations/")
            .await
            .contains("/settings/acme/")
    );
    assert!(root.get("/manage/").await.contains("no superuser access"));
    // a superuser who is a member keeps their own role, no more
    let member = app.create_user_with("sue", true).await;
    app.add_member(&org, &member, orgsettings::models::role::Role::Member)
        .await;
    let sue = app.visitor_logged_in("sue").await;
    sue.get("/superuser/").await;
    sue.post_form("/superuser/", &[("password", PASSWORD)])
        .await;
    let (status, body) = sue.api_get(URL).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["role"], "member");
    let (status, _) = sue.api_put(URL, json!({"name": "Taken over"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
