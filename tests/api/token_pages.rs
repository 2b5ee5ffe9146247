//! The token pages: `/account/api-tokens/` and `/settings/{org}/auth-tokens/`, and organization
//! tokens in the API.

use orgsettings::models::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{PASSWORD, TestApp, audit_entries, outbox, token_on};
use crate::on_both_backends;

const MINE: &str = "/account/api-tokens/";
const ORG_TOKENS: &str = "/settings/acme/auth-tokens/";

on_both_backends!(
    a_personal_token_made_on_the_page_is_shown_once_and_works,
    the_personal_token_form_refuses_bad_input_next_to_each_field,
    a_personal_token_is_revoked_after_a_confirmation,
    an_organization_token_carries_this_instance_and_the_organization,
    organization_tokens_are_renamed_and_revoked_with_audit_entries,
    members_cannot_see_or_make_organization_tokens,
    an_organization_token_is_refused_by_organization_endpoints_and_elsewhere,
);

async fn a_personal_token_made_on_the_page_is_shown_once_and_works(app: TestApp) {
    app.owner_of_acme().await;
    app.get(MINE).await;
    app.post_form(
        MINE,
        &[
            ("action", "create"),
            ("name", "deploys"),
            ("scopes", "org:read"),
            ("scopes", "org:write"),
            ("expires", "2099-12-31"),
        ],
    )
    .await
    .assert_redirect(MINE);
    let page = app.get(MINE).await;
    assert!(page.contains("Copy it now: it is shown only this once."));
    let text = token_on(&page, "sntryu_");
    assert!(page.contains(&format!("<code>sntryu_…{}</code>", &text[text.len() - 4..])));
    assert!(page.contains("<span class=\"badge\">org:write</span>"));
    assert!(
        page.contains("2100-01-01 00:00 UTC"),
        "it works through the last day"
    );
    assert!(!app.get(MINE).await.contains(&text), "shown once");
    let (status, body) = app
        .visitor()
        .authorized(
            Method::GET,
            "/api/0/organizations/acme/",
            &format!("Bearer {text}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn the_personal_token_form_refuses_bad_input_next_to_each_field(app: TestApp) {
    app.owner_of_acme().await;
    app.get(MINE).await;
    let refused = app
        .post_form(
            MINE,
            &[
                ("action", "create"),
                ("name", "old"),
                ("expires", "2001-01-01"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.field_error("scopes").as_deref(),
        Some("This field is required.")
    );
    assert_eq!(
        refused.field_error("expires").as_deref(),
        Some("The expiration date must be in the future.")
    );
    assert_eq!(refused.input_value("name").as_deref(), Some("old"));
    let tampered = app
        .post_form(MINE, &[("action", "create"), ("scopes", "org:god")])
        .await;
    assert_eq!(
        tampered.field_error("scopes").as_deref(),
        Some("\"org:god\" is not a valid choice.")
    );
    let (_, listed) = app.api_get("/api/0/api-tokens/").await;
    assert_eq!(listed, json!([]));
}

async fn a_personal_token_is_revoked_after_a_confirmation(app: TestApp) {
    app.owner_of_acme().await;
    app.get(MINE).await;
    app.post_form(
        MINE,
        &[
            ("action", "create"),
            ("name", "old script"),
            ("scopes", "org:read"),
        ],
    )
    .await;
    let text = token_on(&app.get(MINE).await, "sntryu_");
    let (_, listed) = app.api_get("/api/0/api-tokens/").await;
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let asked = app.get(&format!("{MINE}?revoke={id}")).await;
    assert!(asked.contains("Revoke the token “old script”?"));
    assert!(asked.contains("<tr class=\"is-target\">"));
    let other = app.create_user("mia").await;
    let mia = app.visitor();
    mia.login(&other.username, PASSWORD).await;
    mia.get(MINE).await;
    let refused = mia
        .post_form(MINE, &[("action", "revoke"), ("token", &id)])
        .await;
    assert_eq!(
        refused.status,
        StatusCode::NOT_FOUND,
        "someone else's token"
    );
    app.post_form(MINE, &[("action", "revoke"), ("token", &id)])
        .await
        .assert_redirect(MINE);
    assert!(
        app.get(MINE)
            .await
            .contains("is revoked: it works no more.")
    );
    let (status, _) = app
        .visitor()
        .authorized(Method::GET, "/api/0/", &format!("Bearer {text}"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn an_organization_token_carries_this_instance_and_the_organization(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let second_owner = app.create_user("olga").await;
    app.add_member(&org, &second_owner, Role::Owner).await;
    let before = outbox(&app).await.len();
    app.get(ORG_TOKENS).await;
    app.post_form(ORG_TOKENS, &[("action", "create"), ("name", "CI releases")])
        .await
        .assert_redirect(ORG_TOKENS);
    let page = app.get(ORG_TOKENS).await;
    let text = token_on(&page, "sntrys_");
    let payload = orgsettings::tokens::org::parse(&text).expect("Sentry's format");
    assert_eq!(payload["url"], json!(app.base));
    assert_eq!(payload["region_url"], json!(app.base));
    assert_eq!(payload["org"], "acme");
    assert!(payload["iat"].as_f64().unwrap() > 1.7e9);
    assert!(!app.get(ORG_TOKENS).await.contains(&text), "shown once");
    let mails: Vec<_> = outbox(&app).await.into_iter().skip(before).collect();
    let mut to: Vec<&str> = mails.iter().map(|m| m.to_address.as_str()).collect();
    to.sort();
    assert_eq!(
        to,
        ["olga@example.com", "owner@example.com"],
        "every owner is told"
    );
    assert!(mails.iter().all(|m| !m.body_text.contains(&text)));
    let (event, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(event, "org-auth-token.create");
    assert_eq!(data, json!({"name": "CI releases", "scopes": ["org:ci"]}));
    assert!(
        app.get("/settings/acme/audit-log/")
            .await
            .contains("added org auth token CI releases")
    );
    let (status, body) = app
        .visitor()
        .authorized(Method::GET, "/api/0/", &format!("Bearer {text}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["auth"], json!({"scopes": ["org:ci"]}));
    assert_eq!(body["user"], json!(null));
}

async fn organization_tokens_are_renamed_and_revoked_with_audit_entries(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    app.get(ORG_TOKENS).await;
    app.post_form(ORG_TOKENS, &[("action", "create"), ("name", "ci")])
        .await;
    let text = token_on(&app.get(ORG_TOKENS).await, "sntrys_");
    let id = app
        .with_db(|conn| {
            use diesel::prelude::*;
            use orgsettings::db::schema::org_auth_tokens;
            org_auth_tokens::table
                .select(org_auth_tokens::id)
                .first::<i64>(conn)
                .unwrap()
        })
        .await
        .to_string();
    let blank = app
        .post_form(
            ORG_TOKENS,
            &[("action", "rename"), ("token", &id), ("name", " ")],
        )
        .await;
    assert_eq!(blank.status, StatusCode::BAD_REQUEST, "{}", blank.body);
    assert_eq!(
        blank.field_error("edit_name").as_deref(),
        Some("This field may not be blank.")
    );
    app.post_form(
        ORG_TOKENS,
        &[("action", "rename"), ("token", &id), ("name", "CI")],
    )
    .await
    .assert_redirect(ORG_TOKENS);
    assert!(
        app.get(ORG_TOKENS)
            .await
            .contains("<td data-label=\"Name\">CI</td>")
    );
    let asked = app.get(&format!("{ORG_TOKENS}?revoke={id}")).await;
    assert!(asked.contains("Revoke the token “CI”?"));
    app.post_form(ORG_TOKENS, &[("action", "revoke"), ("token", &id)])
        .await
        .assert_redirect(ORG_TOKENS);
    let (event, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(event, "org-auth-token.remove");
    assert_eq!(data["name"], "CI");
    let (status, body) = app
        .visitor()
        .authorized(Method::GET, "/api/0/", &format!("Bearer {text}"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"detail": "Invalid org token"}));
    let gone = app
        .post_form(ORG_TOKENS, &[("action", "revoke"), ("token", &id)])
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

async fn members_cannot_see_or_make_organization_tokens(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let mia = app.create_user("mia").await;
    app.add_member(&org, &mia, Role::Member).await;
    let member = app.visitor();
    member.login("mia", PASSWORD).await;
    assert_eq!(member.get(ORG_TOKENS).await.status, StatusCode::FORBIDDEN);
    assert!(!member.get("/settings/acme/").await.contains("Auth Tokens"));
    member.get("/settings/acme/").await;
    let refused = member
        .post_form(ORG_TOKENS, &[("action", "create"), ("name", "mine")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let blank = app
        .post_form(ORG_TOKENS, &[("action", "create"), ("name", "")])
        .await;
    assert_eq!(
        blank.field_error("name").as_deref(),
        Some("This field may not be blank.")
    );
    let count = app
        .with_db(|conn| {
            use diesel::prelude::*;
            use orgsettings::db::schema::org_auth_tokens;
            org_auth_tokens::table
                .count()
                .get_result::<i64>(conn)
                .unwrap()
        })
        .await;
    assert_eq!(count, 0);
}

async fn an_organization_token_is_refused_by_organization_endpoints_and_elsewhere(app: TestApp) {
    let (owner, _) = app.owner_of_acme().await;
    app.create_org(&owner, "Other", "other").await;
    app.get(ORG_TOKENS).await;
    app.post_form(ORG_TOKENS, &[("action", "create"), ("name", "ci")])
        .await;
    let text = token_on(&app.get(ORG_TOKENS).await, "sntrys_");
    for path in ["/api/0/organizations/acme/", "/api/0/organizations/other/"] {
        let (status, body) = app
            .visitor()
            .authorized(Method::GET, path, &format!("Bearer {text}"), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            body,
            json!({"detail": "You do not have permission to perform this action."})
        );
    }
}
